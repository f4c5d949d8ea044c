package dev.davit.oci;

/** Small helpers for putting untrusted text into one-line messages. */
public final class Text {
    private Text() {
    }

    /** Replaces control characters so untrusted input cannot break a one-line message or a terminal. */
    public static String printable(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) ? '?' : c);
        }
        return b.toString();
    }

    /** {@link #printable} and cut to at most {@code max} characters. */
    public static String shorten(String s, int max) {
        String p = printable(s);
        return p.length() > max ? p.substring(0, max) + "..." : p;
    }
}
