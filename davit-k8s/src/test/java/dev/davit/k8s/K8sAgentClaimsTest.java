package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.WarmPool;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.sandbox.workspace.internal.WorkspaceInternals;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * agent-sandbox's warm pools and claims: a kind kept warm ({@code Driver.keepWarm}, and davit's {@link WarmPool}
 * asking the backend) is a {@code SandboxTemplate} and a {@code SandboxWarmPool} of it; a start of such a sandbox is a
 * {@code SandboxClaim} answered with one of the pool's running pods (no pod starts), which then works as any
 * sandbox's (commands, files, a pause and resume that keep its files) and goes with its removal; the pool goes when
 * it is no longer kept. Without the extensions (or with plain pods), davit's own pool as before.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sAgentClaimsTest {
    private static final String NS = "davit-test";

    @Test
    void aKindKeptWarmIsClaimedFromItsPoolAndWorksAsAnyOther() throws Exception {
        Kept k = keptWarm("claims-home", 2);
        Cluster c = k.c();
        Path home = k.home();
        Sandboxes sb = k.sb();
        CreateSpec spec = k.spec();
        String pool = k.pool();
        try {
            awaitReady(c, pool, 2);
            long t0 = System.nanoTime();
            Sandbox s = sb.create(spec);
            sb.start(s.id());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            Path dir = SandboxOptions.under(home).stateDir().resolve(s.id());
            String podName = Files.readString(dir.resolve(K8sLifecycle.POD_NAME));
            System.out.printf("a claim from a warm pool: create and start in %d ms (pod %s)%n", ms, podName);
            assertThat(podName).isNotEqualTo(Pods.name(s.id())).startsWith(pool);
            Pod pod = c.client.pods().inNamespace(NS).withName(podName).get();
            assertThat(pod.getMetadata().getUid()).isEqualTo(Files.readString(dir.resolve(K8sLifecycle.POD_UID)));
            GenericKubernetesResource claim = get(c, AgentClaims.CLAIM, Pods.name(s.id()));
            assertThat(claim).isNotNull();
            assertThat(claim.getMetadata().getLabels()).containsEntry(Pods.SANDBOX, s.id());
            assertThat(pod.getMetadata().getLabels()).containsEntry(Pods.HOME, HomeId.of(home))
                    .doesNotContainKey(Pods.SANDBOX); // the pool's labels

            // a new ttl is the claim's (whose controller ends the claimed Sandbox at its time)
            sb.expireAfter(s.id(), Duration.ofHours(3));
            Object at = get(c, AgentClaims.CLAIM, Pods.name(s.id())).get("spec", "lifecycle", "shutdownTime");
            assertThat(java.time.Instant.parse(String.valueOf(at))).isAfter(java.time.Instant.now().plus(
                    Duration.ofMinutes(170)));

            ExecResult r = sb.exec(s.id(), List.of("sh", "-c", "echo kept > /tmp/mine; cat /etc/hostname"), null,
                    null, null);
            assertThat(r.exitCode()).as(r.stderrText()).isZero();
            assertThat(r.stdoutText().strip()).isEqualTo(podName);
            sb.pause(s.id()); // saved, its claim ended; the resume claims again
            assertThat(get(c, AgentClaims.CLAIM, Pods.name(s.id()))).isNull();
            sb.resume(s.id());
            assertThat(sb.exec(s.id(), List.of("cat", "/tmp/mine"), null, null, null).stdoutText())
                    .isEqualTo("kept\n");
            String again = Files.readString(dir.resolve(K8sLifecycle.POD_NAME));
            sb.rm(s.id());
            assertThat(get(c, AgentClaims.CLAIM, Pods.name(s.id()))).isNull();
            c.client.pods().inNamespace(NS).withName(again).waitUntilCondition(p -> p == null, 60,
                    java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            assertThat(new K8sDriver().keepWarm(sb.options(), spec, 0)).isTrue();
        }
        assertThat(c.pools).isEmpty();
        assertThat(get(c, AgentClaims.POOL, pool)).isNull();
        assertThat(get(c, AgentClaims.TEMPLATE, pool)).isNull();
    }

    @Test
    void aPoolDeletedBehindDavitsBackMeansAColdStart() throws Exception {
        Kept k = keptWarm("claims-gone-home", 1);
        Cluster c = k.c();
        Path home = k.home();
        Sandboxes sb = k.sb();
        CreateSpec spec = k.spec();
        String pool = k.pool();
        c.client.genericKubernetesResources(AgentClaims.API_VERSION, AgentClaims.POOL).inNamespace(NS).withName(pool)
                .delete();
        c.client.genericKubernetesResources(AgentClaims.API_VERSION, AgentClaims.TEMPLATE).inNamespace(NS)
                .withName(pool).delete();
        Sandbox s = sb.create(spec);
        try {
            sb.start(s.id()); // the claim told the pool is gone: its own pod, as without a pool
            Path dir = SandboxOptions.under(home).stateDir().resolve(s.id());
            assertThat(dir.resolve(K8sLifecycle.POD_NAME)).doesNotExist();
            assertThat(dir.resolve(K8sLifecycle.CLAIM)).doesNotExist();
            assertThat(c.pools).doesNotContainKey(pool);
            assertThat(sb.exec(s.id(), List.of("echo", "cold"), null, null, null).stdoutText()).isEqualTo("cold\n");
            assertThat(get(c, AgentClaims.CLAIM, Pods.name(s.id()))).isNull();
        } finally {
            sb.rm(s.id());
            new K8sDriver().keepWarm(sb.options(), spec, 0);
        }
    }

    @Test
    void davitsWarmPoolLetsTheClusterKeepTheSpares() throws Exception {
        Cluster c = withClaims();
        Path home = Files.createDirectories(K8sSandboxTest.tmp.resolve("claims-pool-home"));
        Workspaces ws = Workspaces.under(home);
        try (WarmPool spares = WorkspaceInternals.warmPool(ws, 1, () -> 10, null)) {
            Workspaces withSpares = WorkspaceInternals.withSpares(ws, spares);
            WorkspaceSpec spec = WorkspaceSpec.builder(K8sSandboxTest.workspaceSpec()).name("first").build();
            Workspace first = withSpares.create(spec); // the kind asked for: the cluster's pool made of it
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (c.pools.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(c.pools).hasSize(1);
            String pool = c.pools.keySet().iterator().next();
            awaitReady(c, pool, 1);
            assertThat(spares.ready()).as("davit made no spare of its own").isEmpty();
            Workspace second = withSpares.create(WorkspaceSpec.builder(K8sSandboxTest.workspaceSpec()).name("second")
                    .build());
            Path dir = SandboxOptions.under(home).stateDir().resolve(second.sandboxId());
            assertThat(Files.readString(dir.resolve(K8sLifecycle.POD_NAME))).startsWith(pool);
            ExecResult r = ws.execs().run(second.id(), ExecRequest.builder("ls", "/workspace")
                    .timeout(Duration.ofSeconds(60)).build());
            assertThat(r.exitCode()).as(r.stderrText()).isZero();
            ws.rm(first.id());
            ws.rm(second.id());
        }
        assertThat(c.pools).as("the pool closed ends the cluster's").isEmpty();
    }

    @Test
    void withPlainPodsTheBackendKeepsNoPoolOfItsOwn() throws Exception {
        K8sSandboxTest.image();
        Cluster before = Cluster.get();
        try {
            ClusterEnv.use(NS, Map.of(AgentSandbox.SETTING, "off"));
            Sandboxes sb = new Sandboxes(SandboxOptions.under(K8sSandboxTest.home));
            assertThat(new K8sDriver().keepWarm(sb.options(), K8sSandboxTest.workspaceSpec(), 2)).isFalse();
            assertThat(Cluster.get().pools).isEmpty();
        } finally {
            Cluster.use(before.settings);
        }
    }

    /** The test's cluster, its image made; the test skipped where the cluster serves no claims. */
    private static Cluster withClaims() throws Exception {
        K8sSandboxTest.image();
        Cluster c = Cluster.get();
        org.junit.jupiter.api.Assumptions.assumeTrue(AgentClaims.served(c), "agent-sandbox's extensions");
        return c;
    }

    /** A home's sandboxes whose kind {@code spec} the backend keeps warm in the cluster's pool {@code pool}. */
    private record Kept(Cluster c, Path home, Sandboxes sb, CreateSpec spec, String pool) {
    }

    /** The test's workspace kind kept warm ({@code size} spares) for a new home {@code name}. */
    private static Kept keptWarm(String name, int size) throws Exception {
        Cluster c = withClaims();
        Path home = Files.createDirectories(K8sSandboxTest.tmp.resolve(name));
        Sandboxes sb = new Sandboxes(SandboxOptions.under(home));
        CreateSpec spec = K8sSandboxTest.workspaceSpec();
        assertThat(new K8sDriver().keepWarm(sb.options(), spec, size)).isTrue();
        return new Kept(c, home, sb, spec, c.pools.keySet().iterator().next());
    }

    /** agent-sandbox's extension object {@code kind} {@code name} of the test's namespace, or null. */
    private static GenericKubernetesResource get(Cluster c, String kind, String name) {
        return c.client.genericKubernetesResources(AgentClaims.API_VERSION, kind).inNamespace(NS).withName(name).get();
    }

    /** Waits until warm pool {@code pool} has {@code n} ready pods. */
    private static void awaitReady(Cluster c, String pool, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        Object ready = null;
        while (System.nanoTime() < deadline) {
            GenericKubernetesResource p = get(c, AgentClaims.POOL, pool);
            ready = p == null ? null : p.get("status", "readyReplicas");
            if (ready instanceof Number x && x.intValue() >= n) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("warm pool " + pool + " has " + ready + " ready pods, not " + n);
    }
}
