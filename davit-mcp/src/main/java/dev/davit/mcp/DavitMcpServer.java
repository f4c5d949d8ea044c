package dev.davit.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.Workspaces;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpServerFeatures;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.McpSyncServerExchange;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The MCP server: each tool call calls the library ({@link ToolCalls}: its arguments read into the library's specs,
 * its result written from the library's result types), concurrently with other calls. A library error is a result
 * with {@code isError}; a bad argument (a usage error) a JSON-RPC invalid-params error; both in the model's terms
 * ({@link ModelErrors}). Workspaces whose TTL has passed are removed every minute while the server runs.
 */
public final class DavitMcpServer implements AutoCloseable {
    /** The {@code _meta} key under which {@link CancelTap} passes a call's JSON-RPC request id to its handler. */
    static final String REQUEST_ID = "dev.davit/request-id";

    /** What {@code davit mcp serve} was given. */
    public record Options(String tools, List<Path> allowPaths, boolean allowNetwork, int maxWorkspaces,
                          java.time.Duration workspaceTtl, boolean cleanupOnExit, Path davitHome,
                          Map<String, String> env, PrintStream log, String version, List<String> allowRegistries,
                          int warm, Budget budget, long maxDiskMiB,
                          java.util.function.Function<dev.davit.oci.Message, String> operatorWords) {
        /**
         * The options; {@code operatorWords} words the library's messages in the server's log for the operator who
         * started it (the CLI's words for its flags); null: the library's own ({@link dev.davit.oci.Message#toString}).
         */
        public Options {
            operatorWords = operatorWords == null ? dev.davit.oci.Message::toString : operatorWords;
        }

        /** Options whose log words the library's messages in the library's own words. */
        public Options(String tools, List<Path> allowPaths, boolean allowNetwork, int maxWorkspaces,
                       java.time.Duration workspaceTtl, boolean cleanupOnExit, Path davitHome,
                       Map<String, String> env, PrintStream log, String version, List<String> allowRegistries,
                       int warm, Budget budget, long maxDiskMiB) {
            this(tools, allowPaths, allowNetwork, maxWorkspaces, workspaceTtl, cleanupOnExit, davitHome, env, log,
                    version, allowRegistries, warm, budget, maxDiskMiB, null);
        }

        /** Options without totals ({@link Budget#NONE}) and with the default {@code --max-disk}. */
        public Options(String tools, List<Path> allowPaths, boolean allowNetwork, int maxWorkspaces,
                       java.time.Duration workspaceTtl, boolean cleanupOnExit, Path davitHome,
                       Map<String, String> env, PrintStream log, String version, List<String> allowRegistries,
                       int warm) {
            this(tools, allowPaths, allowNetwork, maxWorkspaces, workspaceTtl, cleanupOnExit, davitHome, env, log,
                    version, allowRegistries, warm, Budget.NONE, dev.davit.sandbox.Limits.DEFAULT_DISK_MIB);
        }

        /** Options with totals and the default {@code --max-disk} ({@link dev.davit.sandbox.Limits#DEFAULT_DISK_MIB}). */
        public Options(String tools, List<Path> allowPaths, boolean allowNetwork, int maxWorkspaces,
                       java.time.Duration workspaceTtl, boolean cleanupOnExit, Path davitHome,
                       Map<String, String> env, PrintStream log, String version, List<String> allowRegistries,
                       int warm, Budget budget) {
            this(tools, allowPaths, allowNetwork, maxWorkspaces, workspaceTtl, cleanupOnExit, davitHome, env, log,
                    version, allowRegistries, warm, budget, dev.davit.sandbox.Limits.DEFAULT_DISK_MIB);
        }

        /** Options without totals ({@link Budget#NONE}) and with {@code --max-disk} {@code maxDiskMiB}. */
        public Options(String tools, List<Path> allowPaths, boolean allowNetwork, int maxWorkspaces,
                       java.time.Duration workspaceTtl, boolean cleanupOnExit, Path davitHome,
                       Map<String, String> env, PrintStream log, String version, List<String> allowRegistries,
                       int warm, long maxDiskMiB) {
            this(tools, allowPaths, allowNetwork, maxWorkspaces, workspaceTtl, cleanupOnExit, davitHome, env, log,
                    version, allowRegistries, warm, Budget.NONE, maxDiskMiB);
        }
    }

    /**
     * The budget of {@code davit mcp serve}'s {@code --max-memory}, {@code --max-cpus} and {@code --max-runs}
     * ({@code null}: the default from the host's size), checked.
     */
    public static Budget budget(Long maxMemoryMiB, Double maxCpus, Integer maxRuns) {
        return Budget.of(maxMemoryMiB, maxCpus, maxRuns);
    }

    /**
     * The budget of a server of backends {@code backends}: with the k8s backend alone, unset memory and CPUs are no
     * total of davit's (the namespace's ResourceQuota is the cluster's), else as {@link #budget(Long, Double,
     * Integer)}.
     */
    public static Budget budget(Long maxMemoryMiB, Double maxCpus, Integer maxRuns, List<String> backends) {
        return Budget.of(maxMemoryMiB, maxCpus, maxRuns, onlyCluster(backends));
    }

    /**
     * Whether {@code davit mcp serve --backend} {@code backends} (checked: an unknown one is refused) runs every
     * sandbox on the cluster, so that nothing of a model's runs on this host.
     */
    public static boolean onlyCluster(List<String> backends) {
        return Backends.of(backends).onlyCluster();
    }

    /**
     * Whose workspaces the model reaches, which host ports it may publish and where its sandboxes' egress may go:
     * {@code owner} ({@code --owner}), recorded on every workspace this server creates; {@code shares}
     * ({@code --share-workspace NAME[:ro|:rw]}), the operator's workspaces handed to it; {@code isolateSessions}
     * ({@code --isolate-sessions}, HTTP): each session sees only its own; {@code publishLow}..{@code publishHigh}
     * ({@code --publish-ports}): the host ports a model may publish (0, a free one, always); {@code allowEgress}
     * ({@code --allow-egress}): the outer bound of the egress policies a model may ask for (names, IPv4 networks,
     * presets; empty: none may be asked for); {@code commitTo} ({@code --commit-to}): the repository prefixes a
     * model's workspace_commit may name (empty: none); {@code backends} ({@code --backend}): where its sandboxes run,
     * the first that takes an environment its default (empty: container and vm, see {@link Backends}).
     */
    public record Scope(String owner, List<String> shares, boolean isolateSessions, int publishLow, int publishHigh,
                        List<String> allowEgress, List<String> commitTo, List<String> backends) {
        /** The defaults: owner {@code mcp}, nothing shared, sessions not isolated, host ports 1024 to 65535, no egress. */
        public static final Scope DEFAULT = new Scope(Access.DEFAULT_OWNER, List.of(), false, 1024, 65535);

        public Scope {
            shares = List.copyOf(shares);
            allowEgress = List.copyOf(allowEgress);
            commitTo = List.copyOf(commitTo);
            backends = List.copyOf(backends);
            if (publishLow < 1 || publishLow > publishHigh || publishHigh > 65535) {
                throw new DavitException(DavitException.Kind.USAGE, "--publish-ports needs LOW-HIGH with 1 <= LOW <="
                        + " HIGH <= 65535, got " + publishLow + "-" + publishHigh);
            }
        }

        /** A scope without an egress bound ({@code --allow-egress}). */
        public Scope(String owner, List<String> shares, boolean isolateSessions, int publishLow, int publishHigh) {
            this(owner, shares, isolateSessions, publishLow, publishHigh, List.of());
        }

        /** A scope that commits nowhere ({@code --commit-to}). */
        public Scope(String owner, List<String> shares, boolean isolateSessions, int publishLow, int publishHigh,
                     List<String> allowEgress) {
            this(owner, shares, isolateSessions, publishLow, publishHigh, allowEgress, List.of());
        }

        /** A scope whose sandboxes run where an environment's kind says (container or vm: no {@code --backend}). */
        public Scope(String owner, List<String> shares, boolean isolateSessions, int publishLow, int publishHigh,
                     List<String> allowEgress, List<String> commitTo) {
            this(owner, shares, isolateSessions, publishLow, publishHigh, allowEgress, commitTo, List.of());
        }
    }

    /** The largest result a call may answer with; past it the call fails (the model is told to ask for less). */
    static final int MAX_RESULT = 4 << 20;

    private final Options options;
    private final Scope scope;
    /** Which workspaces the model reaches (see {@link Access}). */
    private final Access access;
    private final List<Tool> tools;
    private final Set<String> offered;
    /** The model's words for library messages. */
    private final ModelErrors errors;
    private final Installs installs = new Installs(this::install);
    /** Catalog environment names (refreshed when a name is not among them, at most once a minute). */
    private volatile Set<String> catalogNames;
    private volatile long catalogReadAt;
    /** Environments this server found installed (no install step before their calls). */
    private final Set<String> installed = ConcurrentHashMap.newKeySet();
    private final JacksonMcpJsonMapper mapper = new JacksonMcpJsonMapper(protocolMapper());
    /** The threads running calls, by session-qualified request id (for notifications/cancelled). */
    private final Map<String, Thread> running = new ConcurrentHashMap<>();
    /** The workspaces this server created (removed on exit with --cleanup-on-exit). */
    private final Set<String> created = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Open until the first {@link #close} is done: a second one (a shutdown hook's) waits for it. */
    private final java.util.concurrent.CountDownLatch closeDone = new java.util.concurrent.CountDownLatch(1);
    private final ScheduledExecutorService reaper;
    /** Whether this server set the totals of its davit home (removed at close when no sandbox is left). */
    private boolean totalsSet;
    /** Started sandboxes for workspace_create ({@code --warm}); null without. */
    private final dev.davit.sandbox.workspace.WarmPool spares;
    /** How the tools call the library. */
    private final ToolCalls calls;
    /** The one session of an in-process server ({@link DavitTools}), or null. */
    private final String inProcess;

    public DavitMcpServer(Options options) {
        this(options, Scope.DEFAULT);
    }

    /**
     * The namespace's ResourceQuota for the k8s backend ({@code Sandboxes.quota}), or the reason it cannot be read as
     * a {@link DavitException}'s message.
     */
    private static Object quota(Path home) {
        try {
            return new dev.davit.sandbox.engine.Sandboxes(dev.davit.sandbox.SandboxOptions.under(home)).quota(
                    Backends.K8S);
        } catch (DavitException e) {
            return e.getMessage();
        }
    }

    public DavitMcpServer(Options options, Scope scope) {
        this(options, scope, null);
    }

    /**
     * A server whose calls all come from one caller in this process ({@link DavitTools}), as session
     * {@code inProcess}: the workspaces that count against {@code --max-workspaces} are that session's alone (not
     * those of every session of its owner, which another instance's model may hold), and a call leaves the calling
     * thread's interrupt as it found or made it (the thread is the application's, not a transport's). Null: a
     * transport's server.
     */
    DavitMcpServer(Options options, Scope scope, String inProcess) {
        this.options = options;
        this.scope = scope;
        this.inProcess = inProcess;
        EgressBound egress = EgressBound.of(scope.allowEgress(), options.operatorWords());
        Backends backends = Backends.of(scope.backends());
        this.access = new Access(scope.owner(), scope.shares(), scope.isolateSessions(), options.davitHome(),
                options.allowNetwork(), egress);
        Policy policy = new Policy(options.allowPaths(), options.allowNetwork(), options.maxWorkspaces(),
                options.workspaceTtl(), options.davitHome(), options.allowRegistries(), this::inCatalog,
                new Policy.Admission(options.budget()), inProcess == null ? access::owns
                : w -> access.ownerFor(inProcess).equals(w.owner()), options.maxDiskMiB(), egress, scope.commitTo());
        dev.davit.sandbox.SandboxOptions sandboxOptions = EgressBound.sandboxOptions(options.davitHome(),
                options.env());
        if (backends.onlyCluster()) {
            // nothing of a model's runs on this host: each pod's limits are the cluster's to enforce, and so are the
            // totals (the namespace's ResourceQuota); admission counts --max-workspaces, --max-runs and an
            // operator's --max-memory
            Budget b = options.budget();
            options.log().println("davit: the model's sandboxes run as pods of the cluster (--backend k8s), each"
                    + " with the memory, CPU and disk limits the cluster enforces; " + Budget.clusterTotals(quota(
                    options.davitHome())) + "; admission counts " + options.maxWorkspaces() + " workspaces"
                    + " (--max-workspaces)" + (b.maxRuns > 0 ? " and " + b.maxRuns + " runs at once (--max-runs)" : "")
                    + (b.maxMemoryMiB > 0 ? " of " + b.maxMemoryMiB + " MiB together (--max-memory)" : "")
                    + "; no cgroup of this host holds them");
        } else if (!options.budget().none() && dev.davit.sandbox.Limits.unenforceable() == null) {
            // the kernel's bound, whatever admission does: every sandbox of this home below one cgroup
            List<Path> at = dev.davit.sandbox.backend.Machinery.of(new dev.davit.sandbox.engine.Sandboxes(
                    dev.davit.sandbox.SandboxOptions.under(options.davitHome())))
                    .setTotals(options.budget().totals(options.maxWorkspaces()));
            options.log().println("davit: " + options.budget().describe(options.maxWorkspaces()) + " (cgroup "
                    + at.getFirst().getFileName() + ")");
            totalsSet = true;
        }
        // davit's exec helper is written now, before calls run at once: a helper written while another call's thread
        // forks could be inherited open for writing by that child, and its first exec fail with ETXTBSY
        dev.davit.sandbox.jail.Jail.execHelper(dev.davit.sandbox.SandboxOptions.under(options.davitHome()));
        // a registry's words never reach the model (a registry it names could answer anything)
        dev.davit.oci.registry.Transport.quoteErrorBodies(false);
        Tool.Profile profile = Tool.Profile.parse(options.tools());
        this.calls = new ToolCalls(policy, this::spares, options.version(), sandboxOptions, backends);
        this.tools = Tools.all(policy, calls).stream().filter(t -> t.in(profile)).toList();
        this.offered = Set.copyOf(tools.stream().map(Tool::name).toList());
        this.errors = new ModelErrors(new ModelWords(tools));
        calls.speaking(errors::toModel);
        this.reaper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "davit-mcp-reaper");
            t.setDaemon(true);
            return t;
        });
        reaper.scheduleWithFixedDelay(this::reapExpired, 1, 60, TimeUnit.SECONDS);
        this.spares = options.warm() <= 0 ? null
                : dev.davit.sandbox.workspace.internal.WorkspaceInternals.warmPool(
                Workspaces.under(options.davitHome(), sandboxOptions), options.warm(), policy.spareRoom(),
                line -> options.log().println(options.operatorWords().apply(line)));
    }

    /** {@code e}'s message as the operator reads it in the server's log. */
    private String toOperator(Throwable e) {
        return e instanceof DavitException d ? options.operatorWords().apply(d.message())
                : String.valueOf(e.getMessage());
    }

    /** The warm pool's spares for workspace_create, or null. */
    private dev.davit.sandbox.workspace.WarmPool spares() {
        return spares;
    }

    /** Refuses a {@code --tools} value that names no profile (before anything starts). */
    public static void checkTools(String tools) {
        Tool.Profile.parse(tools);
    }

    JacksonMcpJsonMapper mapper() {
        return mapper;
    }

    /**
     * davit's JSON mapper for the protocol's messages: a string may be as long as a whole message
     * ({@link CancelTap#MAX_LINE}; davit's own documents allow 4 MiB), so that a message the transport reads is one
     * it can parse.
     */
    static com.fasterxml.jackson.databind.ObjectMapper protocolMapper() {
        com.fasterxml.jackson.databind.ObjectMapper m = Json.mapper().copy();
        m.getFactory().setStreamReadConstraints(m.getFactory().streamReadConstraints().rebuild()
                .maxStringLength(CancelTap.MAX_LINE).build());
        return m;
    }

    /** The tool specifications for the SDK's server builder. */
    public List<McpServerFeatures.SyncToolSpecification> specifications() {
        List<McpServerFeatures.SyncToolSpecification> specs = new ArrayList<>();
        for (Tool t : tools) {
            specs.add(McpServerFeatures.SyncToolSpecification.builder().tool(t.toSchema(offered))
                    .callHandler((exchange, request) -> call(t, request, progress(exchange, request),
                            exchange.sessionId() == null ? "stdio" : exchange.sessionId())).build());
        }
        return specs;
    }

    /** Instructions for the model, sent with initialize (naming only the tools offered). */
    String instructions() {
        return Tool.forTools("davit runs commands in isolated sandboxes. One-shot: 'run'.[[workspace_create| Lasting"
                + " state: 'workspace_create', then 'workspace_exec', 'workspace_file_read'/'workspace_file_write',"
                + " 'workspace_diff', and 'workspace_remove' when done.]] 'environment_list' shows the environments; 'environment_pull'"
                + " installs one ahead of time.", offered);
    }

    /** Whether {@code name} is an environment of the catalog. */
    boolean inCatalog(String name) {
        Set<String> names = catalogNames;
        if (names == null || (!names.contains(name) && System.nanoTime() - catalogReadAt > 60_000_000_000L)) {
            Set<String> found;
            try {
                found = Set.copyOf(calls.catalog().names());
            } catch (RuntimeException e) {
                found = Set.of(); // no catalog: no environment names
            }
            catalogNames = names = found;
            catalogReadAt = System.nanoTime();
        }
        return names.contains(name);
    }

    /** Installs catalog environment {@code name} (environment_pull's install), passing its progress lines on. */
    private Installs.Outcome install(String name, java.util.function.Consumer<String> progress) {
        try {
            Installs.Outcome o = new Installs.Outcome(calls.install(name, progress), null);
            installed.add(name);
            return o;
        } catch (DavitException e) {
            return new Installs.Outcome(null, e);
        }
    }

    /**
     * Where a call's progress lines go: progress notifications when the client sent a progressToken, else nowhere.
     */
    private static java.util.function.Consumer<String> progress(McpSyncServerExchange exchange,
                                                              McpSchema.CallToolRequest request) {
        Object token = request.meta() == null ? null : request.meta().get("progressToken");
        if (token == null) {
            return null;
        }
        double[] n = {0};
        return line -> {
            synchronized (n) {
                n[0]++;
                try {
                    exchange.progressNotification(new McpSchema.ProgressNotification(token, n[0], null, line));
                } catch (RuntimeException e) {
                    // the client went away: the call goes on (and is cancelled with the session)
                }
            }
        };
    }

    McpSchema.CallToolResult call(Tool tool, McpSchema.CallToolRequest request) {
        return call(tool, request, null, "stdio");
    }

    /**
     * Runs a call of {@code tool} by the MCP session {@code session} (the transport's id of it, never one the client
     * names: it decides which workspaces the call reaches with --isolate-sessions).
     */
    McpSchema.CallToolResult call(Tool tool, McpSchema.CallToolRequest request,
                                  java.util.function.Consumer<String> progress, String session) {
        Map<String, Object> args = request.arguments() == null ? new java.util.LinkedHashMap<>()
                : new java.util.LinkedHashMap<>(request.arguments()); // a check may pin a host path (Pins)
        List<String> deprecated = Aliases.apply(tool, args, request.meta()); // old names, kept for one release
        return Aliases.noted(call(tool, args, request, progress, session), deprecated);
    }

    private McpSchema.CallToolResult call(Tool tool, Map<String, Object> args, McpSchema.CallToolRequest request,
                                          java.util.function.Consumer<String> progress, String session) {
        tool.validate(args); // arguments first: types, names, required
        tool.withDefaults(args);
        Workspace target = null; // the workspace the call acts on (Tool.Call#workspace), if any
        if (args.get("workspace") instanceof String ref) { // the one place a workspace argument is resolved
            try {
                target = access.resolve(ref, session, tool);
            } catch (DavitException e) {
                return failure(tool, e, null);
            } catch (McpError e) {
                throw e; // a shared workspace's refusal of the tool: invalid params, as the model must read it
            } catch (RuntimeException e) { // a reference no file name can hold (a NUL): no such workspace
                return error("not_found", "no workspace " + ModelErrors.printable(dev.davit.oci.internal.Text.shorten(
                        ref, 80)) + "; see workspace_list", DavitException.Kind.NOT_FOUND.exitCode());
            }
        }
        Workspace workspace = target;
        Publish.check(args, scope.publishLow(), scope.publishHigh());
        Path[] scratch = new Path[1];
        List<Runnable> releases = new ArrayList<>();
        Pins pins = Pins.open();
        Object requestId = request.meta() == null ? null : request.meta().get(REQUEST_ID);
        if (requestId != null) {
            running.put(requestId.toString(), Thread.currentThread());
            if (tool.name().equals("workspace_exec") && !Boolean.TRUE.equals(args.get("detach"))) {
                goesOnWhenCancelled.add(requestId.toString());
            }
        }
        String callId = requestId == null ? null : requestId.toString();
        try {
            Tool.Call call = new Tool.Call() {
                @Override
                public Path scratch() {
                    if (scratch[0] == null) {
                        try {
                            scratch[0] = Files.createTempDirectory("davit-mcp-");
                        } catch (IOException e) {
                            throw new DavitException(DavitException.Kind.INTERNAL, "cannot make a temporary"
                                    + " directory: " + e.getMessage());
                        }
                    }
                    return scratch[0];
                }

                @Override
                public void release(Runnable r) {
                    releases.add(r);
                }

                @Override
                public boolean heard() {
                    return progress != null;
                }

                @Override
                public void progress(String line) {
                    if (progress != null && (callId == null || !abandoned.contains(callId))) {
                        progress.accept(line); // none to a client that gave the call up
                    }
                }

                @Override
                public String owner() {
                    return access.ownerFor(session); // what it makes is this server's (session's)
                }

                @Override
                public Workspace workspace() {
                    return workspace;
                }

                @Override
                public String inModelTerms(dev.davit.oci.Message m) {
                    return m == null ? null : toModel(errors.toModel(m), pins);
                }
            };
            tool.check().check(args, call);
            McpSchema.CallToolResult waiting = installFirst(tool, args, progress);
            if (waiting != null) {
                return waiting;
            }
            McpSchema.CallToolResult r = direct(tool, args, call, session);
            if (tool.name().equals("workspace_create") && !Boolean.TRUE.equals(r.isError())
                    && r.structuredContent() instanceof Map<?, ?> doc && doc.get("id") instanceof String id) {
                created.add(id);
            }
            if (tool.name().equals("workspace_fork") && !Boolean.TRUE.equals(r.isError())
                    && r.structuredContent() instanceof Map<?, ?> doc && doc.get("workspaces") instanceof List<?> forks) {
                for (Object f : forks) {
                    if (f instanceof Map<?, ?> m && m.get("id") instanceof String id) {
                        created.add(id);
                    }
                }
            }
            return r;
        } catch (DavitException e) {
            return failure(tool, e, pins);
        } catch (McpError e) {
            throw pins.rewrite(e);
        } catch (RuntimeException e) {
            // a failure the library did not make its own (a JDK check it lacks): an error result, as the CLI reports
            // it, not a protocol error with the raw text (unprintable bytes, the paths the server pinned)
            options.log().println("davit: " + tool.name() + " failed: " + ModelErrors.printable(e.toString()));
            return error("internal", ModelErrors.printable(toModel("internal error: " + e, pins)),
                    DavitException.Kind.INTERNAL.exitCode());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error("cancelled", "the call was cancelled while its environment was installing (the install"
                    + " goes on)", DavitException.Kind.CANCELLED.exitCode());
        } finally {
            releases.forEach(Runnable::run);
            pins.close();
            if (requestId != null) {
                synchronized (abandoned) {
                    running.remove(requestId.toString());
                    goesOnWhenCancelled.remove(requestId.toString());
                    abandoned.remove(requestId.toString());
                }
            }
            if (inProcess == null) {
                Thread.interrupted(); // a cancellation that came late must not reach the next call on this thread
            }
            if (scratch[0] != null) {
                try {
                    Fs.deleteTree(scratch[0]);
                } catch (IOException e) {
                    options.log().println("davit: could not delete " + scratch[0] + ": " + e.getMessage());
                }
            }
        }
    }

    /**
     * A call of the library ({@link Tool#direct}): its result, bounded ({@link #MAX_RESULT}); a command's non-zero
     * exit code is a result with isError.
     */
    private McpSchema.CallToolResult direct(Tool tool, Map<String, Object> args, Tool.Call call, String session) {
        JsonNode doc = tool.direct().call(args, call);
        if (tool.name().equals("workspace_list")) {
            doc = access.list(doc, session);
        }
        boolean ran = tool.name().equals("workspace_exec") || tool.name().equals("run");
        return result((ObjectNode) doc, ran && doc.path("exit_code").asInt() != 0, tool);
    }

    /** How long a call waits for an install before it answers that the install goes on. */
    static long installWaitMs() {
        return Long.getLong("davit.mcp.installWaitMs", Tools.LONG_WAIT_S * 1000);
    }

    /**
     * Before a call that needs a catalog environment that may not be installed yet ({@code run},
     * {@code workspace_create}, {@code environment_pull}): its install, in the background, waited for a while. Null when the
     * call may go on (installed, or not a catalog environment); else the call's answer: the install's failure, or
     * that it still goes on.
     */
    private McpSchema.CallToolResult installFirst(Tool tool, Map<String, Object> args,
                                                  java.util.function.Consumer<String> progress)
            throws InterruptedException {
        String name = tool.name().equals("environment_pull") ? (String) args.get("name")
                : tool.name().equals("run") || tool.name().equals("workspace_create") ? (String) args.get("environment") : null;
        if (name == null || installed.contains(name) || !inCatalog(name)) {
            return null;
        }
        Installs.Outcome o = installs.await(name, installWaitMs(), progress);
        if (o == null) {
            String step = installs.lastStep(name);
            // a step may quote a library message (why the install fell back): in the model's terms
            step = ModelErrors.printable(step);
            String message = "environment " + name + " is still being installed" + (step == null ? ""
                    : " (now: " + step + ")") + "; the install goes on: call " + tool.name() + " again in a minute";
            if (tool.name().equals("environment_pull")) {
                ObjectNode doc = Json.object().put("name", name).put("status", "installing").put("message", message);
                return result(doc, false);
            }
            return error("state", message, DavitException.Kind.STATE.exitCode());
        }
        if (o.error() != null) {
            return failure(tool, o.error(), null);
        }
        return null;
    }

    /**
     * The result of a call that failed with the library's {@code e}: a usage error is a JSON-RPC invalid-params
     * error, any other a result with isError ({@code {"error": {kind, message, exit_code}}}), both in the model's
     * words ({@link ModelErrors}). A workspace the model may not see fails exactly as one that does not exist.
     */
    private McpSchema.CallToolResult failure(Tool tool, DavitException e, Pins pins) {
        String message = toModel(errors.toModel(e), pins);
        if (e.kind() == DavitException.Kind.USAGE) {
            throw Tool.invalid(message);
        }
        return error(e.kind().name().toLowerCase(java.util.Locale.ROOT), message, e.kind().exitCode());
    }

    /**
     * A message in the model's words ({@link ModelErrors}, the one conversion of an error's meaning) with a pinned
     * host path as the model gave it.
     */
    private static String toModel(String message, Pins pins) {
        return pins == null ? message : pins.rewrite(message);
    }

    /** A failed call's result: {@code {"error": {kind, message, exit_code}}} with isError. */
    private static McpSchema.CallToolResult error(String kind, String message, int exitCode) {
        ObjectNode doc = Json.object();
        doc.putObject("error").put("kind", kind).put("message", message).put("exit_code", exitCode);
        return result(doc, true);
    }

    /** The answer of a call whose result would be larger than {@link #MAX_RESULT}. */
    private static McpSchema.CallToolResult tooLarge(Tool tool) {
        return error("usage", "the result of " + tool.name() + " is larger than " + (MAX_RESULT >> 20) + " MiB;"
                + " ask for less (a directory further down, a smaller limit)", 2);
    }

    private static McpSchema.CallToolResult result(ObjectNode doc, boolean isError) {
        return McpSchema.CallToolResult.builder().structuredContent(Json.mapper().convertValue(doc, Map.class))
                .addTextContent(new String(Json.bytes(doc), StandardCharsets.UTF_8)).isError(isError).build();
    }

    /** {@link #result(ObjectNode, boolean)} of a call of {@code tool}, refused when larger than {@link #MAX_RESULT}. */
    private static McpSchema.CallToolResult result(ObjectNode doc, boolean isError, Tool tool) {
        byte[] text = Json.bytes(doc);
        if (text.length > MAX_RESULT) {
            return tooLarge(tool);
        }
        return McpSchema.CallToolResult.builder().structuredContent(Json.mapper().convertValue(doc, Map.class))
                .addTextContent(new String(text, StandardCharsets.UTF_8)).isError(isError).build();
    }

    /**
     * The client gave up the call with this JSON-RPC request id (notifications/cancelled; an SDK sends it when its
     * request timeout passes). A foreground {@code workspace_exec} goes on: its command runs to its end (or its
     * timeout) and is logged as every exec is, so {@code workspace_logs} shows it and {@code workspace_exec_output}
     * pages its output; at most {@link #MAX_ABANDONED} at once, past which a cancelled one is killed. Any other call
     * is interrupted: its command is killed.
     */
    void cancel(String requestId) {
        synchronized (abandoned) { // as the call's end is (its finally): never a thread that went on to another call
            Thread t = running.get(requestId);
            if (t == null) {
                return;
            }
            if (goesOnWhenCancelled.contains(requestId) && abandoned.size() < MAX_ABANDONED) {
                abandoned.add(requestId);
                log("davit: a workspace_exec (request " + ModelErrors.printable(requestId) + ") was cancelled by its"
                        + " client: its command goes on, and workspace_logs shows it when it ends");
                return;
            }
            t.interrupt();
        }
    }

    /** How many cancelled foreground execs may go on at once (past it, a cancel kills). */
    static final int MAX_ABANDONED = 16;
    /** The calls a cancel lets go on: foreground workspace_exec calls, by request id. */
    private final Set<String> goesOnWhenCancelled = ConcurrentHashMap.newKeySet();
    /** Those a client cancelled, which go on. */
    private final Set<String> abandoned = ConcurrentHashMap.newKeySet();

    /** Interrupts every call in flight (the client went away). */
    void cancelAll() {
        running.values().forEach(Thread::interrupt);
    }

    /** Interrupts the calls of one HTTP session (the client deleted it): their commands are killed. */
    void cancelSession(String session) {
        running.forEach((id, t) -> {
            if (id.startsWith(session + "/")) {
                t.interrupt();
            }
        });
    }

    /** One line on the server's log (stderr). */
    void log(String line) {
        options.log().println("davit: " + line);
    }

    /** How many calls are in flight. */
    int inFlight() {
        return running.size();
    }

    /** Removes the workspaces whose TTL has passed. */
    void reapExpired() {
        try {
            Workspaces ws = Workspaces.under(options.davitHome());
            Instant now = Instant.now();
            for (Workspace w : ws.list()) {
                // this server's own only: the operator's (and another server's) are reaped by their own doors
                if (access.owns(w) && w.ttl() != null && w.createdAt().plus(w.ttl()).isBefore(now)) {
                    ws.rm(w.id());
                    options.log().println("davit: removed workspace " + w.id() + " (its ttl passed)");
                }
            }
        } catch (RuntimeException e) {
            options.log().println("davit: reaping expired workspaces failed: " + toOperator(e));
        }
    }

    /** Builds the SDK server for this transport. */
    McpSyncServer build(io.modelcontextprotocol.spec.McpServerTransportProvider transport) {
        return io.modelcontextprotocol.server.McpServer.sync(transport).jsonMapper(mapper)
                .serverInfo("davit", options.version()).instructions(instructions())
                .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
                .tools(specifications()).build();
    }

    /** The names of the tools this server offers. */
    Set<String> offered() {
        return offered;
    }

    /** The tools this server offers. */
    List<Tool> tools() {
        return tools;
    }

    /** Builds the SDK server for a streamable HTTP transport. */
    McpSyncServer build(io.modelcontextprotocol.spec.McpStreamableServerTransportProvider transport) {
        return io.modelcontextprotocol.server.McpServer.sync(transport).jsonMapper(mapper)
                .serverInfo("davit", options.version()).instructions(instructions())
                .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
                .tools(specifications()).build();
    }

    /**
     * Stops the reaper and cancels the calls in flight (their commands are killed, one-shot sandboxes removed),
     * waiting up to 30 s for them to end; removes the warm pool's spares; with --cleanup-on-exit then removes the
     * workspaces this server created. Idempotent: a second call returns when the first is done.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            try { // e.g. SIGTERM while stdin's end is being handled: the JVM must not end before the close does
                closeDone.await(120, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        try {
            closeOnce();
        } finally {
            closeDone.countDown();
        }
    }

    private void closeOnce() {
        reaper.shutdownNow();
        installs.close();
        cancelAll();
        if (spares != null) {
            spares.close();
        }
        calls.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!running.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (options.cleanupOnExit()) {
            Workspaces ws = Workspaces.under(options.davitHome());
            for (Workspace w : ws.list()) {
                if (!created.contains(w.id())) {
                    continue; // not ours, or already deleted
                }
                try {
                    ws.rm(w.id());
                    options.log().println("davit: removed workspace " + w.id() + " (--cleanup-on-exit)");
                } catch (RuntimeException e) {
                    options.log().println("davit: could not remove workspace " + w.id() + ": "
                            + toOperator(e));
                }
            }
        }
        if (totalsSet) {
            try { // no sandbox of the home left: its totals' cgroup goes (one with sandboxes below stays as it is)
                if (Workspaces.under(options.davitHome()).list().isEmpty()) {
                    dev.davit.sandbox.backend.Machinery.of(new dev.davit.sandbox.engine.Sandboxes(
                            dev.davit.sandbox.SandboxOptions.under(options.davitHome())))
                            .setTotals(dev.davit.sandbox.internal.Totals.NONE);
                }
            } catch (RuntimeException e) {
                // an empty cgroup left costs nothing
            }
        }
    }
}
