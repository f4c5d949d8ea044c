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
}
