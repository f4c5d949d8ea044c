package dev.davit.mcp;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One MCP tool: its arguments, the JSON Schemas derived from them, and its call of the library ({@link Direct}).
 * A tool is one entry of {@link Tools#all}.
 */
record Tool(String name, Profile profile, String title, String description, List<Arg> args,
            ObjectNode outputProperties, List<String> required, Hints hints, Check check,
            Direct direct) {

    /**
     * The tool sets a server offers ({@code --tools}), each holding the one before: {@code run} (one-shot runs
     * and environments), {@code core} (and the workspace loop: create, exec, files, diff, reset, delete),
     * {@code full} (everything). A tool's profile is the smallest set that holds it.
     */
    enum Profile { RUN, CORE, FULL;

        static Profile parse(String s) {
            for (Profile p : values()) {
                if (p.name().equalsIgnoreCase(s)) {
                    return p;
                }
            }
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "--tools must be run,"
                    + " core or full, got '" + s + "'");
        }
    }

    /** What a call does to the world, as MCP's tool annotations say it to the client. */
    record Hints(boolean readOnly, boolean destructive, boolean idempotent, boolean openWorld) {
        /** Reads only. */
        static final Hints READ = new Hints(true, false, true, false);
        /** Changes things, adding or updating; doing it again is harmless. */
        static final Hints IDEMPOTENT = new Hints(false, false, true, false);
        /** Adds or changes things; doing it again does it again. */
        static final Hints CHANGE = new Hints(false, false, false, false);
        /** Deletes or replaces what was there. */
        static final Hints DESTRUCTIVE = new Hints(false, true, false, false);
        /** Deletes; doing it again changes nothing more. */
        static final Hints DESTRUCTIVE_IDEMPOTENT = new Hints(false, true, true, false);
    }

    /** The kinds of arguments (their JSON types). */
    enum Kind { STRING, NUMBER, INTEGER, FLAG, STRINGS, ENV }

    /** Text inside [[TOOL|...]] in a description or message stays only where TOOL is offered. */
    private static final java.util.regex.Pattern IF_OFFERED =
            java.util.regex.Pattern.compile("\\[\\[([a-z_]+)\\|([^\\]]*)]]");

    /** {@code text} with each [[TOOL|...]] kept (its text) where {@code offered} holds TOOL, else dropped. */
    static String forTools(String text, java.util.Set<String> offered) {
        return IF_OFFERED.matcher(text).replaceAll(m -> java.util.regex.Matcher.quoteReplacement(
                offered.contains(m.group(1)) ? m.group(2) : ""));
    }

    /** One argument; {@code extra}: more of its JSON Schema (enum, default, bounds). */
    record Arg(String name, Kind kind, boolean required, String description, ObjectNode extra) {
        Arg(String name, Kind kind, boolean required, String description) {
            this(name, kind, required, description, Json.object());
        }

        /** The values a STRING may take (a JSON Schema enum), or null. */
        List<String> choices() {
            if (!extra.path("enum").isArray()) {
                return null;
            }
            List<String> l = new ArrayList<>();
            extra.get("enum").forEach(n -> l.add(n.asText()));
            return l;
        }

        ObjectNode schema(java.util.Set<String> offered) {
            ObjectNode s = Json.object();
            switch (kind) {
                case STRING -> s.put("type", "string");
                case NUMBER -> s.put("type", "number").put("exclusiveMinimum", 0);
                case INTEGER -> s.put("type", "integer").put("minimum", 0);
                case FLAG -> s.put("type", "boolean");
                case STRINGS -> s.put("type", "array").put("minItems", 1).putObject("items").put("type", "string");
                case ENV -> s.put("type", "object").putObject("additionalProperties").put("type", "string");
            }
            s.setAll(extra);
            s.put("description", forTools(description, offered));
            return s;
        }
    }

    /**
     * A check of a call's arguments before it runs (network, registries, limits, admission; throws {@link McpError}
     * or the library's usage error), which may hold what it admits until the call ends ({@link Call#release}).
     */
    interface Check {
        Check NONE = (a, call) -> { };

        void check(Map<String, Object> arguments, Call call);
    }

    /**
     * A call of the library for a call of the tool: its checked arguments (defaults applied: {@link #withDefaults}) read
     * into the library's own specs, its result written from the library's result types. It throws the library's
     * {@link dev.davit.oci.DavitException} as it is (the server makes it an error result) and {@link McpError} for
     * a bad argument.
     */
    interface Direct {
        ObjectNode call(Map<String, Object> arguments, Call call);
    }

    /** What a check may use of its call: a scratch directory, and work to do when the call has ended. */
    interface Call {
        /** A directory of this call's own, deleted after it. */
        java.nio.file.Path scratch();

        /** Runs {@code r} when the call has ended (its library call has returned, or failed). */
        void release(Runnable r);

        /**
         * Whether anyone hears {@link #progress}: the client asked for progress notifications. A call nobody hears
         * gathers none (no copy of a command's output for them, no ticker).
         */
        default boolean heard() {
            return false;
        }

        /** Tells the client how the call is doing (a progress notification when it asked for them). */
        default void progress(String line) {
        }

        /** {@code m}, the library's (a note, a registry's error), in the model's words ({@link ModelErrors}). */
        default String inModelTerms(dev.davit.oci.Message m) {
            return m == null ? null : m.toString();
        }

        /** The owner recorded on what this call creates (the server's, or its session's). */
        default String owner() {
            return null;
        }

        /**
         * The workspace the call's {@code workspace} argument names, resolved once by the server among those the
         * call may see ({@link Access#resolve}); null when the tool has no such argument.
         */
        default dev.davit.sandbox.workspace.Workspace workspace() {
            return null;
        }
    }

    static Builder builder(String name, Profile profile, String title, String description) {
        return new Builder(name, profile, title, description);
    }

    /** This tool calling the library through {@code d}. */
    Tool withDirect(Direct d) {
        return new Tool(name, profile, title, description, args, outputProperties, required, hints, check,
                d);
    }

    /** Whether a server offering {@code offered} has this tool. */
    boolean in(Profile offered) {
        return profile.ordinal() <= offered.ordinal();
    }

    /** This tool as {@code tools/list} shows it by a server that offers the tools named {@code offered}. */
    McpSchema.Tool toSchema(java.util.Set<String> offered) {
        ObjectNode in = Json.object();
        in.put("type", "object");
        ObjectNode props = in.putObject("properties");
        ArrayNode required = Json.array();
        for (Arg a : args) {
            props.set(a.name(), a.schema(offered));
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
        // the result's fields by type only: the tool's description says what it returns, and tools/list is read by
        // the model on every turn (docs/reference/mcp/OPTIONS.md, "Profiles")
        ObjectNode props2 = outputProperties.deepCopy();
        props2.forEach(p -> {
            if (p.isObject()) {
                ((ObjectNode) p).remove("description");
            }
        });
        props2.set("error", ERROR_SCHEMA);
        out.set("properties", props2);
        // a result is what the tool returns, or a failure ({"error": ...}, with isError)
        ArrayNode any = out.putArray("anyOf");
        ArrayNode req = any.addObject().putArray("required");
        this.required.forEach(req::add);
        any.addObject().putArray("required").add("error");
        @SuppressWarnings("unchecked")
        Map<String, Object> outMap = Json.mapper().convertValue(out, Map.class);
        return McpSchema.Tool.builder().name(name).title(title).description(forTools(description, offered))
                .inputSchema(Json.mapper().convertValue(in, McpSchema.JsonSchema.class)).outputSchema(outMap)
                .annotations(new McpSchema.ToolAnnotations(null, hints.readOnly(), hints.destructive(),
                        hints.idempotent(), hints.openWorld(), null)).build();
    }

    /**
     * The schema of a failed call's {@code error} ({@code kind}, {@code message}, {@code exit_code}: see
     * docs/reference/mcp/RESULTS.md), kept short: it is in every tool's output schema.
     */
    static final ObjectNode ERROR_SCHEMA = errorSchema();

    private static ObjectNode errorSchema() {
        return Json.object().put("type", "object");
    }

    /**
     * Checks a call's arguments: a missing, unknown or mistyped argument is a JSON-RPC invalid-params error that
     * names the fix.
     */
    void validate(Map<String, Object> arguments) {
        Map<String, Object> given = arguments == null ? Map.of() : arguments;
        Map<String, Arg> byName = new LinkedHashMap<>();
        args.forEach(a -> byName.put(a.name(), a));
        for (String k : given.keySet()) {
            if (!byName.containsKey(k)) {
                throw invalid("unknown argument '" + k + "'; " + name + " takes: " + String.join(", ",
                        byName.keySet()));
            }
        }
        for (Arg a : args) {
            Object v = given.get(a.name());
            if (v == null) {
                if (a.required()) {
                    throw invalid("missing argument '" + a.name() + "': " + a.description());
                }
                continue;
            }
            checkValue(a, v);
        }
    }

    /** {@code arguments} (changed in place) with each argument not given set to its schema's default, if any. */
    Map<String, Object> withDefaults(Map<String, Object> arguments) {
        for (Arg a : args) {
            if (arguments.get(a.name()) == null && a.extra().has("default")) {
                arguments.put(a.name(), a.kind() == Kind.INTEGER ? (Object) a.extra().get("default").asLong()
                        : a.extra().get("default").asText());
            }
        }
        return arguments;
    }

    /** Refuses a value of {@code a} that its kind, choices or bounds do not allow (invalid params). */
    private void checkValue(Arg a, Object v) {
        String want = switch (a.kind()) {
            case STRING -> "a string";
            case NUMBER -> "a number > 0";
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
                if (a.choices() != null && !a.choices().contains(s)) {
                    throw invalid("argument '" + a.name() + "' must be one of " + String.join(", ", a.choices())
                            + ", not '" + s + "'");
                }
                return;
            }
            case NUMBER, INTEGER -> {
                if (!(v instanceof Number n) || (v instanceof java.math.BigInteger b && b.bitLength() > 62)
                        || (v instanceof java.math.BigDecimal d && d.abs().compareTo(java.math.BigDecimal.valueOf(
                        Long.MAX_VALUE / 2)) > 0)
                        || n.doubleValue() < 0 || (a.kind() == Kind.NUMBER && n.doubleValue() == 0)
                        || Double.isNaN(n.doubleValue()) || Double.isInfinite(n.doubleValue())
                        || (a.kind() == Kind.INTEGER && n.doubleValue() != Math.rint(n.doubleValue()))) {
                    throw bad;
                }
                if (a.extra().has("maximum") && n.doubleValue() > a.extra().get("maximum").asDouble()) {
                    throw invalid("argument '" + a.name() + "' must be at most " + a.extra().get("maximum").asText());
                }
                if (a.extra().has("minimum") && n.doubleValue() < a.extra().get("minimum").asDouble()) {
                    throw invalid("argument '" + a.name() + "' must be at least " + a.extra().get("minimum").asText());
                }
                return;
            }
            case FLAG -> {
                if (!(v instanceof Boolean)) {
                    throw bad;
                }
                return;
            }
            case STRINGS -> {
                if (!(v instanceof List<?> l) || l.isEmpty() || !l.stream().allMatch(String.class::isInstance)) {
                    throw bad;
                }
                return;
            }
            case ENV -> {
                if (!(v instanceof Map<?, ?> m) || !m.values().stream().allMatch(String.class::isInstance)) {
                    throw bad;
                }
                m.forEach((k, val) -> {
                    if (String.valueOf(k).isEmpty() || String.valueOf(k).contains("=")) {
                        throw invalid("argument '" + a.name() + "': a variable name is empty or holds '='");
                    }
                });
                return;
            }
            default -> throw bad;
        }
    }

    static McpError invalid(String message) {
        return McpError.builder(McpSchema.ErrorCodes.INVALID_PARAMS).message(message).build();
    }

    /** Builds a tool: its arguments in the order its schema lists them, then what its result holds. */
    static final class Builder {
        private final String name;
        private final Profile profile;
        private final String title;
        private final String description;
        private final List<Arg> args = new ArrayList<>();
        private final ObjectNode out = Json.object();
        private final List<String> required = new ArrayList<>();
        private Hints hints = Hints.CHANGE;
        private Check check = Check.NONE;
        private Direct direct;

        private Builder(String name, Profile profile, String title, String description) {
            this.name = name;
            this.profile = profile;
            this.title = title;
            this.description = description;
        }

        /** {@code f} applied to this builder (a group of steps several tools share). */
        Builder with(java.util.function.UnaryOperator<Builder> f) {
            return f.apply(this);
        }

        Builder hints(Hints h) {
            this.hints = h;
            return this;
        }

        /** The last argument may take only these values (a JSON Schema enum). */
        Builder oneOf(String... values) {
            ArrayNode e = args.getLast().extra().putArray("enum");
            for (String v : values) {
                e.add(v);
            }
            return this;
        }

        /** The last argument's default (shown in its schema; the tool's check applies it). */
        Builder byDefault(long value) {
            args.getLast().extra().put("default", value);
            return this;
        }

        /** The last argument's largest value. */
        Builder atMost(long value) {
            args.getLast().extra().put("maximum", value);
            return this;
        }

        /** The last argument's smallest value. */
        Builder atLeast(long value) {
            args.getLast().extra().put("minimum", value);
            return this;
        }

        /** A required text argument. */
        Builder required(String arg, String description) {
            args.add(new Arg(arg, Kind.STRING, true, description));
            return this;
        }

        /** An optional argument. */
        Builder option(String arg, Kind kind, String description) {
            args.add(new Arg(arg, kind, false, description));
            return this;
        }

        /** The command to run: its argv. */
        Builder command(boolean required, String description) {
            args.add(new Arg("command", Kind.STRINGS, required, description));
            return this;
        }

        /** A property every successful result has (a JSON Schema type name, or a schema). */
        Builder returns(String property, Object type, String description) {
            required.add(property);
            return maybe(property, type, description);
        }

        /** A property some results have. */
        Builder maybe(String property, Object type, String description) {
            ObjectNode p = type instanceof ObjectNode o ? o.deepCopy() : Json.object().put("type", (String) type);
            p.put("description", description);
            out.set(property, p);
            return this;
        }

        Builder check(Check c) {
            this.check = c;
            return this;
        }

        /** How the tool calls the library. */
        Builder direct(Direct d) {
            this.direct = d;
            return this;
        }

        Tool build() {
            return new Tool(name, profile, title, description, List.copyOf(args), out,
                    List.copyOf(required), hints, check, direct);
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
