package dev.davit.sandbox.container;

import dev.davit.sandbox.backend.Users;
import dev.davit.sandbox.backend.CappedSink;
import dev.davit.sandbox.host.Host;
import dev.davit.oci.Action;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.backend.LongLived;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.Spawned;
import dev.davit.sandbox.backend.Nat;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.jail.Disk;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.jail.Subids;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Long-lived container sandboxes ({@link LongLived}): the start of a keeper, the exec of a command in it, detached
 * commands ({@link Detached}) and the sandbox's files on the host. The core keeps the rest (state, locks, stop, rm,
 * reap).
 *
 * <pre>
 * setsid bwrap --unshare-all [--share-net] --hostname ID --ro-bind ROOTFS / --proc /proc --dev /dev
 *       --bind STATE/tmp /tmp --tmpfs /run --tmpfs /var/tmp --clearenv --setenv PATH ... -- sleep 2147483647
 * davit-exec exec INIT FILTER UID GID CAPS DIR -- ARGV
 * </pre>
 *
 * davit-exec (see {@link Jail#execLauncher}) joins the keeper's namespaces and confines the command as a one-shot
 * run is confined, as root and rootless; only a jar built without it falls back to a bubblewrap of the exec's own
 * (as root) or, rootless, {@code nsenter --target INIT ... -- ARGV} without the filter.
 *
 * The bwrap process is detached (own session, no --die-with-parent) and outlives davit; its pid and that of the
 * sandbox's pid 1 are recorded with their start times, so a pid that was reused is never taken for the sandbox.
 */
public final class ContainerLifecycle implements LongLived, dev.davit.sandbox.internal.HostFiles.Brokered {
    private static final List<String> SLEEP_DIRS = List.of("bin", "usr/bin", "sbin", "usr/sbin");
    private static final Duration START_WAIT = Duration.ofSeconds(10);
    /** How long an exec waits, after its command exited, for output still in the pipes. */
    private static final Duration PIPE_GRACE = Duration.ofSeconds(1);

    private final SandboxOptions options;
    private final Consumer<Sandbox> save;
    private final Detached detached;

    ContainerLifecycle(SandboxOptions options, Consumer<Sandbox> save) {
        this.options = options;
        this.save = save;
        this.detached = new Detached(options, this);
    }

    @Override
    public CreateSpec prepare(CreateSpec spec, Path dir) {
        CreateSpec resolved = prepareCopy(spec, dir);
        if (Disk.available() && spec.limits().diskMiB() > 0) {
            Disk.create(options, dir, spec.limits().diskMiB());
        }
        return resolved;
    }

    /** {@link #prepare} but for the disk, which {@link #copyState} brings. */
    @Override
    public CreateSpec prepareCopy(CreateSpec spec, Path dir) {
        CreateSpec resolved = spec.withRootfs(Host.realRootfs(spec.rootfs()));
        ContainerDriver.refuseWeaker(options, true, resolved.rootfs(), resolved.image());
        try {
            Files.createDirectories(dir.resolve("tmp"));
            ownOnly(dir);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create the sandbox directory " + dir + ": " + e.getMessage());
        }
        return resolved;
    }

    /**
     * A sandbox with a disk of its own: the disk image, frozen while it is copied ({@link Disk#copy}); nothing named
     * by the sandbox is read. Without one (rootless, {@code --disk 0}) its layer and /tmp are copied with
     * {@code cp -a} (owners, modes, links, whiteouts and the overlay's attributes kept), only while it is stopped:
     * a running sandbox's processes could swap a directory for a link under the copy.
     */
    /**
     * The disk image put back ({@link Disk#restore}); without one, the layer and /tmp each copied beside the
     * sandbox's ({@code cp -a}) and swapped in by two renames, the old ones deleted after (a crash between the two
     * renames is undone first by the next restore; one between the layer's swap and /tmp's leaves the new layer with
     * the old /tmp).
     */
    @Override
    public void restoreState(Sandbox s, Path dir, Path from) {
        if (Disk.exists(from)) {
            Disk.restore(options, from, dir);
            return;
        }
        for (String part : List.of("upper", "tmp")) {
            Path live = dir.resolve(part);
            Path fresh = dir.resolve("." + part + ".restore");
            Path old = dir.resolve("." + part + ".old");
            try {
                if (!Files.exists(live, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        && Files.isDirectory(old, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.move(old, live, java.nio.file.StandardCopyOption.ATOMIC_MOVE); // a crash between the renames
                }
                Host.deleteTree(fresh);
                Host.deleteTree(old);
                if (Files.isDirectory(from.resolve(part), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Host.copyTree(options.searchPath(), from.resolve(part), fresh);
                } else {
                    Files.createDirectories(fresh);
                }
                if (Files.exists(live, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.move(live, old, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                }
                Files.move(fresh, live, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot restore " + live + " from " + from + ": "
                        + e.getMessage());
            } finally {
                Host.deleteTree(fresh);
                Host.deleteTree(old);
            }
        }
    }

    /** Frozen in place by its cgroup's freezer ({@link dev.davit.sandbox.backend.Freezer}); it stays running. */
    @Override
    public Sandbox pause(Sandbox s, Path dir) {
        dev.davit.sandbox.backend.Freezer.freeze(s.id(), dir);
        return s;
    }

    @Override
    public boolean paused(Sandbox s, Path dir) {
        return dev.davit.sandbox.backend.Freezer.paused(dir);
    }

    @Override
    public Sandbox resume(Sandbox s, Path dir) {
        dev.davit.sandbox.backend.Freezer.thaw(dir);
        return s;
    }

    @Override
    public void dropPause(Sandbox s, Path dir) {
        if (dev.davit.sandbox.backend.Freezer.paused(dir)) {
            dev.davit.sandbox.backend.Freezer.thaw(dir);
        }
    }

    /** Its memory cgroup's count (none without limits). */
    @Override
    public long oomKills(Sandbox s, Path dir) {
        if (!s.spec().limits().any()) {
            return 0;
        }
        try {
            return Cgroups.existing(s.id(), dir, s.spec().limits()).oomKills();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /** Its disk image's blocks, else its layer's and /tmp's. */
    @Override
    public long stateBytes(Sandbox s, Path dir) throws IOException {
        return Disk.exists(dir) ? Host.diskUsage(dir.resolve("disk.img"))
                : Host.diskUsage(dir.resolve("upper"), dir.resolve("tmp"));
    }

    @Override
    public boolean copiesRunning(Sandbox s, Path dir) {
        return Disk.exists(dir);
    }

    @Override
    public void copyState(Sandbox s, Path dir, Path to) {
        if (Disk.exists(dir)) {
            Disk.copy(options, dir, to); // mounted by the copy's first start or host-side file operation
            return;
        }
        if (s.status() == SandboxStatus.RUNNING) {
            throw new DavitException(Kind.USAGE, Message.of("sandbox " + s.id() + " runs without a disk of its own"
                    + " (rootless, or made with ", dev.davit.oci.Input.DISK, " 0), so its files are copied only while"
                    + " it is stopped; stop it first (", Action.STOP_SANDBOX.fix(s.id()), ")").about(Subject.Type.SANDBOX, s.id()));
        }
        if (!Jail.active() && subidsUser(s) != null) {
            throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " runs as its image's non-root user without"
                    + " root, so its files belong to subordinate ids that davit's user cannot copy; run davit as"
                    + " root to copy it");
        }
        for (String scratch : List.of("upper", "tmp")) {
            Path from = dir.resolve(scratch);
            if (Files.isDirectory(from, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Host.copyTree(options.searchPath(), from, to.resolve(scratch));
            }
        }
    }

    /**
     * Makes a sandbox's state directory {@code dir} reachable to davit's user only (0700): its layer holds what the
     * sandbox made, setuid files and world-writable directories among them, owned by the sandbox's host ids; no
     * other local user may reach (and run or write) them.
     */
    static void ownOnly(Path dir) throws IOException {
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    }

    /** Its keeper's processes are there; a disk a killed davit left frozen is thawed on the way (execs wait on it). */
    @Override
    public boolean up(Sandbox s) {
        Disk.thawLeftover(options, dir(s));
        return Host.alive(s.bwrapPid(), s.bwrapStart()) && Host.alive(s.initPid(), s.initStart());
    }

    /**
     * A running sandbox's root as its keeper sees it ({@code /proc/INIT/root}, through its overlay, so the sandbox
     * sees every change at once); a created or stopped one's own writable layer (the overlay's upper directory, made
     * when missing; start keeps it), which holds everything written outside /tmp.
     */
    @Override
    public Path filesOnHost(Sandbox s, Path dir) {
        return switch (s.status()) {
            case RUNNING -> Path.of("/proc", Long.toString(s.initPid()), "root");
            case CREATED, STOPPED -> {
                Disk.ensureMounted(options, dir); // after a reboot
                Path upper = Overlay.Dirs.under(dir).upper();
                try {
                    Files.createDirectories(upper);
                } catch (IOException e) {
                    throw new DavitException(Kind.STORE, "cannot create " + upper + ": " + e.getMessage());
                }
                yield upper;
            }
            case FAILED -> throw new DavitException(Kind.USAGE, Message.of("sandbox " + s.id() + " has failed (its"
                    + " processes are gone); start it again with ", Action.START_SANDBOX.fix(s.id()))
                    .about(Subject.Type.SANDBOX, s.id()));
        };
    }

    /**
     * Its own layer (the overlay's upper directory), read through {@link dev.davit.sandbox.fs.Dir} (rootless, a
     * sandbox of subordinate ids through their broker); a running one is frozen by its cgroup's freezer while it is
     * read, where it has one (else read as it runs: a file that changes under the read fails it).
     */
    @Override
    public dev.davit.sandbox.Changes changes(Sandbox s, Path dir, dev.davit.oci.build.LayerWriter out,
                                             dev.davit.sandbox.Changes.Rewrite rewrite) {
        Disk.ensureMounted(options, dir);
        Path upper = Overlay.Dirs.under(dir).upper();
        boolean froze = false;
        if (s.status() == SandboxStatus.RUNNING && !dev.davit.sandbox.backend.Freezer.paused(dir)
                && s.spec().limits().any()) {
            try {
                dev.davit.sandbox.backend.Freezer.freeze(s.id(), dir);
                froze = true;
            } catch (DavitException e) {
                // no freezer here: read it as it runs
            }
        }
        java.util.function.IntToLongFunction uid;
        java.util.function.IntToLongFunction gid;
        if (Jail.active()) {
            dev.davit.sandbox.jail.IdRange r = Jail.range();
            uid = UpperChanges.range(r.uid(), r.count());
            gid = UpperChanges.range(r.gid(), r.count());
        } else {
            // davit's user is the sandbox's root; its subordinate ids (if any) are 1 on
            int[] self = Host.ownIds();
            Subids sub = Subids.forUser(options);
            java.util.function.IntToLongFunction su = sub == null ? h -> UpperChanges.OVERFLOW
                    : UpperChanges.range(sub.uid(), sub.count());
            java.util.function.IntToLongFunction sg = sub == null ? h -> UpperChanges.OVERFLOW
                    : UpperChanges.range(sub.gid(), sub.count());
            uid = h -> h == self[0] ? 0 : su.applyAsLong(h) == UpperChanges.OVERFLOW ? UpperChanges.OVERFLOW
                    : su.applyAsLong(h) + 1;
            gid = h -> h == self[1] ? 0 : sg.applyAsLong(h) == UpperChanges.OVERFLOW ? UpperChanges.OVERFLOW
                    : sg.applyAsLong(h) + 1;
        }
        dev.davit.sandbox.fs.Broker broker = filesBroker(s);
        try (dev.davit.sandbox.fs.Dir top = broker == null ? dev.davit.sandbox.fs.Dir.open(upper, "/")
                : broker.open(upper, "/")) {
            // at most what its disk holds (a sparse file counts its size), else the default bound of a copy
            long diskMiB = s.spec().limits().diskMiB();
            long max = diskMiB > 0 ? Math.min(diskMiB << 20, dev.davit.sandbox.fs.Budget.MAX_BYTES)
                    : dev.davit.sandbox.fs.Budget.MAX_BYTES;
            return UpperChanges.write(top, Host.realRootfs(s.spec().rootfs()), uid, gid, out, rewrite,
                    !Overlay.ROOT, max, ExtraMounts.targets(s.spec()));
        } catch (dev.davit.oci.build.LayerWriter.Changed e) {
            throw new DavitException(Kind.USAGE, Message.of(e.getMessage() + " in sandbox " + s.id() + ", which runs"
                    + " without a freezer; stop it first (", Action.STOP_SANDBOX.fix(s.id()), ")")
                    .about(Subject.Type.SANDBOX, s.id()));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DavitException(Kind.STORE, "the layer of sandbox " + s.id() + " is missing (" + upper + ")");
        } catch (IOException e) {
            if (dev.davit.sandbox.fs.Dir.ledOut(e) || e instanceof dev.davit.sandbox.fs.Dir.NotUtf8) {
                // what the sandbox did: a link put where a directory was as it was read, a name that is not UTF-8
                throw new DavitException(Kind.USAGE, "the changes of sandbox " + s.id() + " cannot be read as they"
                        + " are (" + e.getMessage().replaceAll("/proc/[0-9]+/fd/[0-9]+", "") + "); stop it and"
                        + " commit again, or remove the file");
            }
            throw new DavitException(Kind.STORE, "cannot read the changes of sandbox " + s.id() + ": "
                    + e.getMessage());
        } finally {
            if (froze) {
                dev.davit.sandbox.backend.Freezer.thaw(dir);
            }
        }
    }

    /**
     * The saved layer read as a stopped sandbox's own ({@link #changes}): a saved disk is mounted read-only for the
     * read (it is davit's copy, frozen when it was made; nothing of it is written) and unmounted after. A davit
     * killed meanwhile leaves it mounted: a removal or reset of the snapshot unmounts it first.
     */
    @Override
    public dev.davit.sandbox.Changes savedChanges(Sandbox s, Path saved, dev.davit.oci.build.LayerWriter out,
                                                  dev.davit.sandbox.Changes.Rewrite rewrite) {
        try {
            Disk.mountSavedReadOnly(options, saved);
            return changes(s.withStatus(SandboxStatus.STOPPED), saved, out, rewrite);
        } finally {
            Disk.release(options, saved);
        }
    }

    /** As root, the image User's (else root's) ids mapped into the jail's range; rootless, null (davit's user). */
    @Override
    public int[] hostOwner(Sandbox s) {
        if (!Jail.active()) {
            int[] user = subidsUser(s);
            Subids sub = user == null ? null : Subids.forUser(options);
            if (sub == null) {
                return null;
            }
            sub.check(user);
            // an id 0 (a User 1000:0) is sandbox root's, the user's own; the others are subordinate ids
            int[] self = Host.ownIds();
            return new int[] {user[0] == 0 ? self[0] : (int) (sub.uid() + user[0] - 1),
                    user[1] == 0 ? self[1] : (int) (sub.gid() + user[1] - 1)};
        }
        int[] ids = Users.resolve(s.spec().rootfs(), s.spec().image().user());
        dev.davit.sandbox.jail.IdRange r = Jail.range();
        return new int[] {(int) r.hostUid(ids == null ? 0 : ids[0]), (int) r.hostGid(ids == null ? 0 : ids[1])};
    }

    /**
     * Rootless, a sandbox whose image User is one of the user's subordinate ids: its files are changed through the
     * broker that runs as root of the user's namespace of those ids, as the user may not (see {@link Subids#broker}).
     */
    @Override
    public dev.davit.sandbox.fs.Broker filesBroker(Sandbox s) {
        if (Jail.active() || subidsUser(s) == null) {
            return null;
        }
        Subids sub = Subids.forUser(options);
        return sub == null ? null : sub.broker(options);
    }

    /** Rootless, the image User of {@code s} when it is not root (so it maps to a subordinate id), else null. */
    private static int[] subidsUser(Sandbox s) {
        return BwrapBackend.nonRoot(Users.resolve(Host.realRootfs(s.spec().rootfs()), s.spec().image().user()));
    }

    /** As the host reads it through the keeper's pid 1 (no tool needed in the image). */
    @Override
    public String procNet(Sandbox s, String name) throws IOException {
        return Files.readString(Path.of("/proc", Long.toString(s.initPid()), "net", name));
    }

    @Override
    public Spawned spawn(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Path dir,
                         boolean terminal) {
        return detached.spawn(s, argv, env, workdir, dir, terminal);
    }

    /** Its holder is a host process: alive or not whether the sandbox runs. */
    @Override
    public boolean alive(Sandbox running, Spawned p) {
        return Detached.alive(p);
    }

    @Override
    public boolean signal(Sandbox running, Spawned p, String signal, boolean foreground) {
        return detached.signal(p, signal, foreground);
    }

    @Override
    public void terminate(Sandbox running, Spawned p, Duration grace) {
        detached.terminate(p, grace);
    }

    private Path dir(Sandbox s) {
        return options.stateDir().resolve(s.id());
    }

    /** Starts the keeper of created, stopped or failed (and cleaned-up) sandbox {@code s}; returns it running. */
    @Override
    public Sandbox start(Sandbox s) {
        String id = s.id();
        Path bwrap = options.bwrap();
        Path setsid = Host.tool(options.searchPath(), "setsid");
        Path rootfs = Host.realRootfs(s.spec().rootfs());
        String sleep = sleepCommand(rootfs);
        Path dir = dir(s);
        Path log = dir.resolve("bwrap.log");
        if (Jail.active()) {
            return startJailed(s, bwrap, setsid, rootfs, sleep, dir, log);
        }
        try {
            Files.createDirectories(dir.resolve("tmp"));
            Files.setAttribute(dir.resolve("tmp"), "unix:mode", 01777); // the sandbox's /tmp, for any user
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create " + dir.resolve("tmp") + ": " + e.getMessage());
        }
        Overlay.Dirs dirs = Overlay.Dirs.under(dir);
        Path unshare = options.which("unshare");
        Nat.Tools nat = s.spec().network().ownNamespace() ? Nat.tools(options, s.spec().network()) : null;
        java.util.function.Consumer<Process> connect = nat == null ? null
                : p -> Nat.attach(nat, p.pid(), dir, true, s.spec().publish());
        // an image User other than root: host uid SUBUID+U-1 where the user has subordinate ids (see Subids); the
        // image's recorded owners are given back in the sandbox's layer at its first start only
        int[] user = BwrapBackend.nonRoot(Users.resolve(rootfs, s.spec().image().user()));
        Subids sub = user == null ? null : Subids.forUserOrRefuse(options);
        // the owners are given once, at the first start (a workspace's layer holds its seed by then: what is in the
        // layer is left as it is, see Subids.writeOwners)
        Path given = dir.resolve(OWNERS_GIVEN);
        boolean fresh = !Files.exists(given, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        // the keeper and every exec share one cgroup with the sandbox's limits, made anew by each start
        Cgroups.Cgroup cg = s.spec().limits().any() ? Cgroups.create(id, s.spec().limits(), dir) : null;
        ProcessHandle[] started;
        try {
            // over the overlay, or (no overlay here) a read-only root with a persistent /tmp
            started = Overlay.runWithFallback(unshare != null && Overlay.usable(rootfs, dirs), dirs, null, () -> { },
                    merged -> {
                        List<String> cmd = new ArrayList<>(List.of(setsid.toString()));
                        MountPoints.Root root = MountPoints.prepare(rootfs, MountPoints.bwrapTargets(s.spec()), dirs,
                                merged).withDns(rootfs, s.spec().network(), dir);
                        ExtraMounts.prepare(s.spec(), rootfs, merged == null ? null : dirs.upper(), null, null,
                                options, sub != null);
                        List<String> bw = bwrapArguments(bwrap, s, rootfs, root, dir, sleep,
                                Jail.seccompFile(options), sub != null);
                        if (sub != null) {
                            List<String> inner = BwrapBackend.inSubids(options, sub, user, unshare, rootfs, dirs,
                                    merged, merged == null || !fresh ? null
                                            : sub.writeOwners(rootfs, dirs.upper(), merged, dir.resolve("owners")),
                                    nat != null, bw);
                            cmd.addAll(nat == null ? inner : Nat.wrap(nat, sub.unshareOptions(), dir, inner));
                            ProcessHandle[] h = launch(id, Cgroups.wrap(cg, cmd, dir), Overlay.environment(), dir,
                                    log, sleep, merged == null, connect);
                            if (h == null && dirs.failure() == null) {
                                throw new DavitException(Kind.INTERNAL, "sandbox " + id + " did not start: "
                                        + readLog(log));
                            }
                            if (h != null && merged != null) {
                                try {
                                    Files.writeString(given, "");
                                } catch (IOException e) {
                                    throw new DavitException(Kind.STORE, "cannot write " + given + ": "
                                            + e.getMessage());
                                }
                            }
                            return h;
                        }
                        if (merged == null) {
                            cmd.addAll(nat == null ? bw : Nat.wrap(nat, dir, bw));
                            return launch(id, Cgroups.wrap(cg, cmd, dir), Map.of(), dir, log, sleep, true, connect);
                        }
                        List<String> ovl = Overlay.wrap(unshare, rootfs, dirs, bw);
                        cmd.addAll(nat == null ? ovl : Nat.wrap(nat, dir, ovl));
                        ProcessHandle[] h = launch(id, Cgroups.wrap(cg, cmd, dir), Overlay.environment(), dir, log,
                                sleep, false, connect);
                        if (h == null && dirs.failure() == null) {
                            throw new DavitException(Kind.INTERNAL, "sandbox " + id + " did not start: "
                                    + readLog(log));
                        }
                        return h;
                    });
        } catch (IOException e) {
            Cgroups.removeRecorded(dir);
            throw new DavitException(Kind.STORE, "cannot start sandbox " + id + " in " + dir + ": " + e.getMessage());
        } catch (RuntimeException e) {
            Cgroups.removeRecorded(dir);
            throw e;
        }
        ProcessHandle bw = started[0];
        ProcessHandle init = started[1];
        Sandbox running = new Sandbox(id, SandboxStatus.RUNNING, s.spec(), s.createdAt(), Instant.now(), bw.pid(),
                Host.startTime(bw.pid()), init.pid(), Host.startTime(init.pid()));
        save.accept(running);
        return running;
    }

    /** The directories of a jailed long-lived sandbox that every exec shares with the keeper, by mount target. */
    static final Map<String, String> SHARED = Map.of("tmp", "tmp", "run", "run", "var/tmp", "var-tmp", "dev/shm",
            "shm");

    /**
     * {@link #start} as root: the keeper in the sandbox's own user namespace over its overlay of the idmapped
     * rootfs (see {@link Jail}), its /tmp, /run, /var/tmp and /dev/shm directories of the state directory (kept in
     * the jail's mount namespace, where every exec's bubblewrap finds them again; all but /tmp emptied at each
     * start, as the tmpfs they stand for would be).
     */
    private Sandbox startJailed(Sandbox s, Path bwrap, Path setsid, Path rootfs, String sleep, Path dir, Path log) {
        String id = s.id();
        int[] ids = BwrapBackend.nonRoot(Users.resolve(rootfs, s.spec().image().user()));
        Path filter = Jail.seccompFile(options);
        Nat.Tools nat = s.spec().network().ownNamespace() ? Nat.tools(options, s.spec().network()) : null;
        java.util.function.Consumer<Process> connect = nat == null ? null
                : p -> Nat.attach(nat, p.pid(), dir, true, s.spec().publish());
        Disk.ensureMounted(options, dir); // after a reboot
        Cgroups.Cgroup cg = s.spec().limits().any() ? Cgroups.create(id, s.spec().limits(), dir) : null;
        ProcessHandle[] started;
        try (Jail.Namespace ns = Jail.newNamespace(options, ids)) {
            Map<String, Path> binds = Jail.binds();
            shareScratch(dir, ns.range(), binds, true);
            Overlay.Dirs dirs = Overlay.Dirs.under(dir);
            MountPoints.Root root = MountPoints.prepareJailed(rootfs, MountPoints.bwrapTargets(s.spec()), dirs,
                    s.spec().network(), dir, ns.range(), binds);
            ExtraMounts.prepare(s.spec(), rootfs, dirs.upper(), ns.range(), ns.range(), options, false);
            ExtraMounts.addBinds(s.spec(), binds);
            started = Jail.run(options, ns, rootfs, dirs.upper(), dirs.work(), binds, jail -> {
                List<String> bw = new ArrayList<>(List.of(bwrap.toString()));
                bw.addAll(BwrapBackend.namespaceOptions(s.spec().network().enabled(), true));
                bw.addAll(List.of("--hostname", id));
                bw.addAll(Jail.bwrapOptions(ns.range(), ids));
                BwrapBackend.rootAndMounts(bw, rootfs, root, jailShared(), MountPoints.bwrapTargets(s.spec()));
                privateTmpfs(bw, rootfs, s.spec());
                ExtraMounts.bwrapOptions(bw, s.spec(), true);
                bw.addAll(List.of("--clearenv", "--setenv", "PATH", RunSpec.DEFAULT_PATH, "--chdir", "/", "--",
                        sleep, "2147483647"));
                List<String> launch = jail.apply(Jail.launcher(options, ns.range(), ns.path(), filter, ids, bw));
                List<String> cmd;
                if (nat == null && Jail.isHelperMode(launch)) {
                    cmd = Jail.withSteps(launch, List.of("--session")); // davit-exec's own setsid
                } else {
                    cmd = new ArrayList<>(List.of(setsid.toString()));
                    cmd.addAll(nat == null ? launch : Nat.wrap(nat, dir, launch));
                }
                return launch(id, Cgroups.wrap(cg, cmd, dir), Map.of(), dir, log, sleep, true, connect);
            });
        } catch (IOException e) {
            Cgroups.removeRecorded(dir);
            throw new DavitException(Kind.STORE, "cannot start sandbox " + id + " in " + dir + ": " + e.getMessage());
        } catch (RuntimeException e) {
            Nat.stop(dir); // the holder of its network namespace, had the start failed before attaching it
            Cgroups.removeRecorded(dir);
            throw e;
        }
        Sandbox running = new Sandbox(id, SandboxStatus.RUNNING, s.spec(), s.createdAt(), Instant.now(),
                started[0].pid(), Host.startTime(started[0].pid()), started[1].pid(),
                Host.startTime(started[1].pid()));
        save.accept(running);
        return running;
    }

    /**
     * Makes the scratch directories ({@link #SHARED}) on the sandbox's disk ({@link Disk#root}), empties all but
     * /tmp (with {@code keepTmp}: a long-lived sandbox's /tmp lasts) and adds them to {@code binds}; returns their
     * sources in the jail's mount namespace, by mount target (for {@link BwrapBackend#rootAndMounts}).
     */
    static Map<String, Path> shareScratch(Path state, dev.davit.sandbox.jail.IdRange range, Map<String, Path> binds,
                                          boolean keepTmp) throws IOException {
        Path root = Disk.root(state);
        for (Map.Entry<String, String> e : SHARED.entrySet()) {
            Path d = root.resolve(e.getValue());
            if (!(keepTmp && e.getKey().equals("tmp"))) {
                Host.deleteTree(d);
            }
            Files.createDirectories(d);
            Files.setAttribute(d, "unix:mode", e.getKey().equals("run") ? 0755 : 01777);
            Jail.own(d, range, 0, 0);
            binds.put(e.getValue(), d);
        }
        return jailShared();
    }

    /**
     * A long-lived sandbox's {@link dev.davit.sandbox.CreateSpec#PRIVATE_TMPFS}, where /run is mounted (not in a
     * sandbox whose /run is its layer's: the mount point would be in the layer).
     */
    private static void privateTmpfs(List<String> bw, Path rootfs, dev.davit.sandbox.CreateSpec spec) {
        if (!spec.scratchInLayer() && MountPoints.mounted(rootfs, "run")) {
            bw.addAll(List.of("--perms", "0700", "--size", Integer.toString(1 << 20), "--tmpfs",
                    dev.davit.sandbox.CreateSpec.PRIVATE_TMPFS));
        }
    }

    /** The shared directories' sources in the jail's mount namespace, by mount target. */
    private static Map<String, Path> jailShared() {
        Map<String, Path> m = new java.util.LinkedHashMap<>();
        SHARED.forEach((target, name) -> m.put(target, Jail.DIR.resolve(name)));
        return m;
    }

    /** bwrap's arguments for a sandbox's keeper over {@code root} (see {@link MountPoints#prepare}). */
    private static List<String> bwrapArguments(Path bwrap, Sandbox s, Path rootfs, MountPoints.Root root, Path dir,
                                               String sleep, Path filter, boolean subids) {
        List<String> cmd = new ArrayList<>(List.of(bwrap.toString()));
        BwrapBackend.rootlessNamespaces(cmd, s.spec().network().enabled(), subids);
        cmd.addAll(List.of("--hostname", s.id()));
        // a non-root image User: the sandbox's user namespace maps that user (as davit run does), so exec can
        // become it; the keeper runs as it too
        int[] ids = Users.resolve(rootfs, s.spec().image().user());
        BwrapBackend.rootlessUser(cmd, ids, subids);
        BwrapBackend.rootAndMounts(cmd, rootfs, root, Map.of("tmp", dir.resolve("tmp")),
                MountPoints.bwrapTargets(s.spec()));
        privateTmpfs(cmd, rootfs, s.spec());
        ExtraMounts.bwrapOptions(cmd, s.spec(), false);
        cmd.addAll(Jail.capabilityOptions(BwrapBackend.nonRoot(ids) == null ? 0 : ids[0]));
        cmd.addAll(List.of("--seccomp", Integer.toString(Jail.SECCOMP_FD)));
        cmd.addAll(List.of("--clearenv", "--setenv", "PATH", RunSpec.DEFAULT_PATH, "--chdir", "/", "--", sleep,
                "2147483647"));
        return subids ? cmd : Jail.withFilter(filter, cmd); // Subids.chain opens the filter itself
    }

    /** The state directory's mark that a sandbox's recorded owners were given (see {@link Subids#chain}). */
    private static final String OWNERS_GIVEN = "owners.given";

    /**
     * Starts the detached keeper and waits until it runs: bwrap's child (the sandbox's pid 1) has a child that
     * exec'd {@code sleep}, so the mounts are done. Returns {bwrap, pid 1}, or null when it exited first and
     * {@code mustStart} is false (the caller falls back); throws when it did not start otherwise.
     */
    private static ProcessHandle[] launch(String id, List<String> cmd, Map<String, String> env, Path dir, Path log,
                                          String sleep, boolean mustStart,
                                          java.util.function.Consumer<Process> connect) {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
        pb.redirectErrorStream(true);
        pb.directory(dir.toFile());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start " + cmd.get(0) + ": " + e.getMessage());
        }
        if (connect != null) {
            try {
                connect.accept(p); // ends an earlier attempt's slirp4netns (the overlay fallback) first
            } catch (RuntimeException e) {
                Host.killTree(p);
                Nat.stop(dir);
                throw e;
            }
        }
        long deadline = System.nanoTime() + START_WAIT.toNanos();
        while (System.nanoTime() < deadline && p.isAlive()) {
            long init = children(p.pid()).findFirst().orElse(0);
            if (init > 0 && children(init).anyMatch(k -> argv0(k).equals(sleep))) {
                ProcessHandle h = ProcessHandle.of(init).orElse(null);
                if (h != null && h.parent().map(ProcessHandle::pid).orElse(0L) == p.pid()) {
                    return new ProcessHandle[] {p.toHandle(), h};
                }
            }
            // a start takes some 20-60 ms: a look costs a few small reads of /proc, or (no children files) a scan
            sleep(CHILDREN_FILES ? 2 : 20);
        }
        Host.killTree(p);
        if (!mustStart) {
            return null;
        }
        String why = readLog(log);
        throw new DavitException(Kind.INTERNAL, "sandbox " + id + " did not start" + (why.isEmpty() ? "" : ": " + why));
    }

    /**
     * Runs {@code argv} in running sandbox {@code s} (see {@code Sandboxes.exec}); {@code t0}
     * is when the call began, for the timings.
     */
    @Override
    public ExecResult exec(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Duration timeout,
                           long maxOutput, int capture, java.io.InputStream stdin, java.io.OutputStream stdoutTee,
                           java.io.OutputStream stderrTee, long t0) {
        String id = s.id();
        Cgroups.Cgroup cg = s.spec().limits().any() ? Cgroups.existing(id, dir(s), s.spec().limits()) : null;
        long oomBefore = cg == null ? 0 : cg.oomKills();
        Path joinFailed = dir(s).resolve(Cgroups.JOIN_FAILED);
        try {
            Files.deleteIfExists(joinFailed);
        } catch (IOException e) {
            // a stale marker only makes a failed join's message wrong
        }
        ProcessBuilder pb = enter(s, argv, env, workdir, cg);
        // a session of its own: in ours the command had our controlling terminal (the CLI user's, an MCP client's),
        // which the sandbox's /dev/tty reached: it could write to it, read what is typed there and make itself its
        // foreground process group, even after the exec ended (Detached's spawns have setsid already)
        if (Jail.isHelperMode(pb.command())) {
            pb.command(Jail.withSteps(pb.command(), List.of("--session"))); // davit-exec's own setsid
        } else {
            List<String> session = new ArrayList<>(List.of(Host.tool(options.searchPath(), "setsid").toString(), "-w"));
            session.addAll(pb.command());
            pb.command(session);
        }
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        long t1 = System.nanoTime();
        Disk.Watch disk = Disk.watch(dir(s));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            disk.close();
            throw new DavitException(Kind.INTERNAL, "cannot start " + pb.command().get(0) + ": " + e.getMessage());
        }
        if (stdin != null) {
            BwrapBackend.feed(stdin, p, id + "-exec");
        }
        long t2 = System.nanoTime();
        CappedSink out = new CappedSink(capture);
        CappedSink err = new CappedSink(capture);
        // past the output limit: nsenter's child and what it started are its descendants in the host's view
        OutputLimit limit = OutputLimit.closable(maxOutput, () -> Host.killTree(p));
        Thread po = BwrapBackend.pump(p.getInputStream(), out, stdoutTee, id + "-exec-stdout", limit);
        Thread pe = BwrapBackend.pump(p.getErrorStream(), err, stderrTee, id + "-exec-stderr", limit);
        boolean timedOut = false;
        int rc;
        try {
            if (timeout == null) {
                p.waitFor();
            } else if (!p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                timedOut = true;
                // nsenter's child and what it started are its descendants in the host's view
                List<ProcessHandle> kids = p.descendants().toList();
                kids.forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
            rc = p.waitFor();
        } catch (InterruptedException e) {
            disk.close();
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while exec ran in sandbox " + id);
        }
        disk.close();
        long t3 = System.nanoTime();
        // a process the command left in the background keeps our pipes open: what the command wrote is read
        // within the grace period, then the pumps pass nothing more (they drain the pipes until that process
        // closes them), so the exec returns and nothing reaches the tees after its result
        long grace = System.nanoTime() + PIPE_GRACE.toNanos();
        join(po, grace);
        join(pe, grace);
        limit.close();
        boolean limited = OutputLimit.exceeded(limit);
        if (limited) {
            timedOut = false;
            rc = ExecResult.OUTPUT_LIMIT_EXIT_CODE;
        } else if (timedOut) {
            rc = ExecResult.TIMEOUT_EXIT_CODE;
        }
        if (Files.exists(joinFailed)) {
            throw new DavitException(Kind.INTERNAL, Message.of("the command could not enter the cgroup of sandbox "
                    + id + "; recreate the sandbox, or create it with ", Input.NO_LIMITS));
        }
        boolean oom = cg != null && cg.oomKills() > oomBefore;
        boolean diskFull = disk.full();
        if (!timedOut && !limited) {
            // bubblewrap's, davit-exec's or nsenter's own failure before the command ran: a working directory that
            // is not there, a command that cannot be found or run
            rc = BwrapBackend.interpret(rc, err.captured(), runSpec(s, argv, env, workdir).effectiveWorkdir());
        }
        long t4 = System.nanoTime();
        return new ExecResult(id, BwrapBackend.NAME, BwrapBackend.RUNTIME, rc, out.captured(), err.captured(), timedOut,
                new ExecResult.Timings(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3)),
                out.truncated() || err.truncated() || limited, oom, limited, diskFull);
    }

    /**
     * A process builder for {@code argv} run in running container sandbox {@code s} as an exec runs: nsenter into
     * its namespaces (and, with {@code cg}, its cgroup), its environment with {@code env} on top, {@code workdir}
     * (null: the sandbox's), the image's user. Nothing is started.
     */
    public ProcessBuilder enter(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Cgroups.Cgroup cg) {
        return enter(s, argv, env, workdir, cg, false);
    }

    /**
     * {@link #enter}; with {@code terminal} the command keeps the caller's session (its terminal becomes the
     * command's), else it gets a session of its own.
     */
    public ProcessBuilder enter(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Cgroups.Cgroup cg,
                                boolean terminal) {
        RunSpec rs = runSpec(s, argv, env, workdir);
        if (Jail.active()) {
            return enterJailed(s, argv, rs, cg, terminal);
        }
        Path helper = Jail.execHelper(options);
        if (helper != null) {
            // rootless, the same helper: it joins the keeper's user namespaces as their owner (see davit-exec.c)
            return enterWithHelper(s, argv, rs, cg, helper);
        }
        Path nsenter = Host.tool(options.searchPath(), "nsenter");
        long target = s.initPid();
        List<String> cmd = new ArrayList<>(List.of(nsenter.toString(), "--target", Long.toString(target), "--mount",
                "--uts", "--ipc", "--net", "--pid"));
        boolean userns = !sameNamespace(target, "user");
        // without root, the sandbox's user namespace denies setgroups, which nsenter calls to become uid 0 there:
        // keep our credentials instead, which that namespace maps to the keeper's user (root, or the image's User)
        boolean preserve = userns && !Overlay.ROOT;
        if (userns) {
            cmd.add("--user");
        }
        if (preserve) {
            cmd.add("--preserve-credentials");
        }
        if (!sameNamespace(target, "cgroup")) {
            cmd.add("--cgroup");
        }
        // the working directory is resolved inside: --wdns changes to it after the namespaces and the sandbox's root
        // (so a link the sandbox made to / leads to the sandbox's /); never --wd, which nsenter opens from the
        // host's root before it enters anything, nor a host-side look at /proc/PID/root/WD (the host's links)
        cmd.addAll(List.of("--root", "--wdns=" + rs.effectiveWorkdir()));
        // the image's User, as davit run applies it (names looked up in the sandbox's /etc/passwd and /etc/group)
        int[] ids = Users.resolve(s.spec().rootfs(), s.spec().image().user());
        if (ids != null && !(ids[0] == 0 && ids[1] == 0) && !preserve) {
            cmd.addAll(List.of("--setuid", Integer.toString(ids[0]), "--setgid", Integer.toString(ids[1])));
        }
        cmd.add("--");
        cmd.addAll(argv);
        // the command joins the sandbox's cgroup before nsenter runs: its limits hold for the keeper and every exec
        ProcessBuilder pb = new ProcessBuilder(Cgroups.wrap(cg, cmd, dir(s)));
        pb.environment().clear();
        // nsenter passes its environment on to the command; but it, and the cgroup's join before it, are host
        // programs that the host's loader and shell start with that environment: what would make them load or run
        // a file the sandbox chose (LD_PRELOAD=tmp/x.so names the sandbox's /tmp from this working directory) is
        // left out here, so this weaker exec (rootless, without davit-exec) does not pass such variables on
        pb.environment().putAll(withoutHostLoaderVariables(rs.effectiveEnv()));
        pb.environment().putIfAbsent("PWD", rs.effectiveWorkdir()); // as bwrap sets it for davit run
        pb.directory(dir(s).toFile());
        return pb;
    }

    /**
     * The variables that make the host's dynamic loader, libc or shell read or run a file they name (glibc's list of
     * variables it ignores for a setuid program, and the shells' start-up files): never given to a host program.
     */
    static final java.util.Set<String> HOST_LOADER_VARIABLES = java.util.Set.of("GCONV_PATH", "GETCONF_DIR",
            "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "MALLOC_TRACE", "NIS_PATH", "NLSPATH",
            "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "CDPATH",
            "IFS");

    /** {@code env} without {@link #HOST_LOADER_VARIABLES} and without any {@code LD_*} variable. */
    static Map<String, String> withoutHostLoaderVariables(Map<String, String> env) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        env.forEach((k, v) -> {
            if (!k.startsWith("LD_") && !HOST_LOADER_VARIABLES.contains(k)) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** What an exec of {@code argv} in {@code s} runs: its environment with {@code env} on top, its workdir. */
    private static RunSpec runSpec(Sandbox s, List<String> argv, Map<String, String> env, String workdir) {
        Map<String, String> merged = new java.util.LinkedHashMap<>(s.spec().env());
        if (env != null) {
            merged.putAll(env);
        }
        return new RunSpec(s.spec().rootfs(), argv, merged, workdir != null ? workdir : s.spec().workdir(),
                null, s.spec().network(), s.spec().image());
    }

    /**
     * A jailed sandbox's exec: nsenter into the mount namespace of the keeper's bubblewrap (the jail's, where the
     * sandbox's root and shared directories are mounted) and the keeper's network, IPC, UTS, pid and cgroup
     * namespaces, then a bubblewrap of its own (as the keeper's is made) that joins the keeper's user namespace,
     * makes a mount namespace over the same root and directories, and starts the command with the same
     * capabilities, masks and seccomp filter. The working directory is resolved inside the sandbox, by bubblewrap.
     */
    private ProcessBuilder enterJailed(Sandbox s, List<String> argv, RunSpec rs, Cgroups.Cgroup cg, boolean terminal) {
        Path rootfs = s.spec().rootfs();
        int[] ids = BwrapBackend.nonRoot(Users.resolve(rootfs, s.spec().image().user()));
        String init = Long.toString(s.initPid());
        Path helper = Jail.execHelper(options);
        if (helper != null) {
            // the fast way: into the keeper's own namespaces, confined there by davit's static helper
            return enterWithHelper(s, argv, rs, cg, helper);
        }
        Path nsenter = Host.tool(options.searchPath(), "nsenter");
        List<String> cmd = new ArrayList<>(List.of(nsenter.toString(), "--target", Long.toString(s.bwrapPid()),
                "--mount"));
        // not the pid namespace: bubblewrap joins it itself (--pidns), so that its /proc is the one of that namespace
        for (String ns : List.of("net", "ipc", "uts", "cgroup")) {
            cmd.add("--" + ns + "=" + Path.of("/proc", init, "ns", ns));
        }
        cmd.add("--");
        List<String> bw = new ArrayList<>(List.of(options.bwrap().toString()));
        if (!terminal) {
            bw.add("--new-session");
        }
        bw.addAll(List.of("--pidns", Integer.toString(Jail.PIDNS_FD)));
        bw.addAll(Jail.bwrapOptions(Jail.range(), ids));
        BwrapBackend.rootAndMounts(bw, rootfs, MountPoints.jailRoot(Files.exists(dir(s).resolve(Dns.FILE))),
                jailShared(), MountPoints.bwrapTargets(s.spec()));
        if (!s.spec().mounts().isEmpty()) { // never mounted again through its live layer (see ExtraMounts.prepare)
            throw new DavitException(Kind.HOST_UNSUPPORTED, "sandbox " + s.id() + " has mounts, which an exec reaches"
                    + " only through davit's exec helper davit-exec; build davit with gcc installed");
        }
        Map<String, String> env = new java.util.LinkedHashMap<>(rs.effectiveEnv());
        env.putIfAbsent("PWD", rs.effectiveWorkdir());
        BwrapBackend.environment(bw, env);
        bw.addAll(List.of("--chdir", rs.effectiveWorkdir(), "--"));
        bw.addAll(argv);
        cmd.addAll(Jail.launcher(options, Jail.range(), Path.of("/proc", init, "ns", "user"),
                Path.of("/proc", init, "ns", "pid"), Jail.seccompFile(options), ids, bw));
        ProcessBuilder pb = new ProcessBuilder(Cgroups.wrap(cg, cmd, dir(s)));
        pb.environment().clear();
        pb.directory(dir(s).toFile());
        return pb;
    }

    /**
     * An exec through davit-exec (as root or not): it joins the keeper's namespaces and confines the command there
     * as a one-shot run is confined (the default capabilities or none, no_new_privs, the seccomp filter).
     */
    private ProcessBuilder enterWithHelper(Sandbox s, List<String> argv, RunSpec rs, Cgroups.Cgroup cg, Path helper) {
        int[] ids = BwrapBackend.nonRoot(Users.resolve(s.spec().rootfs(), s.spec().image().user()));
        ProcessBuilder pb = new ProcessBuilder(Cgroups.wrap(cg, Jail.execLauncher(options, s.initPid(), helper,
                ids, rs.effectiveWorkdir(), argv), dir(s)));
        Map<String, String> env = new java.util.LinkedHashMap<>(rs.effectiveEnv());
        env.putIfAbsent("PWD", rs.effectiveWorkdir());
        pb.environment().clear();
        pb.environment().putAll(Jail.execEnvironment(env)); // only davit-exec gives the command its variables
        pb.directory(dir(s).toFile());
        return pb;
    }

    /** The keeper: the rootfs's own sleep, as an absolute path inside the sandbox. */
    private static String sleepCommand(Path rootfs) {
        for (String d : SLEEP_DIRS) {
            if (Files.exists(rootfs.resolve(d).resolve("sleep"))) {
                return "/" + d + "/sleep";
            }
        }
        throw new DavitException(Kind.USAGE, "the root filesystem " + rootfs + " has no sleep command (in /bin,"
                + " /usr/bin, /sbin or /usr/sbin); a long-lived sandbox needs one for its keeper process");
    }

    /** Whether this kernel has /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN). */
    private static final boolean CHILDREN_FILES = Files.exists(Path.of("/proc/self/task",
            Long.toString(ProcessHandle.current().pid()), "children"));

    /**
     * The children of single-threaded process {@code pid} (bwrap, and the tools exec'd before it), from
     * /proc/PID/task/PID/children; else (a kernel without those files) by a scan of all processes.
     */
    private static java.util.stream.LongStream children(long pid) {
        try {
            String c = Files.readString(Path.of("/proc", Long.toString(pid), "task", Long.toString(pid), "children"));
            return java.util.Arrays.stream(c.trim().split(" ")).filter(x -> !x.isEmpty()).mapToLong(Long::parseLong);
        } catch (java.nio.file.NoSuchFileException e) {
            return ProcessHandle.of(pid).stream().flatMap(ProcessHandle::children).mapToLong(ProcessHandle::pid);
        } catch (IOException | NumberFormatException e) {
            return java.util.stream.LongStream.empty();
        }
    }

    private static String argv0(long pid) {
        try {
            byte[] b = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            int n = 0;
            while (n < b.length && b[n] != 0) {
                n++;
            }
            return new String(b, 0, n, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static boolean sameNamespace(long pid, String ns) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/ns", ns))
                    .equals(Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", ns)));
        } catch (IOException e) {
            return true; // no such namespace type here: nothing to enter
        }
    }

    private static String readLog(Path log) {
        try {
            return new String(Files.readAllBytes(log), StandardCharsets.UTF_8).strip().replace('\n', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    /** Waits for {@code t} until {@code deadline} (System.nanoTime). */
    private static void join(Thread t, long deadline) {
        try {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
