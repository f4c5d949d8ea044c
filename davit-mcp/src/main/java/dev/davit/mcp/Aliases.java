package dev.davit.mcp;

import dev.davit.oci.internal.Json;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The deprecated names of the MCP door, kept for one release (docs/DESIGN.md, "Vocabulary"): old tool names that
 * {@code tools/call} still takes ({@code tools/list} never shows them) and old argument names a call may still give
 * (no schema lists them). A call that uses one works as with the new name, and its result says what to use in its
 * {@code deprecated} notes.
 */
final class Aliases {
    /** Old tool name to its name now. */
    static final Map<String, String> TOOLS = Map.of(
            "workspace_delete", "workspace_remove",
            "workspace_snapshot_delete", "workspace_snapshot_remove",
            "env_list", "environment_list",
            "env_pull", "environment_pull",
            "env_inspect", "environment_inspect",
            "env_prune", "environment_prune");

    /**
     * Old argument name to its name now, in the order they are applied, each where the tool takes the new name
     * ({@code env} only when it is a string: an environment, not variables).
     */
    static final Map<String, String> ARGUMENTS = ordered(
            "env", "environment",
            "env_vars", "env",
            "remove_env_vars", "unset_env",
            "background", "detach",
            "cwd", "workdir");

    /** Where a {@code tools/call}'s {@code _meta} carries the old tool name the call used. */
    static final String USED_TOOL = "dev.davit/deprecated-tool";

    /** The key of a result's notes on the deprecated names its call used. */
    static final String NOTES = "deprecated";

    private Aliases() {
    }

    private static Map<String, String> ordered(String... pairs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(pairs[i], pairs[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The name now of tool {@code name} (itself when it is no old name). */
    static String tool(String name) {
        return TOOLS.getOrDefault(name, name);
    }

    /**
     * Renames the old arguments of a call of {@code tool} in {@code args} (in place) and returns a note for each
     * deprecated name the call used, the tool's included ({@code meta}'s {@link #USED_TOOL}).
     *
     * @throws io.modelcontextprotocol.spec.McpError invalid params when a call gives an argument by both its names
     */
    static List<String> apply(Tool tool, Map<String, Object> args, Map<String, Object> meta) {
        List<String> notes = new ArrayList<>();
        if (meta != null && meta.get(USED_TOOL) instanceof String old && tool.name().equals(TOOLS.get(old))) {
            notes.add("tool '" + old + "' is deprecated and goes in the next release: call '" + tool.name() + "'");
        }
        Set<String> takes = tool.args().stream().map(Tool.Arg::name).collect(Collectors.toSet());
        ARGUMENTS.forEach((old, now) -> {
            boolean renamed = old.equals("env") ? args.get(old) instanceof String : !takes.contains(old);
            if (!args.containsKey(old) || !renamed || !takes.contains(now)) {
                return;
            }
            if (args.containsKey(now)) {
                throw Tool.invalid("give '" + now + "' only ('" + old + "' is its deprecated name)");
            }
            args.put(now, args.remove(old));
            notes.add("argument '" + old + "' is deprecated and goes in the next release: use '" + now + "'");
        });
        return notes;
    }

    /** {@code r} with {@code notes} as its {@link #NOTES} (in its structured content and its text, the same JSON). */
    static McpSchema.CallToolResult noted(McpSchema.CallToolResult r, List<String> notes) {
        if (notes.isEmpty() || !(r.structuredContent() instanceof Map<?, ?> content)) {
            return r;
        }
        Map<Object, Object> doc = new LinkedHashMap<>(content);
        doc.put(NOTES, notes);
        return McpSchema.CallToolResult.builder().structuredContent(doc)
                .addTextContent(new String(Json.bytes(Json.mapper().valueToTree(doc)), StandardCharsets.UTF_8))
                .isError(r.isError()).build();
    }
}
