package dev.davit.sandbox;

import dev.davit.sandbox.container.ContainerLifecycle;
import dev.davit.sandbox.vm.Machine;
import dev.davit.sandbox.vm.QemuBackend;
import dev.davit.sandbox.vm.VmLifecycle;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Json;
import dev.davit.oci.store.Fs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Long-lived sandboxes of both backends: state, locks, stop, rm, reap. A backend's start and exec are in
 * {@link ContainerLifecycle} and {@link VmLifecycle}. State lives in {@code <stateDir>/<id>/state.json} (written
 * atomically), so a new instance (a later davit) sees the same sandboxes. A running sandbox's processes are
 * recorded with their start times, so a pid that was reused is never taken for the sandbox.
 */
public final class Lifecycle {
    static final String STATE_FILE = "state.json";
    static final String LIFECYCLE_LOCK = "lifecycle.lock";
    private static final Pattern ID = Pattern.compile("sbx-[0-9a-f]{12}");

    private final SandboxOptions options;
    private final VmLifecycle vm;
    private final ContainerLifecycle containers;

    Lifecycle(SandboxOptions options) {
        this.options = options;
        this.vm = new VmLifecycle(options, this::save);
        this.containers = new ContainerLifecycle(options, this::save);
    }

    Sandbox create(CreateSpec spec) {
        CreateSpec resolved = spec.isVm() ? spec.withRootfs(Machine.environment(spec.rootfs()).dir())
                : spec.withRootfs(realRootfs(spec.rootfs()));
        String id = "sbx-" + dev.davit.oci.RandomHex.of(6);
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
        return containers.start(s);
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
        return containers.exec(s, argv, env, workdir, timeout, maxOutput, stdin, stdoutTee, stderrTee, t0);
    }

    /** The container backend's start and exec (and, through {@code enter}, its detached processes). */
    ContainerLifecycle containers() {
        return containers;
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
        // and what is left in its cgroup (a container's exec's processes; a microVM's QEMU)
        Cgroups.removeRecorded(dir(s.id()));
    }

    /** Alive and not a zombie (a killed process waiting for the host's init to reap it counts as gone). */
    public static boolean running(ProcessHandle p) {
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
        return tool(options, name);
    }

    /** Tool {@code name} on the host; NOT_FOUND naming its package when missing. */
    public static Path tool(SandboxOptions options, String name) {
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

    /** Whether {@code pid} is a live (not zombie) process started at {@code start}. */
    public static boolean alive(long pid, long start) {
        if (pid <= 0) {
            return false;
        }
        String[] f = stat(pid);
        return f != null && !f[0].equals("Z") && !f[0].equals("X") && Long.parseLong(f[19]) == start;
    }

    /**
     * Whether {@code path} was last modified before this system booted ({@code btime} of /proc/stat): nothing of
     * an earlier boot can still be running. False when either is unknown.
     */
    public static boolean beforeBoot(Path path) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
                if (line.startsWith("btime ")) {
                    long boot = Long.parseLong(line.substring(6).strip());
                    return Files.getLastModifiedTime(path).toMillis() / 1000 < boot;
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown: not before
        }
        return false;
    }

    /** Field 22 of /proc/PID/stat (start time in clock ticks since boot); 0 when gone. */
    public static long startTime(long pid) {
        String[] f = stat(pid);
        return f == null ? 0 : Long.parseLong(f[19]);
    }

    /** The fields of /proc/PID/stat after the command name (field 3 onwards), or null. */
    public static String[] stat(long pid) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return s.substring(s.lastIndexOf(')') + 2).trim().split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
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
