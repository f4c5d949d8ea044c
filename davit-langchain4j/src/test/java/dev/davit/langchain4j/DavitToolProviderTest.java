package dev.davit.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.davit.mcp.DavitTools;
import dev.davit.oci.testkit.BusyboxImage;
import dev.davit.sandbox.workspace.Workspaces;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.internal.JsonSchemaElementUtils;
import dev.langchain4j.service.AiServices;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LangChain4j adapter as an agent uses it: AiServices with a chat model of the framework's own interface (a
 * script) calling davit's tools, which run real container sandboxes over a busybox image from a real registry.
 */
class DavitToolProviderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    static BusyboxImage.Served busybox;

    @TempDir
    Path home;

    /** The agent's interface, as a LangChain4j user writes one. */
    interface Agent {
        String chat(String request);
    }

    @BeforeAll
    static void image() throws Exception {
        busybox = BusyboxImage.serve(shared);
    }

    @AfterAll
    static void stop() {
        if (busybox != null) {
            busybox.close();
        }
    }

    private DavitToolProvider.Builder provider() {
        return DavitToolProvider.builder().home(home).environment(Map.of("DAVIT_HOME", home.toString()))
                .allowRegistry(busybox.registry().hostPort()).allowUnlimited(true).log(new PrintStream(
                        new ByteArrayOutputStream()));
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (java.io.IOException e) {
            throw new AssertionError(text, e);
        }
    }

    @Test
    void theToolsAreTheMcpServersToTheLetter() throws Exception {
        try (DavitTools mcp = DavitTools.builder().home(home).environment(Map.of()).allowUnlimited(true).log(
                new PrintStream(new ByteArrayOutputStream())).build(); DavitToolProvider davit = provider().build()) {
            List<ToolSpecification> specs = davit.specifications();
            assertThat(specs).extracting(ToolSpecification::name).containsExactlyElementsOf(mcp.specs().stream()
                    .map(DavitTools.Spec::name).toList()).contains("workspace_create", "workspace_exec",
                    "workspace_file_write");
            for (int i = 0; i < specs.size(); i++) {
                ToolSpecification s = specs.get(i);
                assertThat(s.description()).isEqualTo(mcp.specs().get(i).description());
                // the JSON Schema the framework sends the model is the one tools/list sends
                // (additionalProperties: false is the parameters', which LangChain4j sends in strict mode alone)
                // (and an empty required list, which says what no list says)
                Map<String, Object> sent = new java.util.LinkedHashMap<>(JsonSchemaElementUtils.toMap(s.parameters()));
                sent.remove("required", List.of());
                com.fasterxml.jackson.databind.node.ObjectNode listed = (com.fasterxml.jackson.databind.node.ObjectNode)
                        json(mcp.specs().get(i).inputSchema());
                assertThat(listed.remove("additionalProperties").asBoolean(true)).isFalse();
                assertThat(s.parameters().additionalProperties()).isFalse();
                assertThat((JsonNode) JSON.valueToTree(sent)).as(s.name()).isEqualTo(listed);
            }
        }
    }

    @Test
    void anAgentWorksInAWorkspaceAndCloseRemovesIt() {
        ScriptedModel model = new ScriptedModel(List.of(
                ScriptedModel.call("workspace_create", r -> "{\"environment\": \"" + busybox.image() + "\","
                        + " \"name\": \"calc\"}"),
                ScriptedModel.call("workspace_file_write", r -> "{\"workspace\": \"calc\", \"path\": \"calc.sh\","
                        + " \"content\": \"echo $((6 * 7))\\n\"}"),
                ScriptedModel.call("workspace_exec", r -> "{\"workspace\": \"calc\", \"command\": [\"sh\","
                        + " \"calc.sh\"]}"),
                // a wrong call: the model reads why, the agent goes on
                ScriptedModel.call("workspace_exec", r -> "{\"workspace\": \"calc\"}"),
                r -> AiMessage.from("calc.sh printed " + json(r.get(2)).path("stdout").asText().strip())));
        try (DavitToolProvider davit = provider().build()) {
            Agent agent = AiServices.builder(Agent.class).chatModel(model).toolProvider(davit).build();
            String answer = agent.chat("What does 6 * 7 print in a shell?");
            assertThat(answer).isEqualTo("calc.sh printed 42");
            assertThat(model.offered.getFirst()).contains("workspace_create", "workspace_exec");
            JsonNode made = json(model.results.get(0));
            assertThat(made.path("id").asText()).startsWith("ws-");
            assertThat(json(model.results.get(2)).path("exit_code").asInt()).isZero();
            JsonNode wrong = json(model.results.get(3));
            assertThat(wrong.at("/error/kind").asText()).isEqualTo("usage");
            assertThat(wrong.at("/error/message").asText()).contains("command");
            assertThat(Workspaces.under(home).list()).extracting(w -> w.name()).containsExactly("calc");

            // another provider on the same home reaches none of them: no such workspace
            try (DavitToolProvider other = provider().build()) {
                JsonNode denied = json(other.call("workspace_exec", "{\"workspace\": \"calc\", \"command\":"
                        + " [\"true\"]}"));
                assertThat(denied.at("/error/kind").asText()).isEqualTo("not_found");
            }
        }
        assertThat(Workspaces.under(home).list()).isEmpty();
    }

    @Test
    void closeCancelsARunningCallAndRemovesItsWorkspace() throws Exception {
        DavitToolProvider davit = provider().build();
        assertThat(json(davit.call("workspace_create", "{\"environment\": \"" + busybox.image() + "\","
                + " \"name\": \"long\"}")).path("id").asText()).startsWith("ws-");
        java.util.concurrent.CompletableFuture<String> running = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> davit.call("workspace_exec", "{\"workspace\": \"long\", \"command\": [\"sleep\","
                        + " \"60\"]}"));
        Thread.sleep(1500); // the command runs
        long t0 = System.nanoTime();
        davit.close();
        JsonNode ended = json(running.get(30, java.util.concurrent.TimeUnit.SECONDS));
        assertThat((System.nanoTime() - t0) / 1_000_000_000L).as(ended.toString()).isLessThan(30);
        assertThat(ended.path("exit_code").asInt(0) != 0 || ended.has("error")).as(ended.toString()).isTrue();
        assertThat(json(davit.call("workspace_list", "{}")).at("/error/kind").asText()).isEqualTo("state");
        assertThat(Workspaces.under(home).list()).isEmpty();
    }

    @Test
    void eachProviderHasItsOwnWorkspacesToCount() {
        String create = "{\"environment\": \"" + busybox.image() + "\"}";
        try (DavitToolProvider one = provider().maxWorkspaces(1).build();
             DavitToolProvider two = provider().maxWorkspaces(1).build()) {
            assertThat(json(one.call("workspace_create", create)).path("id").asText()).startsWith("ws-");
            // the other's workspace (same owner, langchain4j) neither counts here nor shows
            assertThat(json(two.call("workspace_create", create)).path("id").asText()).startsWith("ws-");
            JsonNode full = json(two.call("workspace_create", create));
            assertThat(full.at("/error/message").asText()).as(full.toString()).contains("1");
            assertThat(json(two.call("workspace_list", "{}")).get("workspaces")).hasSize(1);
        }
        assertThat(Workspaces.under(home).list()).isEmpty();
    }

    @Test
    void theCodeEngineRunsCodeOnceWithNoNetwork() {
        try (DavitCodeExecutionEngine sh = DavitCodeExecutionEngine.builder().environment(busybox.image())
                .interpreter("sh", "-c").home(home).allowUnlimited(true).build()) {
            JsonNode r = json(sh.execute("echo $((6 * 7)); cat /proc/net/dev"));
            assertThat(r.path("exit_code").asInt()).as(r.toString()).isZero();
            assertThat(r.path("stdout").asText()).startsWith("42\n").contains("lo:");
            // no network: the loopback device alone
            assertThat(r.path("stdout").asText().lines().filter(l -> l.contains(":")).toList()).hasSize(1);
            JsonNode failed = json(sh.execute("exit 3"));
            assertThat(failed.path("exit_code").asInt()).isEqualTo(3);
        }
        assertThat(Workspaces.under(home).list()).isEmpty();
    }
}
