package dev.davit.sandbox;

import dev.davit.sandbox.container.BwrapBackend;
import dev.davit.sandbox.container.CappedSink;
import dev.davit.sandbox.container.MountPoints;
import dev.davit.sandbox.container.OutputLimit;
import dev.davit.sandbox.container.Overlay;
import dev.davit.sandbox.container.Users;
import dev.davit.sandbox.vm.Machine;
import dev.davit.sandbox.vm.QemuBackend;
import dev.davit.sandbox.vm.VmLifecycle;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Json;
import dev.davit.oci.store.Fs;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Long-lived sandboxes. The {@code vm} backend's start, exec and sync are in {@link VmLifecycle}; the rest is here:
 * the {@code container} backend, described below. State lives in {@code <stateDir>/<id>/state.json}
 * (written atomically), so a new instance (a later davit) sees the same sandboxes.
 *
 * <pre>
 * setsid bwrap --unshare-all [--share-net] --hostname ID --ro-bind ROOTFS / --proc /proc --dev /dev
 *       --bind STATE/tmp /tmp --tmpfs /run --tmpfs /var/tmp --clearenv --setenv PATH ... -- sleep 2147483647
 * nsenter --target INIT --mount --uts --ipc --net --pid [--user] [--cgroup] --root --wd=DIR -- ARGV
 * </pre>
 *
 * The bwrap process is detached (own session, no --die-with-parent) and outlives davit; its pid and that of the
 * sandbox's pid 1 are recorded with their start times, so a pid that was reused is never taken for the sandbox.
 */
public final class Lifecycle {
    static final String STATE_FILE = "state.json";
    static final String LIFECYCLE_LOCK = "lifecycle.lock";
    private static final Pattern ID = Pattern.compile("sbx-[0-9a-f]{12}");
    private static final List<String> SLEEP_DIRS = List.of("bin", "usr/bin", "sbin", "usr/sbin");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Duration START_WAIT = Duration.ofSeconds(10);

    private final SandboxOptions options;
    private final VmLifecycle vm;

    Lifecycle(SandboxOptions options) {
        this.options = options;
        this.vm = new VmLifecycle(options, this::save);
    }

    Sandbox create(CreateSpec spec) {
        CreateSpec resolved = spec.isVm() ? spec.withRootfs(Machine.environment(spec.rootfs()).dir())
                : spec.withRootfs(realRootfs(spec.rootfs()));
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        String id = "sbx-" + HexFormat.of().formatHex(b);
        Path dir = options.stateDir().resolve(id);
        if (spec.isVm()) {
            Machine.checkSocketPath(dir);
        }
        try {
            Files.createDirectories(spec.isVm() ? dir : dir.resolve("tmp"));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create the sandbox directory " + dir + ": " + e.getMessage());
        }
        Sandbox s = new Sandbox(id, SandboxStatus.CREATED, resolved, Instant.now(), null, 0, 0, 0, 0);
        save(s);
        return s;
    }

    Sandbox start(String id) {
        return locked(id, () -> startLocked(id));
    }

    private Sandbox startLocked(String id) {
        Sandbox s = status(id);
        if (s.status() == SandboxStatus.RUNNING) {
            return s;
        }
        if (s.status() == SandboxStatus.FAILED) {
            kill(s); // whatever is left of it
        }
        if (s.spec().isVm()) {
            return vm.start(s);
        }
        Path bwrap = options.bwrapOrNull();
        if (bwrap == null) {
            throw new DavitException(Kind.NOT_FOUND, "bwrap (bubblewrap) is not installed; install the bubblewrap"
                    + " package (see 'davit doctor')");
        }
        Path setsid = tool("setsid");
        Path rootfs = realRootfs(s.spec().rootfs());
        String sleep = sleepCommand(rootfs);
        Path dir = dir(id);
        Path log = dir.resolve("bwrap.log");
        try {
            Files.createDirectories(dir.resolve("tmp"));
            Files.setAttribute(dir.resolve("tmp"), "unix:mode", 01777); // the sandbox's /tmp, for any user
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create " + dir.resolve("tmp") + ": " + e.getMessage());
        }
        Overlay.Dirs dirs = Overlay.Dirs.under(dir);
        Path unshare = options.which("unshare");
        Nat.Tools nat = s.spec().network() == Network.NAT ? Nat.tools(options) : null;
        java.util.function.Consumer<Process> connect = nat == null ? null
                : p -> Nat.attach(nat, p.pid(), dir, true, s.spec().publish());
        // the keeper and every exec share one cgroup with the sandbox's limits, made anew by each start
        Cgroups.Cgroup cg = s.spec().limits().any() ? Cgroups.create(id, s.spec().limits(), dir) : null;
        ProcessHandle[] started;
        try {
            // over the overlay, or (no overlay here) a read-only root with a persistent /tmp
            started = Overlay.runWithFallback(unshare != null && Overlay.usable(rootfs, dirs), dirs, null, () -> { },
                    merged -> {
                        List<String> cmd = new ArrayList<>(List.of(setsid.toString()));
                        List<String> bw = bwrapArguments(bwrap, s, rootfs, MountPoints.prepare(rootfs,
                                MountPoints.BWRAP, dirs, merged).withDns(rootfs, s.spec().network(), dir), dir, sleep);
                        if (merged == null) {
                            cmd.addAll(nat == null ? bw : Nat.wrap(nat, bw));
                            return launch(id, Cgroups.wrap(cg, cmd, dir), Map.of(), dir, log, sleep, true, connect);
                        }
                        List<String> ovl = Overlay.wrap(unshare, rootfs, dirs, bw);
                        cmd.addAll(nat == null ? ovl : Nat.wrap(nat, ovl));
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
                startTime(bw.pid()), init.pid(), startTime(init.pid()));
        save(running);
        return running;
    }

    /** bwrap's arguments for a sandbox's keeper over {@code root} (see {@link MountPoints#prepare}). */
    private static List<String> bwrapArguments(Path bwrap, Sandbox s, Path rootfs, MountPoints.Root root, Path dir,
                                               String sleep) {
        List<String> cmd = new ArrayList<>(List.of(bwrap.toString(), "--unshare-all"));
        if (s.spec().network().enabled()) {
            cmd.add("--share-net"); // the host's, or (NAT) the namespace the wrapper made, see Nat
        }
        cmd.addAll(List.of("--hostname", s.id()));
        // a non-root image User: the sandbox's user namespace maps that user (as davit run does), so exec can
        // become it; the keeper runs as it too
        int[] ids = Users.resolve(rootfs, s.spec().image().user());
        if (ids != null && !(ids[0] == 0 && ids[1] == 0)) {
            cmd.addAll(List.of("--unshare-user", "--uid", Integer.toString(ids[0]), "--gid",
                    Integer.toString(ids[1])));
        }
        BwrapBackend.rootAndMounts(cmd, rootfs, root, dir.resolve("tmp"));
        cmd.addAll(List.of("--clearenv", "--setenv", "PATH", RunSpec.DEFAULT_PATH, "--chdir", "/", "--", sleep,
                "2147483647"));
        return cmd;
    }

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
                Nat.stop(dir); // an earlier attempt's (the overlay fallback)
                connect.accept(p);
            } catch (RuntimeException e) {
                BwrapBackend.killTree(p);
                Nat.stop(dir);
                throw e;
            }
        }
        long deadline = System.nanoTime() + START_WAIT.toNanos();
        while (System.nanoTime() < deadline && p.isAlive()) {
            ProcessHandle init = p.children().findFirst().orElse(null);
            if (init != null && init.children().anyMatch(k -> argv0(k.pid()).equals(sleep))) {
                return new ProcessHandle[] {p.toHandle(), init};
            }
            sleep(20);
        }
        BwrapBackend.killTree(p);
        if (!mustStart) {
            return null;
        }
        String why = readLog(log);
        throw new DavitException(Kind.INTERNAL, "sandbox " + id + " did not start" + (why.isEmpty() ? "" : ": " + why));
    }

    /** The files of running vm sandbox {@code id}, through its agent. */
    GuestFiles guestFiles(String id) {
        Sandbox s = status(id);
        if (!s.spec().isVm()) {
            throw new DavitException(Kind.USAGE, "sandbox " + id + " is a container: its files are on the host (see"
                    + " filesOnHost)");
        }
        if (s.status() != SandboxStatus.RUNNING) {
            throw new DavitException(Kind.USAGE, "sandbox " + id + " is " + s.status().label() + ", not running;"
                    + " start it first");
        }
        return new GuestFiles(vm, s);
    }

    ExecResult exec(String id, List<String> argv, Map<String, String> env, String workdir, Duration timeout,
                    java.io.InputStream stdin, java.io.OutputStream stdoutTee, java.io.OutputStream stderrTee) {
        return exec(id, argv, env, workdir, timeout, 0, stdin, stdoutTee, stderrTee);
    }

    ExecResult exec(String id, List<String> argv, Map<String, String> env, String workdir, Duration timeout,
                    long maxOutput, java.io.InputStream stdin, java.io.OutputStream stdoutTee,
                    java.io.OutputStream stderrTee) {
        long t0 = System.nanoTime();
        if (argv == null || argv.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a command to run");
        }
        Sandbox s = status(id);
        if (s.status() != SandboxStatus.RUNNING) {
            throw new DavitException(Kind.USAGE, "sandbox " + id + " is " + s.status().label() + ", not running");
        }
        if (maxOutput < 0) {
            throw new DavitException(Kind.USAGE, "--max-output must be a positive number of bytes, not " + maxOutput);
        }
        if (s.spec().isVm()) {
            QemuBackend.refuseMaxOutput(maxOutput);
            if (stdin != null) {
                throw new DavitException(Kind.USAGE, "the vm backend cannot pass standard input to a command yet;"
                        + " put the input in a file inside the sandbox");
            }
            ExecResult r = vm.exec(s, argv, env, workdir, timeout);
            QemuBackend.tee(stdoutTee, r.stdout());
            QemuBackend.tee(stderrTee, r.stderr());
            return r;
        }
        Cgroups.Cgroup cg = s.spec().limits().any() ? Cgroups.existing(id) : null;
        long oomBefore = cg == null ? 0 : cg.oomKills();
        Path joinFailed = dir(id).resolve(Cgroups.JOIN_FAILED);
        try {
            Files.deleteIfExists(joinFailed);
        } catch (IOException e) {
            // a stale marker only makes a failed join's message wrong
        }
        ProcessBuilder pb = enter(s, argv, env, workdir, cg);
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        long t1 = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start " + pb.command().get(0) + ": " + e.getMessage());
        }
        if (stdin != null) {
            BwrapBackend.feed(stdin, p, id + "-exec");
        }
        long t2 = System.nanoTime();
        CappedSink out = new CappedSink();
        CappedSink err = new CappedSink();
        // past the output limit: nsenter's child and what it started are its descendants in the host's view
        OutputLimit limit = OutputLimit.of(maxOutput, () -> BwrapBackend.killTree(p));
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
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.INTERNAL, "interrupted while exec ran in sandbox " + id);
        }
        long t3 = System.nanoTime();
        join(po);
        join(pe);
        boolean limited = OutputLimit.exceeded(limit);
        if (limited) {
            timedOut = false;
            rc = ExecResult.OUTPUT_LIMIT_EXIT_CODE;
        } else if (timedOut) {
            rc = ExecResult.TIMEOUT_EXIT_CODE;
        }
        if (Files.exists(joinFailed)) {
            throw new DavitException(Kind.INTERNAL, "the command could not enter the cgroup of sandbox " + id
                    + "; recreate the sandbox, or create it with --no-limits");
        }
        boolean oom = cg != null && cg.oomKills() > oomBefore;
        long t4 = System.nanoTime();
        return new ExecResult(id, BwrapBackend.NAME, BwrapBackend.RUNTIME, rc, out.bytes(), err.bytes(), timedOut,
                new ExecResult.Timings(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3)),
                out.truncated() || err.truncated() || limited, oom, limited);
    }

    /**
     * A process builder for {@code argv} run in running container sandbox {@code s} as an exec runs: nsenter into
     * its namespaces (and, with {@code cg}, its cgroup), its environment with {@code env} on top, {@code workdir}
     * (null: the sandbox's), the image's user. Nothing is started.
     */
    ProcessBuilder enter(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Cgroups.Cgroup cg) {
        String id = s.id();
        Map<String, String> merged = new java.util.LinkedHashMap<>(s.spec().env());
        if (env != null) {
            merged.putAll(env);
        }
        RunSpec rs = new RunSpec(s.spec().rootfs(), argv, merged, workdir != null ? workdir : s.spec().workdir(),
                null, s.spec().network(), s.spec().image());
        Path nsenter = tool("nsenter");
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
        // nsenter opens --wd's path before it enters the namespaces, so name it through the sandbox's root
        String wd = rs.effectiveWorkdir();
        if (Path.of(wd).normalize().toString().contains("..") || !wd.equals(Path.of(wd).normalize().toString())) {
            throw new DavitException(Kind.USAGE, "the working directory must be a normalized absolute path: " + wd);
        }
        Path wdThroughRoot = Path.of("/proc", Long.toString(target), "root", wd.substring(1));
        if (!Files.isDirectory(wdThroughRoot)) {
            throw new DavitException(Kind.USAGE, "the working directory " + wd + " does not exist in the sandbox");
        }
        cmd.addAll(List.of("--root", "--wd=" + wdThroughRoot));
        // the image's User, as davit run applies it (names looked up in the sandbox's /etc/passwd and /etc/group)
        int[] ids = Users.resolve(s.spec().rootfs(), s.spec().image().user());
        if (ids != null && !(ids[0] == 0 && ids[1] == 0) && !preserve) {
            cmd.addAll(List.of("--setuid", Integer.toString(ids[0]), "--setgid", Integer.toString(ids[1])));
        }
        cmd.add("--");
        cmd.addAll(argv);
        // the command joins the sandbox's cgroup before nsenter runs: its limits hold for the keeper and every exec
        ProcessBuilder pb = new ProcessBuilder(Cgroups.wrap(cg, cmd, dir(id)));
        pb.environment().clear();
        pb.environment().putAll(rs.effectiveEnv()); // nsenter passes its environment on to the command
        pb.environment().putIfAbsent("PWD", rs.effectiveWorkdir()); // as bwrap sets it for davit run
        pb.directory(dir(id).toFile());
        return pb;
    }

    Sandbox stop(String id) {
        return locked(id, () -> stopLocked(id));
    }

    private Sandbox stopLocked(String id) {
        Sandbox s = status(id);
        if (s.spec().isVm() && s.status() == SandboxStatus.RUNNING) {
            vm.sync(s); // flush the guest's disk: its overlay is kept for the next start
        }
        kill(s);
        if (s.status() == SandboxStatus.RUNNING || s.status() == SandboxStatus.FAILED) {
            s = new Sandbox(id, SandboxStatus.STOPPED, s.spec(), s.createdAt(), s.startedAt(), 0, 0, 0, 0);
            save(s);
        }
        return s;
    }

    void rm(String id) {
        locked(id, () -> {
            Sandbox s = status(id);
            kill(s);
            try {
                Fs.deleteTree(dir(id));
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot delete " + dir(id) + ": " + e.getMessage());
            }
            return null;
        });
    }

    /** In-process side of the per-sandbox lock (a file lock cannot be taken twice by one JVM). */
    private static final java.util.concurrent.ConcurrentHashMap<Path, java.util.concurrent.locks.ReentrantLock>
            LOCKS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Runs {@code action} holding the sandbox's lifecycle lock ({@code <dir>/lifecycle.lock}, across processes and
     * threads), so two davits starting, stopping or removing one sandbox at once act one after the other: one
     * keeper, one state. An unknown id is NOT_FOUND, as without the lock.
     */
    private <T> T locked(String id, java.util.function.Supplier<T> action) {
        status(id); // NOT_FOUND before anything is created
        Path d = dir(id);
        java.util.concurrent.locks.ReentrantLock local = LOCKS.computeIfAbsent(d.toAbsolutePath().normalize(),
                k -> new java.util.concurrent.locks.ReentrantLock());
        local.lock();
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(d.resolve(LIFECYCLE_LOCK),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
            ch.lock(); // released when the channel closes
            return action.get();
        } catch (NoSuchFileException e) {
            throw new DavitException(Kind.NOT_FOUND, "no sandbox " + id);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot lock " + d.resolve(LIFECYCLE_LOCK) + ": " + e.getMessage());
        } finally {
            local.unlock();
        }
    }

    /** The recorded state, with RUNNING turned into FAILED when its processes are gone or their pids reused. */
    Sandbox status(String id) {
        return find(id).orElseThrow(() -> new DavitException(Kind.NOT_FOUND, "no sandbox " + id));
    }

    Optional<Sandbox> find(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            return Optional.empty();
        }
        Path f = dir(id).resolve(STATE_FILE);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + f + ": " + e.getMessage());
        }
        Sandbox s;
        try {
            s = Sandbox.fromJson(Json.read(bytes));
        } catch (IOException | RuntimeException e) {
            throw new DavitException(Kind.STORE, "the state file " + f + " is corrupt: " + e.getMessage());
        }
        boolean up = s.spec().isVm() ? alive(s.qemuPid(), s.qemuStart())
                : alive(s.bwrapPid(), s.bwrapStart()) && alive(s.initPid(), s.initStart());
        if (s.status() == SandboxStatus.RUNNING && !up) {
            s = s.withStatus(SandboxStatus.FAILED);
        }
        return Optional.of(s);
    }

    List<Sandbox> list() {
        List<Sandbox> out = new ArrayList<>();
        if (!Files.isDirectory(options.stateDir())) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(options.stateDir())) {
            for (Path d : dirs.sorted().toList()) {
                find(d.getFileName().toString()).ifPresent(out::add);
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot list " + options.stateDir() + ": " + e.getMessage());
        }
        out.sort(java.util.Comparator.comparing(Sandbox::createdAt).thenComparing(Sandbox::id));
        return out;
    }

    /** Removes sandboxes whose ttl has passed and failed ones, except those of {@code keep}; returns them. */
    List<Sandbox> reap(java.util.Set<String> keep) {
        Instant now = Instant.now();
        List<Sandbox> removed = new ArrayList<>();
        for (Sandbox s : list()) {
            if (!keep.contains(s.id()) && (s.expired(now) || s.status() == SandboxStatus.FAILED)) {
                try {
                    rm(s.id());
                    removed.add(s);
                } catch (DavitException e) {
                    if (e.kind() != Kind.NOT_FOUND) {
                        throw e;
                    }
                    // another davit removed it first
                }
            }
        }
        return removed;
    }

    /**
     * Kills the sandbox's processes if they are still the recorded ones: pid 1 first (takes its pid namespace), or
     * its QEMU.
     */
    void kill(Sandbox s) {
        List<ProcessHandle> victims = new ArrayList<>();
        if (alive(s.qemuPid(), s.qemuStart())) {
            ProcessHandle.of(s.qemuPid()).ifPresent(victims::add);
        }
        if (alive(s.initPid(), s.initStart())) {
            ProcessHandle.of(s.initPid()).ifPresent(victims::add);
        }
        if (alive(s.bwrapPid(), s.bwrapStart())) {
            ProcessHandle.of(s.bwrapPid()).ifPresent(victims::add);
        }
        // what runs inside (execs' background processes are reparented to pid 1): gone with its pid namespace, but
        // the kernel kills them after pid 1, so they are waited for too
        List<ProcessHandle> inside = victims.stream().flatMap(ProcessHandle::descendants).toList();
        victims.forEach(ProcessHandle::destroyForcibly);
        Nat.stop(dir(s.id())); // a NAT sandbox's slirp4netns
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && (alive(s.initPid(), s.initStart())
                || alive(s.bwrapPid(), s.bwrapStart()) || alive(s.qemuPid(), s.qemuStart())
                || inside.stream().anyMatch(Lifecycle::running))) {
            sleep(10);
        }
        if (!s.spec().isVm()) {
            Cgroups.removeRecorded(dir(s.id())); // and what is left in its cgroup (e.g. an exec's processes)
        }
    }

    /** Alive and not a zombie (a killed process waiting for the host's init to reap it counts as gone). */
    static boolean running(ProcessHandle p) {
        if (!p.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(p.pid()), "stat"));
            int i = stat.lastIndexOf(')');
            return i < 0 || i + 2 >= stat.length() || stat.charAt(i + 2) != 'Z';
        } catch (IOException e) {
            return false; // gone meanwhile
        }
    }

    void save(Sandbox s) {
        Path d = dir(s.id());
        try {
            Fs.writeAtomically(d.resolve(STATE_FILE), Json.bytes(s.toJson()), d);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write the state of sandbox " + s.id() + ": " + e.getMessage());
        }
    }

    VmLifecycle vm() {
        return vm;
    }

    Path dir(String id) {
        return options.stateDir().resolve(id);
    }

    Path tool(String name) {
        Path p = options.which(name);
        if (p == null) {
            throw new DavitException(Kind.NOT_FOUND, name + " (util-linux or coreutils) is not installed; long-lived"
                    + " sandboxes need it");
        }
        return p;
    }

    /** {@code p} with links resolved; NOT_FOUND when it does not exist or is not a directory. */
    public static Path realRootfs(Path p) {
        Path r;
        try {
            r = p.toRealPath();
        } catch (IOException e) {
            throw new DavitException(Kind.NOT_FOUND, "root filesystem " + p + " does not exist");
        }
        if (!Files.isDirectory(r)) {
            throw new DavitException(Kind.NOT_FOUND, "root filesystem " + r + " is not a directory");
        }
        return r;
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

    /** Whether {@code pid} is a live (not zombie) process started at {@code start}. */
    public static boolean alive(long pid, long start) {
        if (pid <= 0) {
            return false;
        }
        String[] f = stat(pid);
        return f != null && !f[0].equals("Z") && !f[0].equals("X") && Long.parseLong(f[19]) == start;
    }

    /** Field 22 of /proc/PID/stat (start time in clock ticks since boot); 0 when gone. */
    public static long startTime(long pid) {
        String[] f = stat(pid);
        return f == null ? 0 : Long.parseLong(f[19]);
    }

    /** The fields of /proc/PID/stat after the command name (field 3 onwards), or null. */
    static String[] stat(long pid) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return s.substring(s.lastIndexOf(')') + 2).trim().split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
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

    private static void join(Thread t) {
        try {
            t.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.INTERNAL, "interrupted");
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
