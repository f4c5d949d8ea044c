package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.Tools;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Attacker's tests of {@code davit mcp serve}'s reach: a model reaches only the workspaces its server made (and
 * those the operator shares), never the operator's own made with the CLI in the same davit home; over HTTP with
 * {@code --isolate-sessions}, one session never another's; and it publishes only unprivileged ports on 127.0.0.1.
 */
class McpOwnershipTest extends BusyboxRegistryTest {
    private final List<McpAsyncClient> clients = new ArrayList<>();
    private Process httpServer;

    @AfterEach
    void close() throws InterruptedException {
        clients.forEach(c -> c.closeGracefully().block());
        if (httpServer != null) {
            httpServer.destroy();
            httpServer.waitFor(30, TimeUnit.SECONDS);
        }
        Cli cli = new Cli(home);
        for (JsonNode w : cli.run("--json", "workspace", "ls").json().get("workspaces")) {
            cli.run("workspace", "rm", w.get("id").asText());
        }
    }

    private List<String> serve(String... more) {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> args = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.davit.cli.Main", "mcp", "serve", "--tools", "full",
                "--allow-registry", registry.hostPort()));
        args.addAll(List.of(more));
        return args;
    }

    /** A stdio server of this build on the test's home. */
    private McpAsyncClient stdio(String... more) {
        List<String> cmd = serve(more);
        ServerParameters params = ServerParameters.builder(cmd.get(0)).args(cmd.subList(1, cmd.size()))
                .env(Map.of("DAVIT_HOME", home.toString(), "PATH", System.getenv("PATH"))).build();
        McpAsyncClient c = McpClient.async(new StdioClientTransport(params, new JacksonMcpJsonMapper(Json.mapper())))
                .requestTimeout(Duration.ofMinutes(3)).build();
        clients.add(c);
        c.initialize().block();
        return c;
    }

    private static McpSchema.CallToolResult call(McpAsyncClient c, String tool, Map<String, Object> args) {
        return c.callTool(new McpSchema.CallToolRequest(tool, args)).block();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> ok(McpAsyncClient c, String tool, Map<String, Object> args) {
        McpSchema.CallToolResult r = call(c, tool, args);
        assertThat(r.isError()).as(tool + ": " + r).isFalse();
        return (Map<String, Object>) r.structuredContent();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> failed(McpAsyncClient c, String tool, Map<String, Object> args) {
        McpSchema.CallToolResult r = call(c, tool, args);
        assertThat(r.isError()).as(tool + ": " + r).isTrue();
        return (Map<String, Object>) ((Map<String, Object>) r.structuredContent()).get("error");
    }

    private static String invalid(McpAsyncClient c, String tool, Map<String, Object> args) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> call(c, tool, args));
        assertThat(t).as(tool).isInstanceOf(McpError.class);
        assertThat(((McpError) t).getJsonRpcError().code()).isEqualTo(McpSchema.ErrorCodes.INVALID_PARAMS);
        return t.getMessage();
    }

    @SuppressWarnings("unchecked")
    private static List<String> listed(McpAsyncClient c) {
        return ((List<Map<String, Object>>) ok(c, "workspace_list", Map.of()).get("workspaces")).stream()
                .map(w -> (String) w.get("id")).toList();
    }

    private JsonNode operatorCreates(String... more) {
        List<String> args = new ArrayList<>(List.of("--json", "workspace", "create", image));
        args.addAll(List.of(more));
        Cli.Result r = new Cli(home).run(args.toArray(String[]::new));
        assertThat(r.rc()).as(r.toString()).isZero();
        return r.json();
    }

    /**
     * {@code tool} on {@code ref} fails exactly as on a workspace that does not exist: the same kind, exit code and
     * message but for the name given.
     */
    private static void notFound(McpAsyncClient c, String tool, Map<String, Object> more, String ref) {
        String none = ref.startsWith("ws-") ? "ws-000000000000" : "nosuchworkspace";
        Map<String, Object> a = new java.util.HashMap<>(more);
        a.put("workspace", ref);
        Map<String, Object> refused = failed(c, tool, a);
        a.put("workspace", none);
        Map<String, Object> missing = failed(c, tool, a);
        assertThat(refused.get("kind")).as(tool).isEqualTo("not_found").isEqualTo(missing.get("kind"));
        assertThat(refused.get("exit_code")).as(tool).isEqualTo(missing.get("exit_code"));
        assertThat(((String) refused.get("message")).replace(ref, "REF")).as(tool)
                .isEqualTo(((String) missing.get("message")).replace(none, "REF"));
    }

    @Test
    void theOperatorsWorkspacesAreNoSuchWorkspaceToTheModel() throws Exception {
        boolean nat = Tools.which("slirp4netns").isPresent();
        List<String> opArgs = new ArrayList<>(List.of("--name", "opws", "--secret", "OPTOKEN=op-secret-value"));
        if (nat) {
            opArgs.add("--network");
        }
        String op = operatorCreates(opArgs.toArray(String[]::new)).get("id").asText();
        // expired already when the server starts: the operator's own `davit workspace reap` removes it, not the model
        String expired = operatorCreates("--name", "old", "--ttl", "0.5").get("id").asText();
        Thread.sleep(1000);
        // the operator's two do not count against the server's limit (nor show in its refusal)
        McpAsyncClient c = stdio("--max-workspaces", "2");
        String mine = (String) ok(c, "workspace_create", Map.of("environment", image, "name", "mine")).get("id");
        assertThat(listed(c)).containsExactly(mine);
        // a fork is the server's too, and counts against its limit: one more fits, two do not
        ok(c, "workspace_exec", Map.of("workspace", mine, "command", List.of("sh", "-c", "echo v1 > /etc/v")));
        assertThat(invalid(c, "workspace_fork", Map.of("workspace", mine, "count", 2))).contains("2 forks need room"
                + " for 2 workspaces, and this server has room for 1 more (1 of its 2 exist; --max-workspaces); ask for"
                + " at most 1 ('count')").doesNotContain("being created");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> forks = (List<Map<String, Object>>) ok(c, "workspace_fork", Map.of("workspace",
                "mine", "names", List.of("mine2"))).get("workspaces");
        String fork = (String) forks.get(0).get("id");
        assertThat(forks.get(0)).containsEntry("name", "mine2").containsEntry("status", "running");
        assertThat(ok(c, "workspace_exec", Map.of("workspace", "mine2", "command", List.of("cat", "/etc/v"))))
                .containsEntry("stdout", "v1\n");
        assertThat(listed(c)).containsExactlyInAnyOrder(mine, fork);
        ok(c, "workspace_remove", Map.of("workspace", fork));

        for (String ref : List.of(op, "opws", expired)) {
            notFound(c, "workspace_exec", Map.of("command", List.of("sh", "-c", "cat /run/secrets/OPTOKEN | rev")),
                    ref);
            notFound(c, "workspace_status", Map.of(), ref);
            notFound(c, "workspace_file_read", Map.of("path", "x"), ref);
            notFound(c, "workspace_update", Map.of("ttl", 60), ref);
            notFound(c, "workspace_remove", Map.of(), ref);
            notFound(c, "workspace_diff", Map.of(), ref);
        }
        // a name the operator's workspace holds is taken, without saying by which
        String taken = invalid(c, "workspace_create", Map.of("environment", image, "name", "opws"));
        assertThat(taken).contains("the name opws is taken; give another name").doesNotContain(op);
        assertThat(invalid(c, "workspace_update", Map.of("workspace", mine, "name", "opws")))
                .contains("is taken").doesNotContain(op);
        // the reap tool and the server's own reaper (every minute, first after 1 s) leave the operator's alone
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> reaped = (List<Map<String, Object>>) ok(c, "reap", Map.of()).get("removed");
        assertThat(reaped).isEmpty();
        Thread.sleep(1500);

        Cli cli = new Cli(home);
        JsonNode all = cli.run("--json", "workspace", "ls").json().get("workspaces");
        List<String> ids = new ArrayList<>();
        all.forEach(w -> ids.add(w.get("id").asText()));
        assertThat(ids).containsExactlyInAnyOrder(op, expired, mine);
        all.forEach(w -> assertThat(w.get("owner").isNull() ? null : w.get("owner").asText())
                .as(w.get("id").asText()).isEqualTo(w.get("id").asText().equals(mine) ? "mcp" : null));
        JsonNode status = cli.run("--json", "workspace", "status", "opws").json();
        assertThat(status.get("ttl_seconds").isNull()).as(status.toString()).isTrue();
        Cli.Result alive = cli.run("--json", "workspace", "exec", "opws", "--", "true");
        assertThat(alive.rc()).as(alive.toString()).isZero();
        // the operator's reap does remove the expired one
        JsonNode opReap = cli.run("--json", "workspace", "reap").json().get("removed");
        assertThat(opReap).hasSize(1);
        assertThat(opReap.get(0).get("id").asText()).isEqualTo(expired);
    }

    @Test
    void aSharedWorkspaceIsReadOnlyUnlessSharedRw() throws Exception {
        String ro = operatorCreates("--name", "ro1").get("id").asText();
        String rw = operatorCreates("--name", "rw1").get("id").asText();
        String hidden = operatorCreates("--name", "hidden").get("id").asText();
        Cli cli = new Cli(home);
        Path f = Files.writeString(home.resolve("note.txt"), "operator's note\n");
        assertThat(cli.run("workspace", "file", "write", "ro1", "note.txt", "--from", f.toString()).rc()).isZero();
        McpAsyncClient c = stdio("--share-workspace", "ro1", "--share-workspace", "rw1:rw");
        assertThat(listed(c)).containsExactlyInAnyOrder(ro, rw);
        notFound(c, "workspace_status", Map.of(), hidden);

        assertThat(ok(c, "workspace_file_read", Map.of("workspace", "ro1", "path", "note.txt")))
                .containsEntry("content", "operator's note\n");
        assertThat(ok(c, "workspace_status", Map.of("workspace", ro))).containsEntry("id", ro);
        ok(c, "workspace_diff", Map.of("workspace", "ro1"));
        assertThat(invalid(c, "workspace_exec", Map.of("workspace", "ro1", "command", List.of("true"))))
                .contains("shared read-only", "workspace_exec would change it");
        assertThat(invalid(c, "workspace_file_write", Map.of("workspace", ro, "path", "x", "content", "y")))
                .contains("shared read-only");
        assertThat(invalid(c, "workspace_remove", Map.of("workspace", "ro1"))).contains("shared read-only");
        assertThat(invalid(c, "workspace_reset", Map.of("workspace", "ro1"))).contains("shared read-only");

        assertThat(ok(c, "workspace_exec", Map.of("workspace", "rw1", "command", List.of("sh", "-c",
                "echo model > /workspace/m.txt; cat /workspace/m.txt")))).containsEntry("stdout", "model\n");
        assertThat(invalid(c, "workspace_remove", Map.of("workspace", "rw1"))).contains("cannot be deleted");
        assertThat(invalid(c, "workspace_update", Map.of("workspace", rw, "ttl", 1))).contains("cannot be deleted");
        // a fork would copy the operator's secrets into a workspace of the model's own
        assertThat(invalid(c, "workspace_fork", Map.of("workspace", "rw1"))).contains("or forked");
        assertThat(invalid(c, "workspace_fork", Map.of("workspace", "ro1"))).contains("shared read-only");

        JsonNode left = cli.run("--json", "workspace", "ls").json().get("workspaces");
        assertThat(left).hasSize(3);
        assertThat(cli.run("--json", "workspace", "status", "ro1").json().get("ttl_seconds").isNull()).isTrue();
        Cli.Result none = new Cli(home).run("mcp", "serve", "--share-workspace", "nosuch");
        assertThat(none.rc()).isEqualTo(2);
        assertThat(none.stderr()).startsWith("davit: error: --share-workspace nosuch: no workspace nosuch");
        Cli.Result mode = new Cli(home).run("mcp", "serve", "--share-workspace", "ro1:rx");
        assertThat(mode.stderr()).isEqualTo("davit: error: --share-workspace takes NAME, NAME:ro or NAME:rw, not"
                + " 'ro1:rx'\n");
        // rw sharing never gives the model more than the server's own workspaces get: no sandbox without limits
        // (outside the totals), no network the server does not allow
        operatorCreates("--name", "free", "--no-limits");
        Cli.Result free = new Cli(home).run("mcp", "serve", "--share-workspace", "free:rw");
        assertThat(free.rc()).as(free.toString()).isEqualTo(2);
        assertThat(free.stderr()).isEqualTo("davit: error: --share-workspace free:rw: it has no resource limits (made"
                + " with --no-limits), so the model's commands there would have no memory, CPU, process or disk bound"
                + " and sit outside the server's totals; share it read-only (free:ro), or recreate it with limits\n");
        if (Tools.which("slirp4netns").isPresent()) {
            operatorCreates("--name", "net", "--network");
            Cli.Result net = new Cli(home).run("mcp", "serve", "--share-workspace", "net:rw");
            assertThat(net.rc()).as(net.toString()).isEqualTo(2);
            assertThat(net.stderr()).contains("--share-workspace net:rw: it has a network (--network) and this server"
                    + " was started without --allow-network; share it read-only (net:ro), or start the server with"
                    + " --allow-network");
            // an egress-policy network beyond the server's --allow-egress likewise (here none): its sandbox's state
            // as a policy sandbox's reads
            String sbx = cli.run("--json", "workspace", "status", "net").json().get("sandbox").asText();
            Path state = home.resolve("sandboxes").resolve(sbx).resolve("state.json");
            var doc = (com.fasterxml.jackson.databind.node.ObjectNode) Json.read(Files.readAllBytes(state));
            doc.put("network", "policy");
            doc.set("egress", Json.read("{\"allow\": [\"pypi.org:443\"], \"deny\": [], \"presets\": []}"));
            Files.write(state, Json.bytes(doc));
            Cli.Result policy = new Cli(home).run("mcp", "serve", "--share-workspace", "net:rw");
            assertThat(policy.rc()).as(policy.toString()).isEqualTo(2);
            assertThat(policy.stderr()).isEqualTo("davit: error: --share-workspace net:rw: its egress policy allows"
                    + " more than this server's --allow-egress (none); share it read-only (net:ro), or start the"
                    + " server with --allow-egress covering it\n");
        }
    }

    @Test
    void withIsolateSessionsOneHttpSessionCannotReachAnothersWorkspaces() throws Exception {
        Path token = Files.writeString(home.resolve("token"), "0123456789abcdef0123456789abcdef\n");
        ProcessBuilder pb = new ProcessBuilder(serve("--http", "127.0.0.1:0", "--token-file", token.toString(),
                "--isolate-sessions")).redirectErrorStream(true);
        pb.environment().put("DAVIT_HOME", home.toString());
        httpServer = pb.start();
        BufferedReader lines = new BufferedReader(new InputStreamReader(httpServer.getInputStream(),
                StandardCharsets.UTF_8));
        Pattern started = Pattern.compile("MCP server on (http://127\\.0\\.0\\.1:\\d+)/mcp");
        String url = null;
        StringBuilder log = new StringBuilder();
        for (String line; url == null && (line = lines.readLine()) != null; ) {
            log.append(line).append('\n');
            Matcher m = started.matcher(line);
            if (m.find()) {
                url = m.group(1);
            }
        }
        assertThat(url).as(log.toString()).isNotNull();
        Thread drain = new Thread(() -> lines.lines().forEach(l -> { }));
        drain.setDaemon(true);
        drain.start();
        McpAsyncClient a = http(url);
        McpAsyncClient b = http(url);
        String ofA = (String) ok(a, "workspace_create", Map.of("environment", image, "name", "of-a")).get("id");
        String ofB = (String) ok(b, "workspace_create", Map.of("environment", image)).get("id");
        assertThat(listed(a)).containsExactly(ofA);
        assertThat(listed(b)).containsExactly(ofB);
        for (String ref : List.of(ofA, "of-a")) {
            notFound(b, "workspace_exec", Map.of("command", List.of("true")), ref);
            notFound(b, "workspace_remove", Map.of(), ref);
            notFound(b, "workspace_file_read", Map.of("path", "x"), ref);
        }
        notFound(a, "workspace_status", Map.of(), ofB);
        ok(a, "workspace_exec", Map.of("workspace", "of-a", "command", List.of("true")));
        JsonNode owners = new Cli(home).run("--json", "workspace", "ls").json().get("workspaces");
        assertThat(owners).hasSize(2);
        owners.forEach(w -> assertThat(w.get("owner").asText()).startsWith("mcp:"));
        assertThat(owners.get(0).get("owner").asText()).isNotEqualTo(owners.get(1).get("owner").asText());
        Cli.Result stdio = new Cli(home).run("mcp", "serve", "--isolate-sessions");
        assertThat(stdio.stderr()).isEqualTo("davit: error: --isolate-sessions is for --http; stdio has one"
                + " session\n");
    }

    private McpAsyncClient http(String url) throws Exception {
        String t = Files.readString(home.resolve("token")).strip();
        McpAsyncClient c = McpClient.async(HttpClientStreamableHttpTransport.builder(url).endpoint("/mcp")
                        .jsonMapper(new JacksonMcpJsonMapper(Json.mapper()))
                        .customizeRequest(r -> r.header("Authorization", "Bearer " + t)).build())
                .requestTimeout(Duration.ofMinutes(3)).build();
        clients.add(c);
        c.initialize().block();
        return c;
    }

    @Test
    @SuppressWarnings("unchecked")
    void aModelPublishesOnlyUnprivilegedPortsOnLoopbackAndPortZeroPicksOne() throws Exception {
        Tools.assumeAvailable("slirp4netns");
        McpAsyncClient c = stdio("--allow-network");
        Map<String, Object> base = Map.of("environment", image, "network", true);
        Map<String, Object> a = new java.util.HashMap<>(base);
        a.put("publish", List.of("127.0.0.1:25:8080"));
        assertThat(invalid(c, "workspace_create", a)).contains("host port 25", "1024-65535", "or 0 for any free");
        a.put("publish", List.of("25:8080"));
        assertThat(invalid(c, "workspace_create", a)).contains("host port 25");
        a.put("publish", List.of("127.0.0.2:18080:8080"));
        assertThat(invalid(c, "workspace_create", a)).contains("would listen on 127.0.0.2", "127.0.0.1 only");
        assertThat(new Cli(home).run("--json", "workspace", "ls").json().get("workspaces")).isEmpty();
        Cli.Result range = new Cli(home).run("mcp", "serve", "--publish-ports", "9000-8000");
        assertThat(range.stderr()).isEqualTo("davit: error: --publish-ports needs LOW-HIGH with 1 <= LOW <= HIGH <="
                + " 65535, got 9000-8000\n");
        assertThat(new Cli(home).run("mcp", "serve", "--publish-ports", "high").stderr()).isEqualTo("davit: error:"
                + " --publish-ports needs LOW-HIGH (e.g. 1024-65535), got 'high'\n");
        assertThat(new Cli(home).run("mcp", "serve", "--owner", "a:b").stderr()).isEqualTo("davit: error: --owner"
                + " must be 1 to 64 letters, digits, '.', '_' or '-', not 'a:b'\n");

        a.put("publish", List.of("0:80")); // any free host port, to the sandbox's port 80
        a.put("name", "web");
        Map<String, Object> w = ok(c, "workspace_create", a);
        Map<String, Object> p = ((List<Map<String, Object>>) w.get("ports")).get(0);
        int port = ((Number) p.get("host_port")).intValue();
        assertThat(port).isGreaterThanOrEqualTo(1024);
        assertThat(p).containsEntry("address", "127.0.0.1:" + port).containsEntry("host_address", "127.0.0.1");
        ok(c, "workspace_file_write", Map.of("workspace", "web", "path", "index.html", "content", "port zero\n"));
        assertThat(p).containsEntry("container_port", 80);
        ok(c, "workspace_service_start", Map.of("workspace", "web", "name", "httpd", "ready_port", 80, "command",
                List.of("busybox", "httpd", "-f", "-p", "80", "-h", "/workspace")));
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).contains("port zero");
        }
        assertThat(ok(c, "workspace_status", Map.of("workspace", "web")).get("ports").toString())
                .contains("127.0.0.1:" + port);
        // a host port another process holds: a result naming the port and the fix, in the model's terms
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            a.put("publish", List.of(taken.getLocalPort() + ":80"));
            a.put("name", "busy");
            assertThat(invalid(c, "workspace_create", a)).endsWith("cannot publish 127.0.0.1:" + taken.getLocalPort()
                    + ":80: host port " + taken.getLocalPort() + " is in use on 127.0.0.1; choose a free host port,"
                    + " or 0 for any free one ('publish')");
        }
        // the operator narrows (or widens) the ports a model may take
        McpAsyncClient narrow = stdio("--allow-network", "--publish-ports", "20000-20010");
        a.put("publish", List.of("18080:8080"));
        a.put("name", "web2");
        assertThat(invalid(narrow, "workspace_create", a)).contains("host port 18080", "(20000-20010)");
    }
}
