package dev.davit.sandbox.workspace;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RedactorTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Redactor of(String... nameValue) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            m.put(nameValue[i], b(nameValue[i + 1]));
        }
        return Redactor.of(m);
    }

    /** {@code in} through a stream in writes of the given sizes (cycled), then finished. */
    private static byte[] streamed(Redactor r, byte[] in, int... sizes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Redactor.Stream s = r.stream(out);
        int at = 0;
        for (int i = 0; at < in.length; i++) {
            int n = Math.min(sizes[i % sizes.length], in.length - at);
            s.write(in, at, n);
            at += n;
        }
        s.finish();
        return out.toByteArray();
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Test
    void aValueIsReplacedByItsMarker() {
        Redactor r = of("TOKEN", "s3cr3t-value");
        assertEquals("x=[REDACTED:TOKEN] y", r.redact("x=s3cr3t-value y"));
        assertEquals("nothing here", r.redact("nothing here"));
        assertEquals("[REDACTED:TOKEN][REDACTED:TOKEN]", r.redact("s3cr3t-values3cr3t-value"));
    }

    @Test
    void pagesOfAnyLengthAtAnyOffsetNeverShowAPieceOfAValue() {
        Redactor r = of("TOKEN", "s3cr3t-value", "KEY", "another-key");
        byte[] file = b("plain s3cr3t-value and another-key, s3cr3t-values3cr3t-value; czNjcjN0LXZhbHVl end");
        int margin = r.maxLength() - 1;
        for (int size = 1; size <= 20; size++) {
            for (int start = 0; start < size; start++) {
                StringBuilder all = new StringBuilder(text(Arrays.copyOf(file, start)));
                for (int off = start; off < file.length; off += size) {
                    int from = Math.max(0, off - margin);
                    int to = Math.min(file.length, off + size + margin);
                    byte[] window = Arrays.copyOfRange(file, from, to);
                    all.append(text(r.redactPage(window, off - from, Math.min(window.length, off - from + size),
                            to < file.length)));
                }
                String shown = all.toString().replace("[REDACTED:TOKEN]", "").replace("[REDACTED:KEY]", "");
                if (start == 0) {
                    assertEquals("plain  and , ;  end", shown, "pages of " + size);
                }
                for (String piece : List.of("s3c", "3cr", "alu", "her-", "-ke", "czNj", "LXZh")) {
                    assertFalse(shown.substring(start).contains(piece), "pages of " + size + " from " + start);
                }
            }
        }
        // the page alone, its file cut after it: a value that starts at the window's end is masked
        byte[] cut = b("xx s3c");
        assertEquals("xx [REDACTED:TOKEN]", text(r.redactPage(cut, 0, cut.length, true)));
        assertEquals("xx s3c", text(r.redactPage(cut, 0, cut.length, false)));
        assertEquals("x s3", text(of().redactPage(b("xx s3c"), 1, 5, true)));
        // a value inside another's, found first; values side by side; a page's run of them: one marker each
        Redactor nested = of("IN", "cdcd", "OUT", "abcdcdef", "NEXT", "ghij");
        byte[] w = b("<abcdcdefghij>");
        assertEquals("<[REDACTED:OUT][REDACTED:NEXT]>", text(nested.redactPage(w, 0, w.length, false)));
        assertEquals("[REDACTED:OUT][REDACTED:NEXT]", text(nested.redactPage(w, 4, 11, false)));
        assertEquals("[REDACTED:IN]", text(of("IN", "cdcd").redactPage(b("cdcdcd"), 0, 4, false)));
        assertEquals("[REDACTED:IN]x", text(of("IN", "cdcd").redactPage(b("cdcdcdx"), 2, 7, false)));
        // half a million overlapping matches: one run, one marker (its matches are joined, not copied at each)
        byte[] flood = b("cd".repeat(1 << 19));
        assertEquals("[REDACTED:IN]", text(of("IN", "cdcd").redactPage(flood, 0, flood.length, false)));
    }

    @Test
    void aValueSplitAtEveryPointOfTwoWritesIsFound() throws IOException {
        Redactor r = of("TOKEN", "s3cr3t-value", "KEY", "another-key");
        byte[] in = b("before s3cr3t-value middle another-key after s3cr3t-valu");
        byte[] whole = r.redact(in);
        assertEquals("before [REDACTED:TOKEN] middle [REDACTED:KEY] after [REDACTED:TOKEN]", text(whole));
        for (int i = 0; i <= in.length; i++) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Redactor.Stream s = r.stream(out);
            s.write(in, 0, i);
            s.write(in, i, in.length - i);
            s.finish();
            assertArrayEquals(whole, out.toByteArray(), "split at " + i);
        }
        assertArrayEquals(whole, streamed(r, in, 1));
        assertArrayEquals(whole, streamed(r, in, 3, 1, 7));
    }

    @Test
    void overlappingValuesAreRedactedTogether() {
        Redactor r = of("A", "abcd", "B", "cdef");
        assertEquals("x[REDACTED:A][REDACTED:B]x", r.redact("xabcdefx"));
        assertEquals("x[REDACTED:B][REDACTED:A]x", of("B", "cdef", "A", "efgh").redact("xcdefghx")
                .replace("[REDACTED:A]", "[REDACTED:A]"));
        // the same value overlapping itself: one region, one marker
        assertEquals("[REDACTED:R]", of("R", "aaaa").redact("aaaaaaa"));
    }

    @Test
    void aValueThatIsAPrefixOfAnotherGivesWayToTheLongerOne() throws IOException {
        Redactor r = of("SHORT", "abc123", "LONG", "abc123456");
        assertEquals("[REDACTED:LONG]!", r.redact("abc123456!"));
        assertEquals("[REDACTED:SHORT]45!", r.redact("abc12345!"));
        assertEquals("[REDACTED:SHORT]x", r.redact("abc123x"));
        byte[] in = b("abc12345!abc123456!");
        for (int i = 0; i <= in.length; i++) {
            assertArrayEquals(r.redact(in), streamed(r, in, Math.max(1, i)), "writes of " + i);
        }
        // one inside another: only the outer one's marker
        assertEquals("[REDACTED:OUT]", of("IN", "cdef", "OUT", "abcdefgh").redact("abcdefgh"));
    }

    @Test
    void emptyStreamsAndEmptySecrets() throws IOException {
        assertArrayEquals(new byte[0], streamed(of("A", "secret"), new byte[0], 1));
        Redactor none = Redactor.of(Map.of("E", new byte[0]));
        assertTrue(none.isEmpty());
        assertEquals("E stays", none.redact("E stays"));
        assertArrayEquals(b("plain"), streamed(Redactor.NONE, b("plain"), 2));
    }

    @Test
    void encodingsAndLineEndsAreRedactedToo() {
        String v = "p@ss-w0rd?>";
        Redactor r = of("PW", v + "\n"); // as read from a file: the line end is not needed to match
        assertEquals("[REDACTED:PW]", r.redact(v));
        assertEquals("b64 [REDACTED:PW]", r.redact("b64 " + Base64.getEncoder().encodeToString(b(v))
                .replace("=", "")));
        assertEquals("url [REDACTED:PW]", r.redact("url " + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(b(v))));
        Redactor pem = of("KEY", "line-one\nline-two\n");
        assertEquals("[REDACTED:KEY]\r\n", pem.redact("line-one\r\nline-two\r\n")); // as a terminal shows it
        // short values: no encodings (they would match everyday text)
        assertEquals("YWJj", of("S", "abc").redact("YWJj"));
    }

    @Test
    void aValueCutShortAtTheEndIsMaskedFromFourBytes() throws IOException {
        Redactor r = of("T", "0123456789");
        assertEquals("out: [REDACTED:T]", r.redact("out: 0123"));
        assertEquals("out: 012", r.redact("out: 012"));
        assertArrayEquals(b("out: [REDACTED:T]"), streamed(r, b("out: 01234"), 2));
    }

    @Test
    void aStreamHoldsBackOnlyWhatMayStartAValue() throws IOException {
        Redactor r = of("T", "0123456789");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Redactor.Stream s = r.stream(out);
        s.write(b("hello 01234"));
        assertEquals("hello ", out.toString(StandardCharsets.UTF_8));
        s.write(b("x"));
        assertEquals("hello 01234x", out.toString(StandardCharsets.UTF_8));
        s.write(b("012345678"));
        assertEquals("hello 01234x", out.toString(StandardCharsets.UTF_8));
        s.write(b("9"));
        assertEquals("hello 01234x[REDACTED:T]", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aFloodIsRedactedInLinearTimeWithBoundedHoldBack() throws IOException {
        byte[] value = new byte[64 << 10];
        Arrays.fill(value, (byte) 'a');
        value[value.length - 1] = 'b';
        Redactor r = Redactor.of(Map.of("BIG", value, "SMALL", b("aaaa-x")));
        assertTrue(r.maxLength() >= value.length); // its base64 forms are longer
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Redactor.Stream s = r.stream(out);
        byte[] chunk = new byte[1 << 20];
        Arrays.fill(chunk, (byte) 'a');
        long t0 = System.nanoTime();
        long in = 0;
        for (int i = 0; i < 16; i++) {
            s.write(chunk);
            in += chunk.length;
            assertTrue(in - out.size() <= value.length - 1, "held back " + (in - out.size()));
        }
        s.write(value);
        s.finish();
        assertTrue(System.nanoTime() - t0 < 20_000_000_000L, "too slow");
        String tail = new String(Arrays.copyOfRange(out.toByteArray(), out.size() - 40, out.size()),
                StandardCharsets.UTF_8);
        assertTrue(tail.endsWith("aaa[REDACTED:BIG]"), tail);
        assertEquals(16L * chunk.length + "[REDACTED:BIG]".length(), out.size());
    }

    @Test
    void randomOutputInRandomWritesMatchesTheWholeAndHoldsNoValue() throws IOException {
        Random rnd = new Random(42);
        List<String> values = List.of("tok-123456", "tok-1234", "23456-z", "zzzz", "q\nq\nq");
        Redactor r = of("A", values.get(0), "B", values.get(1), "C", values.get(2), "D", values.get(3),
                "E", values.get(4));
        for (int round = 0; round < 200; round++) {
            StringBuilder sb = new StringBuilder();
            while (sb.length() < 400) {
                if (rnd.nextInt(4) == 0) {
                    sb.append(values.get(rnd.nextInt(values.size())));
                } else {
                    sb.append("tok-123456zq\n".charAt(rnd.nextInt(13)));
                }
            }
            byte[] in = b(sb.toString());
            byte[] whole = r.redact(in);
            for (String v : values) {
                assertFalse(text(whole).contains(v), v + " in " + text(whole));
            }
            assertArrayEquals(whole, streamed(r, in, 1 + rnd.nextInt(9), 1 + rnd.nextInt(30)), sb.toString());
            // in parts, as shell reads give them: each part's unconsumed rest comes again with what follows
            ByteArrayOutputStream parts = new ByteArrayOutputStream();
            byte[] rest = new byte[0];
            int at = 0;
            while (at < in.length) {
                int n = Math.min(1 + rnd.nextInt(40), in.length - at);
                byte[] piece = Arrays.copyOf(rest, rest.length + n);
                System.arraycopy(in, at, piece, rest.length, n);
                at += n;
                Redactor.Part p = r.redactPart(piece, at == in.length);
                parts.write(p.bytes());
                rest = Arrays.copyOfRange(piece, p.consumed(), piece.length);
            }
            assertEquals(0, rest.length);
            for (String v : values) {
                assertFalse(parts.toString(StandardCharsets.UTF_8).contains(v), v);
            }
        }
    }

    @Test
    void partsLeaveWhatMayStartAValue() {
        Redactor r = of("T", "0123456789");
        Redactor.Part p = r.redactPart(b("$ echo 0123"), false);
        assertEquals("$ echo ", text(p.bytes()));
        assertEquals(7, p.consumed());
        p = r.redactPart(b("0123456789\r\n$ "), false);
        assertEquals("[REDACTED:T]\r\n$ ", text(p.bytes()));
        assertEquals(14, p.consumed());
        p = r.redactPart(b("x 0123"), true);
        assertEquals("x [REDACTED:T]", text(p.bytes()));
    }

    @Test
    void aCutLogThatStartsInsideAValueIsMasked() {
        Redactor r = of("T", "0123456789", "K", "ab\ncdefgh");
        assertEquals("[REDACTED:T] rest", text(r.redactAfterCut(b("456789 rest"), false)));
        assertEquals("89 rest", text(r.redactAfterCut(b("89 rest"), false)));
        // cut at a line's start: only a value with a line end can have been cut
        assertEquals("456789 rest", text(r.redactAfterCut(b("456789 rest"), true)));
        assertEquals("[REDACTED:K] rest", text(r.redactAfterCut(b("cdefgh rest"), true)));
    }
}
