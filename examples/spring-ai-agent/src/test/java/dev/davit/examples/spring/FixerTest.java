package dev.davit.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.davit.oci.testkit.BusyboxImage;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Configuration;
import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.context.annotation.Bean;

/**
 * The example as CI runs it: the whole application (davit's starter, Spring AI's), with a chat model of Spring AI's
 * own interface playing the model. It decides each turn from what the tools answered (the test's failure, the
 * file it read), as a model would; the workspace is real, and so is the fix.
 */
class FixerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path work;

    /** The test's model, in place of the OpenAI starter's (spring.ai.model.chat=none). */
    @Configuration(proxyBeanMethods = false)
    static class Model {
        @Bean
        ScriptedFixer scriptedFixer() {
            return new ScriptedFixer();
        }
    }

    /** The model: reads the conversation's last tool result and takes the next step. */
    static final class ScriptedFixer implements ChatModel {
        final List<String> calls = new ArrayList<>();

        @Override
        public ChatResponse call(Prompt prompt) {
            List<Message> messages = prompt.getInstructions();
            String seed = messages.stream().filter(m -> m instanceof UserMessage).map(Message::getText).findFirst()
                    .orElseThrow();
            JsonNode last = messages.getLast() instanceof ToolResponseMessage t ? json(t.getResponses().getLast()
                    .responseData()) : null;
            String step = calls.isEmpty() ? "" : calls.getLast();
            AssistantMessage next = switch (step) {
                case "" -> call("workspace_create", JSON.createObjectNode().put("name", "fix")
                        .put("environment", word(seed, "workspace of ")).put("seed", word(seed, "seeded from ")
                                .replaceAll("\\.$", "")).toString());
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
                case "workspace_diff" -> new AssistantMessage("calc.sh subtracted; it adds now and test.sh"
                        + " passes.\n" + last.path("patch").asText());
                default -> throw new IllegalStateException("no step after " + step);
            };
            if (next.hasToolCalls()) {
                calls.add(next.getToolCalls().getFirst().name());
            }
            return new ChatResponse(List.of(new Generation(next)));
        }

        private static AssistantMessage call(String tool, String arguments) {
            return AssistantMessage.builder().content("").toolCalls(List.of(new AssistantMessage.ToolCall(tool,
                    "function", tool, arguments))).build();
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
        Path home = work.resolve("home");
        try (BusyboxImage.Served busybox = BusyboxImage.serve(work.resolve("image"));
             ConfigurableApplicationContext app = new SpringApplicationBuilder(FixTheTestApplication.class,
                     Model.class).properties("spring.ai.model.chat=none", "davit.home=" + home,
                     "davit.allow-registry=" + busybox.registry().hostPort(), "davit.allow-path=" + project,
                     "davit.allow-unlimited=true").run()) {
            ScriptedFixer model = app.getBean(ScriptedFixer.class);
            String answer = app.getBean(Fixer.class).fix(project, busybox.image());
            assertThat(model.calls).containsExactly("workspace_create", "workspace_exec", "workspace_file_read",
                    "workspace_file_edit", "workspace_exec", "workspace_diff");
            assertThat(answer).contains("test.sh passes").contains("-echo $(($1 - $2))")
                    .contains("+echo $(($1 + $2))");
            assertThat(Workspaces.under(home).list()).hasSize(1);
        }
        // the workspace went with the application; the host's project is as it was: the fix is in the answer's patch
        assertThat(Workspaces.under(home).list()).isEmpty();
        assertThat(Files.readString(project.resolve("calc.sh"))).contains("$(($1 - $2))");
    }
}
