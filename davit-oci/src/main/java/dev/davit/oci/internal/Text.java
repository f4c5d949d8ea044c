package dev.davit.oci.internal;

/** Small helpers for putting untrusted text into one-line messages. */
public final class Text {
    private Text() {
    }

    /**
     * Replaces control characters, line and paragraph separators (U+2028, U+2029), invisible format characters
     * (bidi overrides, zero-width characters, byte order marks) and unpaired surrogates with {@code ?}, so
     * untrusted input cannot break a one-line message or a terminal.
     */
    public static String printable(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(i + 1));
                i++;
                if (Character.getType(cp) == Character.FORMAT) {
                    b.append('?');
                } else {
                    b.appendCodePoint(cp);
                }
                continue;
            }
            int type = Character.getType(c);
            boolean bad = type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE
                    || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR;
            b.append(bad ? '?' : c);
        }
        return b.toString();
    }

    /**
     * {@code s} for a terminal, every character kept readable: control characters (C0, DEL and C1), line and
     * paragraph separators, invisible format characters (bidi overrides, zero-width characters) and unpaired
     * surrogates become C-style escapes ({@code \n}, {@code \t}, {@code \r}, else the octal of their UTF-8 bytes,
     * as git writes names: {@code \033}), and a backslash is doubled, so that the result reads back to {@code s}.
     * With {@code lines}, {@code \n} and {@code \t} stay as they are (a text of several lines: a diff, a log) and a
     * backslash is left alone. For every human output that shows a name or text a sandbox chose (one helper for
     * all): an escape sequence, a carriage return or a line end in it cannot redraw the screen or forge a line.
     *
     * @param s     the text (null: empty)
     * @param lines whether line ends and tabs are kept (text), or escaped too (a name on one line)
     * @return the escaped text; {@code s} itself when nothing needed escaping
     */
    public static String escaped(String s, boolean lines) {
        if (s == null) {
            return "";
        }
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            int cp = c;
            int n = 1;
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                cp = Character.toCodePoint(c, s.charAt(i + 1));
                n = 2;
            }
            String esc = escape(cp, lines);
            if (esc != null && b == null) {
                b = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (b != null) {
                if (esc != null) {
                    b.append(esc);
                } else {
                    b.appendCodePoint(cp);
                }
            }
            i += n - 1;
        }
        return b == null ? s : b.toString();
    }

    /** The escape of code point {@code cp} for {@link #escaped}, or null when it stays. */
    private static String escape(int cp, boolean lines) {
        if (lines && (cp == '\n' || cp == '\t')) {
            return null;
        }
        switch (cp) {
            case '\n':
                return "\\n";
            case '\t':
                return "\\t";
            case '\r':
                return "\\r";
            case '\\':
                return lines ? null : "\\\\";
            default:
                break;
        }
        int type = Character.getType(cp);
        if (type != Character.CONTROL && type != Character.FORMAT && type != Character.SURROGATE
                && type != Character.LINE_SEPARATOR && type != Character.PARAGRAPH_SEPARATOR) {
            return null;
        }
        byte[] utf8 = Character.isSurrogate((char) cp) ? new byte[] {(byte) 0xef, (byte) 0xbf, (byte) 0xbd}
                : new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        StringBuilder o = new StringBuilder();
        for (byte x : utf8) {
            o.append('\\').append(String.format("%03o", x & 0xff));
        }
        return o.toString();
    }

    /**
     * Why a file could not be read, in words: {@code no such file}, {@code permission denied}, ... (a
     * {@link java.nio.file.NoSuchFileException}'s message is only the file's name).
     */
    public static String reason(java.io.IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** {@link #printable} and cut to at most {@code max} characters (never inside a surrogate pair). */
    public static String shorten(String s, int max) {
        String p = printable(s);
        if (p.length() <= max) {
            return p;
        }
        int end = max > 0 && Character.isHighSurrogate(p.charAt(max - 1)) ? max - 1 : max;
        return p.substring(0, end) + "...";
    }

    /**
     * The text of {@code bytes} from {@code offset}, decoded as UTF-8 strictly: malformed, overlong and surrogate
     * sequences are refused, never replaced. Throws {@link MalformedUtf8} naming the first bad byte.
     */
    public static String strictUtf8(byte[] bytes, int offset) throws MalformedUtf8 {
        java.nio.charset.CharsetDecoder decoder = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes, offset, bytes.length - offset);
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(bytes.length - offset);
        java.nio.charset.CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) {
            r = decoder.flush(out);
        }
        if (r.isError()) {
            throw new MalformedUtf8(in.position());
        }
        return out.flip().toString();
    }

    /** The text of {@code bytes} when they are well-formed UTF-8 (as {@link #strictUtf8} reads them), else null. */
    public static String utf8OrNull(byte[] bytes) {
        try {
            return strictUtf8(bytes, 0);
        } catch (MalformedUtf8 e) {
            return null;
        }
    }

    /** Bytes that are not well-formed UTF-8: {@link #position()} is the index of the first bad one. */
    public static final class MalformedUtf8 extends java.io.IOException {
        private final int position;

        MalformedUtf8(int position) {
            super("not well-formed UTF-8 (at byte " + position + ")");
            this.position = position;
        }

        public int position() {
            return position;
        }
    }
}
