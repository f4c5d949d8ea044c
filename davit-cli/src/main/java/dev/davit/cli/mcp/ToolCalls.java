package dev.davit.cli.mcp;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.OpenWorkspace;
import dev.davit.env.Environment;
import dev.davit.env.catalog.CatalogResolver;
import dev.davit.env.json.EnvJson;
import dev.davit.env.resolve.NameResolver;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.SpooledExcerpt;
import dev.davit.sandbox.internal.SandboxJson;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import dev.davit.sandbox.workspace.ExecOutput;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.ServiceSpec;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceLabels;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How each tool calls the library: one small mapping per tool from its checked arguments to the library's own
 * specs and methods, and from the library's result types to the tool's result (the shapes docs/reference/MCP.md and
 * docs/reference/JSON.md give, written by the library's own writers where the CLI shows the same).
 */
final class ToolCalls implements AutoCloseable {
    private final Policy policy;
    /** The warm pool's spares for workspace_create, or null. */
    private final java.util.function.Supplier<dev.davit.sandbox.workspace.WarmPool> spares;
    /** This davit's version (an environment says which versions it works with). */
    private final String version;
    /** The options of the server's sandboxes (the davit home's; where the egress gate resolves names). */
    private final SandboxOptions sandboxOptions;
    /** Where the model's sandboxes run ({@code --backend}). */
    private final Backends backends;
    private final Map<String, Tool.Direct> calls = new LinkedHashMap<>();
    /** The home's workspaces ({@link #workspaces()}). */
    private Workspaces workspaces;
    /** The registry client over the home's store (images to run), made at its first use. */
    private dev.davit.oci.client.DavitClient client;

    /** The model's words for a library note (an install's fallback and why); set once the tools are known. */
    private volatile java.util.function.Function<dev.davit.oci.Message, String> words = String::valueOf;

    ToolCalls(Policy policy, java.util.function.Supplier<dev.davit.sandbox.workspace.WarmPool> spares,
              String version, SandboxOptions sandboxOptions, Backends backends) {
        this.policy = policy;
        this.backends = backends;
        this.spares = spares;
        this.version = version;
        this.sandboxOptions = sandboxOptions;
        on("run", this::run);
        on("env_pull", (a, call) -> install((String) a.get("name"), call::progress));
        on("env_prune", (a, call) -> (ObjectNode) installer(null).prune(catalog()).toJson());
        on("env_list", this::envList);
        on("env_inspect", this::envInspect);
        on("workspace_create", this::create);
        ws("workspace_exec", this::exec);
        ws("workspace_exec_output", this::execOutput);
        ws("workspace_exec_wait", (w, a, call) -> {
            Duration wait = a.get("timeout") instanceof Number n ? Duration.ofMillis(Math.round(n.doubleValue()
                    * 1000)) : Duration.ofSeconds(30);
            var x = w.execWait((String) a.get("exec_id"), wait);
            ObjectNode doc = WorkspaceJson.detached(x);
            long from = Math.max(0, x.outputBytes() - 2048);
            byte[] tail = w.output(x.execId(), null, from, 2048).bytes();
            // what the egress gate refused since the exec started (the newest), as it happens: a wait that
            // returns while the command still retries a refused connection says so
            doc.set("network_denied", SandboxJson.denied(dev.davit.sandbox.EgressDenial.newest(
                    denialsSince(w, x.startedAt()))));
            return doc.put("output_tail", new String(tail, java.nio.charset.StandardCharsets.UTF_8));
        });
        ws("workspace_exec_kill", (w, a, call) -> WorkspaceJson.detached(w.execKill((String) a.get("exec_id"))));
        on("workspace_list", this::list);
        ws("workspace_status", (w, a, call) -> doc(w.info(), w.status()));
        ws("workspace_update", this::update);
        ws("workspace_stop", (w, a, call) -> doc(w.info(), w.stop()));
        ws("workspace_start", (w, a, call) -> doc(w.info(), w.start()));
        ws("workspace_pause", (w, a, call) -> doc(w.info(), w.pause()));
        ws("workspace_resume", (w, a, call) -> doc(w.info(), w.resume()));
        ws("workspace_delete", (w, a, call) -> {
            w.remove();
            return removed("id", w.id());
        });
        ws("workspace_file_list", (w, a, call) -> files(w.listFiles((String) a.get("path"), flag(a, "recursive"))));
        ws("workspace_file_read", (w, a, call) -> content((String) a.get("path"), w.readFile((String) a.get("path"),
                number(a, "offset", 0), number(a, "max_bytes", 65536)), true));
        ws("workspace_file_write", (w, a, call) -> {
            String path = (String) a.get("path");
            long n = w.writeFile(path, new ByteArrayInputStream(Tools.content(a)));
            return Json.object().put("path", path).put("bytes", n);
        });
        ws("workspace_diff", this::diff);
        ws("workspace_snapshot_create", (w, a, call) -> WorkspaceJson.snapshot(w.snapshot((String) a.get("name"),
                flag(a, "all"))));
        ws("workspace_snapshot_list", (w, a, call) -> WorkspaceJson.snapshots(w.snapshots()));
        ws("workspace_snapshot_delete", (w, a, call) -> {
            w.removeSnapshot((String) a.get("name"));
            return removed("name", (String) a.get("name"));
        });
        ws("workspace_fork", (w, a, call) -> {
            List<String> names = strings(a, "names");
            int count = a.get("count") instanceof Number n ? n.intValue() : 0;
            ObjectNode doc = Json.object().put("forked_from", w.id());
            ArrayNode arr = doc.putArray("workspaces");
            for (Workspace f : w.fork(count, names)) {
                Sandbox s = workspaces().sandbox(f.id());
                arr.add(doc(f, s));
            }
            return doc;
        });
        ws("workspace_commit", (w, a, call) -> {
            var c = new dev.davit.sandbox.workspace.WorkspaceImages(workspaces(), client()).commit(w.id(),
                    (String) a.get("reference"), new dev.davit.sandbox.workspace.WorkspaceImages.CommitOptions(null,
                            flag(a, "push"), null));
            return WorkspaceJson.commit(c).put("pushed", c.pushed() != null);
        });
        ws("workspace_snapshot_push", (w, a, call) -> WorkspaceJson.snapshotPush(
                new dev.davit.sandbox.workspace.WorkspaceImages(workspaces(), client()).pushSnapshot(w.id(),
                        (String) a.get("snapshot"), (String) a.get("reference"), false, null)));
        ws("workspace_reset", (w, a, call) -> {
            String snapshot = (String) a.get("snapshot");
            Sandbox s = snapshot == null ? w.reset() : w.reset(snapshot);
            return doc(w.info(), s).put("reset_to", snapshot == null ? "baseline" : snapshot);
        });
        ws("workspace_logs", (w, a, call) -> {
            List<dev.davit.sandbox.workspace.ExecEntry> all = w.logs();
            int last = (int) Math.min(number(a, "last", 20), all.size());
            ArrayNode arr = Json.array();
            all.subList(all.size() - last, all.size()).forEach(e -> arr.add(WorkspaceJson.execEntry(e)));
            ArrayNode bg = Json.array();
            w.execs().forEach(x -> bg.add(WorkspaceJson.detached(x)));
            return (ObjectNode) Json.object().<ObjectNode>set("logs", arr).set("background", bg);
        });
        ws("workspace_push", (w, a, call) -> {
            Path used = policy.pinHostPath(a, "host_path", call::scratch);
            return WorkspaceJson.copied(w.push(used, (String) a.get("dest")));
        });
        ws("workspace_export", (w, a, call) -> export(a, call, dest -> w.export(dest, (String) a.get("path"),
                (entries, bytes) -> call.progress("exporting: " + entries + " entries, " + (bytes >> 20)
                        + " MiB copied so far"))));
        ws("workspace_disk_export", (w, a, call) -> export(a, call, dest -> w.diskExport(dest,
                (String) a.get("path"))));
        ws("workspace_disk_list", (w, a, call) -> files(w.diskList((String) a.get("path"), flag(a, "recursive"))));
        ws("workspace_disk_read", (w, a, call) -> content((String) a.get("path"), w.diskRead((String) a.get("path"),
                number(a, "max_bytes", 65536)), false));
        ws("workspace_file_edit", (w, a, call) -> {
            var e = w.edit((String) a.get("path"), (String) a.get("old_text"), (String) a.get("new_text"),
                    flag(a, "replace_all"));
            return Json.object().put("path", e.path()).put("replacements", e.replacements()).put("line", e.line());
        });
        ws("workspace_patch", (w, a, call) -> WorkspaceJson.patched(w.applyPatch((String) a.get("patch"))));
        ws("workspace_service_start", this::serviceStart);
        ws("workspace_service_list", (w, a, call) -> WorkspaceJson.services(w.services().list()));
        ws("workspace_service_logs", (w, a, call) -> {
            String name = (String) a.get("name");
            // more lines than an int counts are all of them (not the int the cast would leave)
            return WorkspaceJson.serviceLog(name, w.services().log(name,
                    (int) Math.min(number(a, "tail", 0), Integer.MAX_VALUE)));
        });
        ws("workspace_service_stop", (w, a, call) -> WorkspaceJson.service(w.services().stop((String) a.get("name"))));
        ws("workspace_shell_open", (w, a, call) -> WorkspaceJson.shell(w.shells().open(strings(a, "command"),
                env(a, "env_vars"), env(a, "secret_env"))));
        ws("workspace_shell_write", (w, a, call) -> {
            byte[] data = ((String) a.get("data")).getBytes(StandardCharsets.UTF_8);
            w.shells().write((String) a.get("shell"), data);
            return Json.object().put("id", (String) a.get("shell")).put("bytes", data.length);
        });
        ws("workspace_shell_read", this::shellRead);
        ws("workspace_shell_signal", (w, a, call) -> {
            w.shells().signal((String) a.get("shell"), (String) a.get("signal"));
            return Json.object().put("id", (String) a.get("shell")).put("signal", (String) a.get("signal"));
        });
        ws("workspace_shell_close", (w, a, call) -> {
            w.shells().close((String) a.get("shell"));
            return removed("id", (String) a.get("shell"));
        });
        ws("workspace_network", this::network);
        ws("workspace_network_log", (w, a, call) -> network(w).set("denials", SandboxJson.denied(
                last(w.egressDenials(), number(a, "last", 50)))));
        on("reap", (a, call) -> {
            String owner = call.owner();
            return WorkspaceJson.reaped(workspaces().ownedBy(owner).reap(w -> w.ownedBy(owner)));
        });
    }

    /** {@code tools}, each with its call of the library (every tool has one). */
    List<Tool> attach(List<Tool> tools) {
        return tools.stream().map(t -> {
            Tool.Direct d = calls.get(t.name());
            if (d == null) {
                throw new IllegalStateException("tool " + t.name() + " has no call of the library (ToolCalls)");
            }
            return t.withDirect(d);
        }).toList();
    }

    @Override
    public synchronized void close() {
        if (client != null) {
            client.close();
        }
    }

    /** The library's client defaults with davit's User-Agent, as the CLI's ({@code davit/VERSION}). */
    private dev.davit.oci.client.ClientOptions clientOptions() {
        dev.davit.oci.client.ClientOptions o = dev.davit.oci.client.ClientOptions.defaults();
        return o.withRegistry(o.registry().toBuilder().userAgent("davit/" + version).build());
    }

    private synchronized dev.davit.oci.client.DavitClient client() {
        if (client == null) {
            // the signature policy of the server's home (else the user's, else the system's): every image a tool
            // pulls or runs is held to it, as the CLI's are
            client = dev.davit.oci.client.DavitClient.create(clientOptions()
                    .withStore(dev.davit.oci.client.DavitHome.storeOf(policy.davitHome()))
                    .withTrust(dev.davit.oci.policy.Trust.fromSystem(null, policy.davitHome(), System.getenv())));
        }
        return client;
    }

    /** The catalog: the built-in one (as the CLI's without --catalog). */
    dev.davit.env.Catalog catalog() {
        return resolved().catalog();
    }

    private CatalogResolver.Resolved resolved() {
        return new CatalogResolver(this::client).resolve(new dev.davit.env.catalog.CatalogOptions(null, false, false,
                System.getenv(), policy.davitHome()));
    }

    /** Whether {@code e} works with this davit. */
    private boolean compatible(Environment e) {
        return dev.davit.env.catalog.DavitVersions.accepts(e.davitVersions(), version);
    }

    private ObjectNode envList(Map<String, Object> a, Tool.Call call) {
        CatalogResolver.Resolved r = resolved();
        dev.davit.env.install.Installer installer = installer(null);
        NameResolver.Facts facts = NameResolver.facts(r.catalog(), installer, client(), false);
        ObjectNode doc = Json.object();
        doc.set("catalog", EnvJson.catalog(r));
        ArrayNode arr = doc.putArray("environments");
        for (dev.davit.env.install.InstallStatus s : installer.list(r.catalog())) {
            arr.add(EnvJson.listed(s, NameResolver.catalogEnvironment(s.environment().name(), facts),
                    compatible(s.environment())));
        }
        return doc;
    }

    private ObjectNode envInspect(Map<String, Object> a, Tool.Call call) {
        CatalogResolver.Resolved r = resolved();
        Environment e = dev.davit.env.catalog.Catalogs.require(r.catalog(), (String) a.get("name"));
        dev.davit.env.install.InstallStatus s = installer(null).status(e);
        String ref = e.source().reference() == null ? null
                : dev.davit.env.catalog.SourceReferences.resolve(e.source().reference(), System.getenv()).toString();
        dev.davit.env.freshness.Freshness f = ref == null ? null : dev.davit.env.freshness.FreshnessChecker.quick(
                clientOptions(), policy.davitHome()).check(ref, s.sourceDigest());
        return EnvJson.inspect(e, s, ref, compatible(e), EnvJson.catalog(r), f == null ? null
                : EnvJson.freshness(f, call::inModelTerms));
    }

    /** Library notes (an install's steps, a fallback and why) worded for the model by {@code words}. */
    void speaking(java.util.function.Function<dev.davit.oci.Message, String> words) {
        this.words = words;
    }

    private dev.davit.env.install.Installer installer(java.util.function.Consumer<String> progress) {
        return dev.davit.env.install.Installer.local(client(), policy.davitHome(), null,
                progress == null ? null : m -> progress.accept(words.apply(m)));
    }

    /**
     * Installs catalog environment {@code name} unless it is installed (env_pull, and before a run or workspace of
     * it: see {@link Installs}), telling {@code progress} each step.
     */
    ObjectNode install(String name, java.util.function.Consumer<String> progress) {
        dev.davit.env.Catalog c = catalog();
        Environment e = dev.davit.env.catalog.Catalogs.require(c, name);
        if (!compatible(e)) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "environment " + e.name()
                    + " " + e.version() + " needs davit " + e.davitVersions() + ", this is davit " + version
                    + "; use an environment that works with it (env_list says which: compatible)");
        }
        progress.accept("installing " + e.name() + " " + e.version());
        dev.davit.env.install.Installer.InstallResult r = installer(progress).install(c, e);
        return Json.object().put("name", e.name()).put("version", e.version())
                .put("kind", e.kind().name().toLowerCase(java.util.Locale.ROOT)).put("path", r.path().toString())
                .put("origin", r.origin().name().toLowerCase(java.util.Locale.ROOT))
                .put("source_digest", r.sourceDigest()).put("repaired", r.repaired());
    }

    /** What a run or workspace runs: a catalog environment (installed already, see Installs) or an image. */
    private RunTarget target(Map<String, Object> a, Tool.Call call) {
        return RunTarget.resolve(client(), policy.davitHome(), null, (String) a.get("env"), null,
                m -> call.progress(words.apply(m)));
    }

    /** Where the model's sandboxes run (the 'backend' argument's values and words). */
    Backends backends() {
        return backends;
    }

    /**
     * The backend of a sandbox over {@code t} with the call's arguments {@code a} and network {@code network}:
     * {@code asked} (null: the server's default for {@code t}'s kind), among the server's ({@link Backends}); what it
     * cannot give of the call (a one-shot {@code run}'s or a workspace's) is refused.
     */
    private String backend(RunTarget t, String asked, Map<String, Object> a, dev.davit.sandbox.Network network,
                           boolean run) {
        String backend = backends.choose(t.backend(), t.name(), asked);
        backends.refuseUnsupported(backend, a, network, run);
        return backend;
    }

    /**
     * A sandbox's limits of a call's {@code memory}, {@code cpus} and {@code disk} (checked by {@link Policy}) on top
     * of the defaults; where cgroups cannot be made and none was asked for, what can be enforced.
     */
    private Limits containerLimits(Map<String, Object> a, String backend) {
        Limits d = Limits.DEFAULT;
        Limits asked = new Limits(number(a, "memory", d.memoryMiB()), a.get("cpus") instanceof Number c
                ? c.doubleValue() : d.cpus(), d.pids(), policy.disk(a));
        // a pod's limits are the cluster's to enforce, whatever this host can
        if (a.get("memory") == null && a.get("cpus") == null && Limits.unenforceable() != null
                && !Backends.K8S.equals(backend)) {
            return asked.enforceableHere();
        }
        return asked;
    }

    /** A microVM's vCPUs: a whole {@code cpus}, default {@link RunSpec#DEFAULT_VCPUS}. */
    private static int vcpus(Map<String, Object> a) {
        if (!(a.get("cpus") instanceof Number n)) {
            return RunSpec.DEFAULT_VCPUS;
        }
        if (n.doubleValue() != Math.rint(n.doubleValue()) || n.doubleValue() < 1) {
            throw Tool.invalid("'cpus' for a microVM is a whole number of vCPUs, not " + n);
        }
        return n.intValue();
    }

    /** A microVM's limits beyond its size: with {@code cpus}, that CPU quota on its QEMU. */
    private static Limits vmLimits(Map<String, Object> a) {
        return a.get("cpus") != null ? new Limits(0, vcpus(a), 0, 0) : Limits.NONE;
    }

    private ObjectNode run(Map<String, Object> a, Tool.Call call) {
        long maxOutput = a.get("max_output") == null ? 0
                : dev.davit.oci.internal.Args.bytes((String) a.get("max_output"), "max_output");
        RunTarget t = target(a, call);
        dev.davit.sandbox.Network network = EgressBound.network(a);
        String backend = backend(t, null, a, network, true);
        RunSpec.Builder b = RunSpec.builder(t.rootfs()).command(strings(a, "command")).env(env(a, "env_vars"))
                .workdir((String) a.get("workdir")).timeout(seconds(a, "timeout"))
                .network(network).image(t.image()).backend(backend)
                .maxOutput(maxOutput)
                .capture(8192); // the output is kept in files (below); the result keeps only enough to tell a
                                // sandbox's own one-line failure (e.g. a missing command: 127)
        if (backend.equals(dev.davit.sandbox.RunSpec.VM)) {
            Policy.noDiskForVm(a);
            b.vcpus(vcpus(a)).memoryMiB((int) number(a, "memory", RunSpec.DEFAULT_MEMORY_MIB)).limits(vmLimits(a));
        } else {
            b.limits(containerLimits(a, backend));
        }
        RunSpec spec = b.build();
        Sandboxes sandboxes = new Sandboxes(sandboxOptions);
        int keep = (int) number(a, "output_limit", Tools.DEFAULT_OUTPUT);
        // up to output_limit of each stream, kept in files and written out from them: a flood costs no memory
        Path spool = sandboxes.options().stateDir();
        try (SpooledExcerpt so = SpooledExcerpt.create(spool, keep / 2, keep - keep / 2);
             SpooledExcerpt se = SpooledExcerpt.create(spool, keep / 2, keep - keep / 2)) {
            ExecResult r = sandboxes.run(spec, null, so, se);
            ObjectNode doc = Json.object().put("environment", t.name()).put("digest", t.digest());
            if (backend.equals(Backends.K8S)) {
                // the pod's limits, which the cluster enforces (its kubelet: memory, CPU, ephemeral storage), not
                // this host's cgroups or file systems
                doc.set("limits", SandboxJson.limits(spec.limits()).put("enforced_by", "pod_limits")
                        .put("disk_enforced_by", "ephemeral_storage"));
            } else if (!backend.equals(dev.davit.sandbox.RunSpec.VM)) {
                doc.set("limits", SandboxJson.limits(spec.limits()));
            }
            return SandboxJson.result(doc, r, so, se, false);
        }
    }

    private ObjectNode create(Map<String, Object> a, Tool.Call call) {
        String name = (String) a.get("name");
        if (name != null) {
            WorkspaceLabels.checkName(name);
        }
        Map<String, String> labels = WorkspaceLabels.check(env(a, "labels"));
        List<PortMapping> ports = strings(a, "publish").stream().map(PortMapping::parse).toList();
        dev.davit.sandbox.workspace.Secrets secrets = Tools.secrets(a);
        policy.capTtl(a);
        Object ttl = a.get("ttl");
        Duration limit = ttl != null ? seconds(a, "ttl") : policy.workspaceTtl() == null ? null
                : Duration.ofSeconds(policy.workspaceTtl().toSeconds());
        // the seed is read through the descriptor pinned now; the workspace records the path the model gave
        String seedGiven = (String) a.get("seed");
        Path seed = seedGiven == null ? null : policy.pinHostPath(a, "seed", call::scratch);
        Workspaces ws = workspaces().ownedBy(call.owner());
        if (a.get("from") != null) {
            String from = (String) a.get("from");
            if (policy.pinnedAtRegistry(from)) {
                // as the registry has it now (a name the store holds only for the operator is not found there)
                var r = dev.davit.oci.reference.Reference.parse(from);
                from = r.repositoryName() + "@" + client().remoteDigest(from).digest();
            }
            String given = (String) a.get("from"); // as the model gave it, not as pinned
            boolean ownNetwork = a.containsKey("network") || EgressBound.ARGS.stream().anyMatch(a::containsKey);
            // the snapshot's settings where the call gives none, held to the grants a model's own request is
            var r = new dev.davit.sandbox.workspace.WorkspaceImages(ws, client()).createFrom(from, (target, carried) -> {
                CreateSpec s = spec(a, target, limit, ports);
                if (!ownNetwork) {
                    s = s.withNetwork(policy.carriedNetwork(carried.network(), given));
                }
                return s.backend().equals(dev.davit.sandbox.RunSpec.VM) ? s
                        : s.withLimits(policy.carriedLimits(a, s.limits(), carried.limits() == null ? null
                        : carried.limitsFor(s.backend(), s.limits())));
            }, name, labels, secrets, null, null);
            call.progress("workspace " + r.workspace().id() + " running (" + r.environment() + ", at snapshot "
                    + r.snapshot().name() + ")");
            try (OpenWorkspace h = OpenWorkspace.of(ws, r.workspace())) {
                return doc(r.workspace(), h.status()).put("environment", r.environment())
                        .put("snapshot", r.snapshot().name());
            }
        }
        RunTarget t = target(a, call);
        CreateSpec spec = spec(a, t, limit, ports);
        if (spares.get() != null) {
            ws = ws.withSpares(spares.get());
        }
        // made by the server's own Workspaces (its owner, spares, the seed as the model gave it): a handle is of a
        // workspace that exists
        Workspace w = ws.create(WorkspaceSpec.builder(spec).name(name).seed(seed).seedShown(seedGiven).labels(labels)
                .secrets(secrets).build());
        call.progress("workspace " + w.id() + " running (" + t.name() + ", " + w.baselineFiles() + " entries"
                + " seeded)");
        try (OpenWorkspace h = OpenWorkspace.of(ws, w)) {
            return doc(w, h.status()).put("environment", t.name());
        }
    }

    /** The sandbox of workspace_create over {@code t}: the call's backend, network, limits, ttl and ports. */
    private CreateSpec spec(Map<String, Object> a, RunTarget t, Duration limit, List<PortMapping> ports) {
        dev.davit.sandbox.Network network = EgressBound.network(a);
        String backend = backend(t, (String) a.get("backend"), a, network, false);
        boolean vm = backend.equals(dev.davit.sandbox.RunSpec.VM);
        if (vm) {
            Policy.noDiskForVm(a);
        }
        return new CreateSpec(t.rootfs(), env(a, "env_vars"), null, network,
                t.image(), limit, backend, vm ? vcpus(a) : RunSpec.DEFAULT_VCPUS, vm ? (int) number(a, "memory",
                RunSpec.DEFAULT_MEMORY_MIB) : RunSpec.DEFAULT_MEMORY_MIB, ports, vm ? vmLimits(a)
                : containerLimits(a, backend));
    }

    /** A call of one workspace: its handle, the arguments, the call. */
    private interface OnWorkspace {
        ObjectNode call(OpenWorkspace w, Map<String, Object> arguments, Tool.Call call);
    }

    private void on(String tool, Tool.Direct d) {
        calls.put(tool, d);
    }

    /**
     * A tool of one workspace: it acts through a handle of the workspace its {@code workspace} argument names, as the
     * server resolved it ({@link Tool.Call#workspace}), over the server's own Workspaces; closing the handle at the
     * call's end leaves the workspace.
     */
    private void ws(String tool, OnWorkspace d) {
        calls.put(tool, (a, call) -> {
            try (OpenWorkspace w = OpenWorkspace.of(workspaces().ownedBy(call.owner()), call.workspace())) {
                if (Backends.limitedOnK8s(tool, a)) { // what a pod cannot do yet, refused in the model's words
                    backends.refuseOnWorkspace(tool, a, w.status().spec().backend(), (String) a.get("workspace"));
                }
                return d.call(w, a, call);
            }
        });
    }

    /** The home's workspaces, one for every call (as docs/DESIGN.md says), made at the first call. */
    private synchronized Workspaces workspaces() {
        if (workspaces == null) {
            workspaces = Workspaces.under(policy.davitHome(), sandboxOptions);
        }
        return workspaces;
    }

    private ObjectNode exec(OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        ExecRequest.Builder r = ExecRequest.builder(strings(a, "command")).env(env(a, "env_vars"))
                .cwd((String) a.get("cwd")).timeout(seconds(a, "timeout"));
        env(a, "secret_env").forEach(r::secretEnv);
        if (flag(a, "background")) {
            var x = w.execDetached(r.build());
            // the shape of a finished exec's result, with nothing of it yet: its exec_id is what to follow
            ObjectNode doc = Json.object().putNull("exit_code").put("stdout", "").put("stderr", "")
                    .put("stdout_bytes", 0).put("stderr_bytes", 0).put("timed_out", false).put("oom_killed", false)
                    .put("disk_full", false).put("truncated", false).put("exec_id", x.execId())
                    .put("state", x.state());
            doc.putArray("network_denied");
            return doc;
        }
        // while it runs, a progress notification every few seconds with the end of its output so far (when the
        // client asked for them): a long build is seen to move, and a client that resets its timeout on progress
        // waits for it
        OutputTail tail = new OutputTail(PROGRESS_TAIL);
        r.tees(tail, tail);
        long t0 = System.nanoTime();
        java.time.Instant started = java.time.Instant.now();
        Thread ticker = Thread.ofVirtual().start(() -> {
            java.time.Instant seen = started;
            Boolean gated = null; // read at the first tick: an exec that ends sooner costs no status read
            try {
                while (true) {
                    Thread.sleep(PROGRESS_EVERY_MS);
                    // what the egress gate refused since the last notification: a connection the policy refuses is
                    // seen while the command still retries it, not only in its result (best effort: a workspace
                    // removed meanwhile only leaves this out)
                    String refused = "";
                    try {
                        if (gated == null) {
                            gated = w.status().spec().network().mode() == dev.davit.sandbox.Network.Mode.POLICY;
                        }
                        List<dev.davit.sandbox.EgressDenial> fresh = gated ? denialsSince(w, seen) : List.of();
                        if (!fresh.isEmpty()) {
                            seen = fresh.get(fresh.size() - 1).time();
                            refused = "; the network policy refused " + Denials.brief(fresh);
                        }
                    } catch (RuntimeException e) {
                        gated = false;
                    }
                    call.progress("running for " + (System.nanoTime() - t0) / 1_000_000_000L + " s" + refused
                            + "; its output ends: " + tail.text());
                }
            } catch (InterruptedException e) {
                // it ended
            }
        });
        // the excerpts are kept in files and the result is written out from there while the call is answered
        try (Workspaces.SpooledExecuted x = w.execSpooled(r.build(), (int) number(a, "output_limit",
                Tools.DEFAULT_OUTPUT))) {
            // the excerpts (at most output_limit bytes each) are read before their files are closed
            return WorkspaceJson.executed(Json.object(), x, false);
        } finally {
            ticker.interrupt();
        }
    }

    /** What workspace {@code w}'s egress gate refused after {@code since}, oldest first. */
    static List<dev.davit.sandbox.EgressDenial> denialsSince(OpenWorkspace w, java.time.Instant since) {
        return w.egressDenials().stream().filter(d -> d.time().isAfter(since)).toList();
    }

    /** How often a running workspace_exec tells its client how it does. */
    static final long PROGRESS_EVERY_MS = 3000;
    /** How much of the end of its output each progress notification carries. */
    static final int PROGRESS_TAIL = 400;

    /**
     * The last bytes written to it, by the exec's stdout and stderr alike (as they come: redacted already in a
     * workspace with secrets), for the progress notifications.
     */
    static final class OutputTail extends java.io.OutputStream {
        private final byte[] ring;
        private long written;

        OutputTail(int size) {
            ring = new byte[size];
        }

        @Override
        public synchronized void write(int b) {
            ring[(int) (written++ % ring.length)] = (byte) b;
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            for (int i = Math.max(0, len - ring.length); i < len; i++) {
                ring[(int) ((written + i) % ring.length)] = b[off + i];
            }
            written += len;
        }

        /** The tail as text (one line: line ends shown as " | "), empty before any output. */
        synchronized String text() {
            int n = (int) Math.min(written, ring.length);
            byte[] out = new byte[n];
            for (int i = 0; i < n; i++) {
                out[i] = ring[(int) ((written - n + i) % ring.length)];
            }
            String t = new String(out, java.nio.charset.StandardCharsets.UTF_8).strip();
            return t.replaceAll("\\r?\\n", " | ");
        }
    }

    /**
     * {@code workspace_network}: the workspace's egress policy changed by the call's arguments (checked against the
     * operator's bound by {@link Policy#networkChange}), or as it is when it gives none; with the denials of late.
     */
    private ObjectNode network(OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        if (EgressBound.changes(a)) {
            w.network(EgressBound.change(a));
        }
        return network(w).set("denied_recently", SandboxJson.denied(last(w.egressDenials(), 20)));
    }

    /** The workspace's network as JSON: {@code mode}, and a policy's {@code allow}, {@code deny}, {@code presets}. */
    private static ObjectNode network(OpenWorkspace w) {
        return SandboxJson.network(w.status().spec().network());
    }

    /** The last {@code n} of {@code l}. */
    private static <T> List<T> last(List<T> l, long n) {
        return l.subList((int) Math.max(0, l.size() - n), l.size());
    }

    private ObjectNode execOutput(OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        String execId = (String) a.get("exec_id");
        String stream = (String) a.get("stream");
        ExecOutput.Page page = w.output(execId, stream, number(a, "offset", 0), (int) number(a, "limit", 65536));
        if (stream == null) {
            stream = w.isDetached(execId) ? Workspaces.DETACHED_STREAM : "stdout";
        }
        ObjectNode doc = Json.object().put("exec_id", execId).put("stream", stream).put("offset", page.offset())
                .put("bytes", page.bytes().length).put("kept", page.kept())
                .put("eof", page.offset() + page.bytes().length >= page.kept()).put("dropped_bytes", page.dropped());
        return bytes(doc, page.bytes());
    }

    private ObjectNode list(Map<String, Object> a, Tool.Call call) {
        Map<String, String> filter = env(a, "labels");
        filter.keySet().forEach(WorkspaceLabels::checkKey);
        Workspaces ws = workspaces();
        ObjectNode doc = Json.object();
        ArrayNode arr = doc.putArray("workspaces");
        for (Workspace w : ws.list()) {
            if (!WorkspaceLabels.matches(w.labels(), filter)) {
                continue;
            }
            ObjectNode o = WorkspaceJson.workspace(w);
            String status;
            try {
                Sandbox s = ws.sandboxes().status(w.sandboxId());
                boolean paused = ws.paused(s);
                status = WorkspaceJson.status(s, paused);
                o.put("paused", paused);
                WorkspaceJson.ports(o, s);
            } catch (dev.davit.oci.DavitException e) {
                status = "missing"; // its sandbox was removed behind its back
                o.putArray("ports");
            }
            o.put("status", status);
            arr.add(o);
        }
        return doc;
    }

    private ObjectNode update(OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        if (a.get("name") != null && flag(a, "no_name")) {
            throw Tool.invalid("give 'name' or 'no_name', not both");
        }
        policy.capTtl(a);
        Workspace u = w.update(new Workspaces.Change((String) a.get("name"), flag(a, "no_name"), env(a, "labels"),
                strings(a, "remove_labels"), seconds(a, "ttl"), false));
        Map<String, String> set = env(a, "env_vars");
        List<String> remove = strings(a, "remove_env_vars");
        return doc(u, set.isEmpty() && remove.isEmpty() ? w.status() : w.env(set, remove));
    }

    /** Workspace {@code w} with its sandbox {@code s} as every tool answers it: its status {@code paused} if it is. */
    private ObjectNode doc(Workspace w, Sandbox s) {
        return WorkspaceJson.workspace(w, s, workspaces().paused(s));
    }

    private ObjectNode diff(OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        List<String> paths = strings(a, "paths");
        WorkspaceDiff full = w.diff((String) a.get("snapshot"), paths, flag(a, "include_ignored") || !paths.isEmpty());
        WorkspaceDiff.PatchPage page = full.page(number(a, "offset", 0), Tools.MAX_PATCH);
        ObjectNode doc = WorkspaceJson.diff(new WorkspaceDiff(full.changes(), page.text(), full.redacted(),
                full.collapsed()));
        return doc.put("patch_offset", page.offset()).put("next_offset", page.next())
                .put("patch_truncated", page.more());
    }

    private ObjectNode serviceStart(OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        List<Services.Readiness> ready = new ArrayList<>();
        if (a.get("ready_file") != null) {
            ready.add(new Services.Readiness("file", (String) a.get("ready_file")));
        }
        if (a.get("ready_port") != null) {
            ready.add(new Services.Readiness("port", Long.toString(number(a, "ready_port", 0))));
        }
        if (a.get("ready_cmd") != null) {
            ready.add(new Services.Readiness("cmd", (String) a.get("ready_cmd")));
        }
        if (ready.size() > 1) {
            throw Tool.invalid("give one of 'ready_file', 'ready_port' and 'ready_cmd'");
        }
        ServiceSpec.Builder spec = ServiceSpec.builder((String) a.get("name"), strings(a, "command"))
                .env(env(a, "env_vars")).readyTimeout(seconds(a, "ready_timeout"))
                .readiness(ready.isEmpty() ? null : ready.getFirst());
        env(a, "secret_env").forEach(spec::secretEnv);
        return WorkspaceJson.service(w.services().start(spec.build()));
    }

    private ObjectNode shellRead(OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        String shell = (String) a.get("shell");
        java.util.regex.Pattern until = null;
        if (a.get("until") != null) {
            try {
                until = java.util.regex.Pattern.compile((String) a.get("until"));
            } catch (java.util.regex.PatternSyntaxException e) {
                throw Tool.invalid("'until' is not a regular expression: " + e.getDescription() + " (near index "
                        + e.getIndex() + ")");
            }
        }
        boolean raw = flag(a, "raw");
        Shells shells = w.shells();
        Object quiet = a.get("quiet_ms");
        Shells.Output o = shells.read(shell, new Shells.ReadOptions(Duration.ofMillis(number(a, "wait_ms", 0)),
                quiet == null ? null : Duration.ofMillis(number(a, "quiet_ms", 0)), until,
                (int) number(a, "max_bytes", Shells.MAX_BYTES), raw));
        return WorkspaceJson.shellRead(shell, o, raw, shells.get(shell).label());
    }

    /** A copy out to the host ({@code workspace_export}, {@code workspace_disk_export}): {@code dest} as given. */
    private ObjectNode export(Map<String, Object> a, Tool.Call call,
                              java.util.function.Function<Path, Workspaces.Copied> copy) {
        String given = (String) a.get("host_dest");
        Path used = policy.pinHostDest(a, "host_dest", call::scratch);
        return WorkspaceJson.copied(copy.apply(used)).put("dest", given);
    }

    /** A listing of at most {@link Tools#MAX_ENTRIES} entries, and whether there were more. */
    private static ObjectNode files(List<Workspaces.FileInfo> files) {
        return WorkspaceJson.files(files.subList(0, Math.min(files.size(), Tools.MAX_ENTRIES)))
                .put("truncated", files.size() > Tools.MAX_ENTRIES);
    }

    private static ObjectNode removed(String key, String value) {
        return Json.object().put(key, value).put("removed", true);
    }

    /** A read's result: its text when it is UTF-8, else its bytes in base64 ({@code paged}: with next_offset). */
    private static ObjectNode content(String path, Workspaces.FileContent c, boolean paged) {
        ObjectNode doc = Json.object().put("path", path).put("size", c.size()).put("truncated", c.truncated())
                .put("redacted", c.redacted());
        if (paged) {
            doc.put("offset", c.offset()).put("next_offset", c.end());
        }
        return bytes(doc, c.bytes());
    }

    /** {@code content}: the bytes as text when they are UTF-8, else null and {@code content_base64}. */
    private static ObjectNode bytes(ObjectNode doc, byte[] b) {
        String text = Text.utf8OrNull(b);
        doc.put("content", text);
        if (text == null) {
            doc.put("content_base64", Base64.getEncoder().encodeToString(b));
        }
        return doc;
    }

    /** The most seconds a timeout or ttl may be (as the CLI's): a Duration of more would overflow in nanoseconds. */
    private static final double MAX_SECONDS = 1e9;

    /** A call's {@code arg} in seconds as a Duration, or null when not given; refused past {@link #MAX_SECONDS}. */
    private static Duration seconds(Map<String, Object> a, String arg) {
        if (!(a.get(arg) instanceof Number s)) {
            return null;
        }
        if (s.doubleValue() > MAX_SECONDS) {
            throw Tool.invalid("argument '" + arg + "' must be at most " + (long) MAX_SECONDS + " (seconds), not "
                    + s);
        }
        return Duration.ofMillis(Math.max(1, Math.round(s.doubleValue() * 1000)));
    }

    private static boolean flag(Map<String, Object> a, String arg) {
        return Boolean.TRUE.equals(a.get(arg));
    }

    private static long number(Map<String, Object> a, String arg, long otherwise) {
        return a.get(arg) instanceof Number n ? n.longValue() : otherwise;
    }

    @SuppressWarnings("unchecked")
    private static List<String> strings(Map<String, Object> a, String arg) {
        return a.get(arg) == null ? List.of() : List.copyOf((List<String>) a.get(arg));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> env(Map<String, Object> a, String arg) {
        return a.get(arg) == null ? new LinkedHashMap<>() : new LinkedHashMap<>((Map<String, String>) a.get(arg));
    }
}
