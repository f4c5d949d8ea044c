package dev.davit.cli.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Json;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One MCP tool that is one davit command line: its arguments (each an option, a positional or the command after
 * {@code --}), the JSON Schemas derived from them, and how a call becomes an argv. A tool is one entry of
 * {@link Tools#all}; a new command is one more entry.
 */
record Tool(String name, boolean core, String description, List<String> command, List<Arg> args,
            ObjectNode outputProperties, Check check, Function<JsonNode, ObjectNode> post) {

    /** The kinds of arguments and how they appear on the command line. */
    enum Kind { STRING, NUMBER, INTEGER, FLAG, STRINGS, ENV }

    /**
     * One argument: {@code option} is the CLI option ("--timeout"), null for a positional, "--" for the command
     * after {@code --}; {@code choices}: null, or the values a string argument may take (a JSON Schema enum).
     */
    record Arg(String name, Kind kind, String option, boolean required, String description, List<String> choices) {
        Arg(String name, Kind kind, String option, boolean required, String description) {
            this(name, kind, option, required, description, null);
        }

        ObjectNode schema() {
            ObjectNode s = Json.object();
            switch (kind) {
                case STRING -> s.put("type", "string");
                case NUMBER -> s.put("type", "number").put("minimum", 0);
                case INTEGER -> s.put("type", "integer").put("minimum", 0);
                case FLAG -> s.put("type", "boolean");
                case STRINGS -> s.put("type", "array").put("minItems", 1).putObject("items").put("type", "string");
                case ENV -> s.put("type", "object").putObject("additionalProperties").put("type", "string");
            }
            if (choices != null) {
                choices.forEach(s.putArray("enum")::add);
            }
            s.put("description", description);
            return s;
        }
    }

    /**
     * A check of a call's arguments before it runs (host paths, network, limits; throws {@link McpError}), which
     * may add options to the command line; {@code scratch} gives a directory deleted after the call.
     */
    interface Check {
        Check NONE = (a, scratch) -> List.of();

        List<String> check(Map<String, Object> arguments, java.util.function.Supplier<java.nio.file.Path> scratch);
    }

    static Builder builder(String name, boolean core, String description, String... command) {
        return new Builder(name, core, description, List.of(command));
    }

    McpSchema.Tool toSchema() {
        ObjectNode in = Json.object();
        in.put("type", "object");
        ObjectNode props = in.putObject("properties");
        ArrayNode required = Json.array();
        for (Arg a : args) {
            props.set(a.name(), a.schema());
            if (a.required()) {
                required.add(a.name());
            }
        }
        if (!required.isEmpty()) {
            in.set("required", required);
        }
        in.put("additionalProperties", false);
        ObjectNode out = Json.object();
        out.put("type", "object");
        out.set("properties", outputProperties.deepCopy());
        @SuppressWarnings("unchecked")
        Map<String, Object> outMap = Json.mapper().convertValue(out, Map.class);
        return McpSchema.Tool.builder().name(name).description(description)
                .inputSchema(Json.mapper().convertValue(in, McpSchema.JsonSchema.class)).outputSchema(outMap).build();
    }

    /**
     * The davit argv for a call ({@code --json} first); a missing, unknown or mistyped argument is a JSON-RPC
     * invalid-params error that names the fix.
     */
    List<String> argv(Map<String, Object> arguments, List<String> extraOptions) {
        Map<String, Object> given = arguments == null ? Map.of() : arguments;
        Map<String, Arg> byName = new LinkedHashMap<>();
        args.forEach(a -> byName.put(a.name(), a));
        for (String k : given.keySet()) {
            if (!byName.containsKey(k)) {
                throw invalid("unknown argument '" + k + "'; " + name + " takes: " + String.join(", ",
                        byName.keySet()));
            }
        }
        List<String> argv = new ArrayList<>(List.of("--json"));
        argv.addAll(command);
        List<String> positionals = new ArrayList<>();
        List<String> options = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        for (Arg a : args) {
            Object v = given.get(a.name());
            if (v == null) {
                if (a.required()) {
                    throw invalid("missing argument '" + a.name() + "': " + a.description());
                }
                continue;
            }
            List<String> values = values(a, v);
            if (a.choices() != null && !a.choices().containsAll(values)) {
                throw invalid("argument '" + a.name() + "' must be one of " + String.join(", ", a.choices()));
            }
            if (a.option() != null && a.option().isEmpty()) {
                continue; // read by the tool's check, not a command-line argument
            }
            if (a.option() == null) {
                positionals.addAll(values);
            } else if (a.option().equals("--")) {
                rest.addAll(values);
            } else if (a.kind() == Kind.FLAG) {
                if ((Boolean) v) {
                    options.add(a.option());
                }
            } else {
                for (String s : values) {
                    options.add(a.option() + "=" + s);
                }
            }
        }
        argv.addAll(positionals);
        argv.addAll(options);
        argv.addAll(extraOptions);
        if (!rest.isEmpty()) {
            argv.add("--");
            argv.addAll(rest);
        }
        return argv;
    }

    private List<String> values(Arg a, Object v) {
        String want = switch (a.kind()) {
            case STRING -> "a string";
            case NUMBER -> "a number >= 0";
            case INTEGER -> "a whole number >= 0";
            case FLAG -> "true or false";
            case STRINGS -> "a non-empty array of strings";
            case ENV -> "an object of string values";
        };
        RuntimeException bad = invalid("argument '" + a.name() + "' must be " + want);
        switch (a.kind()) {
            case STRING -> {
                if (!(v instanceof String s)) {
                    throw bad;
                }
                if (a.option() == null && s.startsWith("-")) {
                    throw invalid("argument '" + a.name() + "' cannot start with '-'");
                }
                return List.of(s);
            }
            case NUMBER, INTEGER -> {
                if (!(v instanceof Number n) || n.doubleValue() < 0
                        || (a.kind() == Kind.INTEGER && n.doubleValue() != Math.rint(n.doubleValue()))) {
                    throw bad;
                }
                return List.of(a.kind() == Kind.INTEGER ? Long.toString(n.longValue()) : n.toString());
            }
            case FLAG -> {
                if (!(v instanceof Boolean)) {
                    throw bad;
                }
                return List.of();
            }
            case STRINGS -> {
                if (!(v instanceof List<?> l) || l.isEmpty() || !l.stream().allMatch(String.class::isInstance)) {
                    throw bad;
                }
                return l.stream().map(String.class::cast).toList();
            }
            case ENV -> {
                if (!(v instanceof Map<?, ?> m) || !m.values().stream().allMatch(String.class::isInstance)) {
                    throw bad;
                }
                List<String> kv = new ArrayList<>();
                m.forEach((k, val) -> {
                    if (String.valueOf(k).isEmpty() || String.valueOf(k).contains("=")) {
                        throw invalid("argument '" + a.name() + "': a variable name is empty or holds '='");
                    }
                    kv.add(k + "=" + val);
                });
                return kv;
            }
            default -> throw bad;
        }
    }

    static McpError invalid(String message) {
        return McpError.builder(McpSchema.ErrorCodes.INVALID_PARAMS).message(message).build();
    }

    /** Builds a tool: its arguments in command-line order, then what its result holds. */
    static final class Builder {
        private final String name;
        private final boolean core;
        private final String description;
        private final List<String> command;
        private final List<Arg> args = new ArrayList<>();
        private final ObjectNode out = Json.object();
        private Check check = Check.NONE;
        private Function<JsonNode, ObjectNode> post = n -> (ObjectNode) n;

        private Builder(String name, boolean core, String description, List<String> command) {
            this.name = name;
            this.core = core;
            this.description = description;
            this.command = command;
        }

        /** A required positional. */
        Builder positional(String arg, String description) {
            args.add(new Arg(arg, Kind.STRING, null, true, description));
            return this;
        }

        /** An optional positional. */
        Builder optionalPositional(String arg, String description) {
            args.add(new Arg(arg, Kind.STRING, null, false, description));
            return this;
        }

        /** A required text argument that the tool's check reads (not a command-line argument). */
        Builder input(String arg, String description) {
            args.add(new Arg(arg, Kind.STRING, "", true, description));
            return this;
        }

        /** The values the argument added last may take (a string's JSON Schema enum). */
        Builder oneOf(String... values) {
            Arg a = args.remove(args.size() - 1);
            args.add(new Arg(a.name(), a.kind(), a.option(), a.required(), a.description(), List.of(values)));
            return this;
        }

        Builder option(String arg, Kind kind, String option, String description) {
            args.add(new Arg(arg, kind, option, false, description));
            return this;
        }

        /** The command after {@code --}. */
        Builder command(boolean required, String description) {
            args.add(new Arg("command", Kind.STRINGS, "--", required, description));
            return this;
        }

        /** A property of the result (a JSON Schema type name, or a schema). */
        Builder returns(String property, Object type, String description) {
            ObjectNode p = type instanceof ObjectNode o ? o.deepCopy() : Json.object().put("type", (String) type);
            p.put("description", description);
            out.set(property, p);
            return this;
        }

        Builder check(Check c) {
            this.check = c;
            return this;
        }

        Builder post(Function<JsonNode, ObjectNode> p) {
            this.post = p;
            return this;
        }

        Tool build() {
            return new Tool(name, core, description, command, List.copyOf(args), out, check, post);
        }
    }

    /** A JSON Schema of an array of objects (for result properties). */
    static ObjectNode arrayOf(String... properties) {
        ObjectNode s = Json.object().put("type", "array");
        ObjectNode item = s.putObject("items").put("type", "object");
        ObjectNode props = item.putObject("properties");
        for (String p : properties) {
            props.putObject(p);
        }
        return s;
    }
}
