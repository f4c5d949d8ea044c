package dev.davit.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MCP server's tools called in process: what they offer is what {@code tools/list} says on the wire, and what
 * a wrong call gets is a result the model reads, never an exception.
 */
class DavitToolsTest {
    @TempDir
    Path home;

    private DavitTools.Builder builder() {
        return DavitTools.builder().home(home).environment(Map.of("DAVIT_HOME", home.toString()))
                .allowUnlimited(true).log(new PrintStream(new ByteArrayOutputStream()));
    }

    /** {@code tools/list} of a server with {@code profile} over stdio, as a client reads it. */
    private JsonNode toolsList(String profile) throws Exception {
        String in = String.join("\n",
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
                        + "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}",
                "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
                "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", "");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (DavitMcpServer server = new DavitMcpServer(new DavitMcpServer.Options(profile, List.of(), false, 8,
                Duration.ofHours(1), false, home, Map.of("DAVIT_HOME", home.toString()), new PrintStream(
                new ByteArrayOutputStream()), "test", List.of(), 0))) {
            McpServe.stdio(server, new ByteArrayInputStream(in.getBytes(StandardCharsets.UTF_8)), out);
        }
        for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
            JsonNode m = Json.mapper().readTree(line);
            if (m.path("id").asInt() == 2) {
                return m.path("result").path("tools");
            }
        }
        throw new AssertionError("no tools/list answer in " + out);
    }

    @Test
    void theSpecsAreWhatToolsListSaysOnTheWire() throws Exception {
        for (String profile : List.of("run", "core", "full")) {
            JsonNode wire = toolsList(profile);
            try (DavitTools tools = builder().tools(profile).build()) {
                assertThat(tools.specs()).hasSize(wire.size());
                for (int i = 0; i < wire.size(); i++) {
                    JsonNode w = wire.get(i);
                    DavitTools.Spec s = tools.specs().get(i);
                    assertThat(s.name()).isEqualTo(w.get("name").asText());
                    assertThat(s.title()).isEqualTo(w.get("title").asText());
                    assertThat(s.description()).isEqualTo(w.get("description").asText());
                    assertThat(Json.mapper().readTree(s.inputSchema())).as(s.name()).isEqualTo(w.get("inputSchema"));
                    assertThat(Json.mapper().readTree(s.outputSchema())).as(s.name())
                            .isEqualTo(w.get("outputSchema"));
                    assertThat(s.readOnly()).isEqualTo(w.path("annotations").path("readOnlyHint").asBoolean());
                    assertThat(s.destructive()).isEqualTo(w.path("annotations").path("destructiveHint")
                            .asBoolean());
                }
            }
        }
    }

    @Test
    void aWrongCallIsAResultTheModelReads() throws Exception {
        try (DavitTools tools = builder().build()) {
            DavitTools.Result unknown = tools.call("rm_rf", "{}");
            assertThat(unknown.isError()).isTrue();
            JsonNode u = Json.mapper().readTree(unknown.json()).get("error");
            assertThat(u.get("kind").asText()).isEqualTo("usage");
            assertThat(u.get("message").asText()).startsWith("unknown tool 'rm_rf'").contains("workspace_create");
            assertThat(u.get("exit_code").asInt()).isEqualTo(DavitException.Kind.USAGE.exitCode());

            DavitTools.Result notJson = tools.call("workspace_list", "{nope");
            assertThat(notJson.isError()).isTrue();
            assertThat(notJson.json()).contains("are not JSON");
            assertThat(tools.call("workspace_list", "[1]").json()).contains("must be a JSON object, got array");

            // a schema's refusal: invalid params on the wire, a usage result here
            DavitTools.Result missing = tools.call("workspace_exec", "{\"command\": [\"true\"]}");
            assertThat(missing.isError()).isTrue();
            assertThat(Json.mapper().readTree(missing.json()).at("/error/message").asText()).contains("workspace");

            // a workspace another caller made is "no such workspace", as for an MCP server's model
            DavitTools.Result other = tools.call("workspace_exec", "{\"workspace\": \"ws-0123456789ab\","
                    + " \"command\": [\"true\"]}");
            assertThat(other.isError()).isTrue();

            DavitTools.Result list = tools.call("workspace_list", null);
            assertThat(list.isError()).isFalse();
            assertThat(Json.mapper().readTree(list.json()).get("workspaces")).isEmpty();
        }
    }

    /** One call per deprecated name (docs/DESIGN.md, "Vocabulary"): it works as the new name and says what to use. */
    @Test
    void deprecatedNamesStillWorkAndSaySo() throws Exception {
        try (DavitTools tools = builder().tools("full").build()) {
            Map<String, String> calls = new java.util.LinkedHashMap<>();
            calls.put("workspace_delete", "{\"workspace\": \"ws-nope\"}");
            calls.put("workspace_snapshot_delete", "{\"workspace\": \"ws-nope\", \"name\": \"s\"}");
            calls.put("workspace_exec.cwd", "{\"workspace\": \"ws-nope\", \"command\": [\"true\"], \"cwd\": \"src\"}");
            calls.put("workspace_exec.background", "{\"workspace\": \"ws-nope\", \"command\": [\"true\"],"
                    + " \"background\": true}");
            calls.put("workspace_exec.env_vars", "{\"workspace\": \"ws-nope\", \"command\": [\"true\"],"
                    + " \"env_vars\": {\"A\": \"1\"}}");
            calls.put("workspace_update.remove_env_vars", "{\"workspace\": \"ws-nope\", \"remove_env_vars\": [\"A\"]}");
            calls.forEach((old, args) -> {
                String tool = old.contains(".") ? old.substring(0, old.indexOf('.')) : old;
                DavitTools.Result r = tools.call(tool, args);
                JsonNode doc = read(r.json());
                // it reached the workspace lookup as the new name would: no such workspace
                assertThat(doc.at("/error/kind").asText()).as(old + ": " + r.json()).isEqualTo("not_found");
                String name = old.contains(".") ? old.substring(old.indexOf('.') + 1) : old;
                assertThat(doc.path("deprecated").toString()).as(old).contains("'" + name + "' is deprecated");
                assertThat(tools.specs()).noneMatch(s -> s.name().equals(name) || s.inputSchema().contains(
                        "\"" + name + "\":"));
            });
            assertThat(read(tools.call("workspace_exec", "{\"workspace\": \"ws-nope\", \"command\": [\"true\"],"
                    + " \"cwd\": \"a\", \"workdir\": \"b\"}").json()).at("/error/message").asText())
                    .contains("give 'workdir' only ('cwd' is its deprecated name)");
            assertThat(read(tools.call("workspace_remove", "{\"workspace\": \"ws-nope\"}").json()).has("deprecated"))
                    .isFalse();
            JsonNode envs = read(tools.call("env_list", "{}").json());
            assertThat(envs.get("environments")).as(envs.toString()).isNotEmpty();
            assertThat(envs.path("deprecated").toString()).contains("tool 'env_list' is deprecated")
                    .contains("'environment_list'");
            Map.of("env_inspect", "{\"name\": \"nosuch:1\"}", "env_prune", "{}").forEach((old, args) -> {
                JsonNode r = read(tools.call(old, args).json());
                assertThat(r.path("deprecated").toString()).as(r.toString()).contains("tool '" + old + "' is deprecated");
            });
            // a refusal of its arguments is invalid params (no result to note it in), but the tool is known
            assertThat(read(tools.call("env_pull", "{}").json()).at("/error/message").asText())
                    .contains("missing argument 'name'");
        }
        // an environment given as 'env' (a string), as before 'environment'
        try (DavitMcpServer server = server("run")) {
            Tool run = server.tools().stream().filter(t -> t.name().equals("run")).findFirst().orElseThrow();
            Map<String, Object> a = new java.util.HashMap<>(Map.of("env", "debian:12", "env_vars", Map.of("A", "1")));
            assertThat(Aliases.apply(run, a, null)).hasSize(2);
            assertThat(a).containsEntry("environment", "debian:12").containsEntry("env", Map.of("A", "1"));
            run.validate(a);
        }
    }

    /** A client's call of a deprecated tool name on the wire: tools/call takes it as the tool's name now. */
    @Test
    void aDeprecatedToolNameWorksOnTheWire() throws Exception {
        byte[] call = ("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
                + "\"workspace_delete\",\"arguments\":{\"workspace\":\"ws-nope\"}}}").getBytes(StandardCharsets.UTF_8);
        CancelTap.Tagged t = CancelTap.tag(call, "s", true, java.util.Set.of("workspace_remove"), id -> { });
        assertThat(t.answer()).isNull();
        JsonNode forwarded = Json.mapper().readTree(t.forward());
        assertThat(forwarded.at("/params/name").asText()).isEqualTo("workspace_remove");
        assertThat(forwarded.at("/params/_meta").path(Aliases.USED_TOOL).asText()).isEqualTo("workspace_delete");
        // an old name of a tool the server does not offer is an unknown tool, as any other
        assertThat(CancelTap.tag(call, "s", true, java.util.Set.of("run"), id -> { }).answer()).isNotNull();
    }

    private DavitMcpServer server(String profile) {
        return new DavitMcpServer(new DavitMcpServer.Options(profile, List.of(), false, 8, Duration.ofHours(1), false,
                home, Map.of("DAVIT_HOME", home.toString()), new PrintStream(new ByteArrayOutputStream()), "test",
                List.of(), 0));
    }

    private static JsonNode read(String json) {
        try {
            return Json.mapper().readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void theCatalogIsThere() throws Exception {
        try (DavitTools tools = builder().build()) {
            DavitTools.Result envs = tools.call("environment_list", "{}");
            assertThat(envs.isError()).as(envs.json()).isFalse();
            assertThat(Json.mapper().readTree(envs.json()).get("environments")).isNotEmpty();
        }
    }

    @Test
    void aReferenceNoFileCanHoldIsNoSuchWorkspace() throws Exception {
        try (DavitTools tools = builder().build()) {
            DavitTools.Result r = tools.call("workspace_exec", "{\"workspace\": \"ws-\\u0000\","
                    + " \"command\": [\"true\"]}");
            assertThat(r.isError()).isTrue();
            assertThat(Json.mapper().readTree(r.json()).at("/error/kind").asText()).isEqualTo("not_found");
        }
    }

    @Test
    void closedToolsSaySo() throws Exception {
        DavitTools tools = builder().build();
        tools.close();
        DavitTools.Result r = tools.call("workspace_list", "{}");
        assertThat(r.isError()).isTrue();
        assertThat(Json.mapper().readTree(r.json()).at("/error/message").asText()).startsWith("the tools are closed");
    }

    @Test
    void theServersChecksNameTheMethods() {
        assertThatThrownBy(() -> builder().owner("two words").build())
                .hasMessageStartingWith("owner(String) must be 1 to 64 letters");
        assertThatThrownBy(() -> builder().publishPorts(10, 5).build())
                .hasMessageStartingWith("publishPorts(int, int) needs LOW-HIGH");
        assertThatThrownBy(() -> builder().backend("docker").build()).hasMessageContaining("backend(String)")
                .hasMessageNotContaining("--");
        assertThat(DavitTools.Options.methods("--max-memory must be at least 1024; see --allow-unlimited"))
                .isEqualTo("maxMemory(long) must be at least 1024; see allowUnlimited(boolean)");
    }

    @Test
    void anOptionOutOfRangeNamesItsMethod() {
        assertThatThrownBy(() -> builder().maxWorkspaces(0).build()).isInstanceOf(DavitException.class)
                .hasMessage("maxWorkspaces(int) must be at least 1, got 0");
        assertThatThrownBy(() -> builder().maxWorkspaces(2).warm(3).build())
                .hasMessage("warm(int) must be between 0 and maxWorkspaces(int) (2), got 3");
        assertThatThrownBy(() -> builder().ttl(Duration.ZERO).build())
                .hasMessage("ttl(Duration) must be between a millisecond and 10^9 seconds, got PT0S");
        assertThatThrownBy(() -> builder().ttl(Duration.ofSeconds(Long.MAX_VALUE)).build())
                .hasMessageStartingWith("ttl(Duration) must be between");
        assertThatThrownBy(() -> builder().tools("most").build())
                .hasMessage("tools(String) must be run, core or full, got 'most'");
    }
}
