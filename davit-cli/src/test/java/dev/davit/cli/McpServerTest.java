package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.Json;
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
        String java = ProcessHandle.current().info().command().orElse("java");
        ServerParameters params = ServerParameters.builder(java)
                .args("-cp", System.getProperty("java.class.path"), "dev.davit.cli.Main", "mcp", "serve", "--tools",
                        "full", "--allow-path", shared.resolve("allowed").toString(), "--max-workspaces", "1")
                .env(Map.of("DAVIT_HOME", home.toString(), "PATH", System.getenv("PATH")))
                .build();
        // the async client: its calls are sent from the calling thread (the stdio client transport refuses two
        // threads sending at once), and several can be in flight
        client = McpClient.async(new StdioClientTransport(params, new JacksonMcpJsonMapper(Json.MAPPER)))
                .requestTimeout(Duration.ofMinutes(3)).build();
        client.initialize().block();
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

    private static String invalid(String tool, Map<String, Object> args) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> call(tool, args));
        assertThat(t).as(tool).isInstanceOf(McpError.class);
        assertThat(((McpError) t).getJsonRpcError().code()).isEqualTo(McpSchema.ErrorCodes.INVALID_PARAMS);
        return t.getMessage();
    }

    @Test
    void listsEveryToolWithSchemas() {
        List<McpSchema.Tool> tools = client.listTools().block().tools();
        assertThat(tools).extracting(McpSchema.Tool::name).containsExactlyInAnyOrder("run", "env_list", "env_pull",
                "env_inspect", "env_prune", "reap", "workspace_create", "workspace_exec", "workspace_list",
                "workspace_status", "workspace_stop", "workspace_start", "workspace_delete", "workspace_file_list",
                "workspace_file_read", "workspace_file_write", "workspace_diff", "workspace_snapshot_create",
                "workspace_snapshot_list", "workspace_snapshot_delete", "workspace_reset", "workspace_logs");
        for (McpSchema.Tool t : tools) {
            assertThat(t.inputSchema().type()).isEqualTo("object");
            assertThat(t.outputSchema()).as(t.name()).containsEntry("type", "object");
            assertThat(t.description()).as(t.name()).hasSizeGreaterThan(30);
        }
        McpSchema.Tool exec = tools.stream().filter(t -> t.name().equals("workspace_exec")).findFirst().orElseThrow();
        assertThat(exec.inputSchema().required()).containsExactly("workspace", "command");
    }

    @Test
    @SuppressWarnings("unchecked")
    void runsOneShotCommandsAndReportsFailuresAsResults() {
        Map<String, Object> r = ok("run", Map.of("env", image, "command", List.of("sh", "-c", "echo hi; pwd"),
                "env_vars", Map.of("X", "1")));
        assertThat(r).containsEntry("exit_code", 0).containsEntry("stdout", "hi\n/srv\n");
        McpSchema.CallToolResult failed = call("run", Map.of("env", image, "command", List.of("sh", "-c",
                "echo oops >&2; exit 3")));
        assertThat(failed.isError()).isTrue();
        assertThat((Map<String, Object>) failed.structuredContent()).containsEntry("exit_code", 3)
                .containsEntry("stderr", "oops\n");
        assertThat(invalid("run", Map.of("env", image, "network", true, "command", List.of("true"))))
                .contains("--allow-network");
        assertThat(invalid("run", Map.of("command", List.of("true")))).contains("missing argument 'env'");
        assertThat(invalid("run", Map.of("env", image, "timeout", "soon"))).contains("'timeout' must be a number");
        assertThat(invalid("run", Map.of("env", image, "bogus", 1))).contains("unknown argument 'bogus'");
        McpSchema.CallToolResult missing = call("run", Map.of("env", registry.hostPort() + "/sandbox/none:1",
                "command", List.of("true")));
        assertThat(missing.isError()).isTrue();
        assertThat((Map<String, Object>) missing.structuredContent()).containsKey("error");
    }

    @Test
    @SuppressWarnings("unchecked")
    void environmentAndMaintenanceTools() {
        assertThat(ok("env_list", Map.of())).containsKey("environments");
        McpSchema.CallToolResult unknown = call("env_inspect", Map.of("name", "nosuch:1"));
        assertThat(unknown.isError()).isTrue();
        assertThat(((Map<String, Object>) unknown.structuredContent()).get("error").toString()).contains("nosuch");
        assertThat(call("env_pull", Map.of("name", "nosuch:1")).isError()).isTrue();
        assertThat(ok("env_prune", Map.of())).containsKey("count");
        assertThat(ok("reap", Map.of())).containsKeys("removed", "orphans");
    }

    @Test
    @SuppressWarnings("unchecked")
    void workspaceRoundTrip() throws Exception {
        assertThat(invalid("workspace_create", Map.of("env", image, "seed", "/etc"))).contains("outside the allowed");
        assertThat(invalid("workspace_create", Map.of("env", image, "seed", shared.resolve("allowed/escape")
                .toString()))).contains("outside the allowed");
        Map<String, Object> w = ok("workspace_create", Map.of("env", image, "seed",
                shared.resolve("allowed/project").toString(), "name", "proj"));
        String id = (String) w.get("id");
        try {
            assertThat(w).containsEntry("status", "running").containsEntry("ttl_seconds", 3600.0);
            assertThat(invalid("workspace_create", Map.of("env", image))).contains("--max-workspaces");
            Map<String, Object> e = ok("workspace_exec", Map.of("workspace", "proj", "command",
                    List.of("sh", "-c", "pwd; cat a.txt")));
            assertThat(e).containsEntry("stdout", "/workspace\nalpha\n");
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
            Map<String, Object> d = ok("workspace_diff", Map.of("workspace", id));
            assertThat((List<Map<String, Object>>) d.get("changes")).extracting(c -> c.get("path"))
                    .containsExactlyInAnyOrder("bin.dat", "go");
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
            ok("workspace_snapshot_delete", Map.of("workspace", id, "name", "s1"));
            McpSchema.CallToolResult failing = call("workspace_exec", Map.of("workspace", id, "command",
                    List.of("sh", "-c", "exit 4")));
            assertThat(failing.isError()).isTrue();
            assertThat((Map<String, Object>) failing.structuredContent()).containsEntry("exit_code", 4);
            assertThat((List<Map<String, Object>>) ok("workspace_logs", Map.of("workspace", id)).get("logs"))
                    .extracting(l -> l.get("exit_code")).contains(0, 4);
            assertThat(ok("workspace_stop", Map.of("workspace", id))).containsEntry("status", "stopped");
            assertThat(ok("workspace_status", Map.of("workspace", id))).containsEntry("status", "stopped");
            assertThat(ok("workspace_start", Map.of("workspace", id))).containsEntry("status", "running");
            assertThat((List<Map<String, Object>>) ok("workspace_list", Map.of()).get("workspaces"))
                    .extracting(x -> x.get("id")).containsExactly(id);
        } finally {
            assertThat(ok("workspace_delete", Map.of("workspace", id))).containsEntry("removed", true);
        }
        McpSchema.CallToolResult gone = call("workspace_status", Map.of("workspace", id));
        assertThat(gone.isError()).isTrue();
    }

    @Test
    void refusesTheCommandOfABadArgumentWithoutStopping() {
        assertThatThrownBy(() -> call("workspace_exec", Map.of("workspace", "-x", "command", List.of("true"))))
                .isInstanceOf(McpError.class).hasMessageContaining("cannot start with '-'");
        assertThat(ok("workspace_list", Map.of())).containsKey("workspaces");
    }
}
