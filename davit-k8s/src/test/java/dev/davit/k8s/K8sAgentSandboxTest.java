package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * With and without agent-sandbox: scripts/cluster.sh's cluster serves agent-sandbox v0.5.2's CRDs and runs its
 * controller, so there a workspace's pod is made through a {@code Sandbox} object (fetched here through the API):
 * named and labelled as the pod, its template davit's pod, the pod owned by it; exec and files work, a pause suspends
 * it (the pod goes, the object stays), a resume runs it again, and a removal deletes the object and the pod. With
 * {@code DAVIT_K8S_AGENT_SANDBOX=off} the same workspace is a plain pod and no {@code Sandbox} is made. Without the
 * CRDs (a kind the cluster does not serve) discovery says so rather than failing.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sAgentSandboxTest {
    private static final String NS = "davit-test";

    @Test
    void aWorkspaceIsASandboxThatOwnsItsPodAndGoesWithIt() throws Exception {
        K8sSandboxTest.image();
        Cluster c = K8sSandboxTest.cluster;
        assertThat(c.agentSandboxServed()).as("the test cluster has agent-sandbox's CRDs").isTrue();
        Workspaces ws = Workspaces.under(K8sSandboxTest.home);
        Workspace w = ws.create(WorkspaceSpec.builder(K8sSandboxTest.workspaceSpec()).name("as-sandbox").build());
        String name = Pods.name(w.sandboxId());
        try {
            GenericKubernetesResource s = sandbox(name);
            assertThat(s).as("the workspace's Sandbox object").isNotNull();
            assertThat(s.getMetadata().getLabels()).containsEntry(Pods.MANAGED_BY, Pods.DAVIT)
                    .containsEntry(Pods.SANDBOX, w.sandboxId().toLowerCase(java.util.Locale.ROOT))
                    .containsEntry(Pods.HOME, Pods.homeLabel(K8sSandboxTest.home));
            assertThat(AgentSandbox.mode(s)).isEqualTo("Running");
            assertThat((Object) s.get("status", "conditions")).asString().contains("DependenciesReady");

            Pod pod = c.client.pods().inNamespace(NS).withName(name).get();
            OwnerReference owner = pod.getMetadata().getOwnerReferences().get(0);
            assertThat(owner.getKind()).isEqualTo("Sandbox");
            assertThat(owner.getController()).isTrue();
            assertThat(owner.getUid()).isEqualTo(s.getMetadata().getUid());
            assertThat(pod.getMetadata().getLabels()).containsAllEntriesOf(s.getMetadata().getLabels());
            // the template is davit's pod: its guarantees hold on the pod the controller made
            assertThat(pod.getSpec().getAutomountServiceAccountToken()).isFalse();
            assertThat(pod.getSpec().getContainers().get(0).getSecurityContext().getCapabilities().getDrop())
                    .containsExactly("ALL");
            assertThat(pod.getSpec().getInitContainers()).extracting(x -> x.getName()).containsExactly("davit-agent");

            ExecResult r = ws.execs().run(w.id(), ExecRequest.builder("sh", "-c",
                    "cat /etc/hostname; echo made >/workspace/f").timeout(Duration.ofSeconds(60)).build());
            assertThat(r.exitCode()).as(r.stderrText()).isZero();
            assertThat(r.stdoutText()).isEqualTo(name + "\n");
            ws.files().write(w.id(), "g", new ByteArrayInputStream("written".getBytes(StandardCharsets.UTF_8)));
            assertThat(new String(ws.files().read(w.id(), "g", 0).bytes(),
                    StandardCharsets.UTF_8)).isEqualTo("written");

            // a pause is agent-sandbox's suspended mode: the pod goes, the Sandbox stays; a resume runs it again
            ws.pause(w.id());
            assertThat(AgentSandbox.mode(sandbox(name))).isEqualTo("Suspended");
            assertThat(c.client.pods().inNamespace(NS).withName(name).get()).isNull();
            ws.resume(w.id());
            GenericKubernetesResource resumed = sandbox(name);
            assertThat(resumed.getMetadata().getUid()).isEqualTo(s.getMetadata().getUid());
            assertThat(AgentSandbox.mode(resumed)).isEqualTo("Running");
            assertThat(c.client.pods().inNamespace(NS).withName(name).get().getMetadata().getUid())
                    .isNotEqualTo(pod.getMetadata().getUid());
            assertThat(new String(ws.files().read(w.id(), "f", 0).bytes(), StandardCharsets.UTF_8)).isEqualTo("made\n");
        } finally {
            ws.rm(w.id());
        }
        assertThat(sandbox(name)).as("rm deletes the Sandbox").isNull();
        assertThat(c.client.pods().inNamespace(NS).withName(name).get()).as("and its pod").isNull();
    }

    @Test
    void withAgentSandboxOffAWorkspaceIsAPlainPod() throws Exception {
        K8sSandboxTest.image();
        ClusterEnv.use(NS, Map.of(AgentSandbox.SETTING, "off"));
        try {
            Cluster off = Cluster.get();
            assertThat(AgentSandbox.use(off)).isFalse();
            assertThat(K8sDoctor.sandboxPods(off)).isEqualTo("plain pods (DAVIT_K8S_AGENT_SANDBOX=off)");
            Workspaces ws = Workspaces.under(K8sSandboxTest.home);
            Workspace w = ws.create(WorkspaceSpec.builder(K8sSandboxTest.workspaceSpec()).name("plain-pod").build());
            String name = Pods.name(w.sandboxId());
            try {
                Pod pod = off.client.pods().inNamespace(NS).withName(name).get();
                assertThat(pod).isNotNull();
                assertThat(pod.getMetadata().getOwnerReferences()).isNullOrEmpty();
                assertThat(sandbox(name)).as("no Sandbox object").isNull();
                ExecResult r = ws.execs().run(w.id(), ExecRequest.builder("cat", "/etc/hostname")
                        .timeout(Duration.ofSeconds(60)).build());
                assertThat(r.stdoutText()).isEqualTo(name + "\n");
            } finally {
                ws.rm(w.id());
            }
            assertThat(off.client.pods().inNamespace(NS).withName(name).get()).isNull();
        } finally {
            ClusterEnv.use(NS);
        }
        assertThat(K8sDoctor.sandboxPods(Cluster.get())).isEqualTo("agent-sandbox Sandbox objects"
                + " (agents.x-k8s.io/v1beta1)");
    }

    /**
     * A ResourceQuota that admits no pod refuses the pod agent-sandbox's controller makes, not davit's request: davit
     * reads that from the Sandbox's Ready condition and says it in the same words as for a plain pod, at once rather
     * than after the start's 180 s, and leaves neither the Sandbox nor a pod.
     */
    @Test
    void aResourceQuotasRefusalIsSaidInTheSameWordsWithAndWithoutASandbox() throws Exception {
        K8sSandboxTest.image();
        String ns = "davit-test-quota";
        var client = K8sSandboxTest.cluster.client;
        if (client.namespaces().withName(ns).get() == null) {
            client.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata()
                    .withName(ns).endMetadata().build()).create();
        }
        client.resourceQuotas().inNamespace(ns).resource(new io.fabric8.kubernetes.api.model.ResourceQuotaBuilder()
                .withNewMetadata().withName("no-pods").endMetadata().withNewSpec()
                .withHard(Map.of("pods", new io.fabric8.kubernetes.api.model.Quantity("0"))).endSpec().build())
                .serverSideApply();
        // admission refuses with "status unknown" until the quota controller has counted
        client.resourceQuotas().inNamespace(ns).withName("no-pods").waitUntilCondition(q -> q != null
                && q.getStatus() != null && q.getStatus().getHard() != null && !q.getStatus().getHard().isEmpty(),
                60, java.util.concurrent.TimeUnit.SECONDS);
        dev.davit.sandbox.engine.Sandboxes sb = new dev.davit.sandbox.engine.Sandboxes(dev.davit.sandbox.SandboxOptions.under(
                K8sSandboxTest.home));
        try {
            for (String mode : List.of("auto", "off")) {
                ClusterEnv.use(ns, Map.of(AgentSandbox.SETTING, mode));
                var s = sb.create(dev.davit.sandbox.CreateSpec.builder(K8sSandboxTest.rootfs)
                        .backend(K8sDriver.NAME).build());
                long t0 = System.nanoTime();
                try {
                    assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> sb.start(s.id())))
                            .as(mode).isInstanceOf(dev.davit.oci.DavitException.class)
                            .hasMessageContaining("the cluster's ResourceQuota refused to let davit create")
                            .hasMessageContaining("exceeded quota")
                            .hasMessageContaining("ask for a smaller sandbox or a larger quota");
                    assertThat(Duration.ofNanos(System.nanoTime() - t0)).as(mode).isLessThan(Duration.ofSeconds(60));
                    assertThat(client.genericKubernetesResources(AgentSandbox.API_VERSION, AgentSandbox.KIND)
                            .inNamespace(ns).withName(Pods.name(s.id())).get()).as(mode).isNull();
                    assertThat(client.pods().inNamespace(ns).withName(Pods.name(s.id())).get()).as(mode).isNull();
                } finally {
                    sb.rm(s.id());
                }
            }
        } finally {
            ClusterEnv.use(NS);
        }
    }

    /** A cluster without the CRDs: discovery answers no for a kind it does not serve, without an error. */
    /**
     * A sandbox's ttl is its {@code Sandbox}'s {@code shutdownTime}: the controller ends its pod then, with no davit
     * running, and keeps the object (Expired) for davit's reap; a new ttl moves it.
     */
    @Test
    void aTtlIsTheSandboxsShutdownTimeSoTheClusterEndsItWithoutDavit() throws Exception {
        K8sSandboxTest.image();
        Cluster c = K8sSandboxTest.cluster;
        Sandboxes sb = new Sandboxes(SandboxOptions.under(K8sSandboxTest.home));
        Sandbox s = sb.create(CreateSpec.builder(K8sSandboxTest.rootfs).image(K8sSandboxTest.config)
                .backend(K8sDriver.NAME).ttl(Duration.ofHours(1)).build());
        String name = Pods.name(s.id());
        try {
            sb.start(s.id());
            assertThat(Instant.parse((String) sandbox(name).get("spec", "shutdownTime"))).isEqualTo(s.createdAt()
                    .plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS));
            Instant before = Instant.now();
            sb.expireAfter(s.id(), Duration.ofSeconds(15));
            Instant end = Instant.parse((String) sandbox(name).get("spec", "shutdownTime"));
            assertThat(end).isBetween(before.plusSeconds(13), Instant.now().plusSeconds(16));
            // nothing of davit's acts meanwhile: the controller deletes the pod at that time
            c.client.pods().inNamespace(NS).withName(name).waitUntilCondition(p -> p == null, 90, TimeUnit.SECONDS);
            assertThat(Instant.now()).isAfterOrEqualTo(end.minusSeconds(1));
            assertThat(sandbox(name)).as("Retain: the object stays for davit's reap").isNotNull();
            assertThat(sb.status(s.id()).status()).isEqualTo(SandboxStatus.FAILED);
        } finally {
            sb.rm(s.id());
        }
        assertThat(sandbox(name)).isNull();
    }

    @Test
    void discoveryTellsAServedKindFromAMissingOne() throws Exception {
        K8sSandboxTest.image();
        Cluster c = K8sSandboxTest.cluster;
        assertThat(AgentSandbox.serves(c, AgentSandbox.API_VERSION, AgentSandbox.KIND)).isTrue();
        assertThat(AgentSandbox.serves(c, "agents.x-k8s.io/v0davit", AgentSandbox.KIND)).isFalse();
        assertThat(AgentSandbox.serves(c, "sandboxes.davit.dev/v1", "Sandbox")).isFalse();
    }

    static GenericKubernetesResource sandbox(String name) {
        return K8sSandboxTest.cluster.client.genericKubernetesResources(AgentSandbox.API_VERSION, AgentSandbox.KIND)
                .inNamespace(NS).withName(name).get();
    }
}
