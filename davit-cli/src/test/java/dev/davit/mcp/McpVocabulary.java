package dev.davit.mcp;

import java.util.Map;

/** The MCP door's deprecated names ({@link Aliases}), for the vocabulary test of the CLI's package. */
public final class McpVocabulary {
    private McpVocabulary() {
    }

    /** Old tool name to the tool's name now. */
    public static Map<String, String> deprecatedTools() {
        return Aliases.TOOLS;
    }

    /** Old argument name to the argument's name now. */
    public static Map<String, String> deprecatedArguments() {
        return Aliases.ARGUMENTS;
    }
}
