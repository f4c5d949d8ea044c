package dev.davit.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Json} reads and writes without Jackson's mapper: its trees and documents must be exactly the mapper's.
 * {@link Json#writePretty} with {@link Json.Utf8Text} must give the very document a String value gives.
 */
class JsonTest {
    /** Jackson's mapper configured as davit's was before {@link Json} bypassed it: the reference. */
    private static final ObjectMapper REFERENCE = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static {
        REFERENCE.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(64).maxStringLength(4 * 1024 * 1024).build());
    }

    @Test
    void readsTheTreesTheMapperReads() throws Exception {
        Random rnd = new Random(13);
        for (int i = 0; i < 300; i++) {
            JsonNode tree = randomTree(rnd, 0);
            for (byte[] doc : List.of(REFERENCE.writeValueAsBytes(tree),
                    REFERENCE.writerWithDefaultPrettyPrinter().writeValueAsBytes(tree))) {
                JsonNode expected = REFERENCE.readTree(doc);
                // equals compares node classes too: an int stays an IntNode, a long a LongNode, and so on
                assertThat(Json.read(doc)).isEqualTo(expected);
                assertThat(Json.read(new String(doc, StandardCharsets.UTF_8))).isEqualTo(expected);
            }
        }
        for (String doc : List.of("0", "-2147483649", "18446744073709551616", "1e400", "-0.0", "1.5E-7",
                "\"\\u0000\\ud83d\\ude00\"", "[]", "{}", "[[[]]]", " {\"a\" : [1, 2.0, true, null]} ")) {
            assertThat(Json.read(doc.getBytes(StandardCharsets.UTF_8))).as(doc).isEqualTo(REFERENCE.readTree(doc));
        }
    }

    @Test
    void refusesWhatTheMapperRefuses() throws Exception {
        String deep = "[".repeat(65) + "]".repeat(65);
        for (String doc : List.of("{\"a\":1,\"a\":2}", "{\"a\":1} {}", "[1] 2", "{\"a\":}", "[1,]", "{", "\"open",
                "nul", "01", "{\"a\":1}}", deep, "")) {
            byte[] bytes = doc.getBytes(StandardCharsets.UTF_8);
            boolean mapperRefuses;
            try {
                JsonNode n = REFERENCE.readTree(bytes);
                mapperRefuses = n == null || n.isMissingNode(); // the mapper's empty document: Json refuses it
            } catch (java.io.IOException e) {
                mapperRefuses = true;
            }
            assertThat(mapperRefuses).as(doc).isTrue();
            assertThatThrownBy(() -> Json.read(bytes)).as(doc).isInstanceOf(java.io.IOException.class);
        }
        assertThatThrownBy(() -> Json.read("{\"a\":1,\"a\":2}")).hasMessageContaining("Duplicate field 'a'");
        assertThatThrownBy(() -> Json.read("[1] 2")).hasMessageContaining("Trailing token");
        assertThatThrownBy(() -> Json.read("  ")).hasMessage("empty document");
        assertThat(Json.read("[".repeat(64) + "]".repeat(64))).isNotNull();
    }

    @Test
    void writesTheDocumentsTheMapperWrites() throws Exception {
        Random rnd = new Random(21);
        for (int i = 0; i < 300; i++) {
            JsonNode tree = randomTree(rnd, 0);
            assertThat(Json.bytes(tree)).isEqualTo(REFERENCE.writeValueAsBytes(tree));
            String pretty = REFERENCE.writerWithDefaultPrettyPrinter().writeValueAsString(tree);
            assertThat(Json.pretty(tree)).isEqualTo(pretty);
            ByteArrayOutputStream streamed = new ByteArrayOutputStream();
            Json.writePretty(tree, streamed);
            assertThat(streamed.toByteArray())
                    .isEqualTo(REFERENCE.writerWithDefaultPrettyPrinter().writeValueAsBytes(tree));
        }
        ObjectNode odd = Json.object();
        odd.put("bin", new byte[] {1, 2, 3, (byte) 0xff});
        odd.putNull("null");
        odd.put("float", 1.25f).put("short", (short) 7).put("decimal", new java.math.BigDecimal("1.50"));
        odd.putPOJO("pojo", java.util.Map.of("k", List.of(1, "two")));
        odd.putPOJO("nothing", null);
        assertThat(Json.bytes(odd)).isEqualTo(REFERENCE.writeValueAsBytes(odd));
        assertThat(Json.pretty(odd)).isEqualTo(REFERENCE.writerWithDefaultPrettyPrinter().writeValueAsString(odd));
    }

    /** Objects, arrays and every kind of leaf the parser makes, with strings that need escaping. */
    private static JsonNode randomTree(Random rnd, int depth) {
        int kind = depth >= 5 ? 2 + rnd.nextInt(8) : rnd.nextInt(10);
        switch (kind) {
            case 0: {
                ObjectNode o = Json.object();
                int n = rnd.nextInt(5);
                for (int i = 0; i < n; i++) {
                    o.set(randomString(rnd) + i, randomTree(rnd, depth + 1));
                }
                return o;
            }
            case 1: {
                ArrayNode a = Json.array();
                int n = rnd.nextInt(5);
                for (int i = 0; i < n; i++) {
                    a.add(randomTree(rnd, depth + 1));
                }
                return a;
            }
            case 2: return JsonNodeFactory.instance.textNode(randomString(rnd));
            case 3: return JsonNodeFactory.instance.numberNode(rnd.nextInt());
            case 4: return JsonNodeFactory.instance.numberNode(rnd.nextLong() | (1L << 40));
            case 5: return JsonNodeFactory.instance.numberNode(new java.math.BigInteger(100, rnd).negate());
            case 6: return JsonNodeFactory.instance.numberNode(rnd.nextDouble() * Math.pow(10, rnd.nextInt(40) - 20));
            case 7: return JsonNodeFactory.instance.booleanNode(rnd.nextBoolean());
            case 8: return JsonNodeFactory.instance.nullNode();
            default: return JsonNodeFactory.instance.numberNode(-rnd.nextInt(1000));
        }
    }

    private static String randomString(Random rnd) {
        String alphabet = "abc \"\\/\n\t\u0001\u007f\u00e9\u4e2d";
        StringBuilder b = new StringBuilder();
        int n = rnd.nextInt(12);
        for (int i = 0; i < n; i++) {
            b.append(rnd.nextInt(20) == 0 ? "\ud83d\ude00" : String.valueOf(alphabet.charAt(rnd.nextInt(alphabet.length()))));
        }
        return b.toString();
    }

    @Test
    void utf8TextWritesTheSameDocumentAsAString() throws Exception {
        Random rnd = new Random(6);
        byte[][] inputs = {
            new byte[0],
            "y\ny\n\"quoted\" \\ back\tslash \u0001 ctl, caf\u00e9, \u4e2d\u6587, \ud83d\ude00".getBytes(StandardCharsets.UTF_8),
            {(byte) 0xff, 'a', (byte) 0xc3},                          // malformed: replaced with U+FFFD
            {(byte) 0xed, (byte) 0xa0, (byte) 0x80},                   // an encoded surrogate: malformed too
            {(byte) 0xe4, (byte) 0xb8},                                // cut in the middle of a character
            randomBytes(rnd, 100_000),                                 // mostly malformed
            "x".repeat(300_000).getBytes(StandardCharsets.UTF_8),
        };
        for (byte[] in : inputs) {
            ObjectNode viaString = Json.object();
            viaString.put("stdout", new String(in, StandardCharsets.UTF_8));
            ObjectNode viaBytes = Json.object();
            viaBytes.putPOJO("stdout", new Json.Utf8Text(in));
            ByteArrayOutputStream streamed = new ByteArrayOutputStream();
            Json.writePretty(viaBytes, streamed);
            String expected = Json.pretty(viaString);
            String got = streamed.toString(StandardCharsets.UTF_8);
            if (Json.Utf8Text.validUtf8(in)) {
                assertThat(got).isEqualTo(expected);
            } else {
                // the fallback writes the String; a byte target escapes a surrogate pair (Jackson's default), a
                // text target does not: the same value either way
                assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(got))
                        .isEqualTo(new com.fasterxml.jackson.databind.ObjectMapper().readTree(expected));
            }
            // a text target (Json.pretty) takes the String path and agrees too
            assertThat(Json.pretty(viaBytes)).isEqualTo(expected);
            JsonNode back = new com.fasterxml.jackson.databind.ObjectMapper().readTree(streamed.toByteArray());
            assertThat(back.get("stdout").asText()).isEqualTo(new String(in, StandardCharsets.UTF_8));
        }
    }

    @Test
    void writePrettyLeavesTheStreamOpen() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream() {
            @Override
            public void close() {
                throw new AssertionError("closed");
            }
        };
        Json.writePretty(Json.object().put("a", 1), out);
        out.write('\n');
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(Json.pretty(Json.object().put("a", 1)) + "\n");
    }

    private static byte[] randomBytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }
}
