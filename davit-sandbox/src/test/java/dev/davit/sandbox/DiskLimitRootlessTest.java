package dev.davit.sandbox;

import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import dev.davit.sandbox.container.BwrapBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The disk limit without root, where davit can mount no disk of the sandbox's own: a one-shot run's /tmp, /var/tmp
 * and /dev/shm are tmpfs mounts of at most {@code --disk} MiB each, so 64 MiB written to each against
 * {@code --disk 16} stops at 16 MiB (its layer is not bounded: docs/reference/sandbox/LIMITS.md says so).
 */
class DiskLimitRootlessTest {
    /** Writes 64 MiB into each of the places given, under a 16 MiB disk limit; prints how many MiB got there. */
    public static final class Child {
        public static void main(String[] args) {
            Sandboxes s = new Sandboxes(SandboxOptions.of(Path.of(args[0])));
            StringBuilder script = new StringBuilder();
            for (int i = 2; i < args.length; i++) {
                script.append("dd if=/dev/zero of=").append(args[i]).append(" bs=1M count=64 2>/dev/null;"
                        + " echo ").append(args[i]).append(" $(( $(wc -c < ").append(args[i]).append(") >> 20 ));");
            }
            try {
                ExecResult r = s.run(RunSpec.builder(Path.of(args[1])).runtime(BwrapBackend.RUNTIME)
                        .limits(new Limits(0, 0, 0, 16)).command("sh", "-c", script.toString()).build());
                System.out.print(r.stdoutText() + r.stderrText());
            } catch (DavitException e) {
                System.out.println("error " + e.kind() + ": " + e.getMessage());
            }
        }
    }

    @Test
    void aRootlessRunsScratchDirectoriesStopAtItsDisk() throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox");
        Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root (CI runs as root)");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-disk-rootless-")) {
            Path rootfs = BusyboxRootfs.createFor(u.dir().resolve("rootfs"));
            for (String a : List.of("dd", "wc")) {
                if (!Files.exists(rootfs.resolve("bin").resolve(a), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.createSymbolicLink(rootfs.resolve("bin").resolve(a), Path.of("busybox"));
                }
            }
            Tools.run("chmod", "-R", "a+rX", rootfs.toString());
            Path state = u.home().resolve("sandboxes");
            String out = u.java(List.of(), 2, Child.class.getName(), state.toString(), rootfs.toString(),
                    "/tmp/big", "/var/tmp/big", "/dev/shm/big");
            assertThat(out).isEqualTo("/tmp/big 16\n/var/tmp/big 16\n/dev/shm/big 16\n");
            assertThat(BusyboxRootfs.entries(state)).isEmpty();
        }
    }
}
