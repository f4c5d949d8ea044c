package dev.davit.oci.internal;

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

    /**
     * Valid documents with random characters inserted, deleted or replaced (from JSON's own alphabet): {@link Json}
     * accepts exactly what the mapper accepts, as the same tree.
     */
    @Test
    void agreesWithTheMapperOnMutatedDocuments() throws Exception {
        Random rnd = new Random(29);
        String alphabet = "{}[]:,\"\\ \n\t\r0123456789-+.eEtrufalsn\u0001/bux\u00e9";
        int accepted = 0;
        for (int i = 0; i < 20_000; i++) {
            StringBuilder doc = new StringBuilder(new String(REFERENCE.writeValueAsBytes(randomTree(rnd, 2)),
                    StandardCharsets.UTF_8));
            for (int m = rnd.nextInt(3) + 1; m > 0; m--) {
                int at = doc.isEmpty() ? 0 : rnd.nextInt(doc.length());
                char c = alphabet.charAt(rnd.nextInt(alphabet.length()));
                switch (doc.isEmpty() ? 0 : rnd.nextInt(3)) {
                    case 0 -> doc.insert(at, c);
                    case 1 -> doc.deleteCharAt(at);
                    default -> doc.setCharAt(at, c);
                }
            }
            accepted += sameAsTheMapper(doc.toString()) ? 1 : 0;
        }
        assertThat(accepted).as("mutated documents some of which stay valid").isBetween(500, 19_500);
    }

    @Test
    void agreesWithTheMapperOnEdgeCases() throws Exception {
        for (String doc : List.of("2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
                "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "999999999999999999",
                "1000000000000000000", "12345678901234567890123", "-0", "0.0", "-0.0", "1E5", "1e-5", "1E+5", "0e0",
                "1.7976931348623157e308", "4.9e-324", "1e-400", "1e400", "-1e400", "123.456e-7",
                "01", "-01", "00", "1.", ".5", "+1", "1e", "1e+", "--1", "-", "1.e5", "0x10", "NaN", "Infinity",
                "-Infinity", "1 2", "[1 2]", "[1,,2]", "[,1]", "{,}", "{\"a\" 1}", "{\"a\":1,}", "{a:1}", "{'a':1}",
                "['a']", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\uD800\"", "\"\\uDC00\\uD800\"",
                "\"\\u00e9\\u00E9\"", "\"\u0001\"", "\"\u007f\"", "\"a\tb\"", "\"\\/\"",
                "true", "truex", "[true1]", "[truefalse]", "nul", "nulll", "[null]", "TRUE", "True",
                "\"\\b\\f\\n\\r\\t\\\"\"", "{\"\":0}", "{\"a\":{\"a\":{}}}", "[{}, [], \"\", 0, false]",
                "\u000c1", "1\u000c", "[1]\u0000", "{\"a\":1 \"b\":2}", "[\"a\" \"b\"]", "{\"a\":1}]",
                "-" + "1".repeat(1000), "1".repeat(1001), "1." + "1".repeat(999), "1." + "1".repeat(1000),
                "1e" + "1".repeat(999), "1.1e-" + "1".repeat(998), "1.1e-" + "1".repeat(999), "{\"" + "n".repeat(50_000) + "\":1}",
                "{\"" + "n".repeat(50_001) + "\":1}", "\"" + "s".repeat(4 * 1024 * 1024) + "\"")) {
            sameAsTheMapper(doc);
        }
    }

    /** Whether the mapper accepts {@code doc}; asserts that {@link Json} decides the same, with the same tree. */
    private static boolean sameAsTheMapper(String doc) throws Exception {
        byte[] bytes = doc.getBytes(StandardCharsets.UTF_8);
        JsonNode expected;
        try {
            expected = REFERENCE.readTree(bytes);
            if (expected == null || expected.isMissingNode()) {
                expected = null;
            }
        } catch (java.io.IOException e) {
            expected = null;
        }
        String shown = doc.length() > 200 ? doc.substring(0, 200) + "... (" + doc.length() + " chars)" : doc;
        if (expected == null) {
            assertThatThrownBy(() -> Json.read(bytes)).as(shown).isInstanceOf(java.io.IOException.class);
            assertThatThrownBy(() -> Json.read(doc)).as(shown).isInstanceOf(java.io.IOException.class);
            return false;
        }
        assertThat(Json.read(bytes)).as(shown).isEqualTo(expected);
        assertThat(Json.read(doc)).as(shown).isEqualTo(expected);
        return true;
    }

    @Test
    void bytesMustBeWellFormedUtf8() throws Exception {
        // a byte-order mark is skipped, as Jackson does
        assertThat(Json.read(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, '[', '1', ']'}))
                .isEqualTo(REFERENCE.readTree("[1]"));
        // an overlong '/', an encoded surrogate, a cut sequence, a stray continuation byte: refused, one line
        for (byte[] bad : List.of(new byte[] {'"', (byte) 0xC0, (byte) 0xAF, '"'},
                new byte[] {'"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"'}, new byte[] {'"', (byte) 0xE4, (byte) 0xB8, '"'},
                new byte[] {'"', (byte) 0x80, '"'})) {
            assertThatThrownBy(() -> Json.read(bad)).isInstanceOf(java.io.IOException.class)
                    .hasMessage("malformed JSON: not well-formed UTF-8");
        }
        // UTF-16 is not guessed at
        assertThatThrownBy(() -> Json.read("[1]".getBytes(StandardCharsets.UTF_16BE)))
                .isInstanceOf(java.io.IOException.class);
        // errors name what and where
        assertThatThrownBy(() -> Json.read("{\n  \"a\": tru\n}")).hasMessage("unrecognized token: expected true (line 2, column 8)");
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
