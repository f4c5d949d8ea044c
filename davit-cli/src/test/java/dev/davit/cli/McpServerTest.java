package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code davit mcp serve} over stdio, driven by the MCP Java SDK's client: the server is this build's code in its
 * own JVM, the tools run real container sandboxes over a busybox image pulled from a real registry.
 */
class McpServerTest {
    static TestRegistry registry;
    static String image;
    static McpAsyncClient client;

    @TempDir
    static Path shared;

    @BeforeAll
    static void up() throws IOException {
        Tools.assumeAvailable("bwrap", "busybox", Tools.REGISTRY);
        registry = TestRegistry.start();
        image = BusyboxImage.push(shared, registry);
        Path home = shared.resolve("home");
        Path allowed = Files.createDirectories(shared.resolve("allowed/project"));
        Files.writeString(allowed.resolve("a.txt"), "alpha\n");
        Files.createSymbolicLink(shared.resolve("allowed/escape"), shared.resolve("src"));
        ServerParameters params = serverParams(home);
        // the async client: its calls are sent from the calling thread (the stdio client transport refuses two
        // threads sending at once), and several can be in flight
        client = McpClient.async(new StdioClientTransport(params, new JacksonMcpJsonMapper(Json.mapper())))
                .requestTimeout(Duration.ofMinutes(3)).build();
        client.initialize().block();
    }

    /** {@code davit mcp serve --tools full} of this build, with the test's --allow-path, on {@code home}. */
    static ServerParameters serverParams(Path home, String... more) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> args = new java.util.ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.davit.cli.Main", "mcp", "serve", "--tools", "full", "--allow-path",
                shared.resolve("allowed").toString(), "--max-workspaces", "1", "--allow-registry",
                registry.hostPort()));
        args.addAll(List.of(more));
        return ServerParameters.builder(java).args(args)
                .env(Map.of("DAVIT_HOME", home.toString(), "PATH", System.getenv("PATH"))).build();
    }

    @AfterAll
    static void down() {
        if (client != null) {
            client.closeGracefully().block();
        }
        if (registry != null) {
            registry.close();
        }
    }

    private static McpSchema.CallToolResult call(String tool, Map<String, Object> args) {
        return client.callTool(new McpSchema.CallToolRequest(tool, args)).block();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> ok(String tool, Map<String, Object> args) {
        McpSchema.CallToolResult r = call(tool, args);
        assertThat(r.isError()).as(tool + ": " + r).isFalse();
        return (Map<String, Object>) r.structuredContent();
    }

    /** The {@code error} of a call that failed as a result (isError), not as a protocol error. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> failed(String tool, Map<String, Object> args) {
        McpSchema.CallToolResult r = call(tool, args);
        assertThat(r.isError()).as(tool + ": " + r).isTrue();
        return (Map<String, Object>) ((Map<String, Object>) r.structuredContent()).get("error");
    }

    private static String invalid(String tool, Map<String, Object> args) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> call(tool, args));
        assertThat(t).as(tool).isInstanceOf(McpError.class);
        assertThat(((McpError) t).getJsonRpcError().code()).isEqualTo(McpSchema.ErrorCodes.INVALID_PARAMS);
        return t.getMessage();
    }

    @Test
    @SuppressWarnings("unchecked")
    void listsEveryToolWithSchemas() {
        List<McpSchema.Tool> tools = client.listTools().block().tools();
        assertThat(tools).extracting(McpSchema.Tool::name).containsExactlyInAnyOrder("run", "environment_list", "environment_pull",
                "environment_inspect", "environment_prune", "reap", "workspace_create", "workspace_exec", "workspace_exec_output",
                "workspace_exec_wait", "workspace_exec_kill", "workspace_list",
                "workspace_status", "workspace_stop", "workspace_start", "workspace_remove", "workspace_file_list",
                "workspace_file_read", "workspace_file_write", "workspace_diff", "workspace_snapshot_create",
                "workspace_snapshot_list", "workspace_snapshot_remove", "workspace_reset", "workspace_logs",
                "workspace_push", "workspace_export", "workspace_patch", "workspace_service_start",
                "workspace_service_list", "workspace_service_logs", "workspace_service_stop", "workspace_shell_open",
                "workspace_shell_write", "workspace_shell_read", "workspace_shell_signal", "workspace_shell_close",
                "workspace_update", "workspace_disk_list", "workspace_disk_read", "workspace_disk_export",
                "workspace_network", "workspace_network_log", "workspace_fork", "workspace_pause",
                "workspace_resume", "workspace_commit", "workspace_snapshot_push", "workspace_file_edit");
        assertThat(tools).hasSize(49);
        for (McpSchema.Tool t : tools) {
            assertThat(t.inputSchema().type()).isEqualTo("object");
            assertThat(t.outputSchema()).as(t.name()).containsEntry("type", "object");
            assertThat(t.description()).as(t.name()).hasSizeGreaterThan(30);
        }
        McpSchema.Tool exec = tools.stream().filter(t -> t.name().equals("workspace_exec")).findFirst().orElseThrow();
        assertThat(exec.inputSchema().required()).containsExactly("workspace", "command");
        // the hints say what a call can do: a command, a patch or a stop can destroy work in the workspace
        Map<String, McpSchema.ToolAnnotations> hints = new java.util.HashMap<>();
        tools.forEach(t -> hints.put(t.name(), t.annotations()));
        for (String destructive : List.of("workspace_exec", "workspace_patch", "workspace_file_edit", "workspace_stop",
                "workspace_remove",
                "workspace_reset", "workspace_service_start", "workspace_shell_write", "workspace_shell_signal")) {
            assertThat(hints.get(destructive).destructiveHint()).as(destructive).isTrue();
            assertThat(hints.get(destructive).readOnlyHint()).as(destructive).isFalse();
        }
        assertThat(hints.get("workspace_stop").idempotentHint()).isTrue();
        assertThat(hints.get("workspace_exec").idempotentHint()).isFalse();
        assertThat(hints.get("workspace_patch").idempotentHint()).isFalse();
        for (String reads : List.of("workspace_file_read", "workspace_diff", "workspace_list", "environment_list")) {
            assertThat(hints.get(reads).readOnlyHint()).as(reads).isTrue();
            assertThat(hints.get(reads).destructiveHint()).as(reads).isFalse();
        }
        McpSchema.Tool patch = tools.stream().filter(t -> t.name().equals("workspace_patch")).findFirst().orElseThrow();
        assertThat(patch.inputSchema().required()).containsExactly("workspace", "patch");
        McpSchema.Tool signal = tools.stream().filter(t -> t.name().equals("workspace_shell_signal")).findFirst()
                .orElseThrow();
        assertThat((Map<String, Object>) signal.inputSchema().properties().get("signal")).containsEntry("enum",
                List.of("INT", "TERM", "KILL", "HUP", "QUIT", "USR1", "USR2"));
        McpSchema.Tool open = tools.stream().filter(t -> t.name().equals("workspace_shell_open")).findFirst()
                .orElseThrow();
        assertThat(open.inputSchema().properties()).containsKey("command").doesNotContainKey("cmd");
        McpSchema.Tool read = tools.stream().filter(t -> t.name().equals("workspace_shell_read")).findFirst()
                .orElseThrow();
        assertThat(read.inputSchema().properties()).containsKeys("wait_ms", "quiet_ms", "until", "max_bytes", "raw");
        assertThat((Map<String, Object>) read.outputSchema().get("properties")).containsKeys("output",
                "output_base64", "truncated", "state");
    }

    /** The example pattern in the description of workspace_shell_read's {@code until}: {@code e.g. "..."}. */
    @SuppressWarnings("unchecked")
    private static String untilExample() {
        McpSchema.Tool read = client.listTools().block().tools().stream()
                .filter(t -> t.name().equals("workspace_shell_read")).findFirst().orElseThrow();
        String d = (String) ((Map<String, Object>) read.inputSchema().properties().get("until")).get("description");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("e\\.g\\. \"([^\"]+)\"").matcher(d);
        assertThat(m.find()).as(d).isTrue();
        return m.group(1);
    }

    @Test
    @SuppressWarnings("unchecked")
    void diskToolsReadAStoppedWorkspaceWithoutStartingIt() throws Exception {
        String id = (String) ok("workspace_create", Map.of("environment", image)).get("id");
        try {
            ok("workspace_file_write", Map.of("workspace", id, "path", "d/a.txt", "content", "offline\n"));
            assertThat(invalid("workspace_disk_list", Map.of("workspace", id))).contains("is running",
                    "workspace_file_list");
            ok("workspace_stop", Map.of("workspace", id));
            assertThat((List<Map<String, Object>>) ok("workspace_disk_list", Map.of("workspace", id, "recursive",
                    true)).get("files")).extracting(f -> f.get("path")).contains("d", "d/a.txt");
            assertThat(ok("workspace_disk_read", Map.of("workspace", id, "path", "d/a.txt")))
                    .containsEntry("content", "offline\n").containsEntry("truncated", false);
            Path out = shared.resolve("allowed/disk-out");
            assertThat(ok("workspace_disk_export", Map.of("workspace", id, "host_dest", out.toString(), "path", "d")))
                    .containsEntry("dest", out.toString());
            assertThat(Files.readString(out.resolve("a.txt"))).isEqualTo("offline\n");
            assertThat(invalid("workspace_disk_export", Map.of("workspace", id, "host_dest",
                    shared.resolve("outside-disk").toString()))).contains("outside the allowed");
            assertThat(shared.resolve("outside-disk")).doesNotExist();
            assertThat(ok("workspace_status", Map.of("workspace", id))).containsEntry("status", "stopped");
        } finally {
            ok("workspace_remove", Map.of("workspace", id));
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void pushExportPatchServicesAndShells() throws Exception {
        String id = (String) ok("workspace_create", Map.of("environment", image)).get("id");
        try {
            Path project = shared.resolve("allowed/project");
            assertThat(ok("workspace_push", Map.of("workspace", id, "host_path", project.toString(), "dest", "in")))
                    .containsEntry("path", "in");
            assertThat(invalid("workspace_push", Map.of("workspace", id, "host_path", "/etc/hostname")))
                    .contains("outside the allowed");
            assertThat(invalid("workspace_push", Map.of("workspace", id, "host_path",
                    shared.resolve("allowed/../src").toString()))).contains("outside the allowed");

            String patch = "--- a/in/a.txt\n+++ b/in/a.txt\n@@ -1 +1,2 @@\n-alpha\n+alpha2\n+beta\n";
            assertThat((List<Map<String, Object>>) ok("workspace_patch", Map.of("workspace", id, "patch", patch))
                    .get("changes")).extracting(c -> c.get("path")).containsExactly("in/a.txt");
            Map<String, Object> conflict = failed("workspace_patch", Map.of("workspace", id, "patch", patch));
            assertThat(conflict).containsEntry("kind", "state"); // all or nothing: a result the model reads
            assertThat((String) conflict.get("message")).contains("does not apply: hunk 1 of in/a.txt");
            assertThat(invalid("workspace_patch", Map.of("workspace", id))).contains("missing argument 'patch'");

            Path out = shared.resolve("allowed/out");
            assertThat(ok("workspace_export", Map.of("workspace", id, "host_dest", out.toString(), "path", "in")))
                    .containsEntry("dest", out.toString());
            assertThat(Files.readString(out.resolve("a.txt"))).isEqualTo("alpha2\nbeta\n");
            assertThat(invalid("workspace_export", Map.of("workspace", id, "host_dest",
                    shared.resolve("outside").toString()))).contains("outside the allowed");
            assertThat(invalid("workspace_export", Map.of("workspace", id, "host_dest",
                    shared.resolve("allowed/escape/x").toString()))).contains("outside the allowed");
            assertThat(invalid("workspace_export", Map.of("workspace", id, "host_dest",
                    shared.resolve("allowed/../y").toString()))).contains("outside the allowed");
            assertThat(shared.resolve("outside")).doesNotExist();
            assertThat(shared.resolve("y")).doesNotExist();

            Map<String, Object> web = ok("workspace_service_start", Map.of("workspace", id, "name", "web",
                    "ready_port", 8000, "command", List.of("busybox", "httpd", "-f", "-p", "8000", "-h",
                            "/workspace/in")));
            assertThat(web).containsEntry("state", "running").containsEntry("ready", true);
            assertThat(ok("workspace_exec", Map.of("workspace", id, "command", List.of("busybox", "wget", "-qO-",
                    "http://127.0.0.1:8000/a.txt")))).containsEntry("stdout", "alpha2\nbeta\n");
            assertThat((List<Map<String, Object>>) ok("workspace_service_list", Map.of("workspace", id))
                    .get("services")).extracting(x -> x.get("name")).containsExactly("web");
            assertThat(ok("workspace_service_logs", Map.of("workspace", id, "name", "web"))).containsKey("output")
                    .containsEntry("dropped_bytes", 0).containsEntry("line_cut", false);
            assertThat(ok("workspace_service_stop", Map.of("workspace", id, "name", "web")))
                    .containsEntry("state", "stopped");
            // 'tail' past an int is all the lines, not what is left of it cut to an int (2^32 + 1: one line)
            ok("workspace_service_start", Map.of("workspace", id, "name", "lines", "ready_file", "lines.ready",
                    "command", List.of("sh", "-c", "echo one; echo two; echo three; touch lines.ready; sleep 60")));
            assertThat(ok("workspace_service_logs", Map.of("workspace", id, "name", "lines", "tail", (1L << 32) + 1)))
                    .containsEntry("output", "one\ntwo\nthree\n");
            assertThat(ok("workspace_service_logs", Map.of("workspace", id, "name", "lines", "tail", 1)))
                    .containsEntry("output", "three\n");
            ok("workspace_service_stop", Map.of("workspace", id, "name", "lines"));

            String sh = (String) ok("workspace_shell_open", Map.of("workspace", id)).get("id");
            // one write, one read: the echo, the output and the next prompt, as text
            // the pattern the tool's description gives as an example matches the image's root prompt
            assertThat(ok("workspace_shell_read", Map.of("workspace", id, "shell", sh, "wait_ms", 30000, "until",
                    untilExample()))).containsEntry("matched", true).containsEntry("timed_out", false);
            assertThat(ok("workspace_shell_read", Map.of("workspace", id, "shell", sh, "wait_ms", 300, "until",
                    "never-shown"))).containsEntry("matched", false).containsEntry("timed_out", true);
            ok("workspace_shell_write", Map.of("workspace", id, "shell", sh, "data", "echo hi-$((1+1))\n"));
            Map<String, Object> hi = ok("workspace_shell_read", Map.of("workspace", id, "shell", sh, "wait_ms",
                    30000, "quiet_ms", 2000));
            assertThat((String) hi.get("output")).isEqualTo("echo hi-$((1+1))\nhi-2\n/workspace # ");
            assertThat(hi).containsEntry("truncated", false).containsEntry("output_base64", null)
                    .containsEntry("state", "running");
            ok("workspace_shell_write", Map.of("workspace", id, "shell", sh, "data", "printf '\\377x'\n"));
            Map<String, Object> raw = ok("workspace_shell_read", Map.of("workspace", id, "shell", sh, "wait_ms",
                    30000, "until", "# ", "raw", true, "max_bytes", 4096));
            assertThat(raw).containsEntry("output", null);
            assertThat(new String(java.util.Base64.getDecoder().decode((String) raw.get("output_base64")),
                    java.nio.charset.StandardCharsets.ISO_8859_1)).contains("\u00ffx/workspace # ");
            assertThat(invalid("workspace_shell_signal", Map.of("workspace", id, "shell", sh, "signal", "STOP")))
                    .contains("must be one of INT, TERM, KILL");
            assertThat(invalid("workspace_shell_read", Map.of("workspace", id, "shell", sh, "until", "(")))
                    .contains("not a regular expression");
            ok("workspace_shell_write", Map.of("workspace", id, "shell", sh, "data",
                    "read x; echo \"got-$x\"\n"));
            assertThat(ok("workspace_shell_write", Map.of("workspace", id, "shell", sh, "data", "-a\\b\n")))
                    .containsEntry("bytes", 5);
            StringBuilder seen = new StringBuilder();
            for (int i = 0; i < 20 && !seen.toString().contains("got--ab"); i++) {
                seen.append(ok("workspace_shell_read", Map.of("workspace", id, "shell", sh, "wait_ms", 1000))
                        .get("output"));
            }
            assertThat(seen.toString()).contains("got--ab"); // read without -r eats the backslash
            ok("workspace_shell_write", Map.of("workspace", id, "shell", sh, "data", "sleep 600\n"));
            assertThat(ok("workspace_shell_signal", Map.of("workspace", id, "shell", sh, "signal", "INT")))
                    .containsEntry("signal", "INT");
            assertThat(ok("workspace_shell_close", Map.of("workspace", id, "shell", sh))).containsEntry("removed",
                    true);
            // a program instead of sh, given as an array
            String py = (String) ok("workspace_shell_open", Map.of("workspace", id, "command", List.of("sh", "-c",
                    "printf 'a\\033[31mb'; sleep 600"))).get("id");
            assertThat(ok("workspace_shell_read", Map.of("workspace", id, "shell", py, "wait_ms", 30000, "until",
                    "b"))).containsEntry("output", "ab");
            ok("workspace_shell_close", Map.of("workspace", id, "shell", py));
        } finally {
            ok("workspace_remove", Map.of("workspace", id));
        }
    }

    /** A client of a server of its own (home {@code home}) that puts every progress notification into {@code seen}. */
    private static McpAsyncClient progressClient(Path home, List<McpSchema.ProgressNotification> seen) {
        return McpClient.async(new StdioClientTransport(serverParams(home), new JacksonMcpJsonMapper(Json.mapper())))
                .requestTimeout(Duration.ofMinutes(3))
                .progressConsumer(p -> {
                    seen.add(p);
                    return reactor.core.publisher.Mono.empty();
                }).build();
    }

    @Test
    void progressNotificationsForAPullWhenAsked() throws Exception {
        List<McpSchema.ProgressNotification> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        McpAsyncClient c = progressClient(shared.resolve("home-progress"), seen);
        try {
            c.initialize().block();
            McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("run", Map.of("environment", image,
                    "command", List.of("true")), Map.of("progressToken", "pull-1"))).block();
            assertThat(r.isError()).as(r.toString()).isFalse();
            assertThat(seen).isNotEmpty().allMatch(p -> p.progressToken().equals("pull-1"));
            assertThat(seen).extracting(McpSchema.ProgressNotification::message)
                    .anyMatch(m -> m.contains("pulling " + image));
            seen.clear();
            c.callTool(new McpSchema.CallToolRequest("run", Map.of("environment", image, "command", List.of("true"))))
                    .block();
            assertThat(seen).isEmpty();
        } finally {
            c.closeGracefully().block();
        }
    }

    /**
     * A workspace_exec that runs a while tells a client that asked (a progressToken) how it does every few seconds,
     * with the end of its output so far; one that did not ask hears nothing.
     */
    @Test
    @SuppressWarnings("unchecked")
    void progressNotificationsOfALongExecCarryTheEndOfItsOutput() throws Exception {
        List<McpSchema.ProgressNotification> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        McpAsyncClient c = progressClient(shared.resolve("home-exec-progress"), seen);
        try {
            c.initialize().block();
            McpSchema.CallToolResult w = c.callTool(new McpSchema.CallToolRequest("workspace_create",
                    Map.of("environment", image, "name", "prog"))).block();
            assertThat(w.isError()).as(w.toString()).isFalse();
            List<String> cmd = List.of("sh", "-c", "i=1; while [ $i -le 8 ]; do echo step$i; i=$((i+1)); sleep 1;"
                    + " done");
            McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("workspace_exec", Map.of(
                    "workspace", "prog", "command", cmd), Map.of("progressToken", "exec-1"))).block();
            assertThat(r.isError()).as(r.toString()).isFalse();
            assertThat(seen).hasSizeGreaterThanOrEqualTo(1).allMatch(p -> p.progressToken().equals("exec-1"));
            assertThat(seen).extracting(McpSchema.ProgressNotification::message)
                    .allMatch(m -> m.startsWith("running for "))
                    .anyMatch(m -> m.matches("running for \\d+ s; its output ends: .*step\\d.*"));
            seen.clear();
            c.callTool(new McpSchema.CallToolRequest("workspace_exec", Map.of("workspace", "prog", "command",
                    List.of("sleep", "4")))).block();
            assertThat(seen).isEmpty();
            c.callTool(new McpSchema.CallToolRequest("workspace_remove", Map.of("workspace", "prog"))).block();
        } finally {
            c.closeGracefully().block();
        }
    }

    /** A server process driven by hand: one JSON-RPC line at a time. */
    private static Process raw(Path home, String... more) throws IOException {
        ServerParameters p = serverParams(home, more);
        List<String> cmd = new java.util.ArrayList<>(List.of(p.getCommand()));
        cmd.addAll(p.getArgs());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().putAll(p.getEnv());
        return pb.start();
    }

    private static void send(Process p, String line) throws IOException {
        p.getOutputStream().write((line + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        p.getOutputStream().flush();
    }

    private static com.fasterxml.jackson.databind.JsonNode answer(java.io.BufferedReader r, int id) throws IOException {
        for (String line; (line = r.readLine()) != null; ) {
            com.fasterxml.jackson.databind.JsonNode n = Json.read(line.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            if (n.path("id").asInt(-1) == id) {
                return n;
            }
        }
        throw new AssertionError("the server closed stdout before answering " + id);
    }

    private static final String INIT = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
            + "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"raw\","
            + "\"version\":\"1\"}}}";

    @Test
    void garbageNeverStopsTheServer() throws Exception {
        Process p = raw(shared.resolve("home-garbage"));
        try (java.io.BufferedReader r = p.inputReader(java.nio.charset.StandardCharsets.UTF_8)) {
            for (String g : List.of("garbage", "", "  ", "{\"a\":1}", "[1,2]", "\u0000\u00ff", "{\"jsonrpc\":\"2.0\",\"id\":9}",
                    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":\"x\"}")) {
                send(p, g);
            }
            send(p, INIT);
            assertThat(answer(r, 1).at("/result/serverInfo/name").asText()).isEqualTo("davit");
            send(p, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
            send(p, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"run\","
                    + "\"arguments\":[1]}}");
            send(p, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"nosuch\"}}");
            send(p, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
                    + "\"workspace_list\",\"arguments\":{}}}");
            assertThat(answer(r, 3).has("error")).isTrue();
            assertThat(answer(r, 4).has("error")).isTrue();
            assertThat(answer(r, 5).at("/result/structuredContent/workspaces").isArray()).isTrue();
        } finally {
            p.getOutputStream().close();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
    }

    /** The next line the server writes, as JSON. */
    private static com.fasterxml.jackson.databind.JsonNode next(java.io.BufferedReader r) throws IOException {
        String line = r.readLine();
        assertThat(line).as("the server closed stdout").isNotNull();
        return Json.read(line.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void whatIsNotAMessageABatchASecondInitializeAndAnUnknownToolAreAnswered() throws Exception {
        Process p = raw(shared.resolve("home-answers"));
        try (java.io.BufferedReader r = p.inputReader(java.nio.charset.StandardCharsets.UTF_8)) {
            // answered in order, before the initialize after them (which the SDK answers): nothing waits forever
            send(p, "garbage");
            send(p, "[" + INIT + "]");
            send(p, INIT);
            com.fasterxml.jackson.databind.JsonNode parse = next(r);
            assertThat(parse.get("id").isNull()).isTrue();
            assertThat(parse.at("/error/code").asInt()).isEqualTo(-32700);
            assertThat(parse.at("/error/message").asText()).isEqualTo("Parse error: the message is not JSON; send one"
                    + " JSON-RPC 2.0 message (a JSON object) at a time");
            com.fasterxml.jackson.databind.JsonNode batch = next(r);
            assertThat(batch.get("id").isNull()).isTrue();
            assertThat(batch.at("/error/code").asInt()).isEqualTo(-32600);
            assertThat(batch.at("/error/message").asText()).isEqualTo("JSON-RPC batches are not supported (MCP"
                    + " 2025-06-18 removed them): send each message on its own");
            assertThat(next(r).at("/result/serverInfo/name").asText()).isEqualTo("davit");
            send(p, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
            send(p, INIT.replace("\"id\":1", "\"id\":2"));
            com.fasterxml.jackson.databind.JsonNode again = answer(r, 2);
            assertThat(again.has("result")).isFalse();
            assertThat(again.at("/error/code").asInt()).isEqualTo(-32600);
            assertThat(again.at("/error/message").asText()).isEqualTo("this session is already initialized: send"
                    + " initialize once per session (over HTTP, a new session is an initialize without"
                    + " Mcp-Session-Id)");
            send(p, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
                    + "\"invalid_tool_name\",\"arguments\":{}}}");
            com.fasterxml.jackson.databind.JsonNode unknown = answer(r, 3);
            assertThat(unknown.at("/error/code").asInt()).isEqualTo(-32602);
            assertThat(unknown.at("/error/message").asText()).isEqualTo("unknown tool 'invalid_tool_name': call"
                    + " tools/list for the tools this server offers");
            send(p, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":"
                    + "\"workspace_list\",\"arguments\":{}}}");
            assertThat(answer(r, 4).at("/result/structuredContent/workspaces").isArray()).isTrue();
        } finally {
            p.getOutputStream().close();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
    }

    /** Host processes whose command line is exactly {@code argv} (read from /proc: they live in other namespaces). */
    private static List<String> processes(String... argv) throws IOException {
        String want = String.join("\0", argv);
        List<String> found = new java.util.ArrayList<>();
        try (var dirs = Files.list(Path.of("/proc"))) {
            for (Path d : dirs.filter(x -> x.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = Files.readString(d.resolve("cmdline"), java.nio.charset.StandardCharsets.ISO_8859_1);
                    if (cmd.replaceFirst("\0$", "").equals(want)) {
                        found.add(d.getFileName().toString());
                    }
                } catch (IOException e) {
                    // gone
                }
            }
        }
        return found;
    }

    @Test
    void whenTheClientGoesAwayRunsAreKilledAndCleanupOnExitRemovesWorkspaces() throws Exception {
        Path home = shared.resolve("home-gone");
        Process p = raw(home, "--cleanup-on-exit");
        try (java.io.BufferedReader r = p.inputReader(java.nio.charset.StandardCharsets.UTF_8)) {
            send(p, INIT);
            answer(r, 1);
            send(p, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
            send(p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
                    + "\"workspace_create\",\"arguments\":{\"environment\":\"" + image + "\"}}}");
            String id = answer(r, 2).at("/result/structuredContent/id").asText();
            assertThat(new Cli(home).run("workspace", "status", id).rc()).isZero();
            send(p, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"run\","
                    + "\"arguments\":{\"environment\":\"" + image + "\",\"command\":[\"sleep\",\"379\"]}}}");
            for (int i = 0; i < 600 && processes("sleep", "379").isEmpty(); i++) {
                Thread.sleep(100);
            }
            assertThat(processes("sleep", "379")).isNotEmpty();
            p.getOutputStream().close(); // the client goes away
            assertThat(p.waitFor(90, TimeUnit.SECONDS)).isTrue();
            assertThat(processes("sleep", "379")).isEmpty();
            Cli.Result ls = new Cli(home).run("--json", "sandbox", "ls");
            assertThat(ls.json().get("sandboxes")).as(ls.toString()).isEmpty();
            assertThat(new Cli(home).run("--json", "workspace", "ls").json().get("workspaces")).isEmpty();
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void runsOneShotCommandsAndReportsFailuresAsResults() {
        Map<String, Object> r = ok("run", Map.of("environment", image, "command", List.of("sh", "-c", "echo hi; pwd"),
                "env", Map.of("X", "1")));
        assertThat(r).containsEntry("exit_code", 0).containsEntry("stdout", "hi\n/srv\n");
        McpSchema.CallToolResult failed = call("run", Map.of("environment", image, "command", List.of("sh", "-c",
                "echo oops >&2; exit 3")));
        assertThat(failed.isError()).isTrue();
        assertThat((Map<String, Object>) failed.structuredContent()).containsEntry("exit_code", 3)
                .containsEntry("stderr", "oops\n");
        assertThat(invalid("run", Map.of("environment", image, "network", true, "command", List.of("true"))))
                .contains("--allow-network");
        assertThat(invalid("run", Map.of("command", List.of("true")))).contains("missing argument 'environment'");
        assertThat(invalid("run", Map.of("environment", image, "timeout", "soon"))).contains("'timeout' must be a number");
        // a timeout past what a Duration holds in nanoseconds is refused as the CLI's --timeout is, not a crash
        assertThat(invalid("run", Map.of("environment", image, "command", List.of("true"), "timeout", 1e10)))
                .contains("'timeout' must be at most");
        assertThat(invalid("run", Map.of("environment", image, "bogus", 1))).contains("unknown argument 'bogus'");
        McpSchema.CallToolResult missing = call("run", Map.of("environment", registry.hostPort() + "/sandbox/none:1",
                "command", List.of("true")));
        assertThat(missing.isError()).isTrue();
        assertThat((Map<String, Object>) missing.structuredContent()).containsKey("error");
    }

    @Test
    @SuppressWarnings("unchecked")
    void environmentAndMaintenanceTools() {
        assertThat(ok("environment_list", Map.of())).containsKey("environments");
        McpSchema.CallToolResult unknown = call("environment_inspect", Map.of("name", "nosuch:1"));
        assertThat(unknown.isError()).isTrue();
        assertThat(((Map<String, Object>) unknown.structuredContent()).get("error").toString()).contains("nosuch");
        assertThat(call("environment_pull", Map.of("name", "nosuch:1")).isError()).isTrue();
        assertThat(ok("environment_prune", Map.of())).containsKey("count");
        assertThat(ok("reap", Map.of())).containsKey("removed").doesNotContainKey("orphans");
    }

    @Test
    @SuppressWarnings("unchecked")
    void workspaceRoundTrip() throws Exception {
        assertThat(invalid("workspace_create", Map.of("environment", image, "seed", "/etc"))).contains("outside the allowed");
        assertThat(invalid("workspace_create", Map.of("environment", image, "seed", shared.resolve("allowed/escape")
                .toString()))).contains("outside the allowed");
        Map<String, Object> w = ok("workspace_create", Map.of("environment", image, "seed",
                shared.resolve("allowed/project").toString(), "name", "proj"));
        String id = (String) w.get("id");
        try {
            assertThat(w).containsEntry("status", "running").containsEntry("ttl_seconds", 3600.0);
            // the seed as the model gave it, in this answer and in every later one (never the server's pinned copy)
            String seed = shared.resolve("allowed/project").toString();
            assertThat((Map<String, Object>) w.get("baseline")).containsEntry("seed", seed);
            assertThat((Map<String, Object>) ok("workspace_status", Map.of("workspace", id)).get("baseline"))
                    .containsEntry("seed", seed);
            assertThat(invalid("workspace_create", Map.of("environment", image))).contains("--max-workspaces");
            Map<String, Object> e = ok("workspace_exec", Map.of("workspace", "proj", "command",
                    List.of("sh", "-c", "pwd; cat a.txt")));
            assertThat(e).containsEntry("stdout", "/workspace\nalpha\n");
            assertThat(invalid("workspace_exec", Map.of("workspace", "proj", "timeout", 1e10, "command",
                    List.of("true")))).contains("'timeout' must be at most");
            assertThat(invalid("workspace_service_start", Map.of("workspace", "proj", "name", "w", "ready_timeout",
                    1e10, "command", List.of("sleep", "60")))).contains("'ready_timeout' must be at most");
            assertThat(ok("workspace_service_list", Map.of("workspace", "proj")).get("services")).asList().isEmpty();
            // what no process can be given (a NUL in a variable's value) is the library's usage error, named, not
            // the JDK's refusal once the sandbox is up
            assertThat(invalid("workspace_exec", Map.of("workspace", "proj", "env", Map.of("A", "a\u0000b"),
                    "command", List.of("true")))).contains("variable A's value holds a NUL byte")
                    .doesNotContain("\u0000");
            // command lines are reused between calls: nothing of one call's options reaches the next
            assertThat(ok("workspace_exec", Map.of("workspace", "proj", "workdir", "/tmp", "env", Map.of("A", "1"),
                    "command", List.of("sh", "-c", "echo $A; pwd")))).containsEntry("stdout", "1\n/tmp\n");
            assertThat(ok("workspace_exec", Map.of("workspace", "proj", "env", Map.of("B", "2"),
                    "command", List.of("sh", "-c", "echo $A-$B; pwd")))).containsEntry("stdout", "-2\n/workspace\n");
            // a background exec: back at once, it runs on; waited for, paged, listed in the logs; another killed
            Map<String, Object> bg = ok("workspace_exec", Map.of("workspace", "proj", "detach", true, "command",
                    List.of("sh", "-c", "sleep 1; seq 1 3000; echo oops >&2; exit 4")));
            assertThat(bg).containsEntry("state", "running").containsEntry("exit_code", null);
            String bgId = (String) bg.get("exec_id");
            Map<String, Object> waited = ok("workspace_exec_wait", Map.of("workspace", "proj", "exec_id", bgId,
                    "timeout", 0.2));
            assertThat(waited).containsEntry("state", "running");
            waited = ok("workspace_exec_wait", Map.of("workspace", "proj", "exec_id", bgId, "timeout", 30));
            assertThat(waited).containsEntry("state", "exited").containsEntry("exit_code", 4)
                    .containsEntry("killed_by", null);
            assertThat((String) waited.get("output_tail")).endsWith("2999\n3000\noops\n");
            StringBuilder all = new StringBuilder();
            for (long off = 0; ; ) {
                Map<String, Object> page = ok("workspace_exec_output", Map.of("workspace", "proj", "exec_id", bgId,
                        "offset", off, "limit", 4096));
                assertThat(page).containsEntry("stream", "output");
                all.append((String) page.get("content"));
                off = ((Number) page.get("offset")).longValue() + ((Number) page.get("bytes")).longValue();
                if ((Boolean) page.get("eof")) {
                    break;
                }
            }
            assertThat(all.toString()).startsWith("1\n2\n").endsWith("3000\noops\n")
                    .hasSize(((Number) waited.get("output_bytes")).intValue());
            String slow = (String) ok("workspace_exec", Map.of("workspace", "proj", "detach", true,
                    "command", List.of("sleep", "300"))).get("exec_id");
            assertThat(ok("workspace_exec_kill", Map.of("workspace", "proj", "exec_id", slow)))
                    .containsEntry("state", "killed").containsEntry("killed_by", "cancel");
            assertThat((List<Map<String, Object>>) ok("workspace_logs", Map.of("workspace", "proj"))
                    .get("background")).extracting(m -> m.get("exec_id")).containsExactly(bgId, slow);
            assertThat(failed("workspace_exec_wait", Map.of("workspace", "proj", "exec_id", "e-000000000000")))
                    .containsEntry("kind", "not_found");
            // calls run concurrently: the exec waits for a file that only a later call writes
            CompletableFuture<McpSchema.CallToolResult> waiting = client.callTool(new McpSchema.CallToolRequest(
                    "workspace_exec", Map.of("workspace", id, "timeout", 60, "command", List.of("sh", "-c",
                            "while [ ! -f go ]; do sleep 0.1; done; echo went")))).toFuture();
            assertThat(ok("workspace_file_write", Map.of("workspace", id, "path", "go", "content", "now\n")))
                    .containsEntry("bytes", 4);
            assertThat((Map<String, Object>) waiting.get(2, TimeUnit.MINUTES).structuredContent())
                    .containsEntry("stdout", "went\n");
            ok("workspace_file_write", Map.of("workspace", id, "path", "bin.dat", "content_base64", "AP8="));
            assertThat(ok("workspace_file_read", Map.of("workspace", id, "path", "go")))
                    .containsEntry("content", "now\n").containsEntry("size", 4);
            assertThat(ok("workspace_file_read", Map.of("workspace", id, "path", "bin.dat")))
                    .containsEntry("content", null).containsEntry("content_base64", "AP8=");
            assertThat(invalid("workspace_file_write", Map.of("workspace", id, "path", "x"))).contains("exactly one");
            assertThat(invalid("workspace_file_read", Map.of("workspace", id, "path", "../etc/x")))
                    .contains("leads out of /workspace");
            assertThat((List<Map<String, Object>>) ok("workspace_file_list", Map.of("workspace", id)).get("files"))
                    .extracting(f -> f.get("path")).contains("a.txt", "go", "bin.dat");
            // a file in pages: offset and next_offset
            assertThat(ok("workspace_file_read", Map.of("workspace", id, "path", "go", "offset", 1, "max_bytes", 2)))
                    .containsEntry("content", "ow").containsEntry("truncated", true).containsEntry("next_offset", 3)
                    .containsEntry("size", 4);
            assertThat(ok("workspace_file_read", Map.of("workspace", id, "path", "go", "offset", 3)))
                    .containsEntry("content", "\n").containsEntry("truncated", false).containsEntry("next_offset", 4);
            Map<String, Object> d = ok("workspace_diff", Map.of("workspace", id));
            assertThat((List<Map<String, Object>>) d.get("changes")).extracting(c -> c.get("path"))
                    .containsExactlyInAnyOrder("bin.dat", "go");
            // a diff of some paths; a long patch in pages of 64 KiB that add up to all of it
            assertThat((List<Map<String, Object>>) ok("workspace_diff", Map.of("workspace", id, "paths",
                    List.of("go"))).get("changes")).extracting(c -> c.get("path")).containsExactly("go");
            ok("workspace_exec", Map.of("workspace", id, "command", List.of("sh", "-c", "i=0; while [ $i -lt 30000 ];"
                    + " do echo line-$i; i=$((i+1)); done > long.txt")));
            StringBuilder patch = new StringBuilder();
            int pages = 0;
            Map<String, Object> page = Map.of("next_offset", 0);
            do {
                page = ok("workspace_diff", Map.of("workspace", id, "paths", List.of("long.txt"), "offset",
                        page.get("next_offset")));
                assertThat((String) page.get("patch")).hasSizeLessThanOrEqualTo(64 << 10).endsWith("\n");
                patch.append(page.get("patch"));
                pages++;
            } while (Boolean.TRUE.equals(page.get("patch_truncated")));
            assertThat(pages).isGreaterThan(1);
            assertThat(patch.toString()).contains("+line-0\n", "+line-29999\n").doesNotContain("+now");
            assertThat(patch.toString().split(java.util.regex.Pattern.quote("\n+line-"), -1)).hasSize(30001); // each once
            ok("workspace_exec", Map.of("workspace", id, "command", List.of("busybox", "rm", "long.txt")));
            assertThat(ok("workspace_snapshot_create", Map.of("workspace", id, "name", "s1")))
                    .containsEntry("name", "s1");
            assertThat((List<Map<String, Object>>) ok("workspace_snapshot_list", Map.of("workspace", id))
                    .get("snapshots")).extracting(s -> s.get("name")).containsExactly("s1");
            assertThat(ok("workspace_reset", Map.of("workspace", id))).containsEntry("reset_to", "baseline");
            assertThat((List<?>) ok("workspace_diff", Map.of("workspace", id)).get("changes")).isEmpty();
            assertThat(ok("workspace_reset", Map.of("workspace", id, "snapshot", "s1"))).containsEntry("status",
                    "running");
            assertThat(ok("workspace_file_read", Map.of("workspace", id, "path", "go"))).containsEntry("content",
                    "now\n");
            ok("workspace_snapshot_remove", Map.of("workspace", id, "name", "s1"));
            McpSchema.CallToolResult failing = call("workspace_exec", Map.of("workspace", id, "command",
                    List.of("sh", "-c", "exit 4")));
            assertThat(failing.isError()).isTrue();
            assertThat((Map<String, Object>) failing.structuredContent()).containsEntry("exit_code", 4);
            assertThat((List<Map<String, Object>>) ok("workspace_logs", Map.of("workspace", id)).get("logs"))
                    .extracting(l -> l.get("exit_code")).contains(0, 4);
            assertThat(ok("workspace_stop", Map.of("workspace", id))).containsEntry("status", "stopped");
            assertThat(ok("workspace_status", Map.of("workspace", id))).containsEntry("status", "stopped");
            // a shell of a stopped workspace: refused in the workspace's terms (start it), by its name (the model
            // gave it one), not its sandbox's id
            Map<String, Object> stopped = failed("workspace_shell_open", Map.of("workspace", id));
            assertThat(stopped).containsEntry("kind", "state");
            String sandbox = (String) ok("workspace_status", Map.of("workspace", id)).get("sandbox");
            assertThat((String) stopped.get("message")).contains("workspace proj", "stopped", "workspace_start")
                    .doesNotContain(sandbox).doesNotContain("sandbox");
            assertThat(ok("workspace_start", Map.of("workspace", id))).containsEntry("status", "running");
            assertThat((List<Map<String, Object>>) ok("workspace_list", Map.of()).get("workspaces"))
                    .extracting(x -> x.get("id")).containsExactly(id);
        } finally {
            assertThat(ok("workspace_remove", Map.of("workspace", id))).containsEntry("removed", true);
        }
        McpSchema.CallToolResult gone = call("workspace_status", Map.of("workspace", id));
        assertThat(gone.isError()).isTrue();
    }

    /**
     * Names, labels, workspace_update and published ports, on a server of its own that allows the network: a port
     * published on loopback reaches a service; another host address, or 'publish' without 'network', is refused;
     * a model's TTL in workspace_update is capped at the server's.
     */
    @Test
    @SuppressWarnings("unchecked")
    void labelsUpdateAndAPublishedPortOnLoopbackOnly() throws Exception {
        Tools.assumeAvailable("slirp4netns");
        McpAsyncClient c = McpClient.async(new StdioClientTransport(serverParams(shared.resolve("net-home"),
                "--allow-network"), new JacksonMcpJsonMapper(Json.mapper()))).requestTimeout(Duration.ofMinutes(3))
                .build();
        c.initialize().block();
        java.util.function.BiFunction<String, Map<String, Object>, McpSchema.CallToolResult> call = (tool, args) ->
                c.callTool(new McpSchema.CallToolRequest(tool, args)).block();
        java.util.function.BiFunction<String, Map<String, Object>, Map<String, Object>> ok = (tool, args) -> {
            McpSchema.CallToolResult r = call.apply(tool, args);
            assertThat(r.isError()).as(tool + ": " + r).isFalse();
            return (Map<String, Object>) r.structuredContent();
        };
        java.util.function.BiFunction<String, Map<String, Object>, String> invalid = (tool, args) -> {
            Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> call.apply(tool, args));
            assertThat(t).as(tool).isInstanceOf(McpError.class);
            return t.getMessage();
        };
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        try {
            assertThat(invalid.apply("workspace_create", Map.of("environment", image, "network", true, "publish",
                    List.of("0.0.0.0:" + port + ":8080")))).contains("'publish'", "127.0.0.1 only");
            assertThat(invalid.apply("workspace_create", Map.of("environment", image, "network", true, "publish",
                    List.of("192.168.1.1:" + port + ":8080")))).contains("'publish'");
            assertThat(invalid.apply("workspace_create", Map.of("environment", image, "publish", List.of(port + ":8080"))))
                    .contains("'publish' needs 'network'");
            assertThat(invalid.apply("workspace_create", Map.of("environment", image, "name", "ws-1")))
                    .contains("bad workspace name");
            Map<String, Object> w = ok.apply("workspace_create", Map.of("environment", image, "name", "web", "labels",
                    Map.of("task", "42"), "network", true, "publish", List.of("127.0.0.1:" + port + ":8080")));
            assertThat((Map<String, Object>) w.get("labels")).containsEntry("task", "42");
            List<Map<String, Object>> ports = (List<Map<String, Object>>) w.get("ports");
            assertThat(ports).hasSize(1);
            assertThat(ports.get(0)).containsEntry("address", "127.0.0.1:" + port).containsEntry("container_port",
                    8080);
            ok.apply("workspace_file_write", Map.of("workspace", "web", "path", "index.html", "content",
                    "served\n"));
            ok.apply("workspace_service_start", Map.of("workspace", "web", "name", "httpd", "ready_port", 8080,
                    "command", List.of("busybox", "httpd", "-f", "-p", "8080", "-h", "/workspace")));
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(
                        java.nio.charset.StandardCharsets.US_ASCII));
                assertThat(new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
                        .contains("served");
            }
            assertThat((List<?>) ok.apply("workspace_list", Map.of("labels", Map.of("task", "42")))
                    .get("workspaces")).hasSize(1);
            assertThat((List<?>) ok.apply("workspace_list", Map.of("labels", Map.of("task", "43")))
                    .get("workspaces")).isEmpty();
            Map<String, Object> u = ok.apply("workspace_update", Map.of("workspace", "web", "name", "web2",
                    "labels", Map.of("stage", "test"), "remove_labels", List.of("task"), "ttl", 1e9));
            assertThat(u).containsEntry("name", "web2").containsEntry("ttl_seconds", 3600.0);
            assertThat((Map<String, Object>) u.get("labels")).isEqualTo(Map.of("stage", "test"));
            assertThat(invalid.apply("workspace_update", Map.of("workspace", "web2", "name", "a b")))
                    .contains("bad workspace name");
            assertThat(call.apply("workspace_status", Map.of("workspace", "web")).isError()).isTrue();
        } finally {
            call.apply("workspace_remove", Map.of("workspace", "web2"));
            call.apply("workspace_remove", Map.of("workspace", "web"));
            c.closeGracefully().block();
        }
    }

    /**
     * A client that starts the server with a reduced environment (the MCP Inspector does: no DAVIT_HOME) and
     * {@code --home}: the server says on stderr which home it uses, and its tools use that one.
     */
    @Test
    @SuppressWarnings("unchecked")
    void homeIsTakenFromTheOptionAndSaidAtStart() throws Exception {
        Path home = shared.resolve("option-home");
        // the home's signature policy holds the model's pulls: one repository is rejected
        String refusedImage = registry.hostPort() + "/refused/busybox:1";
        Tools.run("skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://" + image,
                "docker://" + refusedImage);
        Files.createDirectories(home);
        Files.writeString(home.resolve("policy.json"), "{\"default\": [{\"type\": \"insecureAcceptAnything\"}],"
                + " \"transports\": {\"docker\": {\"" + registry.hostPort() + "/refused\": [{\"type\": \"reject\"}]}}}");
        String java = ProcessHandle.current().info().command().orElse("java");
        ServerParameters params = ServerParameters.builder(java).args(List.of("--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "dev.davit.cli.Main", "mcp", "serve", "--home",
                home.toString(), "--tools", "full", "--allow-registry", registry.hostPort()))
                .env(Map.of("PATH", System.getenv("PATH"))).build();
        StdioClientTransport transport = new StdioClientTransport(params, new JacksonMcpJsonMapper(Json.mapper()));
        List<String> stderr = new java.util.concurrent.CopyOnWriteArrayList<>();
        transport.setStdErrorHandler(stderr::add);
        McpAsyncClient c = McpClient.async(transport).requestTimeout(Duration.ofMinutes(3)).build();
        try {
            c.initialize().block();
            McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("workspace_create",
                    Map.of("environment", image))).block();
            assertThat(r.isError()).as(r.toString()).isFalse();
            String id = (String) ((Map<String, Object>) r.structuredContent()).get("id");
            assertThat(home.resolve("workspaces").resolve(id)).isDirectory();
            c.callTool(new McpSchema.CallToolRequest("workspace_remove", Map.of("workspace", id))).block();
            assertThat(stderr).contains("davit: MCP server home: " + home + " (from --home)");
            for (String tool : List.of("run", "workspace_create")) {
                McpSchema.CallToolResult refused = c.callTool(new McpSchema.CallToolRequest(tool, tool.equals("run")
                        ? Map.of("environment", refusedImage, "command", List.of("true")) : Map.of("environment", refusedImage)))
                        .block();
                assertThat(refused.isError()).as(refused.toString()).isTrue();
                assertThat(((Map<String, Object>) refused.structuredContent()).get("error").toString())
                        .contains(refusedImage + " is refused by the signature policy " + home.resolve("policy.json"))
                        .contains("(reject): the policy rejects it");
            }
            try (var left = Files.list(home.resolve("workspaces"))) {
                assertThat(left.map(f -> f.getFileName().toString())).allMatch(n -> n.startsWith("."));
            }
        } finally {
            c.closeGracefully().block();
        }
    }

    @Test
    void refusesTheCommandOfABadArgumentWithoutStopping() {
        // no command line: a value starting with '-' is a value like any other (here, a workspace that is not there)
        assertThat(failed("workspace_exec", Map.of("workspace", "-x", "command", List.of("true"))))
                .containsEntry("kind", "not_found");
        assertThatThrownBy(() -> call("workspace_exec", Map.of("workspace", "-x", "command", List.of())))
                .isInstanceOf(McpError.class).hasMessageContaining("'command'");
        assertThat(ok("workspace_list", Map.of())).containsKey("workspaces");
    }
}
