package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One-shot runs of the vm backend: real QEMU (TCG here) over the small busybox environment. */
class VmRunTest {
    static Path env;

    @TempDir
    Path tmp;

    @BeforeAll
    static void environment() throws IOException {
        env = VmTestEnvironment.get();
    }

    private Sandboxes sandboxes() {
        return new Sandboxes(new SandboxOptions(tmp.resolve("state"), null, null));
    }

    private static RunSpec.Builder vm(String... argv) {
        return RunSpec.builder(env).backend("vm").memoryMiB(256).command(argv);
    }

    @Test
    void runsACommandAndLeavesNothingBehind() throws IOException {
        String before = VmTestEnvironment.sha256(env.resolve("rootfs.ext4"));
        Sandboxes sandboxes = sandboxes();
        ExecResult r = sandboxes.run(vm("sh", "-c", "echo out; echo err >&2; echo x > /bin/new; cat /bin/new; exit 3")
                .env("A", "1").build());
        System.out.println("one-shot timings " + r.timings().toJson());
        assertThat(r.exitCode()).as(r.stderrText()).isEqualTo(3);
        assertThat(r.stdoutText()).isEqualTo("out\nx\n");
        assertThat(r.stderrText()).isEqualTo("err\n");
        assertThat(r.backend()).isEqualTo("vm");
        assertThat(r.runtime()).isEqualTo("qemu");
        assertNoSandboxLeft();
        assertThat(VmTestEnvironment.sha256(env.resolve("rootfs.ext4"))).isEqualTo(before);
        // a failing run cleans up too
        assertThatThrownBy(() -> sandboxes.run(vm("pwd").workdir("/nonexistent").build()))
                .isInstanceOf(DavitException.class).hasMessageContaining("/nonexistent does not exist");
        assertNoSandboxLeft();
        assertThat(VmTestEnvironment.sha256(env.resolve("rootfs.ext4"))).isEqualTo(before);
    }

    private void assertNoSandboxLeft() throws IOException {
        try (Stream<Path> s = Files.list(tmp.resolve("state"))) {
            assertThat(s.filter(p -> p.getFileName().toString().startsWith("sb-")).toList()).isEmpty();
        }
        assertThat(ProcessHandle.current().descendants()
                .filter(p -> p.info().command().orElse("").contains("qemu-system")).toList()).isEmpty();
    }
}
