package dev.davit.sandbox.network;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The one HTTP/1.x request head of a connection whose TLS the gate terminates to add a secret's header (see
 * {@link Injections}): checked strictly (as {@link HttpRequestHead} reads heads: CRLF only, no folding, one Host) and
 * rewritten with the header set to the secret's value, every header of that name the client sent removed, and
 * {@code Connection: close} in place of the client's {@code Connection} and {@code Keep-Alive}: one request per
 * connection to the server, so nothing the server might read as a second request (a body it does not expect) can
 * take the next request's head, secret and all. Only a request for the secret's own host is rewritten: a Host (or
 * absolute-form target) naming any other host, even one served at the same address, is refused, so the value never
 * goes to another site behind a shared front end; so are TRACE and TRACK (a server that allows them echoes the
 * request, secret and all), a request to switch protocols ({@code Upgrade}), and CONNECT. Its body's framing is read
 * from the head, so the gate sends the body and no more: a {@code Content-Length} (one, digits only),
 * {@code Transfer-Encoding: chunked} (alone, HTTP/1.1 only, and never with a {@code Content-Length}: a request that
 * could be framed two ways is refused), or none.
 *
 * <p>Never throws on bad input.
 */
final class InjectedRequest {
    /** The longest head read. */
    static final int MAX_HEAD = HttpRequestHead.MAX_HEAD;

    private InjectedRequest() {
    }

    /** What a head became. */
    sealed interface Result {
    }

    /**
     * The head to send on, and the body that follows it.
     *
     * @param head          the rewritten head, up to and including its empty line
     * @param contentLength the body's length; -1 for a chunked body
     */
    record Rewritten(byte[] head, long contentLength) implements Result {
    }

    /**
     * A head the gate does not send on.
     *
     * @param status the HTTP status to answer with (400, 403)
     * @param reason a few words for the denial log and the response (never the client's bytes)
     */
    record Refused(int status, String reason) implements Result {
    }

    /**
     * Checks and rewrites {@code head}.
     *
     * @param head   the head's bytes up to and including CRLFCRLF
     * @param host   the secret's host (lower-case), the only one a request may name
     * @param header the header's name
     * @param value  the header's value (no CR, LF or NUL)
     * @return the result
     */
    static Result rewrite(byte[] head, String host, String header, String value) {
        HttpRequestHead.Result r = HttpRequestHead.host(head, head.length);
        if (r instanceof HttpRequestHead.Invalid inv) {
            return new Refused(400, inv.reason());
        }
        if (r instanceof HttpRequestHead.NoHost) {
            return new Refused(400, "an HTTP request without a Host");
        }
        if (!(r instanceof HttpRequestHead.Host h)) {
            return new Refused(400, "not an HTTP/1.x request head the gate reads");
        }
        if (!h.name().equals(host) || h.port() >= 0 && h.port() != 443) {
            return new Refused(403, "a request for " + h.name() + (h.port() >= 0 ? ":" + h.port() : "")
                    + " on the connection of " + host + ", whose secret goes to " + host + " only");
        }
        String text = new String(head, StandardCharsets.ISO_8859_1);
        String method = text.substring(0, text.indexOf(' '));
        if (method.equals("CONNECT") || method.equals("TRACE") || method.equals("TRACK")) {
            return new Refused(403, method + " on the connection of " + host + ", whose secret the gate adds");
        }
        int eol = text.indexOf("\r\n");
        boolean http10 = text.substring(0, eol).endsWith(" HTTP/1.0");
        StringBuilder out = new StringBuilder(text.length() + header.length() + value.length() + 4);
        out.append(text, 0, eol + 2);
        long length = 0;
        boolean lengthSeen = false;
        boolean chunked = false;
        int p = eol + 2;
        // HttpRequestHead checked the lines' form: each is NAME ":" VALUE CRLF up to the empty line
        while (p < text.length() - 2) {
            int e = text.indexOf("\r\n", p);
            String line = text.substring(p, e);
            p = e + 2;
            int colon = line.indexOf(':');
            String name = line.substring(0, colon);
            String v = line.substring(colon + 1).strip();
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.equals(header.toLowerCase(Locale.ROOT))) {
                continue; // the client's own (a placeholder): the secret's replaces it
            }
            switch (lower) {
                case "content-length" -> {
                    if (lengthSeen || v.isEmpty() || v.length() > 15 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
                        return new Refused(400, "a Content-Length the gate does not take (several, or not digits)");
                    }
                    lengthSeen = true;
                    length = Long.parseLong(v);
                }
                case "transfer-encoding" -> {
                    if (chunked || !v.equalsIgnoreCase("chunked") || http10) {
                        return new Refused(400, "a Transfer-Encoding other than one 'chunked' of HTTP/1.1");
                    }
                    chunked = true;
                }
                case "upgrade" -> {
                    return new Refused(400, "a request to switch protocols (Upgrade) on the connection of " + host
                            + ", whose secret the gate adds");
                }
                case "connection", "keep-alive", "proxy-connection" -> {
                    continue; // the gate's own: Connection: close
                }
                default -> {
                }
            }
            out.append(line).append("\r\n");
        }
        if (chunked && lengthSeen) {
            return new Refused(400, "both Content-Length and Transfer-Encoding");
        }
        out.append("Connection: close\r\n");
        out.append(header).append(": ").append(value).append("\r\n\r\n");
        return new Rewritten(out.toString().getBytes(StandardCharsets.ISO_8859_1), chunked ? -1 : length);
    }
}
