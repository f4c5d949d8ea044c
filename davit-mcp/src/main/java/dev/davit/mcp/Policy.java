package dev.davit.mcp;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.fs.Dir;
import io.modelcontextprotocol.spec.McpError;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the server lets a model do: host paths only under {@code --allow-path} directories (no link on the way from
 * there, held open from the check to the use: see {@link Pins}), the network only with {@code --allow-network}, an
 * egress policy only within {@code --allow-egress} ({@link EgressBound}), at most {@code maxWorkspaces} workspaces, and
 * a TTL for the workspaces it creates. Of the workspaces, those {@code counted} accepts (the server's own) count.
 */
record Policy(List<Path> allowedPaths, boolean allowNetwork, int maxWorkspaces, Duration workspaceTtl,
              Path davitHome, List<String> allowedRegistries, java.util.function.Predicate<String> catalog,
              Admission admission, java.util.function.Predicate<dev.davit.sandbox.workspace.Workspace> counted,
              long maxDiskMiB, EgressBound egress, List<String> commitTo) {
    /**
     * Counts the workspaces being created and the runs going (its {@link Budget}), so that concurrent creates and
     * runs cannot pass {@code maxWorkspaces} or the server's totals.
     */
    static final class Admission {
        private int creating;
        /** The memory of those being created, in MiB ({@link Budget#cost} of each). */
        private long creatingMiB;
        final Budget budget;

        Admission() {
            this(Budget.NONE);
        }

        Admission(Budget budget) {
            this.budget = budget;
        }
    }

    Policy(List<Path> allowedPaths, boolean allowNetwork, int maxWorkspaces, Duration workspaceTtl, Path davitHome) {
        this(allowedPaths, allowNetwork, maxWorkspaces, workspaceTtl, davitHome, List.of(), name -> false,
                new Admission(), w -> true, dev.davit.sandbox.Limits.DEFAULT_DISK_MIB, EgressBound.NONE, List.of());
    }

    Policy {
        allowedRegistries = List.copyOf(allowedRegistries);
        commitTo = List.copyOf(commitTo);
        for (String r : commitTo) {
            if (!r.matches("[a-z0-9.:-]+(/[a-z0-9._/-]*)?") || r.startsWith("/") || r.contains("//")) {
                throw new DavitException(DavitException.Kind.USAGE, "--commit-to takes a registry host and"
                        + " repository prefix (e.g. 127.0.0.1:5000/agents), not '" + r + "'");
            }
        }
        for (String r : allowedRegistries) {
            if (r.isEmpty() || r.contains("/") || r.contains("@")) {
                throw new DavitException(DavitException.Kind.USAGE, "--allow-registry takes a registry host (e.g."
                        + " ghcr.io or 127.0.0.1:5000), not '" + r + "'");
            }
        }
        List<Path> real = new ArrayList<>();
        for (Path p : allowedPaths) {
            try {
                real.add(p.toRealPath());
            } catch (IOException e) {
                throw new DavitException(DavitException.Kind.USAGE, "--allow-path " + p + " is not an existing"
                        + " directory; create it or give another");
            }
            if (!Files.isDirectory(real.getLast())) {
                throw new DavitException(DavitException.Kind.USAGE, "--allow-path " + p + " is not a directory");
            }
        }
        allowedPaths = List.copyOf(real);
        Path home = davitHome;
        Dir.fallBackTo(() -> dev.davit.sandbox.jail.Jail.execHelper(dev.davit.sandbox.SandboxOptions.under(home)));
    }

    /**
     * Checks {@code arguments[arg]}, an existing host file or directory, and pins it: it must be under an allowed
     * directory with no symbolic link on the way from there (the kernel resolves it, see
     * {@link dev.davit.sandbox.fs.Dir}); it is held open for the rest of the call and {@code arguments[arg]}
     * becomes a path that reaches that very file or directory, whatever happens to its name meanwhile (returned).
     */
    Path pinHostPath(Map<String, Object> arguments, String arg, java.util.function.Supplier<Path> scratch) {
        pin(arguments, arg, scratch, false);
        return Path.of((String) arguments.get(arg));
    }

    /**
     * {@link #pinHostPath} for a host path to write, which may not exist yet: its parent directory is checked and
     * pinned, and the command creates the last name in it.
     */
    Path pinHostDest(Map<String, Object> arguments, String arg, java.util.function.Supplier<Path> scratch) {
        pin(arguments, arg, scratch, true);
        return Path.of((String) arguments.get(arg));
    }

    private void pin(Map<String, Object> arguments, String arg, java.util.function.Supplier<Path> scratch,
                     boolean dest) {
        String given = (String) arguments.get(arg);
        if (allowedPaths.isEmpty()) {
            throw Tool.invalid("host paths are off: this server was started without --allow-path, so '" + arg
                    + "' cannot be used; leave it out (write files with workspace_file_write instead) or ask the"
                    + " user to restart the server with --allow-path DIR");
        }
        if (given.indexOf('\0') >= 0) {
            throw Tool.invalid("'" + arg + "' holds a NUL character; give an absolute host path under " + allowed());
        }
        Path p = Path.of(given);
        if (!p.isAbsolute()) {
            throw Tool.invalid("'" + arg + "' must be an absolute host path under " + allowed());
        }
        p = p.normalize();
        if (under(p) != null) {
            try {
                pin(arguments, arg, scratch, dest, given, p);
                return;
            } catch (McpError e) {
                if (!e.getMessage().contains("goes through a symbolic link")) {
                    throw e;
                }
            }
        }
        Path real = null;
        try { // a path through a link that leads into an allowed directory: its real path, pinned
            real = dest && p.getParent() != null ? p.getParent().toRealPath().resolve(p.getFileName())
                    : p.toRealPath();
        } catch (IOException e) {
            // not there: the error below
        }
        if (real == null || under(real) == null) {
            throw Tool.invalid("'" + arg + "': " + given + " is outside the allowed host paths (" + allowed()
                    + "); use a path under one of them");
        }
        pin(arguments, arg, scratch, dest, given, real);
    }

    private void pin(Map<String, Object> arguments, String arg, java.util.function.Supplier<Path> scratch,
                     boolean dest, String given, Path p) {
        Path top = under(p);
        if (dest && p.equals(top)) {
            throw Tool.invalid("'" + arg + "': " + given + " is an allowed directory itself; give a new path in it");
        }
        String rel = top.relativize(p).toString();
        Pins pins = Pins.current();
        try (Dir root = Dir.open(top, top.toString())) {
            Path link = Files.createTempDirectory(scratch.get(), "pin-");
            Path target;
            if (dest) {
                Path parentRel = Path.of(rel).getParent();
                Dir parent = root.dir(parentRel == null ? "" : parentRel.toString());
                pins.hold(parent);
                Files.createSymbolicLink(link.resolve("dir"), parent.self());
                String used = link.resolve("dir").resolve(p.getFileName().toString()).toString();
                arguments.put(arg, used);
                pins.show(used, given);
                return;
            }
            dev.davit.sandbox.fs.Stat st = root.stat(rel);
            if (st == null) {
                throw Tool.invalid("'" + arg + "': no such file or directory " + given);
            }
            if (st.isSymbolicLink()) {
                throw Tool.invalid("'" + arg + "': " + given + " goes through a symbolic link; give its real path"
                        + " (under " + allowed() + ")");
            }
            if (st.isDirectory()) {
                Dir d = root.dir(rel);
                pins.hold(d);
                target = d.self();
            } else if (st.isRegularFile()) {
                Dir.Opened f = root.openFile(rel);
                pins.hold(f);
                target = f.path();
            } else {
                throw Tool.invalid("'" + arg + "': " + given + " is a device, fifo or socket; give a file or"
                        + " directory");
            }
            Path used = link.resolve(p.getFileName() == null ? "top" : p.getFileName().toString());
            Files.createSymbolicLink(used, target);
            arguments.put(arg, used.toString());
            pins.show(used.toString(), given);
        } catch (java.nio.file.NoSuchFileException e) {
            throw Tool.invalid("'" + arg + "': no such file or directory " + given);
        } catch (IOException e) {
            if (e instanceof dev.davit.sandbox.fs.ErrnoException x && x.errno() == dev.davit.sandbox.fs.Errno.EXDEV) {
                throw Tool.invalid("'" + arg + "': " + given + " is on another file system mounted under "
                        + allowed() + "; give a path on the allowed directory's own");
            }
            if (Dir.ledOut(e)) {
                throw Tool.invalid("'" + arg + "': " + given + " goes through a symbolic link; give its real path"
                        + " (under " + allowed() + ")");
            }
            throw Tool.invalid("'" + arg + "': cannot open " + given + ": " + e.getMessage());
        }
    }

    /** The allowed directory {@code p} is in (lexically), or null. */
    private Path under(Path p) {
        for (Path a : allowedPaths) {
            if (p.startsWith(a)) {
                return a;
            }
        }
        return null;
    }

    private String allowed() {
        return String.join(", ", allowedPaths.stream().map(Path::toString).toList());
    }

    /**
     * Refuses {@code network: true} unless the server allows the network, and an egress policy (its arguments) beyond
     * the operator's bound ({@link EgressBound#check}).
     */
    void network(Map<String, Object> arguments) {
        egress.check(arguments);
        if (Boolean.TRUE.equals(arguments.get("network")) && !allowNetwork) {
            throw Tool.invalid("the network is off: this server was started without --allow-network; run without"
                    + " 'network' or ask the user to restart the server with --allow-network");
        }
    }

    /**
     * Refuses a {@code workspace_network} call that would allow anything beyond the operator's bound that workspace
     * {@code w} did not allow already, lift a deny entry beyond it (or any of an operator's shared workspace), or
     * that changes a workspace without an egress policy (none, or NAT).
     */
    void networkChange(Map<String, Object> arguments, dev.davit.sandbox.workspace.Workspace w) {
        if (!EgressBound.changes(arguments)) {
            return; // it shows the policy
        }
        dev.davit.sandbox.Network n = new dev.davit.sandbox.engine.Sandboxes(dev.davit.sandbox.SandboxOptions.under(
                davitHome)).status(w.sandboxId()).spec().network();
        if (n.mode() != dev.davit.sandbox.Network.Mode.POLICY) {
            throw Tool.invalid("workspace " + (w.name() != null ? w.name() : w.id()) + " has no egress policy (its"
                    + " network is " + n.label() + "); only a workspace created with one ('allow_hosts', 'allow_cidrs'"
                    + " or 'allow_presets' of workspace_create) can change it");
        }
        egress.checkChange(n.egress(), n.egress().with(EgressBound.change(arguments)), arguments,
                counted.test(w) ? null : w.name() != null ? w.name() : w.id());
    }

    /**
     * Reserves room for one new workspace: refused when the workspaces that exist and those being created reach
     * {@code maxWorkspaces}. The reservation ends when the returned handle runs (after the create, which then
     * exists or failed).
     */
    Runnable reserveWorkspace(Map<String, Object> arguments) {
        long ask = memoryCost(arguments);
        synchronized (admission) {
            int n = ownWorkspaces();
            if (n + admission.creating >= maxWorkspaces) {
                throw Tool.invalid("there are already " + n + " workspaces" + (admission.creating > 0 ? " and "
                        + admission.creating + " being created" : "") + " (this server allows " + maxWorkspaces
                        + ", --max-workspaces); remove one with workspace_remove first (workspace_list shows them)");
            }
            Use home = homeWorkspaces();
            String full = admission.budget.refusal(false, ask, home.count(), home.mib(), admission.creating,
                    admission.creatingMiB);
            if (full != null) {
                throw Tool.invalid(full + "; remove a workspace with workspace_remove first (workspace_list shows"
                        + " them), ask for less 'memory', or wait for runs to end");
            }
            admission.creating++;
            admission.creatingMiB += ask;
        }
        boolean[] done = {false};
        return () -> {
            synchronized (admission) {
                if (!done[0]) {
                    done[0] = true;
                    admission.creating--;
                    admission.creatingMiB -= ask;
                    admission.notifyAll(); // runs waiting for room
                }
            }
        };
    }

    /**
     * Reserves room for {@code count} forks of workspace {@code w}, each as {@link #reserveWorkspace} would for a
     * workspace of {@code w}'s memory; all or none. The reservations end when the returned handle runs.
     */
    Runnable reserveForks(dev.davit.sandbox.workspace.Workspace w, int count) {
        long mib = Budget.SANDBOX_MIB;
        try {
            dev.davit.sandbox.CreateSpec spec = new dev.davit.sandbox.engine.Sandboxes(dev.davit.sandbox.SandboxOptions.under(
                    davitHome)).status(w.sandboxId()).spec();
            mib = spec.isVm() ? spec.memoryMiB() : spec.limits().memoryMiB();
        } catch (RuntimeException e) {
            // counted as one of the default size; the fork itself says what is wrong with its sandbox
        }
        synchronized (admission) { // said as the fork's own need, not as its first forks' being created
            int n = ownWorkspaces();
            int room = Math.max(0, maxWorkspaces - n - admission.creating);
            if (count > room) {
                throw Tool.invalid(count + " forks need room for " + count + " workspaces, and this server has room"
                        + " for " + room + " more (" + n + " of its " + maxWorkspaces + " exist" + (admission.creating
                        > 0 ? ", " + admission.creating + " more being created by other calls" : "")
                        + "; --max-workspaces); ask for " + (room > 0 ? "at most " + room + " ('count')" : "none")
                        + ", or remove a workspace with workspace_remove first (workspace_list shows them)");
            }
        }
        List<Runnable> held = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                held.add(reserveWorkspace(Map.of("memory", mib)));
            }
        } catch (RuntimeException e) {
            held.forEach(Runnable::run);
            throw e;
        }
        return () -> held.forEach(Runnable::run);
    }

    /** How many workspaces, and their memory together in MiB. */
    record Use(int count, long mib) {
    }

    /**
     * Every workspace of the davit home, whoever made it, and their memory ({@link Budget#cost} of each sandbox's): the
     * memory total counts them all, as the kernel does (they are all below the totals' cgroup).
     */
    private Use homeWorkspaces() {
        List<dev.davit.sandbox.workspace.Workspace> all = Workspaces.under(davitHome).list();
        dev.davit.sandbox.engine.Sandboxes sandboxes = new dev.davit.sandbox.engine.Sandboxes(
                dev.davit.sandbox.SandboxOptions.under(davitHome));
        long mib = 0;
        for (dev.davit.sandbox.workspace.Workspace w : all) {
            long m = Budget.SANDBOX_MIB;
            try {
                dev.davit.sandbox.CreateSpec spec = sandboxes.status(w.sandboxId()).spec();
                m = spec.isVm() ? spec.memoryMiB() : spec.limits().memoryMiB();
            } catch (RuntimeException e) {
                // its sandbox is gone or being made: counted as one of the default size
            }
            mib += Budget.cost(m);
        }
        return new Use(all.size(), mib);
    }

    /** What a call's sandbox counts against the memory total: its {@code memory}, else the default's (1024 MiB). */
    static long memoryCost(Map<String, Object> arguments) {
        return Budget.cost(arguments.get("memory") instanceof Number n ? n.longValue()
                : dev.davit.sandbox.Limits.DEFAULT.memoryMiB());
    }

    /** How long a run waits for room before it is refused ({@link #reserveRun}). */
    static long runWaitMs() {
        return Long.getLong("davit.mcp.runWaitMs", 60_000);
    }

    /**
     * Reserves room for one one-shot run, under the lock of workspace creates: when {@code --max-runs} runs are going
     * or the memory total is in use ({@link Budget#refusal}), it waits for room (up to {@link #runWaitMs}, saying so
     * on {@code progress}), then is refused. The reservation ends when the returned handle runs.
     */
    Runnable reserveRun(Map<String, Object> arguments, java.util.function.Consumer<String> progress) {
        long ask = memoryCost(arguments);
        synchronized (admission) {
            long deadline = System.nanoTime() + runWaitMs() * 1_000_000;
            String said = null;
            while (true) {
                Use home = homeWorkspaces();
                String full = admission.budget.refusal(true, ask, home.count(), home.mib(), admission.creating,
                        admission.creatingMiB);
                if (full == null) {
                    break;
                }
                long leftMs = (deadline - System.nanoTime()) / 1_000_000;
                if (leftMs <= 0) {
                    throw Tool.invalid(full + (said == null ? "" : ", for " + runWaitMs() / 1000 + " s") + "; call run"
                            + " again when a run has ended, or remove a workspace with workspace_remove");
                }
                if (!full.equals(said)) {
                    progress.accept("waiting for room: " + full);
                    said = full;
                }
                try {
                    admission.wait(Math.min(leftMs, 1000)); // workspaces deleted meanwhile are seen within a second
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw Tool.invalid("the call was cancelled while it waited for room: " + full);
                }
            }
            admission.budget.runs++;
            admission.budget.runsMiB += ask;
        }
        boolean[] done = {false};
        return () -> {
            synchronized (admission) {
                if (!done[0]) {
                    done[0] = true;
                    admission.budget.runs--;
                    admission.budget.runsMiB -= ask;
                    admission.notifyAll();
                }
            }
        };
    }

    /**
     * How many sandboxes a warm pool may keep ready: {@code maxWorkspaces} less the workspaces that exist and those
     * being created (spares count against the limit, and give way to workspaces). A create counts from its
     * reservation until it ends, so once its workspace exists it counts twice for a moment: the pool's regular look
     * goes by the limit less the workspaces that exist ({@code settled}), and gives way to creates only when they
     * find no spare.
     */
    dev.davit.sandbox.workspace.WarmPool.Room spareRoom() {
        return new dev.davit.sandbox.workspace.WarmPool.Room() {
            @Override
            public int free() {
                synchronized (admission) {
                    return settled() - admission.creating;
                }
            }

            @Override
            public int settled() {
                long all = homeWorkspaces().mib();
                synchronized (admission) { // the memory total: runs take room before spares
                    return (int) Math.min(maxWorkspaces - ownWorkspaces(), admission.budget.room(all));
                }
            }
        };
    }

    /**
     * How many workspaces count against {@code maxWorkspaces}: the server's own ({@code counted}); the operator's
     * neither count nor show in the number a refusal tells the model.
     */
    private int ownWorkspaces() {
        return (int) Workspaces.under(davitHome).list().stream().filter(counted).count();
    }

    /**
     * Checks that what {@code arguments[arg]} names may run: a catalog environment (the operator's catalog), an image
     * already in the store (nothing is fetched), or an image of a registry in {@code --allow-registry}. A loopback,
     * link-local or private address is refused like any registry not listed, so the model cannot make the host send
     * requests where it likes.
     */
    void pull(Map<String, Object> arguments, String arg) {
        String name = (String) arguments.get(arg);
        if (catalog.test(name)) {
            return;
        }
        dev.davit.oci.reference.Reference ref;
        try {
            ref = dev.davit.oci.reference.Reference.parse(name);
        } catch (RuntimeException e) {
            throw Tool.invalid("'" + arg + "': " + name + " is neither an environment of environment_list nor an image"
                    + " reference (" + e.getMessage() + ")");
        }
        if (allowedRegistries.contains(ref.registry())) {
            return;
        }
        if (ref.repositoryName().equals(dev.davit.sandbox.workspace.WorkspaceImages.RESTORED)) {
            // a whole-sandbox snapshot's restore made it, perhaps of the operator's own: opened only from the
            // snapshot, which the model must be allowed to pull
            throw Tool.invalid("'" + arg + "': " + name + " is the environment of a restored workspace snapshot;"
                    + " create from the snapshot itself with 'from'");
        }
        if (inStore(ref)) {
            return; // runs from the store: no request is sent
        }
        throw Tool.invalid("'" + arg + "': " + name + " is not in environment_list or the store, and its registry "
                + ref.registry() + " is not one this server may pull from (" + (allowedRegistries.isEmpty() ? "none"
                : String.join(", ", allowedRegistries)) + "); use an environment of environment_list or ask the user to"
                + " add it with --allow-registry " + ref.registry());
    }

    /**
     * Checks that image {@code arguments[arg]} (workspace_commit's) is under one of {@code --commit-to}'s repository
     * prefixes: a model names only images the operator handed it, never one of the operator's own.
     */
    void commit(Map<String, Object> arguments, String arg) {
        String name = (String) arguments.get(arg);
        if (commitTo.isEmpty()) {
            throw Tool.invalid("committing is off: this server was started without --commit-to, so '" + arg + "'"
                    + " cannot name an image; ask the user to restart the server with --commit-to REGISTRY/PREFIX");
        }
        dev.davit.oci.reference.Reference ref;
        try {
            ref = dev.davit.oci.reference.Reference.parse(name);
        } catch (RuntimeException e) {
            throw Tool.invalid("'" + arg + "': " + name + " is not an image reference (" + e.getMessage() + ")");
        }
        if (ref.digest() != null || ref.tag() == null) {
            throw Tool.invalid("'" + arg + "': " + name + " needs a tag and no digest (e.g. " + ref.repositoryName()
                    + ":1)");
        }
        String repo = ref.repositoryName();
        for (String prefix : commitTo) {
            String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
            if (repo.equals(p) || repo.startsWith(p + "/")) {
                return;
            }
        }
        throw Tool.invalid("'" + arg + "': " + name + " is not under a repository this server may commit to ("
                + String.join(", ", commitTo) + "); name an image under one of them");
    }

    /**
     * Checks that snapshot {@code arguments[arg]} (workspace_create's {@code from}) may be read: one under a
     * {@code --commit-to} prefix that is in the store (what this server's models pushed) or in an
     * {@code --allow-registry} registry; any other of an {@code --allow-registry} registry only as that registry has
     * it ({@link #pinnedAtRegistry}: a snapshot of the operator's that is only in the store holds their /workspace,
     * never the model's to open).
     */
    void snapshot(Map<String, Object> arguments, String arg) {
        String name = (String) arguments.get(arg);
        dev.davit.oci.reference.Reference ref;
        try {
            ref = dev.davit.oci.reference.Reference.parse(name);
        } catch (RuntimeException e) {
            throw Tool.invalid("'" + arg + "': " + name + " is not a snapshot reference (" + e.getMessage() + ")");
        }
        if (allowedRegistries.contains(ref.registry()) || committed(ref) && inStore(ref)) {
            return;
        }
        throw Tool.invalid("'" + arg + "': " + name + " is neither in a registry this server may pull from ("
                + (allowedRegistries.isEmpty() ? "none" : String.join(", ", allowedRegistries)) + ") nor a snapshot"
                + " workspace_snapshot_push stored here; give one it made, or ask the user to add its registry with"
                + " --allow-registry " + ref.registry());
    }

    /**
     * Whether snapshot {@code from} (checked by {@link #snapshot}) must be read as its registry has it, by the digest
     * the registry gives now, never as the store may hold it under that name: it is not under a {@code --commit-to}
     * prefix.
     */
    boolean pinnedAtRegistry(String from) {
        return !committed(dev.davit.oci.reference.Reference.parse(from));
    }

    /** Whether {@code ref} is under a {@code --commit-to} prefix. */
    private boolean committed(dev.davit.oci.reference.Reference ref) {
        String repo = ref.repositoryName();
        for (String prefix : commitTo) {
            String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
            if (repo.equals(p) || repo.startsWith(p + "/")) {
                return true;
            }
        }
        return false;
    }

    private boolean inStore(dev.davit.oci.reference.Reference ref) {
        try {
            Path root = dev.davit.oci.client.DavitHome.storeOf(davitHome);
            return Files.isDirectory(root) && dev.davit.oci.store.OciStore.open(root).entry(ref.toString())
                    .isPresent();
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * Refuses a {@code disk} argument for a microVM (asked for with {@code backend}, or the environment's own kind):
     * its disk is bounded by its environment's image, and a limit it would not get must not look given.
     */
    static void noDiskForVm(Map<String, Object> arguments) {
        if (arguments.get("disk") != null) {
            throw new DavitException(DavitException.Kind.USAGE, "'disk' is for container sandboxes; a microVM's"
                    + " disk is bounded by its environment's image");
        }
    }

    /**
     * The disk limit in MiB a call's sandbox gets: its {@code disk} argument within the server's {@code --max-disk}
     * (refused beyond it: the operator's limit is not the model's to lift), else the default disk limit or the
     * server's maximum when that is lower. A disk of 0 (no limit) is refused too. Null for a microVM, whose disk its
     * environment image's size bounds.
     */
    Long disk(Map<String, Object> arguments) {
        if ("vm".equals(arguments.get("backend"))) {
            noDiskForVm(arguments);
            return null;
        }
        if (arguments.get("disk") instanceof Number n) {
            long mib = n.longValue();
            if (mib < dev.davit.sandbox.Limits.MIN_DISK_MIB || mib > maxDiskMiB) {
                throw new DavitException(DavitException.Kind.USAGE, "'disk' must be between "
                        + dev.davit.sandbox.Limits.MIN_DISK_MIB + " and " + maxDiskMiB + " MiB on this server"
                        + " (--max-disk), not " + mib);
            }
            return mib;
        }
        return Math.min(maxDiskMiB, dev.davit.sandbox.Limits.DEFAULT_DISK_MIB);
    }

    /**
     * Checks a call's {@code memory} and {@code cpus} (its sandbox's limits) against the server's totals: a sandbox
     * may have at most {@code --max-memory} and {@code --max-cpus} (what all of them have together; the operator's
     * limit is not the model's to lift). Admission then counts the memory ({@link #reserveRun},
     * {@link #reserveWorkspace}).
     */
    void resources(Map<String, Object> arguments) {
        Budget b = admission.budget;
        if (arguments.get("memory") instanceof Number n) {
            long mib = n.longValue();
            if (mib < dev.davit.sandbox.Limits.MIN_MEMORY_MIB || (b.maxMemoryMiB > 0 && mib > b.maxMemoryMiB)) {
                throw Tool.invalid("'memory' must be " + (b.maxMemoryMiB > 0 ? "between "
                        + dev.davit.sandbox.Limits.MIN_MEMORY_MIB + " and " + b.maxMemoryMiB + " MiB on this server"
                        + " (--max-memory: all its sandboxes together)" : "at least "
                        + dev.davit.sandbox.Limits.MIN_MEMORY_MIB + " MiB") + ", not " + mib);
            }
        }
        if (arguments.get("cpus") instanceof Number n) {
            double cpus = n.doubleValue();
            if (cpus < 0.01 || (b.maxCpus > 0 && cpus > b.maxCpus)) {
                throw Tool.invalid("'cpus' must be " + (b.maxCpus > 0 ? "between 0.01 and " + number(b.maxCpus)
                        + " on this server (--max-cpus: all its sandboxes together)" : "at least 0.01") + ", not "
                        + number(cpus));
            }
        }
    }

    private static String number(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    /**
     * The network of a {@code workspace_create} from snapshot {@code from} whose call names none: what the snapshot
     * carried ({@code carried}; null: none), held to the same grants as a model's own request, never granting
     * more: NAT only with {@code --allow-network}, a policy only within {@code --allow-egress}.
     *
     * @throws DavitException USAGE (the model's to fix) naming what the snapshot asks beyond the grants
     */
    dev.davit.sandbox.Network carriedNetwork(dev.davit.sandbox.Network carried, String from) {
        if (carried == null) {
            return dev.davit.sandbox.Network.NONE;
        }
        String snapshot = "snapshot " + dev.davit.oci.internal.Text.printable(from);
        if (carried.mode() == dev.davit.sandbox.Network.Mode.NAT && !allowNetwork) {
            throw Tool.invalid(snapshot + " was taken with the whole network, which this server does not give"
                    + " (no --allow-network); " + (egress.any() ? "give 'allow_hosts' within the server's"
                    + " --allow-egress, or 'network': false for none" : "give 'network': false for none"));
        }
        if (carried.mode() == dev.davit.sandbox.Network.Mode.POLICY && !egress.covers(carried.egress())) {
            throw Tool.invalid(snapshot + " carries an egress policy allowing " + String.join(", ",
                    egress.beyond(carried.egress()).stream().map(Object::toString).limit(8).toList())
                    + (egress.any() ? ", beyond this server's --allow-egress (" + egress.describe() + ")"
                    : ", and this server allows no egress (no --allow-egress)") + "; give 'allow_hosts' within it"
                    + " yourself, or 'network': false for none");
        }
        return carried;
    }

    /**
     * The limits of a {@code workspace_create} from a snapshot: those the call gives ({@code asked}), and for each it
     * leaves out the snapshot's ({@code carried}), never more than the call's default (what admission counted for
     * memory and CPUs) nor the server's {@code --max-disk}.
     */
    dev.davit.sandbox.Limits carriedLimits(Map<String, Object> a, dev.davit.sandbox.Limits asked,
                                           dev.davit.sandbox.Limits carried) {
        if (carried == null) {
            return asked;
        }
        return new dev.davit.sandbox.Limits(
                a.get("memory") != null ? asked.memoryMiB() : tighter(carried.memoryMiB(), asked.memoryMiB()),
                a.get("cpus") != null ? asked.cpus() : carried.cpus() == 0 ? asked.cpus() : asked.cpus() == 0
                        ? carried.cpus() : Math.min(carried.cpus(), asked.cpus()),
                // none asked (a pod's: its node bounds it; a microVM's) stays none
                asked.pids() == 0 ? 0 : tighter(carried.pids(), asked.pids()),
                a.get("disk") != null ? asked.diskMiB() : tighter(carried.diskMiB(), maxDiskMiB));
    }

    /** The tighter of two limits, 0 being none. */
    private static long tighter(long a, long b) {
        return a == 0 ? b : b == 0 ? a : Math.min(a, b);
    }

    /**
     * Caps a call's {@code ttl} at the server's workspace TTL (when it has one): the operator's limit is not the
     * model's to lift.
     */
    void capTtl(Map<String, Object> arguments) {
        if (workspaceTtl != null && arguments.get("ttl") instanceof Number n
                && n.doubleValue() > workspaceTtl.toMillis() / 1000.0) {
            arguments.put("ttl", workspaceTtl.toMillis() / 1000.0);
        }
    }
}
