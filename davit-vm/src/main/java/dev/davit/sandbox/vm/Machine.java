package dev.davit.sandbox.vm;

import dev.davit.sandbox.host.Host;
import dev.davit.oci.Action;
import dev.davit.oci.Message;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One QEMU microVM of a sandbox, everything in the sandbox's state directory; what QEMU writes is in its
 * {@code vmm/} directory, the only one the VMM may write (as root it runs as an unprivileged uid, see
 * {@link #confined}):
 *
 * <pre>
 * vmm/disk.qcow2   copy-on-write overlay over the environment's rootfs.ext4 (which QEMU opens read-only)
 * vmm/agent.sock   the unix socket QEMU serves for the virtio-serial port of the guest's init (davit-agent, PID 1)
 * vmm/execN.sock   the same for davit-agent's ports (commands, files, processes), N = 0..3
 * vmm/console.pipe a FIFO: the guest's serial console (kernel messages, init and agent errors)
 * vmm/qemu.pid     QEMU's pid (long-lived sandboxes)
 * vmm/shN.in       long-lived sandboxes, N = 1..4: a FIFO, the input of the guest's virtio console /dev/hvc(N-1)
 * vmm/shN.out      a FIFO: the output of that console
 * qemu.log         messages of the jail's steps before QEMU (written through a descriptor davit opens)
 * out/             what QEMU and the guest print, each capped by a {@link dev.davit.sandbox.backend.Capper} that reads its
 *                  FIFO and outlives davit as QEMU does ({@link #capped}): out/console.log, out/qemu.log (QEMU's
 *                  own messages, through the FIFO out/qemu.pipe), out/shN.out; each with its older half FILE.1
 * </pre>
 *
 * The command line (see docs/reference/SANDBOX.md):
 *
 * <pre>
 * qemu-system-x86_64 -M microvm -accel tcg|kvm [-cpu host] -nodefaults -no-user-config -display none -no-reboot
 *   -smp VCPUS -m MEMORY -kernel ENV/vmlinux [-initrd ENV/initrd] -append "console=ttyS0 quiet panic=-1 ..."
 *   -chardev file,id=console,path=console.log -serial chardev:console
 *   -drive id=root,file=disk.qcow2,format=qcow2,if=none -device virtio-blk-device,drive=root
 *   -device virtio-serial-device -chardev socket,id=agent,path=agent.sock,server=on,wait=off
 *   -device virtserialport,chardev=agent,name=davit.agent
 *   -chardev socket,id=execN,path=execN.sock,server=on,wait=off -device virtserialport,chardev=execN,name=davit.exec.N
 *    for N in 0..3
 *   [-netdev user,id=net0 -device virtio-net-device,netdev=net0]
 *   [-chardev pipe,id=shN,path=shN -device virtconsole,chardev=shN,name=davit.shN   for N in 1..4 (long-lived)]
 * </pre>
 *
 * A {@code pipe} chardev opens {@code shN.in} and {@code shN.out} for reading and writing: QEMU itself keeps the
 * FIFO open, so nobody else needs to (QEMU 7.2's {@code file} chardev cannot take an input path on the command line).
 */
public final class Machine {
    public static final String QEMU = "qemu-system-x86_64";
    public static final String QEMU_IMG = "qemu-img";
    /** The directory of the state directory that QEMU (as the jail's unprivileged uid) may write. */
    static final String VMM = "vmm";
    static final String DISK = VMM + "/disk.qcow2";
    public static final String SOCKET = VMM + "/agent.sock";
    /**
     * davit-agent's virtio-serial ports ({@code davit.exec.N}, docs/reference/AGENT.md), one connection each: as many
     * commands run at once, more queue.
     */
    static final int EXEC_PORTS = 4;

    /** The unix socket QEMU serves for davit-agent's port {@code davit.exec.N}. */
    static String execSocket(int n) {
        return VMM + "/exec" + n + ".sock";
    }
    /** A long-lived VM's QEMU Machine Protocol socket ({@link Qmp}): pause saves its memory through it. */
    static final String QMP_SOCKET = VMM + "/qmp.sock";
    /** Where a pausing VM's QEMU sends its memory and device state (davit listens there). */
    static final String MIGRATE_SOCKET = VMM + "/migrate.sock";
    /** Where a resuming VM's QEMU takes its memory and device state from (QEMU listens there). */
    static final String INCOMING_SOCKET = VMM + "/incoming.sock";
    /** A paused VM's memory and device state, as QEMU's migration stream (davit's file, not the VMM's). */
    static final String VM_STATE = "vmstate";
    /** The directory of the capped outputs (davit's, never the VMM's: no link QEMU makes is ever written through). */
    static final String OUT = "out";
    /** The guest's serial console as QEMU writes it (a FIFO, see {@link #capped}), and as it is kept. */
    static final String CONSOLE_PIPE = VMM + "/console.pipe";
    public static final String CONSOLE = OUT + "/console.log";
    /** QEMU's standard output and error, a FIFO davit's capper reads into {@link #QEMU_LOG}. */
    static final String QEMU_PIPE = OUT + "/qemu.pipe";
    static final String QEMU_LOG = OUT + "/qemu.log";
    /** What the steps before QEMU (the jail, the cgroup, the network namespace) print. */
    static final String LOG = "qemu.log";
    static final String PID = VMM + "/qemu.pid";
    /** The resolver QEMU's user-mode network forwards the guest's DNS to, bound at /etc/resolv.conf in its root. */
    static final String RESOLV_CONF = "resolv.conf";
    /** The virtio consoles of a long-lived VM (terminals for shells): /dev/hvc0 .. hvc3 in the guest. */
    public static final int CONSOLES = 4;
    /** How long a boot may take until the guest's init answers. TCG boots take 1.5-5 s on an idle host. */
    static final Duration BOOT_TIMEOUT = Duration.ofSeconds(Long.getLong("davit.vm.bootTimeoutSeconds", 90));
    /** The longest path of a unix socket (sun_path holds 108 bytes with the NUL). */
    private static final int MAX_SOCKET_PATH = 107;

    /**
     * QEMU's memory beyond the guest's, for its cgroup's limit: its own heap, libraries, device and I/O buffers
     * (a busybox VM's QEMU holds 60-100 MiB of its own after the boot).
     */
    static final long QEMU_OVERHEAD_MIB = 256;
    /** The size of TCG's translation cache ({@code -accel tcg,tb-size=}; QEMU's own default is 1 GiB). */
    static final long TCG_TB_SIZE_MIB = 256;
    /** The processes and threads QEMU may have beyond one per vCPU (its main loop, RCU, I/O workers: up to 64). */
    static final long QEMU_PIDS = 128;

    /**
     * The memory QEMU's cgroup allows beyond the guest's memory: {@link #QEMU_OVERHEAD_MIB}, plus the translation
     * cache under TCG; {@code -Ddavit.vm.memoryOverheadMiB=N} sets it.
     */
    static long memoryOverheadMiB(Accel.Choice accel) {
        Long asked = Long.getLong("davit.vm.memoryOverheadMiB");
        return asked != null ? asked : QEMU_OVERHEAD_MIB + (accel.isKvm() ? 0 : TCG_TB_SIZE_MIB);
    }

    /**
     * The limits of a microVM's QEMU, from the VM's size: memory = the guest's + {@link #memoryOverheadMiB},
     * processes = {@link #QEMU_PIDS} + one per vCPU, and a CPU quota only when {@code asked} has one (the CLI's
     * {@code --cpus N}, which also makes N vCPUs).
     */
    static dev.davit.sandbox.Limits limits(int memoryMiB, int vcpus, dev.davit.sandbox.Limits asked,
                                           Accel.Choice accel) {
        return new dev.davit.sandbox.Limits(memoryMiB + memoryOverheadMiB(accel), asked.cpus(), QEMU_PIDS + vcpus,
                dev.davit.sandbox.Limits.DEFAULT_DISK_MIB);
    }

    /**
     * A cgroup for the QEMU of sandbox {@code id} with {@code limits} (recorded in {@code state}), where davit can
     * make cgroups (as root always); null where it cannot (rootless without a delegated cgroup v2: QEMU is then
     * bounded by the guest's size only).
     */
    static dev.davit.sandbox.backend.Cgroups.Cgroup cgroup(String id, dev.davit.sandbox.Limits limits, Path state) {
        return dev.davit.sandbox.Limits.unenforceable() == null ? dev.davit.sandbox.backend.Cgroups.create(id, limits, state)
                : null;
    }

    /**
     * The files of a microVM environment; {@code initrd} is null where the environment has none (then no VM of it
     * boots: {@link VmInitrd#booted}).
     */
    public record Environment(Path dir, Path vmlinux, Path initrd, Path rootfsImage) {
    }

    /** The tools the vm backend needs. */
    record Tools(Path qemu, Path qemuImg) {
    }

    private Machine() {
    }

    static Tools tools(SandboxOptions options) {
        Path qemu = options.which(QEMU);
        if (qemu == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of(QEMU + " is not installed; install the qemu-system-x86 package"
                    + " (see ", Action.DOCTOR.fix(), ")"));
        }
        Path img = options.which(QEMU_IMG);
        if (img == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, QEMU_IMG + " is not installed; install the qemu-utils package");
        }
        return new Tools(qemu, img);
    }

    /**
     * The environment in {@code dir}: vmlinux and rootfs.ext4 must be there; without an initrd it is found but not
     * booted ({@link VmInitrd#booted}).
     */
    public static Environment environment(Path dir) {
        Path d;
        try {
            d = dir.toRealPath();
        } catch (IOException e) {
            throw new DavitException(Kind.NOT_FOUND, "microVM environment " + dir + " does not exist");
        }
        if (!Files.isDirectory(d)) {
            throw new DavitException(Kind.NOT_FOUND, "microVM environment " + d + " is not a directory");
        }
        for (String f : List.of("vmlinux", "rootfs.ext4")) {
            if (!Files.isRegularFile(d.resolve(f))) {
                throw new DavitException(Kind.NOT_FOUND, d + " is not a microVM environment: it has no " + f
                        + " (build one with VmImages, or use the container backend)");
            }
        }
        Path initrd = d.resolve("initrd");
        boolean has = Files.isRegularFile(initrd);
        return new Environment(d, d.resolve("vmlinux"), has ? initrd : null, d.resolve("rootfs.ext4"));
    }

    /** Checks the socket path fits a unix socket address. */
    public static void checkSocketPath(Path state) {
        String s = state.toAbsolutePath().resolve(SOCKET).toString();
        if (s.getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
            throw new DavitException(Kind.USAGE, "the sandbox state directory " + state + " is too long for a unix"
                    + " socket (at most " + MAX_SOCKET_PATH + " bytes with /" + SOCKET + "); use a shorter DAVIT_HOME");
        }
    }

    /**
     * Creates the sandbox's disk: a qcow2 overlay whose backing file is the environment's rootfs.ext4, which
     * qemu-img and QEMU only ever open read-only. Kept when it exists (a stopped long-lived sandbox's writes).
     */
    static void createDisk(Tools tools, Environment env, Path state) {
        createDisk(tools, env, state, state, cmd -> cmd);
    }

    /**
     * {@link #createDisk(Tools, Environment, Path)} as the VMM sees the files ({@code env}, {@code state}; see
     * {@link #confined}), qemu-img started through {@code jail}; whether the disk exists is asked of the state
     * directory on the host, {@code hostState}.
     */
    static void createDisk(Tools tools, Environment env, Path state, Path hostState,
                           java.util.function.UnaryOperator<List<String>> jail) {
        Path disk = state.resolve(DISK);
        Path onHost = hostState.resolve(DISK);
        // what the VMM's uid left there is never followed: a link (or anything but a file) is removed
        if (Files.isRegularFile(onHost, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Host.deleteTree(onHost);
            Files.deleteIfExists(onHost);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot remove " + onHost + ": " + e.getMessage());
        }
        List<String> cmd = jail.apply(List.of(tools.qemuImg().toString(), "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                env.rootfsImage().toString(), disk.toString()));
        Accel.Result r;
        try {
            r = Accel.runQemu(cmd, 60);
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start " + QEMU_IMG + ": " + e.getMessage());
        }
        if (r.exit() != 0) {
            throw new DavitException(Kind.INTERNAL, "cannot create the sandbox's disk overlay: " + r.describe());
        }
    }

    /** The kernel command line. */
    static String kernelArguments(String hostname, boolean network, Accel.Choice accel) {
        List<String> a = new ArrayList<>(List.of("console=ttyS0", "quiet", "panic=-1"));
        if (!accel.isKvm()) {
            // Under emulation the kernel's TSC calibration against the PIT fails now and then (timing), and the
            // boot then hangs; TCG's TSC runs at the host's TSC rate, so tell the kernel that rate.
            long khz = hostTscKhz();
            if (khz > 0) {
                a.add("tsc_early_khz=" + khz);
            }
        }
        a.add("davit.hostname=" + hostname);
        if (network) {
            a.add("davit.net=1");
        }
        return String.join(" ", a);
    }

    /** The QEMU command line; {@code daemonize} for a long-lived sandbox (QEMU detaches and writes qemu.pid). */
    static List<String> command(Tools tools, Environment env, Path state, String hostname, int vcpus, int memoryMiB,
                                boolean network, Accel.Choice accel, boolean daemonize) {
        return command(tools, env, state, hostname, vcpus, memoryMiB, network, accel, daemonize, false);
    }

    /**
     * {@link #command}; with {@code incoming} (a paused VM resumed), QEMU waits for its memory and device state on
     * {@link #INCOMING_SOCKET} instead of booting, the same devices as the command that saved it.
     */
    static List<String> command(Tools tools, Environment env, Path state, String hostname, int vcpus, int memoryMiB,
                                boolean network, Accel.Choice accel, boolean daemonize, boolean incoming) {
        Path s = state.toAbsolutePath();
        // TCG's translation cache bounded (its default, 1 GiB, would be QEMU's to fill beyond its cgroup's overhead)
        List<String> c = new ArrayList<>(List.of(tools.qemu().toString(), "-M", "microvm", "-accel",
                accel.isKvm() ? accel.accel() : accel.accel() + ",tb-size=" + TCG_TB_SIZE_MIB));
        if (accel.isKvm()) {
            c.addAll(List.of("-cpu", "host"));
        }
        c.addAll(List.of("-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-smp", Integer.toString(vcpus), "-m", Integer.toString(memoryMiB),
                "-kernel", env.vmlinux().toString()));
        if (env.initrd() != null) {
            c.addAll(List.of("-initrd", env.initrd().toString()));
        }
        c.addAll(List.of("-append", kernelArguments(hostname, network, accel),
                "-chardev", "file,id=console,path=" + opt(s.resolve(CONSOLE_PIPE)), "-serial", "chardev:console",
                "-drive", "id=root,file=" + opt(s.resolve(DISK)) + ",format=qcow2,if=none",
                "-device", "virtio-blk-device,drive=root",
                "-device", "virtio-serial-device",
                "-chardev", "socket,id=agent,path=" + opt(s.resolve(SOCKET)) + ",server=on,wait=off",
                "-device", "virtserialport,chardev=agent,name=davit.agent"));
        for (int n = 0; n < EXEC_PORTS; n++) {
            c.addAll(List.of("-chardev", "socket,id=exec" + n + ",path=" + opt(s.resolve(execSocket(n)))
                    + ",server=on,wait=off", "-device", "virtserialport,chardev=exec" + n + ",name=davit.exec." + n));
        }
        if (network) {
            c.addAll(List.of("-netdev", "user,id=net0", "-device", "virtio-net-device,netdev=net0"));
        }
        if (daemonize) {
            for (int n = 1; n <= CONSOLES; n++) {
                c.addAll(List.of("-chardev", "pipe,id=sh" + n + ",path=" + opt(s.resolve(VMM + "/sh" + n)),
                        "-device", "virtconsole,chardev=sh" + n + ",name=davit.sh" + n));
            }
            // not -daemonize: QEMU's filter forbids the fork it needs (spawn=deny); davit starts it in a session
            // of its own instead (launchDetached)
            c.addAll(List.of("-pidfile", s.resolve(PID).toString()));
            c.addAll(List.of("-qmp", "unix:" + opt(s.resolve(QMP_SOCKET)) + ",server=on,wait=off"));
            if (incoming) {
                c.addAll(List.of("-incoming", "unix:" + s.resolve(INCOMING_SOCKET)));
            }
        }
        c.addAll(dev.davit.sandbox.jail.Jail.VMM_SANDBOX);
        return c;
    }

    /** The host side of console {@code n} (1..{@link #CONSOLES}): its input FIFO. */
    static Path consoleInput(Path state, int n) {
        return state.resolve(VMM + "/sh" + n + ".in");
    }

    /** The host side of console {@code n}: the file its output is kept in (older half: the same name + ".1"). */
    static Path consoleOutput(Path state, int n) {
        return state.resolve(OUT + "/sh" + n + ".out");
    }

    /** The FIFOs and the files they are kept in, relative to the state directory (see {@link #capped}). */
    private static List<String> outputs(boolean consoles) {
        List<String> pairs = new ArrayList<>(List.of(CONSOLE_PIPE, CONSOLE));
        if (consoles) {
            for (int n = 1; n <= CONSOLES; n++) {
                pairs.addAll(List.of(VMM + "/sh" + n + ".out", OUT + "/sh" + n + ".out"));
            }
        }
        return pairs;
    }

    /**
     * Makes the FIFOs QEMU writes to and reads from afresh, before QEMU starts (and before {@link #ownVmm}, which
     * gives those in {@code vmm/} to QEMU's uid): {@code vmm/console.pipe}, {@code out/qemu.pipe}, and with
     * {@code consoles} each console's {@code shN.in} and {@code shN.out}. {@code out/} was emptied by
     * {@link #confined}.
     */
    static void createOutputs(Path state, boolean consoles) {
        List<String> fifos = new ArrayList<>(List.of("mkfifo", "-m", "600"));
        List<String> pairs = outputs(consoles);
        for (int i = 0; i < pairs.size(); i += 2) {
            fifos.add(state.resolve(pairs.get(i)).toString());
        }
        fifos.add(state.resolve(QEMU_PIPE).toString());
        if (consoles) {
            for (int n = 1; n <= CONSOLES; n++) {
                fifos.add(consoleInput(state, n).toString());
            }
        }
        try {
            for (String f : fifos.subList(3, fifos.size())) {
                Path p = Path.of(f);
                Host.deleteTree(p); // made anew, never reached through what the VMM's uid may have left there
                Files.deleteIfExists(p);
            }
            Process p = new ProcessBuilder(fifos).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor() != 0) {
                throw new IOException("mkfifo failed: " + out);
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot make the consoles in " + state + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted");
        }
    }

    /**
     * The script of {@link #capped}: a {@link dev.davit.sandbox.backend.Capper} per FIFO, each opened before QEMU starts
     * (opening its writing end here returns once the capper holds the reading end, so QEMU never opens a FIFO
     * nobody reads, nor can the VMM's uid swap one before the capper has it); QEMU's own output goes to the last
     * one. Every capper ends once QEMU (this shell's pid, which it becomes) is gone and its FIFO drained.
     */
    private static final String CAPPED = dev.davit.sandbox.backend.Capper.FUNCTION + """
            mv=$1; dd=$2; stat=$3; sleep=$4; half=$5; state=$6; n=$7; shift 7
            while [ "$n" -gt 0 ]; do
              p=$1; o=$2; shift 2; n=$((n - 1))
              (
                trap '' HUP INT QUIT TERM USR1 USR2
                exec <"$state/$p" >/dev/null 2>&1
                cap "$state/$o" "$half" $$
              ) &
              if [ "$n" -gt 0 ]; then : >"$state/$p"; else exec >"$state/$p" 2>&1; fi
            done
            exec "$@"
            """;

    /**
     * {@code cmd} (QEMU's, through its jail's launcher) below a shell that first starts the cappers of its outputs
     * ({@link #CAPPED}), in the state directory as the jail sees it ({@code state}): QEMU writes its consoles to
     * FIFOs, never to a file whose size the guest decides, and what is kept of each on the host stays under
     * {@link dev.davit.sandbox.internal.Spawned#logCap()} (for as long as QEMU runs, davit or not).
     */
    static List<String> capped(SandboxOptions options, Path state, boolean consoles, List<String> cmd) {
        List<String> pairs = new ArrayList<>(outputs(consoles));
        pairs.addAll(List.of(QEMU_PIPE, QEMU_LOG));
        List<String> c = new ArrayList<>(List.of(Host.tool(options.searchPath(), "sh").toString(), "-c", CAPPED, "capped",
                Host.tool(options.searchPath(), "mv").toString(), Host.tool(options.searchPath(), "dd").toString(),
                Host.tool(options.searchPath(), "stat").toString(), Host.tool(options.searchPath(), "sleep").toString(),
                Long.toString(dev.davit.sandbox.backend.Capper.half()), state.toAbsolutePath().toString(),
                Integer.toString(pairs.size() / 2)));
        c.addAll(pairs);
        c.addAll(cmd);
        return c;
    }

    /** A path inside a QEMU option value: commas are doubled. */
    private static String opt(Path p) {
        return p.toString().replace(",", ",,");
    }

    /** Starts QEMU as a child of davit (one-shot runs); its messages go to qemu.log. */
    static Process launch(List<String> cmd, Path state) {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.directory(state.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.redirectOutput(ProcessBuilder.Redirect.to(state.resolve(LOG).toFile()));
        pb.redirectErrorStream(true);
        try {
            return pb.start();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start " + cmd.get(0) + ": " + e.getMessage());
        }
    }

    /**
     * Starts a detached QEMU: {@code setsid} gives it a session of its own (the command's processes exec one
     * another, so QEMU keeps the pid started here), it outlives davit, and it is started once it wrote qemu.pid.
     * Returns its pid.
     */
    static long launchDetached(Path setsid, List<String> cmd, Path state,
                               java.util.function.Consumer<Process> started) {
        List<String> detached = new ArrayList<>(List.of(setsid.toString()));
        detached.addAll(cmd);
        Process p = launch(detached, state);
        try {
            if (started != null) {
                started.accept(p);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.isRegularFile(state.resolve(PID)) || Files.size(state.resolve(PID)) == 0) {
                if (!p.isAlive()) {
                    throw new DavitException(Kind.INTERNAL, "QEMU could not start the microVM: " + log(state));
                }
                if (System.nanoTime() > deadline) {
                    throw new DavitException(Kind.INTERNAL, "QEMU did not finish starting within 60 s: "
                            + log(state));
                }
                Thread.sleep(5);
            }
        } catch (InterruptedException e) {
            Host.killTree(p);
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while QEMU started");
        } catch (IOException e) {
            Host.killTree(p);
            throw new DavitException(Kind.INTERNAL, "cannot read " + state.resolve(PID) + ": " + e.getMessage());
        } catch (RuntimeException e) {
            Host.killTree(p);
            throw e;
        }
        return p.pid();
    }

    /**
     * What runs with the VMM's view (see {@link #confined}): {@code env} and {@code state} as the VMM sees them;
     * every command it starts goes through {@code jail}, and a VMM's command (QEMU's, qemu-img's) through
     * {@code vmm} before that ({@link dev.davit.sandbox.jail.Jail#vmmLauncher}: its own root, uid, no capabilities).
     */
    interface Confined<T> {
        T run(Environment env, Path state, dev.davit.sandbox.jail.Jail.Wrap jail,
              java.util.function.UnaryOperator<List<String>> vmm);
    }

    /**
     * Runs {@code action} with the environment and state directory as the jailed QEMU reaches them, and gives the
     * VMM's directory ({@code vmm/}; the action calls {@link #ownVmm} before it starts QEMU) to the jail's
     * unprivileged uid (see {@link dev.davit.sandbox.jail.Jail#vmmLauncher}). As root, {@code action} runs in a
     * private mount namespace where {@code vmm/} is bound at {@code /run/davit/vmm} and the environment's files,
     * read-only and idmapped, at {@code /run/davit/vmlinux}, {@code initrd} and {@code rootfs.ext4} (QEMU's uid could
     * not walk davit's home to them); the state directory it sees is {@code /run/davit}. With davit-exec, each VMM
     * command then runs in a root of its own ({@link VmmRoot}) holding its program's files, those of
     * {@code /run/davit}, {@code /dev/kvm} with {@code accel} KVM, and with a {@code network} an
     * {@code /etc/resolv.conf} ({@link dev.davit.sandbox.Network#resolvConf}, written to the state directory).
     * Without root it gets the paths as they are.
     */
    static <T> T confined(SandboxOptions options, String sandboxId, Environment env, Path state, Accel.Choice accel,
                          dev.davit.sandbox.Network network, Confined<T> action) {
        return confined(options, sandboxId, env, state, accel, network, false, action);
    }

    /**
     * {@link #confined(SandboxOptions, String, Environment, Path, Accel.Choice, dev.davit.sandbox.Network, Confined)};
     * with {@code keepOutputs} (a VM resumed from its saved memory: its shells go on) the regular files of
     * {@code out/} are kept, and the cappers append to them.
     */
    static <T> T confined(SandboxOptions options, String sandboxId, Environment env, Path state, Accel.Choice accel,
                          dev.davit.sandbox.Network network, boolean keepOutputs, Confined<T> action) {
        Path vmm = state.resolve(VMM);
        Path out = state.resolve(OUT);
        try {
            Files.createDirectories(vmm);
            // emptied, not made anew: as root it is bound into the jail's view below
            Files.createDirectories(out);
            try (java.util.stream.Stream<Path> old = Files.list(out)) {
                for (Path f : old.toList()) {
                    if (keepOutputs && Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        continue; // what its shells and consoles printed before the pause
                    }
                    Host.deleteTree(f);
                    Files.deleteIfExists(f);
                }
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot prepare " + vmm + " and " + out + ": " + e.getMessage());
        }
        if (!dev.davit.sandbox.jail.Jail.active()) {
            return action.run(env, state, cmd -> cmd, cmd -> dev.davit.sandbox.jail.Jail.vmmLauncher(options,
                    sandboxId, List.of(), cmd));
        }
        Map<String, Path> binds = dev.davit.sandbox.jail.Jail.binds();
        binds.put(VMM, vmm);
        binds.put(OUT, out); // for the cappers (Machine.capped), never in the VMM's own root
        Path dir = dev.davit.sandbox.jail.Jail.DIR;
        // the environment's files (links resolved: the VMM's uid could not follow them), each idmapped and
        // read-only: a root-owned file is the VMM uid's to read, whatever its mode
        Map<String, Path> files = new java.util.LinkedHashMap<>();
        try {
            files.put("vmlinux", env.vmlinux().toRealPath());
            files.put("rootfs.ext4", env.rootfsImage().toRealPath());
            if (env.initrd() != null) {
                files.put("initrd", env.initrd().toRealPath());
            }
        } catch (IOException e) {
            throw new DavitException(Kind.NOT_FOUND, "microVM environment " + env.dir() + ": " + e.getMessage());
        }
        Environment seen = new Environment(dir, dir.resolve("vmlinux"),
                env.initrd() == null ? null : dir.resolve("initrd"), dir.resolve("rootfs.ext4"));
        // the VMM's own root: /run/davit as the jail step made it, and a resolver for QEMU's user-mode network
        List<dev.davit.sandbox.jail.Jail.RootEntry> view = new ArrayList<>();
        view.add(new dev.davit.sandbox.jail.Jail.RootEntry(dev.davit.sandbox.jail.Jail.RootEntry.Kind.RW,
                dir.resolve(VMM).toString(), dir.resolve(VMM).toString()));
        for (String f : files.keySet()) {
            view.add(dev.davit.sandbox.jail.Jail.RootEntry.readOnly(dir.resolve(f)));
        }
        Path resolv = resolvConf(network, state);
        if (resolv != null) {
            view.add(new dev.davit.sandbox.jail.Jail.RootEntry(dev.davit.sandbox.jail.Jail.RootEntry.Kind.RO,
                    "/etc/resolv.conf", resolv.toAbsolutePath().toString()));
        }
        java.util.function.UnaryOperator<List<String>> launcher = cmd -> dev.davit.sandbox.jail.Jail.vmmLauncher(
                options, sandboxId, VmmRoot.of(Path.of(cmd.get(0)), accel.isKvm(), view), cmd);
        // idmapped to the VMM's own uid: root's files are its to read
        long[] vmmIds = dev.davit.sandbox.jail.Jail.vmmIds(sandboxId);
        return dev.davit.sandbox.jail.Jail.runWithBinds(options, binds, files,
                new dev.davit.sandbox.jail.IdRange(vmmIds[0], vmmIds[1], 1),
                jail -> action.run(seen, dir, jail, launcher));
    }

    /** The resolver file of the VMM's root (in the state directory, outside {@code vmm/}), or null without network. */
    private static Path resolvConf(dev.davit.sandbox.Network network, Path state) {
        String content = network.resolvConf();
        if (content == null) {
            return null;
        }
        Path f = state.resolve(RESOLV_CONF);
        try {
            Files.deleteIfExists(f);
            Files.writeString(f, content, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE_NEW);
            return f;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + f + ": " + e.getMessage());
        }
    }

    /** Gives {@code vmm} and its entries to the jail's VMM uid (as root; QEMU must write them). */
    static void ownVmm(Path vmm, String sandboxId) {
        if (!dev.davit.sandbox.jail.Jail.active()) {
            return;
        }
        long[] ids = dev.davit.sandbox.jail.Jail.vmmIds(sandboxId);
        try (java.util.stream.Stream<Path> all = Files.walk(vmm)) {
            for (Path p : all.toList()) {
                Files.setAttribute(p, "unix:gid", (int) ids[1], java.nio.file.LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(p, "unix:uid", (int) ids[0], java.nio.file.LinkOption.NOFOLLOW_LINKS);
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot give " + vmm + " to the VMM's uid: " + e.getMessage());
        }
    }

    /** What the logs say: QEMU's last message, and the last lines of the console. */
    static String diagnosis(Path state) {
        String q = log(state);
        String con = consoleTail(state, 4);
        StringBuilder b = new StringBuilder();
        long oom = dev.davit.sandbox.backend.Cgroups.oomLimitMiB(state);
        if (oom > 0) {
            b.append("the kernel's OOM killer killed QEMU at its cgroup's memory limit of ").append(oom)
                    .append(" MiB (the guest's memory + QEMU's overhead; raise the overhead with")
                    .append(" -Ddavit.vm.memoryOverheadMiB=N or give the VM less memory)");
            return b.toString();
        }
        if (!q.isEmpty()) {
            b.append("QEMU: ").append(q);
        }
        if (!con.isEmpty()) {
            b.append(b.length() > 0 ? "; " : "").append("console: ").append(con);
        }
        return b.length() == 0 ? "no message on the console" : b.toString();
    }

    /** QEMU's last message (out/qemu.log, else qemu.log of the steps before it), one line. */
    static String log(Path state) {
        for (String f : List.of(QEMU_LOG, LOG)) {
            String last = "";
            for (String l : tail(state.resolve(f))) {
                if (!l.contains("terminating on signal")) {
                    last = l;
                }
            }
            if (!last.isEmpty()) {
                return abbreviate(last, 300);
            }
        }
        return "";
    }

    /** Whether {@code f} is a regular file itself (not a link to one). */
    private static boolean regularFile(Path f) {
        try {
            return Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS).isRegularFile();
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * What the console says, one line: a kernel panic's reason, or the last message of the initrd's init or the
     * agent, or else the last {@code lines} lines, joined with " | " (kernel timestamps removed).
     */
    static String consoleTail(Path state, int lines) {
        Path f = state.resolve(CONSOLE);
        List<String> all = new ArrayList<>(tail(f.resolveSibling(f.getFileName() + ".1")));
        all.addAll(tail(f));
        for (String key : List.of("Kernel panic", "davit-init:", "davit-agent:")) {
            for (int i = all.size() - 1; i >= 0; i--) {
                if (all.get(i).startsWith(key) && !all.get(i).startsWith("davit-agent: ready")) {
                    return all.get(i);
                }
            }
        }
        return String.join(" | ", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    /**
     * The non-blank lines of the last 64 KiB of {@code f}, control characters and kernel timestamps removed, each
     * at most 200 characters; none when {@code f} is missing or not a regular file (never through a link; the files
     * are in davit's own directories, which the VMM's uid cannot write).
     */
    private static List<String> tail(Path f) {
        List<String> all = new ArrayList<>();
        try (java.nio.channels.FileChannel r = regularFile(f) ? java.nio.channels.FileChannel.open(f,
                java.nio.file.StandardOpenOption.READ, java.nio.file.LinkOption.NOFOLLOW_LINKS) : null) {
            if (r == null) {
                return all;
            }
            long size = r.size();
            long n = Math.min(size, 64 * 1024);
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) n);
            while (buf.hasRemaining() && r.read(buf, size - n + buf.position()) > 0) {
                // the tail, as far as it is there
            }
            byte[] b = java.util.Arrays.copyOf(buf.array(), buf.position());
            for (String l : new String(b, StandardCharsets.UTF_8).replace("\r", "").split("\n")) {
                l = l.replaceAll("[\\p{Cntrl}&&[^\t]]", "").replaceFirst("^\\[ *[0-9]+\\.[0-9]+\\] ", "").strip();
                if (!l.isEmpty()) {
                    all.add(abbreviate(l, 200));
                }
            }
        } catch (IOException e) {
            return all;
        }
        return all;
    }

    /**
     * The host's TSC rate in kHz, or 0 when unknown: the nominal frequency where cpufreq reports one
     * ({@code base_frequency}), else, without cpufreq (typically in a VM, where it is the TSC rate), the
     * {@code cpu MHz} of /proc/cpuinfo. Only with a constant TSC.
     */
    static long hostTscKhz() {
        try {
            String info = Files.readString(Path.of("/proc/cpuinfo"));
            if (!info.contains(" constant_tsc")) {
                return 0;
            }
            Path cpufreq = Path.of("/sys/devices/system/cpu/cpu0/cpufreq");
            if (Files.isDirectory(cpufreq)) {
                Path base = cpufreq.resolve("base_frequency");
                return Files.isReadable(base) ? Long.parseLong(Files.readString(base).strip()) : 0;
            }
            for (String l : info.split("\n")) {
                if (l.startsWith("cpu MHz")) {
                    double mhz = Double.parseDouble(l.substring(l.indexOf(':') + 1).strip());
                    return Math.round(mhz * 1000);
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return 0;
    }

    private static String abbreviate(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n) + "...";
    }
}
