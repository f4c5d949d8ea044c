package dev.davit.sandbox.workspace;

/**
 * What a terminal's output says, as plain text for a reader that is not a terminal (a model, a log): the bytes a
 * program wrote to its terminal, fed in pieces as they come, read back as lines. Control sequences are taken out
 * (CSI such as colours, cursor moves and {@code ESC[6n}; OSC such as window titles; DCS, SOS, PM, APC strings;
 * charset selects and the other two- and three-byte escapes), {@code \r\n} is a line end, and what moves the cursor
 * within the line is followed as a terminal would: a bare {@code \r} or a backspace goes back and what comes next
 * overwrites (a progress bar keeps its last state, a line edited with backspaces its final text), {@code ESC[K}
 * erases to the end of the line; other control characters are dropped and bytes that are not UTF-8 become U+FFFD.
 * Lines end with {@code \n}. Rows and the screen are not followed (a full-screen program's output is its text in
 * the order written).
 *
 * <p>A piece may end inside an escape sequence, a UTF-8 character or between {@code \r} and {@code \n}: those bytes
 * are {@link #held} until the next piece completes them, or {@link #end} takes them as they are. An escape sequence
 * longer than {@link #HOLD_MAX} bytes is never held: a program cannot make a reader wait for its end.
 */
final class TerminalText {
    /** The most bytes held for an incomplete sequence at the end of a piece. */
    static final int HOLD_MAX = 4096;
    private static final int ESC = 0x1b;

    private final StringBuilder done = new StringBuilder();
    private final StringBuilder line = new StringBuilder();
    private int col;
    private byte[] held = new byte[0];
    /** How many blanks cursor moves may still add (a cursor sent far right pads no further). */
    private long blanks;

    /**
     * A text of bytes yet to come, whose cursor moves add at most {@code blanks} blanks in all: the text is never
     * longer than the bytes fed and {@code blanks}.
     */
    TerminalText(long blanks) {
        this.blanks = blanks;
    }

    /** Feeds {@code len} bytes of {@code b} from {@code off}. */
    void feed(byte[] b, int off, int len) {
        byte[] a;
        if (held.length == 0) {
            a = b;
        } else {
            a = new byte[held.length + len];
            System.arraycopy(held, 0, a, 0, held.length);
            System.arraycopy(b, off, a, held.length, len);
            off = 0;
            len = a.length;
        }
        int end = off + len;
        int i = off;
        while (i < end) {
            int n = token(a, i, end);
            if (n < 0) {
                break; // incomplete: held
            }
            i += n;
        }
        held = java.util.Arrays.copyOfRange(a, i, end);
    }

    /** How many of the bytes fed are held: the start of a sequence the next piece may complete. */
    int held() {
        return held.length;
    }

    /** Takes the held bytes as they are (the output ended, or the reader will not wait). */
    void end() {
        byte[] a = held;
        held = new byte[0];
        int i = 0;
        while (i < a.length) {
            int n = token(a, i, a.length);
            i += n < 0 ? incomplete(a, i, a.length) : n;
        }
    }

    /** The text so far: every line ended, then the line being written (without a line end). */
    String text() {
        return clean(done) + clean(line);
    }

    /**
     * The text from {@code from} (a {@link #length} returned before) or, when the line being written then may have
     * changed since, from that line's start.
     */
    String textFrom(int from) {
        return clean(done.subSequence(Math.min(from, done.length()), done.length())) + clean(line);
    }

    /** The length of {@link #text} (before surrogates are checked). */
    int length() {
        return done.length() + line.length();
    }

    /**
     * Takes the token at {@code i} (before {@code end}) and returns its length, or -1 when it is incomplete there
     * and may be held ({@link #HOLD_MAX}).
     */
    private int token(byte[] a, int i, int end) {
        int c = a[i] & 0xff;
        if (c == ESC) {
            int n = escape(a, i, end);
            if (n < 0 && end - i > HOLD_MAX) {
                return end - i; // an unterminated sequence this long is dropped, not held
            }
            return n;
        }
        if (c == '\r') {
            if (i + 1 >= end) {
                return -1;
            }
            if (a[i + 1] == '\n') {
                newline();
                return 2;
            }
            col = 0;
            return 1;
        }
        if (c == '\n') {
            newline();
            return 1;
        }
        if (c == '\b') {
            col = Math.max(0, col - 1);
            return 1;
        }
        if (c == '\t') {
            put('\t');
            return 1;
        }
        if (c < 0x20 || c == 0x7f) {
            return 1; // BEL, NUL and the other controls show nothing
        }
        if (c < 0x80) {
            put((char) c);
            return 1;
        }
        return utf8(a, i, end);
    }

    /** The length of what {@link #token} could not complete at {@code i}: all of it, dropped (see {@link #end}). */
    private int incomplete(byte[] a, int i, int end) {
        int c = a[i] & 0xff;
        if (c == '\r') {
            col = 0;
            return 1;
        }
        if (c >= 0x80) {
            put('\uFFFD');
            return 1;
        }
        return end - i; // an escape sequence cut short
    }

    /** A UTF-8 character at {@code i}; U+FFFD for one byte that does not start a valid one. */
    private int utf8(byte[] a, int i, int end) {
        int c = a[i] & 0xff;
        int len;
        int min;
        int max = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            min = c == 0xe0 ? 0xa0 : 0x80;
            max = c == 0xed ? 0x9f : 0xbf; // no surrogates
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            min = c == 0xf0 ? 0x90 : 0x80;
            max = c == 0xf4 ? 0x8f : 0xbf;
        } else {
            put('\uFFFD');
            return 1;
        }
        int cp = c & (0xff >> (len + 1));
        for (int k = 1; k < len; k++) {
            if (i + k >= end) {
                return -1;
            }
            int b = a[i + k] & 0xff;
            if (b < (k == 1 ? min : 0x80) || b > (k == 1 ? max : 0xbf)) {
                put('\uFFFD');
                return 1;
            }
            cp = (cp << 6) | (b & 0x3f);
        }
        if (Character.isSupplementaryCodePoint(cp)) {
            put(Character.highSurrogate(cp));
            put(Character.lowSurrogate(cp));
        } else {
            put((char) cp);
        }
        return len;
    }

    /** An escape sequence at {@code i} (an ESC): its length, or -1 when it does not end before {@code end}. */
    private int escape(byte[] a, int i, int end) {
        if (i + 1 >= end) {
            return -1;
        }
        int c = a[i + 1] & 0xff;
        if (c == '[') {
            int j = i + 2;
            while (j < end && (a[j] & 0xff) >= 0x30 && (a[j] & 0xff) <= 0x3f) {
                j++;
            }
            int params = j;
            while (j < end && (a[j] & 0xff) >= 0x20 && (a[j] & 0xff) <= 0x2f) {
                j++;
            }
            if (j >= end) {
                return -1;
            }
            int f = a[j] & 0xff;
            if (f < 0x40 || f > 0x7e) {
                return j - i; // not a CSI after all: drop what was read, the byte after is itself
            }
            csi(new String(a, i + 2, params - i - 2, java.nio.charset.StandardCharsets.ISO_8859_1), f);
            return j + 1 - i;
        }
        if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_') {
            for (int j = i + 2; j < end; j++) { // a string, to BEL or ST (ESC \)
                if (a[j] == 7) {
                    return j + 1 - i;
                }
                if (a[j] == ESC) {
                    if (j + 1 >= end) {
                        return -1;
                    }
                    if (a[j + 1] == '\\') {
                        return j + 2 - i;
                    }
                }
            }
            return -1;
        }
        if (c >= 0x20 && c <= 0x2f) { // ESC ( B and the other designations: intermediates, then a final byte
            int j = i + 1;
            while (j < end && (a[j] & 0xff) >= 0x20 && (a[j] & 0xff) <= 0x2f) {
                j++;
            }
            return j >= end ? -1 : j + 1 - i;
        }
        if (c >= 0x30 && c <= 0x7e) {
            return 2; // ESC 7, ESC 8, ESC =, ESC M, ESC c, ...
        }
        return 1; // a lone ESC: dropped, the byte after is itself
    }

    /** A CSI sequence with {@code params} and final byte {@code f}: what changes the line, the rest ignored. */
    private void csi(String params, int f) {
        if (!params.isEmpty() && (params.charAt(0) < '0' || params.charAt(0) > ';')) {
            return; // private (ESC[?25l and such): modes, nothing on the line
        }
        int n = first(params);
        switch (f) {
            case 'K', 'J' -> erase(n);
            case 'C' -> col += Math.max(1, n);
            case 'D' -> col = Math.max(0, col - Math.max(1, n));
            case 'G' -> col = Math.max(1, n) - 1;
            case 'H', 'f' -> col = Math.max(1, second(params)) - 1;
            case 'P' -> {
                if (col < line.length()) {
                    line.delete(col, Math.min(line.length(), col + Math.max(1, n)));
                }
            }
            case '@' -> {
                if (col < line.length()) {
                    int k = (int) Math.min(Math.max(1, n), blanks);
                    blanks -= k;
                    line.insert(col, " ".repeat(k));
                }
            }
            case 'X' -> {
                for (int k = col; k < Math.min(line.length(), col + Math.max(1, n)); k++) {
                    line.setCharAt(k, ' ');
                }
            }
            default -> {
                // colours (m), rows, modes, queries (6n): nothing on the line
            }
        }
        col = (int) Math.min(col, line.length() + Math.min(blanks, 1 << 20)); // no further than it could pad
    }

    /** ESC[nK (and ESC[nJ on this line): 0 to the end, 1 to the cursor, 2 the whole line. */
    private void erase(int n) {
        if (n == 0) {
            if (col < line.length()) {
                line.setLength(col);
            }
        } else if (n == 1) {
            for (int k = 0; k <= col && k < line.length(); k++) {
                line.setCharAt(k, ' ');
            }
        } else {
            line.setLength(0);
        }
    }

    private static int first(String params) {
        return number(params.split(";", -1)[0]);
    }

    private static int second(String params) {
        String[] p = params.split(";", -1);
        return p.length > 1 ? number(p[1]) : 0;
    }

    private static int number(String s) {
        try {
            return s.isEmpty() ? 0 : Math.min(Integer.parseInt(s), 1 << 16);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private void put(char c) {
        if (col < line.length()) {
            line.setCharAt(col, c);
        } else {
            int pad = (int) Math.min(col - line.length(), blanks); // a cursor moved far right pads no further
            blanks -= pad;
            line.append(" ".repeat(pad));
            col = line.length();
            line.append(c);
        }
        col++;
    }

    private void newline() {
        done.append(line).append('\n');
        line.setLength(0);
        col = 0;
    }

    /** {@code s} with any surrogate left unpaired by an overwrite replaced by U+FFFD. */
    private static String clean(CharSequence s) {
        StringBuilder out = null;
        for (int k = 0; k < s.length(); k++) {
            char ch = s.charAt(k);
            boolean bad = Character.isHighSurrogate(ch)
                    ? k + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(k + 1))
                    : Character.isLowSurrogate(ch) && (k == 0 || !Character.isHighSurrogate(s.charAt(k - 1)));
            if (bad && out == null) {
                out = new StringBuilder(s.length());
                out.append(s, 0, k);
            }
            if (out != null) {
                out.append(bad ? '\uFFFD' : ch);
            }
        }
        return out == null ? s.toString() : out.toString();
    }
}
