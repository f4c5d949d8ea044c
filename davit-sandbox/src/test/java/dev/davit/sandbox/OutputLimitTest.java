package dev.davit.sandbox;

import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.container.BwrapBackendTest;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link RunSpec#maxOutput}: a flood on stdout and stderr is stopped, with the real runtimes. */
class OutputLimitTest {
    static final long LIMIT = 1_000_000;

    @TempDir
    Path tmp;

    /** An output stream that counts what it is given. */
    static final class Counter extends OutputStream {
        final AtomicLong n = new AtomicLong();

        @Override
        public void write(int b) {
            n.incrementAndGet();
        }

        @Override
        public void write(byte[] b, int off, int len) {
            n.addAndGet(len);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void aFloodIsStoppedAtTheLimitAndItsProcessesKilled(String runtime) throws IOException {
        Path rootfs = runtime.equals("bwrap") ? BusyboxRootfs.create(tmp.resolve("rootfs"))
                : BusyboxRootfs.createFor(tmp.resolve("rootfs"), runtime);
        Path state = tmp.resolve("state");
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(state));
        String marker = "davit-flood-" + System.nanoTime();
        Counter out = new Counter();
        Counter err = new Counter();
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).runtime(runtime).env("MARK", marker)
                .command("sh", "-c", "yes stdout-flood & cat /dev/zero >&2 & wait").timeout(Duration.ofSeconds(60))
                .maxOutput(LIMIT).build(), out, err);
        assertThat(r.outputLimited()).isTrue();
        assertThat(r.truncated()).isTrue();
        assertThat(r.timedOut()).isFalse();
        assertThat(r.exitCode()).isEqualTo(ExecResult.OUTPUT_LIMIT_EXIT_CODE).isEqualTo(137);
        // the flood never ends, so exactly the limit was kept, and the streamed copy is the captured one
        assertThat((long) r.stdout().length + r.stderr().length).isEqualTo(LIMIT);
        assertThat(out.n.get()).isEqualTo(r.stdout().length);
        assertThat(err.n.get()).isEqualTo(r.stderr().length);
        // what stdout kept is the flood, cut anywhere (on a busy host the stderr flood may fill the limit first)
        assertThat("stdout-flood\n".repeat(r.stdout().length / 13 + 1)).startsWith(r.stdoutText());
        assertThat(BwrapBackendTest.processesWith(marker)).isEmpty();
        assertThat(BusyboxRootfs.entries(state)).isEmpty();

        // within the limit (exactly at it, too) nothing changes
        ExecResult at = sandboxes.run(RunSpec.builder(rootfs).runtime(runtime)
                .command("sh", "-c", "head -c 999998 /dev/zero; echo x >&2; exit 3").maxOutput(LIMIT).build());
        assertThat(at.outputLimited()).isFalse();
        assertThat(at.truncated()).isFalse();
        assertThat(at.exitCode()).isEqualTo(3);
        assertThat(at.stdout()).hasSize(999_998);
        assertThat(at.stderrText()).isEqualTo("x\n");
    }

    @Test
    void aLongLivedSandboxsExecIsStoppedAndTheSandboxKeepsRunning() throws IOException {
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(tmp.resolve("state")));
        Sandbox s = sandboxes.start(sandboxes.create(CreateSpec.builder(rootfs).limits(Limits.NONE).build()).id());
        try {
            String marker = "davit-exec-flood-" + System.nanoTime();
            Counter out = new Counter();
            ExecResult r = sandboxes.exec(s.id(), ExecSpec.builder("sh", "-c", "yes & cat /dev/zero >&2 & wait")
                    .env(Map.of("MARK", marker)).timeout(Duration.ofSeconds(60)).maxOutput(LIMIT).tees(out, null)
                    .build());
            assertThat(r.outputLimited()).isTrue();
            assertThat(r.truncated()).isTrue();
            assertThat(r.exitCode()).isEqualTo(137);
            assertThat((long) r.stdout().length + r.stderr().length).isEqualTo(LIMIT);
            assertThat(out.n.get()).isEqualTo(r.stdout().length);
            assertThat(BwrapBackendTest.processesWith(marker)).isEmpty();
            assertThat(sandboxes.status(s.id()).status()).isEqualTo(SandboxStatus.RUNNING);
            ExecResult ok = sandboxes.exec(s.id(), ExecSpec.builder(java.util.List.of("echo", "still here"))
                    .maxOutput(LIMIT).build());
            assertThat(ok.exitCode()).isZero();
            assertThat(ok.outputLimited()).isFalse();
            assertThat(ok.stdoutText()).isEqualTo("still here\n");
        } finally {
            sandboxes.rm(s.id());
        }
    }

    @Test
    void aMicroVmEnvironmentWithoutAnInitrdIsToBeRebuiltNotRunWithoutTheLimit() throws java.io.IOException {
        // no initrd: nowhere for davit's init and davit-agent, the one way into a microVM (which keeps the limit)
        Path env = java.nio.file.Files.createDirectories(tmp.resolve("old-env"));
        java.nio.file.Files.writeString(env.resolve("vmlinux"), "");
        java.nio.file.Files.writeString(env.resolve("rootfs.ext4"), "");
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(tmp.resolve("state")));
        assertThatThrownBy(() -> sandboxes.run(RunSpec.builder(env).backend("vm").command("true").maxOutput(10)
                .build())).isInstanceOf(DavitException.class).hasMessageContaining("has no initrd")
                .hasMessageContaining("rebuild the environment").hasMessageNotContaining("\n")
                .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE);
        assertThatThrownBy(() -> RunSpec.builder(tmp).maxOutput(-1).build()).isInstanceOf(DavitException.class);
    }
}
