package dev.davit.oci;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Json#writePretty} with {@link Json.Utf8Text} must give the very document a String value gives. */
class JsonTest {

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
