package dev.davit.sandbox.container;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.backend.Nat;
import dev.davit.sandbox.backend.Users;
import dev.davit.sandbox.host.Host;
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
import java.util.function.Consumer;

/**
 * The keeper of a long-lived container sandbox, for {@link ContainerLifecycle}: the detached bubblewrap whose pid 1
 * runs the rootfs's own {@code sleep}, started rootless (over an overlay, or a read-only root with a persistent
 * /tmp) or as root in the jail ({@link Jail}), and the directories every exec shares with it.
 */
final class Keeper {
    private static final List<String> SLEEP_DIRS = List.of("bin", "usr/bin", "sbin", "usr/sbin");
    private static final Duration START_WAIT = Duration.ofSeconds(10);

    private final SandboxOptions options;
    private final Consumer<Sandbox> save;

    Keeper(SandboxOptions options, Consumer<Sandbox> save) {
        this.options = options;
        this.save = save;
    }

    private Path dir(Sandbox s) {
        return options.stateDir().resolve(s.id());
    }

    /** Starts the keeper of created, stopped or failed (and cleaned-up) sandbox {@code s}; returns it running. */
    Sandbox start(Sandbox s) {
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
    static Map<String, Path> jailShared() {
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

    /**
     * The first 2 KiB of a launch's log (the failure of bwrap, davit-exec or the cgroup join before the sandbox's own
     * code ran, though a sandbox could write there too), as one line; "" when it cannot be read.
     */
    static String readLog(Path log) {
        try (java.io.InputStream in = Files.newInputStream(log)) {
            return new String(in.readNBytes(2048), StandardCharsets.UTF_8).strip().replace('\n', ' ');
        } catch (IOException | java.io.UncheckedIOException e) {
            return "";
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
