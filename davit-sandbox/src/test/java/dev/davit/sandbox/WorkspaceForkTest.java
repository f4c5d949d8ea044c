package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Forks of container workspaces over real bwrap sandboxes: each fork has the whole writable state (a changed /etc,
 * a "package" in /opt, a file deleted from the image, /tmp, /workspace edits), the baseline and both snapshots; a
 * write in one is seen by no other; removing the parent leaves the forks whole.
 */
class WorkspaceForkTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("rm", "mkdir");
    }

    private String sh(Workspace w, String script) {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", script)
                .timeout(Duration.ofSeconds(20)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    private Path seed() throws IOException {
        Path seed = Files.createDirectories(tmp.resolve("seed"));
        Files.writeString(seed.resolve("main.c"), "int main() { return 1; }\n");
        return seed;
    }

    /** What every fork must see: the parent's state when it was forked. */
    private void seesTheParentsState(Workspace f) {
        assertThat(sh(f, "cat /etc/later.conf /opt/pkg/bin/tool /tmp/scratch /workspace/main.c"))
                .isEqualTo("later\ntool\nscratch\nint main() { return 0; }\n");
        assertThat(sh(f, "[ -e /bin/head ] && echo present || echo gone")).isEqualTo("gone\n");
        assertThat(workspaces.snapshots(f.id())).extracting(Workspaces.Snapshot::name).containsExactly("s1", "s2");
        assertThat(workspaces.files().diff(f.id()).changes()).extracting(WorkspaceDiff.Change::path)
                .containsExactlyInAnyOrder("main.c", "notes.txt");
        assertThat(workspaces.files().diff(f.id(), "s1", List.of(), false).changes()).extracting(WorkspaceDiff.Change::path)
                .containsExactly("main.c");
    }

    private Workspace parentWithHistory(Limits limits) throws IOException {
        Workspace p = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).limits(limits)
                .ttl(Duration.ofHours(1)).build())
                .name("parent").seed(seed()).labels(Map.of("task", "bug-17")).build());
        sh(p, "echo notes > /workspace/notes.txt");
        workspaces.snapshot(p.id(), "s1");
        sh(p, "echo 'int main() { return 0; }' > /workspace/main.c; echo later > /etc/later.conf;"
                + " mkdir -p /opt/pkg/bin; echo tool > /opt/pkg/bin/tool; rm /bin/head; echo scratch > /tmp/scratch");
        workspaces.snapshot(p.id(), "s2");
        return p;
    }

    @Test
    void forksOfARunningWorkspaceWithADiskHaveItAllAndGoTheirOwnWays() throws IOException {
        assumeThat(Jail.active()).as("root (a workspace's disk is a mount)").isTrue();
        Workspace p = parentWithHistory(new Limits(512, 1, 256, 64));

        List<Workspace> forks = workspaces.fork("parent", 2, List.of("try-a", "try-b"), null);
        assertThat(forks).extracting(Workspace::name).containsExactly("try-a", "try-b");
        Workspace a = forks.get(0);
        Workspace b = forks.get(1);
        assertThat(a.labels()).containsEntry("task", "bug-17");
        assertThat(a.sandboxId()).isNotEqualTo(p.sandboxId()).isNotEqualTo(b.sandboxId());
        for (Workspace f : forks) {
            assertThat(workspaces.sandbox(f.id()).status()).isEqualTo(SandboxStatus.RUNNING);
            assertThat(workspaces.sandbox(f.id()).spec().limits().diskMiB()).isEqualTo(64);
            seesTheParentsState(f);
        }
        assertThat(sh(p, "cat /etc/later.conf")).isEqualTo("later\n"); // the parent went on running

        // independent: a write in one is seen by no other
        sh(a, "echo a > /etc/only; echo a > /workspace/only");
        sh(p, "echo p > /etc/only-parent");
        assertThat(sh(b, "ls /etc /workspace")).doesNotContain("only");
        assertThat(sh(p, "ls /etc /workspace")).doesNotContain("only\n");
        assertThat(sh(a, "ls /etc")).doesNotContain("only-parent");

        // a reset in a fork to a snapshot the parent took restores the fork only
        workspaces.reset(b.id(), "s1");
        assertThat(sh(b, "cat /workspace/main.c")).isEqualTo("int main() { return 1; }\n");
        assertThat(sh(a, "cat /workspace/main.c")).isEqualTo("int main() { return 0; }\n");

        // the parent gone, the forks are whole
        workspaces.rm(p.id());
        assertThat(sh(a, "cat /etc/later.conf /workspace/only")).isEqualTo("later\na\n");
        workspaces.stop(a.id());
        workspaces.start(a.id());
        assertThat(sh(a, "cat /opt/pkg/bin/tool")).isEqualTo("tool\n");
        workspaces.reset(a.id(), null);
        assertThat(sh(a, "cat /workspace/main.c")).isEqualTo("int main() { return 1; }\n");
    }

    /** A davit killed while a fork froze the disk leaves its mark: the next stop thaws it first, and nothing hangs. */
    @Test
    void aDiskLeftFrozenByAKilledDavitIsThawedByTheNextStop() throws Exception {
        assumeThat(Jail.active()).as("root (a workspace's disk is a mount)").isTrue();
        Workspace p = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .limits(new Limits(512, 1, 256, 64))
                .ttl(Duration.ofHours(1)).build()).name("frozen").build());
        Path state = home.resolve("sandboxes").resolve(p.sandboxId());
        Files.write(state.resolve("disk.frozen"), new byte[0]);
        Process freeze = new ProcessBuilder("fsfreeze", "--freeze", state.resolve("disk").toString()).inheritIO()
                .start();
        assertEquals(0, freeze.waitFor());
        workspaces.stop(p.id());
        assertThat(state.resolve("disk.frozen")).doesNotExist();
        workspaces.start(p.id());
        assertThat(sh(p, "echo thawed > /workspace/t; cat /workspace/t")).isEqualTo("thawed\n");
    }

    /**
     * A fork cancelled (its thread interrupted, as an MCP cancellation does) at any point leaves the original's disk
     * thawed, no mark, and no sandbox or workspace of the fork behind.
     */
    @Test
    void aCancelledForkLeavesTheDiskThawedAndNothingBehind() throws Exception {
        assumeThat(Jail.active()).as("root (a workspace's disk is a mount)").isTrue();
        Workspace p = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .limits(new Limits(512, 1, 256, 64))
                .ttl(Duration.ofHours(1)).build()).name("cancelled").build());
        Path state = home.resolve("sandboxes").resolve(p.sandboxId());
        Thread self = Thread.currentThread();
        List<Long> delays = new java.util.ArrayList<>();
        for (long d = 0; d <= 80; d += 3) { // the copy's steps take a few milliseconds each: interrupts land in each
            delays.add(d);
        }
        delays.addAll(List.of(120L, 200L));
        for (long delay : delays) {
            Thread cancel = Thread.startVirtualThread(() -> {
                try {
                    Thread.sleep(delay);
                } catch (InterruptedException e) {
                    return;
                }
                self.interrupt();
            });
            try {
                workspaces.fork(p.id(), 2, List.of(), null);
            } catch (DavitException e) {
                // cancelled somewhere on the way: what matters is what it left
            } finally {
                while (cancel.isAlive()) { // its interrupt may come after the fork is done: waited for all the same
                    try {
                        cancel.join();
                    } catch (InterruptedException e) {
                        // it came
                    }
                }
                Thread.interrupted();
            }
            assertThat(state.resolve("disk.frozen")).doesNotExist();
            ExecResult r = workspaces.execs().run(p.id(), ExecRequest.builder("sh", "-c",
                    "echo w > /workspace/w; cat /workspace/w").timeout(Duration.ofSeconds(10)).build());
            assertThat(r.stdoutText()).as("the disk takes writes").isEqualTo("w\n");
            for (Workspace w : workspaces.list()) {
                if (!w.id().equals(p.id())) {
                    workspaces.rm(w.id()); // a fork made whole before the interrupt was seen is a workspace
                }
            }
            assertThat(workspaces.sandboxes().list()).extracting(Sandbox::id).containsExactly(p.sandboxId());
        }
    }

    @Test
    void aWorkspaceWithoutADiskIsForkedWhileStoppedAndItsForksStayStopped() throws IOException {
        Workspace p = parentWithHistory(Limits.NONE);
        DavitException e = assertThrows(DavitException.class, () -> workspaces.fork(p.id(), 1, List.of(), null));
        assertEquals(DavitException.Kind.USAGE, e.kind());
        assertThat(e.getMessage()).contains("stop it first");

        workspaces.stop(p.id());
        Workspace f = workspaces.fork(p.id(), 0, List.of(), null).get(0);
        assertThat(f.name()).isNull();
        assertThat(workspaces.sandbox(f.id()).status()).isEqualTo(SandboxStatus.CREATED);
        workspaces.start(f.id());
        seesTheParentsState(f);
    }

    private static long snapshotted(Path state) throws IOException {
        Path f = state.resolve("snapshotted");
        return Files.exists(f) ? Long.parseLong(Files.readString(f).strip()) : 0;
    }

    /**
     * A snapshot of the whole sandbox: a reset to it takes back what was written outside /workspace after it (the
     * issue's /etc/later.conf), a package removed comes back, and /workspace is as it was; a /workspace-only snapshot
     * still leaves /etc alone. Its removal gives back what it held.
     */
    @Test
    void aResetToASnapshotOfTheWholeSandboxBringsEverythingBack() throws IOException {
        assumeThat(Jail.active()).as("root (a workspace's disk is a mount)").isTrue();
        Workspace p = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .limits(new Limits(512, 1, 256, 64))
                .ttl(Duration.ofHours(1)).build()).name("whole").seed(seed()).build());
        sh(p, "mkdir -p /opt/pkg; echo v1 > /opt/pkg/tool; echo tmp > /tmp/t");
        Path state = home.resolve("workspaces").resolve(p.id());
        long before = snapshotted(state);
        Workspaces.Snapshot all = workspaces.snapshot(p.id(), "all", true);
        assertThat(all.all()).isTrue();
        long held = snapshotted(state);
        assertThat(held - before).as("the saved disk's blocks are counted").isGreaterThan(64 << 10);
        workspaces.snapshot(p.id(), "ws-only", false);
        sh(p, "echo later > /etc/later.conf; rm -r /opt/pkg; echo changed > /workspace/main.c; rm /tmp/t");

        workspaces.reset(p.id(), "ws-only"); // /workspace alone: /etc keeps what came later
        assertThat(sh(p, "cat /etc/later.conf /workspace/main.c")).isEqualTo("later\nint main() { return 1; }\n");

        assertThat(workspaces.reset(p.id(), "all").status()).isEqualTo(SandboxStatus.RUNNING);
        assertThat(sh(p, "[ -e /etc/later.conf ] && echo still || echo gone; cat /opt/pkg/tool /tmp/t"
                + " /workspace/main.c")).isEqualTo("gone\nv1\ntmp\nint main() { return 1; }\n");
        assertThat(workspaces.snapshots(p.id())).extracting(Workspaces.Snapshot::all).containsExactly(true, false);

        // a fork carries the whole snapshot, and a reset of the fork to it is the fork's alone
        Workspace f = workspaces.fork(p.id(), 1, List.of(), null).get(0);
        sh(f, "echo f > /etc/f.conf");
        workspaces.reset(f.id(), "all");
        assertThat(sh(f, "ls /etc")).doesNotContain("f.conf");

        // the fork's links to the saved disk gone, removing the snapshot gives back its blocks
        workspaces.rm(f.id());
        workspaces.removeSnapshot(p.id(), "all");
        assertThat(snapshotted(state)).isLessThan(held - (64 << 10));
    }

    @Test
    void badCountsAndNamesAreRefusedAndLeaveNothing() throws IOException {
        Workspace p = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .build())
                .name("p").seed(seed()).build());
        workspaces.stop(p.id());
        for (Runnable bad : List.<Runnable>of(
                () -> workspaces.fork(p.id(), 17, List.of(), null),
                () -> workspaces.fork(p.id(), -1, List.of(), null),
                () -> workspaces.fork(p.id(), 2, List.of("one"), null),
                () -> workspaces.fork(p.id(), 0, List.of("x", "x"), null),
                () -> workspaces.fork(p.id(), 1, List.of("p"), null),   // taken
                () -> workspaces.fork(p.id(), 1, List.of("-bad name"), null))) {
            assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class, bad::run).kind());
        }
        // admission refuses the second fork: the first is removed, all or none
        int[] seen = {0};
        assertThrows(IllegalStateException.class, () -> workspaces.fork(p.id(), 2, List.of(), n -> {
            if (seen[0]++ == 1) {
                throw new IllegalStateException("the operator's total");
            }
        }));
        assertThat(workspaces.list()).extracting(Workspace::id).containsExactly(p.id());
        assertThat(workspaces.sandboxes().list()).hasSize(1);
        assertEquals(DavitException.Kind.NOT_FOUND, assertThrows(DavitException.class,
                () -> workspaces.fork("nope", 1, List.of(), null)).kind());
    }
}
