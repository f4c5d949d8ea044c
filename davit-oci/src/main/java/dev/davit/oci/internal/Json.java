package dev.davit.oci.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.POJONode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * davit's JSON: trees ({@link JsonNode}) read strictly (duplicate keys, trailing tokens and deep or huge documents
 * rejected) and written compact or indented.
 *
 * <p>Writing goes straight through Jackson's streaming generator, reading through davit's {@link JsonReader} (into
 * Jackson's nodes): building Jackson's {@link ObjectMapper} costs a fresh JVM ~20 ms (its date-format set-up loads
 * the JDK's locale data), and Jackson's parser ~7 ms ({@code BigDecimal}'s initialisation), which a one-shot command
 * would pay before doing anything (docs/reference/benchmarks/CLI-ISSUE13.md, issue 13). The trees and documents are exactly what the
 * mapper would read and write ({@code JsonTest} compares both); {@link #mapper()} builds the mapper on first use
 * for what needs data binding (the MCP server's conversions).
 */
public final class Json {
    private Json() {
    }

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(JsonReader.MAX_DEPTH).maxStringLength(JsonReader.MAX_STRING).build())
            .build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** The full mapper, configured as davit reads and writes (strict input, empty beans allowed): built on first use. */
    public static ObjectMapper mapper() {
        return Mapper.INSTANCE;
    }

    private static final class Mapper {
        static final ObjectMapper INSTANCE = JsonMapper.builder(FACTORY)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                .build();
    }

    /**
     * Parses JSON, throwing {@link IOException} on malformed input (also on an empty document or trailing tokens),
     * by {@link JsonReader}: the trees the mapper would build, without loading Jackson's parser.
     */
    public static JsonNode read(byte[] bytes) throws IOException {
        return JsonReader.read(bytes);
    }

    /** {@link #read(byte[])} of text already decoded. */
    public static JsonNode read(String text) throws IOException {
        return JsonReader.read(text);
    }

    public static ObjectNode object() {
        return NODES.objectNode();
    }

    public static ArrayNode array() {
        return NODES.arrayNode();
    }

    /** Compact UTF-8 bytes. */
    public static byte[] bytes(JsonNode node) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            write(g, node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Indented text, for humans. */
    public static String pretty(JsonNode node) {
        java.io.StringWriter out = new java.io.StringWriter(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.useDefaultPrettyPrinter();
            write(g, node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /**
     * Writes {@code node} indented, exactly as {@link #pretty} gives it, straight to {@code out} (left open, flushed):
     * no copy of the whole document in memory, which matters for documents carrying a command's captured output.
     */
    public static void writePretty(JsonNode node, java.io.OutputStream out) throws IOException {
        try (JsonGenerator g = FACTORY.createGenerator(out).disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)) {
            g.useDefaultPrettyPrinter();
            write(g, node);
        }
    }

    /** Writes a tree node by node, as the mapper's tree serializer does (fields in insertion order, no filtering). */
    private static void write(JsonGenerator g, JsonNode n) throws IOException {
        if (n instanceof ObjectNode o) {
            g.writeStartObject(o);
            for (Map.Entry<String, JsonNode> e : o.properties()) {
                g.writeFieldName(e.getKey());
                write(g, e.getValue());
            }
            g.writeEndObject();
        } else if (n instanceof ArrayNode a) {
            g.writeStartArray(a, a.size());
            for (JsonNode e : a) {
                write(g, e);
            }
            g.writeEndArray();
        } else if (n == null || n.isNull()) {
            g.writeNull();
        } else if (n.isBinary()) {
            g.writeBinary(n.binaryValue()); // the mapper's default Base64 variant, as the generator's own
        } else if (n instanceof POJONode pojo && !(pojo.getPojo() instanceof JsonSerializable)) {
            mapper().writeValue(g, pojo.getPojo()); // data binding needed: the mapper's own serializers
        } else {
            // the other leaves (text, numbers, booleans) and JsonSerializable values (Utf8Text) write
            // themselves without consulting the serializer provider
            ((com.fasterxml.jackson.databind.node.BaseJsonNode) n).serialize(g, null);
        }
    }

    /**
     * A JSON string value of UTF-8 bytes in one array, for {@code ObjectNode.putPOJO}: written as {@link Utf8String}
     * writes it (valid UTF-8 escaped and copied as bytes, anything else as {@code new String(bytes, UTF_8)} would
     * give it, with U+FFFD for malformed sequences). Either way the document is the same.
     */
    public record Utf8Text(byte[] bytes) implements JsonSerializable {
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
