package dev.davit.k8s;

import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.backend.Backend;
import dev.davit.sandbox.backend.OneShot;
import dev.davit.sandbox.backend.PodEgress;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;

/** A one-shot run as a pod: made, the command run in it through its exec streams, deleted (also on failure). */
final class PodRun implements Backend {
    private final SandboxOptions options;

    PodRun(SandboxOptions options) {
        this.options = options;
    }

    @Override
    public String name() {
        return K8sDriver.NAME;
    }

    @Override
    public String runtime() {
        return K8sDriver.RUNTIME;
    }

    /**
     * How long a run's pod may live once started: its timeout, with room for its start (its images pulled) and its
     * end; none without a timeout. A davit that died during the run leaves a pod the kubelet ends by itself then.
     */
    static java.time.Duration activeDeadline(java.time.Duration timeout) {
        return timeout == null ? null : timeout.plusSeconds(PodLife.START_SECONDS + 60);
    }

    @Override
    public ExecResult run(RunSpec spec, InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        long t0 = System.nanoTime();
        boolean gated = K8sLifecycle.gated(spec.network());
        K8sLifecycle.refuseUnsupported(true, spec.network().enabled() && !gated, false);
        K8sLifecycle.refusePids(spec.limits());
        long[] user = Pods.imageUser(spec.rootfs(), spec.image());
        if (gated) {
            PodGates.refuseGateUser(user);
        }
        Cluster c = Cluster.get();
        Path home = K8sLifecycle.home(options);
        // its egress gate in its pod, as a workspace's (secrets are a workspace's: a run has none to add)
        Pods.Gate gate = gated ? PodGates.of(c, home, spec.network().egress(), options) : null;
        String id = OneShot.newId();
        Path state = OneShot.create(options, id);
        String pod = Pods.name(id);
        boolean deleted = false;
        try {
            // the mark by which a reap of this run, orphaned, knows it has a pod to delete (K8sDriver.reapOrphan)
            java.nio.file.Files.writeString(state.resolve(K8sDriver.POD_MARK), pod);
            // a plain pod even where agent-sandbox is installed: a run lives for one command, which a Sandbox object
            // would only slow down (its controller's round trip before the pod is made, a second object to delete)
            // and to which it gives nothing (no pause, no claim from a warm pool, no Service)
            PodLife.create(c, id, Pods.homeLabel(home), new PodLife.Plan(Images.environment(c.settings,
                    spec.rootfs()), Images.agent(c.settings, home, options), spec.limits(), user, gate, null,
                    activeDeadline(spec.timeout()), false), false);
            long t1 = System.nanoTime();
            ExecResult r = PodExec.run(c, PodRef.of(id), spec.effectiveCommand(), spec.effectiveEnv(),
                    spec.effectiveWorkdir(), spec.timeout(), spec.maxOutput(), spec.capture(), stdin, stdoutTee,
                    stderrTee, t1, K8sDriver.RUNTIME);
            // what its gate refused while it ran, read before its pod goes
            List<dev.davit.sandbox.EgressDenial> denied = gated ? PodEgress.denied(PodGates.denials(c, pod))
                    : r.networkDenied();
            long t2 = System.nanoTime();
            PodLife.delete(c, pod);
            deleted = true;
            return new ExecResult(r.sandboxId(), r.backend(), r.runtime(), r.exitCode(), r.capturedStdout(),
                    r.capturedStderr(), r.timedOut(), new ExecResult.Timings((t1 - t0) / 1_000_000, 0,
                    r.timings().execMs(), (System.nanoTime() - t2) / 1_000_000), r.truncated(), r.oomKilled(),
                    r.outputLimited(), r.diskFull(), denied);
        } catch (java.io.IOException e) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.STORE, "cannot write in "
                    + state + ": " + e.getMessage());
        } finally {
            if (!deleted) {
                PodLife.delete(c, pod); // a failed run's pod; when this fails the state and its mark stay for a reap
            }
            OneShot.ended(state);
            dev.davit.sandbox.host.Host.deleteTree(state);
        }
    }
}
