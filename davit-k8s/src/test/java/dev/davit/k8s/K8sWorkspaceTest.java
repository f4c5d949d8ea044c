package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A workspace on the cluster: seeded, exec'd in, its files written and read (through davit's agent over the pod's
 * exec stream), diffed against its seed, snapshotted and reset, removed with its pod. The image is K8sSandboxTest's.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sWorkspaceTest {
    @Test
    void aWorkspaceOnTheClusterSeedsExecsEditsDiffsResetsAndGoes() throws Exception {
        K8sSandboxTest.image();
        Path seed = Files.createDirectories(K8sSandboxTest.tmp.resolve("seed-" + System.nanoTime()));
        Files.writeString(seed.resolve("README"), "hello\n");
        Files.createDirectories(seed.resolve("src"));
        Files.writeString(seed.resolve("src/main.txt"), "one\ntwo\n");
        Workspaces ws = Workspaces.under(K8sSandboxTest.home);
        Workspace w = ws.create(WorkspaceSpec.builder(K8sSandboxTest.workspaceSpec()).seed(seed).build());
        String pod = Pods.name(w.sandboxId());
        try {
            assertThat(K8sSandboxTest.cluster.client.pods().inNamespace("davit-test").withName(pod).get()).isNotNull();
            ExecResult r = ws.execs().run(w.id(), ExecRequest.builder("sh", "-c",
                    "pwd; cat README src/main.txt; echo three >> src/main.txt; rm README")
                    .timeout(Duration.ofSeconds(60)).build());
            assertThat(r.exitCode()).as(r.stderrText()).isZero();
            assertThat(r.stdoutText()).isEqualTo("/workspace\nhello\none\ntwo\n");
            // a budget: a workspace's exec asks the API server for its pod once (the workspace's check; the
            // sandbox's own check within it takes that answer), its command goes on the agent's link
            String[] podGets = {"resource=\"pods\"", "verb=\"GET\"", "subresource=\"\""};
            long gets = K8sAgentTest.requests(podGets);
            for (int i = 0; i < 5; i++) {
                assertThat(ws.execs().run(w.id(), ExecRequest.builder("sh", "-c", ":").timeout(Duration.ofSeconds(60))
                        .build()).exitCode()).isZero();
            }
            assertThat(K8sAgentTest.requests(podGets) - gets).as("pod GETs of 5 workspace execs")
                    .isLessThanOrEqualTo(5);
            byte[] data = new byte[1 << 20];
            new Random(5).nextBytes(data);
            assertThat(ws.files().write(w.id(), "new/blob.bin", new ByteArrayInputStream(data))).isEqualTo(data.length);
            assertThat(ws.files().read(w.id(), "new/blob.bin", 0).bytes()).isEqualTo(data);
            WorkspaceDiff d = ws.files().diff(w.id());
            assertThat(d.changes()).extracting(WorkspaceDiff.Change::path)
                    .contains("README", "src/main.txt", "new/blob.bin");
            assertThat(d.patch()).contains("+three");
            ws.snapshot(w.id(), "edited");
            ws.execs().run(w.id(), ExecRequest.builder("rm", "-r", "src").timeout(Duration.ofSeconds(60)).build());
            ws.reset(w.id(), "edited");
            assertThat(new String(ws.files().read(w.id(), "src/main.txt", 0).bytes())).isEqualTo("one\ntwo\nthree\n");
        } finally {
            ws.rm(w.id());
        }
        assertThat(K8sSandboxTest.cluster.client.pods().inNamespace("davit-test").withName(pod).get()).isNull();
    }
}
