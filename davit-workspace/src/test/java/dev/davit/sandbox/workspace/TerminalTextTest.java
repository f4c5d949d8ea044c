package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * A terminal's bytes as text: what a program's output says without the terminal's control sequences, whether it
 * comes whole or in pieces cut anywhere. The fuzz test (seeds only without {@code JAZZER_FUZZ}) holds it to that for
 * any bytes a program in a sandbox may print: no exception, the same text whole or cut in two, a bounded text and
 * a bounded hold.
 */
class TerminalTextTest {
    private static String text(String s) {
        return text(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static final int BLANKS = 1 << 16;

    private static String text(byte[] b) {
        TerminalText t = new TerminalText(BLANKS);
        t.feed(b, 0, b.length);
        t.end();
        return t.text();
    }

    @Test
    void controlSequencesAreTakenOut() {
        // what busybox ash prints after a command: the output, the prompt and a cursor position query
        assertThat(text("echo hi\r\nhi\r\n/workspace # \u001b[6n")).isEqualTo("echo hi\nhi\n/workspace # ");
        assertThat(text("\u001b[1;31mred\u001b[0m \u001b[38;5;208mo\u001b[m\r\n")).isEqualTo("red o\n");
        // window titles (OSC, ended by BEL or ST), a DCS string, charset selects, keypad and cursor saves
        assertThat(text("\u001b]0;user@host: ~\u0007a\u001b]2;t\u001b\\b\u001bP1$r\u001b\\c")).isEqualTo("abc");
        assertThat(text("\u001b(Bd\u001b)0e\u001b=f\u001b>g\u001b7h\u001b8\u001b[?2004hi\u001b[?25l")).isEqualTo(
                "defghi");
        assertThat(text("a\u0007b\u0000c\u007fd\u000ee")).isEqualTo("abcde");
        assertThat(text("tab\there\n")).isEqualTo("tab\there\n");
    }

    @Test
    void theCursorIsFollowedWithinTheLine() {
        // a progress bar keeps its last state
        assertThat(text("10%\r20%\r100%\r\ndone\r\n")).isEqualTo("100%\ndone\n");
        // busybox's line editing after three backspaces typed: BS and erase to the end of the screen
        assertThat(text("echo hix\b\u001b[J\b\u001b[J\b\u001b[Jho\r\n")).isEqualTo("echo ho\n");
        assertThat(text("abc\b\b \r\n")).isEqualTo("a c\n");
        assertThat(text("abcdef\r\u001b[2Cx\u001b[K\r\n")).isEqualTo("abx\n");
        assertThat(text("abcdef\u001b[3D\u001b[P\u001b[1@-\n")).isEqualTo("abc-ef\n");
        assertThat(text("abcdef\r\u001b[2K\u001b[1Gnew\n")).isEqualTo("new\n");
        assertThat(text("x\u001b[3Cy\n")).isEqualTo("x   y\n");
        assertThat(text("a\r\r\nb\n\nc")).isEqualTo("a\nb\n\nc");
    }

    @Test
    void bytesThatAreNotUtf8BecomeReplacementCharacters() {
        assertThat(text(new byte[] {(byte) 0xff, (byte) 0xfe, 'x', (byte) 0xc3, (byte) 0xa9, (byte) 0xed,
            (byte) 0xa0, (byte) 0x80, (byte) 0xf0, (byte) 0x9f, (byte) 0x98, (byte) 0x80}))
                .isEqualTo("\uFFFD\uFFFDx\u00e9\uFFFD\uFFFD\uFFFD\uD83D\uDE00");
        // an overwrite that splits a surrogate pair leaves no lone surrogate
        assertThat(text("\u00f0\u009f\u0098\u0080\rx".getBytes(StandardCharsets.ISO_8859_1))).isEqualTo("x\uFFFD");
    }

    @Test
    void aSequenceCutBetweenPiecesIsHeldUntilItEnds() {
        TerminalText t = new TerminalText(BLANKS);
        byte[] a = "ok\r".getBytes(StandardCharsets.ISO_8859_1);
        t.feed(a, 0, a.length);
        assertThat(t.held()).isEqualTo(1);
        assertThat(t.text()).isEqualTo("ok");
        byte[] b = "\nx\u001b[3".getBytes(StandardCharsets.ISO_8859_1);
        t.feed(b, 0, b.length);
        assertThat(t.held()).isEqualTo(3);
        assertThat(t.text()).isEqualTo("ok\nx");
        byte[] c = {'1', 'm', 'y', (byte) 0xe2, (byte) 0x82};
        t.feed(c, 0, c.length);
        assertThat(t.held()).isEqualTo(2);
        byte[] d = {(byte) 0xac};
        t.feed(d, 0, d.length);
        assertThat(t.held()).isZero();
        assertThat(t.text()).isEqualTo("ok\nxy\u20ac");
        // the output ended: what is held is taken as it is
        byte[] e = "\u001b]0;unended title".getBytes(StandardCharsets.ISO_8859_1);
        t.feed(e, 0, e.length);
        assertThat(t.held()).isEqualTo(e.length);
        t.end();
        assertThat(t.held()).isZero();
        assertThat(t.text()).isEqualTo("ok\nxy\u20ac");
    }

    /** A program cannot make a reader hold its bytes without end, nor make the text far larger than its output. */
    @Test
    void hostileOutputStaysBounded() {
        TerminalText t = new TerminalText(BLANKS);
        byte[] title = ("\u001b]0;" + "x".repeat(TerminalText.HOLD_MAX + 10)).getBytes(StandardCharsets.ISO_8859_1);
        t.feed(title, 0, title.length);
        assertThat(t.held()).isZero();
        // the cursor sent far right, again and again, on new lines: no more blanks than allowed
        byte[] far = "\u001b[65536Cx\n".repeat(10_000).getBytes(StandardCharsets.ISO_8859_1);
        TerminalText f = new TerminalText(100);
        f.feed(far, 0, far.length);
        assertThat(f.text().length()).isLessThanOrEqualTo(far.length + 100);
        assertThat(f.text()).startsWith(" ".repeat(100) + "x\nx\nx\n");
        byte[] insert = ("ab\u001b[D" + "\u001b[65536@".repeat(1000)).getBytes(StandardCharsets.ISO_8859_1);
        TerminalText g = new TerminalText(100);
        g.feed(insert, 0, insert.length);
        assertThat(g.text()).isEqualTo("a" + " ".repeat(100) + "b");
        assertThat(text("\u001b[" + "9".repeat(3000) + "Cz")).endsWith("z");
    }

    /** Any bytes, whole or cut in two anywhere: the same text, no longer than the bytes and blanks, a bounded hold. */
    @FuzzTest(maxDuration = "20s")
    void fuzzTerminalText(byte[] b) {
        if (b.length < 1 || b.length > TerminalText.HOLD_MAX) { // longer: an unended sequence is dropped, not held
            return;
        }
        String whole = text(b);
        assertThat(whole.length()).isLessThanOrEqualTo(b.length + BLANKS);
        int cut = (b[0] & 0xff) % b.length;
        TerminalText t = new TerminalText(BLANKS);
        t.feed(b, 0, cut);
        assertThat(t.held()).isLessThanOrEqualTo(TerminalText.HOLD_MAX);
        t.feed(b, cut, b.length - cut);
        t.end();
        assertThat(t.text()).isEqualTo(whole);
    }
}
