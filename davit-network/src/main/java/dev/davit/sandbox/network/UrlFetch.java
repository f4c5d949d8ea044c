package dev.davit.sandbox.network;

import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.Network;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * One file fetched over HTTP(S) from the host, let through as a sandbox with {@code network} would be let through
 * (a Containerfile's {@code ADD URL}): the fetch is made here, outside any sandbox, so the same checks the egress
 * gate makes are made here before each connection, and the connection goes to the address that was checked (no
 * second lookup a name server could answer differently).
 *
 * <ul>
 *   <li>{@link Network#NONE}: nothing is fetched.</li>
 *   <li>{@link Network#policy}: the URL's name must be allowed at its port (or, with no rule denying the name, an
 *       address entry must allow the address it resolves to); it is resolved as the gate resolves
 *       ({@link HostResolver}: the hosts file, then resolv.conf's servers), and an address in a special block
 *       ({@link EgressPolicy#specialBlocks}) or the host's own is refused unless an address entry allows it
 *       explicitly ({@link EgressPolicy#explicitlyAllows}: one no wider than the block; for the host's own, one
 *       naming exactly it). An address in the URL is judged by the address entries alone.</li>
 *   <li>{@link Network#NAT}: any name, resolved the same way; the loopback, link-local, multicast and reserved
 *       blocks and the host's own addresses are refused (a NAT sandbox cannot reach the host's loopback either).</li>
 *   <li>{@link Network#HOST}: whatever the host reaches, as the user asked.</li>
 * </ul>
 *
 * <p>Only {@code http} and {@code https}; a URL with a user name or password is refused (credentials would be sent
 * and shown); an {@code https} URL's certificate is checked against its name by the runtime's trust store. A
 * redirect (at most {@value #MAX_REDIRECTS}) is judged again from the start, and one from {@code https} to
 * {@code http} is refused. The body is read to at most the given size, and hashed (SHA-256) on the way. Messages
 * show a URL without its query (a signed URL's token stays out of them).
 */
public final class UrlFetch {
    /** How many redirects one fetch follows. */
    public static final int MAX_REDIRECTS = 5;
    /** How long one fetch may take, its redirects included, whatever the server sends meanwhile. */
    public static final java.time.Duration DEADLINE = java.time.Duration.ofMinutes(20);
    private static final int CONNECT_MILLIS = 10_000;
    private static final int READ_MILLIS = 30_000;
    private static final int MAX_HEAD = 64 * 1024;

    private final Network network;
    private final HostResolver resolver;
    private final SSLContext tls;
    private final java.time.Duration deadline;
    /** When the fetch under way must end (System.nanoTime). */
    private long endsAt;
    /** Whether the last read's wait was cut to the fetch's end, so a timeout there is the deadline's. */
    private boolean cutToDeadline;

    /**
     * What was fetched.
     *
     * @param file         the file the body was written to
     * @param size         its size in bytes
     * @param sha256       its digest, {@code sha256:HEX}
     * @param lastModified the response's {@code Last-Modified}, or null
     * @param uri          the URL the body came from (after redirects)
     */
    public record Result(Path file, long size, String sha256, Instant lastModified, URI uri) {
    }

    /** Why a fetch was not made or did not finish: a message fit for one line. */
    public static final class FetchException extends IOException {
        private static final long serialVersionUID = 1L;

        FetchException(String message) {
            super(message);
        }
    }

    /**
     * A fetcher for {@code network}, resolving as the host does and trusting the runtime's certificates.
     *
     * @param network the network the fetch is judged by
     */
    public UrlFetch(Network network) {
        this(network, new HostResolver(Path.of("/etc/hosts"), Path.of("/etc/resolv.conf")), null, DEADLINE);
    }

    /**
     * A fetcher with its own resolver and trust (tests).
     *
     * @param network  the network the fetch is judged by
     * @param resolver the resolver
     * @param tls      the TLS context, or null for the runtime's default
     */
    public UrlFetch(Network network, HostResolver resolver, SSLContext tls) {
        this(network, resolver, tls, DEADLINE);
    }

    /**
     * A fetcher whose fetches end after {@code deadline} (tests).
     *
     * @param network  the network the fetch is judged by
     * @param resolver the resolver
     * @param tls      the TLS context, or null for the runtime's and the host's CA certificates
     * @param deadline how long one fetch may take, redirects included
     */
    public UrlFetch(Network network, HostResolver resolver, SSLContext tls, java.time.Duration deadline) {
        this.network = network;
        this.resolver = resolver;
        this.tls = tls;
        this.deadline = deadline;
    }

    /**
     * {@code uri} as it is shown: scheme, host, port and path, without user information, query or fragment.
     *
     * @param uri the URL
     * @return the text
     */
    public static String shown(URI uri) {
        String host = uri.getHost() == null ? "" : uri.getHost();
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        return dev.davit.oci.internal.Text.printable(uri.getScheme() + "://" + host + (uri.getPort() < 0 ? ""
                : ":" + uri.getPort()) + path + (uri.getRawQuery() == null ? "" : "?…"));
    }

    /**
     * {@code url}, as written in a Containerfile, as it may be shown: without a user name or password, query or
     * fragment, whether it parses or not.
     *
     * @param url the text
     * @return the text to show
     */
    public static String shown(String url) {
        String s = url.replaceFirst("^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@", "$1");
        int cut = s.length();
        for (char c : new char[] {'?', '#'}) {
            int i = s.indexOf(c);
            if (i >= 0 && i < cut) {
                cut = i;
            }
        }
        return dev.davit.oci.internal.Text.printable(cut < s.length() ? s.substring(0, cut) + "?…" : s);
    }

    /**
     * Fetches {@code uri} into the new file {@code into} (created 0600).
     *
     * @param uri      the URL
     * @param into     the file to create
     * @param maxBytes the most the body may have
     * @return what was fetched
     * @throws FetchException when the network or its policy does not let it through, or the server's answer is not
     *                        a file within {@code maxBytes}
     * @throws IOException    when the file cannot be written (the file is then gone)
     */
    public Result fetch(URI uri, Path into, long maxBytes) throws IOException {
        try {
            return fetchOnce(uri, into, maxBytes);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(into); // nothing half-written is left
            throw e;
        }
    }

    private Result fetchOnce(URI uri, Path into, long maxBytes) throws IOException {
        URI at = uri;
        endsAt = System.nanoTime() + deadline.toNanos();
        for (int hop = 0; ; hop++) {
            cutToDeadline = false;
            check(at);
            InetAddress address = judge(at);
            boolean https = at.getScheme().equalsIgnoreCase("https");
            int port = at.getPort() < 0 ? (https ? 443 : 80) : at.getPort();
            try (Socket s = connect(at, address, port, https)) {
                InputStream in = new BufferedInputStream(new Deadlined(s, at), 64 * 1024);
                OutputStream out = s.getOutputStream();
                URI ascii = URI.create(at.toASCIIString()); // a path beyond ASCII, percent-encoded as UTF-8
                String target = (ascii.getRawPath() == null || ascii.getRawPath().isEmpty() ? "/"
                        : ascii.getRawPath()) + (ascii.getRawQuery() == null ? "" : "?" + ascii.getRawQuery());
                String host = ascii.getHost(); // an IPv6 address comes with its brackets
                String hostHeader = host + (at.getPort() < 0 ? "" : ":" + port);
                out.write(("GET " + target + " HTTP/1.1\r\nHost: " + hostHeader + "\r\nUser-Agent: davit\r\n"
                        + "Accept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                Head head = head(in, at);
                while (head.status() >= 100 && head.status() < 200 && head.status() != 101) {
                    head = head(in, at); // an interim answer (100 Continue, 103 Early Hints): the real one follows
                }
                if (Set.of(301, 302, 303, 307, 308).contains(head.status())
                        && head.header("location") != null) {
                    if (hop == MAX_REDIRECTS) {
                        throw new FetchException(shown(uri) + " redirects more than " + MAX_REDIRECTS + " times");
                    }
                    URI next = redirect(at, head.header("location"));
                    if (https && !next.getScheme().equalsIgnoreCase("https")) {
                        throw new FetchException(shown(at) + " redirects from https to " + shown(next)
                                + ", which is refused");
                    }
                    at = next;
                    continue;
                }
                if (head.status() != 200) {
                    throw new FetchException(shown(at) + " answered HTTP " + head.status()
                            + (head.reason().isEmpty() ? "" : " " + dev.davit.oci.internal.Text.shorten(
                            dev.davit.oci.internal.Text.printable(head.reason()), 80)));
                }
                return body(in, head, at, into, maxBytes);
            } catch (FetchException e) {
                throw e;
            } catch (javax.net.ssl.SSLException e) {
                throw new FetchException("TLS with " + shown(at) + " failed (" + reason(e) + ")");
            } catch (java.net.SocketTimeoutException e) {
                throw new FetchException(cutToDeadline || System.nanoTime() >= endsAt ? shown(uri) + " was not fetched within "
                        + deadline.toSeconds() + " s" : shown(at) + " did not answer within " + READ_MILLIS / 1000
                        + " s");
            } catch (IOException e) {
                throw new FetchException(shown(at) + " could not be fetched (" + reason(e) + ")");
            }
        }
    }

    private static String reason(Exception e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replace('\n', ' ').length() > 160 ? m.replace('\n', ' ').substring(0, 160) + "…"
                : m.replace('\n', ' ');
    }

    /** A URL davit fetches: http or https, a host, no user information. */
    private static void check(URI uri) throws FetchException {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new FetchException("only http and https URLs are fetched, not " + (scheme.isEmpty()
                    ? "a URL without a scheme" : scheme + ":"));
        }
        if (uri.getRawUserInfo() != null) {
            throw new FetchException("a URL with a user name or password is not fetched (it would be sent and"
                    + " shown); put the file in the build context instead");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new FetchException(shown(uri) + " has no host");
        }
        if (uri.getPort() == 0 || uri.getPort() > 65535) {
            throw new FetchException(shown(uri) + " has a port out of range");
        }
    }

    /**
     * The socket's input, each read waiting at most the read timeout and never past the fetch's end: a server that
     * sends a byte now and then cannot hold the build.
     */
    private final class Deadlined extends InputStream {
        private final Socket socket;
        private final InputStream in;

        Deadlined(Socket socket, URI at) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
        }

        private void arm() throws IOException {
            long leftNanos = endsAt - System.nanoTime();
            // rounded up: a wait cut to the end must not time out before it, or the timeout reads as a silent server
            long left = (leftNanos + 999_999) / 1_000_000;
            cutToDeadline = left <= READ_MILLIS;
            if (leftNanos <= 0) {
                throw new java.net.SocketTimeoutException("the fetch's time is up");
            }
            socket.setSoTimeout((int) Math.min(READ_MILLIS, left));
        }

        @Override
        public int read() throws IOException {
            arm();
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            arm();
            return in.read(b, off, len);
        }
    }

    private static URI redirect(URI from, String location) throws FetchException {
        try {
            URI next = from.resolve(new URI(location.trim()));
            check(next);
            return next;
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new FetchException(shown(from) + " redirects to a URL that is not valid");
        }
    }

    /** The address {@code uri} is fetched from, once the network allows it. */
    InetAddress judge(URI uri) throws FetchException {
        String host = uri.getHost();
        boolean https = uri.getScheme().equalsIgnoreCase("https");
        int port = uri.getPort() < 0 ? (https ? 443 : 80) : uri.getPort();
        String shown = shown(uri);
        Network.Mode mode = network.mode();
        if (mode == Network.Mode.NONE) {
            throw new FetchException("the build has no network to fetch " + shown + " with");
        }
        InetAddress literal = literal(host);
        if (mode == Network.Mode.HOST) {
            try {
                return literal != null ? literal : InetAddress.getByName(host);
            } catch (IOException e) {
                throw new FetchException("the name " + host + " does not resolve");
            }
        }
        EgressPolicy policy = network.egress();
        EgressPolicy.Verdict byName = null;
        if (literal == null && mode == Network.Mode.POLICY) {
            byName = policy.name(host, port);
            if (!byName.allowed() && byName.rule() != null) {
                throw new FetchException(shown + " is denied by the network policy (" + byName.rule() + ")");
            }
        }
        List<InetAddress> candidates = new ArrayList<>();
        if (literal != null) {
            candidates.add(literal);
        } else {
            HostResolver.Result r = resolver.resolve(host.toLowerCase(Locale.ROOT).replaceFirst("\\.$", ""));
            if (r.addresses().isEmpty()) {
                throw new FetchException("the name " + host + " does not resolve"
                        + (r.error() == null ? "" : " (" + r.error() + ")"));
            }
            candidates.addAll(r.addresses());
        }
        String why = null;
        for (InetAddress a : candidates) {
            String no = mode == Network.Mode.NAT ? natRefuses(a) : policyRefuses(policy, byName, a, port);
            if (no == null) {
                return a;
            }
            why = why == null ? no : why;
        }
        throw new FetchException(shown + " is refused by the build's network: " + why);
    }

    /** Why a policy network does not let a connection to {@code a:port} through, or null. */
    private String policyRefuses(EgressPolicy p, EgressPolicy.Verdict byName, InetAddress a, int port) {
        EgressPolicy.Verdict byAddress = p.address(a, port);
        if (!byAddress.allowed() && byAddress.rule() != null) {
            // a deny rule of the address: refused whatever allows the name, as the gate refuses it
            return "the address " + a.getHostAddress() + " is " + byAddress.reason();
        }
        if (byName != null && !byName.allowed() && !byAddress.allowed()) {
            return "the name is " + byName.reason();
        }
        if (byName == null && !byAddress.allowed()) {
            return "the address " + a.getHostAddress() + " is " + byAddress.reason();
        }
        Set<InetAddress> own = EgressPolicy.hostAddresses();
        if ((EgressPolicy.isSpecial(a) || own.contains(a)) && !p.explicitlyAllows(a, port, own)) {
            return "the address " + a.getHostAddress() + " is " + EgressPolicy.specialWords(a, own);
        }
        return null;
    }

    /** Why NAT does not let a connection to {@code a} through, or null. */
    private String natRefuses(InetAddress a) {
        if (!(a instanceof Inet4Address)) {
            return "the address " + a.getHostAddress() + " is not IPv4";
        }
        byte[] b = a.getAddress();
        int first = b[0] & 0xff;
        boolean blocked = first == 0 || first == 127 || first >= 224
                || first == 169 && (b[1] & 0xff) == 254;
        if (blocked || EgressPolicy.hostAddresses().contains(a)) {
            return "the address " + a.getHostAddress() + " is loopback, link-local, multicast, reserved or the"
                    + " host's own";
        }
        return null;
    }

    /**
     * The address {@code host} is written as, or null for a name: four decimal numbers of 0 to 255 without leading
     * zeros, or an IPv6 address in brackets. Nothing else is ever handed to the system's resolver (an all-digit name
     * such as {@code 4294967296} is a name, judged and resolved as names are).
     */
    static InetAddress literal(String host) {
        if (host.startsWith("[") && host.endsWith("]")) {
            String h = host.substring(1, host.length() - 1);
            if (!h.matches("[0-9A-Fa-f:.]+") || !h.contains(":")) {
                return null;
            }
            try {
                return InetAddress.getByName(h); // an IPv6 literal: parsed, never looked up
            } catch (IOException e) {
                return null;
            }
        }
        String[] parts = host.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            if (!parts[i].matches("0|[1-9][0-9]{0,2}") || Integer.parseInt(parts[i]) > 255) {
                return null;
            }
            b[i] = (byte) Integer.parseInt(parts[i]);
        }
        try {
            return InetAddress.getByAddress(b);
        } catch (IOException e) {
            return null;
        }
    }

    private Socket connect(URI uri, InetAddress address, int port, boolean https) throws IOException {
        Socket plain = new Socket();
        try {
            plain.connect(new InetSocketAddress(address, port), CONNECT_MILLIS);
            if (!https) {
                return plain;
            }
            SSLContext ctx;
            try {
                // the runtime's CA certificates and the host's bundle, as the egress gate trusts them
                ctx = tls != null ? tls : trust(Path.of("/etc/ssl/certs/ca-certificates.crt"));
            } catch (GeneralSecurityException e) {
                throw new IOException("no TLS", e);
            }
            String host = uri.getHost().endsWith(".") ? uri.getHost().substring(0, uri.getHost().length() - 1)
                    : uri.getHost(); // "example.com." is example.com's certificate's name
            boolean byAddress = literal(host) != null;
            SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(plain, byAddress && host.startsWith("[")
                    ? host.substring(1, host.length() - 1) : host, port, true);
            SSLParameters params = s.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must be the name's
            if (!byAddress) {
                params.setServerNames(List.of(new SNIHostName(host)));
            }
            s.setSSLParameters(params);
            s.setSoTimeout(READ_MILLIS);
            s.startHandshake();
            return s;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    /** A response's status line and headers (names lower-cased). */
    private record Head(int status, String reason, List<String[]> headers) {
        String header(String name) {
            for (String[] h : headers) {
                if (h[0].equals(name)) {
                    return h[1];
                }
            }
            return null;
        }
    }

    private static Head head(InputStream in, URI at) throws IOException {
        int[] used = {0};
        String status = line(in, used, at);
        String[] parts = status.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || !parts[1].matches("[0-9]{3}")) {
            throw new FetchException(shown(at) + " did not answer in HTTP/1.x");
        }
        List<String[]> headers = new ArrayList<>();
        for (String l = line(in, used, at); !l.isEmpty(); l = line(in, used, at)) {
            int colon = l.indexOf(':');
            if (colon <= 0) {
                throw new FetchException(shown(at) + " sent a header that is not valid");
            }
            headers.add(new String[] {l.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                l.substring(colon + 1).trim()});
        }
        return new Head(Integer.parseInt(parts[1]), parts.length > 2 ? parts[2].trim() : "", headers);
    }

    /** One line of the head, without its CRLF; the head as a whole is at most {@value #MAX_HEAD} bytes. */
    private static String line(InputStream in, int[] used, URI at) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c = in.read(); ; c = in.read()) {
            if (c < 0) {
                throw new FetchException(shown(at) + " closed the connection before its answer's head ended");
            }
            if (++used[0] > MAX_HEAD) {
                throw new FetchException(shown(at) + " sent an answer head over " + MAX_HEAD / 1024 + " KiB");
            }
            if (c == '\n') {
                byte[] l = b.toByteArray();
                int n = l.length > 0 && l[l.length - 1] == '\r' ? l.length - 1 : l.length;
                return new String(l, 0, n, StandardCharsets.ISO_8859_1);
            }
            b.write(c);
        }
    }

    private static Result body(InputStream in, Head head, URI at, Path into, long maxBytes) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        String te = head.header("transfer-encoding");
        boolean chunked = te != null && te.toLowerCase(Locale.ROOT).contains("chunked");
        if (te != null && !te.equalsIgnoreCase("chunked")) {
            throw new FetchException(shown(at) + " sent its body encoded as " + te + ", which davit does not read");
        }
        String ce = head.header("content-encoding");
        if (ce != null && !ce.equalsIgnoreCase("identity")) {
            throw new FetchException(shown(at) + " sent its body encoded as " + ce + " although asked not to");
        }
        long length = -1;
        if (!chunked && head.header("content-length") != null) {
            try {
                length = Long.parseLong(head.header("content-length"));
            } catch (NumberFormatException e) {
                throw new FetchException(shown(at) + " sent a Content-Length that is not a number");
            }
            if (length < 0) {
                throw new FetchException(shown(at) + " sent a negative Content-Length");
            }
        }
        if (length > maxBytes) {
            throw new FetchException(shown(at) + " is " + length + " bytes, over the " + maxBytes + " a fetch may"
                    + " have");
        }
        long size = 0;
        byte[] buf = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(into, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            Files.setPosixFilePermissions(into, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            if (chunked) {
                int[] used = {0};
                while (true) {
                    String l = line(in, used, at);
                    int semi = l.indexOf(';');
                    String hex = (semi < 0 ? l : l.substring(0, semi)).trim();
                    if (!hex.matches("[0-9a-fA-F]{1,15}")) {
                        throw new FetchException(shown(at) + " sent a chunk size that is not valid");
                    }
                    long n = Long.parseLong(hex, 16);
                    used[0] = 0; // each chunk's line is bounded on its own
                    if (n == 0) {
                        break;
                    }
                    size = copy(in, out, sha, buf, n, size, maxBytes, at);
                    if (!line(in, used, at).isEmpty()) {
                        throw new FetchException(shown(at) + " sent a chunk longer than its size");
                    }
                }
            } else if (length >= 0) {
                size = copy(in, out, sha, buf, length, 0, maxBytes, at);
            } else {
                size = copy(in, out, sha, buf, Long.MAX_VALUE, 0, maxBytes, at);
            }
        }
        Instant modified = null;
        String lm = head.header("last-modified");
        if (lm != null) {
            try {
                modified = ZonedDateTime.parse(lm, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            } catch (DateTimeParseException e) {
                modified = null; // not a date: the file's time is the build's
            }
        }
        return new Result(into, size, "sha256:" + HexFormat.of().formatHex(sha.digest()), modified, at);
    }

    /** Copies {@code n} bytes (to the end when {@code Long.MAX_VALUE}); the total stays within {@code max}. */
    private static long copy(InputStream in, OutputStream out, MessageDigest sha, byte[] buf, long n, long total,
                             long max, URI at) throws IOException {
        long left = n;
        while (left > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (r < 0) {
                if (n == Long.MAX_VALUE) {
                    return total;
                }
                throw new FetchException(shown(at) + " closed the connection before the body's end");
            }
            total += r;
            if (total > max) {
                throw new FetchException(shown(at) + " sent over the " + max + " bytes a fetch may have");
            }
            sha.update(buf, 0, r);
            out.write(buf, 0, r);
            left -= r;
        }
        return total;
    }

    /**
     * What a fetch trusts: the Java runtime's CA certificates and those of the PEM file {@code extra} (the host's
     * bundle), when there is one.
     */
    private static SSLContext trust(Path extra) throws IOException, GeneralSecurityException {
        TrustManagerFactory def = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        def.init((KeyStore) null);
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        int i = 0;
        for (var tm : def.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                for (X509Certificate c : x.getAcceptedIssuers()) {
                    ks.setCertificateEntry("jdk-" + i++, c);
                }
            }
        }
        if (extra != null && Files.isReadable(extra)) {
            try (InputStream in = Files.newInputStream(extra)) {
                for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    ks.setCertificateEntry("extra-" + i++, c);
                }
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
