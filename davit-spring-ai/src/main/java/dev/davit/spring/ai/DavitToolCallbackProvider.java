package dev.davit.spring.ai;

import dev.davit.mcp.DavitTools;
import org.springframework.ai.chat.model.ToolContext;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.ToolCallbackProvider;
import org.springframework.ai.tool.definition.ToolDefinition;

/**
 * davit's workspaces as Spring AI tools: the MCP server's tools of a profile ({@code core} by default) with the same
 * names, descriptions and JSON Schemas ({@code workspace_create}, {@code workspace_exec},
 * {@code workspace_file_write}, …), called in this process. Give its callbacks to a prompt's
 * {@code ToolCallingChatOptions.builder().toolCallbacks(davit.getToolCallbacks())}.
 *
 * <p>A tool's result is the MCP tool's structured content as JSON text; a failure (a bad argument, a workspace that
 * is not there, a command that exited non-zero) is that JSON too ({@code {"error": {…}}} or a non-zero
 * {@code exit_code}), worded for the model, never an exception into the framework. The model reaches only the
 * workspaces this provider made; {@link #close()} removes them.
 */
public final class DavitToolCallbackProvider implements ToolCallbackProvider, AutoCloseable {
    private final DavitTools tools;
    private final ToolCallback[] callbacks;

    private DavitToolCallbackProvider(DavitTools tools) {
        this.tools = tools;
        this.callbacks = tools.specs().stream().map(s -> new Callback(tools, ToolDefinition.builder().name(s.name())
                .description(s.description()).inputSchema(s.inputSchema()).build())).toArray(ToolCallback[]::new);
    }

    /** A builder with {@code davit mcp serve}'s defaults; the workspaces' owner is {@code spring-ai}. */
    public static Builder builder() {
        return new Builder();
    }

    /** The tools, in {@code tools/list}'s order. */
    @Override
    public ToolCallback[] getToolCallbacks() {
        return callbacks.clone();
    }

    /** Cancels running calls and removes the workspaces this provider made. */
    @Override
    public void close() {
        tools.close();
    }

    /** One tool. */
    private record Callback(DavitTools tools, ToolDefinition definition) implements ToolCallback {
        @Override
        public ToolDefinition getToolDefinition() {
            return definition;
        }

        @Override
        public String call(String toolInput) {
            return tools.call(definition.name(), toolInput).json();
        }

        @Override
        public String call(String toolInput, ToolContext context) {
            return call(toolInput);
        }
    }

    /**
     * Makes a {@link DavitToolCallbackProvider}: each method named after the flag of {@code davit mcp serve} it
     * stands for ({@link DavitTools.Options}), then {@link #build()}.
     */
    public static final class Builder extends DavitTools.Options<Builder> {
        private Builder() {
            owner("spring-ai");
        }

        /**
         * The provider.
         *
         * @throws dev.davit.oci.DavitException USAGE naming the builder method of an option out of its range
         */
        public DavitToolCallbackProvider build() {
            return new DavitToolCallbackProvider(tools());
        }
    }
}
