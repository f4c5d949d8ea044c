package dev.davit.sandbox.vm;

import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.container.BwrapBackend;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One QEMU microVM of a sandbox, everything in the sandbox's state directory:
 *
 * <pre>
 * disk.qcow2   copy-on-write overlay over the environment's rootfs.ext4 (which QEMU opens read-only)
 * agent.sock   the unix socket QEMU serves for the guest agent's virtio-serial port
 * console.log  the guest's serial console (kernel messages, init and agent errors)
 * qemu.log     QEMU's own messages
 * qemu.pid     QEMU's pid (long-lived sandboxes)
 * shN.in       long-lived sandboxes, N = 1..4: a FIFO, the input of the guest's virtio console /dev/hvc(N-1)
 * shN.out      the output of that console (a regular file QEMU writes at its own offset)
 * </pre>
 *
 * The command line (see docs/SANDBOX.md):
 *
 * <pre>
 * qemu-system-x86_64 -M microvm -accel tcg|kvm [-cpu host] -nodefaults -no-user-config -display none -no-reboot
 *   -smp VCPUS -m MEMORY -kernel ENV/vmlinux [-initrd ENV/initrd] -append "console=ttyS0 quiet panic=-1 ..."
 *   -chardev file,id=console,path=console.log -serial chardev:console
 *   -drive id=root,file=disk.qcow2,format=qcow2,if=none -device virtio-blk-device,drive=root
 *   -device virtio-serial-device -chardev socket,id=agent,path=agent.sock,server=on,wait=off
 *   -device virtserialport,chardev=agent,name=davit.agent
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
    static final String DISK = "disk.qcow2";
    public static final String SOCKET = "agent.sock";
    public static final String CONSOLE = "console.log";
    static final String LOG = "qemu.log";
    static final String PID = "qemu.pid";
    /** The virtio consoles of a long-lived VM (terminals for shells): /dev/hvc0 .. hvc3 in the guest. */
    public static final int CONSOLES = 4;
    /** How long a boot may take until the agent answers. TCG boots take 1.5-5 s on an idle host. */
    static final Duration BOOT_TIMEOUT = Duration.ofSeconds(Long.getLong("davit.vm.bootTimeoutSeconds", 90));
    /** Extra time the host grants the agent after a command's timeout before it gives up on the VM. */
    static Duration timeoutGrace() {
        return Duration.ofSeconds(Long.getLong("davit.vm.timeoutGraceSeconds", 15));
    }
    /** The longest path of a unix socket (sun_path holds 108 bytes with the NUL). */
    private static final int MAX_SOCKET_PATH = 107;

    /** The files of a microVM environment. */
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
            throw new DavitException(Kind.NOT_FOUND, QEMU + " is not installed; install the qemu-system-x86 package"
                    + " (see 'davit doctor')");
        }
        Path img = options.which(QEMU_IMG);
        if (img == null) {
            throw new DavitException(Kind.NOT_FOUND, QEMU_IMG + " is not installed; install the qemu-utils package");
        }
        return new Tools(qemu, img);
    }

    /** The environment in {@code dir}: vmlinux and rootfs.ext4 must be there, initrd is optional. */
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
        return new Environment(d, d.resolve("vmlinux"), Files.isRegularFile(initrd) ? initrd : null,
                d.resolve("rootfs.ext4"));
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
        Path disk = state.resolve(DISK);
        if (Files.exists(disk)) {
            return;
        }
        List<String> cmd = List.of(tools.qemuImg().toString(), "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                env.rootfsImage().toString(), disk.toString());
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
    static String kernelArguments(Environment env, String hostname, boolean network, Accel.Choice accel) {
        List<String> a = new ArrayList<>(List.of("console=ttyS0", "quiet", "panic=-1"));
        if (!accel.isKvm()) {
            // Under emulation the kernel's TSC calibration against the PIT fails now and then (timing), and the
            // boot then hangs; TCG's TSC runs at the host's TSC rate, so tell the kernel that rate.
            long khz = hostTscKhz();
            if (khz > 0) {
                a.add("tsc_early_khz=" + khz);
            }
        }
        if (env.initrd() == null) {
            a.addAll(List.of("root=/dev/vda", "rootfstype=ext4", "rw", "init=/" + VmImages.GUEST_DIR + "/agent"));
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
        Path s = state.toAbsolutePath();
        List<String> c = new ArrayList<>(List.of(tools.qemu().toString(), "-M", "microvm", "-accel", accel.accel()));
        if (accel.isKvm()) {
            c.addAll(List.of("-cpu", "host"));
        }
        c.addAll(List.of("-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-smp", Integer.toString(vcpus), "-m", Integer.toString(memoryMiB),
                "-kernel", env.vmlinux().toString()));
        if (env.initrd() != null) {
            c.addAll(List.of("-initrd", env.initrd().toString()));
        }
        c.addAll(List.of("-append", kernelArguments(env, hostname, network, accel),
                "-chardev", "file,id=console,path=" + opt(s.resolve(CONSOLE)), "-serial", "chardev:console",
                "-drive", "id=root,file=" + opt(s.resolve(DISK)) + ",format=qcow2,if=none",
                "-device", "virtio-blk-device,drive=root",
                "-device", "virtio-serial-device",
                "-chardev", "socket,id=agent,path=" + opt(s.resolve(SOCKET)) + ",server=on,wait=off",
                "-device", "virtserialport,chardev=agent,name=davit.agent"));
        if (network) {
            c.addAll(List.of("-netdev", "user,id=net0", "-device", "virtio-net-device,netdev=net0"));
        }
        if (daemonize) {
            for (int n = 1; n <= CONSOLES; n++) {
                c.addAll(List.of("-chardev", "pipe,id=sh" + n + ",path=" + opt(s.resolve("sh" + n)),
                        "-device", "virtconsole,chardev=sh" + n + ",name=davit.sh" + n));
            }
            c.addAll(List.of("-daemonize", "-pidfile", s.resolve(PID).toString()));
        }
        return c;
    }

    /** The host side of console {@code n} (1..{@link #CONSOLES}): its input FIFO. */
    static Path consoleInput(Path state, int n) {
        return state.resolve("sh" + n + ".in");
    }

    /** The host side of console {@code n}: its output file. */
    static Path consoleOutput(Path state, int n) {
        return state.resolve("sh" + n + ".out");
    }

    /** Makes the consoles' files afresh: FIFOs for input, empty files for output (before QEMU starts). */
    static void createConsoles(Path state) {
        try {
            for (int n = 1; n <= CONSOLES; n++) {
                Files.deleteIfExists(consoleInput(state, n));
                Process p = new ProcessBuilder("mkfifo", "-m", "600", consoleInput(state, n).toString())
                        .redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                if (p.waitFor() != 0) {
                    throw new IOException("mkfifo failed: " + out);
                }
                Files.write(consoleOutput(state, n), new byte[0]);
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot make the consoles in " + state + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.INTERNAL, "interrupted");
        }
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
     * Starts a detached QEMU ({@code -daemonize}: it leaves davit's session and outlives it) and returns its pid
     * from qemu.pid.
     */
    static long launchDetached(List<String> cmd, Path state, java.util.function.Consumer<Process> started) {
        Process p = launch(cmd, state);
        try {
            if (started != null) {
                started.accept(p);
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                BwrapBackend.killTree(p);
                throw new DavitException(Kind.INTERNAL, "QEMU did not finish starting within 60 s: " + log(state));
            }
        } catch (InterruptedException e) {
            BwrapBackend.killTree(p);
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.INTERNAL, "interrupted while QEMU started");
        } catch (RuntimeException e) {
            BwrapBackend.killTree(p);
            throw e;
        }
        if (p.exitValue() != 0) {
            throw new DavitException(Kind.INTERNAL, "QEMU could not start the microVM: " + log(state));
        }
        try {
            return Long.parseLong(Files.readString(state.resolve(PID)).strip());
        } catch (IOException | NumberFormatException e) {
            throw new DavitException(Kind.INTERNAL, "QEMU started but wrote no valid " + PID + ": " + e.getMessage());
        }
    }

    /**
     * Waits for the agent of a just started VM: connects and pings until it answers (the boot), within
     * {@link #BOOT_TIMEOUT}. Throws a one-line DavitException naming the cause when QEMU exits or the time is up.
     */
    static AgentClient awaitAgent(Path state, java.util.function.BooleanSupplier alive, String what,
                                    Accel.Choice accel) {
        long deadline = System.nanoTime() + BOOT_TIMEOUT.toNanos();
        AgentClient c = null;
        try {
            c = AgentClient.connect(state.resolve(SOCKET), deadline, alive);
            String id = Protocol.newId();
            Protocol.Answer a = c.call(Protocol.ping(id), id, deadline);
            if (!(a instanceof Protocol.Pong)) {
                throw new DavitException(Kind.INTERNAL, what + ": the guest agent answered a ping with " + a);
            }
            return c;
        } catch (AgentClient.GoneException e) {
            close(c);
            throw new DavitException(Kind.INTERNAL, what + " did not boot: " + (exits(alive) ? "QEMU exited"
                    : e.getMessage()) + "; " + diagnosis(state));
        } catch (AgentClient.TimeoutException e) {
            close(c);
            throw new DavitException(Kind.INTERNAL, what + " did not boot within " + BOOT_TIMEOUT.toSeconds()
                    + " s (accel " + accel.accel() + "); " + diagnosis(state));
        } catch (RuntimeException e) {
            close(c);
            throw e;
        }
    }

    /** Whether QEMU exits within a second (its socket closes a moment before it is gone). */
    static boolean exits(java.util.function.BooleanSupplier alive) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (alive.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** What the logs say: QEMU's last message, and the last lines of the console. */
    static String diagnosis(Path state) {
        String q = log(state);
        String con = consoleTail(state, 4);
        StringBuilder b = new StringBuilder();
        if (!q.isEmpty()) {
            b.append("QEMU: ").append(q);
        }
        if (!con.isEmpty()) {
            b.append(b.length() > 0 ? "; " : "").append("console: ").append(con);
        }
        return b.length() == 0 ? "no message on the console" : b.toString();
    }

    /** QEMU's last message (qemu.log), one line. */
    static String log(Path state) {
        try {
            String last = "";
            for (String l : Files.readAllLines(state.resolve(LOG), StandardCharsets.UTF_8)) {
                if (!l.isBlank() && !l.contains("terminating on signal")) {
                    last = l.strip();
                }
            }
            return abbreviate(last, 300);
        } catch (IOException | java.io.UncheckedIOException e) {
            return "";
        }
    }

    /**
     * What the console says, one line: a kernel panic's reason, or the last message of the initrd's init or the
     * agent, or else the last {@code lines} lines, joined with " | " (kernel timestamps removed).
     */
    static String consoleTail(Path state, int lines) {
        Path f = state.resolve(CONSOLE);
        List<String> all = new ArrayList<>();
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "r")) {
            long n = Math.min(r.length(), 64 * 1024);
            byte[] b = new byte[(int) n];
            r.seek(r.length() - n);
            r.readFully(b);
            for (String l : new String(b, StandardCharsets.UTF_8).replace("\r", "").split("\n")) {
                l = l.replaceAll("[\\p{Cntrl}&&[^\t]]", "").replaceFirst("^\\[ *[0-9]+\\.[0-9]+\\] ", "").strip();
                if (!l.isEmpty()) {
                    all.add(abbreviate(l, 200));
                }
            }
        } catch (IOException e) {
            return "";
        }
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

    private static void close(AgentClient c) {
        if (c != null) {
            c.close();
        }
    }
}
