package dev.davit.oci.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Utf8String} over chunks gives the document that one {@code String} of the same bytes gives, however the
 * bytes are cut into chunks (characters split over chunk edges, malformed bytes at an edge).
 */
class Utf8StringTest {
    private static final ObjectMapper PLAIN = new ObjectMapper();
    private static final byte[] EMOJI = "\ud83d\ude00".getBytes(StandardCharsets.UTF_8); // 4 bytes

    @Test
    void everyCutOfValidTextGivesTheStringsDocumentWithTheBytesCopied() throws Exception {
        byte[] in = ("y\n\"q\" \\ \t\u0001\u001f\u007f caf\u00e9 \u4e2d\u6587 \ud83d\ude00!")
                .getBytes(StandardCharsets.UTF_8);
        String expected = Json.pretty(Json.object().put("stdout", new String(in, StandardCharsets.UTF_8)));
        for (int a = 0; a <= in.length; a++) {
            for (int b = a; b <= in.length; b++) {
                Utf8String s = new Utf8String(cut(in, a, b));
                assertThat(s.validUtf8()).as("cut at %d, %d", a, b).isTrue();
                String got = streamed(s);
                assertThat(got).as("cut at %d, %d", a, b).isEqualTo(expected);
                assertThat(Json.pretty(Json.object().putPOJO("stdout", s))).isEqualTo(expected); // a text target
            }
        }
    }

    @Test
    void aCharacterSplitOverAChunkEdgeIsCopiedAsItsBytes() throws Exception {
        for (int at = 1; at < EMOJI.length; at++) {
            Utf8String s = new Utf8String(cut(EMOJI, at, at));
            assertThat(s.validUtf8()).isTrue();
            // copied as UTF-8, not as the escaped surrogate pair Jackson writes for a String on a byte stream
            assertThat(streamed(s)).contains("\ud83d\ude00").doesNotContain("\\u");
        }
    }

    @Test
    void everyAsciiByteIsEscapedAsJacksonEscapesIt() throws Exception {
        byte[] all = new byte[128];
        for (int i = 0; i < 128; i++) {
            all[i] = (byte) i;
        }
        ObjectNode viaString = Json.object().put("stdout", new String(all, StandardCharsets.US_ASCII));
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        Json.writePretty(viaString, expected);
        assertThat(streamed(new Utf8String(cut(all, 10, 100)))).isEqualTo(expected.toString(StandardCharsets.UTF_8));
    }

    @Test
    void malformedBytesAtAnyEdgeGiveTheStringsValue() throws Exception {
        byte[][] inputs = {
            {(byte) 0xff, 'a', (byte) 0xc3},                                    // replaced with U+FFFD
            {'a', (byte) 0xed, (byte) 0xa0, (byte) 0x80, 'b'},                  // an encoded surrogate
            {(byte) 0xe4, (byte) 0xb8},                                         // a character cut short at the end
            {(byte) 0xe4, (byte) 0xb8, 'x', (byte) 0xe4, (byte) 0xb8, (byte) 0xad}, // cut short, then a whole one
            {(byte) 0xc0, (byte) 0xaf, (byte) 0xf0, (byte) 0x80, (byte) 0x80, (byte) 0x80}, // overlong forms
            {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80, EMOJI[0], EMOJI[1], EMOJI[2], EMOJI[3]}, // > U+10FFFF
        };
        for (byte[] in : inputs) {
            String value = new String(in, StandardCharsets.UTF_8);
            String expected = Json.pretty(Json.object().put("stdout", value));
            for (int a = 0; a <= in.length; a++) {
                for (int b = a; b <= in.length; b++) {
                    Utf8String s = new Utf8String(cut(in, a, b));
                    assertThat(s.validUtf8()).isFalse();
                    assertThat(PLAIN.readTree(streamed(s)).get("stdout").asText()).isEqualTo(value);
                    assertThat(Json.pretty(Json.object().putPOJO("stdout", s))).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void theCheckAgreesWithTheJdksDecoderAndTheValueWithNewString() throws Exception {
        Random rnd = new Random(13);
        for (int round = 0; round < 3000; round++) {
            byte[] in = randomText(rnd, rnd.nextInt(40));
            List<ByteBuffer> chunks = randomCut(rnd, in);
            Utf8String s = new Utf8String(chunks);
            assertThat(s.validUtf8()).as("%s", java.util.HexFormat.of().formatHex(in)).isEqualTo(jdkTakes(in));
            assertThat(PLAIN.readTree(streamed(s)).get("stdout").asText())
                    .isEqualTo(new String(in, StandardCharsets.UTF_8));
        }
    }

    @Test
    void manyChunksOfALargeValue() throws Exception {
        byte[] in = "y\n\u00e9".repeat(100_000).getBytes(StandardCharsets.UTF_8);
        List<ByteBuffer> chunks = new ArrayList<>();
        for (int at = 0; at < in.length; at += 4099) { // odd-sized: '\u00e9' is split at many edges
            chunks.add(ByteBuffer.wrap(in, at, Math.min(4099, in.length - at)).slice());
        }
        String expected = Json.pretty(Json.object().put("stdout", new String(in, StandardCharsets.UTF_8)));
        assertThat(streamed(new Utf8String(chunks))).isEqualTo(expected);
    }

    /** {@code in} as three chunks: [0, a), [a, b), [b, end) (empty ones too). */
    private static List<ByteBuffer> cut(byte[] in, int a, int b) {
        return List.of(ByteBuffer.wrap(in, 0, a), ByteBuffer.wrap(in, a, b - a), ByteBuffer.wrap(in, b, in.length - b));
    }

    private static List<ByteBuffer> randomCut(Random rnd, byte[] in) {
        List<ByteBuffer> chunks = new ArrayList<>();
        int at = 0;
        while (at < in.length) {
            int n = Math.min(in.length - at, rnd.nextInt(6));
            byte[] copy = java.util.Arrays.copyOfRange(in, at, at + n); // separate arrays, as a capture has
            chunks.add(ByteBuffer.wrap(copy));
            at += n;
        }
        return chunks;
    }

    /** Bytes that are often, but not always, UTF-8: lead bytes, continuation bytes, ASCII. */
    private static byte[] randomText(Random rnd, int n) {
        byte[] pool = {'a', '\n', '"', (byte) 0x80, (byte) 0x8f, (byte) 0x90, (byte) 0x9f, (byte) 0xa0, (byte) 0xbf,
            (byte) 0xc0, (byte) 0xc2, (byte) 0xdf, (byte) 0xe0, (byte) 0xe1, (byte) 0xed, (byte) 0xef, (byte) 0xf0,
            (byte) 0xf3, (byte) 0xf4, (byte) 0xf5, (byte) 0xff};
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = pool[rnd.nextInt(pool.length)];
        }
        return b;
    }

    private static boolean jdkTakes(byte[] in) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(in));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    private static String streamed(Utf8String s) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Json.writePretty(Json.object().putPOJO("stdout", s), out);
        return out.toString(StandardCharsets.UTF_8);
    }
}
