package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.Doctor;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code doctor}'s entry for the k8s backend: a cluster configured and answering, and a registry set. */
final class K8sDoctor {
    private K8sDoctor() {
    }

    static Doctor.Backend check() {
        Map<String, String> facts = new LinkedHashMap<>();
        K8sSettings settings;
        try {
            settings = K8sSettings.from(System.getenv());
        } catch (DavitException e) {
            return new Doctor.Backend(K8sDriver.NAME, false, e.getMessage(), facts);
        }
        if (settings.kubeconfig() == null && System.getenv("KUBERNETES_SERVICE_HOST") == null) {
            return new Doctor.Backend(K8sDriver.NAME, false, "no cluster: set KUBECONFIG to a cluster's kubeconfig"
                    + " (docs/reference/KUBERNETES.md)", facts);
        }
        if (settings.kubeconfig() != null && !java.nio.file.Files.isRegularFile(settings.kubeconfig())) {
            return new Doctor.Backend(K8sDriver.NAME, false, "no cluster: no kubeconfig at " + settings.kubeconfig()
                    + "; set KUBECONFIG to a cluster's kubeconfig (docs/reference/KUBERNETES.md)", facts);
        }
        facts.put("namespace", settings.namespace());
        if (settings.registry() != null) {
            facts.put("registry", settings.registry());
        }
        try {
            Cluster c = Cluster.get();
            String version = c.client.getKubernetesVersion().getGitVersion();
            facts.put("cluster", version);
        } catch (RuntimeException e) {
            return new Doctor.Backend(K8sDriver.NAME, false, "the cluster does not answer ("
                    + Cluster.reason(e) + "); check KUBECONFIG", facts);
        }
        if (!namespaceMayExist(Cluster.get(), settings.namespace())) {
            return new Doctor.Backend(K8sDriver.NAME, false, Cluster.noNamespace(settings.namespace()), facts);
        }
        try {
            facts.put("sandboxes", sandboxPods(Cluster.get()));
        } catch (DavitException e) {
            return new Doctor.Backend(K8sDriver.NAME, false, e.getMessage(), facts); // DAVIT_K8S_AGENT_SANDBOX=on
        }
        if (settings.registry() == null) {
            return new Doctor.Backend(K8sDriver.NAME, false, "set DAVIT_K8S_REGISTRY to a registry the cluster pulls"
                    + " from", facts);
        }
        return new Doctor.Backend(K8sDriver.NAME, true, "runs sandboxes as pods of the cluster", facts);
    }

    /**
     * Whether namespace {@code name} exists, as far as davit may tell: false only when the cluster says it does not
     * (a user without the right to read namespaces, as davit's Role needs none, finds out at the first create).
     */
    static boolean namespaceMayExist(Cluster c, String name) {
        try {
            return c.client.namespaces().withName(name).get() != null;
        } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
            return true; // forbidden, or another answer: the create says what it is
        }
    }

    /**
     * How a long-lived sandbox's (a workspace's) pod is made on this cluster ({@link AgentSandbox}); an error for
     * {@code DAVIT_K8S_AGENT_SANDBOX=on} on a cluster without agent-sandbox.
     */
    static String sandboxPods(Cluster c) {
        boolean served = c.agentSandboxServed();
        if (AgentSandbox.use(c)) {
            return "agent-sandbox " + AgentSandbox.KIND + " objects (" + AgentSandbox.API_VERSION + ")";
        }
        return "plain pods (" + (served ? AgentSandbox.SETTING + "=off" : "the cluster has no agent-sandbox CRDs") + ")";
    }
}
