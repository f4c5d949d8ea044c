package dev.davit.oci.testkit;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An HTTP/1.1 proxy on a free port of 127.0.0.1 in front of a {@link TestRegistry}, injecting {@link Fault}s and
 * recording every request. Point the client under test at {@link #baseUrl()} / {@link #hostPort()} instead of the
 * registry's; it passes all other headers through (WWW-Authenticate, Docker-Content-Digest, ...), keeps the
 * client's {@code Host} so the registry's upload {@code Location}s point back at the proxy, and rewrites any
 * {@code Location} that still names the registry. Bodies are streamed, never buffered whole.
 *
 * <pre>{@code
 * try (FaultProxy proxy = FaultProxy.start(registry)) {
 *     Fault cut = proxy.add(Fault.cutAfter(100_000).onBlob(layer));
 *     pull(proxy.hostPort() + "/app:v1");                       // the client under test
 *     assertThat(cut.fired()).isEqualTo(1);
 *     assertThat(proxy.requests("GET", Fault.BLOB_PATH))
 *         .anySatisfy(r -> assertThat(r.range()).isEqualTo("bytes=100000-"));
 * }
 * }</pre>
 *
 * <p>{@link Fault#redirectToOtherHost()} sends clients to a second listener, {@link #otherHostBaseUrl()}, on
 * 127.0.0.2 (or, where that address cannot be bound, {@code localhost}): another host as far as the client can
 * tell. It serves the redirected path from the registry with the kit's own credentials; its requests are recorded
 * with {@link Request#otherHost()} true, so a test can assert the client did not leak its {@code Authorization}.
 * Faults apply only on the main listener.
 */
public final class FaultProxy implements AutoCloseable {

    /**
     * One request the proxy (or its other host) answered.
     *
     * @param method e.g. {@code GET}
     * @param path the request path, without the query
     * @param query the raw query, or null
     * @param range the client's {@code Range} header, or null (recorded even when a fault dropped it)
     * @param authorization whether the client sent an {@code Authorization} header (its value is never kept)
     * @param status the status sent to the client
     * @param otherHost true for requests to {@link #otherHostBaseUrl()}
     * @param faults the faults applied, as {@link Fault#toString()}
     */
    public record Request(String method, String path, String query, String range, boolean authorization,
            int status, boolean otherHost, List<String> faults) {
    }

    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te",
            "trailer", "upgrade", "http2-settings", "expect");
    /** How long a cut connection stays open, silent, after its last byte before the proxy closes it. */
    static final long CUT_GRACE_MILLIS = 100;
    private static final Pattern REPOSITORY = Pattern.compile("/v2/(.+)/(?:blobs|manifests)/.*");

    private final TestRegistry backend;
    private final ServerSocket main;
    private final ServerSocket other;
    private final String otherHost;
    private final List<Fault> faults = new CopyOnWriteArrayList<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private FaultProxy(TestRegistry backend) throws IOException {
        this.backend = backend;
        this.main = new ServerSocket(0, 64, InetAddress.getByName("127.0.0.1"));
        ServerSocket o;
        String host;
        try {
            o = new ServerSocket(0, 64, InetAddress.getByName("127.0.0.2"));
            host = "127.0.0.2";
        } catch (IOException e) {
            o = new ServerSocket(0, 64, InetAddress.getByName("127.0.0.1"));
            host = "localhost";
        }
        this.other = o;
        this.otherHost = host + ":" + o.getLocalPort();
        Thread.ofVirtual().name("fault-proxy-accept").start(() -> acceptLoop(main, false));
        Thread.ofVirtual().name("fault-proxy-other-accept").start(() -> acceptLoop(other, true));
    }

    /** Starts a proxy in front of {@code backend}. */
    public static FaultProxy start(TestRegistry backend) {
        try {
            return new FaultProxy(backend);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** {@code http://127.0.0.1:PORT}. */
    public String baseUrl() {
        return "http://" + hostPort();
    }

    /** {@code 127.0.0.1:PORT}: use it as the registry in references. */
    public String hostPort() {
        return "127.0.0.1:" + main.getLocalPort();
    }

    public int port() {
        return main.getLocalPort();
    }

    /** The redirect target of {@link Fault#redirectToOtherHost()}, e.g. {@code http://127.0.0.2:40123}. */
    public String otherHostBaseUrl() {
        return "http://" + otherHost;
    }

    /** The registry behind the proxy. */
    public TestRegistry backend() {
        return backend;
    }

    /** Adds a fault (see {@link Fault}) and returns it, to read {@link Fault#fired()} later. */
    public Fault add(Fault fault) {
        faults.add(fault);
        return fault;
    }

    /** Removes all faults. */
    public void clearFaults() {
        faults.clear();
    }

    /** Every request so far, in the order their responses started. */
    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** The requests with this method (null: any) whose path matches {@code pathRegex} entirely. */
    public List<Request> requests(String method, String pathRegex) {
        Pattern p = Pattern.compile(pathRegex);
        return requests.stream().filter(r -> method == null || method.equalsIgnoreCase(r.method()))
                .filter(r -> p.matcher(r.path()).matches()).toList();
    }

    /** Forgets the recorded requests. */
    public void clearRequests() {
        requests.clear();
    }

    /** Stops both listeners and closes open connections. */
    @Override
    public void close() {
        closed = true;
        closeQuietly(main);
        closeQuietly(other);
        open.forEach(FaultProxy::closeQuietly);
    }

    @Override
    public String toString() {
        return "FaultProxy[" + hostPort() + " -> " + backend.hostPort() + ", other host " + otherHost + "]";
    }

    // ---------------------------------------------------------------------------------------------------------

    private void acceptLoop(ServerSocket server, boolean isOther) {
        while (!closed) {
            try {
                Socket s = server.accept();
                open.add(s);
                Thread.ofVirtual().name("fault-proxy-conn").start(() -> serve(s, isOther));
            } catch (IOException e) {
                if (closed) {
                    return;
                }
            }
        }
    }

    private void serve(Socket client, boolean isOther) {
        try (client) {
            client.setTcpNoDelay(true);
            client.setSoTimeout(300_000);
            InputStream in = new BufferedInputStream(client.getInputStream(), 64 * 1024);
            OutputStream out = new BufferedOutputStream(client.getOutputStream(), 64 * 1024);
            while (!closed) {
                Head req = Head.read(in);
                if (req == null) {
                    return;
                }
                Outcome outcome = handle(req, in, out, isOther);
                if (outcome == Outcome.CUT) {
                    // Give the client time to consume what it got before the end of stream arrives: some clients
                    // (Java's HttpClient) drop received but unread data when the connection fails.
                    Thread.sleep(CUT_GRACE_MILLIS);
                    client.shutdownOutput();
                }
                if (outcome != Outcome.KEEP) {
                    return;
                }
            }
        } catch (IOException e) {
            // the client or the registry went away; the connection ends
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            open.remove(client);
        }
    }

    private enum Outcome {
        KEEP, CLOSE, CUT
    }

    /** Handles one request; tells whether the client connection stays open. */
    private Outcome handle(Head req, InputStream in, OutputStream out, boolean isOther) throws IOException {
        String[] line = req.startLine.split(" ");
        if (line.length != 3 || !line[2].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP/1.x request");
        }
        String method = line[0];
        String target = line[1];
        if (target.startsWith("http://")) {
            int slash = target.indexOf('/', 7);
            target = slash < 0 ? "/" : target.substring(slash);
        }
        int q = target.indexOf('?');
        String path = q < 0 ? target : target.substring(0, q);
        String query = q < 0 ? null : target.substring(q + 1);
        String range = req.get("Range");
        boolean authorization = req.get("Authorization") != null;
        boolean clientClose = "close".equalsIgnoreCase(req.get("Connection")) || line[2].equals("HTTP/1.0");
        boolean expectContinue = "100-continue".equalsIgnoreCase(req.get("Expect"));

        Fault replacing = null;
        List<Fault> applied = new ArrayList<>();
        if (!isOther) {
            for (Fault f : faults) {
                if (f.replacesResponse() && f.matches(method, path, range) && f.tryFire()) {
                    replacing = f;
                    break;
                }
            }
            if (replacing == null) {
                for (Fault f : faults) {
                    if (!f.replacesResponse() && f.matches(method, path, range) && f.tryFire()) {
                        applied.add(f);
                    }
                }
            }
        }

        if (replacing != null) {
            boolean keep = !clientClose && !expectContinue;
            if (!expectContinue) {
                copyBody(req, in, OutputStream.nullOutputStream());
            }
            Head resp = new Head(replacing.kind == Fault.Kind.REDIRECT ? "HTTP/1.1 307 Temporary Redirect"
                    : "HTTP/1.1 " + replacing.status + " " + reason(replacing.status));
            byte[] body;
            if (replacing.kind == Fault.Kind.REDIRECT) {
                resp.add("Location", otherHostBaseUrl() + target);
                body = new byte[0];
            } else {
                String code = replacing.status == 429 ? "TOOMANYREQUESTS" : replacing.status == 503 ? "UNAVAILABLE"
                        : "UNKNOWN";
                body = ("{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"injected by FaultProxy\"}]}")
                        .getBytes(StandardCharsets.UTF_8);
                resp.add("Content-Type", "application/json; charset=utf-8");
                if (replacing.retryAfterSeconds >= 0) {
                    resp.add("Retry-After", Integer.toString(replacing.retryAfterSeconds));
                }
            }
            resp.add("Content-Length", Integer.toString(body.length));
            if (!keep) {
                resp.add("Connection", "close");
            }
            record(method, path, query, range, authorization, resp.status(), isOther, List.of(replacing));
            resp.write(out);
            if (!method.equals("HEAD")) {
                out.write(body);
            }
            out.flush();
            return keep ? Outcome.KEEP : Outcome.CLOSE;
        }

        boolean ignoreRange = applied.stream().anyMatch(f -> f.kind == Fault.Kind.IGNORE_RANGE);
        try (Socket be = new Socket()) {
            be.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), backend.port()), 5_000);
            be.setTcpNoDelay(true);
            be.setSoTimeout(120_000);
            InputStream bin = new BufferedInputStream(be.getInputStream(), 64 * 1024);
            OutputStream bout = new BufferedOutputStream(be.getOutputStream(), 64 * 1024);

            Head fwd = new Head(method + " " + target + " HTTP/1.1");
            for (String[] h : req.headers) {
                String name = h[0].toLowerCase(Locale.ROOT);
                if (HOP_BY_HOP.contains(name) || (ignoreRange && (name.equals("range") || name.equals("if-range")))
                        || (isOther && name.equals("authorization"))) {
                    continue;
                }
                fwd.add(h[0], h[1]);
            }
            if (isOther) {
                Matcher m = REPOSITORY.matcher(path);
                if (m.matches()) {
                    backend.authorization(m.group(1), "pull").ifPresent(a -> fwd.add("Authorization", a));
                }
            }
            fwd.add("Connection", "close");
            fwd.write(bout);
            if (expectContinue) {
                out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            }
            copyBody(req, in, bout);
            bout.flush();

            Head resp;
            do {
                resp = Head.read(bin);
                if (resp == null) {
                    throw new EOFException("registry closed the connection without a response");
                }
            } while (resp.status() >= 100 && resp.status() < 200);
            int status = resp.status();
            if (applied.stream().anyMatch(f -> f.kind == Fault.Kind.DROP_RESPONSE)) {
                record(method, path, query, range, authorization, status, isOther, applied);
                return Outcome.CLOSE;
            }

            Head toClient = new Head(resp.startLine);
            for (String[] h : resp.headers) {
                String name = h[0].toLowerCase(Locale.ROOT);
                if (name.equals("connection") || name.equals("keep-alive")) {
                    continue;
                }
                String value = h[1];
                if (name.equals("location") && value.startsWith(backend.baseUrl())) {
                    value = (isOther ? otherHostBaseUrl() : baseUrl()) + value.substring(backend.baseUrl().length());
                }
                toClient.add(h[0], value);
            }
            boolean noBody = method.equals("HEAD") || status == 204 || status == 304;
            boolean chunked = !noBody && resp.get("Transfer-Encoding") != null
                    && resp.get("Transfer-Encoding").toLowerCase(Locale.ROOT).contains("chunked");
            String cl = resp.get("Content-Length");
            boolean untilClose = !noBody && !chunked && cl == null;
            boolean keep = !clientClose && !untilClose;
            if (!keep) {
                toClient.add("Connection", "close");
            }
            record(method, path, query, range, authorization, status, isOther, applied);
            toClient.write(out);

            BodyFilter filter = new BodyFilter(applied);
            if (!noBody) {
                boolean complete;
                if (chunked) {
                    complete = copyChunked(bin, out, filter);
                } else if (cl != null) {
                    complete = copyFixed(bin, out, Long.parseLong(cl.trim()), filter);
                } else {
                    complete = copyUntilClose(bin, out, filter);
                }
                if (!complete) {
                    out.flush();
                    return Outcome.CUT;
                }
            }
            out.flush();
            return keep ? Outcome.KEEP : Outcome.CLOSE;
        }
    }

    private void record(String method, String path, String query, String range, boolean authorization, int status,
            boolean isOther, List<Fault> applied) {
        requests.add(new Request(method, path, query, range, authorization, status, isOther,
                applied.stream().map(Fault::toString).toList()));
    }

    /** Applies flip and cut faults to a streamed response body. */
    private static final class BodyFilter {
        private final List<Long> flips = new ArrayList<>();
        private long cutAt = Long.MAX_VALUE;
        private long pos;
        private long bytesPerSecond;

        BodyFilter(List<Fault> faults) {
            for (Fault f : faults) {
                if (f.kind == Fault.Kind.THROTTLE) {
                    bytesPerSecond = f.offset;
                } else if (f.kind == Fault.Kind.FLIP_BYTE) {
                    flips.add(f.offset);
                } else if (f.kind == Fault.Kind.CUT) {
                    cutAt = Math.min(cutAt, f.offset);
                }
            }
        }

        /** Transforms buf[off..off+len) in place and returns how many bytes may be sent (less than len: cut). */
        int apply(byte[] buf, int off, int len) {
            int allowed = (int) Math.min(len, Math.max(0, cutAt - pos));
            for (long flip : flips) {
                if (flip >= pos && flip < pos + allowed) {
                    buf[off + (int) (flip - pos)] ^= (byte) 0xFF;
                }
            }
            pos += allowed;
            if (bytesPerSecond > 0 && allowed > 0) {
                try {
                    Thread.sleep(Math.max(1, allowed * 1000L / bytesPerSecond));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return allowed;
        }

    }

    private static boolean copyFixed(InputStream in, OutputStream out, long length, BodyFilter filter)
            throws IOException {
        byte[] buf = new byte[64 * 1024];
        for (long left = length; left > 0;) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
                throw new EOFException("registry body ended early");
            }
            left -= n;
            int send = filter.apply(buf, 0, n);
            out.write(buf, 0, send);
            if (send < n) {
                return false;
            }
        }
        return true;
    }

    private static boolean copyUntilClose(InputStream in, OutputStream out, BodyFilter filter) throws IOException {
        byte[] buf = new byte[64 * 1024];
        for (int n; (n = in.read(buf)) >= 0;) {
            int send = filter.apply(buf, 0, n);
            out.write(buf, 0, send);
            if (send < n) {
                return false;
            }
        }
        return true;
    }

    /** De-chunks the registry's body and re-chunks it for the client, so faults count body bytes only. */
    private static boolean copyChunked(InputStream in, OutputStream out, BodyFilter filter) throws IOException {
        byte[] buf = new byte[64 * 1024];
        while (true) {
            String sizeLine = Head.readLine(in);
            if (sizeLine == null) {
                throw new EOFException("registry chunked body ended early");
            }
            int semi = sizeLine.indexOf(';');
            long size = Long.parseLong((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim(), 16);
            if (size == 0) {
                String trailer;
                while ((trailer = Head.readLine(in)) != null && !trailer.isEmpty()) {
                    // trailers are dropped
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                return true;
            }
            for (long left = size; left > 0;) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new EOFException("registry chunk ended early");
                }
                left -= n;
                int send = filter.apply(buf, 0, n);
                if (send > 0) {
                    out.write((Integer.toHexString(send) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    out.write(buf, 0, send);
                    out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
                }
                if (send < n) {
                    return false;
                }
            }
            Head.readLine(in); // CRLF after the chunk data
        }
    }

    /** Copies (or, with a null-stream, drains) a request body, keeping its framing. */
    private static void copyBody(Head req, InputStream in, OutputStream out) throws IOException {
        String te = req.get("Transfer-Encoding");
        if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            byte[] buf = new byte[64 * 1024];
            while (true) {
                String sizeLine = Head.readLine(in);
                if (sizeLine == null) {
                    throw new EOFException("client chunked body ended early");
                }
                out.write((sizeLine + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                int semi = sizeLine.indexOf(';');
                long size = Long.parseLong((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim(), 16);
                if (size == 0) {
                    String trailer;
                    do {
                        trailer = Head.readLine(in);
                        out.write(((trailer == null ? "" : trailer) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    } while (trailer != null && !trailer.isEmpty());
                    return;
                }
                for (long left = size; left > 0;) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (n < 0) {
                        throw new EOFException("client chunk ended early");
                    }
                    out.write(buf, 0, n);
                    left -= n;
                }
                out.write((Head.readLine(in) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            }
        }
        String cl = req.get("Content-Length");
        if (cl != null) {
            long left = Long.parseLong(cl.trim());
            byte[] buf = new byte[64 * 1024];
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new EOFException("client body ended early");
                }
                out.write(buf, 0, n);
                left -= n;
            }
        }
    }

    private static String reason(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 429 -> "Too Many Requests";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            case 504 -> "Gateway Timeout";
            default -> "Status";
        };
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** A request or response head: start line and headers in order. */
    private static final class Head {
        final String startLine;
        final List<String[]> headers = new ArrayList<>();

        Head(String startLine) {
            this.startLine = startLine;
        }

        void add(String name, String value) {
            headers.add(new String[] {name, value});
        }

        String get(String name) {
            for (String[] h : headers) {
                if (h[0].equalsIgnoreCase(name)) {
                    return h[1];
                }
            }
            return null;
        }

        int status() {
            String[] parts = startLine.split(" ", 3);
            return Integer.parseInt(parts[1]);
        }

        void write(OutputStream out) throws IOException {
            StringBuilder sb = new StringBuilder(startLine).append("\r\n");
            for (String[] h : headers) {
                sb.append(h[0]).append(": ").append(h[1]).append("\r\n");
            }
            sb.append("\r\n");
            out.write(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
        }

        /** Reads a head; null at a clean end of stream before it. */
        static Head read(InputStream in) throws IOException {
            String start = readLine(in);
            while (start != null && start.isEmpty()) {
                start = readLine(in); // tolerate stray CRLF between messages
            }
            if (start == null) {
                return null;
            }
            Head h = new Head(start);
            for (int i = 0;; i++) {
                String line = readLine(in);
                if (line == null) {
                    throw new EOFException("end of stream in headers");
                }
                if (line.isEmpty()) {
                    return h;
                }
                if (i > 200) {
                    throw new IOException("too many headers");
                }
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    throw new IOException("malformed header line");
                }
                h.add(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
        }

        /** A CRLF- (or LF-) terminated line without its terminator; null at end of stream before any byte. */
        static String readLine(InputStream in) throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream(128);
            while (true) {
                int b;
                try {
                    b = in.read();
                } catch (SocketException e) {
                    if (line.size() == 0) {
                        return null;
                    }
                    throw e;
                }
                if (b < 0) {
                    if (line.size() == 0) {
                        return null;
                    }
                    throw new EOFException("end of stream in a line");
                }
                if (b == '\n') {
                    byte[] bytes = line.toByteArray();
                    int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                    return new String(bytes, 0, len, StandardCharsets.ISO_8859_1);
                }
                line.write(b);
                if (line.size() > 16 * 1024) {
                    throw new IOException("line too long");
                }
            }
        }
    }
}
