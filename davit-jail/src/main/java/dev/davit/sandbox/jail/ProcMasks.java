package dev.davit.sandbox.jail;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of /proc (and /sys) a sandbox may not see or may only read, as runc's default spec has them: masked
 * files read as empty, masked directories are empty, read-only ones cannot be written (the kernel's sysctls,
 * {@code sysrq-trigger}, interrupt and bus settings). The same lists serve bubblewrap (as mount options) and the OCI
 * runtimes ({@code linux.maskedPaths}, {@code linux.readonlyPaths}).
 */
public final class ProcMasks {
    public static final List<String> MASKED = List.of("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
            "/sys/firmware");
    public static final List<String> READONLY = List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger");

    private ProcMasks() {
    }

    /**
     * bubblewrap's options, to follow its {@code --proc /proc}: each masked file that exists here covered by
     * /dev/null, each masked directory by an empty read-only tmpfs, each read-only path bound read-only over itself
     * (its source is the host's /proc; what these files show does not depend on the reader's pid namespace, and a
     * sysctl of a network namespace is the reader's own).
     */
    public static List<String> bwrapArguments() {
        List<String> a = new ArrayList<>();
        for (String p : MASKED) {
            if (!p.startsWith("/proc/")) {
                continue;
            }
            Path host = Path.of(p);
            if (Files.isDirectory(host, LinkOption.NOFOLLOW_LINKS)) {
                a.addAll(List.of("--perms", "0555", "--tmpfs", p, "--remount-ro", p));
            } else if (Files.exists(host, LinkOption.NOFOLLOW_LINKS)) {
                a.addAll(List.of("--ro-bind", "/dev/null", p));
            }
        }
        for (String p : READONLY) {
            if (Files.exists(Path.of(p), LinkOption.NOFOLLOW_LINKS)) {
                a.addAll(List.of("--ro-bind", p, p));
            }
        }
        return a;
    }
}
