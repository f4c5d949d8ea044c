package dev.davit.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.Action;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tool table as each profile shows it: every text names only tools of its profile, every tool has a title and
 * annotations, and the schemas say what the calls accept (enums, defaults, bounds).
 */
class ToolProfilesTest {
    /** A tool's name in running text. */
    private static final Pattern TOOL = Pattern.compile("\\b(?:(?:env|workspace)_[a-z_]+|reap)\\b");

    @TempDir
    Path home;

    private DavitMcpServer server(String profile) {
        return new DavitMcpServer(new DavitMcpServer.Options(profile, List.of(), false, 8, Duration.ofHours(1), false,
                home, Map.of("DAVIT_HOME", home.toString()), System.err, "test", List.of(), 0));
    }

    @Test
    void eachProfileNamesOnlyItsOwnTools() {
        Map<String, Integer> sizes = new HashMap<>();
        for (String profile : List.of("run", "core", "full")) {
            try (DavitMcpServer s = server(profile)) {
                Set<String> offered = Set.copyOf(s.tools().stream().map(Tool::name).toList());
                sizes.put(profile, offered.size());
                List<String> texts = new ArrayList<>(List.of(s.instructions()));
                for (Tool t : s.tools()) {
                    McpSchema.Tool schema = t.toSchema(offered);
                    texts.add(schema.description());
                    schema.inputSchema().properties().values().forEach(p -> texts.add(String.valueOf(
                            ((Map<?, ?>) p).get("description"))));
                    ((Map<?, ?>) schema.outputSchema().get("properties")).values().forEach(p -> texts.add(
                            String.valueOf(((Map<?, ?>) p).get("description"))));
                    assertThat(schema.title()).as(t.name()).isNotBlank();
                    assertThat(schema.annotations()).as(t.name()).isNotNull();
                    assertThat(schema.annotations().readOnlyHint()).as(t.name()).isNotNull();
                }
                for (String text : texts) {
                    Matcher m = TOOL.matcher(text);
                    while (m.find()) {
                        assertThat(offered).as(profile + ": '" + text + "' names " + m.group()).contains(m.group());
                    }
                    assertThat(text).as(profile).doesNotContain("[[");
                }
            }
        }
        assertThat(sizes.get("run")).isEqualTo(3);
        assertThat(sizes.get("core")).isGreaterThan(sizes.get("run")).isLessThan(sizes.get("full"));
    }

    /**
     * What docs/reference/mcp/OPTIONS.md says of the profiles is what the server offers: their counts (stated there
     * only: DocFactsTest), and the core profile's row of its table names exactly its tools (a tool added to a profile
     * must be added there).
     */
    @Test
    void theDocsCountEachProfilesTools() throws Exception {
        Map<String, Set<String>> offered = new HashMap<>();
        for (String profile : List.of("run", "core", "full")) {
            try (DavitMcpServer s = server(profile)) {
                offered.put(profile, Set.copyOf(s.tools().stream().map(Tool::name).toList()));
            }
        }
        String mcp = java.nio.file.Files.readString(Path.of("../docs/reference/mcp/OPTIONS.md"));
        Matcher m = Pattern.compile("`run` (\\d+) tools, `core` (\\d+), `full` all (\\d+)").matcher(mcp);
        assertThat(m.find()).as("the docs count the tools: " + m.pattern()).isTrue();
        assertThat(List.of(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                Integer.parseInt(m.group(3)))).as(m.pattern().pattern()).containsExactly(
                offered.get("run").size(), offered.get("core").size(), offered.get("full").size());
        Matcher row = Pattern.compile("\\| `core` \\(default\\) \\|([^\\n]*)\\|").matcher(mcp);
        assertThat(row.find()).as("mcp/OPTIONS.md's profile table has a core row").isTrue();
        Set<String> named = new java.util.TreeSet<>();
        Matcher t = TOOL.matcher(row.group(1));
        while (t.find()) {
            named.add(t.group());
        }
        Set<String> core = new java.util.TreeSet<>(offered.get("core"));
        core.removeAll(offered.get("run"));
        assertThat(named).as("the core row of mcp/OPTIONS.md's profile table").isEqualTo(core);
    }

    /**
     * The full profile's tools/list (the result as the server writes it) is no larger than docs/reference/mcp/OPTIONS.md says, and the
     * bound stated there is not stale (within 2 KB of the size): a tool or a description that grows it must say so.
     */
    @Test
    void theFullProfilesToolsListIsAsLargeAsTheDocsSay() throws Exception {
        Matcher stated = Pattern.compile("`tools/list` of `full` is at most (\\d+) KB").matcher(
                java.nio.file.Files.readString(Path.of("../docs/reference/mcp/OPTIONS.md")));
        assertThat(stated.find()).as("docs/reference/mcp/OPTIONS.md states the bound").isTrue();
        long bound = Long.parseLong(stated.group(1)) * 1000;
        try (DavitMcpServer s = server("full")) {
            List<McpSchema.Tool> tools = s.specifications().stream().map(t -> t.tool()).toList();
            int size = s.mapper().writeValueAsString(new McpSchema.ListToolsResult(tools, null))
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            assertThat(size).as("bytes of tools/list").isLessThanOrEqualTo((int) bound).isGreaterThan((int) bound
                    - 2000);
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void schemasSayWhatCallsAccept() {
        try (DavitMcpServer s = server("full")) {
            Set<String> offered = Set.copyOf(s.tools().stream().map(Tool::name).toList());
            Map<String, McpSchema.Tool> byName = new HashMap<>();
            s.tools().forEach(t -> byName.put(t.name(), t.toSchema(offered)));
            Map<String, Object> create = byName.get("workspace_create").inputSchema().properties();
            assertThat((Map<String, Object>) create.get("backend")).containsEntry("enum", List.of("container", "vm"));
            Map<String, Object> exec = byName.get("workspace_exec").inputSchema().properties();
            assertThat((Map<String, Object>) exec.get("timeout")).containsEntry("exclusiveMinimum", 0);
            assertThat(((Number) ((Map<String, Object>) exec.get("output_limit")).get("default")).longValue())
                    .isEqualTo(16384);
            assertThat(byName.get("workspace_file_read").annotations().readOnlyHint()).isTrue();
            assertThat(byName.get("workspace_remove").annotations().destructiveHint()).isTrue();
            assertThat((List<Object>) byName.get("workspace_exec").outputSchema().get("anyOf")).hasSize(2);
            Tool run = s.tools().stream().filter(t -> t.name().equals("run")).findFirst().orElseThrow();
            Map<String, Object> args = new HashMap<>(Map.of("environment", "x", "timeout", 0));
            assertThatThrownBy(() -> run.validate(args)).isInstanceOf(McpError.class)
                    .hasMessageContaining("'timeout' must be a number > 0");
            Tool create2 = s.tools().stream().filter(t -> t.name().equals("workspace_create")).findFirst()
                    .orElseThrow();
            assertThatThrownBy(() -> create2.validate(Map.of("environment", "x", "backend", "docker")))
                    .isInstanceOf(McpError.class).hasMessageContaining("one of container, vm");
            assertThat(run.withDefaults(new HashMap<>(Map.of("environment", "x")))).containsEntry("output_limit", 16384L);
        }
    }

    @Test
    void errorsSpeakOfArgumentsAndTools() {
        try (DavitMcpServer s = server("full")) {
            ModelWords words = new ModelWords(s.tools());
            assertThat(words.text(Message.of("service web was not ready within 30 s (if it only starts slowly, ",
                    Action.LONGER_READY_TIMEOUT.fix(), "); see ", Action.SERVICE_LOGS.fix("ws-1", "web"))))
                    .isEqualTo("service web was not ready within 30 s (if it only starts slowly, give a longer"
                            + " 'ready_timeout'); see workspace_service_logs");
            assertThat(words.text(Message.of("workspace ws-1 is stopped; start it with ",
                    Action.START_WORKSPACE.fix("ws-1")))).isEqualTo("workspace ws-1 is stopped; start it with"
                    + " workspace_start");
            assertThat(words.text(Message.of("workspace ws-1 has 16 services running (the most); stop one first with ",
                    Action.STOP_A_SERVICE.fix("ws-1")))).isEqualTo("workspace ws-1 has 16 services running (the"
                    + " most); stop one first with workspace_service_stop");
            assertThat(words.text(Message.of("workspace ws-1 has 16 shells open (the most); close one first with ",
                    Action.CLOSE_SHELL.fix("ws-1")))).isEqualTo("workspace ws-1 has 16 shells open (the most);"
                    + " close one first with workspace_shell_close");
            assertThat(words.text(Message.of(Input.PUBLISH, " needs ", Input.NETWORK, " (the sandbox's own network"
                    + " namespace); see ", Action.LIST_WORKSPACES.fix())))
                    .isEqualTo("'publish' needs 'network' (the sandbox's own network namespace); see workspace_list");
        }
        try (DavitMcpServer s = server("run")) { // a tool the profile lacks is not named: plain words instead
            ModelWords words = new ModelWords(s.tools());
            assertThat(words.text(Message.of("see ", Action.START_WORKSPACE.fix("ws-1"))))
                    .isEqualTo("see start the workspace");
        }
    }
}
