package dev.davit.langchain4j;

import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A chat model of LangChain4j's own interface that plays a script: each turn, the next step reads the tool results so
 * far and answers with a tool call or the final text. The tests' stand-in for a model (none is reachable here).
 */
final class ScriptedModel implements ChatModel {
    /** One turn: the tool results so far (newest last) to what the model says. */
    interface Step extends Function<List<String>, AiMessage> {
    }

    private final List<Step> steps;
    /** The tools each turn was offered (their names). */
    final List<List<String>> offered = new ArrayList<>();
    /** The tool results the model saw, in order. */
    final List<String> results = new ArrayList<>();

    ScriptedModel(List<Step> steps) {
        this.steps = steps;
    }

    /** A step that calls tool {@code name} with the arguments {@code args} makes of the results so far. */
    static Step call(String name, Function<List<String>, String> args) {
        return r -> AiMessage.from(ToolExecutionRequest.builder().id("call-" + r.size()).name(name)
                .arguments(args.apply(r)).build());
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        offered.add(request.toolSpecifications().stream().map(t -> t.name()).toList());
        results.clear();
        for (ChatMessage m : request.messages()) {
            if (m instanceof ToolExecutionResultMessage t) {
                results.add(t.text());
            }
        }
        int turn = offered.size() - 1;
        if (turn >= steps.size()) {
            throw new IllegalStateException("the script has " + steps.size() + " steps; turn " + turn + " asked");
        }
        return ChatResponse.builder().aiMessage(steps.get(turn).apply(List.copyOf(results))).build();
    }
}
