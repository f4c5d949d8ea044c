package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.VmTestEnvironment;
import dev.davit.sandbox.workspace.internal.WorkspaceInternals;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A warm pool of microVMs keeps its spares booted and then paused (memory saved, no QEMU running): a create takes
 * one and resumes it instead of booting, and the workspace is its own (its seed, its exec).
 */
class VmWarmPoolTest {
    @Test
    void aMicroVmSpareWaitsPausedAndIsResumedByTheCreateThatTakesIt(@TempDir Path tmp) throws Exception {
        Path env = VmTestEnvironment.get();
        Workspaces workspaces = Workspaces.under(tmp.resolve("home"));
        CreateSpec spec = CreateSpec.builder(env).ttl(Duration.ofHours(1)).backend("vm").vcpus(1).memoryMiB(256)
                .build();
        Path seed = Files.createDirectories(tmp.resolve("seed"));
        Files.writeString(seed.resolve("who"), "second\n");
        try (WarmPool pool = WorkspaceInternals.warmPool(workspaces, 1, () -> 4, m -> System.out.println(m))) {
            Workspaces warm = WorkspaceInternals.withSpares(workspaces, pool);
            Workspace first = warm.create(WorkspaceSpec.builder(spec).build());
            long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
            while (pool.ready().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(pool.ready()).hasSize(1);
            String spare = pool.ready().get(0);
            assertThat(workspaces.sandboxes().status(spare).status()).isEqualTo(SandboxStatus.STOPPED);
            assertThat(workspaces.sandboxes().paused(spare)).isTrue();
            assertThat(workspaces.sandboxes().status(spare).qemuPid()).isZero(); // no QEMU while it waits

            long t0 = System.nanoTime();
            Workspace second = warm.create(WorkspaceSpec.builder(spec).seed(seed).build());
            System.out.println("vm workspace create from a paused spare (resume + seed): "
                    + (System.nanoTime() - t0) / 1_000_000 + " ms");
            assertThat(second.sandboxId()).isEqualTo(spare);
            assertThat(workspaces.sandbox(second.id()).status()).isEqualTo(SandboxStatus.RUNNING);
            assertThat(workspaces.paused(second.id())).isFalse();
            ExecResult r = workspaces.execs().run(second.id(), ExecRequest.builder("sh", "-c", "cat who; hostname")
                    .timeout(Duration.ofSeconds(60)).build());
            assertThat(r.stdoutText()).isEqualTo("second\n" + spare + "\n");
            workspaces.rm(first.id());
            workspaces.rm(second.id());
        } finally {
            for (Workspace w : workspaces.list()) {
                workspaces.rm(w.id());
            }
        }
    }
}
