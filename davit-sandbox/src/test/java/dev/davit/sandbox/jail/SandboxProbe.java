package dev.davit.sandbox.jail;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The attacker's probe (resource {@code probe.c}, built statically with gcc) and what a sandbox must show it: run
 * only inside sandboxes, never on the host.
 */
public final class SandboxProbe {
    /** The capability bits of {@link Capabilities#DEFAULT}. */
    static final long DEFAULT_CAPS = bits(0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 31);
    /** What must be refused with EPERM. */
    static final List<String> EPERM = List.of("unshare_user", "unshare_mount", "mount", "keyctl", "add_key",
            "perf_event_open", "io_uring_setup", "open_by_handle_at", "bpf", "kexec_load", "init_module", "setns",
            "sethostname");

    private SandboxProbe() {
    }

    private static long bits(int... caps) {
        long m = 0;
        for (int c : caps) {
            m |= 1L << c;
        }
        return m;
    }

    /** Builds the probe into {@code rootfs}/bin/probe (skips without gcc, fails on CI). */
    public static void install(Path rootfs) throws IOException {
        Tools.assumeAvailable("gcc");
        Path src = Files.createTempFile("davit-probe", ".c");
        try (InputStream in = SandboxProbe.class.getResourceAsStream("probe.c")) {
            Files.write(src, in.readAllBytes());
            Files.createDirectories(rootfs.resolve("bin"));
            Tools.run("gcc", "-static", "-O2", "-o", rootfs.resolve("bin/probe").toString(), src.toString());
        } finally {
            Files.deleteIfExists(src);
        }
    }

    /** The probe's output as a map. */
    public static Map<String, String> parse(String out) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), line.substring(eq + 1).strip());
            }
        }
        return m;
    }

    /**
     * Asserts what sandbox root may do: mapped to a non-zero host uid, the default capabilities at most (none for
     * a non-root user), no_new_privs, a seccomp filter, and every dangerous call refused.
     */
    public static void assertConfined(Map<String, String> p, boolean root) {
        assertThat(p).as("probe output").containsKeys("uid_map", "CapEff", "NoNewPrivs", "Seccomp");
        String[] map = p.get("uid_map").split(" ");
        assertThat(Long.parseLong(map[0])).as("sandbox uid 0 is mapped").isZero();
        assertThat(Long.parseLong(map[1])).as("host uid of sandbox root: " + p).isGreaterThanOrEqualTo(100_000L);
        long eff = Long.parseUnsignedLong(p.get("CapEff"), 16);
        long bnd = Long.parseUnsignedLong(p.get("CapBnd"), 16);
        assertThat(eff).as("CapEff %x", eff).isEqualTo(root ? DEFAULT_CAPS : 0L);
        assertThat(bnd & ~DEFAULT_CAPS).as("CapBnd %x", bnd).isZero();
        assertThat(p.get("NoNewPrivs")).isEqualTo("1");
        assertThat(p.get("Seccomp")).isEqualTo("2");
        for (String call : EPERM) {
            assertThat(p.get(call)).as(call).isEqualTo("EPERM");
        }
        assertThat(p.get("clone3")).isEqualTo("ENOSYS");
        for (String w : List.of("core_pattern", "suid_dumpable", "sysrq_trigger")) {
            assertThat(p.get(w)).as(w).isIn("EACCES", "EROFS", "EPERM", w.equals("sysrq_trigger") && !Files.exists(Path.of("/proc/sysrq-trigger")) ? "ENOENT" : "EACCES");
        }
    }
}
