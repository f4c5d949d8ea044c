package dev.davit.mcp;

import dev.davit.oci.internal.Json;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The streamable HTTP endpoint's door (after {@link McpServe.Guard}): what the SDK's servlet (1.1) leaves out or
 * answers badly, done on the way in and out.
 * <ul>
 * <li>Every error is a JSON-RPC error object ({@code {"jsonrpc":"2.0","id":…,"error":{"code","message"}}}) with
 * a one-line message naming the cause and the fix, and the HTTP status the spec names: a request the SDK would
 * refuse is refused here first (wrong method 405, {@code Accept} 406, {@code Content-Type} 415, body too large 413,
 * not JSON 400 with -32700, a batch or not JSON-RPC 400 with -32600, no session 400, an unsupported
 * {@code MCP-Protocol-Version} 400, a second {@code initialize} 400); an error the SDK or the container still answers
 * (an unknown session: 404) has its body replaced, never a serialized Java exception.</li>
 * <li>A {@code tools/call} gets its session-qualified request id in {@code _meta}, an unknown tool is answered
 * naming it, {@code notifications/cancelled} cancels the call it names, and DELETE of a session (the client went
 * away) cancels that session's calls ({@link CancelTap#tag}, as over stdio).</li>
 * <li>SSE streams are resumable ({@link SseStreams}): event ids, a priming event (for clients of 2025-11-25), and
 * {@code GET} with {@code Last-Event-ID} replays what a dropped connection missed.</li>
 * </ul>
 */
final class HttpDoor implements Filter {
    /** JSON-RPC's implementation-defined server error: a request the transport refuses. */
    static final int REFUSED = -32000;
    private static final Set<String> METHODS = Set.of("GET", "POST", "DELETE");
    private static final String SESSION = "Mcp-Session-Id";
    private static final String VERSION = "MCP-Protocol-Version";
    private static final String EVENT_STREAM = "text/event-stream";
    private static final String JSON = "application/json";
    /** The first protocol version whose clients expect a priming event (SEP-1699). */
    private static final String PRIMING_SINCE = "2025-11-25";

    /**
     * The bytes of request bodies read and being handled at once, in all sessions: a body and what reading it makes
     * (its text, its JSON, the SDK's copy) take some 10 to 15 times its size of heap, so 20 MiB of bodies stay well
     * inside the server's 512 MiB however many clients send 16 MiB at once (eight of them ran it out of memory). A
     * body waits for room up to {@value #BODY_WAIT_SECONDS} s, then is refused (503, Retry-After).
     */
    static final int BODY_BUDGET = 20 << 20;
    private static final int BODY_WAIT_SECONDS = 30;

    private final DavitMcpServer server;
    private final SseStreams streams = new SseStreams(System::currentTimeMillis);
    private final java.util.concurrent.Semaphore bodies = new java.util.concurrent.Semaphore(BODY_BUDGET, true);

    HttpDoor(DavitMcpServer server) {
        this.server = server;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        HttpServletRequest req = (HttpServletRequest) request;
        HttpServletResponse res = (HttpServletResponse) response;
        Answer answer = new Answer(req, res);
        try {
            pass(req, res, answer, chain);
        } catch (IOException | ServletException | RuntimeException e) {
            server.log("an HTTP request failed: " + e);
            answer.error = HttpServletResponse.SC_INTERNAL_SERVER_ERROR;
        }
        answer.finish();
    }

    private void pass(HttpServletRequest req, HttpServletResponse res, Answer answer, FilterChain chain)
            throws IOException, ServletException {
        if (!req.getRequestURI().equals(McpServe.ENDPOINT)) { // whatever the method (the container says 405)
            closeIfUnread(req, res);
            error(res, HttpServletResponse.SC_NOT_FOUND, REFUSED, "nothing is served at " + req.getRequestURI()
                    + ": the MCP endpoint is " + McpServe.ENDPOINT);
            return;
        }
        String method = req.getMethod();
        if (!METHODS.contains(method)) {
            res.setHeader("Allow", "GET, POST, DELETE");
            closeIfUnread(req, res);
            error(res, HttpServletResponse.SC_METHOD_NOT_ALLOWED, REFUSED, notServed(method));
            return;
        }
        String version = req.getHeader(VERSION);
        if (version != null && !McpServe.PROTOCOL_VERSIONS.contains(version)) {
            closeIfUnread(req, res);
            error(res, HttpServletResponse.SC_BAD_REQUEST, REFUSED, "unsupported " + VERSION + " '" + version
                    + "': this server speaks " + String.join(", ", McpServe.PROTOCOL_VERSIONS) + "; send the version"
                    + " initialize agreed on");
            return;
        }
        String session = req.getHeader(SESSION);
        switch (method) {
            case "POST" -> post(req, res, answer, chain, session);
            case "GET" -> {
                if (!accepts(req, EVENT_STREAM)) {
                    error(res, HttpServletResponse.SC_NOT_ACCEPTABLE, REFUSED, "the Accept header must list "
                            + EVENT_STREAM + " to GET the event stream");
                } else if (session == null) {
                    noSession(res, null);
                } else if (req.getHeader("Last-Event-ID") != null) {
                    resume(req, res, session, req.getHeader("Last-Event-ID"));
                } else {
                    chain.doFilter(req, answer);
                }
            }
            default -> { // DELETE
                if (session == null) {
                    noSession(res, null);
                    return;
                }
                server.cancelSession(session);
                chain.doFilter(req, answer);
                if (answer.error == 0) {
                    streams.drop(session);
                }
            }
        }
    }

    private void post(HttpServletRequest req, HttpServletResponse res, Answer answer, FilterChain chain,
                      String session) throws IOException, ServletException {
        String type = req.getContentType();
        // refused before its body is read: the connection closes after the answer, and says so, so that no client
        // sends its next request on a connection the server is closing
        if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith(JSON)) {
            res.setHeader("Connection", "close");
            error(res, HttpServletResponse.SC_UNSUPPORTED_MEDIA_TYPE, REFUSED, "the Content-Type must be "
                    + JSON + " (got " + (type == null ? "none" : type) + "): POST one JSON-RPC message as JSON");
            return;
        }
        if (!accepts(req, JSON) || !accepts(req, EVENT_STREAM)) {
            res.setHeader("Connection", "close");
            error(res, HttpServletResponse.SC_NOT_ACCEPTABLE, REFUSED, "the Accept header must list both "
                    + JSON + " and " + EVENT_STREAM + " (the answer comes as either)");
            return;
        }
        long said = req.getContentLengthLong();
        if (said > CancelTap.MAX_LINE) { // a length said too large is refused before reading
            tooLarge(res);
            return;
        }
        // room for the body in the budget of all bodies at once: what it says, or the most it may be
        int held = (int) (said >= 0 ? Math.max(said, 1) : CancelTap.MAX_LINE + 1);
        try {
            if (!bodies.tryAcquire(held, BODY_WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
                res.setHeader("Retry-After", "5");
                res.setHeader("Connection", "close");
                error(res, HttpServletResponse.SC_SERVICE_UNAVAILABLE, REFUSED, "the server is reading as many"
                        + " large messages as it holds at once (" + (BODY_BUDGET >> 20) + " MiB); send this one"
                        + " again in a few seconds");
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to read a message", e);
        }
        try {
            // with no length said, reading stops one byte past the most a message may be
            byte[] raw = req.getInputStream().readNBytes(CancelTap.MAX_LINE + 1);
            if (raw.length > CancelTap.MAX_LINE) { // the client cannot fill our heap
                tooLarge(res);
                return;
            }
            if (said < 0) { // keep only what the body took
                bodies.release(held - Math.max(raw.length, 1));
                held = Math.max(raw.length, 1);
            }
            handle(req, res, answer, chain, session, raw);
        } finally {
            bodies.release(held);
        }
    }

    /**
     * A request refused with a body it may still be sending: the connection closes after the answer, and says so.
     * Jetty closes a connection whose body was not read when it has not all arrived; without the header a client
     * (the JDK's HttpClient did, in CI) sends its next request on it and gets no answer.
     */
    private static void closeIfUnread(HttpServletRequest req, HttpServletResponse res) {
        if (req.getContentLengthLong() > 0 || req.getHeader("Transfer-Encoding") != null) {
            res.setHeader("Connection", "close");
        }
    }

    private static void tooLarge(HttpServletResponse res) throws IOException {
        res.setHeader("Connection", "close"); // the rest of the body is never read
        error(res, HttpServletResponse.SC_REQUEST_ENTITY_TOO_LARGE, CancelTap.INVALID_REQUEST, "the message is"
                + " more than the " + (CancelTap.MAX_LINE >> 20) + " MiB this server reads; send less (a large file:"
                + " workspace_push from an --allow-path directory, or several smaller writes)");
    }

    /** A POST's body, read and within the budget: tagged, then answered here or handed to the SDK. */
    private void handle(HttpServletRequest req, HttpServletResponse res, Answer answer, FilterChain chain,
                        String session, byte[] raw) throws IOException, ServletException {
        // an empty body is no message (over stdio a blank line is skipped: here it would be answered 202)
        CancelTap.Tagged tagged = new String(raw, StandardCharsets.UTF_8).isBlank() ? CancelTap.notJson()
                : CancelTap.tag(raw, session, session != null, server.offered(), server::cancel);
        if (tagged.answer() != null) {
            write(res, tagged.malformed() ? HttpServletResponse.SC_BAD_REQUEST : HttpServletResponse.SC_OK,
                    tagged.answer());
            return;
        }
        if (session == null && !tagged.initializes()) {
            noSession(res, raw);
            return;
        }
        if (tagged.forward().length == 0) {
            res.setStatus(HttpServletResponse.SC_ACCEPTED); // a notification, handled
            return;
        }
        try {
            chain.doFilter(new Body(req, tagged.forward()), answer);
        } finally {
            answer.end();
        }
    }

    /** Replays the events after {@code lastEventId} of the stream that sent it, then goes on with the stream. */
    private void resume(HttpServletRequest req, HttpServletResponse res, String session, String lastEventId)
            throws IOException {
        long[] seq = new long[1];
        SseStreams.Stream s = streams.find(session, lastEventId, seq);
        if (s == null) {
            error(res, HttpServletResponse.SC_NOT_FOUND, REFUSED, "no events after Last-Event-ID '"
                    + lastEventId + "' are held for this session: a stream's events are kept "
                    + SseStreams.KEEP_MILLIS / 60_000 + " minutes after it ends (" + (SseStreams.MAX_CHARS >> 20)
                    + " MiB in all); send the request again");
            return;
        }
        res.setStatus(HttpServletResponse.SC_OK);
        res.setContentType(EVENT_STREAM);
        res.setCharacterEncoding("UTF-8");
        res.setHeader("Cache-Control", "no-cache");
        AsyncContext async = req.startAsync();
        async.setTimeout(0);
        s.resume(seq[0], res.getWriter(), async);
    }

    private static String notServed(String method) {
        return "the method " + method + " is not served at " + McpServe.ENDPOINT + ": POST a JSON-RPC message, GET the"
                + " event stream, DELETE the session";
    }

    private static boolean accepts(HttpServletRequest req, String type) {
        String accept = req.getHeader("Accept");
        return accept != null && accept.toLowerCase(java.util.Locale.ROOT).contains(type);
    }

    private static void noSession(HttpServletResponse res, byte[] raw) throws IOException {
        write(res, HttpServletResponse.SC_BAD_REQUEST, CancelTap.error(idOf(raw), REFUSED, "no " + SESSION
                + " header: send the session id the initialize answer gave (in its " + SESSION + " header), or POST"
                + " initialize first"));
    }

    /** Answers {@code status} with a JSON-RPC error ({@code id: null}). */
    static void error(HttpServletResponse res, int status, int code, String message) throws IOException {
        write(res, status, CancelTap.error(null, code, message));
    }

    private static void write(HttpServletResponse res, int status, byte[] body) throws IOException {
        res.setStatus(status);
        res.setContentType(JSON);
        res.setCharacterEncoding("UTF-8");
        res.setContentLength(body.length);
        res.getOutputStream().write(body);
    }

    /** The id of a message, for an error about it: null when it names none. */
    private static com.fasterxml.jackson.databind.JsonNode idOf(byte[] raw) {
        try {
            com.fasterxml.jackson.databind.JsonNode id = raw == null ? null : Json.read(raw).get("id");
            return id != null && (id.isTextual() || id.isIntegralNumber()) ? id : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * The response as the SDK's servlet (and the container behind the filter) sees it: an error status it sets or
     * sends is held, its body dropped, and {@link #finish} answers it as a JSON-RPC error; an SSE stream it writes
     * goes through {@link SseStreams}.
     */
    private final class Answer extends HttpServletResponseWrapper {
        private final HttpServletRequest req;
        private int error;
        private PrintWriter writer;
        private SseStreams.Stream stream;

        Answer(HttpServletRequest req, HttpServletResponse res) {
            super(res);
            this.req = req;
        }

        @Override
        public void setStatus(int sc) {
            if (sc >= 400) {
                error = sc;
            } else {
                super.setStatus(sc);
            }
        }

        @Override
        public void sendError(int sc) {
            error = sc;
        }

        @Override
        public void sendError(int sc, String msg) {
            error = sc;
        }

        @Override
        public PrintWriter getWriter() throws IOException {
            if (error != 0) {
                return new PrintWriter(Writer.nullWriter());
            }
            if (writer == null) {
                String type = getContentType();
                if (type != null && type.startsWith(EVENT_STREAM)) {
                    String version = req.getHeader(VERSION);
                    String agent = req.getHeader("User-Agent");
                    // the MCP Java SDK's client (1.1) fails a stream on a retry: line (an SSE field it does not
                    // know); it sends java.net.http's User-Agent
                    stream = streams.open(req.getHeader(SESSION), super.getWriter(),
                            version != null && version.compareTo(PRIMING_SINCE) >= 0,
                            agent == null || !agent.startsWith("Java-http-client/"));
                    writer = new PrintWriter(new SseStreams.Events(stream));
                } else {
                    writer = super.getWriter();
                }
            }
            return writer;
        }

        /** The request was answered (a POST's stream ends with its answer). */
        void end() {
            if (stream != null) {
                stream.end();
            }
        }

        /** Answers a held error status as a JSON-RPC error. */
        void finish() throws IOException {
            if (error == 0 || isCommitted()) {
                return;
            }
            String session = req.getHeader(SESSION);
            String message = switch (error) {
                case HttpServletResponse.SC_NOT_FOUND -> "unknown session '" + session + "' (it was deleted, or the"
                        + " server restarted): POST initialize without " + SESSION + " to start a new session";
                case HttpServletResponse.SC_BAD_REQUEST -> "the request is not one this server can read: POST one"
                        + " JSON-RPC 2.0 message (a JSON object), with " + SESSION + " after initialize";
                case HttpServletResponse.SC_METHOD_NOT_ALLOWED -> notServed(req.getMethod());
                case HttpServletResponse.SC_SERVICE_UNAVAILABLE -> "the server is shutting down: start it again and"
                        + " initialize a new session";
                default -> "the server failed to handle the request (HTTP " + error + "); its log (stderr) says why";
            };
            super.resetBuffer();
            error((HttpServletResponse) getResponse(), error, error == HttpServletResponse.SC_BAD_REQUEST
                    ? CancelTap.INVALID_REQUEST : REFUSED, message);
        }
    }

    /** A request with its body replaced. */
    private static final class Body extends HttpServletRequestWrapper {
        private final byte[] body;

        Body(HttpServletRequest req, byte[] body) {
            super(req);
            this.body = body;
        }

        @Override
        public int getContentLength() {
            return body.length;
        }

        @Override
        public long getContentLengthLong() {
            return body.length;
        }

        @Override
        public jakarta.servlet.ServletInputStream getInputStream() {
            java.io.ByteArrayInputStream in = new java.io.ByteArrayInputStream(body);
            return new jakarta.servlet.ServletInputStream() {
                @Override
                public boolean isFinished() {
                    return in.available() == 0;
                }

                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setReadListener(jakarta.servlet.ReadListener listener) {
                    throw new UnsupportedOperationException("a buffered body is read blocking");
                }

                @Override
                public int read() {
                    return in.read();
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    return in.read(b, off, len);
                }
            };
        }

        @Override
        public java.io.BufferedReader getReader() {
            return new java.io.BufferedReader(new java.io.InputStreamReader(getInputStream(),
                    StandardCharsets.UTF_8));
        }
    }

    /**
     * The container's own errors (a request it cannot parse, before any filter): a JSON-RPC error too, with the
     * status and never a stack.
     */
    static final class JsonErrors extends ErrorHandler {
        @Override
        protected void generateResponse(Request request, Response response, int code, String message,
                                        Throwable cause, Callback callback) {
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, JSON);
            response.write(true, ByteBuffer.wrap(body(code)), callback);
        }

        @Override
        public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
            fields.put(HttpHeader.CONTENT_TYPE, JSON);
            return ByteBuffer.wrap(body(status));
        }

        private static byte[] body(int code) {
            return CancelTap.error(null, REFUSED, "the server cannot take this HTTP request (" + code + " "
                    + HttpStatus.getMessage(code) + "): send a well-formed HTTP/1.1 request to " + McpServe.ENDPOINT);
        }
    }
}
