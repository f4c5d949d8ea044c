package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceQuotaBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What a home leaves on the cluster and how it is found: {@code sandbox reap}'s sweep deletes this home's pods and
 * {@code Sandbox}es whose sandbox has no record, and nothing of another home, of a recorded sandbox, or without
 * davit's labels; a home's id is its own, not its path's; a sandbox whose pod is in another namespace than the
 * settings' is refused, not dropped; the namespace's ResourceQuota is read for the MCP server's totals.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sLeftoversTest {
    private static final String NS = "davit-test";

    @Test
    void aReapSweepsThisHomesPodsWhoseSandboxIsGoneAndNothingElse() throws Exception {
        K8sSandboxTest.image();
        Path home = Files.createDirectories(K8sSandboxTest.tmp.resolve("sweep-home"));
        Path other = Files.createDirectories(K8sSandboxTest.tmp.resolve("sweep-other"));
        SandboxOptions options = SandboxOptions.under(home);
        String mine = HomeId.of(home);
        String theirs = HomeId.of(other);
        assertThat(mine).matches("[0-9a-f]{16}").isNotEqualTo(theirs)
                .isNotEqualTo(Pods.homeLabel(K8sSandboxTest.home)); // random, not the path's
        assertThat(Files.readString(home.resolve(HomeId.FILE)).strip()).isEqualTo(mine);

        String gone = "sbx-" + "a1".repeat(6);
        String kept = "sbx-" + "b2".repeat(6);
        Files.createDirectories(options.stateDir().resolve(kept)); // a recorded sandbox (being made, say)
        String elsewhere = "sbx-" + "c3".repeat(6);
        String unlabelled = "sbx-" + "d4".repeat(6);
        pod(gone, mine, true);
        pod(kept, mine, true);
        pod(elsewhere, theirs, true);
        pod(unlabelled, mine, false);
        boolean served = K8sSandboxTest.cluster.agentSandboxServed();
        String goneSandbox = "sbx-" + "e5".repeat(6);
        if (served) { // a Sandbox object whose record is gone: its controller's pod goes with it
            Pod template = Pods.sandbox(K8sSandboxTest.cluster.settings, goneSandbox, mine, pending());
            AgentSandbox.create(K8sSandboxTest.cluster, template, null);
        }
        try {
            List<String> swept = new Sandboxes(options).reapOrphans();
            assertThat(swept).containsExactlyInAnyOrderElementsOf(served ? List.of(Pods.name(gone),
                    Pods.name(goneSandbox)) : List.of(Pods.name(gone)));
            assertThat(get(gone)).isNull();
            assertThat(get(kept)).isNotNull();
            assertThat(get(elsewhere)).isNotNull();
            assertThat(get(unlabelled)).isNotNull();
            if (served) {
                assertThat(AgentSandbox.get(K8sSandboxTest.cluster, Pods.name(goneSandbox))).isNull();
            }
            // a home that never made a pod asks no cluster at all
            Path fresh = Files.createDirectories(K8sSandboxTest.tmp.resolve("sweep-fresh"));
            long before = K8sSandboxTest.cluster.requests.snapshot().values().stream().mapToLong(Long::longValue)
                    .sum();
            assertThat(new Sandboxes(SandboxOptions.under(fresh)).reapOrphans()).isEmpty();
            assertThat(K8sSandboxTest.cluster.requests.snapshot().values().stream().mapToLong(Long::longValue)
                    .sum()).isEqualTo(before);
            assertThat(fresh.resolve(HomeId.FILE)).doesNotExist();
        } finally {
            for (String id : List.of(gone, kept, elsewhere, unlabelled, goneSandbox)) {
                PodLife.delete(K8sSandboxTest.cluster, Pods.name(id));
            }
        }
    }

    @Test
    void aReapSweepsTheWarmPoolsOfAServerThatDiedNotOfOneThatRuns() throws Exception {
        K8sSandboxTest.image();
        Cluster c = Cluster.get();
        org.junit.jupiter.api.Assumptions.assumeTrue(AgentClaims.served(c), "agent-sandbox's extensions");
        Path home = Files.createDirectories(K8sSandboxTest.tmp.resolve("pools-home"));
        String mine = HomeId.of(home);
        Process dead = new ProcessBuilder("sleep", "60").start();
        Process live = new ProcessBuilder("sleep", "600").start();
        String boot = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip() + "/"
                + Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString().replaceAll("[^0-9]", "");
        String deadOwner = boot + "/" + dead.pid() + "/" + dev.davit.sandbox.host.Host.startTime(dead.pid());
        String liveOwner = boot + "/" + live.pid() + "/" + dev.davit.sandbox.host.Host.startTime(live.pid());
        assertThat(AgentClaims.OWNER).startsWith(boot + "/" + ProcessHandle.current().pid() + "/");
        dead.destroyForcibly();
        dead.waitFor();
        Pod deadKind = Pods.sandbox(c.settings, "sbx-000000000000", mine, pending());
        deadKind.getSpec().setNodeSelector(Map.of("davit.dev/no-such-node", "true"));
        Pod liveKind = Pods.sandbox(c.settings, "sbx-000000000000", mine, pending());
        liveKind.getSpec().setNodeSelector(Map.of("davit.dev/no-such-node", "false"));
        String deadPool = AgentClaims.poolName(deadKind);
        String livePool = AgentClaims.poolName(liveKind);
        try {
            AgentClaims.keepWarm(c, deadKind, 1, deadOwner);
            AgentClaims.keepWarm(c, liveKind, 1, liveOwner);
            c.pools.clear(); // as another process made them
            assertThat(new Sandboxes(SandboxOptions.under(home)).reapOrphans()).containsExactly(deadPool);
            var pools = c.client.genericKubernetesResources(AgentClaims.API_VERSION, AgentClaims.POOL).inNamespace(NS);
            assertThat(pools.withName(deadPool).get()).isNull();
            assertThat(c.client.genericKubernetesResources(AgentClaims.API_VERSION, AgentClaims.TEMPLATE)
                    .inNamespace(NS).withName(deadPool).get()).isNull();
            assertThat(pools.withName(livePool).get()).isNotNull();
        } finally {
            live.destroyForcibly();
            AgentClaims.end(c, livePool);
            AgentClaims.end(c, deadPool);
        }
    }

    @Test
    void aSandboxWhosePodIsInAnotherNamespaceIsRefusedNotDropped() throws Exception {
        K8sSandboxTest.image();
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.under(K8sSandboxTest.home));
        Sandbox s = sandboxes.create(K8sSandboxTest.workspaceSpec());
        try {
            s = sandboxes.start(s.id());
            assertThat(Files.readString(SandboxOptions.under(K8sSandboxTest.home).stateDir().resolve(s.id())
                    .resolve(K8sLifecycle.POD_NAMESPACE))).isEqualTo(NS);
            ClusterEnv.use("davit-elsewhere");
            String id = s.id();
            assertThatThrownBy(() -> sandboxes.rm(id)).isInstanceOf(DavitException.class).hasMessage("sandbox " + id
                    + "'s pod is in namespace " + NS + ", but DAVIT_K8S_NAMESPACE is davit-elsewhere now; set"
                    + " DAVIT_K8S_NAMESPACE=" + NS + " to reach it");
            assertThat(sandboxes.status(id).status()).isEqualTo(SandboxStatus.RUNNING); // kept, and so is its pod
        } finally {
            ClusterEnv.use(NS);
        }
        assertThat(get(s.id())).isNotNull();
        sandboxes.rm(s.id());
        assertThat(get(s.id())).isNull();
    }

    @Test
    void theNamespacesQuotaIsReadForTheServersTotals() throws Exception {
        K8sSandboxTest.image();
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.under(K8sSandboxTest.home));
        var quotas = K8sSandboxTest.cluster.client.resourceQuotas().inNamespace(NS);
        quotas.resource(new ResourceQuotaBuilder().withNewMetadata().withName("davit-test-totals").endMetadata()
                .withNewSpec().withHard(Map.of("pods", new Quantity("1000"), "limits.memory", new Quantity("1Ti")))
                .endSpec().build()).create();
        try {
            // the quota controller fills in what is used a moment after
            Map<String, String> q = Map.of();
            for (int i = 0; i < 100 && !q.getOrDefault("pods", "").matches("[0-9]+/1k"); i++) {
                q = sandboxes.quota(K8sDriver.NAME);
                Thread.sleep(100);
            }
            assertThat(q).containsKeys("pods", "limits.memory");
            assertThat(q.get("pods")).matches("[0-9]+/1k"); // as the cluster writes the quantity
            assertThat(q.get("limits.memory")).endsWith("/1Ti");
            assertThat(sandboxes.quota("container")).isNull();
        } finally {
            quotas.withName("davit-test-totals").delete();
        }
    }

    /** A pod davit might have made for sandbox {@code id} of home {@code home}, pending forever (no node takes it). */
    private static void pod(String id, String home, boolean labelled) {
        Pod p = Pods.sandbox(K8sSandboxTest.cluster.settings, id, home, pending());
        if (!labelled) {
            p = new PodBuilder(p).editMetadata().withLabels(Map.of("app", "not-davit")).endMetadata().build();
        }
        p.getSpec().setNodeSelector(Map.of("davit.dev/no-such-node", "true"));
        K8sSandboxTest.cluster.client.pods().inNamespace(NS).resource(p).create();
    }

    private static PodLife.Plan pending() {
        return new PodLife.Plan("registry.invalid/none@sha256:" + "0".repeat(64), "registry.invalid/agent@sha256:"
                + "0".repeat(64), Limits.defaultFor(K8sDriver.NAME), new long[] {1000, 1000}, null, null, null, false);
    }

    private static Pod get(String id) {
        return K8sSandboxTest.cluster.client.pods().inNamespace(NS).withName(Pods.name(id)).get();
    }
}
