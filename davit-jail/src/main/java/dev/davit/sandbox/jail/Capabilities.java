package dev.davit.sandbox.jail;

import java.util.ArrayList;
import java.util.List;

/**
 * The capabilities a sandbox's root keeps, on every backend: those of Podman's default set, a subset of Docker's
 * (which also has CAP_NET_RAW, CAP_MKNOD and CAP_AUDIT_WRITE). Enough for package managers (chown, setuid
 * helpers), servers on ports below 1024 and chroot; nothing that administers the kernel, the network or other
 * processes: no CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYS_MODULE, CAP_SYS_RAWIO,
 * CAP_SYS_TIME, CAP_BPF, CAP_PERFMON, CAP_NET_RAW, CAP_MKNOD, CAP_SYS_RESOURCE, ... They are held in the sandbox's
 * user namespace only, over the sandbox's own ids.
 */
public final class Capabilities {
    public static final List<String> DEFAULT = List.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
            "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
            "CAP_SYS_CHROOT");

    /** Linux's capability numbers of {@link #DEFAULT}. */
    private static final java.util.Map<String, Integer> NUMBERS = java.util.Map.ofEntries(
            java.util.Map.entry("CAP_CHOWN", 0), java.util.Map.entry("CAP_DAC_OVERRIDE", 1),
            java.util.Map.entry("CAP_FOWNER", 3), java.util.Map.entry("CAP_FSETID", 4),
            java.util.Map.entry("CAP_KILL", 5), java.util.Map.entry("CAP_SETGID", 6),
            java.util.Map.entry("CAP_SETUID", 7), java.util.Map.entry("CAP_SETPCAP", 8),
            java.util.Map.entry("CAP_NET_BIND_SERVICE", 10), java.util.Map.entry("CAP_SYS_CHROOT", 18),
            java.util.Map.entry("CAP_SETFCAP", 31));

    private Capabilities() {
    }

    /** {@link #DEFAULT} as a bit mask (bit N: capability N), as /proc/PID/status shows it. */
    public static long mask() {
        long m = 0;
        for (String c : DEFAULT) {
            m |= 1L << NUMBERS.get(c);
        }
        return m;
    }

    /** bubblewrap's options that leave exactly {@link #DEFAULT}. */
    public static List<String> bwrapArguments() {
        List<String> a = new ArrayList<>(List.of("--cap-drop", "ALL"));
        for (String c : DEFAULT) {
            a.addAll(List.of("--cap-add", c));
        }
        return a;
    }
}
