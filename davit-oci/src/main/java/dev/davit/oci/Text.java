package dev.davit.oci;

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

    /** {@link #printable} and cut to at most {@code max} characters (never inside a surrogate pair). */
    public static String shorten(String s, int max) {
        String p = printable(s);
        if (p.length() <= max) {
            return p;
        }
        int end = max > 0 && Character.isHighSurrogate(p.charAt(max - 1)) ? max - 1 : max;
        return p.substring(0, end) + "...";
    }
}
