package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code davit mcp serve --http} driven by hand with java.net.http and raw sockets, as a careless or hostile client
 * would: every error is a JSON-RPC error object with the right status and a one-line message (never a serialized
 * Java exception), an unsupported protocol version, a second initialize and an unknown tool are refused in words,
 * and a tool call whose SSE stream drops mid-call is resumed with {@code Last-Event-ID} and delivers its result.
 */
class McpHttpDoorTest extends BusyboxRegistryTest {
    private static final String TOKEN = "0123456789abcdef0123456789abcdef";
    private static final String BOTH = "application/json, text/event-stream";
    private static final String INIT = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
            + "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"raw\","
            + "\"version\":\"1\"}}}";

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private Process server;
    private URI endpoint;
    private int port;

    @AfterEach
    void stop() throws InterruptedException {
        if (server != null) {
            server.destroy();
            server.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** The server, with {@code jvmOptions} (the launcher's {@code -Xmx512m} for an MCP server, say). */
    private void start(String... jvmOptions) throws IOException {
        Path token = Files.writeString(home.resolve("token"), TOKEN + "\n");
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.davit.cli.Main", "mcp", "serve", "--tools", "full",
                "--allow-registry", registry.hostPort(), "--http", "127.0.0.1:0", "--token-file", token.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("DAVIT_HOME", home.toString());
        server = pb.start();
        BufferedReader lines = new BufferedReader(new InputStreamReader(server.getInputStream(),
                StandardCharsets.UTF_8));
        Pattern started = Pattern.compile("MCP server on (http://127\\.0\\.0\\.1:(\\d+)/mcp)");
        StringBuilder log = new StringBuilder();
        for (String line; endpoint == null && (line = lines.readLine()) != null; ) {
            log.append(line).append('\n');
            Matcher m = started.matcher(line);
            if (m.find()) {
                endpoint = URI.create(m.group(1));
                port = Integer.parseInt(m.group(2));
            }
        }
        assertThat(endpoint).as(log.toString()).isNotNull();
        Thread drain = new Thread(() -> lines.lines().forEach(l -> { }));
        drain.setDaemon(true);
        drain.start();
    }

    private HttpRequest.Builder request(String session, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(endpoint).header("Authorization", "Bearer " + TOKEN)
                .header("User-Agent", "davit-test");
        if (session != null) {
            b.header("Mcp-Session-Id", session);
        }
        if (headers.length > 0) {
            b.headers(headers);
        }
        return b;
    }

    private HttpResponse<String> post(String session, String body, String... headers) throws Exception {
        List<String> h = new ArrayList<>(List.of("Content-Type", "application/json", "Accept", BOTH));
        for (int i = 0; i < headers.length; i += 2) { // a header given replaces the default
            int at = h.indexOf(headers[i]);
            if (at >= 0) {
                h.set(at + 1, headers[i + 1]);
            } else {
                h.addAll(List.of(headers[i], headers[i + 1]));
            }
        }
        return http.send(request(session, h.toArray(String[]::new))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> send(String method, String session, String... headers) throws Exception {
        return http.send(request(session, headers).method(method, HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A new session's id (initialized). */
    private String session() throws Exception {
        HttpResponse<String> init = post(null, INIT);
        assertThat(init.statusCode()).as(init.body()).isEqualTo(200);
        String session = init.headers().firstValue("Mcp-Session-Id").orElseThrow();
        assertThat(post(session, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}").statusCode())
                .isEqualTo(202);
        return session;
    }

    /**
     * The JSON-RPC error of a response of {@code status}: a JSON-RPC 2.0 error object (with an id, an integer code
     * and a one-line message) and nothing of Java in it.
     */
    private static JsonNode rpcError(int status, int code, String body, String contentType, int actual)
            throws IOException {
        assertThat(actual).as(body).isEqualTo(status);
        assertThat(contentType).as(body).startsWith("application/json");
        assertThat(body).doesNotContain("stackTrace", "Exception", "Error:", ".java", "org.eclipse",
                "io.modelcontextprotocol", "dev.davit", "jdk", "<html");
        JsonNode n = Json.read(body);
        assertThat(n.get("jsonrpc").asText()).as(body).isEqualTo("2.0");
        assertThat(n.has("id")).as(body).isTrue();
        assertThat(n.has("result")).as(body).isFalse();
        assertThat(n.at("/error/code").isInt()).as(body).isTrue();
        assertThat(n.at("/error/code").asInt()).as(body).isEqualTo(code);
        assertThat(n.at("/error/message").asText()).as(body).isNotBlank().doesNotContain("\n");
        assertThat(n.get("error").size()).as(body).isEqualTo(2); // code and message: no data
        return n;
    }

    private static String rpcError(HttpResponse<String> r, int status, int code) throws IOException {
        return rpcError(status, code, r.body(), r.headers().firstValue("Content-Type").orElse(""), r.statusCode())
                .at("/error/message").asText();
    }

    /** A raw HTTP/1.1 exchange: the status and body of the answer to {@code head} (ending with a blank line). */
    private String[] raw(String head) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write(head.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String status = all.substring(9, 12);
            Matcher type = Pattern.compile("(?im)^content-type: *(\\S+)").matcher(all);
            String body = all.substring(all.indexOf("\r\n\r\n") + 4);
            if (all.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
                body = body.substring(body.indexOf("\r\n") + 2, body.lastIndexOf("\r\n0\r\n"));
            }
            return new String[] {status, type.find() ? type.group(1) : "", body};
        }
    }

    @Test
    void everyErrorIsAJsonRpcErrorWithItsStatusAndNoJava() throws Exception {
        start();
        String session = session();
        String list = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}";
        assertThat(rpcError(post("nosuchsession", list), 404, -32000)).isEqualTo("unknown session 'nosuchsession'"
                + " (it was deleted, or the server restarted): POST initialize without Mcp-Session-Id to start a new"
                + " session");
        assertThat(rpcError(send("GET", "nosuchsession", "Accept", "text/event-stream"), 404, -32000))
                .startsWith("unknown session 'nosuchsession'");
        assertThat(rpcError(send("DELETE", "nosuchsession"), 404, -32000)).startsWith("unknown session");
        assertThat(rpcError(post(null, list), 400, -32000)).isEqualTo("no Mcp-Session-Id header: send the session id"
                + " the initialize answer gave (in its Mcp-Session-Id header), or POST initialize first");
        assertThat(Json.read(post(null, list).body()).get("id").asInt()).isEqualTo(7);
        assertThat(rpcError(send("GET", null, "Accept", "text/event-stream"), 400, -32000)).startsWith("no"
                + " Mcp-Session-Id header");
        assertThat(rpcError(post(session, list, "Accept", "application/json"), 406, -32000)).isEqualTo("the Accept"
                + " header must list both application/json and text/event-stream (the answer comes as either)");
        assertThat(rpcError(post(null, INIT, "Accept", "text/event-stream"), 406, -32000)).contains("Accept");
        assertThat(rpcError(send("GET", session, "Accept", "application/json"), 406, -32000)).isEqualTo("the"
                + " Accept header must list text/event-stream to GET the event stream");
        assertThat(rpcError(post(session, "{not json"), 400, -32700)).startsWith("Parse error: the message is not"
                + " JSON");
        assertThat(Json.read(post(session, "{not json").body()).get("id").isNull()).isTrue();
        assertThat(rpcError(post(session, ""), 400, -32700)).startsWith("Parse error: the message is not JSON");
        assertThat(rpcError(post(session, "[" + list + "]"), 400, -32600)).isEqualTo("JSON-RPC batches are not"
                + " supported (MCP 2025-06-18 removed them): send each message on its own");
        assertThat(rpcError(post(session, "{\"id\":3,\"x\":1}"), 400, -32600)).startsWith("Invalid Request: not a"
                + " JSON-RPC 2.0 message");
        assertThat(rpcError(post(session, list, "Content-Type", "text/plain"), 415, -32000)).isEqualTo("the"
                + " Content-Type must be application/json (got text/plain): POST one JSON-RPC message as JSON");
        HttpResponse<String> put = send("PUT", session);
        assertThat(rpcError(put, 405, -32000)).isEqualTo("the method PUT is not served at /mcp: POST a JSON-RPC"
                + " message, GET the event stream, DELETE the session");
        assertThat(put.headers().firstValue("Allow")).hasValue("GET, POST, DELETE");
        HttpResponse<String> elsewhere = http.send(HttpRequest.newBuilder(endpoint.resolve("/other"))
                .header("Authorization", "Bearer " + TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(rpcError(elsewhere, 404, -32000)).isEqualTo("nothing is served at /other: the MCP endpoint is"
                + " /mcp");
        for (String path : List.of("/other", "/mcp/")) { // whatever the method
            HttpResponse<String> posted = http.send(HttpRequest.newBuilder(endpoint.resolve(path))
                    .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
                    .header("Accept", BOTH).POST(HttpRequest.BodyPublishers.ofString(list)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(rpcError(posted, 404, -32000)).isEqualTo("nothing is served at " + path + ": the MCP"
                    + " endpoint is /mcp");
            // its body is not read: the connection closes, and says so (else the client's next request on it
            // got no answer, now and then in CI)
            assertThat(posted.headers().firstValue("Connection")).hasValue("close");
        }
        // params the SDK cannot read: answered in words (the SDK 1.1 answered no tools/call without params at all,
        // and a setLevel without a level with a Java exception's message)
        assertThat(rpcError(post(session, "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\"}"), 200,
                -32602)).startsWith("tools/call needs params: an object with the tool's 'name'");
        assertThat(rpcError(post(session, "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"logging/setLevel\","
                + "\"params\":{}}"), 200, -32602)).startsWith("logging/setLevel needs params.level, one of debug");
        HttpResponse<String> noToken = http.send(HttpRequest.newBuilder(endpoint).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(rpcError(noToken, 401, -32001)).startsWith("missing or wrong bearer token");
        // a body longer than the server reads, refused before it is read
        String[] large = raw("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN
                + "\r\nMcp-Session-Id: " + session + "\r\nContent-Type: application/json\r\nAccept: " + BOTH
                + "\r\nContent-Length: 20000000\r\nConnection: close\r\n\r\n");
        assertThat(rpcError(Integer.parseInt(large[0]), -32600, large[2], large[1], 413).at("/error/message")
                .asText()).startsWith("the message is more than the 16 MiB this server reads");
        // HTTP the container cannot parse, answered before any filter
        String[] bad = raw("GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\nConnection: close\r\n\r\n");
        assertThat(rpcError(Integer.parseInt(bad[0]), -32000, bad[2], bad[1], 400).at("/error/message").asText())
                .startsWith("the server cannot take this HTTP request (400 ");
        // the session still works
        HttpResponse<String> ok = post(session, list);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.headers().firstValue("Server")).isEmpty(); // no server version either
        assertThat(ok.body()).contains("\"workspace_create\"");
    }

    /**
     * Many clients sending large messages at once (each under the 16 MiB a message may be) are read within one
     * budget of bodies: with the launcher's 512 MiB heap, eight 15 MiB pings at once ran the server out of memory
     * (500s, OutOfMemoryError on any thread); now each is answered, in turn.
     */
    @Test
    void largeMessagesAtOnceAreReadWithinOneBudget() throws Exception {
        start("-Xmx512m");
        String session = session();
        String big = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"params\":{\"pad\":\""
                + "x".repeat(15 << 20) + "\"}}";
        List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            List<String> h = List.of("Content-Type", "application/json", "Accept", BOTH);
            sent.add(http.sendAsync(request(session, h.toArray(String[]::new))
                    .POST(HttpRequest.BodyPublishers.ofString(big)).build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (var f : sent) {
            HttpResponse<String> r = f.get(5, TimeUnit.MINUTES);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).contains("\"id\":7").contains("\"result\"");
        }
        assertThat(server.isAlive()).isTrue();
        assertThat(post(session, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}").statusCode())
                .isEqualTo(200);
    }

    @Test
    void anUnsupportedVersionASecondInitializeAndAnUnknownToolAreRefusedInWords() throws Exception {
        start();
        String session = session();
        String list = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}";
        assertThat(rpcError(post(session, list, "MCP-Protocol-Version", "1999-01-01"), 400, -32000)).isEqualTo(
                "unsupported MCP-Protocol-Version '1999-01-01': this server speaks 2024-11-05, 2025-03-26,"
                        + " 2025-06-18, 2025-11-25; send the version initialize agreed on");
        assertThat(post(session, list, "MCP-Protocol-Version", "2025-06-18").statusCode()).isEqualTo(200);
        HttpResponse<String> again = post(session, INIT.replace("\"id\":1", "\"id\":3"));
        assertThat(rpcError(again, 400, -32600)).isEqualTo("this session is already initialized: send initialize"
                + " once per session (over HTTP, a new session is an initialize without Mcp-Session-Id)");
        assertThat(Json.read(again.body()).get("id").asInt()).isEqualTo(3);
        assertThat(again.headers().firstValue("Mcp-Session-Id")).isEmpty();
        HttpResponse<String> unknown = post(session, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\","
                + "\"params\":{\"name\":\"invalid_tool_name\",\"arguments\":{}}}");
        assertThat(rpcError(unknown, 200, -32602)).isEqualTo("unknown tool 'invalid_tool_name': call tools/list"
                + " for the tools this server offers");
        assertThat(Json.read(unknown.body()).get("id").asInt()).isEqualTo(4);
    }

    /** The SSE events of {@code in} up to and with the one whose data answers {@code id} (id, retry, data). */
    private static List<String[]> events(InputStream in, int id) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        List<String[]> events = new ArrayList<>();
        String[] e = {null, null, null};
        for (String line; (line = r.readLine()) != null; ) {
            if (line.isEmpty()) {
                events.add(e);
                if (e[2] != null && !e[2].isEmpty() && Json.read(e[2]).path("id").asInt(-1) == id) {
                    return events;
                }
                e = new String[] {null, null, null};
            } else if (line.startsWith("id:")) {
                e[0] = line.substring(3).strip();
            } else if (line.startsWith("retry:")) {
                e[1] = line.substring(6).strip();
            } else if (line.startsWith("data:")) {
                e[2] = line.substring(5).strip();
            }
        }
        return events;
    }

    @Test
    void aToolCallWhoseStreamDropsIsResumedWithLastEventIdAndDeliversItsResult() throws Exception {
        start();
        String session = session();
        String call = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"run\","
                + "\"arguments\":{\"environment\":\"" + image + "\",\"command\":[\"sh\",\"-c\",\"sleep 2; echo done\"]}}}";
        HttpResponse<InputStream> stream = http.send(request(session, "Content-Type", "application/json", "Accept",
                BOTH, "MCP-Protocol-Version", "2025-11-25").POST(HttpRequest.BodyPublishers.ofString(call)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(stream.statusCode()).isEqualTo(200);
        assertThat(stream.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        // the priming event: an id, retry and empty data, before anything else
        BufferedReader r = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
        List<String> priming = new ArrayList<>();
        for (String line; (line = r.readLine()) != null && !line.isEmpty(); ) {
            priming.add(line);
        }
        assertThat(priming).hasSize(3);
        assertThat(priming.get(0)).matches("id: [0-9a-z]+-0");
        assertThat(priming.get(1)).isEqualTo("retry: 1000");
        assertThat(priming.get(2)).isEqualTo("data:");
        String lastEventId = priming.get(0).substring(4);
        stream.body().close(); // the connection drops mid-call
        HttpResponse<InputStream> resumed = http.send(request(session, "Accept", "text/event-stream",
                "Last-Event-ID", lastEventId, "MCP-Protocol-Version", "2025-11-25").GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(resumed.statusCode()).isEqualTo(200);
        List<String[]> events = events(resumed.body(), 5);
        String[] last = events.get(events.size() - 1);
        JsonNode answer = Json.read(last[2]);
        assertThat(answer.at("/result/structuredContent/stdout").asText()).as(last[2]).isEqualTo("done\n");
        String stream0 = lastEventId.substring(0, lastEventId.length() - 1);
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i)[0]).isEqualTo(stream0 + (i + 1));
        }
        // the ended stream is replayed again from any of its events
        HttpResponse<String> again = http.send(request(session, "Accept", "text/event-stream", "Last-Event-ID",
                lastEventId).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(again.body()).contains("\"stdout\":\"done\\n\"");
        // another session cannot read it, and an id never sent is refused in words
        String other = session();
        assertThat(rpcError(send("GET", other, "Accept", "text/event-stream", "Last-Event-ID", lastEventId), 404,
                -32000)).isEqualTo("no events after Last-Event-ID '" + lastEventId + "' are held for this session:"
                + " a stream's events are kept 5 minutes after it ends (32 MiB in all); send the request again");
        assertThat(rpcError(send("GET", session, "Accept", "text/event-stream", "Last-Event-ID", "zz-1"), 404,
                -32000)).startsWith("no events after Last-Event-ID 'zz-1'");
    }
}
