package dev.davit.sandbox.network;

/** Host names as the gate compares them: lower-case ASCII, no trailing dot. */
final class Names {
    /** The longest name in text form (RFC 1035's 255 octets on the wire, less the length bytes and the root). */
    static final int MAX_NAME = 253;
    /** The longest label. */
    static final int MAX_LABEL = 63;

    private Names() {
    }

    /**
     * The host name in {@code b[off, off + len)} as the policy compares it (lower-case, one trailing dot removed), or
     * null unless it is a DNS host name: labels of 1 to 63 letters, digits, hyphens or underscores, 253 characters
     * at most. IP address literals in dotted form pass (they are labels of digits); the caller tells them apart.
     */
    static String hostname(byte[] b, int off, int len) {
        if (len > 0 && b[off + len - 1] == '.') {
            len--;
        }
        if (len <= 0 || len > MAX_NAME) {
            return null;
        }
        char[] out = new char[len];
        int label = 0;
        for (int i = 0; i < len; i++) {
            int c = b[off + i] & 0xff;
            if (c == '.') {
                if (label == 0) {
                    return null;
                }
                label = 0;
                out[i] = '.';
                continue;
            }
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            } else if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
                return null;
            }
            if (++label > MAX_LABEL) {
                return null;
            }
            out[i] = (char) c;
        }
        return label == 0 ? null : new String(out);
    }
}
