package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.EgressDenial;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
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
        this.execs = new WorkspaceExecs(state, new ExecRunner(state));
        this.snapshots = new WorkspaceSnapshots(state);
        this.files = new WorkspaceFiles(new FileAccess(state), new WorkspaceCopies(state),
                new WorkspaceChanges(state));
        this.network = new WorkspaceNetwork(state);
        this.forks = new WorkspaceForks(state, owner);
    }

    /**
     * These workspaces, whose {@link #create} records {@code owner} as the new workspace's {@link Workspace#owner}:
     * for davit's doors, through {@code internal.WorkspaceInternals.ownedBy}.
     *
     * @param owner 1 to 128 letters, digits, '.', '_', '-', ':', '@' or '/'; null: none (the operator's own)
     * @return a new {@code Workspaces} of the same state; this one is unchanged
     * @throws DavitException {@link Kind#USAGE} for an owner of other characters or length
     */
    Workspaces ownedBy(String owner) {
        if (owner != null && !owner.matches("[A-Za-z0-9._:@/-]{1,128}")) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("the owner must be 1 to 128 letters, digits,"
                    + " '.', '_', '-', ':', '@' or '/', not '" + dev.davit.oci.internal.Text.shorten(owner, 40) + "' (",
                    dev.davit.oci.Input.OWNER, ")"));
        }
        return new Workspaces(sandboxes, stateDir, spares, owner);
    }

    /**
     * These workspaces, whose {@link #create} takes its sandbox from {@code pool} (see {@link WarmPool}) when it has
     * a spare of the kind: for davit's doors, through {@code internal.WorkspaceInternals.withSpares}.
     *
     * @param pool the pool to take spares from ({@link WarmPool#open} of these workspaces), or null
     * @return a new {@code Workspaces} of the same state; this one is unchanged
     */
    Workspaces withSpares(WarmPool pool) {
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
     * {@return the commands of these workspaces: execs, their output, detached execs, the history}
     */
    public WorkspaceExecs execs() {
        return execs;
    }

    /**
     * {@return the files of these workspaces: list, read, write, push, export, edit, patch, diff, a stopped disk's}
     */
    public WorkspaceFiles files() {
        return files;
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
     * @return the forks, recorded, with this {@code Workspaces}' owner (the one a door gave it)
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        count or names, a name taken, a failed workspace or a running one that is forked only
     *                        while stopped; {@link Kind#STORE} when a copy fails; what {@code admit} throws. Nothing
     *                        is left of any fork then
     */
    public List<Workspace> fork(String id, int count, List<String> names, java.util.function.IntConsumer admit) {
        return forks.fork(id, count, names, admit);
    }

    /**
     * What {@link #update} changes; null or false fields keep what is there. Made with {@link #builder}:
     *
     * <pre>{@code
     * workspaces.update("proj", Workspaces.Change.builder().name("proj-2").label("team", "core").build());
     * }</pre>
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

        /**
         * A change of nothing yet: set what changes on it.
         *
         * @return a new builder
         */
        public static Builder builder() {
            return new Builder();
        }

        /** Builds a {@link Change}; what is not set is kept as it is. */
        public static final class Builder {
            private String name;
            private boolean noName;
            private final Map<String, String> labels = new java.util.LinkedHashMap<>();
            private final List<String> removeLabels = new java.util.ArrayList<>();
            private Duration ttl;
            private boolean noTtl;

            private Builder() {
            }

            /**
             * A new name (unique, see {@link #create(WorkspaceSpec)}).
             *
             * @param v the name; null: keep the name
             * @return this builder
             */
            public Builder name(String v) {
                name = v;
                return this;
            }

            /**
             * Whether the name is dropped.
             *
             * @param v true: the workspace has no name after the change
             * @return this builder
             */
            public Builder noName(boolean v) {
                noName = v;
                return this;
            }

            /**
             * Sets one label (added or replaced).
             *
             * @param key   the label's key
             * @param value its value
             * @return this builder
             */
            public Builder label(String key, String value) {
                labels.put(key, value);
                return this;
            }

            /**
             * Sets these labels (added or replaced) with those set before.
             *
             * @param v keys to values; null: none
             * @return this builder
             */
            public Builder labels(Map<String, String> v) {
                if (v != null) {
                    labels.putAll(v);
                }
                return this;
            }

            /**
             * Removes labels of these keys (a missing one is no error), with those given before.
             *
             * @param v the keys; null: none
             * @return this builder
             */
            public Builder removeLabels(List<String> v) {
                if (v != null) {
                    removeLabels.addAll(v);
                }
                return this;
            }

            /**
             * A new ttl, counted from the workspace's creation.
             *
             * @param v a positive duration; null: keep the ttl
             * @return this builder
             */
            public Builder ttl(Duration v) {
                ttl = v;
                return this;
            }

            /**
             * Whether the workspace never expires after the change.
             *
             * @param v true: no ttl
             * @return this builder
             */
            public Builder noTtl(boolean v) {
                noTtl = v;
                return this;
            }

            /**
             * The change.
             *
             * @return a new {@link Change} of what was set
             * @throws DavitException {@link Kind#USAGE} for what the record refuses (see its constructor)
             */
            public Change build() {
                return new Change(name, noName, labels, removeLabels, ttl, noTtl);
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
     * Why the workspace whose sandbox is {@code s} (as {@link #sandbox} just read it) failed, as its backend can
     * tell (on k8s the kubelet's reason: evicted, OOM-killed, its node lost), or null when it is not failed or
     * nothing says.
     *
     * @param s its sandbox
     * @return one line, or null
     */
    public String failure(Sandbox s) {
        return sandboxes.failure(s);
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

}
