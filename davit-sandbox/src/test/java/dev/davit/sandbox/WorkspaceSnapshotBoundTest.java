package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The attacker's snapshot test: snapshots are copies on the host, outside the sandbox's disk. A workspace with a
 * 64 MiB disk fills it, snapshots, rewrites its files and snapshots again, over and over: its snapshots stop at
 * their bound (4 times the disk limit) before the host gives more, removing one gives its room back, and a
 * workspace has at most 32 snapshots.
 */
class WorkspaceSnapshotBoundTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("dd");
    }

    private void run(Workspace w, String script) {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", script)
                .timeout(Duration.ofSeconds(60)).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
    }

    /** The MiB the davit home takes on the host, the sandboxes' disk images left out (they bound themselves). */
    private long homeMiB() throws IOException, InterruptedException {
        Process du = new ProcessBuilder("du", "-skx", "--exclude=disk.img", "--exclude=disk", home.toString())
                .redirectErrorStream(true).start();
        String out = new String(du.getInputStream().readAllBytes());
        assertThat(du.waitFor()).as(out).isZero();
        return Long.parseLong(out.split("\\s")[0]) >> 10;
    }

    @Test
    void rewriteAndSnapshotStopsAtTheBound() throws Exception {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .limits(new Limits(1024, 1, 1024, 64)).build())
                .build());
        // 4 x 64 MiB: five snapshots of a new 48 MiB file each fit, the sixth does not
        long before = homeMiB();
        for (int i = 0; i < 5; i++) {
            run(w, "rm -f data && dd if=/dev/zero of=data bs=1M count=48 2>/dev/null && echo " + i + " >> data");
            workspaces.snapshot(w.id(), "s" + i);
        }
        run(w, "rm -f data && dd if=/dev/zero of=data bs=1M count=48 2>/dev/null && echo 5 >> data");
        assertThatThrownBy(() -> workspaces.snapshot(w.id(), "s5"))
                .isInstanceOf(DavitException.class)
                .hasMessageContaining("would write more than")
                .hasMessageContaining("snapshot bound (256 MiB for all its snapshots")
                .hasMessageContaining("Workspaces.snapshots(");
        assertThat(homeMiB() - before).as("host MiB the snapshots take").isLessThan(256 + 16);
        assertThat(workspaces.snapshots(w.id())).hasSize(5);

        // an unchanged tree is linked, not copied: it costs nothing
        workspaces.removeSnapshot(w.id(), "s0");
        run(w, "true");
        workspaces.snapshot(w.id(), "s5");
        workspaces.snapshot(w.id(), "s6");
        assertThat(homeMiB() - before).as("host MiB the snapshots take").isLessThan(256 + 16);
    }

    @Test
    void aWorkspaceHasAtMost32Snapshots() {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .limits(new Limits(1024, 1, 1024, 64)).build())
                .build());
        for (int i = 0; i < 32; i++) {
            workspaces.snapshot(w.id(), "s" + i);
        }
        assertThatThrownBy(() -> workspaces.snapshot(w.id(), "s32"))
                .isInstanceOf(DavitException.class)
                .hasMessageContaining("32 snapshots")
                .hasMessageContaining("Workspaces.removeSnapshot(\"" + w.id() + "\", \"s0\")");
        workspaces.removeSnapshot(w.id(), "s0");
        workspaces.snapshot(w.id(), "s32");
    }
}
