package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.Davit;
import dev.davit.OpenWorkspace;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots that travel between a laptop and the cluster, over the cluster's registry: home A (the laptop) works in
 * a local container workspace and pushes a snapshot; home B, which never saw the environment, makes a workspace of
 * it on the cluster (a pod) with the same files and diff, works on, and pushes its own snapshot, which home C makes
 * a local container workspace of again. The library's {@code WorkspaceBuilder.backend("k8s")} is the only
 * difference between the homes.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sTravelTest {
    private static final String IMAGE = "localhost/test/travel-k8s:1";

    @TempDir
    Path tmp;

    private Davit open(String machine) {
        return Davit.builder().home(tmp.resolve(machine)).anonymous().build();
    }

    private static String sh(OpenWorkspace ws, String script) {
        ExecResult r = ws.exec("sh", "-c", script);
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    private static boolean podExists(String sandbox) {
        Cluster c = Cluster.get();
        return c.client.pods().inNamespace(c.settings.namespace()).withName(Pods.name(sandbox)).get() != null;
    }

    @Test
    void aSnapshotGoesFromALaptopToTheClusterAndBack() throws Exception {
        String registry = ClusterEnv.load().get("DAVIT_CLUSTER_REGISTRY");
        ClusterEnv.use("davit-test");
        Path src = tmp.resolve("src");
        Path bin = Files.createDirectories(src.resolve("bin"));
        Files.copy(Path.of("/bin/busybox"), bin.resolve("busybox"));
        for (String a : List.of("sh", "echo", "cat", "ls", "rm", "mkdir", "sleep", "test")) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp")) {
            Files.createDirectories(src.resolve(d));
        }
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("a/store")))) {
            c.build(src, IMAGE, BuildOptions.defaults(), ProgressListener.NONE);
        }
        Path seed = Files.createDirectories(tmp.resolve("seed"));
        Files.writeString(seed.resolve("README"), "hello\n");
        String toCluster = registry + "/travel/proj:laptop";
        String toLaptop = registry + "/travel/proj:cluster";
        List<WorkspaceDiff.Change> atLaptop;
        try (Davit a = open("a");
             OpenWorkspace ws = a.newWorkspace(IMAGE).name("proj").seed(seed).ttl(Duration.ofHours(1)).open()) {
            assertThat(a.workspaces().sandbox(ws.id()).spec().backend()).isEqualTo("container");
            sh(ws, "echo from-the-laptop > made.txt; rm README; mkdir -p src; echo 'int x;' > src/x.c");
            atLaptop = ws.files().diff().changes();
            ws.snapshot("s1");
            ws.pushSnapshot("s1", toCluster, false);
        }
        try (Davit b = open("b");
             OpenWorkspace ws = b.newWorkspaceFrom(toCluster).backend("k8s").name("proj-k8s").open()) {
            String sandbox = b.workspaces().get(ws.id()).sandboxId();
            assertThat(b.workspaces().sandbox(ws.id()).spec().backend()).isEqualTo("k8s");
            assertThat(podExists(sandbox)).as("a pod on the cluster").isTrue();
            assertThat(sh(ws, "cat made.txt src/x.c; ls")).isEqualTo("from-the-laptop\nint x;\nmade.txt\nsrc\n");
            assertThat(ws.files().diff().changes()).isEqualTo(atLaptop);
            sh(ws, "echo from-the-cluster >> made.txt");
            ws.snapshot("s2");
            ws.pushSnapshot("s2", toLaptop, false);
            ws.remove();
            assertThat(podExists(sandbox)).isFalse();
        }
        try (Davit c = open("c"); OpenWorkspace ws = c.newWorkspaceFrom(toLaptop).name("proj-back").open()) {
            assertThat(c.workspaces().sandbox(ws.id()).spec().backend()).isEqualTo("container");
            assertThat(sh(ws, "cat made.txt; test -e README || echo no-readme"))
                    .isEqualTo("from-the-laptop\nfrom-the-cluster\nno-readme\n");
            ws.remove();
        }
    }
}
