package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.Limits;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A sandbox's pod as data, no cluster: its CPU request is what an idle sandbox needs (the operator's overcommit), or
 * its limits in every container when the operator asks for Guaranteed; a one-shot run's pod ends by itself after
 * its timeout; the nodes' own addresses join a gate's except list.
 */
class PodsTest {
    private static Pod pod(Map<String, String> env, Limits limits, Duration deadline, boolean gated) {
        K8sSettings settings = K8sSettings.from(env);
        Pods.Gate gate = gated ? new Pods.Gate("r/davit/gate@sha256:02", "r/davit/rules@sha256:03", Map.of(),
                List.of("10.0.0.0/8")) : null;
        return Pods.sandbox(settings, "sbx-0123456789ab", "h", new PodLife.Plan("r/davit/env@sha256:00",
                "r/davit/agent@sha256:01", limits, new long[] {1000, 1000}, gate, null, deadline, false));
    }

    @Test
    void aSandboxRequestsATwentiethOfItsCpuLimitAndAllItsMemoryByDefault() {
        Pod p = pod(Map.of(), Limits.defaultFor("k8s"), null, false);
        var r = p.getSpec().getContainers().getFirst().getResources();
        assertThat(r.getLimits()).containsEntry("cpu", new io.fabric8.kubernetes.api.model.Quantity("1000m"))
                .containsEntry("memory", new io.fabric8.kubernetes.api.model.Quantity("1024Mi"));
        assertThat(r.getRequests().get("cpu").toString()).isEqualTo("50m");
        // memory and disk in full: under pressure the kubelet evicts first the pods past their requests
        assertThat(r.getRequests().get("memory")).isEqualTo(r.getLimits().get("memory"));
        assertThat(r.getRequests().get("ephemeral-storage")).isEqualTo(r.getLimits().get("ephemeral-storage"));
        assertThat(p.getSpec().getActiveDeadlineSeconds()).isNull();
    }

    @Test
    void anOperatorsOvercommitOfOneIsGuaranteedInEveryContainer() {
        Pod p = pod(Map.of("DAVIT_K8S_OVERCOMMIT", "1"), new Limits(512, 0.5, 0, 2048), null, true);
        List<Container> all = new ArrayList<>(p.getSpec().getInitContainers());
        all.addAll(p.getSpec().getContainers());
        assertThat(all).hasSize(4); // the agent's copy, the gate's rules, the gate, the sandbox
        for (Container c : all) {
            assertThat(c.getResources().getRequests()).as(c.getName()).isEqualTo(c.getResources().getLimits());
        }
        Pod burstable = pod(Map.of("DAVIT_K8S_OVERCOMMIT", "4"), new Limits(512, 0.5, 0, 2048), null, false);
        var r = burstable.getSpec().getContainers().getFirst().getResources().getRequests();
        assertThat(r.get("cpu").toString()).isEqualTo("125m");
        assertThat(r.get("memory").toString()).isEqualTo("512Mi");
        for (String bad : List.of("0", "1001", "x", "-3")) {
            assertThatThrownBy(() -> K8sSettings.from(Map.of("DAVIT_K8S_OVERCOMMIT", bad)))
                    .isInstanceOf(DavitException.class).hasMessageContaining("DAVIT_K8S_OVERCOMMIT");
        }
    }

    @Test
    void aOneShotRunsPodEndsByItselfAfterItsTimeoutAndAProcessLimitIsRefused() {
        Duration deadline = PodRun.activeDeadline(Duration.ofSeconds(30));
        assertThat(pod(Map.of(), Limits.defaultFor("k8s"), deadline, false).getSpec().getActiveDeadlineSeconds())
                .isEqualTo(30 + PodLife.START_SECONDS + 60);
        assertThat(PodRun.activeDeadline(null)).isNull();
        assertThat(Limits.defaultFor("k8s").pids()).isZero();
        assertThatThrownBy(() -> K8sLifecycle.refusePids(Limits.DEFAULT)).isInstanceOf(DavitException.class)
                .hasMessageContaining("podPidsLimit");
    }

    @Test
    void theOperatorsNodesAreAskedForAndTheirTaintsTolerated() {
        Pod p = pod(Map.of("DAVIT_K8S_NODE_SELECTOR", "davit.dev/simulated=true, pool=sandboxes",
                "DAVIT_K8S_TOLERATIONS", "davit.dev/simulated=true:NoSchedule,dedicated:NoExecute"), Limits.NONE,
                null, false);
        assertThat(p.getSpec().getNodeSelector()).containsExactly(Map.entry("davit.dev/simulated", "true"),
                Map.entry("pool", "sandboxes"));
        assertThat(p.getSpec().getTolerations()).extracting(t -> t.getKey() + " " + t.getOperator() + " "
                + t.getValue() + " " + t.getEffect()).containsExactly("davit.dev/simulated Equal true NoSchedule",
                "dedicated Exists null NoExecute");
        assertThat(pod(Map.of(), Limits.NONE, null, false).getSpec().getNodeSelector()).isNullOrEmpty();
        for (Map<String, String> bad : List.of(Map.of("DAVIT_K8S_NODE_SELECTOR", "novalue"),
                Map.of("DAVIT_K8S_TOLERATIONS", "k=v:Sometimes"), Map.of("DAVIT_K8S_TOLERATIONS", "k v:NoSchedule"))) {
            assertThatThrownBy(() -> K8sSettings.from(bad)).isInstanceOf(DavitException.class)
                    .hasMessageContaining(bad.keySet().iterator().next());
        }
    }

    @Test
    void aRequestIsCountedAsTheApiServerNamesIt() {
        java.util.function.BiFunction<String, String, String> k = (m, u) -> RequestCount.key(m,
                java.net.URI.create("https://h:6443" + u));
        assertThat(k.apply("GET", "/api/v1/namespaces/ns/pods/davit-sbx-1")).isEqualTo("GET pods");
        assertThat(k.apply("GET", "/api/v1/namespaces/ns/pods?labelSelector=x")).isEqualTo("LIST pods");
        assertThat(k.apply("GET", "/api/v1/namespaces/ns/pods?watch=true&labelSelector=x")).isEqualTo("WATCH pods");
        assertThat(k.apply("POST", "/api/v1/namespaces/ns/pods/p/exec?command=x")).isEqualTo("POST pods/exec");
        assertThat(k.apply("DELETE", "/apis/agents.x-k8s.io/v1beta1/namespaces/ns/sandboxes/s"))
                .isEqualTo("DELETE sandboxes");
        assertThat(k.apply("GET", "/api/v1/nodes")).isEqualTo("LIST nodes");
        assertThat(k.apply("GET", "/apis/networking.k8s.io/v1/namespaces/ns/networkpolicies/davit-deny-all"))
                .isEqualTo("GET networkpolicies");
    }

    @Test
    void theAgentsDirectoryIsReadOnlyAndItsRunDirectoryStickyMadeByRoot() {
        var pod = pod(Map.of(), Limits.NONE, null, false);
        Container init = pod.getSpec().getInitContainers().getFirst();
        assertThat(String.join(" ", init.getCommand())).contains("chmod 0755 /.davit ").endsWith(
                "chmod 1777 /.davit-run/run /.davit-run/procs /.davit-run/stage");
        var mounts = pod.getSpec().getContainers().getFirst().getVolumeMounts();
        assertThat(mounts).filteredOn(m -> m.getMountPath().equals("/.davit")).singleElement()
                .satisfies(m -> assertThat(m.getReadOnly()).isTrue());
        for (String writable : List.of("/.davit/run", "/.davit/procs", "/.davit/stage")) {
            assertThat(mounts).filteredOn(m -> m.getMountPath().equals(writable)).singleElement()
                    .satisfies(m -> assertThat(m.getReadOnly()).isNotEqualTo(Boolean.TRUE));
        }
        assertThat(init.getSecurityContext().getRunAsUser()).isZero();
        assertThat(init.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
    }

    @Test
    void theNodesOwnAddressesJoinTheExceptListUnlessHeldAlready() {
        assertThat(NodeAddresses.with(K8sSettings.PRIVATE, List.of("192.0.2.2", "10.254.0.1", "fd00::1",
                "node-1.example", "203.0.113.7", "192.0.2.2")))
                .endsWith("192.0.2.2/32", "203.0.113.7/32").hasSize(K8sSettings.PRIVATE.size() + 2);
        assertThat(NodeAddresses.with(List.of("0.0.0.0/0"), List.of("8.8.8.8"))).containsExactly("0.0.0.0/0");
        assertThat(NodeAddresses.ipv4("256.1.1.1")).isEqualTo(-1);
        assertThat(NodeAddresses.ipv4("1.2.3")).isEqualTo(-1);
    }

    /**
     * A warm pool's kind is a sandbox's pod less its name and sandbox label: two sandboxes of one kind share a pool,
     * another limit or environment is another pool.
     */
    @Test
    void aWarmPoolsNameIsItsKindsHashNotASandboxs() {
        PodLife.Plan plan = new PodLife.Plan("r/davit/env@sha256:00", "r/davit/agent@sha256:01",
                Limits.defaultFor("k8s"), new long[] {1000, 1000}, null, null, null, false);
        K8sSettings settings = K8sSettings.from(Map.of());
        String one = AgentClaims.poolName(Pods.sandbox(settings, "sbx-000000000001", "h", plan));
        assertThat(one).matches("davit-pool-[0-9a-f]{16}-[0-9a-f]{6}"); // the kind's hash, then this process's
        assertThat(AgentClaims.poolName(Pods.sandbox(settings, "sbx-000000000002", "h", plan))).isEqualTo(one);
        assertThat(AgentClaims.poolName(Pods.sandbox(settings, "sbx-000000000001", "h", new PodLife.Plan(
                "r/davit/env@sha256:00", "r/davit/agent@sha256:01", Limits.NONE, new long[] {1000, 1000}, null, null,
                null, false)))).isNotEqualTo(one);
        assertThat(AgentClaims.poolName(Pods.sandbox(settings, "sbx-000000000001", "h", new PodLife.Plan(
                "r/davit/env@sha256:ff", "r/davit/agent@sha256:01", Limits.defaultFor("k8s"), new long[] {1000, 1000},
                null, null, null, false)))).isNotEqualTo(one);
        assertThat(AgentClaims.poolName(Pods.sandbox(settings, "sbx-000000000001", "other-home", plan)))
                .isNotEqualTo(one);
    }
}
