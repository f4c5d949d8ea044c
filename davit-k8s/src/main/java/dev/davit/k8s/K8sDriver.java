package dev.davit.k8s;

import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.backend.Backend;
import dev.davit.sandbox.backend.Driver;
import dev.davit.sandbox.backend.LongLived;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * The k8s backend's driver ({@code --backend k8s}). Nothing of the cluster client loads until a k8s sandbox is
 * made or looked at: the driver itself is found with every davit start.
 */
public final class K8sDriver implements Driver {
    /** The backend's name. */
    public static final String NAME = "k8s";
    /** Its one runtime. */
    public static final String RUNTIME = "pod";

    /** The file in a one-shot run's state directory naming its pod, while it may exist. */
    static final String POD_MARK = "k8s-pod";

    /** For {@link java.util.ServiceLoader}. */
    public K8sDriver() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Backend> runtimes(SandboxOptions options) {
        return List.of(new PodRun(options));
    }

    @Override
    public LongLived longLived(SandboxOptions options, Consumer<Sandbox> save) {
        return new K8sLifecycle(options, save);
    }

    @Override
    public List<Doctor.Backend> doctor(SandboxOptions options) {
        return List.of(K8sDoctor.check());
    }

    @Override
    public void reapOrphan(SandboxOptions options, Path runDir) {
        if (!java.nio.file.Files.exists(runDir.resolve(POD_MARK))) {
            return; // not a k8s run, or its pod is gone already: no cluster is asked
        }
        String id = runDir.getFileName().toString();
        try {
            PodLife.delete(Cluster.get(), Pods.name(id));
        } catch (RuntimeException e) {
            // no cluster configured or reachable: nothing of this run can be removed from here
        }
    }

    /**
     * The ResourceQuotas of the namespace: each resource's used and hard amount ({@code "3/1000"}); two quotas of one
     * resource are both said ({@code "3/1000; 3/50"}).
     */
    @Override
    public java.util.Map<String, String> quota(SandboxOptions options) {
        Cluster c = Cluster.get();
        java.util.Map<String, String> all = new java.util.TreeMap<>();
        try {
            for (var q : c.client.resourceQuotas().inNamespace(c.settings.namespace()).list().getItems()) {
                var hard = q.getSpec() == null || q.getSpec().getHard() == null ? java.util.Map.<String,
                        io.fabric8.kubernetes.api.model.Quantity>of() : q.getSpec().getHard();
                var used = q.getStatus() == null || q.getStatus().getUsed() == null ? java.util.Map.<String,
                        io.fabric8.kubernetes.api.model.Quantity>of() : q.getStatus().getUsed();
                hard.forEach((k, v) -> all.merge(k, (used.containsKey(k) ? used.get(k).toString() : "0") + "/" + v,
                        (a, b) -> a + "; " + b));
            }
        } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
            throw Cluster.failure("list the namespace's ResourceQuotas", e);
        }
        return all;
    }

    /** A {@code SandboxWarmPool} of {@code spec}'s kind, where the cluster serves them ({@link AgentClaims}). */
    @Override
    public boolean keepWarm(SandboxOptions options, dev.davit.sandbox.CreateSpec spec, int count) {
        return K8sLifecycle.keepWarm(options, spec, count);
    }

    /** This home's pods and {@code Sandbox}es whose sandbox has no record ({@link Sweep}); none when unreachable. */
    @Override
    public List<String> sweep(SandboxOptions options) {
        try {
            return Sweep.run(options);
        } catch (RuntimeException e) {
            return List.of(); // no cluster configured or reachable: the next reap tries again
        }
    }
}
