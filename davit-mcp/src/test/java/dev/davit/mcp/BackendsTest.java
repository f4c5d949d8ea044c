package dev.davit.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.Network;
import io.modelcontextprotocol.spec.McpError;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code mcp serve --backend} as a model meets it: its sandboxes run where the operator said, a call's 'backend' only
 * chooses among those, and what a pod cannot do is refused in the model's words (no operator flag in them). The
 * same server against a real cluster: K8sMcpNodeClientTest.
 */
class BackendsTest {
    @Test
    void withoutTheOptionAnEnvironmentRunsWhereItsKindSaysAsBefore() {
        Backends b = Backends.of(List.of());
        assertThat(b.allowed()).containsExactly("container", "vm");
        assertThat(b.choose("container", "busybox", null)).isEqualTo("container");
        assertThat(b.choose("vm", "busybox-vm", null)).isEqualTo("vm");
        assertThatThrownBy(() -> b.choose("container", "busybox", "vm")).isInstanceOf(McpError.class)
                .hasMessage("busybox is a container root filesystem; 'backend': 'vm' needs a microVM environment");
        assertThatThrownBy(() -> b.choose("container", "busybox", "k8s")).isInstanceOf(McpError.class)
                .hasMessage("'backend': k8s is not one this server runs sandboxes on (container, vm); leave"
                        + " 'backend' out or give one of those");
        assertThat(b.describe()).isEqualTo("container (default) or vm (a microVM: stronger isolation, slower"
                + " start).");
        assertThat(b.onlyCluster()).isFalse();
    }

    @Test
    void k8sAloneRunsImagesAsPodsAndNothingElse() {
        Backends b = Backends.of(List.of("k8s"));
        assertThat(b.onlyCluster()).isTrue();
        assertThat(b.choose("container", "busybox", null)).isEqualTo("k8s");
        assertThat(b.choose("container", "busybox", "k8s")).isEqualTo("k8s");
        assertThatThrownBy(() -> b.choose("container", "busybox", "container")).isInstanceOf(McpError.class)
                .hasMessageContaining("'backend': container is not one this server runs sandboxes on (k8s)");
        assertThatThrownBy(() -> b.choose("vm", "busybox-vm", null)).isInstanceOf(McpError.class)
                .hasMessage("busybox-vm is a microVM environment, and this server runs sandboxes on k8s only, which"
                        + " cannot run it; use an environment or image that is a root filesystem");
        assertThat(b.describe()).isEqualTo("One of this server's backends: k8s (a pod of the server's Kubernetes"
                + " cluster); default: k8s for an image or root filesystem.");
    }

    @Test
    void theFirstGivenIsTheDefaultAndTheOthersMayBeAskedFor() {
        Backends b = Backends.of(List.of("k8s", " container", "vm", "k8s"));
        assertThat(b.allowed()).containsExactly("k8s", "container", "vm");
        assertThat(b.onlyCluster()).isFalse();
        assertThat(b.choose("container", "busybox", null)).isEqualTo("k8s");
        assertThat(b.choose("container", "busybox", "container")).isEqualTo("container");
        assertThat(b.choose("vm", "busybox-vm", null)).isEqualTo("vm");
        assertThat(b.describe()).isEqualTo("One of this server's backends: k8s (a pod of the server's Kubernetes"
                + " cluster), container, vm (a microVM, for a microVM environment); default: k8s for an image or root"
                + " filesystem, vm for a microVM environment.");
        assertThat(Backends.of(List.of("container")).choose("container", "busybox", null)).isEqualTo("container");
    }

    @Test
    void anUnknownBackendIsTheOperatorsErrorAtStart() {
        assertThatThrownBy(() -> Backends.of(List.of("nomad"))).isInstanceOf(DavitException.class)
                .hasMessageStartingWith("--backend: unknown backend 'nomad'; available: container, vm")
                .hasMessageContaining("k8s");
    }

    @Test
    void whatAPodCannotHaveIsRefusedBeforeAnythingIsMade() {
        Backends only = Backends.of(List.of("k8s"));
        Map<String, Object> publish = new HashMap<>(Map.of("publish", List.of("0:80"), "network", true));
        assertThatThrownBy(() -> only.refuseUnsupported("k8s", publish, Network.NAT, false)).isInstanceOf(McpError.class)
                .hasMessage("'publish' is not available for sandboxes on Kubernetes ('backend': 'k8s') yet: their"
                        + " ports cannot be reached from the server's host; leave 'publish' out");
        assertThatThrownBy(() -> only.refuseUnsupported("k8s", new HashMap<>(Map.of("network", true)), Network.NAT,
                false))
                .isInstanceOf(McpError.class).hasMessageContaining("only through an egress allow-list")
                .hasMessageNotContaining("'container'");
        // an allow-list is what a pod has: its gate enforces it
        Network allowList = Network.policy(dev.davit.sandbox.EgressPolicy.parse(List.of("example.com"), List.of(),
                List.of(), List.of(), List.of()));
        only.refuseUnsupported("k8s", new HashMap<>(Map.of("allow_hosts", List.of("example.com"))), allowList, false);
        // a one-shot run has no gate: refused, pointing to a workspace
        assertThatThrownBy(() -> only.refuseUnsupported("k8s", new HashMap<>(Map.of("allow_hosts",
                List.of("example.com"))), allowList, true)).isInstanceOf(McpError.class)
                .hasMessageStartingWith("a run on Kubernetes ('backend': 'k8s') has no network yet");
        // with the container backend allowed too, the model is told it may ask for it
        assertThatThrownBy(() -> Backends.of(List.of("k8s", "container")).refuseUnsupported("k8s",
                new HashMap<>(Map.of("network", true)), Network.NAT, false))
                .hasMessageEndingWith(", or ask for 'backend': 'container'");
        only.refuseUnsupported("k8s", new HashMap<>(), Network.NONE, true);
        only.refuseUnsupported("container", publish, Network.NAT, true); // the container backend's own checks apply
    }

    @Test
    void whatAWorkspaceOnK8sCannotDoYetIsRefusedInTheModelsWords() {
        Backends b = Backends.of(List.of("k8s"));
        Map<String, Object> background = new HashMap<>(Map.of("detach", true));
        for (String tool : List.of("workspace_exec", "workspace_service_start", "workspace_stop", "workspace_pause",
                "workspace_fork", "workspace_file_read", "workspace_shell_open")) {
            assertThat(Backends.limitedOnK8s(tool, background)).as(tool).isFalse(); // a pod does these now
            b.refuseOnWorkspace(tool, background, "k8s", "proj");
        }
        for (String tool : List.of("workspace_disk_list", "workspace_disk_read", "workspace_disk_export")) {
            assertThatThrownBy(() -> b.refuseOnWorkspace(tool, new HashMap<>(), "k8s", "proj"))
                    .as(tool).isInstanceOf(McpError.class).hasMessageStartingWith("workspace proj runs on Kubernetes")
                    .hasMessageNotContaining("--");
            b.refuseOnWorkspace(tool, new HashMap<>(), "container", "proj"); // elsewhere the tool runs
        }
        assertThatThrownBy(() -> b.refuseOnWorkspace("workspace_disk_list", new HashMap<>(), "k8s", "proj"))
                .hasMessage("workspace proj runs on Kubernetes ('backend': 'k8s'), whose files live in its pod, not on"
                        + " a disk of its own; start it (workspace_start) and read them with workspace_file_list,"
                        + " workspace_file_read or workspace_export");
    }

    /**
     * With k8s alone the host's size is no total: unset --max-memory and --max-cpus count nothing (a laptop-sized
     * server admits a thousand workspaces where --max-workspaces and the namespace's ResourceQuota allow them), given
     * ones are checked and counted as elsewhere; the operator is told what bounds the pods together.
     */
    @Test
    void onTheClusterTheTotalsAreTheNamespacesQuotaNotTheHostsSize() {
        Budget cluster = DavitMcpServer.budget(null, null, null, List.of("k8s"));
        assertThat(cluster.maxMemoryMiB).isZero();
        assertThat(cluster.maxCpus).isZero();
        assertThat(cluster.maxRuns).isEqualTo(Budget.DEFAULT_RUNS);
        assertThat(cluster.refusal(false, 1024, 999, 999L * 1024, 0, 0)).isNull();
        Budget host = DavitMcpServer.budget(null, null, null, List.of("container"));
        assertThat(host.maxMemoryMiB).isEqualTo(Budget.defaultMemoryMiB());
        assertThat(host.maxCpus).isEqualTo(Runtime.getRuntime().availableProcessors());
        Budget given = DavitMcpServer.budget(4096L, null, 2, List.of("k8s"));
        assertThat(given.maxMemoryMiB).isEqualTo(4096);
        assertThat(given.maxCpus).isZero();
        assertThat(given.refusal(false, 1024, 4, 4096, 0, 0)).contains("--max-memory 4096");
        assertThatThrownBy(() -> DavitMcpServer.budget(10L, null, null, List.of("k8s")))
                .hasMessageContaining("--max-memory must be at least 1024");

        java.util.Map<String, String> q = new java.util.TreeMap<>(java.util.Map.of("pods", "3/1000",
                "limits.memory", "3Gi/1Ti"));
        assertThat(Budget.clusterTotals(q)).isEqualTo("together they are bounded by the namespace's ResourceQuota"
                + " (limits.memory 3Gi/1Ti, pods 3/1000, used/most)");
        assertThat(Budget.clusterTotals(java.util.Map.of())).startsWith("the namespace has no ResourceQuota");
        assertThat(Budget.clusterTotals("no kubeconfig at /x")).isEqualTo("the namespace's ResourceQuota could not"
                + " be read (no kubeconfig at /x)");
    }
}
