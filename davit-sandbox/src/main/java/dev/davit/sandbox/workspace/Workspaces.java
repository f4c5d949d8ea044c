package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.EgressDenial;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.OutputExcerpt;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.SpooledExcerpt;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Workspaces: long-lived sandboxes with a {@code /workspace} directory seeded from the host, recorded as a baseline,
 * worked in through execs and file operations, and compared with the baseline. A layer above {@link Sandboxes}
 * that uses only its API. State: {@code <stateDir>/<id>/workspace.json} and {@code baseline/} (a copy of the seed).
 * A container workspace's tree is in its sandbox's own layer ({@link ContainerArea}), a microVM's in the VM's disk,
 * reached through its guest agent ({@link VmArea}). See docs/reference/WORKSPACES.md.
 *
 * <p>Thread-safe, and safe across processes: one instance may serve many threads (the MCP server's calls do), and
 * several davits may work on one state directory. A workspace's start, stop, reset, snapshots and removal take its
 * lock and happen one after the other; execs, file reads and writes, services and shells run side by side.
 */
public final class Workspaces {
    /** Where the workspace is in the sandbox. */
    public static final String MOUNT = "/workspace";

    private final Sandboxes sandboxes;
    private final Path stateDir;
    private final WarmPool spares;
    /** The owner {@link #create} records; null: the operator. */
    private final String owner;
    // the pieces this API delegates to, each a file of its own
    private final WorkspaceState state;
    private final WorkspaceLife life;
    private final WorkspaceExecs execs;
    private final WorkspaceSnapshots snapshots;
    private final WorkspaceFiles files;
    private final WorkspaceCopies copies;
    private final WorkspaceChanges changes;
    private final WorkspaceNetwork network;
    private final WorkspaceForks forks;

    /**
     * The workspaces whose state is in {@code stateDir}, working in sandboxes of {@code sandboxes}; most callers
     * use {@link #under(Path)}. Nothing is created until a workspace is.
     *
     * @param sandboxes the sandboxes the workspaces work in (their options: the davit home's)
     * @param stateDir  the directory of the workspaces' state (one subdirectory per workspace); created when needed
     */
    public Workspaces(Sandboxes sandboxes, Path stateDir) {
        this(sandboxes, stateDir, null, null);
    }

    private Workspaces(Sandboxes sandboxes, Path stateDir, WarmPool spares, String owner) {
        this.sandboxes = sandboxes;
        this.stateDir = stateDir;
        this.spares = spares;
        this.owner = owner;
        this.state = new WorkspaceState(sandboxes, stateDir);
        this.life = new WorkspaceLife(state, spares, owner);
        this.execs = new WorkspaceExecs(state);
        this.snapshots = new WorkspaceSnapshots(state);
        this.files = new WorkspaceFiles(state);
        this.copies = new WorkspaceCopies(state);
        this.changes = new WorkspaceChanges(state);
        this.network = new WorkspaceNetwork(state);
        this.forks = new WorkspaceForks(state, owner);
    }

    /**
     * These workspaces, whose {@link #create} records {@code owner} as the new workspace's {@link Workspace#owner}
     * (e.g. an MCP server's name), so that the door that made it can tell its own from the operator's. Nothing else
     * changes: every workspace is still listed, read and changed by these methods, whoever owns it; a door that
     * must see only some uses {@link #get(String, java.util.function.Predicate)}.
     *
     * @param owner 1 to 128 letters, digits, '.', '_', '-', ':', '@' or '/'; null: none (the operator's own)
     * @return a new {@code Workspaces} of the same state; this one is unchanged
     * @throws DavitException {@link Kind#USAGE} for an owner of other characters or length
     */
    public Workspaces ownedBy(String owner) {
        if (owner != null && !owner.matches("[A-Za-z0-9._:@/-]{1,128}")) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("the owner must be 1 to 128 letters, digits,"
                    + " '.', '_', '-', ':', '@' or '/', not '" + dev.davit.oci.internal.Text.shorten(owner, 40) + "' (",
                    dev.davit.oci.Input.OWNER, ")"));
        }
        return new Workspaces(sandboxes, stateDir, spares, owner);
    }

    /**
     * These workspaces, whose {@link #create} takes its sandbox from {@code pool} (see {@link WarmPool}) when it has
     * a spare of the kind, instead of creating and starting one; null: none.
     *
     * @param pool the pool to take spares from ({@link WarmPool#open} of these workspaces), or null
     * @return a new {@code Workspaces} of the same state; this one is unchanged
     */
    public Workspaces withSpares(WarmPool pool) {
        return new Workspaces(sandboxes, stateDir, pool, owner);
    }

    /** Where the workspaces' state is. */
    Path stateDir() {
        return stateDir;
    }

    /** Snapshots and their trees, for {@link WorkspaceImages} (this package only). */
    WorkspaceSnapshots snapshotStore() {
        return snapshots;
    }

    /**
     * The workspaces of the davit home {@code davitHome} (state in {@code workspaces/}).
     *
     * @param davitHome the davit home directory (e.g. {@code ~/.davit}), with the sandboxes' default options
     * @return the workspaces of that home
     */
    public static Workspaces under(Path davitHome) {
        return under(davitHome, SandboxOptions.under(davitHome));
    }

    /**
     * {@link #under(Path)} with the sandboxes' {@code options}.
     *
     * @param davitHome the davit home directory; state in its {@code workspaces/}
     * @param options   how the workspaces' sandboxes are made and run
     * @return the workspaces of that home
     */
    public static Workspaces under(Path davitHome, SandboxOptions options) {
        return new Workspaces(new Sandboxes(options), davitHome.resolve("workspaces"));
    }

    /**
     * The sandboxes the workspaces work in.
     *
     * @return the {@link Sandboxes} of these workspaces (e.g. to look at a workspace's sandbox directly)
     */
    public Sandboxes sandboxes() {
        return sandboxes;
    }

    /**
     * Creates and starts the sandbox of {@code spec}, with /workspace seeded from its seed (null: empty), and records
     * the baseline. Its name (null: none) must be free: no workspace of this davit home has it or is being created
     * with it, whatever process creates it (see {@link Claims}); of two creates with one name exactly one succeeds.
     * Its admission check (null: none) runs holding the lock of the set of workspaces, with how many exist or are
     * being created, before this one counts; it refuses by throwing (e.g. an operator's limit), and nothing is made
     * then. On any failure nothing is left behind.
     *
     * <pre>{@code
     * Workspace w = workspaces.create(WorkspaceSpec.builder(sandbox).name("review").seed(Path.of("repo")).build());
     * }</pre>
     *
     * @param spec the workspace: its sandbox, name, seed, labels, secrets and admission check
     * @return the workspace as recorded; its sandbox is running
     * @throws DavitException {@link Kind#USAGE} for a bad name, labels or seed, a name already taken, an environment
     *                        that has /workspace or published ports of a microVM; {@link Kind#STORE} when its state
     *                        cannot be written; any kind from creating or starting the sandbox; what the admission
     *                        check throws, as it is. Nothing is left behind then
     */
    public Workspace create(WorkspaceSpec spec) {
        return life.create(spec.sandbox(), spec.name(), spec.seed(), spec.seedShown(), spec.labels(), spec.secrets(),
                spec.admit());
    }

    /** A create whose /workspace starts as {@code tree} rather than the baseline (for {@link WorkspaceImages}). */
    Workspace create(CreateSpec spec, String name, Path seed, String seedShown, Path tree, Map<String, String> labels,
                     Secrets secrets, java.util.function.IntConsumer admit) {
        return life.create(spec, name, seed, seedShown, tree, labels, secrets, admit);
    }

    /**
     * New workspaces, each with a copy of everything workspace {@code id} holds: its sandbox's whole writable state
     * (a container's layer, /tmp included, and so /workspace, /etc and installed packages; a microVM's disk), its
     * baseline and snapshots, its secrets, egress policy, limits, labels and ttl; independent from then on (a write in
     * one is seen by no other; removing {@code id} leaves them whole). Its running processes (services, shells,
     * detached execs) are not carried, nor its published ports (the host ports stay {@code id}'s). A running
     * workspace goes on running: its disk is frozen (container) or its VM held still (microVM) for the copy, so each
     * fork is one moment's state, as after a power cut, and is started; a stopped one's forks are stopped. A container
     * workspace without a disk of its own (rootless, or {@code --disk 0}) is forked only while it is stopped. The
     * forks are made one by one under {@code id}'s lock (no reset or snapshot meanwhile); all are made or none.
     *
     * <pre>{@code
     * List<Workspace> tries = workspaces.fork("ws-1a2b3c4d5e6f", 3, List.of(), null);
     * }</pre>
     *
     * @param id    the workspace's id ({@code ws-...}) or name
     * @param count how many forks, 1 to 16; 0: one per name (one when no names)
     * @param names the forks' names (free in this davit home), one per fork, or empty for none
     * @param admit called, holding the lock of the set of workspaces, before each fork with how many exist or are
     *              being created (the fork not counted); throws to refuse; null: none
     * @return the forks, recorded, with this {@code Workspaces}' owner ({@link #ownedBy})
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        count or names, a name taken, a failed workspace or a running one that is forked only
     *                        while stopped; {@link Kind#STORE} when a copy fails; what {@code admit} throws. Nothing
     *                        is left of any fork then
     */
    public List<Workspace> fork(String id, int count, List<String> names, java.util.function.IntConsumer admit) {
        return forks.fork(id, count, names, admit);
    }

    /**
     * What {@link #update} changes; null or false fields keep what is there.
     *
     * @param name         the new name (unique, see {@link #create(WorkspaceSpec)})
     * @param noName       drop the name
     * @param labels       labels to set (added or replaced)
     * @param removeLabels keys of labels to remove (a missing one is no error)
     * @param ttl          a new ttl, counted from the workspace's creation
     * @param noTtl        never expire
     */
    public record Change(String name, boolean noName, Map<String, String> labels, List<String> removeLabels,
                         Duration ttl, boolean noTtl) {
        /**
         * Checks the change and copies its labels and keys (null ones become empty).
         *
         * @throws DavitException {@link Kind#USAGE} for a bad name, label or key, a non-positive ttl, a name and
         *                        {@code noName} (or a ttl and {@code noTtl}) together, or a label both set and removed
         */
        public Change {
            labels = labels == null ? Map.of() : Map.copyOf(labels);
            removeLabels = removeLabels == null ? List.of() : List.copyOf(removeLabels);
            if (name != null && noName) {
                throw new DavitException(Kind.USAGE, "give a new name or none, not both");
            }
            if (ttl != null && noTtl) {
                throw new DavitException(Kind.USAGE, "give a new ttl or none, not both");
            }
            if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
                throw new DavitException(Kind.USAGE, "the ttl must be positive");
            }
            if (name != null) {
                WorkspaceLabels.checkName(name);
            }
            WorkspaceLabels.check(labels);
            removeLabels.forEach(WorkspaceLabels::checkKey);
            for (String k : removeLabels) {
                if (labels.containsKey(k)) {
                    throw new DavitException(Kind.USAGE, "label " + k + " is both set and removed; give one");
                }
            }
        }
    }

    /**
     * Renames workspace {@code id}, changes its labels or its ttl: its state file is rewritten atomically, holding
     * its lock and the lock of the set of workspaces (a new name stays unique). Returns the workspace as it is now.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @param change what to change
     * @return the workspace as recorded now
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name or the new name is taken; {@link Kind#STORE} when the state cannot be
     *                        written
     */
    public Workspace update(String id, Change change) {
        return state.update(id, change);
    }

    /**
     * Changes the workspace's own variables, which every later exec, service and shell gets (on top of its image's
     * Env, under what a call gives itself) and its status shows: set for the next processes at once (running ones
     * keep theirs), and kept by a stop, a fork, a snapshot of the whole workspace and a commit. Never a secret's
     * value: those reach a command through its {@code secretEnv}.
     *
     * <pre>{@code
     * workspaces.env("proj", Map.of("NODE_ENV", "test"), List.of("DEBUG"));
     * }</pre>
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param set    variables to set (added or replaced); null: none
     * @param remove names to remove; null: none
     * @return its sandbox, with its new variables ({@code spec().env()})
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        name or value, a name both set and removed, or a value that is one of its secrets'
     */
    public Sandbox env(String id, Map<String, String> set, List<String> remove) {
        Workspace w = state.get(id);
        state.secrets(w).refuseInVariables(set);
        return sandboxes.env(w.sandboxId(), set, remove);
    }

    /**
     * The workspace of id {@code ref}, else the one named {@code ref}. Names never start with {@code ws-}, so an id
     * and a name cannot be confused; several workspaces of one name (made before names were unique) are refused.
     *
     * @param ref the workspace's id ({@code ws-...}) or name
     * @return the workspace as recorded
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name; {@link Kind#STORE} when its state cannot be read
     */
    public Workspace get(String ref) {
        return state.get(ref);
    }

    /**
     * {@link #get(String)} among the workspaces {@code visible} accepts: one it refuses is not found, by id or by
     * name, with the very error of a workspace that does not exist (so a door that shows only some, e.g. an MCP
     * server its own, does not tell that others exist, and a name resolves only among those it may see).
     *
     * @param ref     the workspace's id ({@code ws-...}) or name
     * @param visible which workspaces may be found (e.g. by {@link Workspace#owner})
     * @return the workspace as recorded
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace that {@code visible} accepts,
     *                        {@link Kind#USAGE} when several of those have that name; {@link Kind#STORE} when the
     *                        state cannot be read
     */
    public Workspace get(String ref, java.util.function.Predicate<Workspace> visible) {
        return state.get(ref, visible);
    }

    /**
     * All workspaces, oldest first.
     *
     * @return every workspace of this state directory (not those being created); empty when there is none
     * @throws DavitException {@link Kind#STORE} when the state cannot be read
     */
    public List<Workspace> list() {
        return state.list();
    }

    /**
     * The sandbox of workspace {@code id}, with its status.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return its sandbox as it is now ({@link Sandbox#status()}: running, stopped, failed...)
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or its sandbox is gone;
     *                        {@link Kind#USAGE} when several have that name
     */
    public Sandbox sandbox(String id) {
        return state.sandbox(id);
    }

    /**
     * Starts the workspace's sandbox (a running one stays as it is) and puts its secrets into it. /workspace holds
     * what it held when it stopped; services and shells do not come back.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return its sandbox, running
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name; any kind from starting the sandbox
     */
    public Sandbox start(String id) {
        return life.start(id);
    }

    /**
     * Pauses the workspace: its processes (services, shells, detached execs, what execs left running) keep their state
     * and take no CPU until {@link #resume}. A container workspace's are frozen in place (it stays running, and an
     * exec, file operation's exec or service start is refused until it is resumed; its files stay readable). A
     * microVM workspace's memory and device state are saved beside its disk and its QEMU ends, freeing its CPU and
     * memory; {@link #resume} (also from another davit, also after this one exited) or {@link #start} brings its
     * processes back as they were. See {@link Sandboxes#pause}.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return its sandbox, paused (running: a container; stopped: a microVM)
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} when it is
     *                        not running, or its sandbox cannot be paused here; what {@link Sandboxes#pause} throws
     */
    public Sandbox pause(String id) {
        return state.locked(id, wid -> sandboxes.pause(state.get(wid).sandboxId()));
    }

    /**
     * Resumes a paused workspace ({@link #pause}).
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return its sandbox, running
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} when it is
     *                        not paused; what {@link Sandboxes#resume} throws
     */
    public Sandbox resume(String id) {
        return state.locked(id, wid -> sandboxes.resume(state.get(wid).sandboxId()));
    }

    /**
     * Whether the workspace is paused ({@link #pause}).
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return true when it is
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or its sandbox is gone
     */
    public boolean paused(String id) {
        return sandboxes.paused(state.get(id).sandboxId());
    }

    /**
     * Whether the workspace whose sandbox is {@code s} (as {@link #sandbox} just read it) is paused, without reading
     * its state again.
     *
     * @param s its sandbox
     * @return true when it is
     */
    public boolean paused(Sandbox s) {
        return sandboxes.paused(s);
    }

    /**
     * Stops the workspace's services, closes its shells and stops its sandbox (every process in it is killed).
     * /workspace, its baseline and snapshots stay; {@link #start} brings it back.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return its sandbox, stopped
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name
     */
    public Sandbox stop(String id) {
        return life.stop(id);
    }

    /**
     * Changes the egress policy of the workspace's sandbox (see {@link dev.davit.sandbox.EgressPolicy}): its policy
     * with {@code change} ({@link EgressPolicy#with}), through {@link Sandboxes#network}. A running workspace's new
     * names and connections follow it at once (connections open already are left alone); a stopped one's is
     * recorded and holds from its next start. Under the workspace's lock, so two changes never lose one another.
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param change the entries to remove, then those to add
     * @return the workspace (its policy: {@link #sandbox}'s network)
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or its sandbox is gone;
     *                        {@link Kind#USAGE} when several have that name, when the workspace has no egress policy
     *                        (its network is none, NAT or the host's) or for an invalid entry or unknown preset;
     *                        {@link Kind#STORE} when it cannot be recorded; the policy is unchanged then
     */
    public Workspace network(String id, EgressPolicy.Change change) {
        return network.network(id, change);
    }

    /**
     * What the egress gate of the workspace's sandbox refused (names it gave no answer for, connections it refused),
     * oldest first, kept bounded on disk (see {@link Sandboxes#egressDenials}).
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return the denials; empty for a workspace without an egress policy
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or its sandbox is gone;
     *                        {@link Kind#USAGE} when several have that name
     */
    public List<EgressDenial> egressDenials(String id) {
        return network.egressDenials(id);
    }

    /**
     * The services of workspace {@code id}.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return its services, to start, list, read and stop
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name
     */
    public Services services(String id) {
        return state.services(id);
    }

    /**
     * The shells of workspace {@code id}.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return its shells, to open, write to, read and close
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name
     */
    public Shells shells(String id) {
        return state.shells(id);
    }

    /**
     * Removes the workspace's sandbox (processes included) and its state: baseline, snapshots, history, kept output
     * and secrets. A sandbox already gone is no error.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name; {@link Kind#STORE} when its state cannot be removed
     */
    public void rm(String id) {
        life.rm(id);
    }

    /**
     * Runs {@code argv} in the workspace's sandbox; {@code cwd} null means /workspace, a relative one is under it.
     * See {@link Sandboxes#exec(String, List, Map, String, Duration, InputStream, OutputStream, OutputStream)}.
     *
     * @param id        the workspace's id ({@code ws-...}) or name
     * @param argv      the command: the program and its arguments
     * @param env       variables on top of the sandbox's environment; null: none
     * @param cwd       the working directory: null for /workspace, an absolute path, or one relative to /workspace
     * @param timeout   how long it may run: then it is killed (exit code 124; the sandbox keeps running); null:
     *                  no limit
     * @param stdin     its standard input, read to its end; null: /dev/null. Container workspaces only: a
     *                  microVM's refuses one ({@link Kind#USAGE})
     * @param stdoutTee where its stdout is copied, redacted in a workspace with secrets (as it arrives in a
     *                  container, when the command ends in a microVM); null: nowhere. Not closed
     * @param stderrTee where its stderr is copied, as {@code stdoutTee}; null: nowhere
     * @return the exit code, the output (up to {@link ExecResult#MAX_CAPTURED_BYTES} per stream, redacted in a
     *         workspace with secrets) and timings; a command that fails is a result, not an exception
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or has lost its sandbox;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        request (an unknown secret, a variable set twice, stdin to a microVM...)
     */
    public ExecResult exec(String id, List<String> argv, Map<String, String> env, String cwd, Duration timeout,
                           InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        return exec(id, argv, env, Map.of(), cwd, timeout, stdin, stdoutTee, stderrTee);
    }

    /**
     * {@link #exec(String, List, Map, String, Duration, InputStream, OutputStream, OutputStream)} with
     * {@code secretEnv} (variable to secret name) set from the workspace's secrets. In a workspace with secrets,
     * every value is redacted from the output (the tees' and the result's), the exec history and error messages.
     *
     * @param id        the workspace's id ({@code ws-...}) or name
     * @param argv      the command: the program and its arguments
     * @param env       variables on top of the sandbox's environment; null: none
     * @param secretEnv environment variable to the name of one of the workspace's secrets; null or empty: none
     * @param cwd       the working directory: null for /workspace, an absolute path, or one relative to /workspace
     * @param timeout   how long it may run: then it is killed (exit code 124; the sandbox keeps running); null:
     *                  no limit
     * @param stdin     its standard input, read to its end; null: /dev/null. Container workspaces only: a
     *                  microVM's refuses one ({@link Kind#USAGE})
     * @param stdoutTee where its stdout is copied, redacted in a workspace with secrets (as it arrives in a
     *                  container, when the command ends in a microVM); null: nowhere. Not closed
     * @param stderrTee where its stderr is copied, as {@code stdoutTee}; null: nowhere
     * @return the exit code, the output (up to {@link ExecResult#MAX_CAPTURED_BYTES} per stream, redacted in a
     *         workspace with secrets) and timings; a command that fails is a result, not an exception
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or has lost its sandbox;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        request (an unknown secret, a variable set twice, stdin to a microVM...)
     */
    public ExecResult exec(String id, List<String> argv, Map<String, String> env, Map<String, String> secretEnv,
                           String cwd, Duration timeout, InputStream stdin, OutputStream stdoutTee,
                           OutputStream stderrTee) {
        return execs.exec(id, argv, env, secretEnv, cwd, timeout, stdin, stdoutTee, stderrTee);
    }

    /**
     * Runs request {@code r} in workspace {@code id} (see {@link ExecRequest}); its output captured whole.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @param r  what to run, and how
     * @return the exit code, the output (up to {@link ExecResult#MAX_CAPTURED_BYTES} per stream, redacted in a
     *         workspace with secrets) and timings; a command that fails is a result, not an exception
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or has lost its sandbox;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        request (an unknown secret, a variable set twice, stdin to a microVM...)
     */
    public ExecResult exec(String id, ExecRequest r) {
        return exec(id, r.command(), r.env(), r.secretEnv(), r.cwd(), r.timeout(), r.stdin(), r.stdoutTee(),
                r.stderrTee());
    }

    /**
     * Runs request {@code r} in workspace {@code id}, holding at most {@code keep} bytes of each output stream in
     * memory; see {@link #exec(String, List, Map, String, Duration, int, InputStream, OutputStream, OutputStream)}.
     *
     * @param id   the workspace's id ({@code ws-...}) or name
     * @param r    what to run, and how
     * @param keep how many bytes of each stream to hold in memory: 2 to {@link ExecResult#MAX_CAPTURED_BYTES}
     * @return the result (its captures only the first half of {@code keep} bytes), the excerpts and the exec's id
     *         for {@link #output}
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or has lost its sandbox;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        request (an unknown secret, a variable set twice, stdin to a microVM, {@code keep}
     *                        out of range...); {@link Kind#STORE} when the output cannot be kept
     */
    public Executed exec(String id, ExecRequest r, int keep) {
        return exec(id, r.command(), r.env(), r.secretEnv(), r.cwd(), r.timeout(), keep, r.stdin(), r.stdoutTee(),
                r.stderrTee());
    }

    /**
     * What {@link #exec(String, List, Map, String, Duration, int, InputStream, OutputStream, OutputStream)} did:
     * the result (whose captures hold only the start of each stream), and the excerpts of stdout and stderr; when
     * one was cut, all of it (up to {@link ExecOutput#CAP} bytes) can be read with {@link #output} under
     * {@code execId}.
     *
     * @param result the exit code, timings and the first half of the kept bytes of each stream
     *               ({@link ExecResult#truncated} when a stream was cut)
     * @param execId the exec's id ({@code e-} and 12 hex digits), also in the exec history
     * @param stdout the start and end of stdout, and its whole size
     * @param stderr the start and end of stderr, and its whole size
     * @param networkDenied what the workspace's egress gate refused while it ran (from its start to just after its
     *               end, whichever process asked), oldest first; empty for a workspace without an egress policy
     */
    public record Executed(ExecResult result, String execId, OutputExcerpt stdout, OutputExcerpt stderr,
                           List<EgressDenial> networkDenied) {
        /**
         * What an exec did.
         *
         * @param result        the exit code, timings and the first half of the kept bytes of each stream
         * @param execId        the exec's id
         * @param stdout        the start and end of stdout, and its whole size
         * @param stderr        the start and end of stderr, and its whole size
         * @param networkDenied what the egress gate refused while it ran; null: none
         */
        public Executed {
            networkDenied = networkDenied == null ? List.of() : List.copyOf(networkDenied);
        }
    }

    /**
     * {@link #exec(String, List, Map, String, Duration, InputStream, OutputStream, OutputStream)} that holds at most
     * {@code keep} bytes of each output stream in memory (its first and last halves): the whole of each stream goes
     * to the workspace's state directory as it arrives, and stays there (for {@link #output}) when it did not fit.
     *
     * @param id        the workspace's id ({@code ws-...}) or name
     * @param argv      the command: the program and its arguments
     * @param env       variables on top of the sandbox's environment; null: none
     * @param cwd       the working directory: null for /workspace, an absolute path, or one relative to /workspace
     * @param timeout   how long it may run: then it is killed (exit code 124; the sandbox keeps running); null:
     *                  no limit
     * @param keep      how many bytes of each stream to hold in memory (its first and last halves): 2 to
     *                  {@link ExecResult#MAX_CAPTURED_BYTES}
     * @param stdin     its standard input, read to its end; null: /dev/null. Container workspaces only: a
     *                  microVM's refuses one ({@link Kind#USAGE})
     * @param stdoutTee where its stdout is copied, redacted in a workspace with secrets (as it arrives in a
     *                  container, when the command ends in a microVM); null: nowhere. Not closed
     * @param stderrTee where its stderr is copied, as {@code stdoutTee}; null: nowhere
     * @return the result (its captures only the first half of {@code keep} bytes), the excerpts and the exec's id
     *         for {@link #output}
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or has lost its sandbox;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        request (an unknown secret, a variable set twice, stdin to a microVM, {@code keep}
     *                        out of range...); {@link Kind#STORE} when the output cannot be kept
     */
    public Executed exec(String id, List<String> argv, Map<String, String> env, String cwd, Duration timeout,
                         int keep, InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        return exec(id, argv, env, Map.of(), cwd, timeout, keep, stdin, stdoutTee, stderrTee);
    }

    /**
     * {@link #exec(String, List, Map, String, Duration, int, InputStream, OutputStream, OutputStream)} with
     * {@code secretEnv} (variable to secret name) set from the workspace's secrets; in a workspace with secrets every
     * value is redacted before anything keeps or passes on the output (excerpts, kept output, tees, history, errors).
     *
     * @param id        the workspace's id ({@code ws-...}) or name
     * @param argv      the command: the program and its arguments
     * @param env       variables on top of the sandbox's environment; null: none
     * @param secretEnv environment variable to the name of one of the workspace's secrets; null or empty: none
     * @param cwd       the working directory: null for /workspace, an absolute path, or one relative to /workspace
     * @param timeout   how long it may run: then it is killed (exit code 124; the sandbox keeps running); null:
     *                  no limit
     * @param keep      how many bytes of each stream to hold in memory (its first and last halves): 2 to
     *                  {@link ExecResult#MAX_CAPTURED_BYTES}
     * @param stdin     its standard input, read to its end; null: /dev/null. Container workspaces only: a
     *                  microVM's refuses one ({@link Kind#USAGE})
     * @param stdoutTee where its stdout is copied, redacted in a workspace with secrets (as it arrives in a
     *                  container, when the command ends in a microVM); null: nowhere. Not closed
     * @param stderrTee where its stderr is copied, as {@code stdoutTee}; null: nowhere
     * @return the result (its captures only the first half of {@code keep} bytes), the excerpts and the exec's id
     *         for {@link #output}
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or has lost its sandbox;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        request (an unknown secret, a variable set twice, stdin to a microVM, {@code keep}
     *                        out of range...); {@link Kind#STORE} when the output cannot be kept
     */
    public Executed exec(String id, List<String> argv, Map<String, String> env, Map<String, String> secretEnv,
                         String cwd, Duration timeout, int keep, InputStream stdin, OutputStream stdoutTee,
                         OutputStream stderrTee) {
        return execs.exec(id, argv, env, secretEnv, cwd, timeout, keep, stdin, stdoutTee, stderrTee);
    }

    /**
     * What {@link #execSpooled} did: the result (whose captures hold the first {@link #SPOOLED_CAPTURE} bytes of each
     * stream) and the excerpts of stdout and stderr, kept in files (unlinked: {@link #close} frees them); when one
     * was cut, all of it (up to {@link ExecOutput#CAP} bytes) can be read with {@link #output} under {@code execId}.
     *
     * @param result the exit code, timings and the first {@link #SPOOLED_CAPTURE} bytes of each stream
     *               ({@link ExecResult#truncated} when a stream had more)
     * @param execId the exec's id ({@code e-} and 12 hex digits), also in the exec history
     * @param stdout the start and end of stdout, and its whole size, in a file
     * @param stderr the start and end of stderr, and its whole size, in a file
     * @param networkDenied what the workspace's egress gate refused while it ran (see {@link Executed}), oldest
     *               first; empty for a workspace without an egress policy
     */
    public record SpooledExecuted(ExecResult result, String execId, SpooledExcerpt stdout, SpooledExcerpt stderr,
                                  List<EgressDenial> networkDenied) implements AutoCloseable {
        /**
         * What a spooled exec did.
         *
         * @param result        the exit code, timings and the first bytes of each stream
         * @param execId        the exec's id
         * @param stdout        the start and end of stdout, in a file
         * @param stderr        the start and end of stderr, in a file
         * @param networkDenied what the egress gate refused while it ran; null: none
         */
        public SpooledExecuted {
            networkDenied = networkDenied == null ? List.of() : List.copyOf(networkDenied);
        }

        /** Frees the excerpts' files. */
        @Override
        public void close() {
            stdout.close();
            stderr.close();
        }
    }

    /** How many bytes of each stream the result of {@link #execSpooled} captures. */
    public static final int SPOOLED_CAPTURE = 8192;

    /**
     * {@link #exec(String, List, Map, Map, String, Duration, int, InputStream, OutputStream, OutputStream)} that
     * holds none of the {@code keep} bytes of each stream in memory: the excerpts (the first and last halves) are
     * kept in files in the workspace's state directory ({@link SpooledExcerpt}), so that a flood costs no memory
     * whatever {@code keep} is. The same excerpts, history and kept output ({@link #output}).
     *
     * @param id        the workspace's id ({@code ws-...}) or name
     * @param argv      the command: the program and its arguments
     * @param env       variables on top of the sandbox's environment; null: none
     * @param secretEnv environment variable to the name of one of the workspace's secrets; null or empty: none
     * @param cwd       the working directory: null for /workspace, an absolute path, or one relative to /workspace
     * @param timeout   how long it may run: then it is killed (exit code 124; the sandbox keeps running); null:
     *                  no limit
     * @param keep      how many bytes of each stream the excerpts keep (its first and last halves): 2 to
     *                  {@link ExecResult#MAX_CAPTURED_BYTES}
     * @param stdin     its standard input, read to its end; null: /dev/null. Container workspaces only: a
     *                  microVM's refuses one ({@link Kind#USAGE})
     * @param stdoutTee where its stdout is copied, redacted in a workspace with secrets; null: nowhere. Not closed
     * @param stderrTee where its stderr is copied, as {@code stdoutTee}; null: nowhere
     * @return the result, the excerpts (close it when done) and the exec's id for {@link #output}
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or has lost its sandbox;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        request (an unknown secret, a variable set twice, stdin to a microVM, {@code keep}
     *                        out of range...); {@link Kind#STORE} when the output cannot be kept
     */
    public SpooledExecuted execSpooled(String id, List<String> argv, Map<String, String> env,
                                       Map<String, String> secretEnv, String cwd, Duration timeout, int keep,
                                       InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        return execs.execSpooled(id, argv, env, secretEnv, cwd, timeout, keep, stdin, stdoutTee, stderrTee);
    }

    /**
     * Up to {@code limit} bytes of {@code stream} ({@code stdout} or {@code stderr}) of exec {@code execId} of
     * workspace {@code id}, from {@code offset}: the output an {@link Executed} excerpt left out. Kept for the
     * newest {@link ExecOutput#KEEP} execs whose output was cut, up to {@link ExecOutput#CAP} bytes per stream.
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param execId the exec's id, from {@link Executed#execId}
     * @param stream {@code stdout} or {@code stderr} (null: stdout); {@link #DETACHED_STREAM} (or null) for a detached exec
     * @param offset where to start, in bytes from the stream's start; 0 or more
     * @param limit  the most bytes to return; 1 or more
     * @return the page, and how many bytes are kept in all
     * @throws DavitException {@link Kind#USAGE} for a malformed exec id or stream, or an offset or limit out of
     *                        range; {@link Kind#NOT_FOUND} when no such workspace, or no output of that exec, is kept
     */
    public ExecOutput.Page output(String id, String execId, String stream, long offset, int limit) {
        DetachedExecs d = state.detached(id);
        if (execId != null && d.has(execId)) {
            if (stream != null && !stream.equals(DETACHED_STREAM)) {
                throw new DavitException(Kind.USAGE, "a detached exec's output is one stream, '" + DETACHED_STREAM
                        + "' (stdout and stderr as written), not '" + stream + "'");
            }
            return d.output(execId, offset, limit);
        }
        return execs.output(id, execId, stream == null ? "stdout" : stream, offset, limit);
    }

    /**
     * Whether {@code execId} names a detached exec of workspace {@code id} ({@link #execDetached}), whose output is
     * one stream, {@link #DETACHED_STREAM}.
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param execId an exec's id
     * @return whether it is a detached exec's
     */
    public boolean isDetached(String id, String execId) {
        return execId != null && state.detached(id).has(execId);
    }

    /** The one output stream of a detached exec ({@link #output}): stdout and stderr interleaved as written. */
    public static final String DETACHED_STREAM = "output";

    /**
     * Starts request {@code r} in workspace {@code id} detached and returns at once: the command runs on when this
     * call, and this davit, have gone. Its output (stdout and stderr interleaved as written, redacted in a workspace
     * with secrets; the newest {@link dev.davit.sandbox.Spawned#logCap()} bytes kept) is read with {@link #output}
     * (stream {@link #DETACHED_STREAM}); {@link #execWait} waits for its end; {@link #execKill} stops it. Its timeout,
     * if it has one, is kept by whichever davit looks at it once it has passed ({@link #execWait},
     * {@link #execStatus}, {@link #execs}): it is then stopped and says {@code killed_by: timeout}. A stop, reset or
     * delete of the workspace stops it too (and says so).
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @param r  what to run: command, variables, secret variables, working directory, timeout (no stdin, no tees)
     * @return the exec, running
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or runs
     *                        {@value DetachedExecs#MAX_RUNNING} detached execs already; {@link Kind#NOT_FOUND} when
     *                        there is no such workspace; {@link Kind#USAGE} for a bad request (stdin or tees, an
     *                        unknown secret...)
     */
    public DetachedExec execDetached(String id, ExecRequest r) {
        return state.detached(id).start(r);
    }

    /**
     * Detached exec {@code execId} of workspace {@code id} as it is now (past its timeout it is stopped first).
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param execId the exec's id, as {@link #execDetached} gave it
     * @return the exec
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or exec; {@link Kind#USAGE} for a
     *                        bad exec id
     */
    public DetachedExec execStatus(String id, String execId) {
        return state.detached(id).get(execId);
    }

    /**
     * Waits up to {@code wait} for detached exec {@code execId} of workspace {@code id} to end (an interrupt ends the
     * wait, never the exec).
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param execId the exec's id
     * @param wait   how long to wait at most; null or zero: look once
     * @return the exec as it is then ({@code running} when the wait ran out)
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or exec; {@link Kind#CANCELLED}
     *                        when interrupted
     */
    public DetachedExec execWait(String id, String execId, Duration wait) {
        return state.detached(id).await(execId, wait);
    }

    /**
     * Stops detached exec {@code execId} of workspace {@code id} (TERM to its process group, KILL after 5 s); it then
     * says {@code killed_by: cancel}. One that ended already is left as it is.
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param execId the exec's id
     * @return the exec as it is then
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or exec
     */
    public DetachedExec execKill(String id, String execId) {
        return state.detached(id).cancel(execId);
    }

    /**
     * The detached execs of workspace {@code id} (the newest {@value DetachedExecs#KEEP}), oldest first.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return them, as they are now
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace
     */
    public List<DetachedExec> execs(String id) {
        return state.detached(id).list();
    }

    /**
     * The exec history of workspace {@code id}, oldest first: per exec its command, working directory, start,
     * duration, exit code and the first and last 2 KiB of each output stream (a line a crash cut short is left
     * out).
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return one entry per exec (commands and output redacted in a workspace with secrets); empty when none ran
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name
     */
    public List<ExecEntry> logs(String id) {
        return execs.logs(id);
    }

    /**
     * One snapshot of a workspace, in {@code <stateDir>/<id>/snapshots/<name>/} ({@code snapshot.json} and
     * {@code tree/}).
     *
     * @param name      its name, unique in the workspace
     * @param createdAt when it was taken
     * @param files     how many entries the tree holds, /workspace excluded
     * @param bytes     the size of its regular files together, in bytes
     * @param all       whether it holds the sandbox's whole writable state too ({@code state/}), which a reset to
     *                  it brings back, not /workspace alone
     */
    public record Snapshot(String name, Instant createdAt, long files, long bytes, boolean all) {
        /**
         * A snapshot of /workspace alone.
         *
         * @param name      its name
         * @param createdAt when it was taken
         * @param files     how many entries the tree holds
         * @param bytes     the size of its regular files together
         */
        public Snapshot(String name, Instant createdAt, long files, long bytes) {
            this(name, createdAt, files, bytes, false);
        }
    }

    /**
     * Copies /workspace's current tree into snapshot {@code name} (letters, digits, {@code .}, {@code _}, {@code -};
     * not taken). Written into a temp directory and renamed into place: it exists whole or not at all.
     *
     * @param id   the workspace's id ({@code ws-...}) or name
     * @param name the snapshot's name: up to 64 letters, digits, {@code .}, {@code _} or {@code -}, not starting with
     *             {@code .}; not taken in this workspace
     * @return the snapshot taken
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name, for a bad or taken snapshot name, or a tree the sandbox changed
     *                        meanwhile; {@link Kind#STORE} when it cannot be written
     */
    public Snapshot snapshot(String id, String name) {
        return snapshots.snapshot(id, name, false);
    }

    /**
     * {@link #snapshot(String, String)}; with {@code all}, the snapshot also holds the sandbox's whole writable state
     * (a container's layer and /tmp, or its disk; a microVM's disk), saved as {@link Workspaces#fork} copies it, so
     * that {@link #reset} to it brings back everything (a file written in /etc after it, a package installed), not
     * /workspace alone. It counts against the snapshots' bound with the blocks it takes.
     *
     * @param id   the workspace's id ({@code ws-...}) or name
     * @param name the snapshot's name (see {@link #snapshot(String, String)})
     * @param all  whether to save the sandbox's whole writable state too
     * @return the snapshot taken
     * @throws DavitException as {@link #snapshot(String, String)}; {@link Kind#USAGE} for a running container
     *                        workspace without a disk of its own (rootless, {@code --disk 0}) with {@code all}: its
     *                        state is saved only while it is stopped
     */
    public Snapshot snapshot(String id, String name, boolean all) {
        return snapshots.snapshot(id, name, all);
    }

    /**
     * The snapshots of workspace {@code id}, oldest first.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return its snapshots; empty when it has none
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name; {@link Kind#STORE} when they cannot be read
     */
    public List<Snapshot> snapshots(String id) {
        return snapshots.snapshots(id);
    }

    /**
     * Removes snapshot {@code name} of workspace {@code id}.
     *
     * @param id   the workspace's id ({@code ws-...}) or name
     * @param name the snapshot's name
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or snapshot; {@link Kind#USAGE}
     *                        for a malformed name
     */
    public void removeSnapshot(String id, String name) {
        snapshots.removeSnapshot(id, name);
    }

    /**
     * Restores /workspace to the baseline ({@code snapshot} null) or to snapshot {@code snapshot}, byte for byte
     * and mode for mode: stops the sandbox (nothing runs during the swap), builds the new tree in the workspace's
     * state directory, swaps it with the one in the sandbox's own layer by two renames, and starts the sandbox
     * again if it was running. A crash between the renames is undone by the next reset (the old tree is moved
     * back), so a crash leaves the old tree or the new one.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param snapshot the snapshot to restore; null: the baseline
     * @return the workspace's sandbox after the reset (running again if it was running)
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or snapshot; {@link Kind#STORE}
     *                        when the tree cannot be replaced
     */
    public Sandbox reset(String id, String snapshot) {
        return snapshots.reset(id, snapshot);
    }

    /**
     * One file of a workspace.
     *
     * @param path relative to /workspace
     * @param type {@code file}, {@code dir}, {@code symlink} or {@code other}
     * @param size the size in bytes of a regular file; 0 for anything else
     * @param mode permission bits
     * @param target a link's target, else null
     */
    public record FileInfo(String path, String type, long size, int mode, String target) {
    }

    /**
     * The entries of directory {@code path} (all below it with {@code recursive}), by path.
     *
     * @param id        the workspace's id ({@code ws-...}) or name
     * @param path      a directory (or file) relative to /workspace; null, {@code ""} or {@code .}: /workspace
     * @param recursive whether to list everything below it, not only its own entries
     * @return the entries, their paths relative to /workspace; the file itself when {@code path} is not a directory
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or path; {@link Kind#USAGE} for
     *                        an absolute path, one with {@code ..}, or one through a symbolic link
     */
    public List<FileInfo> listFiles(String id, String path, boolean recursive) {
        return files.listFiles(id, path, recursive);
    }

    /**
     * The entries of directory {@code path} of stopped workspace {@code id} (all below it with {@code recursive}),
     * read offline without starting it ({@link DiskReader}: a container's own layer, a microVM's disk image through
     * debugfs); a running workspace is refused. Shapes as {@link #listFiles}.
     *
     * @param id        the workspace's id ({@code ws-...}) or name
     * @param path      a directory (or file) relative to /workspace; null or {@code ""}: /workspace
     * @param recursive whether to list everything below it, not only its own entries
     * @return the entries, their paths relative to /workspace
     * @throws DavitException {@link Kind#USAGE} when the workspace is running (or its sandbox failed), or for a bad
     *                        path; {@link Kind#NOT_FOUND} when there is no such workspace or path
     */
    public List<FileInfo> diskList(String id, String path, boolean recursive) {
        return files.diskList(id, path, recursive);
    }

    /**
     * The bytes of regular file {@code path} of stopped workspace {@code id}, read offline; see {@link #diskList}.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param path     a regular file, relative to /workspace
     * @param maxBytes the most bytes to read; 0: all (refused above 64 MiB)
     * @return the bytes read, the file's size and whether it was cut
     * @throws DavitException {@link Kind#USAGE} when the workspace is running, or for a bad path, not a regular
     *                        file, or a file too large to read whole; {@link Kind#NOT_FOUND} when there is no such
     *                        workspace or file
     */
    public FileContent diskRead(String id, String path, long maxBytes) {
        return files.diskRead(id, path, maxBytes);
    }

    /**
     * {@link #export} of stopped workspace {@code id}, read offline; see {@link #diskList}.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param hostDest a host directory that does not exist or is empty, or a {@code .tar} file that does not exist
     * @param path     what to export, relative to /workspace; null or {@code ""}: all of it
     * @return what was copied
     * @throws DavitException {@link Kind#USAGE} when the workspace is running, or for a bad path or destination;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace or path
     */
    public Copied diskExport(String id, Path hostDest, String path) {
        return copies.diskExport(id, hostDest, path);
    }

    /**
     * What {@link #readFile} read.
     *
     * @param bytes     the bytes read from {@code offset}; in a workspace with secrets, each value in them
     *                  replaced with {@code [REDACTED:NAME]} (and a value cut short by {@code maxBytes} or by the
     *                  offset masked)
     * @param size      the file's size, in bytes (the file's even when {@code bytes} were redacted)
     * @param truncated whether more of the file follows what was read (read on from {@code end})
     * @param redacted  whether a secret value was redacted from {@code bytes}, which then are not the file's
     * @param offset    where in the file {@code bytes} start
     * @param end       where in the file what was read ends: the offset of the next page (the file's bytes read,
     *                  whatever redaction made of them)
     */
    public record FileContent(byte[] bytes, long size, boolean truncated, boolean redacted, long offset, long end) {
        /**
         * What was read from the file's start.
         *
         * @param bytes     the bytes read from the file's start
         * @param size      the file's size, in bytes
         * @param truncated whether only the first {@code maxBytes} were read
         * @param redacted  whether a secret value was redacted from {@code bytes}
         */
        public FileContent(byte[] bytes, long size, boolean truncated, boolean redacted) {
            this(bytes, size, truncated, redacted, 0, bytes.length);
        }

        /**
         * What was read from the file's start, with nothing redacted.
         *
         * @param bytes     the bytes read from the file's start
         * @param size      the file's size, in bytes
         * @param truncated whether only the first {@code maxBytes} were read
         */
        public FileContent(byte[] bytes, long size, boolean truncated) {
            this(bytes, size, truncated, false);
        }
    }

    /**
     * The bytes of regular file {@code path}, at most {@code maxBytes} (0: all). In a workspace with secrets every
     * value in them is {@code [REDACTED:NAME]} ({@link FileContent#redacted} says so), as in every result here.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param path     a regular file, relative to /workspace
     * @param maxBytes the most bytes to read; 0: all (a container workspace refuses that for more than 64 MiB)
     * @return the bytes read, the file's size and whether it was cut
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or path; {@link Kind#USAGE} for an
     *                        absolute path, one with {@code ..}, or one through a symbolic link, not a regular file, or
     *                        a file too large to read whole
     */
    public FileContent readFile(String id, String path, long maxBytes) {
        return readFile(id, path, 0, maxBytes);
    }

    /**
     * The bytes of regular file {@code path} from byte {@code offset}, at most {@code maxBytes} (0: the rest): a page
     * of a large file; {@link FileContent#end} is where the next one starts, {@link FileContent#truncated} whether
     * there is one. Redacted as {@link #readFile(String, String, long)} (a value the offset cuts is masked too).
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param path     a regular file, relative to /workspace
     * @param offset   where to start, in bytes (past the end: nothing is read)
     * @param maxBytes the most bytes to read; 0: the rest (a container workspace refuses more than 64 MiB)
     * @return the bytes read, the file's size, whether more follows and where the next page starts
     * @throws DavitException as {@link #readFile(String, String, long)}; {@link Kind#USAGE} for a negative offset,
     *                        and in a microVM workspace for a page that ends past the file's first 64 MiB
     */
    public FileContent readFile(String id, String path, long offset, long maxBytes) {
        return files.readFile(id, path, offset, maxBytes);
    }

    /**
     * Writes {@code data} to {@code path} atomically (a temp file in the same directory, synced, renamed over it;
     * a link there is replaced, never followed), creating missing parent directories (0755). Keeps an existing
     * file's mode, else 0644. Returns the bytes written.
     *
     * @param id   the workspace's id ({@code ws-...}) or name
     * @param path the file, relative to /workspace
     * @param data the new content, read to its end (not closed)
     * @return how many bytes were written
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad path,
     *                        a directory at it, or a path through a symbolic link; {@link Kind#STORE} when it cannot
     *                        be written
     */
    public long writeFile(String id, String path, InputStream data) {
        return files.writeFile(id, path, data);
    }

    /** Hears how far a long copy ({@link #export(String, Path, String, Progress)}) got. */
    @FunctionalInterface
    public interface Progress {
        /**
         * How far it got.
         *
         * @param entries the entries copied so far
         * @param bytes   the bytes copied so far
         */
        void at(long entries, long bytes);
    }

    /**
     * What {@link #push} or {@link #export} copied.
     *
     * @param path    where, relative to /workspace ({@code ""}: /workspace itself)
     * @param files   how many entries (files, directories, links), the top included
     * @param bytes   the size of the regular files together
     * @param skipped entries left out (devices, fifos, sockets), relative to the top
     */
    public record Copied(String path, long files, long bytes, List<String> skipped) {
    }

    /**
     * Copies host file or directory {@code hostPath} to {@code dest} in /workspace (null: its own name at the top),
     * replacing what is there; missing parent directories are created. Links inside a directory are copied as they
     * are; a device, fifo or socket is refused.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param hostPath the host file or directory to copy in
     * @param dest     where it goes, relative to /workspace; null: {@code hostPath}'s own name at the top
     * @return what was copied ({@code skipped} is always empty: nothing is left out)
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name, for a missing host path, a device, fifo or socket, or a bad
     *                        destination; {@link Kind#STORE} when it cannot be copied
     */
    public Copied push(String id, Path hostPath, String dest) {
        return copies.push(id, hostPath, dest);
    }

    /**
     * Copies /workspace (or {@code path} in it) to the host: into directory {@code hostDest} (which must not exist
     * or be empty; a file {@code path} lands under its own name), or into a tar file when {@code hostDest} ends in
     * {@code .tar}. Links are copied as links, never followed; devices, fifos and sockets are left out; modes keep
     * only the permission bits (no setuid, setgid or sticky). Written to a temp sibling and renamed last.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param hostDest a host directory that does not exist or is empty (its parent must exist), or a {@code .tar}
     *                 file that does not exist
     * @param path     what to export, relative to /workspace; null or {@code ""}: all of it
     * @return what was copied, and what was left out
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or path; {@link Kind#USAGE} for a
     *                        bad path or destination; {@link Kind#STORE} when the host side cannot be written
     */
    public Copied export(String id, Path hostDest, String path) {
        return export(id, hostDest, path, null);
    }

    /**
     * {@link #export(String, Path, String)}, telling {@code progress} (null: none) about once a second how many
     * entries and bytes it copied so far.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param hostDest a host directory that does not exist or is empty (its parent must exist), or a {@code .tar}
     *                 file that does not exist
     * @param path     what to export, relative to /workspace; null or {@code ""}: all of it
     * @param progress told the entries and bytes copied so far, about once a second; null: nobody
     * @return what was copied, and what was left out
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or path; {@link Kind#USAGE} for a
     *                        bad path or destination; {@link Kind#STORE} when the host side cannot be written
     */
    public Copied export(String id, Path hostDest, String path, Progress progress) {
        return copies.export(id, hostDest, path, progress);
    }

    /**
     * Applies unified diff {@code patch} ({@code git diff} or {@code diff -u} output) inside /workspace, all or
     * nothing: every hunk is applied in memory against the current content first (exact context, the first match
     * nearest the hunk's line); if one fails nothing is written and the error names its file and hunk; otherwise
     * the results are written together. Returns the paths changed, with {@code added}, {@code modified} or
     * {@code deleted}.
     *
     * @param id    the workspace's id ({@code ws-...}) or name
     * @param patch the unified diff's bytes; its paths (after an {@code a/} or {@code b/} prefix) relative to
     *              /workspace
     * @return changed path (relative to /workspace) to {@code added}, {@code modified} or {@code deleted}, in the
     *         patch's order
     * @throws DavitException {@link Kind#STATE} when a hunk does not apply; {@link Kind#USAGE} when the patch does
     *                        not parse, or changes a path that is not a regular file or holds more than 64 MiB;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace. Nothing is changed then
     */
    public Map<String, String> patch(String id, byte[] patch) {
        return applyPatch(id, patch).changes();
    }

    /**
     * What {@link #applyPatch} did.
     *
     * @param changes changed path (relative to /workspace) to {@code added}, {@code modified} or {@code deleted}, in
     *                the patch's order
     * @param notes   what the caller should know: each hunk whose header miscounted its lines, taken as
     *                {@code git apply --recount} takes it
     */
    public record Patched(Map<String, String> changes, List<String> notes) {
        /** Copies both. */
        public Patched {
            changes = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(changes));
            notes = List.copyOf(notes);
        }
    }

    /**
     * {@link #patch}, saying what the caller should know: a hunk whose header miscounts its lines (as a hand-written
     * one may) is taken as {@code git apply --recount} takes it, as the lines up to the next hunk or file, and said
     * so; its context must still match exactly.
     *
     * @param id    the workspace's id ({@code ws-...}) or name
     * @param patch the unified diff's bytes
     * @return the changes and the notes
     * @throws DavitException as {@link #patch}
     */
    public Patched applyPatch(String id, byte[] patch) {
        return changes.patch(id, patch);
    }

    /**
     * What {@link #edit} did.
     *
     * @param path         the file, relative to /workspace
     * @param replacements how many occurrences it replaced
     * @param line         the line (from 1) of the first, before the edit
     */
    public record Edited(String path, int replacements, int line) {
    }

    /**
     * Replaces text {@code oldText} of file {@code path} of /workspace by {@code newText}, as models are trained to
     * edit: the text must be in the file exactly once (or, with {@code all}, at least once: every occurrence is
     * replaced). Found nowhere or more than once, the edit is refused saying how many times and on which lines (and,
     * when it is there only without its leading and trailing white space, that too); nothing is changed then. The
     * file (UTF-8 text, at most 64 MiB) keeps its mode; it is written whole, as a patch writes.
     *
     * <pre>{@code
     * workspaces.edit("proj", "src/app.js", "return a - b;", "return a + b;", false);
     * }</pre>
     *
     * @param id      the workspace's id ({@code ws-...}) or name
     * @param path    the file, relative to /workspace
     * @param oldText the text to replace: not empty
     * @param newText what to put in its place (empty: remove it)
     * @param all     replace every occurrence rather than the one
     * @return the file, how many it replaced and where the first was
     * @throws DavitException {@link Kind#STATE} when the text is not there, or there more than once without
     *                        {@code all}; {@link Kind#NOT_FOUND} when there is no such workspace or file;
     *                        {@link Kind#USAGE} for a bad path, an empty {@code oldText}, the same text twice, or a file
     *                        that is not UTF-8 text or not a regular file. Nothing is changed then
     */
    public Edited edit(String id, String path, String oldText, String newText, boolean all) {
        return changes.edit(id, path, oldText, newText, all);
    }

    /**
     * One workspace {@link #reap} removed.
     *
     * @param id        the workspace's id
     * @param name      its name, or null
     * @param sandboxId the id of its sandbox (removed with it, unless it was gone already)
     * @param reason {@code expired} (its ttl passed), {@code sandbox gone} (its sandbox was removed) or
     *               {@code create interrupted} (its davit died while creating it: the sandbox it had made is removed)
     */
    public record Reaped(String id, String name, String sandboxId, String reason) {
    }

    /**
     * Removes the workspaces whose ttl has passed since creation (sandbox and state), those whose sandbox is
     * gone (removed behind their back, e.g. by {@code davit sandbox rm}) and what creates whose davit died (killed
     * half-way) left: the sandbox each had made; returns them. A failed sandbox is kept:
     * its files are still there and {@link #start} brings it back.
     *
     * @return the workspaces removed, oldest first; empty when none was
     * @throws DavitException of any kind but {@link Kind#NOT_FOUND} when a workspace cannot be removed (those
     *                        before it are removed)
     */
    public List<Reaped> reap() {
        return reap(w -> true);
    }

    /**
     * {@link #reap()} of the workspaces {@code which} accepts (e.g. one owner's: see {@link Workspace#ownedBy}); the
     * others are left alone, expired or not.
     *
     * @param which the workspaces that may be removed
     * @return the workspaces removed, oldest first; empty when none was
     * @throws DavitException of any kind but {@link Kind#NOT_FOUND} when a workspace cannot be removed (those
     *                        before it are removed)
     */
    public List<Reaped> reap(java.util.function.Predicate<Workspace> which) {
        return life.reap(which);
    }

    /**
     * The ids of the sandboxes workspaces work in (for a sandbox reap that must leave them alone).
     *
     * @return a new set of sandbox ids, one per workspace
     */
    public java.util.Set<String> sandboxIds() {
        return life.sandboxIds();
    }

    /**
     * What changed in /workspace since the baseline.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return the changed paths and a unified diff of the text files among them
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} when what
     *                        the sandbox did keeps the tree from being read (a name that is not UTF-8, a change during
     *                        the diff); {@link Kind#STORE} when it cannot be read
     */
    public WorkspaceDiff diff(String id) {
        return diff(id, null);
    }

    /**
     * What changed in /workspace since snapshot {@code snapshot} (null: the baseline). In a workspace with secrets
     * both sides are redacted before they are compared (see {@link WorkspaceDiff}).
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param snapshot the snapshot to compare with; null: the baseline
     * @return the changed paths and a unified diff of the text files among them
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or snapshot; {@link Kind#USAGE}
     *                        for a malformed snapshot name, or when what the sandbox did keeps the tree from being
     *                        read (a name that is not UTF-8, a change during the diff); {@link Kind#STORE} when it
     *                        cannot be read
     */
    public WorkspaceDiff diff(String id, String snapshot) {
        return diff(id, snapshot, List.of());
    }

    /**
     * {@link #diff(String, String)} of some paths only: each path given and what is below it (a directory's whole
     * tree), the others left out of the changes and the patch.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param snapshot the snapshot to compare with; null: the baseline
     * @param paths    paths relative to /workspace; empty: every path
     * @return the changed paths among them and a unified diff of the text files among those
     * @throws DavitException as {@link #diff(String, String)}; {@link Kind#USAGE} for an absolute path or one with
     *                        {@code ..}
     */
    public WorkspaceDiff diff(String id, String snapshot, List<String> paths) {
        return diff(id, snapshot, paths, !paths.isEmpty());
    }

    /**
     * {@link #diff(String, String, List)}, saying whether ignored directories are listed: without
     * {@code includeIgnored} (the default of the other diffs when no path is given) the changes below a directory
     * the workspace's {@code .gitignore} files ignore (or, with none, a usual dependency or build directory such as
     * {@code node_modules}, {@code target}, {@code __pycache__}; {@code .git} always) are counted per such directory
     * ({@link WorkspaceDiff#collapsed}) instead of listed and diffed, so what the caller wrote is not lost among them.
     *
     * @param id             the workspace's id ({@code ws-...}) or name
     * @param snapshot       the snapshot to compare with; null: the baseline
     * @param paths          paths relative to /workspace; empty: every path
     * @param includeIgnored list and diff what is below ignored directories too
     * @return the changed paths, a unified diff of the text files among them, and the collapsed directories
     * @throws DavitException as {@link #diff(String, String, List)}
     */
    public WorkspaceDiff diff(String id, String snapshot, List<String> paths, boolean includeIgnored) {
        return changes.diff(id, snapshot, paths, includeIgnored);
    }
}
