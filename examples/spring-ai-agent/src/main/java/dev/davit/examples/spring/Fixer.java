package dev.davit.examples.spring;

import dev.davit.spring.ai.DavitToolCallbackProvider;
import java.nio.file.Path;
import java.util.List;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.stereotype.Component;

/**
 * The agent: the model and davit's tools, with Spring AI's {@link ToolCallingManager} running each tool call the
 * model asks for until it answers (a model that runs its tools itself answers at once).
 */
@Component
public class Fixer {
    private static final String SYSTEM = "You fix failing tests. You work only through your tools, in a workspace:"
            + " create one, run the test with workspace_exec, read and edit the files until the test passes, then"
            + " answer with what you changed and workspace_diff's patch.";

    private final ChatModel model;
    private final DavitToolCallbackProvider davit;
    private final ToolCallingManager tools = ToolCallingManager.builder().build();

    public Fixer(ChatModel model, DavitToolCallbackProvider davit) {
        this.model = model;
        this.davit = davit;
    }

    /** Has the model make the test of {@code project} pass in a workspace of {@code image}; its answer. */
    public String fix(Path project, String image) {
        ToolCallingChatOptions options = ToolCallingChatOptions.builder().toolCallbacks(davit.getToolCallbacks())
                .build();
        List<Message> task = List.of(new SystemMessage(SYSTEM), new UserMessage("Make a workspace of " + image
                + " seeded from " + project + ". Its test is `sh test.sh`; make it pass."));
        Prompt prompt = new Prompt(task, options);
        ChatResponse response = model.call(prompt);
        while (response.hasToolCalls()) {
            prompt = new Prompt(tools.executeToolCalls(prompt, response).conversationHistory(), options);
            response = model.call(prompt);
        }
        return response.getResult().getOutput().getText();
    }
}
