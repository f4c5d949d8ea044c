package dev.davit.spring.ai;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.davit.mcp.DavitTools;
import dev.davit.oci.testkit.BusyboxImage;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.ai.model.tool.ToolExecutionResult;
import org.springframework.ai.tool.ToolCallback;

/**
 * The Spring AI adapter as an agent uses it: Spring AI's own tool calling (its ToolCallingManager) between a chat
 * model of the framework's interface (a script) and davit's tools, which run real container sandboxes over a busybox
 * image from a real registry.
 */
class DavitToolCallbackProviderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path shared;
    static BusyboxImage.Served busybox;

    @TempDir
    Path home;

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

    private DavitToolCallbackProvider.Builder provider() {
        return DavitToolCallbackProvider.builder().home(home).environment(Map.of("DAVIT_HOME", home.toString()))
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

    /** A chat model that plays a script: each turn reads the tool results so far and calls a tool or answers. */
    private static ChatModel scripted(List<Function<List<String>, AssistantMessage>> steps, List<String> seen) {
        return new ChatModel() {
            private int turn;

            @Override
            public ChatResponse call(Prompt prompt) {
                seen.clear();
                for (Message m : prompt.getInstructions()) {
                    if (m instanceof ToolResponseMessage t) {
                        t.getResponses().forEach(r -> seen.add(r.responseData()));
                    }
                }
                return new ChatResponse(List.of(new Generation(steps.get(turn++).apply(List.copyOf(seen)))));
            }
        };
    }

    private static Function<List<String>, AssistantMessage> call(String name, String args) {
        return r -> AssistantMessage.builder().content("").toolCalls(List.of(new AssistantMessage.ToolCall(
                "call-" + r.size(), "function", name, args))).build();
    }

    @Test
    void theToolsAreTheMcpServersToTheLetter() {
        try (DavitTools mcp = DavitTools.builder().home(home).environment(Map.of()).allowUnlimited(true).log(
                new PrintStream(new ByteArrayOutputStream())).build();
             DavitToolCallbackProvider davit = provider().build()) {
            ToolCallback[] callbacks = davit.getToolCallbacks();
            assertThat(callbacks).hasSize(mcp.specs().size());
            for (int i = 0; i < callbacks.length; i++) {
                DavitTools.Spec s = mcp.specs().get(i);
                assertThat(callbacks[i].getToolDefinition().name()).isEqualTo(s.name());
                assertThat(callbacks[i].getToolDefinition().description()).isEqualTo(s.description());
                assertThat(json(callbacks[i].getToolDefinition().inputSchema())).isEqualTo(json(s.inputSchema()));
            }
        }
    }

    @Test
    void anAgentWorksInAWorkspaceAndCloseRemovesIt() {
        List<String> seen = new ArrayList<>();
        ChatModel model = scripted(List.of(
                call("workspace_create", "{\"environment\": \"" + busybox.image() + "\", \"name\": \"calc\"}"),
                call("workspace_file_write", "{\"workspace\": \"calc\", \"path\": \"calc.sh\", \"content\":"
                        + " \"echo $((6 * 7))\\n\"}"),
                call("workspace_exec", "{\"workspace\": \"calc\", \"command\": [\"sh\", \"calc.sh\"]}"),
                call("workspace_exec", "{\"workspace\": \"calc\"}"),
                r -> new AssistantMessage("calc.sh printed " + json(r.get(2)).path("stdout").asText().strip())),
                seen);
        List<String> results = new ArrayList<>();
        try (DavitToolCallbackProvider davit = provider().build()) {
            // Spring AI's user-controlled tool execution: the framework runs each call the model asks for
            ToolCallingManager tools = ToolCallingManager.builder().build();
            ToolCallingChatOptions options = ToolCallingChatOptions.builder().toolCallbacks(davit.getToolCallbacks())
                    .build();
            Prompt prompt = new Prompt(List.of(new UserMessage("What does 6 * 7 print in a shell?")), options);
            ChatResponse response = model.call(prompt);
            while (response.hasToolCalls()) {
                ToolExecutionResult done = tools.executeToolCalls(prompt, response);
                if (done.conversationHistory().getLast() instanceof ToolResponseMessage t) {
                    t.getResponses().forEach(x -> results.add(x.responseData()));
                }
                prompt = new Prompt(done.conversationHistory(), options);
                response = model.call(prompt);
            }
            assertThat(response.getResult().getOutput().getText()).isEqualTo("calc.sh printed 42");
            assertThat(json(results.get(0)).path("id").asText()).startsWith("ws-");
            assertThat(json(results.get(2)).path("exit_code").asInt()).isZero();
            assertThat(json(results.get(3)).at("/error/kind").asText()).isEqualTo("usage");
            assertThat(Workspaces.under(home).list()).extracting(w -> w.name()).containsExactly("calc");
            try (DavitToolCallbackProvider other = provider().build()) {
                ToolCallback exec = java.util.Arrays.stream(other.getToolCallbacks()).filter(c -> c
                        .getToolDefinition().name().equals("workspace_exec")).findFirst().orElseThrow();
                assertThat(json(exec.call("{\"workspace\": \"calc\", \"command\": [\"true\"]}"))
                        .at("/error/kind").asText()).isEqualTo("not_found");
            }
        }
        assertThat(Workspaces.under(home).list()).isEmpty();
    }
}
