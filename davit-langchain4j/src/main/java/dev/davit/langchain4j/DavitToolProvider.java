package dev.davit.langchain4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.davit.mcp.DavitTools;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.invocation.InvocationContext;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonRawSchema;
import dev.langchain4j.service.tool.ToolExecutionResult;
import dev.langchain4j.service.tool.ToolExecutor;
import dev.langchain4j.service.tool.ToolProvider;
import dev.langchain4j.service.tool.ToolProviderRequest;
import dev.langchain4j.service.tool.ToolProviderResult;
import java.util.ArrayList;
import java.util.List;

/**
 * davit's workspaces as LangChain4j tools: the MCP server's tools of a profile ({@code core} by default) with the
 * same names, descriptions and JSON arguments ({@code workspace_create}, {@code workspace_exec},
 * {@code workspace_file_write}, …), called in this process. Give it to {@code AiServices.builder(…).toolProvider(…)}.
 *
 * <p>A tool's result is the MCP tool's structured content as JSON text; a failure (a bad argument, a workspace
 * that is not there, a command that exited non-zero) is a result with {@code isError}, worded for the model, never an
 * exception into the framework. The model reaches only the workspaces this provider made; {@link #close()} removes
 * them.
 *
 * <pre>{@code
 * try (DavitToolProvider davit = DavitToolProvider.builder().allowRegistry("docker.io").build()) {
 *     Assistant agent = AiServices.builder(Assistant.class).chatModel(model).toolProvider(davit).build();
 *     agent.chat("Make the failing test in /work pass");
 * }
 * }</pre>
 */
public final class DavitToolProvider implements ToolProvider, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final DavitTools tools;
    private final ToolProviderResult result;

    private DavitToolProvider(DavitTools tools) {
        this.tools = tools;
        ToolProviderResult.Builder b = ToolProviderResult.builder();
        for (DavitTools.Spec s : tools.specs()) {
            b.add(specification(s), new Executor(tools, s.name()));
        }
        this.result = b.build();
    }

    /** A builder with {@code davit mcp serve}'s defaults; the workspaces' owner is {@code langchain4j}. */
    public static Builder builder() {
        return new Builder();
    }

    /** The tools, the same for every request. */
    @Override
    public ToolProviderResult provideTools(ToolProviderRequest request) {
        return result;
    }

    /** The tools' specifications, in {@code tools/list}'s order. */
    public List<ToolSpecification> specifications() {
        return new ArrayList<>(result.tools().keySet());
    }

    /** Calls tool {@code name} with {@code argumentsJson}, as the framework does: the result's JSON text. */
    public String call(String name, String argumentsJson) {
        return tools.call(name, argumentsJson).json();
    }

    /** Cancels running calls and removes the workspaces this provider made. */
    @Override
    public void close() {
        tools.close();
    }

    /**
     * Tool {@code s} as LangChain4j states one: each argument's JSON Schema as the MCP server's (a raw schema,
     * which LangChain4j passes to the model as it is), under an object schema with the same required names.
     */
    static ToolSpecification specification(DavitTools.Spec s) {
        JsonNode in;
        try {
            in = JSON.readTree(s.inputSchema());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("the input schema of " + s.name() + " is not JSON", e);
        }
        JsonObjectSchema.Builder p = JsonObjectSchema.builder();
        in.path("properties").properties().forEach(e -> p.addProperty(e.getKey(), JsonRawSchema.from(
                e.getValue().toString())));
        List<String> required = new ArrayList<>();
        in.path("required").forEach(r -> required.add(r.asText()));
        if (!required.isEmpty()) {
            p.required(required);
        }
        if (in.has("additionalProperties")) {
            p.additionalProperties(in.get("additionalProperties").asBoolean());
        }
        return ToolSpecification.builder().name(s.name()).description(s.description()).parameters(p.build())
                .build();
    }

    /** One tool's calls. */
    private record Executor(DavitTools tools, String name) implements ToolExecutor {
        @Override
        public String execute(ToolExecutionRequest request, Object memoryId) {
            return tools.call(name, request.arguments()).json();
        }

        @Override
        public ToolExecutionResult executeWithContext(ToolExecutionRequest request, InvocationContext context) {
            DavitTools.Result r = tools.call(name, request.arguments());
            return ToolExecutionResult.builder().resultText(r.json()).isError(r.isError()).build();
        }
    }

    /**
     * Makes a {@link DavitToolProvider}: each method named after the flag of {@code davit mcp serve} it stands for
     * ({@link DavitTools.Options}), then {@link #build()}.
     */
    public static final class Builder extends DavitTools.Options<Builder> {
        private Builder() {
            owner("langchain4j");
        }

        /**
         * The provider.
         *
         * @throws dev.davit.oci.DavitException USAGE naming the builder method of an option out of its range
         */
        public DavitToolProvider build() {
            return new DavitToolProvider(tools());
        }
    }
}
