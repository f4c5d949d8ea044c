package dev.davit.examples.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.davit.oci.testkit.BusyboxImage;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example as CI runs it: no model is reachable here, so a chat model of LangChain4j's own interface plays one.
 * It decides each turn from what the tools answered (the test's failure, the file it read), as a model would; the
 * workspace is real, and so is the fix.
 */
class FixTheTestTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path work;

    /** The model: reads the conversation's last tool result and takes the next step. */
    static final class ScriptedFixer implements ChatModel {
        final List<String> calls = new ArrayList<>();

        @Override
        public ChatResponse doChat(ChatRequest request) {
            List<ChatMessage> messages = request.messages();
            String seed = messages.stream().filter(m -> m instanceof UserMessage).map(m -> ((UserMessage) m)
                    .singleText()).findFirst().orElseThrow();
            JsonNode last = messages.getLast() instanceof ToolExecutionResultMessage t ? json(t.text()) : null;
            String step = calls.isEmpty() ? "" : calls.getLast();
            AiMessage next = switch (step) {
                case "" -> call("workspace_create", "{\"name\": \"fix\", \"environment\": \"" + word(seed, "workspace of ")
                        + "\", \"seed\": \"" + word(seed, "seeded from ").replaceAll("\\.$", "") + "\"}");
                case "workspace_create", "workspace_file_edit" -> call("workspace_exec", "{\"workspace\": \"fix\","
                        + " \"command\": [\"sh\", \"test.sh\"]}");
                case "workspace_exec" -> last.path("exit_code").asInt() != 0
                        ? call("workspace_file_read", "{\"workspace\": \"fix\", \"path\": \"calc.sh\"}")
                        : call("workspace_diff", "{\"workspace\": \"fix\"}");
                case "workspace_file_read" -> {
                    String line = last.path("content").asText().lines().filter(l -> l.contains(" - "))
                            .findFirst().orElseThrow();
                    yield call("workspace_file_edit", JSON.createObjectNode().put("workspace", "fix")
                            .put("path", "calc.sh").put("old_text", line).put("new_text", line.replace(" - ", " + "))
                            .toString());
                }
                case "workspace_diff" -> AiMessage.from("calc.sh subtracted; it adds now and test.sh passes.\n"
                        + last.path("patch").asText());
                default -> throw new IllegalStateException("no step after " + step);
            };
            if (next.hasToolExecutionRequests()) {
                calls.add(next.toolExecutionRequests().getFirst().name());
            }
            return ChatResponse.builder().aiMessage(next).build();
        }

        private static AiMessage call(String tool, String arguments) {
            return AiMessage.from(ToolExecutionRequest.builder().id(tool).name(tool).arguments(arguments).build());
        }

        private static String word(String text, String after) {
            return text.substring(text.indexOf(after) + after.length()).split(" ")[0];
        }
    }

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            throw new AssertionError(text, e);
        }
    }

    @Test
    void theAgentMakesTheTestPassInAWorkspace() throws Exception {
        Path project = Files.createDirectories(work.resolve("project"));
        for (String f : List.of("calc.sh", "test.sh")) {
            Files.copy(Path.of("../project", f), project.resolve(f));
        }
        try (BusyboxImage.Served busybox = BusyboxImage.serve(work.resolve("image"))) {
            ScriptedFixer model = new ScriptedFixer();
            String answer = FixTheTest.fix(model, project, busybox.image(), busybox.registry().hostPort());
            assertThat(model.calls).containsExactly("workspace_create", "workspace_exec", "workspace_file_read",
                    "workspace_file_edit", "workspace_exec", "workspace_diff");
            assertThat(answer).contains("test.sh passes").contains("-echo $(($1 - $2))")
                    .contains("+echo $(($1 + $2))");
        }
        // the host's project is as it was: the fix is in the answer's patch
        assertThat(Files.readString(project.resolve("calc.sh"))).contains("$(($1 - $2))");
    }
}
