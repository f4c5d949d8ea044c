package dev.davit.oci;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The shared JSON mapper: strict on input (duplicate keys rejected), compact on output. */
public final class Json {
    private Json() {
    }

    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(64).maxStringLength(4 * 1024 * 1024).build());
    }

    /** Parses JSON, throwing {@link IOException} on malformed input. */
    public static JsonNode read(byte[] bytes) throws IOException {
        JsonNode n = MAPPER.readTree(bytes);
        if (n == null || n.isMissingNode()) {
            throw new IOException("empty document");
        }
        return n;
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    /** Compact UTF-8 bytes. */
    public static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Indented text, for humans. */
    public static String pretty(JsonNode node) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes {@code node} indented, exactly as {@link #pretty} gives it, straight to {@code out} (left open): no
     * copy of the whole document in memory, which matters for documents carrying a command's captured output.
     */
    public static void writePretty(JsonNode node, java.io.OutputStream out) throws IOException {
        MAPPER.writerWithDefaultPrettyPrinter().without(com.fasterxml.jackson.core.JsonGenerator.Feature.AUTO_CLOSE_TARGET)
                .writeValue(out, node);
    }

    /**
     * A JSON string value of UTF-8 bytes in one array, for {@code ObjectNode.putPOJO}: written as {@link Utf8String}
     * writes it (valid UTF-8 escaped and copied as bytes, anything else as {@code new String(bytes, UTF_8)} would
     * give it, with U+FFFD for malformed sequences). Either way the document is the same.
     */
    public record Utf8Text(byte[] bytes) implements com.fasterxml.jackson.databind.JsonSerializable {
        @Override
        public void serialize(com.fasterxml.jackson.core.JsonGenerator gen,
                              com.fasterxml.jackson.databind.SerializerProvider serializers) throws IOException {
            of(bytes).serialize(gen, serializers);
        }

        @Override
        public void serializeWithType(com.fasterxml.jackson.core.JsonGenerator gen,
                                      com.fasterxml.jackson.databind.SerializerProvider serializers,
                                      com.fasterxml.jackson.databind.jsontype.TypeSerializer typeSer) throws IOException {
            serialize(gen, serializers);
        }

        /** Whether {@code b} is well-formed UTF-8 (what the JDK's decoder takes without a replacement). */
        static boolean validUtf8(byte[] b) {
            return of(b).validUtf8();
        }

        private static Utf8String of(byte[] b) {
            return new Utf8String(java.util.List.of(java.nio.ByteBuffer.wrap(b)));
        }
    }
}
