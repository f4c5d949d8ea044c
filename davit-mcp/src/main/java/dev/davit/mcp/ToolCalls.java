package dev.davit.mcp;

import static dev.davit.mcp.ToolArgs.env;
import static dev.davit.mcp.ToolArgs.flag;
import static dev.davit.mcp.ToolArgs.number;
import static dev.davit.mcp.ToolArgs.seconds;
import static dev.davit.mcp.ToolArgs.strings;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.OpenWorkspace;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.internal.SandboxJson;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceLabels;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How each tool calls the library: one small mapping per tool from its checked arguments to the library's own
 * specs and methods, and from the library's result types to the tool's result (the shapes docs/reference/mcp/TOOLS.md,
 * mcp/WORKSPACE-TOOLS.md and docs/reference/JSON.md give, written by the library's own writers where the CLI shows the same).
 *
 * <p>This class holds the table of the tools' calls (a line each: a short call is written in it), what every call
 * shares (the home's workspaces, the registry client) and the calls of the tools that make, list and change
 * workspaces; the longer calls of the other tools are in {@link EnvCalls} (the env_ tools and what a call runs),
 * {@link RunCalls} (run, and the sandbox a run or a workspace gets), {@link ProcessCalls} (execs, services, shells)
 * and {@link FileCalls} (files, copies out, the diff); {@link ToolArgs} reads the arguments.
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
    /** The env_ tools' calls, the catalog and what a call runs. */
    private final EnvCalls envs;
    /** The run tool's call and the sandboxes of the calls. */
    private final RunCalls runs;

    ToolCalls(Policy policy, java.util.function.Supplier<dev.davit.sandbox.workspace.WarmPool> spares,
              String version, SandboxOptions sandboxOptions, Backends backends) {
        this.policy = policy;
        this.backends = backends;
        this.spares = spares;
        this.version = version;
        this.sandboxOptions = sandboxOptions;
        this.envs = new EnvCalls(policy, version, this::client, this::clientOptions);
        this.runs = new RunCalls(policy, sandboxOptions, backends, envs::target);
        on("run", runs::run);
        on("environment_pull", (a, call) -> install((String) a.get("name"), call::progress));
        on("environment_prune", (a, call) -> (ObjectNode) envs.installer(null).prune(catalog()).toJson());
        on("environment_list", envs::envList);
        on("environment_inspect", envs::envInspect);
        on("workspace_create", this::create);
        // the workspace's handle, and the server's own Workspaces for its spooled run
        ws("workspace_exec", (w, a, call) -> ProcessCalls.exec(owned(call.owner()), w, a, call));
        ws("workspace_exec_output", ProcessCalls::execOutput);
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
                    ProcessCalls.denialsSince(w, x.startedAt()))));
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
        ws("workspace_remove", (w, a, call) -> {
            w.remove();
            return removed("id", w.id());
        });
        ws("workspace_file_list", (w, a, call) -> FileCalls.files(w.files().list((String) a.get("path"),
                flag(a, "recursive"))));
        ws("workspace_file_read", (w, a, call) -> FileCalls.content((String) a.get("path"),
                w.files().read((String) a.get("path"), number(a, "offset", 0), number(a, "max_bytes", 65536)), true));
        ws("workspace_file_write", (w, a, call) -> {
            String path = (String) a.get("path");
            long n = w.files().write(path, new ByteArrayInputStream(Tools.content(a)));
            return Json.object().put("path", path).put("bytes", n);
        });
        ws("workspace_diff", FileCalls::diff);
        ws("workspace_snapshot_create", (w, a, call) -> WorkspaceJson.snapshot(w.snapshot((String) a.get("name"),
                flag(a, "all"))));
        ws("workspace_snapshot_list", (w, a, call) -> WorkspaceJson.snapshots(w.snapshots()));
        ws("workspace_snapshot_remove", (w, a, call) -> {
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
            var c = images(workspaces()).commit(w.id(), (String) a.get("reference"),
                    new dev.davit.sandbox.workspace.WorkspaceImages.CommitOptions(null, flag(a, "push")));
            return WorkspaceJson.commit(c).put("pushed", c.pushed());
        });
        ws("workspace_snapshot_push", (w, a, call) -> WorkspaceJson.snapshotPush(
                images(workspaces()).pushSnapshot(w.id(), (String) a.get("snapshot"), (String) a.get("reference"), false)));
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
            return WorkspaceJson.copied(w.files().push(used, (String) a.get("dest")));
        });
        ws("workspace_export", (w, a, call) -> FileCalls.export(policy, a, call, dest -> w.files().export(dest,
                (String) a.get("path"), (entries, bytes) -> call.progress("exporting: " + entries + " entries, "
                        + (bytes >> 20) + " MiB copied so far"))));
        ws("workspace_disk_export", (w, a, call) -> FileCalls.export(policy, a, call, dest -> w.files().diskExport(dest,
                (String) a.get("path"))));
        ws("workspace_disk_list", (w, a, call) -> FileCalls.files(w.files().diskList((String) a.get("path"),
                flag(a, "recursive"))));
        ws("workspace_disk_read", (w, a, call) -> FileCalls.content((String) a.get("path"),
                w.files().diskRead((String) a.get("path"), number(a, "max_bytes", 65536)), false));
        ws("workspace_file_edit", (w, a, call) -> {
            var e = w.files().edit((String) a.get("path"), (String) a.get("old_text"), (String) a.get("new_text"),
                    flag(a, "replace_all"));
            return Json.object().put("path", e.path()).put("replacements", e.replacements()).put("line", e.line());
        });
        ws("workspace_patch", (w, a, call) -> WorkspaceJson.patched(w.files().applyPatch((String) a.get("patch"))));
        ws("workspace_service_start", ProcessCalls::serviceStart);
        ws("workspace_service_list", (w, a, call) -> WorkspaceJson.services(w.services().list()));
        ws("workspace_service_logs", (w, a, call) -> {
            String name = (String) a.get("name");
            // more lines than an int counts are all of them (not the int the cast would leave)
            return WorkspaceJson.serviceLog(name, w.services().log(name,
                    (int) Math.min(number(a, "tail", 0), Integer.MAX_VALUE)));
        });
        ws("workspace_service_stop", (w, a, call) -> WorkspaceJson.service(w.services().stop((String) a.get("name"))));
        ws("workspace_shell_open", (w, a, call) -> WorkspaceJson.shell(w.shells().open(strings(a, "command"),
                env(a, "env"), env(a, "secret_env"))));
        ws("workspace_shell_write", (w, a, call) -> {
            byte[] data = ((String) a.get("data")).getBytes(StandardCharsets.UTF_8);
            w.shells().write((String) a.get("shell"), data);
            return Json.object().put("id", (String) a.get("shell")).put("bytes", data.length);
        });
        ws("workspace_shell_read", ProcessCalls::shellRead);
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
            return WorkspaceJson.reaped(owned(owner).reap(w -> w.ownedBy(owner)));
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

    /** The catalog: the built-in one (as the CLI's without --catalog; {@link EnvCalls#catalog}). */
    dev.davit.env.Catalog catalog() {
        return envs.catalog();
    }

    /** Library notes (an install's steps, a fallback and why) worded for the model by {@code words}. */
    void speaking(java.util.function.Function<dev.davit.oci.Message, String> words) {
        envs.speaking(words);
    }

    /**
     * Installs catalog environment {@code name} unless it is installed (environment_pull, and before a run or workspace of
     * it: see {@link Installs}), telling {@code progress} each step ({@link EnvCalls#install}).
     */
    ObjectNode install(String name, java.util.function.Consumer<String> progress) {
        return envs.install(name, progress);
    }

    /** Where the model's sandboxes run (the 'backend' argument's values and words). */
    Backends backends() {
        return backends;
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
        Workspaces ws = owned(call.owner());
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
            var r = images(ws).createFrom(from, (target, carried) -> {
                CreateSpec s = runs.spec(a, target, limit, ports);
                if (!ownNetwork) {
                    s = s.withNetwork(policy.carriedNetwork(carried.network(), given));
                }
                return s.backend().equals(dev.davit.sandbox.RunSpec.VM) ? s
                        : s.withLimits(policy.carriedLimits(a, s.limits(), carried.limits() == null ? null
                        : carried.limitsFor(s.backend(), s.limits())));
            }, name, labels, secrets, null);
            call.progress("workspace " + r.workspace().id() + " running (" + r.environment() + ", at snapshot "
                    + r.snapshot().name() + ")");
            try (OpenWorkspace h = dev.davit.internal.Handles.of(ws, r.workspace())) {
                return doc(r.workspace(), h.status()).put("environment", r.environment())
                        .put("snapshot", r.snapshot().name());
            }
        }
        RunTarget t = envs.target(a, call);
        CreateSpec spec = runs.spec(a, t, limit, ports);
        if (spares.get() != null) {
            ws = dev.davit.sandbox.workspace.internal.WorkspaceInternals.withSpares(ws, spares.get());
        }
        // made by the server's own Workspaces (its owner, spares, the seed as the model gave it): a handle is of a
        // workspace that exists
        Workspace w = ws.create(WorkspaceSpec.builder(spec).name(name).seed(seed).seedShown(seedGiven).labels(labels)
                .secrets(secrets).build());
        call.progress("workspace " + w.id() + " running (" + t.name() + ", " + w.baselineFiles() + " entries"
                + " seeded)");
        try (OpenWorkspace h = dev.davit.internal.Handles.of(ws, w)) {
            return doc(w, h.status()).put("environment", t.name());
        }
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
            try (OpenWorkspace w = dev.davit.internal.Handles.of(owned(call.owner()), call.workspace())) {
                if (Backends.limitedOnK8s(tool, a)) { // what a pod cannot do yet, refused in the model's words
                    backends.refuseOnWorkspace(tool, a, w.status().spec().backend(), (String) a.get("workspace"));
                }
                return d.call(w, a, call);
            }
        });
    }

    /** The server's workspaces, whose creates and forks record {@code owner}. */
    private Workspaces owned(String owner) {
        return dev.davit.sandbox.workspace.internal.WorkspaceInternals.ownedBy(workspaces(), owner);
    }

    /** The images of {@code ws} in the server's store. */
    private dev.davit.sandbox.workspace.WorkspaceImages images(Workspaces ws) {
        return dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(ws, client(), null);
    }

    /** The home's workspaces, one for every call (as docs/DESIGN.md says), made at the first call. */
    private synchronized Workspaces workspaces() {
        if (workspaces == null) {
            workspaces = Workspaces.under(policy.davitHome(), sandboxOptions);
        }
        return workspaces;
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
        Workspace u = w.update(Workspaces.Change.builder().name((String) a.get("name")).noName(flag(a, "no_name"))
                .labels(env(a, "labels")).removeLabels(strings(a, "remove_labels")).ttl(seconds(a, "ttl")).build());
        Map<String, String> set = env(a, "env");
        List<String> remove = strings(a, "unset_env");
        return doc(u, set.isEmpty() && remove.isEmpty() ? w.status() : w.env(set, remove));
    }

    /** Workspace {@code w} with its sandbox {@code s} as every tool answers it: its status {@code paused} if it is. */
    private ObjectNode doc(Workspace w, Sandbox s) {
        return WorkspaceJson.workspace(w, s, workspaces().paused(s), workspaces().failure(s));
    }

    private static ObjectNode removed(String key, String value) {
        return Json.object().put(key, value).put("removed", true);
    }
}
