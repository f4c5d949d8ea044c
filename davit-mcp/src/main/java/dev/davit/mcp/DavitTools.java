package dev.davit.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The MCP server's tools called in this process, for a Java agent framework's tool interface (davit-langchain4j,
 * davit-spring-ai): the same names, descriptions, JSON arguments, results and errors as {@code davit mcp serve}'s
 * {@code tools/list} and {@code tools/call}, with no transport and no second process. Made by {@link #builder()},
 * whose methods are named after the flags of {@code davit mcp serve}.
 *
 * <p>The model reaches only the workspaces these tools made (and those shared with {@link Builder#shareWorkspace});
 * {@link #close()} removes the ones it made (unless {@link Builder#cleanupOnExit(boolean)} said not to). A call never
 * throws: a bad argument or a failure is a {@link Result} with {@link Result#isError()}, worded for the model.
 */
public final class DavitTools implements AutoCloseable {
    /** One tool as {@code tools/list} gives it: name, title, description and JSON Schemas as JSON text. */
    public record Spec(String name, String title, String description, String inputSchema, String outputSchema,
                       boolean readOnly, boolean destructive, boolean idempotent) {
    }

    /**
     * A call's answer: {@code json}, the tool's structured content as JSON text (a failure's is
     * {@code {"error": {"kind", "message", "exit_code"}}}); {@code isError}, whether the call failed or its command
     * exited non-zero.
     */
    public record Result(String json, boolean isError) {
    }

    private final DavitMcpServer server;
    private final Map<String, Tool> tools = new LinkedHashMap<>();
    private final List<Spec> specs;
    /** This instance's own session: its workspaces are recorded {@code OWNER:SESSION}, reached by it alone. */
    private final String session;
    /** The calls so far: each call's request id is the session's and its number, so that close cancels it. */
    private final java.util.concurrent.atomic.AtomicLong calls = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean closed;

    private DavitTools(DavitMcpServer server, String session) {
        this.server = server;
        this.session = session;
        List<Spec> l = new ArrayList<>();
        for (var s : server.specifications()) {
            McpSchema.Tool t = s.tool();
            tools.put(t.name(), server.tools().stream().filter(x -> x.name().equals(t.name())).findFirst()
                    .orElseThrow());
            JsonNode doc = Json.mapper().valueToTree(Json.mapper().convertValue(t, Map.class));
            var a = t.annotations();
            l.add(new Spec(t.name(), t.title(), t.description(), doc.get("inputSchema").toString(),
                    doc.path("outputSchema").isMissingNode() ? null : doc.get("outputSchema").toString(),
                    a != null && Boolean.TRUE.equals(a.readOnlyHint()), a != null && Boolean.TRUE.equals(
                    a.destructiveHint()), a != null && Boolean.TRUE.equals(a.idempotentHint())));
        }
        this.specs = List.copyOf(l);
    }

    /** A builder with {@code davit mcp serve}'s defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** The tools of the profile ({@link Builder#tools}), in {@code tools/list}'s order. */
    public List<Spec> specs() {
        return specs;
    }

    /**
     * Calls tool {@code name} with {@code argumentsJson} (a JSON object as text; null or blank: none), as
     * {@code tools/call} does. Never throws for the call's own sake: an unknown tool, arguments that are not a JSON
     * object or break the tool's schema, and the library's errors are results with {@code isError}.
     */
    public Result call(String name, String argumentsJson) {
        if (closed) {
            return error(Kind.STATE, "the tools are closed: their workspaces are removed; make new ones");
        }
        Tool tool = tools.get(Aliases.tool(name));
        if (tool == null) {
            return error(Kind.USAGE, "unknown tool '" + name + "': the tools are " + String.join(", ",
                    tools.keySet()));
        }
        Map<String, Object> args;
        try {
            // read as the server reads a call on the wire (its bounds: a 16 MiB string)
            JsonNode doc = argumentsJson == null || argumentsJson.isBlank() ? Json.object()
                    : DavitMcpServer.protocolMapper().readTree(argumentsJson);
            if (!doc.isObject()) {
                return error(Kind.USAGE, "the arguments of " + name + " must be a JSON object, got " + doc.getNodeType()
                        .toString().toLowerCase(java.util.Locale.ROOT));
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = Json.mapper().convertValue(doc, LinkedHashMap.class);
            args = m;
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            return error(Kind.USAGE, "the arguments of " + name + " are not JSON: " + e.getOriginalMessage());
        }
        McpSchema.CallToolResult r;
        try {
            Map<String, Object> meta = new LinkedHashMap<>(Map.of(DavitMcpServer.REQUEST_ID, session + "/"
                    + calls.incrementAndGet()));
            if (!tools.containsKey(name)) { // an old name, kept for one release
                meta.put(Aliases.USED_TOOL, name);
            }
            r = server.call(tool, new McpSchema.CallToolRequest(tool.name(), args, meta), null, session);
        } catch (McpError e) { // a usage error: invalid params in MCP, a result the model reads here
            return error(Kind.USAGE, e.getMessage());
        } catch (RuntimeException e) { // what the server lets through to a transport: never into the framework
            return error(Kind.INTERNAL, "internal error: " + ModelErrors.printable(String.valueOf(e.getMessage())));
        }
        // the text is the structured content as JSON already (DavitMcpServer.result): not written a second time
        StringBuilder text = new StringBuilder();
        for (McpSchema.Content c : r.content()) {
            if (c instanceof McpSchema.TextContent t) {
                text.append(t.text());
            }
        }
        return new Result(text.isEmpty() && r.structuredContent() != null ? Json.mapper().valueToTree(
                r.structuredContent()).toString() : text.toString(), Boolean.TRUE.equals(r.isError()));
    }

    /** A failed call's answer, as the MCP server words one. */
    private static Result error(Kind kind, String message) {
        ObjectNode doc = Json.object();
        doc.putObject("error").put("kind", kind.name().toLowerCase(java.util.Locale.ROOT)).put("message", message)
                .put("exit_code", kind.exitCode());
        return new Result(doc.toString(), true);
    }

    /**
     * Stops the tools: running calls are cancelled (a command they run is killed), later calls answer that the tools
     * are closed, and the workspaces they made are removed (unless {@link Options#cleanupOnExit(boolean)} said not to).
     */
    @Override
    public void close() {
        closed = true;
        server.close();
    }

    /** Makes {@link DavitTools}: {@link Options}' methods, then {@link #build()}. */
    public static final class Builder extends Options<Builder> {
        private Builder() {
        }

        /**
         * The tools.
         *
         * @throws DavitException USAGE naming the builder method of an option out of its range
         */
        public DavitTools build() {
            return tools();
        }
    }

    /**
     * The options of {@code davit mcp serve} that apply in a process of one's own, each method named after its flag;
     * a repeatable flag's method takes one value per call and may be called again. The builders of davit's framework
     * adapters extend it ({@code B}: the builder's own type).
     */
    public abstract static class Options<B extends Options<B>> {
        private Path home;
        private String tools = "core";
        private final List<String> allowRegistries = new ArrayList<>();
        private final List<Path> allowPaths = new ArrayList<>();
        private boolean allowNetwork;
        private final List<String> allowEgress = new ArrayList<>();
        private int maxWorkspaces = 8;
        private long maxDisk = dev.davit.sandbox.Limits.DEFAULT_DISK_MIB;
        private Duration ttl = Duration.ofHours(1);
        private boolean cleanupOnExit = true;
        private int warm;
        private String owner = "library";
        private final List<String> shares = new ArrayList<>();
        private final List<String> commitTo = new ArrayList<>();
        private int publishLow = 1024;
        private int publishHigh = 65535;
        private Long maxMemory;
        private Double maxCpus;
        private Integer maxRuns;
        private final List<String> backends = new ArrayList<>();
        private boolean allowUnlimited;
        private Map<String, String> env = System.getenv();
        private PrintStream log = System.err;
        private String version = libraryVersion();

        protected Options() {
        }

        @SuppressWarnings("unchecked")
        private B self() {
            return (B) this;
        }

        /** The davit home ({@code --home}; default: {@code DAVIT_HOME}, else davit's default home). */
        public B home(Path home) {
            this.home = home;
            return self();
        }

        /** The tool set ({@code --tools}): {@code run}, {@code core} (the default) or {@code full}. */
        public B tools(String tools) {
            this.tools = tools;
            return self();
        }

        /** A registry runs and workspaces may pull from ({@code --allow-registry HOST}; repeatable). */
        public B allowRegistry(String host) {
            allowRegistries.add(host);
            return self();
        }

        /** A host directory the tools may use ({@code --allow-path DIR}; repeatable). */
        public B allowPath(Path dir) {
            allowPaths.add(dir);
            return self();
        }

        /** Whether runs and workspaces may ask for a NAT network ({@code --allow-network}). */
        public B allowNetwork(boolean allow) {
            this.allowNetwork = allow;
            return self();
        }

        /** A name, IPv4 network or preset egress policies may allow ({@code --allow-egress}; repeatable). */
        public B allowEgress(String hostCidrOrPreset) {
            allowEgress.add(hostCidrOrPreset);
            return self();
        }

        /** The most workspaces at once ({@code --max-workspaces}; default 8). */
        public B maxWorkspaces(int n) {
            this.maxWorkspaces = n;
            return self();
        }

        /** The most disk a run or workspace may ask for, in MiB ({@code --max-disk}). */
        public B maxDisk(long mib) {
            this.maxDisk = mib;
            return self();
        }

        /** The TTL of workspaces made without one ({@code --ttl}; default an hour). */
        public B ttl(Duration ttl) {
            this.ttl = ttl;
            return self();
        }

        /** Whether {@link DavitTools#close()} removes the workspaces made ({@code --cleanup-on-exit}; default true). */
        public B cleanupOnExit(boolean cleanup) {
            this.cleanupOnExit = cleanup;
            return self();
        }

        /** Started sandboxes kept ready per kind of workspace ({@code --warm}; default none). */
        public B warm(int n) {
            this.warm = n;
            return self();
        }

        /**
         * The owner recorded on every workspace made ({@code --owner}; default {@code library}, an adapter's its
         * framework's name), with this instance's own session: {@code OWNER:SESSION}. A {@code davit mcp serve
         * --owner OWNER} without {@code --isolate-sessions} on the same home reaches them: give another owner.
         */
        public B owner(String owner) {
            this.owner = owner;
            return self();
        }

        /** An operator's workspace handed to the model, {@code NAME[:ro|:rw]} ({@code --share-workspace}; repeatable).
         */
        public B shareWorkspace(String nameAndMode) {
            shares.add(nameAndMode);
            return self();
        }

        /** A repository prefix workspace_commit may name ({@code --commit-to}; repeatable). */
        public B commitTo(String prefix) {
            commitTo.add(prefix);
            return self();
        }

        /** The host ports a model may publish ({@code --publish-ports}; default 1024 to 65535). */
        public B publishPorts(int low, int high) {
            this.publishLow = low;
            this.publishHigh = high;
            return self();
        }

        /** The memory of all sandboxes together, in MiB ({@code --max-memory}; default from the host's size). */
        public B maxMemory(long mib) {
            this.maxMemory = mib;
            return self();
        }

        /** The CPUs of all sandboxes together ({@code --max-cpus}; default from the host's size). */
        public B maxCpus(double cpus) {
            this.maxCpus = cpus;
            return self();
        }

        /** One-shot runs at once ({@code --max-runs}). */
        public B maxRuns(int n) {
            this.maxRuns = n;
            return self();
        }

        /**
         * Whether the tools serve where memory and CPU limits cannot be enforced ({@code --allow-unlimited}; default
         * false: building refuses there).
         */
        public B allowUnlimited(boolean allow) {
            this.allowUnlimited = allow;
            return self();
        }

        /** Where sandboxes run: container, vm or k8s ({@code --backend}; repeatable, the first the default). */
        public B backend(String backend) {
            backends.add(backend);
            return self();
        }

        /** The environment davit's settings are read from (default: this process's). */
        public B environment(Map<String, String> env) {
            this.env = Map.copyOf(env);
            return self();
        }

        /** Where the tools' log lines go (default: standard error). */
        public B log(PrintStream log) {
            this.log = log;
            return self();
        }

        /** The davit version the tools report and the catalog's environments are matched with (default: this jar's). */
        public B version(String version) {
            this.version = version;
            return self();
        }

        /**
         * The tools these options describe.
         *
         * @throws DavitException USAGE naming the builder method of an option out of its range
         */
        protected DavitTools tools() {
            check(ttl != null && ttl.getSeconds() >= 0 && ttl.getSeconds() <= 1_000_000_000L
                    && ttl.toMillis() >= 1, "ttl(Duration) must be between a millisecond and 10^9 seconds, got " + ttl);
            Path h = home != null ? home : dev.davit.oci.client.DavitHome.resolve(env);
            String session = java.util.UUID.randomUUID().toString();
            try {
                ServeOptions.checkOptions(tools, maxWorkspaces, warm, maxDisk, DavitMcpServer.onlyCluster(backends)
                        ? null : dev.davit.sandbox.Limits.unenforceable(), allowUnlimited);
                var budget = DavitMcpServer.budget(maxMemory, maxCpus, maxRuns, backends);
                DavitMcpServer server = new DavitMcpServer(new DavitMcpServer.Options(tools, allowPaths, allowNetwork,
                        maxWorkspaces, ttl, cleanupOnExit, h, env, log, version, allowRegistries, warm, budget,
                        maxDisk), new DavitMcpServer.Scope(owner, shares, true, publishLow, publishHigh, allowEgress,
                        commitTo, backends), session);
                return new DavitTools(server, session);
            } catch (DavitException e) {
                throw e.kind() == Kind.USAGE ? new DavitException(Kind.USAGE, methods(e.getMessage())) : e;
            }
        }

        /**
         * {@code message} with each {@code davit mcp serve} flag it names ({@code --max-memory}) as the method of
         * these options that stands for it ({@code maxMemory(long)}): the server checks its options in its
         * operator's words.
         */
        static String methods(String message) {
            return java.util.regex.Pattern.compile("--([a-z]+(?:-[a-z]+)*)").matcher(message).replaceAll(m -> {
                String flag = m.group(1);
                StringBuilder name = new StringBuilder();
                for (String part : flag.split("-")) {
                    name.append(name.isEmpty() ? part : Character.toUpperCase(part.charAt(0)) + part.substring(1));
                }
                String type = switch (flag) {
                    case "max-memory", "max-disk" -> "long";
                    case "max-cpus" -> "double";
                    case "max-runs", "max-workspaces", "warm" -> "int";
                    case "publish-ports" -> "int, int";
                    case "allow-path" -> "Path";
                    case "ttl" -> "Duration";
                    case "allow-network", "allow-unlimited", "cleanup-on-exit" -> "boolean";
                    default -> "String";
                };
                return java.util.regex.Matcher.quoteReplacement(name + "(" + type + ")");
            });
        }

        /** This jar's davit version (a build's own resource), or 0.0.0 where it has none. */
        private static String libraryVersion() {
            var p = new java.util.Properties();
            try (var in = DavitTools.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            } catch (java.io.IOException e) {
                return "0.0.0";
            }
            String v = p.getProperty("version", "0.0.0");
            return v.startsWith("$") ? "0.0.0" : v;
        }

        private static void check(boolean ok, String message) {
            if (!ok) {
                throw new DavitException(Kind.USAGE, message);
            }
        }
    }
}
