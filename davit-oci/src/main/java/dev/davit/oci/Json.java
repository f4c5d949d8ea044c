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
     * A JSON string value of UTF-8 bytes, for {@code ObjectNode.putPOJO}: written to a byte stream, valid UTF-8 is
     * escaped and copied as bytes, never held as a {@code String} (a command's output can be 64 MiB); anything else
     * (malformed UTF-8, or a text target) is written as {@code new String(bytes, UTF_8)} would give it, with
     * U+FFFD for malformed sequences. Either way the document is the same.
     */
    public record Utf8Text(byte[] bytes) implements com.fasterxml.jackson.databind.JsonSerializable {
        @Override
        public void serialize(com.fasterxml.jackson.core.JsonGenerator gen,
                              com.fasterxml.jackson.databind.SerializerProvider serializers) throws IOException {
            if (gen.getOutputTarget() instanceof java.io.OutputStream && validUtf8(bytes)) {
                gen.writeUTF8String(bytes, 0, bytes.length);
            } else {
                gen.writeString(new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
            }
        }

        @Override
        public void serializeWithType(com.fasterxml.jackson.core.JsonGenerator gen,
                                      com.fasterxml.jackson.databind.SerializerProvider serializers,
                                      com.fasterxml.jackson.databind.jsontype.TypeSerializer typeSer) throws IOException {
            serialize(gen, serializers);
        }

        /** Whether the JDK's UTF-8 decoder takes all of {@code b} without a replacement (decoded 8 KiB at a time). */
        static boolean validUtf8(byte[] b) {
            java.nio.charset.CharsetDecoder d = java.nio.charset.StandardCharsets.UTF_8.newDecoder();
            java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(b);
            java.nio.CharBuffer out = java.nio.CharBuffer.allocate(8192);
            while (true) {
                out.clear();
                java.nio.charset.CoderResult r = d.decode(in, out, true);
                if (r.isError()) {
                    return false;
                }
                if (r.isUnderflow()) {
                    out.clear();
                    return !d.flush(out).isError();
                }
            }
        }
    }
}
