package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import dev.davit.sandbox.target.RunTargets;

import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceImages;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code workspace commit} of a workspace on the cluster: what its pod wrote anywhere (a tool under /opt, /workspace,
 * links, a hard link), deleted (an image file, an image directory) or left out (/tmp, a fifo) becomes one layer on
 * the environment's image, read back here as davit unpacks the committed image; from a running pod and, the same,
 * from what its stop saved.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sWorkspaceCommitTest {
    private static final String CHANGES = "mkdir -p /opt/tool/bin && echo tool > /opt/tool/bin/run"
            + " && chmod 750 /opt/tool/bin/run && ln -s run /opt/tool/bin/link && ln /opt/tool/bin/run"
            + " /opt/tool/bin/hard && chmod 700 /opt/tool && echo w > /workspace/new.txt && rm /bin/ls && rm -r /work"
            + " && mkfifo /opt/fifo && echo scratch > /tmp/scratch";

    @Test
    void whatThePodChangedIsCommittedAsALayerRunningOrStopped() throws Exception {
        K8sSandboxTest.image();
        Path seed = Files.createDirectories(K8sSandboxTest.tmp.resolve("commit-seed-" + System.nanoTime()));
        Files.writeString(seed.resolve("README"), "hello\n");
        Workspaces ws = Workspaces.under(K8sSandboxTest.home);
        Workspace w = ws.create(WorkspaceSpec.builder(K8sSandboxTest.workspaceSpec()).seed(seed).build());
        try (DavitClient client = DavitClient.create(ClientOptions.anonymous(K8sSandboxTest.home.resolve("store")))) {
            ExecResult r = ws.execs().run(w.id(), ExecRequest.builder("sh", "-c", CHANGES)
                    .timeout(Duration.ofSeconds(60)).build());
            assertThat(r.exitCode()).as(r.stderrText()).isZero();
            WorkspaceImages images = dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(ws, client, null);
            WorkspaceImages.Commit running = images.commit(w.id(), "localhost/test/k8s-committed:running", null);
            assertThat(running.changes().skipped()).containsExactly("opt/fifo");
            assertThat(running.changes().whiteouts()).isEqualTo(2); // bin/ls, work
            Path root = RunTargets.ofImage(client, K8sSandboxTest.home, "localhost/test/k8s-committed:running", null,
                    null).rootfs();
            assertThat(Files.readString(root.resolve("opt/tool/bin/run"))).isEqualTo("tool\n");
            assertThat(Files.getAttribute(root.resolve("opt/tool/bin/run"), "unix:mode")).isEqualTo(0100750);
            assertThat(Files.getAttribute(root.resolve("opt/tool"), "unix:mode")).isEqualTo(040700);
            assertThat(Files.readSymbolicLink(root.resolve("opt/tool/bin/link")).toString()).isEqualTo("run");
            assertThat(Files.getAttribute(root.resolve("opt/tool/bin/hard"), "unix:ino"))
                    .isEqualTo(Files.getAttribute(root.resolve("opt/tool/bin/run"), "unix:ino"));
            assertThat(Files.readString(root.resolve("workspace/new.txt"))).isEqualTo("w\n");
            assertThat(Files.readString(root.resolve("workspace/README"))).isEqualTo("hello\n");
            assertThat(root.resolve("bin/ls")).doesNotExist();
            assertThat(root.resolve("bin/cat")).exists();
            assertThat(root.resolve("work")).doesNotExist();
            assertThat(root.resolve("opt/fifo")).doesNotExist();
            assertThat(root.resolve("tmp/scratch")).doesNotExist();

            ws.stop(w.id());
            WorkspaceImages.Commit stopped = images.commit(w.id(), "localhost/test/k8s-committed:stopped", null);
            assertThat(stopped.changes().files()).isEqualTo(running.changes().files());
            Path again = RunTargets.ofImage(client, K8sSandboxTest.home, "localhost/test/k8s-committed:stopped",
                    null, null).rootfs();
            assertThat(listing(again)).isEqualTo(listing(root));
        } finally {
            ws.rm(w.id());
        }
    }

    /** Every path of {@code root} with its type, mode and size. */
    private static Map<String, String> listing(Path root) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                out.put(root.relativize(p).toString(), Integer.toOctalString((Integer) Files.getAttribute(p,
                        "unix:mode", LinkOption.NOFOLLOW_LINKS)) + " " + Files.size(p));
            }
        }
        return out;
    }
}
