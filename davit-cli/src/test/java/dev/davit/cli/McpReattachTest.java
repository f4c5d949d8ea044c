package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A background exec outlives the MCP server that started it: the server exits (its client gone) while the command
 * runs, and the next server on the same home and owner finds the workspace and the exec by their ids, waits for its
 * end, reads all of its output and its shell's too. Two real {@code davit mcp serve} processes over stdio, container
 * sandboxes over a busybox image from a real registry.
 */
class McpReattachTest {
    @TempDir
    Path dir;

    private static McpSyncClient server(Path home, TestRegistry registry) {
        String java = ProcessHandle.current().info().command().orElse("java");
        ServerParameters params = ServerParameters.builder(java).args("--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.davit.cli.Main", "mcp", "serve", "--tools", "full",
                "--allow-registry", registry.hostPort())
                .env(Map.of("DAVIT_HOME", home.toString(), "PATH", System.getenv("PATH"))).build();
        McpSyncClient c = McpClient.sync(new StdioClientTransport(params, new JacksonMcpJsonMapper(Json.mapper())))
                .requestTimeout(Duration.ofMinutes(3)).build();
        c.initialize();
        return c;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> ok(McpSyncClient c, String tool, Map<String, Object> args) {
        McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest(tool, args));
        assertThat(r.isError()).as(tool + ": " + r).isFalse();
        return (Map<String, Object>) r.structuredContent();
    }

    @Test
    void aBackgroundExecAndAShellAreFoundAgainByTheNextServer() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox", Tools.REGISTRY);
        try (TestRegistry registry = TestRegistry.start()) {
            String image = BusyboxImage.push(dir, registry);
            Path home = dir.resolve("home");
            McpSyncClient first = server(home, registry);
            String id;
            String exec;
            String shell;
            try {
                id = (String) ok(first, "workspace_create", Map.of("environment", image, "name", "proj")).get("id");
                exec = (String) ok(first, "workspace_exec", Map.of("workspace", "proj", "detach", true,
                        "command", List.of("sh", "-c", "echo started; sleep 3; echo done; exit 5"))).get("exec_id");
                shell = (String) ok(first, "workspace_shell_open", Map.of("workspace", "proj")).get("id");
                ok(first, "workspace_shell_write", Map.of("workspace", "proj", "shell", shell,
                        "data", "echo from-the-first-$((40+2))\n"));
            } finally {
                first.closeGracefully(); // the server exits with its client
            }
            McpSyncClient next = server(home, registry);
            try {
                Map<String, Object> w = ok(next, "workspace_status", Map.of("workspace", "proj"));
                assertThat(w).containsEntry("id", id);
                Map<String, Object> waited = Map.of("state", "running");
                for (int i = 0; i < 5 && "running".equals(waited.get("state")); i++) {
                    waited = ok(next, "workspace_exec_wait", Map.of("workspace", "proj", "exec_id", exec,
                            "timeout", 30));
                }
                assertThat(waited).containsEntry("state", "exited").containsEntry("exit_code", 5);
                assertThat((String) waited.get("output_tail")).isEqualTo("started\ndone\n");
                Map<String, Object> page = ok(next, "workspace_exec_output", Map.of("workspace", "proj",
                        "exec_id", exec));
                assertThat(page.get("content")).isEqualTo("started\ndone\n");
                String screen = "";
                for (int i = 0; i < 10 && !screen.contains("from-the-first-42"); i++) {
                    screen += ok(next, "workspace_shell_read", Map.of("workspace", "proj", "shell", shell,
                            "wait_ms", 1000)).get("output");
                }
                assertThat(screen).contains("from-the-first-42");
                ok(next, "workspace_shell_close", Map.of("workspace", "proj", "shell", shell));
                ok(next, "workspace_remove", Map.of("workspace", "proj"));
            } finally {
                next.closeGracefully();
            }
        }
    }
}
