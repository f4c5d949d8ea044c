package dev.davit.examples.langchain4j;

import dev.davit.langchain4j.DavitToolProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.SystemMessage;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A LangChain4j agent that makes a project's failing test pass in a davit workspace: the project is copied into a
 * workspace (the host's copy is never written), the model runs the test, reads and edits files there until it
 * passes, and answers with the workspace's diff. davit's tools are the agent's only tools.
 *
 * <pre>
 * OPENAI_API_KEY=… mvn -q exec:java -Dexec.mainClass=dev.davit.examples.langchain4j.FixTheTest \
 *     -Dexec.args="project docker.io/library/busybox:1.36"
 * </pre>
 */
public final class FixTheTest {
    /** The agent: LangChain4j makes it from this interface. */
    interface Agent {
        @SystemMessage("You fix failing tests. You work only through your tools, in a workspace: create one, run the"
                + " test with workspace_exec, read and edit the files until the test passes, then answer with what"
                + " you changed and workspace_diff's patch.")
        String chat(String task);
    }

    private FixTheTest() {
    }

    /**
     * Has {@code model} make the test of {@code project} pass in a workspace of {@code image}; returns its answer.
     * The workspace is removed when the agent is done.
     */
    public static String fix(ChatModel model, Path project, String image, String registry) {
        try (DavitToolProvider davit = DavitToolProvider.builder().allowRegistry(registry).allowPath(project)
                .build()) {
            Agent agent = AiServices.builder(Agent.class).chatModel(model).toolProvider(davit).build();
            return agent.chat("Make a workspace of " + image + " seeded from " + project + ". Its test is"
                    + " `sh test.sh`; make it pass.");
        }
    }

    /** Runs the agent with an OpenAI-compatible model: {@code [PROJECT [IMAGE]]}. */
    public static void main(String[] args) {
        String key = System.getenv("OPENAI_API_KEY");
        if (key == null || key.isBlank()) {
            System.err.println("error: set OPENAI_API_KEY (and OPENAI_BASE_URL, OPENAI_MODEL for another endpoint or"
                    + " model) to run the agent with a model; its test runs it with a scripted one");
            System.exit(2);
        }
        Path project = Path.of(args.length > 0 ? args[0] : "../project").toAbsolutePath();
        if (!Files.isRegularFile(project.resolve("test.sh"))) {
            System.err.println("error: " + project + " has no test.sh; give a project directory as the first"
                    + " argument");
            System.exit(2);
        }
        String image = args.length > 1 ? args[1] : "docker.io/library/busybox:1.36";
        ChatModel model = OpenAiChatModel.builder().apiKey(key)
                .baseUrl(System.getenv().getOrDefault("OPENAI_BASE_URL", "https://api.openai.com/v1"))
                .modelName(System.getenv().getOrDefault("OPENAI_MODEL", "gpt-4.1-mini")).build();
        System.out.println(fix(model, project, image, dev.davit.Images.registry(image)));
    }
}
