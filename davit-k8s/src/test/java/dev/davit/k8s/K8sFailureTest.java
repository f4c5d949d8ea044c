package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import io.fabric8.kubernetes.api.model.Pod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Failure is ordinary on a cluster: ten workspaces made at once all run (and go); a davit killed (SIGKILL) while it
 * creates a workspace leaves a pod that the reaps davit's CLI runs ({@code workspace reap}, {@code sandbox reap})
 * remove, with the half-made workspace, and nothing of anyone else's.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sFailureTest {
    private static final String NS = "davit-test";

    /**
     * A namespace the cluster does not have (the quick start's DAVIT_K8S_NAMESPACE before its kubectl step): doctor
     * says so, and the first create's 404 (the cluster's own, for a NetworkPolicy there) names it and the fix.
     */
    @Test
    void aNamespaceTheClusterDoesNotHaveIsNamedWithItsFix() throws Exception {
        K8sSandboxTest.image(); // the cluster's settings (ClusterEnv)
        Cluster c = Cluster.get();
        String missing = "davit-no-such-namespace";
        assertThat(K8sDoctor.namespaceMayExist(c, missing)).isFalse();
        assertThat(K8sDoctor.namespaceMayExist(c, NS)).isTrue();
        io.fabric8.kubernetes.client.KubernetesClientException refused = org.assertj.core.api.Assertions
                .catchThrowableOfType(io.fabric8.kubernetes.client.KubernetesClientException.class, () -> c.client
                        .network().v1().networkPolicies().inNamespace(missing).resource(
                                new io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder()
                                        .withNewMetadata().withName("x").endMetadata().withNewSpec().endSpec().build())
                        .create());
        dev.davit.oci.DavitException e = Cluster.failure("create pod x", refused);
        assertThat(e.kind()).isEqualTo(dev.davit.oci.DavitException.Kind.NOT_FOUND);
        assertThat(e.getMessage()).isEqualTo("the cluster has no namespace " + missing + " (DAVIT_K8S_NAMESPACE);"
                + " create it (kubectl create namespace " + missing + ") or set DAVIT_K8S_NAMESPACE to one that exists");
    }

    @Test
    void tenWorkspacesMadeAtOnceAllRunAndGo() throws Exception {
        K8sSandboxTest.image();
        Workspaces ws = Workspaces.under(K8sSandboxTest.home);
        List<Future<Workspace>> made = new ArrayList<>();
        List<Workspace> all = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 10; i++) {
                String name = "many-" + i;
                made.add(pool.submit(() -> ws.create(WorkspaceSpec.builder(K8sSandboxTest.workspaceSpec()).name(name)
                        .build())));
            }
        }
        try {
            for (Future<Workspace> f : made) {
                all.add(f.get());
            }
            Set<String> nodes = new java.util.HashSet<>();
            for (Workspace w : all) {
                ExecResult r = ws.execs().run(w.id(), ExecRequest.builder("cat", "/etc/hostname")
                        .timeout(Duration.ofSeconds(60)).build());
                assertThat(r.exitCode()).as(r.stderrText()).isZero();
                assertThat(r.stdoutText().strip()).isEqualTo(Pods.name(w.sandboxId()));
                nodes.add(K8sSandboxTest.cluster.client.pods().inNamespace(NS).withName(Pods.name(w.sandboxId()))
                        .get().getSpec().getNodeName());
            }
            int clusterNodes = K8sSandboxTest.cluster.client.nodes().withoutLabel("davit.dev/simulated").list()
                    .getItems().size(); // the real ones: simulated ones take no pod that does not ask
            assertThat(nodes).as("the scheduler spread them").hasSize(Math.min(clusterNodes, 2));
        } finally {
            for (Workspace w : all) {
                ws.rm(w.id());
            }
        }
        for (Workspace w : all) {
            assertThat(K8sSandboxTest.cluster.client.pods().inNamespace(NS).withName(Pods.name(w.sandboxId())).get())
                    .isNull();
        }
    }

    @Test
    void aDavitKilledDuringACreateLeavesNothingAfterAReap() throws Exception {
        K8sSandboxTest.image();
        Path home = K8sSandboxTest.home;
        String label = Pods.homeLabel(home);
        Set<String> before = pods(label);
        Path log = K8sSandboxTest.tmp.resolve("killed-create.log");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process davit = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), Child.class.getName(), home.toString(),
                K8sSandboxTest.rootfs.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Set<String> made = Set.of();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (made.isEmpty() && davit.isAlive() && System.nanoTime() < deadline) {
                made = pods(label).stream().filter(p -> !before.contains(p)).collect(Collectors.toSet());
                Thread.sleep(20);
            }
            assertThat(made).as(Files.readString(log)).isNotEmpty();
        } finally {
            davit.destroyForcibly(); // SIGKILL in the middle of the create: its pod exists, it is not recorded running
            davit.waitFor();
        }
        assertThat(Files.readString(log)).doesNotContain("CREATED-WHOLE"); // killed before the create returned
        Workspaces ws = Workspaces.under(home);
        assertThat(ws.list()).extracting(Workspace::name).doesNotContain("half-made");

        // what `davit workspace reap` and `davit sandbox reap` do
        assertThat(ws.reap()).extracting(Workspaces.Reaped::name, Workspaces.Reaped::reason)
                .contains(org.assertj.core.groups.Tuple.tuple("half-made", "create interrupted"));
        Sandboxes sb = new Sandboxes(SandboxOptions.under(home));
        sb.reap(ws.sandboxIds());
        sb.reapOrphans();
        for (String pod : made) {
            assertThat(K8sSandboxTest.cluster.client.pods().inNamespace(NS).withName(pod).get()).as(pod).isNull();
        }
        assertThat(pods(label)).isSubsetOf(before);
    }

    /** The names of the pods of davit home label {@code label} in the test's namespace. */
    private static Set<String> pods(String label) {
        return K8sSandboxTest.cluster.client.pods().inNamespace(NS).withLabel(Pods.HOME, label).list().getItems()
                .stream().map(Pod::getMetadata).map(m -> m.getName()).collect(Collectors.toSet());
    }

    /** The davit that is killed: creates a workspace on the cluster in home {@code args[0]}. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            ClusterEnv.use(NS);
            Workspaces ws = Workspaces.under(Path.of(args[0]));
            ws.create(WorkspaceSpec.builder(CreateSpec.builder(Path.of(args[1])).ttl(Duration.ofHours(1))
                    .backend(K8sDriver.NAME).vcpus(1).memoryMiB(256).limits(Limits.NONE)
                    .build()).name("half-made").build());
            System.out.println("CREATED-WHOLE");
            Thread.sleep(600_000);
        }
    }
}
