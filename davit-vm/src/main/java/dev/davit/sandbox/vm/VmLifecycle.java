package dev.davit.sandbox.vm;

import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.backend.LongLived;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.backend.Nat;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.agent.LinkFiles;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Long-lived sandboxes of the {@code vm} backend ({@link LongLived}; the core keeps the state files).
 * {@code start} boots a detached QEMU ({@code -daemonize}: it leaves davit's session and outlives davit) and waits
 * for its init, davit-agent ({@link GuestInit}); commands, files and detached processes are requests to davit-agent
 * on the VM's command ports ({@link VmExec}), many at once; {@code stop} asks the init to flush the disk, then kills
 * QEMU. The disk overlay stays in the state directory until {@code rm}, so a stopped sandbox starts again with its
 * files.
 */
public final class VmLifecycle implements LongLived {
    /** Taken while davit speaks to the guest's init on its port (one host at a time), across processes. */
    static final String LOCK = "agent.lock";
    private static final Duration SYNC_TIMEOUT = Duration.ofSeconds(10);

    private final SandboxOptions options;
    private final Consumer<Sandbox> save;
    private final VmProcesses guest;

    VmLifecycle(SandboxOptions options, Consumer<Sandbox> save) {
        this.options = options;
        this.save = save;
        this.guest = new VmProcesses(options, true, this::processLinks, this::guestFiles);
    }

    /**
     * The spec with its environment directory resolved, one a VM can boot ({@link VmInitrd#bootable}); the state
     * directory's path must fit a socket address.
     */
    @Override
    public CreateSpec prepare(CreateSpec spec, Path dir) {
        CreateSpec resolved = spec.withRootfs(VmInitrd.bootable(spec.rootfs()).dir());
        Machine.checkSocketPath(dir);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create the sandbox directory " + dir + ": " + e.getMessage());
        }
        return resolved;
    }

    /**
     * Its memory and device state saved to a file ({@link VmMemory#save}); it is then recorded stopped, and the
     * caller kills its QEMU. Its guest's file systems are not flushed first: the disk and the memory are saved at
     * the same moment, so they agree. Connections through its network do not survive (the network's own state is
     * not saved); the guest's addresses and routes do.
     */
    @Override
    public Sandbox pause(Sandbox s, Path dir) {
        long[] ids = dev.davit.sandbox.jail.Jail.active() ? dev.davit.sandbox.jail.Jail.vmmIds(s.id()) : null;
        Path seen = dev.davit.sandbox.jail.Jail.active() ? dev.davit.sandbox.jail.Jail.DIR : dir.toAbsolutePath();
        VmMemory.save(s, dir, seen, ids);
        return new Sandbox(s.id(), SandboxStatus.STOPPED, s.spec(), s.createdAt(), s.startedAt(), 0, 0, 0, 0, 0, 0);
    }

    @Override
    public boolean paused(Sandbox s, Path dir) {
        return s.status() != SandboxStatus.RUNNING && VmMemory.saved(dir);
    }

    /** Its disk overlay's blocks. */
    @Override
    public long stateBytes(Sandbox s, Path dir) throws IOException {
        return Host.diskUsage(dir.resolve(Machine.DISK));
    }

    /** Its saved memory dropped: the next start boots. */
    @Override
    public void dropPause(Sandbox s, Path dir) {
        VmMemory.drop(dir);
    }

    /**
     * Its disk, the overlay {@code vmm/disk.qcow2} (the environment's image below it is shared, never written). A
     * running VM's guest flushes its file systems first, then its QEMU is held still ({@code SIGSTOP} of every
     * process from its launcher down, each thread seen stopped, so no write is under way) for the copy and goes on
     * after it: the copy is the disk as after a power cut at that moment. The overlay is opened without following a
     * link (the VMM's uid owns the directory it is in) and must be a regular file.
     */
    @Override
    public void copyState(Sandbox s, Path dir, Path to) {
        Path disk = dir.resolve(Machine.DISK);
        if (!Files.exists(disk, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return; // never started: nothing written yet
        }
        boolean running = s.status() == SandboxStatus.RUNNING;
        if (running) {
            sync(s);
        }
        try (Held held = running ? Held.still(dir, s.qemuPid(), s.qemuStart()) : null) {
            Path copy = to.resolve(Machine.DISK);
            Files.createDirectories(copy.getParent());
            copyFile(disk, copy, maxDisk(s));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot copy the disk of sandbox " + s.id() + ": " + e.getMessage());
        }
    }

    /**
     * The disk overlay put back: copied from {@code from} into the state directory (davit's own, not the VMM's
     * {@code vmm/}), then renamed over {@code vmm/disk.qcow2}; none saved (never started then) removes it, and the
     * next start makes a fresh one. The next start gives it to the VMM's uid.
     */
    @Override
    public void restoreState(Sandbox s, Path dir, Path from) {
        VmMemory.drop(dir); // a paused VM's memory belongs to the disk replaced here
        Path saved = from.resolve(Machine.DISK);
        Path disk = dir.resolve(Machine.DISK);
        Path fresh = dir.resolve("disk.qcow2.restore");
        try {
            Files.deleteIfExists(fresh);
            if (!Files.isRegularFile(saved, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.deleteIfExists(disk);
                return;
            }
            copyFile(saved, fresh, maxDisk(s));
            Files.createDirectories(disk.getParent());
            Files.move(fresh, disk, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot restore the disk of sandbox " + s.id() + " from " + from
                    + ": " + e.getMessage());
        } finally {
            try {
                Files.deleteIfExists(fresh);
            } catch (IOException ignored) {
                // a leftover the next restore removes
            }
        }
    }

    /**
     * Copies regular file {@code from} to new file {@code to}, sparse (holes stay holes): {@code from} is opened as a
     * path only, without following a link, and must be a regular file of at most {@code max} bytes (the VMM's uid owns
     * its directory: a FIFO put there must not block the copy, nor a sparse file of terabytes fill the host); the
     * copy reads that very file ({@code /proc/self/fd}).
     */
    private void copyFile(Path from, Path to, long max) throws IOException {
        try (dev.davit.sandbox.fs.Dir d = dev.davit.sandbox.fs.Dir.open(from.getParent(), "the microVM's disk");
             dev.davit.sandbox.fs.Dir.Opened f = d.openFile(from.getFileName().toString())) {
            if (f.stat().size() > max) {
                throw new IOException(from + " holds " + f.stat().size() + " bytes, more than a disk of its environment"
                        + " can (" + max + ")");
            }
            Files.deleteIfExists(to);
            Host.copyFile(options.searchPath(), f.path(), to);
        }
    }

    /** The most bytes the disk overlay of {@code s} may hold: its environment's image, an eighth more, 64 MiB. */
    private static long maxDisk(Sandbox s) {
        try {
            long image = Files.size(Machine.environment(s.spec().rootfs()).rootfsImage());
            return image + image / 8 + (64L << 20);
        } catch (IOException e) {
            return 64L << 30;
        }
    }

    /**
     * A running VM's processes held by SIGSTOP until closed (then SIGCONT). While held, {@value #HELD} in the state
     * directory names them and the davit that holds them: a davit killed meanwhile leaves it, and the next status read
     * of the sandbox ({@link #up}) lets them go on.
     */
    static final class Held implements AutoCloseable {
        static final String HELD = "held";
        private final Path dir;
        private final List<long[]> processes;

        private Held(Path dir, List<long[]> processes) {
            this.dir = dir;
            this.processes = processes;
        }

        /** Stops {@code pid} (when it is still the process that started at {@code start}) and all below it. */
        static Held still(Path dir, long pid, long start) {
            ProcessHandle top = ProcessHandle.of(pid).orElse(null);
            if (top == null || !Host.alive(pid, start)) {
                throw new DavitException(Kind.USAGE, "the microVM stopped while davit copied its disk; try again");
            }
            List<long[]> all = new java.util.ArrayList<>();
            all.add(new long[] {pid, start});
            top.descendants().forEach(p -> all.add(new long[] {p.pid(), Host.startTime(p.pid())}));
            Held h = new Held(dir, all);
            StringBuilder mark = new StringBuilder(ProcessHandle.current().pid() + " "
                    + Host.startTime(ProcessHandle.current().pid()) + "\n");
            all.forEach(p -> mark.append(p[0]).append(' ').append(p[1]).append('\n'));
            try {
                Files.writeString(dir.resolve(HELD), mark);
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot write " + dir.resolve(HELD) + ": " + e.getMessage());
            }
            for (long[] p : all) {
                Host.signal(p[0], p[1], "STOP");
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!all.stream().allMatch(p -> stopped(p[0]))) {
                if (System.nanoTime() > deadline) {
                    h.close();
                    throw new DavitException(Kind.INTERNAL, "the microVM's QEMU did not stop within 5 s for the copy"
                            + " of its disk; try again");
                }
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    h.close();
                    Thread.currentThread().interrupt();
                    throw new DavitException(Kind.CANCELLED, "interrupted while the microVM was held still");
                }
            }
            return h;
        }

        /** Whether every thread of {@code pid} is stopped (none in a system call), or it is gone. */
        private static boolean stopped(long pid) {
            Path tasks = Path.of("/proc", Long.toString(pid), "task");
            try (java.util.stream.Stream<Path> ts = Files.list(tasks)) {
                for (Path t : ts.toList()) {
                    String stat = Files.readString(t.resolve("stat"));
                    char state = stat.charAt(stat.lastIndexOf(')') + 2);
                    if (state != 'T' && state != 't' && state != 'Z' && state != 'X') {
                        return false;
                    }
                }
                return true;
            } catch (IOException | RuntimeException e) {
                return !Files.exists(tasks); // gone
            }
        }

        @Override
        public void close() {
            for (long[] p : processes) {
                Host.signal(p[0], p[1], "CONT");
            }
            try {
                Files.deleteIfExists(dir.resolve(HELD));
            } catch (IOException ignored) {
                // the next look lets them go on again, which does no harm
            }
        }

        /** Lets go on what a davit that is gone left held in {@code dir} (see {@link Held}). */
        static void releaseLeftover(Path dir) {
            Path mark = dir.resolve(HELD);
            if (!Files.exists(mark, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            try {
                List<String> lines = Files.readAllLines(mark);
                String[] owner = lines.get(0).split(" ");
                if (Host.alive(Long.parseLong(owner[0]), Long.parseLong(owner[1]))) {
                    return; // a copy under way
                }
                for (String l : lines.subList(1, lines.size())) {
                    String[] p = l.split(" ");
                    Host.signal(Long.parseLong(p[0]), Long.parseLong(p[1]), "CONT");
                }
                Files.deleteIfExists(mark);
            } catch (IOException | RuntimeException e) {
                // tried again at the next look
            }
        }
    }

    /** Its QEMU is there; what a killed davit left held still ({@link Held}) goes on. */
    @Override
    public boolean up(Sandbox s) {
        Held.releaseLeftover(options.stateDir().resolve(s.id()));
        return Host.alive(s.qemuPid(), s.qemuStart());
    }

    /** Flushes the guest's disk: its overlay is kept for the next start. */
    @Override
    public void beforeStop(Sandbox s) {
        sync(s);
    }

    /** Through davit-agent's file requests ({@link VmExec#files}). */
    @Override
    public dev.davit.sandbox.backend.GuestFiles guestFiles(Sandbox s) {
        return VmExec.files(vm(s));
    }

    /** Links to davit-agent for detached processes ({@link VmProcesses}). */
    private LinkFiles.Links processLinks(Sandbox s) {
        return VmExec.links(vm(s), "the process request");
    }

    /**
     * Running sandbox {@code s}'s VM, as {@link VmExec} reaches it; one an older davit started (its PID 1 a shell
     * agent this davit does not speak) is refused in one line.
     */
    private VmExec.Vm vm(Sandbox s) {
        Path dir = options.stateDir().resolve(s.id());
        if (!GuestInit.runs(dir)) {
            throw VmProcesses.olderDavit(s.id());
        }
        long pid = s.qemuPid();
        long start = s.qemuStart();
        return new VmExec.Vm(s.id(), dir, () -> Host.alive(pid, start), () -> killQemu(pid, start),
                () -> answers(s));
    }

    /** A raw copy of its disk, read by a confined debugfs ({@link VmDisk}); the VM is not booted. */
    @Override
    public dev.davit.sandbox.backend.OfflineDisk offlineDisk(Sandbox s, Path dir) {
        return VmDisk.open(options, s, dir);
    }

    /** The guest's own file (its pid 1's view), through its agent. */
    @Override
    public String procNet(Sandbox s, String name) {
        return new String(guestFiles(s).read("/proc/1/net/" + name, 0).bytes(), StandardCharsets.US_ASCII);
    }

    /** In the guest ({@link VmProcesses}). */
    @Override
    public Spawned spawn(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Path dir,
                         boolean terminal) {
        return guest.spawn(s, argv, env, workdir, dir, terminal);
    }

    /** In a vm that is not running, nothing runs. */
    @Override
    public boolean alive(Sandbox running, Spawned p) {
        return running != null && guest.alive(running, p);
    }

    @Override
    public void collect(Sandbox running, Spawned p, Path dir) {
        if (running != null) {
            guest.collect(running, p, dir);
        }
    }

    @Override
    public boolean signal(Sandbox running, Spawned p, String signal, boolean foreground) {
        return running != null && guest.signal(running, p, signal, foreground);
    }

    @Override
    public void terminate(Sandbox running, Spawned p, Duration grace) {
        if (running != null) {
            guest.terminate(running, p, grace);
        }
    }

    @Override
    public void killAll(Sandbox s) {
        guest.killAll(s);
    }

    @Override
    public Sandbox start(Sandbox s) {
        Machine.Tools tools = Machine.tools(options);
        Machine.Environment env = VmInitrd.booted(s.spec().rootfs(), options);
        Path dir = options.stateDir().resolve(s.id());
        Machine.checkSocketPath(dir);
        Accel.Choice accel = Accel.choose(tools.qemu(), env.vmlinux(), options.stateDir());
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(dir.resolve(Machine.SOCKET));
            for (int n = 0; n < Machine.EXEC_PORTS; n++) {
                Files.deleteIfExists(dir.resolve(Machine.execSocket(n)));
            }
            Files.deleteIfExists(dir.resolve(Machine.PID));
            if (!GuestInit.runs(dir)) {
                VmMemory.drop(dir); // paused by an older davit: its guest's PID 1 is the shell agent, so it boots
            }
            GuestInit.mark(dir);
            // what the last QEMU (the VMM's uid owns vmm/) left in their place: each is made anew, and checked
            // (Peers) when davit connects
            for (String sock : List.of(Machine.QMP_SOCKET, Machine.MIGRATE_SOCKET, Machine.INCOMING_SOCKET)) {
                Files.deleteIfExists(dir.resolve(sock));
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot prepare " + dir + ": " + e.getMessage());
        }
        if (!s.spec().publish().isEmpty()) {
            throw new DavitException(Kind.USAGE, Message.of(Input.PUBLISH, " is not available for microVM sandboxes"
                    + " yet; use the container backend to serve to the host"));
        }
        Nat.Tools nat = s.spec().network().ownNamespace() ? Nat.tools(options, s.spec().network()) : null;
        Path setsid = Host.tool(options.searchPath(), "setsid");
        boolean resume = VmMemory.saved(dir); // paused: its memory is brought back instead of a boot
        // QEMU jailed (Machine.confined, Jail.vmmLauncher); NAT: in a network namespace of its own (see Nat);
        // slirp4netns outlives davit, as QEMU does
        long pid;
        try {
            // its cgroup (Machine.limits): kept until stop or rm, which remove it (Lifecycle.kill)
            Cgroups.Cgroup cg = Machine.cgroup(s.id(), Machine.limits(s.spec().memoryMiB(), s.spec().vcpus(),
                    s.spec().limits(), accel), dir);
            pid = Machine.confined(options, s.id(), env, dir, accel, s.spec().network(), resume,
                    (seenEnv, seenState, jail, vmm) -> {
                        Machine.ownVmm(dir.resolve(Machine.VMM), s.id()); // before qemu-img, run as the VMM's uid
                        Machine.createDisk(tools, seenEnv, seenState, dir, cmd -> jail.apply(vmm.apply(cmd)));
                        Machine.createOutputs(dir, true);
                        Machine.ownVmm(dir.resolve(Machine.VMM), s.id());
                        List<String> cmd = Machine.capped(options, seenState, true, vmm.apply(Machine.command(tools,
                                seenEnv, seenState, s.id(), s.spec().vcpus(), s.spec().memoryMiB(),
                                s.spec().network().enabled(), accel, true, resume)));
                        List<String> full = Cgroups.wrap(cg, jail.apply(nat == null ? cmd : Nat.wrap(nat, dir, cmd)),
                                dir);
                        return Machine.launchDetached(setsid, full, dir, nat == null ? null
                                : p -> Nat.attach(nat, p.pid(), dir, true, List.of()));
                    });
        } catch (RuntimeException e) {
            Nat.stop(dir);
            Cgroups.removeRecorded(dir);
            throw e;
        }
        long start = Host.startTime(pid);
        Sandbox running = new Sandbox(s.id(), SandboxStatus.RUNNING, s.spec(), s.createdAt(), Instant.now(), 0, 0, 0,
                0, pid, start);
        save.accept(running); // recorded before the boot: a davit killed meanwhile leaves no unknown VM behind
        try {
            if (resume) { // good once: restore drops the file as it starts (a failed one boots next time)
                VmMemory.restore(dir, () -> Host.alive(pid, start));
            }
            // davit-agent's init (PID 1) on the guest's own port
            GuestInit.await(dir, () -> Host.alive(pid, start), "the microVM of sandbox " + s.id(), accel);
        } catch (RuntimeException e) {
            killQemu(pid, start);
            Nat.stop(dir);
            Cgroups.removeRecorded(dir);
            save.accept(new Sandbox(s.id(), s.status() == SandboxStatus.CREATED ? SandboxStatus.CREATED
                    : SandboxStatus.STOPPED, s.spec(), s.createdAt(), s.startedAt(), 0, 0, 0, 0, 0, 0));
            throw e;
        }
        return running;
    }

    /** Through davit-agent ({@link VmExec}): output streamed, stdin fed, an output limit kept, commands at once. */
    @Override
    public ExecResult exec(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Duration timeout,
                           long maxOutput, int capture, java.io.InputStream stdin, java.io.OutputStream stdoutTee,
                           java.io.OutputStream stderrTee, long t0) {
        VmExec.Vm vm = vm(s);
        RunSpec rs = runSpec(s, argv, env, workdir, timeout);
        long t1 = System.nanoTime();
        QemuBackend.Outcome o = VmExec.exec(vm, argv, QemuBackend.guestEnvironment(rs), rs.effectiveWorkdir(),
                timeout, maxOutput, new QemuBackend.Capture(capture, stdoutTee, stderrTee), stdin);
        return o.result(s.id(), new ExecResult.Timings(ms(t1 - t0), 0, ms(System.nanoTime() - t1), 0));
    }

    /** An exec's spec: the sandbox's environment with {@code env} on top, its working directory unless given. */
    private static RunSpec runSpec(Sandbox s, List<String> argv, Map<String, String> env, String workdir,
                                   Duration timeout) {
        Map<String, String> merged = new LinkedHashMap<>(s.spec().env());
        if (env != null) {
            merged.putAll(env);
        }
        return RunSpec.builder(s.spec().rootfs()).command(argv).env(merged)
                .workdir(workdir != null ? workdir : s.spec().workdir()).timeout(timeout).network(s.spec().network())
                .image(s.spec().image()).backend(QemuBackend.NAME).vcpus(s.spec().vcpus())
                .memoryMiB(s.spec().memoryMiB()).limits(dev.davit.sandbox.Limits.NONE).build();
    }

    /**
     * Whether the init of running {@code s} answers ({@link GuestInit#answers}), its lock held: after its current
     * user, whose own deadlines bound the wait.
     */
    private boolean answers(Sandbox s) {
        Path dir = options.stateDir().resolve(s.id());
        try {
            return dev.davit.sandbox.backend.FileLocks.holding(dir.resolve(LOCK), () -> GuestInit.answers(dir));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Asks the guest's init to flush its file systems; best effort, bounded by {@link #SYNC_TIMEOUT}. A VM an older
     * davit started is not asked (its init speaks another protocol): the journal recovers its file systems at the
     * next start.
     */
    void sync(Sandbox s) {
        Path dir = options.stateDir().resolve(s.id());
        if (GuestInit.runs(dir)) {
            GuestInit.sync(dir, SYNC_TIMEOUT);
        }
    }

    /** Kills a QEMU if it is still the recorded process, and waits for it. */
    static void killQemu(long pid, long start) {
        if (!Host.alive(pid, start)) {
            return;
        }
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && Host.alive(pid, start)) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
