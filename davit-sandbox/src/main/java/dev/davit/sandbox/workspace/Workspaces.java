package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.unpack.TarExtractor;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.OutputExcerpt;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.Sandboxes;
import dev.davit.sandbox.SpooledExcerpt;
import dev.davit.sandbox.Tees;
import dev.davit.sandbox.fs.Budget;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.internal.WorkspaceJson;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Workspaces: long-lived sandboxes with a {@code /workspace} directory seeded from the host, recorded as a baseline,
 * worked in through execs and file operations, and compared with the baseline. A layer above {@link Sandboxes}
 * that uses only its API. State: {@code <stateDir>/<id>/workspace.json} and {@code baseline/} (a copy of the seed).
 * A container workspace's tree is in its sandbox's own layer ({@link ContainerArea}), a microVM's in the VM's disk,
 * reached through its guest agent ({@link VmArea}). See docs/WORKSPACES.md.
 *
 * <p>Thread-safe, and safe across processes: one instance may serve many threads (the MCP server's calls do), and
 * several davits may work on one state directory. A workspace's start, stop, reset, snapshots and removal take its
 * lock and happen one after the other; execs, file reads and writes, services and shells run side by side.
 */
public final class Workspaces {
    /** Where the workspace is in the sandbox. */
    public static final String MOUNT = "/workspace";
    static final String STATE_FILE = "workspace.json";
    private static final String DIR = "workspace";
    private static final String SNAPSHOTS = "snapshots";
    private static final String SNAPSHOT_FILE = "snapshot.json";

    private final Sandboxes sandboxes;
    private final Path stateDir;
    private final Claims claims;
    private final WarmPool spares;
    /** The owner {@link #create} records; null: the operator. */
    private final String owner;

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
        this.claims = new Claims(stateDir);
        this.spares = spares;
        this.owner = owner;
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
            throw new DavitException(Kind.USAGE, "the owner must be 1 to 128 letters, digits, '.', '_', '-', ':', '@'"
                    + " or '/', not '" + dev.davit.oci.internal.Text.shorten(owner, 40) + "' (Workspaces.ownedBy)");
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
     * Creates and starts a sandbox of {@code spec}, with /workspace seeded from {@code seed} (a directory or a
     * {@code .tar}, {@code .tar.gz}, {@code .tar.zst}; null: empty), and records the baseline. On any failure nothing
     * is left behind.
     *
     * @param spec    the sandbox to create: environment, backend (container or microVM), limits, network and ttl
     *                (the workspace's, counted from now); a container environment must not have /workspace
     * @param name    a name to find it by (see {@link WorkspaceLabels#checkName}), free in this davit home; null:
     *                none
     * @param seed    what /workspace starts with: a host directory or a {@code .tar}, {@code .tar.gz},
     *                {@code .tgz} or {@code .tar.zst} file; null: empty
     * @return the workspace as recorded; its sandbox is running
     * @throws DavitException {@link Kind#USAGE} for a bad name, labels or seed, a name already taken, an environment
     *                        that has /workspace or published ports of a microVM; {@link Kind#STORE} when its state
     *                        cannot be written; any kind from creating or starting the sandbox. Nothing is left
     *                        behind then
     */
    public Workspace create(CreateSpec spec, String name, Path seed) {
        return create(spec, name, seed, Map.of(), Secrets.NONE, null);
    }

    /**
     * {@link #create(CreateSpec, String, Path)} with {@code secrets}: saved in the workspace's state (0600), put into
     * its sandbox's /run/secrets (a tmpfs; a microVM's own, in the guest) at each start and redacted from what it
     * shows (see {@link Secrets}).
     *
     * @param spec    the sandbox to create: environment, backend (container or microVM), limits, network and ttl
     *                (the workspace's, counted from now); a container environment must not have /workspace
     * @param name    a name to find it by (see {@link WorkspaceLabels#checkName}), free in this davit home; null:
     *                none
     * @param seed    what /workspace starts with: a host directory or a {@code .tar}, {@code .tar.gz},
     *                {@code .tgz} or {@code .tar.zst} file; null: empty
     * @param secrets its secrets ({@link Secrets#of}); {@link Secrets#NONE}: none
     * @return the workspace as recorded; its sandbox is running
     * @throws DavitException {@link Kind#USAGE} for a bad name, labels or seed, a name already taken, an environment
     *                        that has /workspace or published ports of a microVM; {@link Kind#STORE} when its state
     *                        cannot be written; any kind from creating or starting the sandbox. Nothing is left
     *                        behind then
     */
    public Workspace create(CreateSpec spec, String name, Path seed, Secrets secrets) {
        return create(spec, name, seed, Map.of(), secrets, null);
    }

    /**
     * {@link #create(CreateSpec, String, Path, Map, Secrets, java.util.function.IntConsumer)} without secrets.
     *
     * @param spec    the sandbox to create: environment, backend (container or microVM), limits, network and ttl
     *                (the workspace's, counted from now); a container environment must not have /workspace
     * @param name    a name to find it by (see {@link WorkspaceLabels#checkName}), free in this davit home; null:
     *                none
     * @param seed    what /workspace starts with: a host directory or a {@code .tar}, {@code .tar.gz},
     *                {@code .tgz} or {@code .tar.zst} file; null: empty
     * @param labels  its labels (see {@link WorkspaceLabels#check}); null or empty: none
     * @param admit   called holding the lock of the set of workspaces with how many exist or are being created
     *                (this one not counted); throws to refuse; null: none
     * @return the workspace as recorded; its sandbox is running
     * @throws DavitException {@link Kind#USAGE} for a bad name, labels or seed, a name already taken, an environment
     *                        that has /workspace or published ports of a microVM; {@link Kind#STORE} when its state
     *                        cannot be written; any kind from creating or starting the sandbox; what {@code admit}
     *                        throws, as it is. Nothing is left behind then
     */
    public Workspace create(CreateSpec spec, String name, Path seed, Map<String, String> labels,
                            java.util.function.IntConsumer admit) {
        return create(spec, name, seed, labels, Secrets.NONE, admit);
    }

    /**
     * {@link #create(CreateSpec, String, Path)} with labels, secrets (see {@link #create(CreateSpec, String, Path,
     * Secrets)}) and an admission check. {@code name} (null: none) must be free: no workspace of this davit home has
     * it or is being created with it, whatever process creates it (see {@link Claims}); of two creates with one name
     * exactly one succeeds. {@code admit} (null: none) runs holding the lock of the set of workspaces, with how many
     * exist or are being created, before this one counts; it refuses by throwing (e.g. an operator's limit), and
     * nothing is made then.
     *
     * @param spec    the sandbox to create: environment, backend (container or microVM), limits, network and ttl
     *                (the workspace's, counted from now); a container environment must not have /workspace
     * @param name    a name to find it by (see {@link WorkspaceLabels#checkName}), free in this davit home; null:
     *                none
     * @param seed    what /workspace starts with: a host directory or a {@code .tar}, {@code .tar.gz},
     *                {@code .tgz} or {@code .tar.zst} file; null: empty
     * @param labels  its labels (see {@link WorkspaceLabels#check}); null or empty: none
     * @param secrets its secrets ({@link Secrets#of}); {@link Secrets#NONE}: none
     * @param admit   called holding the lock of the set of workspaces with how many exist or are being created
     *                (this one not counted); throws to refuse; null: none
     * @return the workspace as recorded; its sandbox is running
     * @throws DavitException {@link Kind#USAGE} for a bad name, labels or seed, a name already taken, an environment
     *                        that has /workspace or published ports of a microVM; {@link Kind#STORE} when its state
     *                        cannot be written; any kind from creating or starting the sandbox; what {@code admit}
     *                        throws, as it is. Nothing is left behind then
     */
    public Workspace create(CreateSpec spec, String name, Path seed, Map<String, String> labels, Secrets secrets,
                            java.util.function.IntConsumer admit) {
        return create(spec, name, seed, null, labels, secrets, admit);
    }

    /**
     * {@link #create(CreateSpec, String, Path, Map, Secrets, java.util.function.IntConsumer)} of a seed read through
     * another path than the one its caller knows it by (e.g. a descriptor held open since a check): the workspace
     * records {@code seedShown} as its seed ({@link Workspace#seed}), never the path it was read through.
     *
     * @param spec      the sandbox to create (see {@link #create(CreateSpec, String, Path, Map, Secrets,
     *                  java.util.function.IntConsumer)})
     * @param name      a name to find it by, free in this davit home; null: none
     * @param seed      what /workspace starts with (a host directory or archive), read through this path; null: empty
     * @param seedShown what the workspace records as its seed; null: {@code seed}'s absolute path
     * @param labels    its labels; null or empty: none
     * @param secrets   its secrets; {@link Secrets#NONE}: none
     * @param admit     called holding the lock of the set of workspaces (see above); null: none
     * @return the workspace as recorded; its sandbox is running
     * @throws DavitException as {@link #create(CreateSpec, String, Path, Map, Secrets, java.util.function.IntConsumer)}
     */
    public Workspace create(CreateSpec spec, String name, Path seed, String seedShown, Map<String, String> labels,
                            Secrets secrets, java.util.function.IntConsumer admit) {
        if (name != null) {
            WorkspaceLabels.checkName(name);
        }
        Map<String, String> checked = WorkspaceLabels.check(labels);
        if (!spec.isVm() && Files.exists(spec.rootfs().resolve(DIR), LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.USAGE, "the environment already has " + MOUNT + "; workspaces need an"
                    + " environment without it");
        }
        if (seed != null && !Files.exists(seed)) {
            throw new DavitException(Kind.USAGE, "no seed " + seed + "; give a directory or a .tar, .tar.gz or"
                    + " .tar.zst file");
        }
        if (spec.isVm() && !spec.publish().isEmpty()) { // as the microVM's start would, before anything is made
            throw new DavitException(Kind.USAGE, "CreateSpec.Builder.publish is not available for microVM workspaces yet; use the"
                    + " container backend to serve to the host");
        }
        String id = "ws-" + dev.davit.oci.internal.RandomHex.of(6);
        Claims.Claim claim = claims.holding(() -> {
            List<Claims.Pending> pending = claims.pending();
            if (name != null) {
                checkNameFree(name, null, pending);
            }
            if (admit != null) {
                admit.accept(list().size() + pending.size());
            }
            return claims.claim(id, name);
        });
        Path tmp = claims.tmpDir(id);
        Sandbox s = null;
        try {
            Path baseline = tmp.resolve("baseline");
            Files.createDirectories(baseline);
            if (!spec.isVm()) {
                // its baseline, snapshots and exports' counts out of other users' reach: what the sandbox made
                // (a setuid file, a world-writable directory) is never theirs to use
                Files.setPosixFilePermissions(tmp, Tree.perms(0700));
            }
            seed(seed, baseline);
            Files.setPosixFilePermissions(baseline, Tree.perms(0755));
            Map<String, Tree.Entry> entries = Tree.walk(baseline);
            long bytes = entries.values().stream().mapToLong(Tree.Entry::size).sum();
            s = spare(spec);
            secrets.save(tmp);
            Workspace w = new Workspace(id, name, s.id(), Instant.now(), spec.ttl(),
                    seed == null ? null : seedShown != null ? seedShown : seed.toAbsolutePath().toString(),
                    entries.size(), bytes, checked,
                    secrets.metadata(), owner);
            WorkspaceArea area = area(w, tmp);
            // a new container's layer is seeded before its first start, a spare's /workspace through the root of
            // the running sandbox (nothing has run in it but its keeper); a microVM's disk through the agent of its
            // started VM
            area.seed(baseline);
            if (sandboxes.status(s.id()).status() != SandboxStatus.RUNNING) {
                sandboxes.start(s.id());
            }
            secrets.materialise(sandboxes, s.id(), id, tmp);
            if (!spec.isVm()) {
                try (WorkspaceArea.View v = area.view()) {
                    v.open().close();
                } catch (DavitException e) {
                    throw new DavitException(Kind.USAGE, "no overlay could be mounted here, so sandboxes have a"
                            + " read-only root and workspaces cannot be written; see Sandboxes.doctor() (container"
                            + " entries; " + e.getMessage() + ")");
                }
            }
            Fs.writeAtomically(tmp.resolve(STATE_FILE), Json.bytes(WorkspaceJson.workspace(w)), tmp);
            claims.holding(() -> {
                try {
                    claim.commit(stateDir.resolve(id));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                return null;
            });
            return w;
        } catch (IOException | RuntimeException e) {
            claim.close();
            if (s != null) {
                try {
                    sandboxes.rm(s.id());
                } catch (RuntimeException ignored) {
                    // the original error matters more
                }
            }
            delete(tmp);
            if (e instanceof DavitException d) {
                throw d;
            }
            throw new DavitException(Kind.STORE, "cannot create the workspace in " + stateDir + ": "
                    + (e instanceof java.io.UncheckedIOException u ? u.getCause().getMessage() : e.getMessage()));
        }
    }

    /**
     * The sandbox of a new workspace of {@code spec}: a spare of the pool's, with the workspace's ttl, else a new
     * one (created, not started).
     */
    private Sandbox spare(CreateSpec spec) {
        String spare = spares == null ? null : spares.take(spec);
        if (spare != null) {
            try {
                return sandboxes.expireAfter(spare, spec.ttl());
            } catch (RuntimeException e) { // e.g. reaped meanwhile: made anew
                try {
                    sandboxes.rm(spare);
                } catch (RuntimeException ignored) {
                    // gone already; else its ttl lets a reap remove it
                }
            }
        }
        return sandboxes.create(spec);
    }

    /**
     * Refuses {@code name} when a workspace other than {@code self} has it or a create in progress claims it.
     * Holding the lock of {@link Claims}.
     */
    private void checkNameFree(String name, String self, List<Claims.Pending> pending) {
        for (Workspace w : list()) {
            if (name.equals(w.name()) && !w.id().equals(self)) {
                throw new DavitException(Kind.USAGE, "the name " + name + " is taken by workspace " + w.id()
                        + "; give another name, or delete " + w.id() + " first");
            }
        }
        for (Claims.Pending p : pending) {
            if (name.equals(p.name())) {
                throw new DavitException(Kind.USAGE, "the name " + name + " is taken by workspace " + p.id()
                        + ", being created; give another name, or delete " + p.id() + " once it exists");
            }
        }
    }

    /**
     * What {@link #update} changes; null or false fields keep what is there.
     *
     * @param name         the new name (unique, see {@link #create(CreateSpec, String, Path, Map, java.util.function.IntConsumer)})
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
        return locked(id, wid -> claims.holding(() -> {
            Workspace w = get(wid);
            if (change.name() != null && !change.name().equals(w.name())) {
                checkNameFree(change.name(), wid, claims.pending());
            }
            Map<String, String> labels = new java.util.TreeMap<>(w.labels());
            change.removeLabels().forEach(labels::remove);
            labels.putAll(change.labels());
            Workspace now = w.with(change.noName() ? null : change.name() != null ? change.name() : w.name(),
                    WorkspaceLabels.check(labels), change.noTtl() ? null : change.ttl() != null ? change.ttl()
                            : w.ttl());
            Path dir = stateDir.resolve(wid);
            try {
                Fs.writeAtomically(dir.resolve(STATE_FILE), Json.bytes(WorkspaceJson.workspace(now)), dir);
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot update workspace " + wid + ": " + e.getMessage());
            }
            return now;
        }));
    }

    private static void seed(Path seed, Path baseline) throws IOException {
        if (seed == null) {
            return;
        }
        if (Files.isDirectory(seed)) {
            Tree.copy(seed, baseline);
            return;
        }
        String n = seed.getFileName().toString();
        if (!(n.endsWith(".tar") || n.endsWith(".tar.gz") || n.endsWith(".tgz") || n.endsWith(".tar.zst"))) {
            throw new DavitException(Kind.USAGE, "cannot seed from " + seed + "; give a directory or a .tar, .tar.gz"
                    + " or .tar.zst file");
        }
        TarExtractor.extract(seed, baseline);
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
        return get(ref, w -> true);
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
        if (ref.startsWith("ws-") && !ref.contains("/")) {
            Path f = stateDir.resolve(ref).resolve(STATE_FILE);
            if (Files.isRegularFile(f)) {
                Workspace w;
                try {
                    w = WorkspaceJson.workspace(Json.read(Files.readAllBytes(f)));
                } catch (IOException e) {
                    throw new DavitException(Kind.STORE, "cannot read " + f + ": " + e.getMessage());
                }
                if (visible.test(w)) {
                    return w;
                }
            }
        }
        List<Workspace> named = list().stream().filter(w -> ref.equals(w.name()) && visible.test(w)).toList();
        if (named.size() > 1) {
            throw new DavitException(Kind.USAGE, "several workspaces are named " + dev.davit.oci.internal.Text.shorten(ref, 70)
                    + " (" + String.join(", ", named.stream().map(Workspace::id).toList()) + "); give an id, or"
                    + " rename all but one");
        }
        if (named.isEmpty()) {
            throw new DavitException(Kind.NOT_FOUND, "no workspace " + dev.davit.oci.internal.Text.shorten(ref, 70)
                    + "; see Workspaces.list()");
        }
        return named.get(0);
    }

    /**
     * All workspaces, oldest first.
     *
     * @return every workspace of this state directory (not those being created); empty when there is none
     * @throws DavitException {@link Kind#STORE} when the state cannot be read
     */
    public List<Workspace> list() {
        if (!Files.isDirectory(stateDir)) {
            return List.of();
        }
        List<Workspace> out = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(stateDir)) {
            for (Path d : dirs.filter(d -> !d.getFileName().toString().startsWith(".")).toList()) {
                if (Files.isRegularFile(d.resolve(STATE_FILE))) {
                    out.add(get(d.getFileName().toString()));
                }
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot list " + stateDir + ": " + e.getMessage());
        }
        out.sort(java.util.Comparator.comparing(Workspace::createdAt));
        return out;
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
        return sandboxes.status(get(id).sandboxId());
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
        return locked(id, wid -> {
            Workspace w = get(wid);
            Sandbox s = sandboxes.start(w.sandboxId());
            secrets(w).materialise(sandboxes, w.sandboxId(), wid, stateDir.resolve(wid));
            return s;
        });
    }

    /** The secrets of workspace {@code w} (their values, from its state). */
    private Secrets secrets(Workspace w) {
        return w.secrets().isEmpty() ? Secrets.NONE : Secrets.load(stateDir.resolve(w.id()));
    }

    /** How workspace {@code w}'s processes use its secrets: put into the sandbox when missing, redacted. */
    private SecretUse secretUse(Workspace w) {
        Secrets secrets = secrets(w);
        return new SecretUse(secrets, secrets.redactor(), () -> {
            if (!secrets.isEmpty() && !secrets.present(sandboxes, w.sandboxId())) {
                // e.g. a sandbox started by 'sandbox start'
                secrets.materialise(sandboxes, w.sandboxId(), w.id(), stateDir.resolve(w.id()));
            }
        }, w.id());
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
        return locked(id, wid -> {
            endProcesses(wid);
            return sandboxes.stop(get(wid).sandboxId());
        });
    }

    /**
     * Runs {@code action} holding workspace {@code id}'s lock ({@code <state>/workspace.lock}, across processes and
     * threads: {@link dev.davit.sandbox.FileLocks}): its start, stop, reset, snapshots and removal act one after the
     * other, so two MCP calls or two davits never interleave a reset's stop, swap and start with another's. An
     * unknown id is NOT_FOUND, also when it was removed while the caller waited. {@code id} may be a name:
     * {@code action} is given the id it named when the call began (a rename meanwhile changes nothing).
     */
    private <T> T locked(String id, java.util.function.Function<String, T> action) {
        String wid = get(id).id();
        Path d = stateDir.resolve(wid);
        try {
            return dev.davit.sandbox.FileLocks.holding(d.resolve(LOCK_FILE), () -> {
                get(wid); // not removed meanwhile
                return action.apply(wid);
            });
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DavitException(Kind.NOT_FOUND, "no workspace " + id + "; see Workspaces.list()");
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot lock " + d.resolve(LOCK_FILE) + ": " + e.getMessage());
        }
    }

    /** In a workspace's state directory: the lock of its start, stop, reset, snapshots and removal. */
    static final String LOCK_FILE = "workspace.lock";

    /**
     * The services of workspace {@code id}.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return its services, to start, list, read and stop
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name
     */
    public Services services(String id) {
        Workspace w = get(id);
        return new Services(sandboxes, stateDir.resolve(w.id()), id, w.sandboxId(), secretUse(w));
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
        Workspace w = get(id);
        return new Shells(sandboxes, stateDir.resolve(w.id()), id, w.sandboxId(), secretUse(w));
    }

    /** Stops the workspace's services and closes its shells (before its sandbox stops, is reset or removed). */
    private void endProcesses(String id) {
        services(id).stopAll();
        shells(id).closeAll();
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
        locked(id, wid -> {
            rmLocked(wid);
            return null;
        });
    }

    private void rmLocked(String id) {
        Workspace w = get(id);
        try {
            endProcesses(id);
        } catch (DavitException e) {
            // the sandbox's removal below ends them anyway
        }
        try {
            sandboxes.rm(w.sandboxId());
        } catch (DavitException e) {
            if (e.kind() != Kind.NOT_FOUND) {
                throw e;
            }
        }
        Path gone = stateDir.resolve("." + w.id() + ".rm");
        try {
            Files.move(stateDir.resolve(w.id()), gone, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot remove workspace " + w.id() + ": " + e.getMessage());
        }
        delete(gone);
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
        String wd = cwd == null ? MOUNT : cwd.startsWith("/") ? cwd : MOUNT + "/" + cwd;
        Workspace w = running(id);
        if (!w.secrets().isEmpty() || (secretEnv != null && !secretEnv.isEmpty())) {
            return execWithSecrets(w, argv, env, secretEnv, wd, timeout, stdin, stdoutTee, stderrTee);
        }
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        ExecResult r = sandboxes.exec(w.sandboxId(), argv, env, wd, timeout, stdin, stdoutTee, stderrTee);
        ExecLog.append(stateDir.resolve(w.id()).resolve(ExecLog.FILE),
                ExecLog.entry(argv, wd, start, (System.nanoTime() - t0) / 1_000_000, r));
        return r;
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
     */
    public record Executed(ExecResult result, String execId, OutputExcerpt stdout, OutputExcerpt stderr) {
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
        checkKeep(keep);
        return exec(running(id), argv, env, secretEnv, cwd, timeout, keep, keep / 2, keep - keep / 2, stdin,
                stdoutTee, stderrTee);
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
     */
    public record SpooledExecuted(ExecResult result, String execId, SpooledExcerpt stdout, SpooledExcerpt stderr)
            implements AutoCloseable {
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
        checkKeep(keep);
        Workspace w = running(id);
        Path state = stateDir.resolve(w.id());
        SpooledExcerpt so = SpooledExcerpt.create(state, keep / 2, keep - keep / 2);
        SpooledExcerpt se = null;
        try {
            se = SpooledExcerpt.create(state, keep / 2, keep - keep / 2);
            // the history's 2 KiB of each end come from the small head and tail
            Executed x = exec(w, argv, env, secretEnv, cwd, timeout, keep, SPOOLED_CAPTURE, ExecLog.KEEP, stdin,
                    Tees.of(so, stdoutTee), Tees.of(se, stderrTee));
            return new SpooledExecuted(x.result(), x.execId(), so, se);
        } catch (RuntimeException e) {
            so.close();
            if (se != null) {
                se.close();
            }
            throw e;
        }
    }

    private static void checkKeep(int keep) {
        if (keep < 2 || keep > ExecResult.MAX_CAPTURED_BYTES) {
            throw new DavitException(Kind.USAGE, "the output to keep must be between 2 and "
                    + ExecResult.MAX_CAPTURED_BYTES + " bytes, not " + keep);
        }
    }

    /**
     * An exec in workspace {@code w} whose result captures the first {@code head} bytes of each stream and whose
     * excerpts hold those and the last {@code tail}; the whole of each stream is kept for {@link #output} when one
     * passed {@code keep} bytes.
     */
    private Executed exec(Workspace w, List<String> argv, Map<String, String> env, Map<String, String> secretEnv,
                          String cwd, Duration timeout, int keep, int head, int tail, InputStream stdin,
                          OutputStream stdoutTee, OutputStream stderrTee) {
        String wd = cwd == null ? MOUNT : cwd.startsWith("/") ? cwd : MOUNT + "/" + cwd;
        boolean secret = !w.secrets().isEmpty() || (secretEnv != null && !secretEnv.isEmpty());
        SecretUse use = secret ? secretUse(w) : null;
        Redactor red = use == null ? null : use.redactor();
        List<String> cmd = use == null ? argv : use.command(argv, secretEnv, env, Secrets.SECRET_ENV);
        Path state = stateDir.resolve(w.id());
        String execId = "e-" + dev.davit.oci.internal.RandomHex.of(6);
        // what is kept is taken after the redactor: the head and tail of the (redacted) streams, and their files
        dev.davit.sandbox.CappedSink outHead = new dev.davit.sandbox.CappedSink(head);
        dev.davit.sandbox.CappedSink errHead = new dev.davit.sandbox.CappedSink(head);
        OutputExcerpt.Tail outTail = new OutputExcerpt.Tail(tail);
        OutputExcerpt.Tail errTail = new OutputExcerpt.Tail(tail);
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        ExecResult raw;
        try {
            ExecOutput.begin(state, execId);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot keep the output of an exec in " + state + ": "
                    + e.getMessage());
        }
        try (ExecOutput.Spool outSpool = new ExecOutput.Spool(ExecOutput.file(state, execId, "stdout"));
             ExecOutput.Spool errSpool = new ExecOutput.Spool(ExecOutput.file(state, execId, "stderr"))) {
            OutputStream o = Tees.of(outHead.stream(), outTail, outSpool, stdoutTee);
            OutputStream e = Tees.of(errHead.stream(), errTail, errSpool, stderrTee);
            Redactor.Stream so = red == null ? null : red.stream(o);
            Redactor.Stream se = red == null ? null : red.stream(e);
            // the sandbox's own capture (its start, for telling a command that could not start) is not kept
            raw = sandboxes.exec(w.sandboxId(), cmd, env, wd, timeout, 0, head, stdin, so == null ? o : so,
                    se == null ? e : se);
            if (so != null) {
                so.finish();
                se.finish();
            }
        } catch (DavitException e) {
            throw red == null ? e : SecretUse.redacted(e, red);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot keep the output of an exec in " + state + ": "
                    + (red == null ? e.getMessage() : red.redact(e.getMessage())));
        } finally {
            ExecOutput.end(state, execId);
            if (outTail.total() <= keep && errTail.total() <= keep) {
                for (String s : ExecOutput.STREAMS) {
                    try {
                        Files.deleteIfExists(ExecOutput.file(state, execId, s));
                    } catch (IOException e) {
                        // pruned later
                    }
                }
            }
            ExecOutput.prune(state);
        }
        ExecResult r = new ExecResult(raw.sandboxId(), raw.backend(), raw.runtime(), raw.exitCode(),
                outHead.captured(), errHead.captured(), raw.timedOut(), raw.timings(),
                outHead.truncated() || errHead.truncated(), raw.oomKilled(), raw.outputLimited(), raw.diskFull());
        OutputExcerpt out = OutputExcerpt.of(outHead.captured(), outTail);
        OutputExcerpt err = OutputExcerpt.of(errHead.captured(), errTail);
        ExecLog.append(state.resolve(ExecLog.FILE), ExecLog.entry(red == null ? argv : red.redact(argv),
                red == null ? wd : red.redact(wd), start, (System.nanoTime() - t0) / 1_000_000, r, execId, out,
                err));
        return new Executed(r, execId, out, err);
    }

    /** Workspace {@code id}, which must be running (else a one-line error saying how to start it). */
    private Workspace running(String id) {
        Workspace w = get(id);
        SandboxStatus st;
        try {
            st = sandboxes.status(w.sandboxId()).status();
        } catch (DavitException e) {
            throw new DavitException(Kind.STATE, "workspace " + w.id() + " has lost its sandbox (" + e.getMessage()
                    + "); delete it with Workspaces.rm(\"" + w.id() + "\")");
        }
        if (st != SandboxStatus.RUNNING) {
            throw new DavitException(Kind.STATE, "workspace " + w.id() + " is " + st.label() + "; start it with"
                    + " Workspaces.start(\"" + w.id() + "\")");
        }
        return w;
    }

    /**
     * Up to {@code limit} bytes of {@code stream} ({@code stdout} or {@code stderr}) of exec {@code execId} of
     * workspace {@code id}, from {@code offset}: the output an {@link Executed} excerpt left out. Kept for the
     * newest {@link ExecOutput#KEEP} execs whose output was cut, up to {@link ExecOutput#CAP} bytes per stream.
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param execId the exec's id, from {@link Executed#execId}
     * @param stream {@code stdout} or {@code stderr}
     * @param offset where to start, in bytes from the stream's start; 0 or more
     * @param limit  the most bytes to return; 1 or more
     * @return the page, and how many bytes are kept in all
     * @throws DavitException {@link Kind#USAGE} for a malformed exec id or stream, or an offset or limit out of
     *                        range; {@link Kind#NOT_FOUND} when no such workspace, or no output of that exec, is kept
     */
    public ExecOutput.Page output(String id, String execId, String stream, long offset, int limit) {
        return ExecOutput.read(stateDir.resolve(get(id).id()), execId, stream, offset, limit);
    }

    /**
     * An exec in workspace {@code w}, which has secrets: its output goes through a {@link Redactor} on its way to
     * the tees and to the captured result (so a value split between two reads is found too, and what the result
     * keeps is what the tees saw); the history records the redacted result and command.
     */
    private ExecResult execWithSecrets(Workspace w, List<String> argv, Map<String, String> env,
                                       Map<String, String> secretEnv, String wd, Duration timeout, InputStream stdin,
                                       OutputStream stdoutTee, OutputStream stderrTee) {
        SecretUse use = secretUse(w);
        Redactor r = use.redactor();
        List<String> cmd = use.command(argv, secretEnv, env, Secrets.SECRET_ENV);
        dev.davit.sandbox.CappedSink out = new dev.davit.sandbox.CappedSink();
        dev.davit.sandbox.CappedSink err = new dev.davit.sandbox.CappedSink();
        Redactor.Stream so = r.stream(Tees.of(out.stream(), stdoutTee));
        Redactor.Stream se = r.stream(Tees.of(err.stream(), stderrTee));
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        ExecResult raw;
        try {
            raw = sandboxes.exec(w.sandboxId(), cmd, env, wd, timeout, stdin, so, se);
            so.finish();
            se.finish();
        } catch (DavitException e) {
            throw SecretUse.redacted(e, r);
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot pass on the output: " + r.redact(e.getMessage()));
        }
        ExecResult res = new ExecResult(raw.sandboxId(), raw.backend(), raw.runtime(), raw.exitCode(),
                out.captured(), err.captured(), raw.timedOut(), raw.timings(),
                raw.truncated() || out.truncated() || err.truncated(), raw.oomKilled(), raw.outputLimited(),
                raw.diskFull());
        ExecLog.append(stateDir.resolve(w.id()).resolve(ExecLog.FILE),
                ExecLog.entry(r.redact(argv), r.redact(wd), start, (System.nanoTime() - t0) / 1_000_000, res));
        return res;
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
        return ExecLog.read(stateDir.resolve(get(id).id()).resolve(ExecLog.FILE));
    }

    /**
     * One snapshot of a workspace, in {@code <stateDir>/<id>/snapshots/<name>/} ({@code snapshot.json} and
     * {@code tree/}).
     *
     * @param name      its name, unique in the workspace
     * @param createdAt when it was taken
     * @param files     how many entries the tree holds, /workspace excluded
     * @param bytes     the size of its regular files together, in bytes
     */
    public record Snapshot(String name, Instant createdAt, long files, long bytes) {
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
        checkSnapshotName(name);
        return locked(id, wid -> snapshotLocked(wid, name));
    }

    private Snapshot snapshotLocked(String id, String name) {
        Workspace w = get(id);
        Path snaps = stateDir.resolve(w.id()).resolve(SNAPSHOTS);
        Path dest = snaps.resolve(name);
        if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.USAGE, "workspace " + id + " already has a snapshot " + name
                    + "; pick another name or remove it with Workspaces.removeSnapshot(\"" + id + "\", \"" + name
                    + "\")");
        }
        List<Snapshot> earlier = snapshots(id);
        if (earlier.size() >= SnapshotBound.MAX) {
            throw new DavitException(Kind.USAGE, "workspace " + id + " has " + earlier.size() + " snapshots, the most"
                    + " it may have; remove one, e.g. the oldest with Workspaces.removeSnapshot(\"" + id + "\", \""
                    + earlier.get(0).name() + "\")");
        }
        Path state = stateDir.resolve(w.id());
        // a snapshot is a copy on the host, outside the sandbox's disk: bounded as exports are
        Export.Allowance allowance = Export.hostSide(sandbox(w.id()).spec().limits().diskMiB(),
                SnapshotBound.held(state), "snapshot", "snapshots", state);
        Budget budget = new Budget("the snapshot of /workspace", allowance.bytes(), Budget.MAX_ENTRIES,
                Budget.DEADLINE);
        Path tmp = snaps.resolve("." + name + ".tmp");
        try (WorkspaceArea.View v = area(w).view(); Dir live = v.open()) {
            delete(tmp);
            Path tree = tmp.resolve("tree");
            Files.createDirectories(tree);
            // what the newest snapshot (else the baseline) holds unchanged is linked from it: those trees are
            // never written
            Path twin = earlier.isEmpty() ? state.resolve("baseline")
                    : snaps.resolve(earlier.get(earlier.size() - 1).name()).resolve("tree");
            try (Dir to = Dir.open(tree, "the snapshot"); Dir reuse = Dir.open(twin, "the last snapshot")) {
                Tree.copy(live, to, "", new Tree.Options(null, new Tree.Reuse(reuse, false), null, budget));
            }
            Map<String, Tree.Entry> entries = Tree.walk(tree);
            Snapshot snap = new Snapshot(name, Instant.now(), entries.size(),
                    entries.values().stream().mapToLong(Tree.Entry::size).sum());
            long own = SnapshotBound.alone(tree);
            Fs.writeAtomically(tmp.resolve(SNAPSHOT_FILE), Json.bytes(WorkspaceJson.snapshot(snap)), tmp);
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE);
            Fs.fsyncDir(snaps);
            SnapshotBound.add(state, own);
            return snap;
        } catch (IOException | RuntimeException e) {
            delete(tmp);
            if (e instanceof DavitException && budget.bytesCounted() > allowance.bytes()) {
                throw new DavitException(Kind.USAGE, "the snapshot of /workspace would write more than "
                        + allowance.bytes() / (1 << 20) + " MiB, " + allowance.why() + "; remove a snapshot (see"
                        + " Workspaces.snapshots(\"" + id + "\")) or large files from /workspace");
            }
            if (e instanceof DavitException d) {
                throw d;
            }
            if (e instanceof IOException io && (io instanceof Dir.NotUtf8 || Tree.swapped(io))) {
                throw ContainerArea.treeError(io, "the snapshot");
            }
            throw new DavitException(Kind.STORE, "cannot snapshot workspace " + id + " into " + dest + ": "
                    + e.getMessage());
        }
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
        Path snaps = stateDir.resolve(get(id).id()).resolve(SNAPSHOTS);
        if (!Files.isDirectory(snaps)) {
            return List.of();
        }
        List<Snapshot> out = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(snaps)) {
            for (Path d : dirs.filter(d -> !d.getFileName().toString().startsWith(".")).toList()) {
                out.add(WorkspaceJson.snapshot(Json.read(Files.readAllBytes(d.resolve(SNAPSHOT_FILE)))));
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot list " + snaps + ": " + e.getMessage());
        }
        out.sort(java.util.Comparator.comparing(Snapshot::createdAt));
        return out;
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
        locked(id, wid -> {
            removeSnapshotLocked(wid, name);
            return null;
        });
    }

    private void removeSnapshotLocked(String id, String name) {
        Path snaps = stateDir.resolve(get(id).id()).resolve(SNAPSHOTS);
        Path gone = snaps.resolve("." + name + ".rm");
        long freed;
        try {
            Path tree = snapshotTree(id, name);
            freed = SnapshotBound.alone(tree); // its files no other snapshot nor the baseline links
            Files.move(tree.getParent(), gone, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot remove snapshot " + name + ": " + e.getMessage());
        }
        SnapshotBound.add(snaps.getParent(), -freed);
        delete(gone);
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
        return locked(id, wid -> resetLocked(wid, snapshot));
    }

    private Sandbox resetLocked(String id, String snapshot) {
        Workspace w = get(id);
        Path source = snapshot == null ? stateDir.resolve(w.id()).resolve("baseline") : snapshotTree(id, snapshot);
        Sandbox s = sandboxes.status(w.sandboxId());
        if (s.spec().isVm()) { // swapped in the VM's disk by its agent, which must run for it
            endProcesses(id);
            sandboxes.killAll(w.sandboxId()); // and what execs left running, as a container's restart would
            area(w).replace(source);
            return sandboxes.status(w.sandboxId());
        }
        boolean wasRunning = s.status() == SandboxStatus.RUNNING;
        endProcesses(id);
        if (s.status() == SandboxStatus.RUNNING || s.status() == SandboxStatus.FAILED) {
            sandboxes.stop(w.sandboxId());
        }
        area(w).replace(source);
        if (!wasRunning) {
            return sandboxes.status(w.sandboxId());
        }
        Sandbox started = sandboxes.start(w.sandboxId());
        secrets(w).materialise(sandboxes, w.sandboxId(), id, stateDir.resolve(w.id()));
        return started;
    }

    private Path snapshotTree(String id, String name) {
        checkSnapshotName(name);
        Path tree = stateDir.resolve(get(id).id()).resolve(SNAPSHOTS).resolve(name).resolve("tree");
        if (!Files.isDirectory(tree, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.NOT_FOUND, "workspace " + id + " has no snapshot " + name
                    + "; see Workspaces.snapshots(\"" + id + "\")");
        }
        return tree;
    }

    private static void checkSnapshotName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")) {
            throw new DavitException(Kind.USAGE, "bad snapshot name '" + name + "'; use up to 64 letters, digits,"
                    + " '.', '_' or '-', not starting with '.'");
        }
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
        return shown(id, (w, r) -> {
            try (WorkspaceArea.View v = area(w).view(); Dir ws = v.open()) {
                return redacted(listIn(ws, path, recursive, id), r);
            } catch (IOException e) {
                throw ContainerArea.fileError(e, path, "list");
            }
        });
    }

    /**
     * What a result may show of workspace {@code id}: {@code action}'s result (which it redacts with the redactor it
     * is given), its errors with every secret value redacted (a message may quote a name or an answer of the
     * sandbox's). The one way file results leave: every secret value as {@code [REDACTED:NAME]}.
     */
    private <T> T shown(String id, java.util.function.BiFunction<Workspace, Redactor, T> action) {
        Workspace w = get(id);
        Redactor r = secrets(w).redactor();
        try {
            return action.apply(w, r);
        } catch (DavitException e) {
            throw SecretUse.redacted(e, r);
        }
    }

    /** {@code files} with every secret value in a path or link target redacted. */
    private static List<FileInfo> redacted(List<FileInfo> files, Redactor r) {
        return r.isEmpty() ? files : files.stream().map(f -> new FileInfo(r.redact(f.path()), f.type(), f.size(),
                f.mode(), r.redact(f.target()))).toList();
    }

    /** {@code c} with every secret value in its path and the names it skipped redacted (its files are the host's). */
    private static Copied redacted(Copied c, Redactor r) {
        return r.isEmpty() ? c : new Copied(r.redact(c.path()), c.files(), c.bytes(), r.redact(c.skipped()));
    }

    /**
     * {@code c} with every secret value in its bytes redacted, a value cut short at the end (by {@code maxBytes})
     * masked too ({@link Redactor#redact(byte[])}); its size stays the file's.
     */
    private static FileContent redacted(FileContent c, Redactor r) {
        byte[] b = r.redact(c.bytes()); // read from the start (a page from an offset: readRedacted)
        return b == c.bytes() || java.util.Arrays.equals(b, c.bytes()) ? c
                : new FileContent(b, c.size(), c.truncated(), true, c.offset(), c.end());
    }

    /** {@link #listFiles} in tree {@code ws} of workspace {@code id}. */
    static List<FileInfo> listIn(Dir ws, String path, boolean recursive, String id) throws IOException {
        String prefix = WorkspacePath.normalise(path);
        Budget budget = Budget.of("listing /workspace");
        if (!prefix.isEmpty()) {
            dev.davit.sandbox.fs.Stat st = ws.stat(prefix);
            if (st == null) {
                throw new DavitException(Kind.NOT_FOUND, "no " + prefix + " in workspace " + id);
            }
            if (st.isSymbolicLink()) {
                throw new DavitException(Kind.USAGE, "'" + path + "' is a symbolic link; give the path it names"
                        + " (inside /workspace)");
            }
            if (!st.isDirectory()) {
                int slash = prefix.lastIndexOf('/');
                try (Dir parent = ws.dir(slash < 0 ? "" : prefix.substring(0, slash))) {
                    Tree.Entry e = Tree.entry(parent, prefix.substring(slash + 1), prefix);
                    if (e == null) {
                        throw new DavitException(Kind.NOT_FOUND, "no " + prefix + " in workspace " + id);
                    }
                    return List.of(info(e));
                }
            }
        }
        List<FileInfo> out = new ArrayList<>();
        try (Dir dir = ws.dir(prefix)) {
            if (recursive) {
                for (Tree.Entry e : Tree.walk(dir, budget).values()) {
                    out.add(info(new Tree.Entry(join(prefix, e.path()), e.type(), e.size(), e.mode(),
                            e.target())));
                }
            } else {
                for (String n : dir.names(budget)) {
                    Tree.Entry e = Tree.entry(dir, n, join(prefix, n));
                    if (e != null) {
                        out.add(info(e));
                    }
                }
            }
        }
        return out;
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
        return shown(id, (w, r) -> locked(id, wid -> redacted(disk(wid).list(path, recursive), r)));
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
        return shown(id, (w, r) -> locked(id, wid -> redacted(disk(wid).read(path, maxBytes), r)));
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
        return shown(id, (w, r) -> locked(id, wid -> redacted(bounded(get(wid), hostDest,
                a -> disk(wid).export(hostDest, path, a)), r)));
    }

    private DiskReader disk(String id) {
        Workspace w = get(id);
        return new DiskReader(sandboxes, w, stateDir.resolve(w.id()));
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
        if (offset < 0 || maxBytes < 0) {
            throw new DavitException(Kind.USAGE, "Workspaces.readFile takes an offset and a maxBytes of 0 or more,"
                    + " not " + offset + " and " + maxBytes);
        }
        return shown(id, (w, r) -> r.isEmpty() ? area(w).read(path, offset, maxBytes)
                : readRedacted(area(w), path, offset, maxBytes, r));
    }

    /**
     * {@link #readFile(String, String, long, long)} in a workspace with secrets: the page is read with up to
     * {@link Redactor#maxLength} - 1 bytes more on each side and redacted in their context
     * ({@link Redactor#redactPage}), so that a value the page's start or end cuts is masked however little of it the
     * page holds: pages of a few bytes each, put together, never show a value (the caller picks the offsets).
     */
    private static FileContent readRedacted(WorkspaceArea area, String path, long offset, long maxBytes, Redactor r) {
        long margin = r.maxLength() - 1;
        maxBytes = Math.min(maxBytes, Long.MAX_VALUE / 4); // the sums below stay longs (a file holds far fewer)
        long from = Math.max(0, offset - margin);
        long before = offset - from;
        long ask = maxBytes == 0 ? 0 : maxBytes + before + margin;
        if (maxBytes > 0 && offset + maxBytes <= ContainerArea.MAX_READ) {
            ask = Math.min(ask, ContainerArea.MAX_READ - from); // a microVM's area reads within the first 64 MiB
        }
        FileContent c = area.read(path, from, ask);
        byte[] w = c.bytes();
        int pf = (int) Math.min(before, w.length);
        int pt = (int) (maxBytes == 0 ? w.length : Math.min(w.length, before + maxBytes));
        byte[] page = r.redactPage(w, pf, pt, c.truncated());
        boolean redacted = !java.util.Arrays.equals(page, 0, page.length, w, pf, pt);
        return new FileContent(page, c.size(), c.truncated() || pt < w.length, redacted, offset,
                offset + (pt - pf));
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
        return area(get(id)).write(path, data, -1);
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
        Workspace w = get(id);
        if (!Files.exists(hostPath)) {
            throw new DavitException(Kind.USAGE, "no " + hostPath + " to push; give a host file or directory");
        }
        Path name = hostPath.toAbsolutePath().normalize().getFileName();
        String rel = WorkspacePath.normalise(dest == null ? name == null ? "" : name.toString() : dest);
        if (rel.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a destination inside /workspace for " + hostPath);
        }
        Path stage = stateDir.resolve(w.id()).resolve(".push-" + dev.davit.oci.internal.RandomHex.of(4));
        try {
            Path top = stage.resolve(rel);
            Files.createDirectories(top.getParent());
            if (Files.isDirectory(hostPath)) {
                Files.createDirectory(top);
                Tree.copy(hostPath, top);
            } else if (Files.isRegularFile(hostPath)) {
                Files.copy(hostPath, top);
                Files.setPosixFilePermissions(top, Files.getPosixFilePermissions(hostPath));
            } else {
                throw new DavitException(Kind.USAGE, hostPath + " is a device, fifo or socket; push a file or a"
                        + " directory");
            }
            long files = 1;
            long bytes = Files.size(top);
            if (Files.isDirectory(top, LinkOption.NOFOLLOW_LINKS)) {
                Map<String, Tree.Entry> entries = Tree.walk(top);
                files += entries.size();
                bytes = entries.values().stream().mapToLong(Tree.Entry::size).sum();
            }
            area(w).apply(stage, List.of(rel), List.of());
            return new Copied(rel, files, bytes, List.of());
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot push " + hostPath + ": " + e.getMessage());
        } finally {
            delete(stage);
        }
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
        return shown(id, (w, r) -> {
            String rel = WorkspacePath.normalise(path);
            return redacted(bounded(w, hostDest, a -> {
                try (WorkspaceArea.View v = area(w).view(); Dir ws = v.open()) {
                    return Export.to(ws, rel, hostDest, progress == null ? null : progress::at, a);
                } catch (IOException e) {
                    throw ContainerArea.fileError(e, rel, "export");
                }
            }), r);
        });
    }

    /**
     * Runs {@code export} of workspace {@code w} to {@code hostDest} within what it may write (see
     * {@link Export#allowance}), one export of the workspace at a time, and counts what it wrote.
     */
    private Copied bounded(Workspace w, Path hostDest, java.util.function.Function<Export.Allowance, Copied> export) {
        Path state = stateDir.resolve(w.id());
        try {
            return dev.davit.sandbox.FileLocks.holding(state.resolve(Export.LOCK), () -> {
                Export.Allowance a = Export.allowance(state, sandbox(w.id()).spec().limits().diskMiB(), hostDest);
                Copied c = export.apply(a);
                Export.record(state, a.used()[0]);
                return c;
            });
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot lock " + state.resolve(Export.LOCK) + ": " + e.getMessage());
        }
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
        return shown(id, (w, r) -> {
            Map<String, String> kinds = patchUnredacted(w, id, patch);
            Map<String, String> shown = new java.util.LinkedHashMap<>();
            kinds.forEach((p, k) -> shown.put(r.redact(p), k));
            return shown;
        });
    }

    private Map<String, String> patchUnredacted(Workspace w, String id, byte[] patch) {
        WorkspaceArea area = area(w);
        List<UnifiedPatch.FilePatch> files = UnifiedPatch.parse(patch);
        Map<String, byte[]> result = new java.util.LinkedHashMap<>();
        Map<String, Boolean> existed = new java.util.HashMap<>();
        Map<String, Integer> modes = new java.util.HashMap<>();
        try (WorkspaceArea.View v = area.view(); Dir ws = v.open()) {
            for (UnifiedPatch.FilePatch fp : files) {
                String rel = fp.path();
                byte[] before = result.containsKey(rel) ? result.get(rel) : current(ws, rel, modes);
                existed.putIfAbsent(rel, before != null);
                result.put(rel, fp.apply(before));
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read /workspace of workspace " + id + ": " + e.getMessage());
        }
        Map<String, String> kinds = new java.util.LinkedHashMap<>();
        result.forEach((rel, after) -> {
            if (after != null || existed.get(rel)) {
                kinds.put(rel, after == null ? "deleted" : existed.get(rel) ? "modified" : "added");
            }
        });
        Path stage = stateDir.resolve(w.id()).resolve(".patch-" + dev.davit.oci.internal.RandomHex.of(4));
        List<String> changes = new ArrayList<>();
        List<String> deletions = new ArrayList<>();
        try {
            for (Map.Entry<String, String> k : kinds.entrySet()) {
                if (k.getValue().equals("deleted")) {
                    deletions.add(k.getKey());
                    continue;
                }
                Path f = stage.resolve(k.getKey());
                Files.createDirectories(f.getParent());
                Files.write(f, result.get(k.getKey()));
                Files.setPosixFilePermissions(f, Tree.perms(modes.getOrDefault(k.getKey(), 0644)));
                changes.add(k.getKey());
            }
            area.apply(stage, changes, deletions);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot stage the patch: " + e.getMessage());
        } finally {
            delete(stage);
        }
        return kinds;
    }

    /** The content of regular file {@code rel} under {@code root} (null when missing); records its mode. */
    private static byte[] current(Dir ws, String rel, Map<String, Integer> modes) {
        try (Dir.Opened f = ws.openFile(rel)) {
            if (f.stat().size() > ContainerArea.MAX_READ) {
                throw new DavitException(Kind.USAGE, "the patch changes " + rel + ", which holds more than "
                        + (ContainerArea.MAX_READ >> 20) + " MiB; nothing was changed");
            }
            modes.put(rel, f.stat().permissions() & 0777);
            try (java.nio.channels.FileChannel c = f.read()) {
                return java.nio.channels.Channels.newInputStream(c).readNBytes((int) ContainerArea.MAX_READ);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        } catch (Dir.NotRegularFile e) {
            throw new DavitException(Kind.USAGE, "the patch changes " + rel + ", which is not a regular file in"
                    + " /workspace; nothing was changed");
        } catch (IOException e) {
            throw ContainerArea.fileError(e, rel, "read");
        }
    }

    /**
     * One workspace {@link #reap} removed.
     *
     * @param id        the workspace's id
     * @param name      its name, or null
     * @param sandboxId the id of its sandbox (removed with it, unless it was gone already)
     * @param reason {@code expired} (its ttl passed) or {@code sandbox gone} (its sandbox was removed)
     */
    public record Reaped(String id, String name, String sandboxId, String reason) {
    }

    /**
     * Removes the workspaces whose ttl has passed since creation (sandbox and state) and those whose sandbox is
     * gone (removed behind their back, e.g. by {@code davit sandbox rm}); returns them. A failed sandbox is kept:
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
        Instant now = Instant.now();
        List<Reaped> out = new ArrayList<>();
        for (Workspace w : list()) {
            if (!which.test(w)) {
                continue;
            }
            String reason = null;
            if (w.ttl() != null && now.isAfter(w.createdAt().plus(w.ttl()))) {
                reason = "expired";
            } else {
                try {
                    sandboxes.status(w.sandboxId());
                } catch (DavitException e) {
                    if (e.kind() != Kind.NOT_FOUND) {
                        throw e;
                    }
                    reason = "sandbox gone";
                }
            }
            if (reason != null) {
                try {
                    rm(w.id());
                } catch (DavitException e) {
                    if (e.kind() != Kind.NOT_FOUND) {
                        throw e;
                    }
                    continue; // another davit removed it first
                }
                out.add(new Reaped(w.id(), w.name(), w.sandboxId(), reason));
            }
        }
        return out;
    }

    /**
     * The ids of the sandboxes workspaces work in (for a sandbox reap that must leave them alone).
     *
     * @return a new set of sandbox ids, one per workspace
     */
    public java.util.Set<String> sandboxIds() {
        java.util.Set<String> ids = new java.util.HashSet<>();
        list().forEach(w -> ids.add(w.sandboxId()));
        return ids;
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
        List<String> only = paths.stream().map(WorkspacePath::normalise).toList();
        return shown(id, (w, r) -> {
            Path from = snapshot == null ? stateDir.resolve(w.id()).resolve("baseline") : snapshotTree(id, snapshot);
            try (WorkspaceArea.View v = area(w).view(); Dir now = v.open();
                 Dir before = Dir.open(from, "the baseline")) {
                return WorkspaceDiff.compute(before, now, Budget.of("the diff of /workspace"), r, only);
            } catch (IOException e) {
                throw ContainerArea.treeError(e, "the diff");
            }
        });
    }

    /**
     * Where workspace {@code w}'s tree lives: every access to it goes through here. A container sandbox's tree is
     * on the host ({@link ContainerArea}).
     */
    private WorkspaceArea area(Workspace w) {
        return area(w, stateDir.resolve(w.id()));
    }

    /** Where workspace {@code w}'s tree lives; {@code scratch}: a directory of its state for temp files. */
    private WorkspaceArea area(Workspace w, Path scratch) {
        Sandbox s = sandboxes.status(w.sandboxId());
        return s.spec().isVm() ? new VmArea(sandboxes, w.sandboxId(), scratch)
                : new ContainerArea(sandboxes, w.sandboxId(), scratch);
    }

    private static String join(String prefix, String p) {
        return prefix.isEmpty() ? p : prefix + "/" + p;
    }

    private static FileInfo info(Tree.Entry e) {
        return new FileInfo(e.path(), e.type(), e.size(), e.mode(), e.target());
    }

    private static void delete(Path p) {
        try {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Fs.deleteTree(p);
            }
        } catch (IOException ignored) {
            // best effort: a leftover temp directory is skipped by list()
        }
    }
}
