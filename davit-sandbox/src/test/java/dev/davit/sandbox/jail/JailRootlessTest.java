package dev.davit.sandbox.jail;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import dev.davit.sandbox.BusyboxRootfs;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.Sandboxes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The probe as an unprivileged user (davit-rootless), one-shot runs on bwrap: sandbox root is that user (a non-zero
 * host uid), with no_new_privs, davit's seccomp filter and no more than the default capabilities.
 */
class JailRootlessTest {
    /** Runs the probe with the given runtime and prints its output (or the error). */
    public static final class Child {
        public static void main(String[] args) {
            Sandboxes s = new Sandboxes(new SandboxOptions(Path.of(args[0]), null, null));
            try {
                ExecResult r = s.run(RunSpec.builder(Path.of(args[1])).runtime(args[2]).command("/bin/probe")
                        .build());
                System.out.print(r.stdoutText());
            } catch (DavitException e) {
                System.out.println("error " + e.kind() + ": " + e.getMessage());
            }
        }
    }

    @Test
    void bwrapWithoutRootIsConfinedToo() throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox");
        Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root (CI runs as root)");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-jail-rootless-")) {
            Path rootfs = BusyboxRootfs.createFor(u.dir().resolve("rootfs"));
            SandboxProbe.install(rootfs);
            Tools.run("chmod", "-R", "a+rX", rootfs.toString());
            String out = u.java(List.of(), 2, Child.class.getName(), u.home().resolve("sandboxes").toString(),
                    rootfs.toString(), "bwrap");
            Map<String, String> p = SandboxProbe.parse(out);
            assertThat(p).as(out).containsKey("uid_map");
            // sandbox root is root of a user namespace nested in one of davit's user (its map names the parent's
            // ids, so the host uid does not show here): never host root, as davit itself is not
            assertThat(p.get("uid_map").split(" ")[0]).isEqualTo("0");
            assertThat(p.get("NoNewPrivs")).isEqualTo("1");
            assertThat(p.get("Seccomp")).isEqualTo("2");
            assertThat(Long.parseUnsignedLong(p.get("CapEff"), 16) & ~SandboxProbe.DEFAULT_CAPS).isZero();
            for (String call : SandboxProbe.EPERM) {
                assertThat(p.get(call)).as(call).isEqualTo("EPERM");
            }
            assertThat(p.get("clone3")).isEqualTo("ENOSYS");
            for (String w : List.of("core_pattern", "suid_dumpable")) {
                assertThat(p.get(w)).as(w).isIn("EACCES", "EROFS", "EPERM");
            }
        }
    }
}
