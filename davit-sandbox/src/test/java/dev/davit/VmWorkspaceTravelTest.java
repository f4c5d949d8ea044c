package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.VmTestEnvironment;
import dev.davit.sandbox.build.EnvBuilder;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceImages;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A snapshot of a microVM workspace travels as a container one does: home A's microVM environment (an artifact in its
 * store, as {@code davit env build --vm} makes) is the snapshot's subject, pushed beside it; home B, which never had
 * it, boots a VM workspace from the snapshot with the same files, diff and snapshot. A microVM is not committed (one
 * line naming why). Under TCG: two boots.
 */
class VmWorkspaceTravelTest {
    @TempDir
    Path tmp;

    private static String sh(OpenWorkspace ws, String script) {
        ExecResult r = ws.exec("sh", "-c", script);
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    private Davit open(String machine) {
        return Davit.builder().home(tmp.resolve(machine)).clientOptions(ClientOptions.anonymous(tmp.resolve(
                "ignored"))).build();
    }

    @Test
    void aMicroVmWorkspacesSnapshotIsAWorkspaceOfAHomeThatNeverHadItsEnvironment() throws Exception {
        Path env = VmTestEnvironment.get();
        Tools.assumeAvailable(Tools.REGISTRY);
        String vmRef = "localhost/test/vm-env:1";
        Path seed = Files.createDirectories(tmp.resolve("seed"));
        Files.writeString(seed.resolve("README"), "hello\n");
        try (TestRegistry registry = TestRegistry.start(); Davit a = open("a")) {
            try (AutoCloseable session = a.client().store().session()) {
                Descriptor md = Artifacts.create(a.client().store(), EnvBuilder.MICROVM_ARTIFACT_TYPE, List.of(
                        new Artifacts.FileSpec(env.resolve("vmlinux"), EnvBuilder.KERNEL_TYPE, true),
                        new Artifacts.FileSpec(env.resolve("initrd"), EnvBuilder.INITRD_TYPE, true),
                        new Artifacts.FileSpec(env.resolve("rootfs.ext4"), EnvBuilder.EXT4_TYPE, true)), Map.of());
                a.client().store().setEntry(vmRef, md, Map.of());
            }
            String ref = registry.hostPort() + "/team/vm-proj:s1";
            List<WorkspaceDiff.Change> atS1;
            try (OpenWorkspace ws = a.newWorkspace(vmRef).seed(seed).ttl(Duration.ofHours(1)).open()) {
                assertThat(ws.status().spec().isVm()).isTrue();
                sh(ws, "echo made > made.txt; rm README");
                atS1 = ws.files().diff().changes();
                ws.snapshot("s1");
                WorkspaceImages.SnapshotPush p = ws.pushSnapshot("s1", ref, false);
                assertThat(p.environment()).isEqualTo(vmRef);
                assertThatThrownBy(() -> ws.commit(registry.hostPort() + "/team/vm:1", null))
                        .isInstanceOf(DavitException.class).hasMessageContaining("microVM");
            }
            try (Davit b = open("b"); OpenWorkspace ws = b.newWorkspaceFrom(ref).open()) {
                assertThat(ws.status().spec().isVm()).isTrue();
                assertThat(sh(ws, "cat made.txt; ls")).isEqualTo("made\nmade.txt\n");
                assertThat(ws.files().diff().changes()).isEqualTo(atS1);
                assertThat(ws.snapshots()).extracting(Workspaces.Snapshot::name).containsExactly("s1");
                ws.reset();
                assertThat(sh(ws, "cat README")).isEqualTo("hello\n");
            }
        }
    }
}
