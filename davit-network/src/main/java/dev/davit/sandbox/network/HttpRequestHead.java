package dev.davit.sandbox.network;

/**
 * The name an HTTP/1.x request is for, read from the head a client sends (RFC 9112): its request line and header
 * fields up to the empty line, {@link #MAX_HEAD} bytes at most.
 *
 * <p>The reading is strict where a lenient one would let the gate and the server behind it disagree about the
 * request: lines end in CRLF only (a bare CR or LF is {@link NotHttp}), the request line has single spaces, no
 * header field is folded (obs-fold) or has white space before its colon, and there is at most one Host field. The
 * name is, in this order: the authority of an absolute-form target ({@code GET http://a.test/ HTTP/1.1}, as sent to
 * proxies), the authority-form target of CONNECT ({@code CONNECT a.test:443 HTTP/1.1}), else the Host field; a Host
 * field that names another host than the target (or another port, when both give one) is {@link Invalid}.
 *
 * <p>Never throws on bad input; loops are bounded by the head's length.
 */
public final class HttpRequestHead {
    /** The longest head read; a longer one is {@link NotHttp}. */
    public static final int MAX_HEAD = 16 * 1024;
    private static final String[] METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT",
        "TRACE"};
    private static final int MAX_METHOD = 7;

    private HttpRequestHead() {
    }

    /** What the bytes so far say about the request's host. */
    public sealed interface Result {
    }

    /** The bytes so far are the start of a request head: read more and ask again. */
    public record NeedMore() implements Result {
    }

    /** Not an HTTP/1.x request head davit reads: another protocol, a malformed head, or one over {@link #MAX_HEAD}. */
    public record NotHttp() implements Result {
    }

    /** A well-formed head that names no host (an origin-form request without a Host field, as HTTP/1.0 allows). */
    public record NoHost() implements Result {
    }

    /**
     * The host a well-formed head names.
     *
     * @param name lower-case, no trailing dot: a DNS host name (a dotted IPv4 literal passes as one), or an IPv6
     *     literal without its brackets
     * @param port the port it gives, or -1 when it gives none (then the connection's port applies)
     */
    public record Host(String name, int port) implements Result {
    }

    /**
     * A well-formed head whose host the gate cannot accept: several Host fields, a Host field naming another host
     * than the request target, userinfo in the target, or a host or port that is not valid.
     *
     * @param reason a few words for the denial log (never the client's bytes)
     */
    public record Invalid(String reason) implements Result {
    }

    /**
     * Where the head ends.
     *
     * @param buf the bytes the client sent, from the first
     * @param len how many bytes of {@code buf} are valid
     * @return the offset just after the first CRLFCRLF, or -1 when there is none in the first {@link #MAX_HEAD} bytes
     */
    public static int headEnd(byte[] buf, int len) {
        if (buf == null || len < 0 || len > buf.length) {
            return -1;
        }
        int n = Math.min(len, MAX_HEAD);
        for (int i = 3; i < n; i++) {
            if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
                return i + 1;
            }
        }
        return -1;
    }

    /**
     * Reads the host from the start of a client's stream.
     *
     * @param buf the bytes the client sent, from the first
     * @param len how many bytes of {@code buf} are valid
     * @return the result; {@link NeedMore} while the bytes so far could start a request head
     */
    public static Result host(byte[] buf, int len) {
        if (buf == null || len < 0 || len > buf.length) {
            return new NotHttp();
        }
        int end = headEnd(buf, len);
        if (end < 0) {
            return len >= MAX_HEAD || !plausiblePrefix(buf, Math.min(len, MAX_HEAD)) ? new NotHttp() : new NeedMore();
        }
        // the request line
        int sp1 = indexOf(buf, 0, end, (byte) ' ');
        int eol = indexOf(buf, 0, end, (byte) '\r');
        if (sp1 < 0 || eol < sp1 || buf[eol + 1] != '\n' || method(buf, 0, sp1) == null) {
            return new NotHttp();
        }
        int sp2 = indexOf(buf, sp1 + 1, eol, (byte) ' ');
        if (sp2 < 0 || sp2 == sp1 + 1 || !version(buf, sp2 + 1, eol)) {
            return new NotHttp();
        }
        for (int i = sp1 + 1; i < sp2; i++) {
            if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
                return new NotHttp();
            }
        }
        Result target = target(buf, sp1 + 1, sp2, "CONNECT".equals(method(buf, 0, sp1)));
        if (target instanceof NotHttp || target instanceof Invalid) {
            return target;
        }
        // the header fields: each pass consumes one line (at least 2 bytes)
        int p = eol + 2;
        Result host = null;
        while (p < end - 2) {
            int lineEnd = indexOf(buf, p, end, (byte) '\r');
            if (lineEnd < 0 || buf[lineEnd + 1] != '\n') {
                return new NotHttp();
            }
            int colon = -1;
            for (int i = p; i < lineEnd; i++) {
                int c = buf[i] & 0xff;
                if (c == '\n') {
                    return new NotHttp(); // a bare LF
                }
                if (colon < 0) {
                    if (c == ':') {
                        colon = i;
                    } else if (!tchar(buf[i])) {
                        return new NotHttp(); // also white space before the colon, and obs-fold
                    }
                } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
                    return new NotHttp();
                }
            }
            if (colon <= p) {
                return new NotHttp();
            }
            if (colon - p == 4 && (buf[p] | 0x20) == 'h' && (buf[p + 1] | 0x20) == 'o' && (buf[p + 2] | 0x20) == 's'
                    && (buf[p + 3] | 0x20) == 't') {
                if (host != null) {
                    return new Invalid("several Host fields");
                }
                int vs = colon + 1;
                int ve = lineEnd;
                while (vs < ve && (buf[vs] == ' ' || buf[vs] == '\t')) {
                    vs++;
                }
                while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t')) {
                    ve--;
                }
                host = authority(buf, vs, ve);
                if (host instanceof Invalid) {
                    return host;
                }
            }
            p = lineEnd + 2;
        }
        if (target instanceof Host t) {
            if (host instanceof Host h && (!h.name().equals(t.name())
                    || h.port() >= 0 && t.port() >= 0 && h.port() != t.port())) {
                return new Invalid("the Host field names another host than the request target");
            }
            return t;
        }
        return host == null ? new NoHost() : host;
    }

    /**
     * The host of the request target {@code b[from, to)}: a {@link Host} for absolute-form and CONNECT's
     * authority-form, {@link NoHost} for origin-form and {@code *}.
     */
    private static Result target(byte[] b, int from, int to, boolean connect) {
        if (connect) {
            Result r = authority(b, from, to);
            return r instanceof Host h && h.port() < 0 ? new Invalid("CONNECT without a port") : r;
        }
        if (b[from] == '/' || to - from == 1 && b[from] == '*') {
            return new NoHost();
        }
        int schemeEnd = startsWithIgnoreCase(b, from, to, "http://") ? from + 7
                : startsWithIgnoreCase(b, from, to, "https://") ? from + 8 : -1;
        if (schemeEnd < 0) {
            return new NotHttp();
        }
        int e = schemeEnd;
        while (e < to && b[e] != '/' && b[e] != '?' && b[e] != '#') {
            e++;
        }
        return authority(b, schemeEnd, e);
    }

    /** Reads {@code host[:port]} or {@code [v6][:port]} from {@code b[from, to)}. */
    private static Result authority(byte[] b, int from, int to) {
        if (from >= to) {
            return new Invalid("no host");
        }
        for (int i = from; i < to; i++) {
            if (b[i] == '@') {
                return new Invalid("userinfo in the host");
            }
        }
        int nameTo;
        String name;
        if (b[from] == '[') {
            int close = indexOf(b, from, to, (byte) ']');
            if (close < 0) {
                return new Invalid("an IPv6 literal without its ]");
            }
            name = ipv6(b, from + 1, close);
            if (name == null) {
                return new Invalid("not an IPv6 literal");
            }
            nameTo = close + 1;
        } else {
            nameTo = indexOf(b, from, to, (byte) ':');
            if (nameTo < 0) {
                nameTo = to;
            }
            name = Names.hostname(b, from, nameTo - from);
            if (name == null) {
                return new Invalid("not a DNS host name");
            }
        }
        if (nameTo == to) {
            return new Host(name, -1);
        }
        if (b[nameTo] != ':') {
            return new Invalid("not a DNS host name");
        }
        int portFrom = nameTo + 1;
        if (portFrom == to || to - portFrom > 5) {
            return new Invalid("not a port");
        }
        int port = 0;
        for (int i = portFrom; i < to; i++) {
            if (b[i] < '0' || b[i] > '9') {
                return new Invalid("not a port");
            }
            port = port * 10 + b[i] - '0';
        }
        return port < 1 || port > 65535 ? new Invalid("not a port") : new Host(name, port);
    }

    /** The IPv6 literal {@code b[from, to)} lower-cased, or null unless it is one (hex digits, colons, a dotted tail). */
    private static String ipv6(byte[] b, int from, int to) {
        int n = to - from;
        if (n < 2 || n > 45) {
            return null;
        }
        char[] out = new char[n];
        int colons = 0;
        for (int i = 0; i < n; i++) {
            int c = b[from + i];
            if (c >= 'A' && c <= 'F') {
                c += 'a' - 'A';
            }
            if (c == ':') {
                colons++;
            } else if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '.')) {
                return null; // also a zone id: never in a Host (RFC 9110 4.2.4 keeps the URI's syntax without it)
            }
            out[i] = (char) c;
        }
        return colons < 2 || colons > 7 ? null : new String(out);
    }

    /** Whether {@code b[0, n)} (no CRLFCRLF in it) could still become a request head. */
    private static boolean plausiblePrefix(byte[] b, int n) {
        int sp = indexOf(b, 0, n, (byte) ' ');
        int methodEnd = sp < 0 ? n : sp;
        if (methodEnd > MAX_METHOD) {
            return false;
        }
        boolean prefixOfOne = false;
        for (String m : METHODS) {
            if (m.length() >= methodEnd && (sp < 0 || m.length() == methodEnd)
                    && startsWith(m, b, methodEnd)) {
                prefixOfOne = true;
            }
        }
        if (!prefixOfOne) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            byte c = b[i];
            if (c == '\n' && (i == 0 || b[i - 1] != '\r') || c == '\r' && i + 1 < n && b[i + 1] != '\n') {
                return false; // a bare LF or CR
            }
        }
        return true;
    }

    private static boolean startsWith(String m, byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if (m.charAt(i) != b[i]) {
                return false;
            }
        }
        return true;
    }

    private static String method(byte[] b, int from, int to) {
        for (String m : METHODS) {
            if (m.length() == to - from && startsWith(m, b, to - from)) {
                return m;
            }
        }
        return null;
    }

    private static boolean version(byte[] b, int from, int to) {
        return to - from == 8 && b[from] == 'H' && b[from + 1] == 'T' && b[from + 2] == 'T' && b[from + 3] == 'P'
                && b[from + 4] == '/' && b[from + 5] == '1' && b[from + 6] == '.' && b[from + 7] >= '0'
                && b[from + 7] <= '9';
    }

    private static boolean startsWithIgnoreCase(byte[] b, int from, int to, String prefix) {
        if (to - from < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            int c = b[from + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** A token character of RFC 9110 5.6.2. */
    private static boolean tchar(byte c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c > 0x20 && c < 0x7f
                && "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }

    private static int indexOf(byte[] b, int from, int to, byte c) {
        for (int i = from; i < to; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }
}
