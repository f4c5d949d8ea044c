package dev.davit.sandbox.vm;

import dev.davit.sandbox.host.Host;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Chooses QEMU's accelerator: {@code kvm} only when it really runs guests here, else {@code tcg} (emulation). A
 * present /dev/kvm is not enough: a nested or paravirtual KVM (e.g. PVM) may create VMs but not run a stock
 * kernel. The probe, under KVM:
 *
 * <ol>
 *   <li>a 64 KiB firmware of three instructions (at the reset vector: write 0x10 to the isa-debug-exit port) must
 *       make QEMU exit with code 33 within {@value #FIRMWARE_SECONDS} s: KVM can create and run a vCPU;</li>
 *   <li>when a kernel is at hand, it must boot to its "cannot mount root" panic (no root disk, {@code panic=-1},
 *       {@code -no-reboot}) within {@value #KERNEL_SECONDS} s: KVM runs Linux.</li>
 * </ol>
 *
 * Results are kept per process and, for the full probe, in a file in the sandboxes' state directory keyed by the
 * host's boot id and the QEMU binary, so later davit processes do not probe again. {@code DAVIT_VM_ACCEL=kvm} or
 * {@code tcg} skips the probe.
 */
public final class Accel {
    static final String ENV = "DAVIT_VM_ACCEL";
    static final String CACHE_FILE = ".kvm-probe";
    private static final long FIRMWARE_SECONDS = 5;
    private static final long KERNEL_SECONDS = 10;
    private static final int EXIT_MARK = 0x10;
    private static final Map<String, Choice> PROBED = new ConcurrentHashMap<>();

    private Accel() {
    }

    /**
     * The accelerator to use and why.
     *
     * @param accel  {@code kvm} or {@code tcg}
     * @param kvm    what was found about KVM: {@code usable}, {@code absent}, {@code present but unusable: ...},
     *               {@code not accessible: ...}, {@code forced by DAVIT_VM_ACCEL}, or {@code not probed with a kernel}
     */
    public record Choice(String accel, String kvm) {
        public boolean isKvm() {
            return accel.equals("kvm");
        }
    }

    /**
     * The accelerator for booting {@code kernel} (null: only the firmware probe). {@code stateDir} holds the
     * cross-process cache (null: none).
     */
    public static Choice choose(Path qemu, Path kernel, Path stateDir) {
        String forced = System.getenv(ENV);
        if (forced != null && (forced.equals("kvm") || forced.equals("tcg"))) {
            return new Choice(forced, "forced by " + ENV + "=" + forced);
        }
        Path kvm = Path.of("/dev/kvm");
        if (!Files.exists(kvm)) {
            return new Choice("tcg", "absent (no /dev/kvm)");
        }
        if (!Files.isReadable(kvm) || !Files.isWritable(kvm)) {
            return new Choice("tcg", "not accessible: /dev/kvm is not readable and writable by this user (join the"
                    + " kvm group)");
        }
        String key = key(qemu);
        String memo = key + "|" + (kernel == null ? "" : kernel.toString());
        Choice c = PROBED.get(memo);
        if (c != null) {
            return c;
        }
        if (kernel != null && stateDir != null) {
            c = readCache(stateDir, key);
            if (c != null) {
                PROBED.put(memo, c);
                return c;
            }
        }
        c = probe(qemu, kernel, stateDir);
        PROBED.put(memo, c);
        if (kernel != null && stateDir != null) {
            writeCache(stateDir, key, c);
        }
        return c;
    }

    private static Choice probe(Path qemu, Path kernel, Path workDir) {
        Path dir = null;
        try {
            dir = workDir != null && Files.isDirectory(workDir) ? Files.createTempDirectory(workDir, ".kvm-probe-")
                    : Files.createTempDirectory("davit-kvm-probe-");
            Path firmware = dir.resolve("probe.bin");
            Files.write(firmware, firmware());
            Result r = runQemu(List.of(qemu.toString(), "-accel", "kvm", "-M", "microvm", "-nodefaults",
                    "-no-user-config", "-display", "none", "-m", "16", "-bios", firmware.toString(), "-device",
                    "isa-debug-exit,iobase=0xf4,iosize=4"), FIRMWARE_SECONDS);
            if (r.exit() != (EXIT_MARK << 1 | 1)) {
                return new Choice("tcg", "present but unusable: a test guest did not run under KVM ("
                        + r.describe() + ")");
            }
            if (kernel == null) {
                return new Choice("kvm", "runs a test guest; not yet probed with a Linux kernel");
            }
            r = runQemu(List.of(qemu.toString(), "-accel", "kvm", "-cpu", "host", "-M", "microvm", "-nodefaults",
                    "-no-user-config", "-display", "none", "-no-reboot", "-m", "128", "-serial", "stdio", "-kernel",
                    kernel.toString(), "-append", "console=ttyS0 panic=-1 root=/dev/davit-probe-none"),
                    KERNEL_SECONDS);
            if (r.exit() >= 0 && r.output().contains("Kernel panic")) {
                return new Choice("kvm", "usable");
            }
            return new Choice("tcg", "present but unusable: a Linux kernel did not boot under KVM ("
                    + r.describe() + ")");
        } catch (IOException e) {
            return new Choice("tcg", "not probed: " + e.getMessage());
        } finally {
            if (dir != null) {
                Host.deleteTree(dir);
            }
        }
    }

    /** The probe firmware: at the reset vector {@code mov al,0x10; out 0xf4,al; hlt; jmp $}, hlt elsewhere. */
    static byte[] firmware() {
        byte[] b = new byte[64 * 1024];
        java.util.Arrays.fill(b, (byte) 0xF4);
        byte[] code = {(byte) 0xB0, EXIT_MARK, (byte) 0xE6, (byte) 0xF4, (byte) 0xF4, (byte) 0xEB, (byte) 0xFE};
        System.arraycopy(code, 0, b, 0xFFF0, code.length);
        return b;
    }

    record Result(int exit, String output, boolean timedOut) {
        String describe() {
            if (timedOut) {
                return "no result within the probe's time limit";
            }
            String last = "";
            for (String l : output.split("\n")) {
                if (!l.isBlank()) {
                    last = l.strip();
                }
            }
            return "QEMU exit " + exit + (last.isEmpty() ? "" : ": " + (last.length() > 200 ? last.substring(0, 200)
                    : last));
        }
    }

    /** Runs QEMU with a time limit; its output (stdout and stderr) is kept up to 64 KiB. */
    static Result runQemu(List<String> cmd, long seconds) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread t = new Thread(() -> {
            try (InputStream in = p.getInputStream()) {
                byte[] buf = new byte[8192];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    synchronized (out) {
                        if (out.size() < 64 * 1024) {
                            out.write(buf, 0, n);
                        }
                    }
                }
            } catch (IOException e) {
                // QEMU is gone
            }
        }, "kvm-probe");
        t.setDaemon(true);
        t.start();
        boolean done;
        try {
            done = p.waitFor(seconds, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            t.join(2000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return new Result(-1, "", true);
        }
        String text;
        synchronized (out) {
            text = out.toString(StandardCharsets.UTF_8);
        }
        return new Result(done ? p.exitValue() : -1, text, !done);
    }

    /** Identifies this host boot, /dev/kvm and the QEMU binary: a cached result is not used after any changed. */
    private static String key(Path qemu) {
        String boot;
        try {
            boot = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
        } catch (IOException e) {
            boot = "unknown";
        }
        String kvm;
        try {
            kvm = Files.getAttribute(Path.of("/dev/kvm"), "unix:ctime").toString();
        } catch (IOException | RuntimeException e) {
            kvm = "none";
        }
        try {
            return boot + "|" + kvm + "|" + qemu.toRealPath() + "|" + Files.size(qemu) + "|"
                    + Files.getLastModifiedTime(qemu).toMillis();
        } catch (IOException e) {
            return boot + "|" + kvm + "|" + qemu;
        }
    }

    private static Choice readCache(Path stateDir, String key) {
        try {
            List<String> lines = Files.readAllLines(stateDir.resolve(CACHE_FILE));
            if (lines.size() == 3 && lines.get(0).equals(key)
                    && (lines.get(1).equals("kvm") || lines.get(1).equals("tcg"))) {
                return new Choice(lines.get(1), lines.get(2));
            }
        } catch (IOException e) {
            // no cache yet
        }
        return null;
    }

    private static void writeCache(Path stateDir, String key, Choice c) {
        try {
            Files.createDirectories(stateDir);
            dev.davit.oci.internal.Fs.writeAtomically(stateDir.resolve(CACHE_FILE), (key + "\n" + c.accel() + "\n"
                    + c.kvm().replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8), stateDir);
        } catch (IOException e) {
            // the next process probes again
        }
    }

    /** The cached result of a full probe, if any (for doctor). */
    public static Choice cached(Path qemu, Path stateDir) {
        return readCache(stateDir, key(qemu));
    }
}
