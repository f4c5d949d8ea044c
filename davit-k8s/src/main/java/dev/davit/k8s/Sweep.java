package dev.davit.k8s;

import dev.davit.sandbox.SandboxOptions;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The sweep of a davit home's leftovers on the cluster: its pods, agent-sandbox {@code Sandbox}es and claims (by its {@link
 * HomeId} label) whose sandbox has no record in the home any more: a davit killed between deleting a sandbox's record
 * and its pod, a record deleted by hand, a home restored from a backup. A sandbox's record is made before its pod and
 * deleted after it, so no sandbox being made or removed is taken; nothing of another home, nor anything davit did not
 * label, is. And the home's warm pools ({@link AgentClaims}) whose server died on this machine (its owner annotation
 * names a process of this boot that no longer runs).
 */
final class Sweep {
    private Sweep() {
    }

    /**
     * Deletes home {@code options}' objects whose sandbox is not recorded; asks no cluster when the home never made a
     * pod ({@link HomeId#ifMade}).
     *
     * @return the names of the pods and {@code Sandbox}es deleted
     */
    static List<String> run(SandboxOptions options) {
        String id = HomeId.ifMade(K8sLifecycle.home(options));
        if (id == null) {
            return List.of();
        }
        Cluster c = Cluster.get();
        Map<String, String> mine = Map.of(Pods.MANAGED_BY, Pods.DAVIT, Pods.HOME, id);
        List<String> swept = new ArrayList<>();
        // owners first: a claim owns its Sandbox, a Sandbox its pod
        List<HasMetadata> found = new ArrayList<>(AgentClaims.list(c, mine));
        found.addAll(AgentSandbox.list(c, mine));
        try {
            found.addAll(c.client.pods().inNamespace(c.settings.namespace()).withLabels(mine).list().getItems());
        } catch (KubernetesClientException e) {
            throw Cluster.failure("list this home's pods", e);
        }
        for (HasMetadata o : found) {
            String sandbox = o.getMetadata().getLabels().get(Pods.SANDBOX);
            String name = o.getMetadata().getName();
            if (sandbox == null || recorded(options.stateDir(), sandbox) || swept.contains(name)
                    || !name.equals(Pods.name(sandbox))) {
                continue;
            }
            if (AgentClaims.CLAIM.equals(o.getKind())) {
                AgentClaims.deleteClaim(c, name); // its Sandbox and pod go with it
            } else {
                PodLife.delete(c, name); // its Sandbox first, if it has one; then the pod
            }
            swept.add(name);
        }
        // warm pools (and their templates) whose server died on this machine: the pool's pods, no sandbox's yet, go
        // with them
        for (var pool : AgentClaims.pools(c, mine)) {
            String name = pool.getMetadata().getName();
            if (!c.pools.containsKey(name) && AgentClaims.orphaned(pool)) {
                AgentClaims.end(c, name);
                swept.add(name);
            }
        }
        return swept;
    }

    /** Whether sandbox {@code id} (a label's value: a davit id, lower-case) has a record in {@code stateDir}. */
    private static boolean recorded(Path stateDir, String id) {
        return !id.matches("[a-z0-9-]{1,63}") || Files.exists(stateDir.resolve(id),
                java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }
}
