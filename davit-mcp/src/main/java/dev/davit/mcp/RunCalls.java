package dev.davit.mcp;

import static dev.davit.mcp.ToolArgs.env;
import static dev.davit.mcp.ToolArgs.number;
import static dev.davit.mcp.ToolArgs.seconds;
import static dev.davit.mcp.ToolArgs.strings;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.SpooledExcerpt;
import dev.davit.sandbox.internal.SandboxJson;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The run tool's call, and the sandbox a run or a workspace_create gets from a call's arguments: its backend
 * (among the server's), a container's limits or a microVM's size.
 */
final class RunCalls {
    private final Policy policy;
    /** The options of the server's sandboxes (the davit home's; where the egress gate resolves names). */
    private final SandboxOptions sandboxOptions;
    /** Where the model's sandboxes run ({@code --backend}). */
    private final Backends backends;
    /** What a run runs: a call's environment or image ({@link EnvCalls#target}). */
    private final java.util.function.BiFunction<Map<String, Object>, Tool.Call, RunTarget> target;

    RunCalls(Policy policy, SandboxOptions sandboxOptions, Backends backends,
             java.util.function.BiFunction<Map<String, Object>, Tool.Call, RunTarget> target) {
        this.policy = policy;
        this.sandboxOptions = sandboxOptions;
        this.backends = backends;
        this.target = target;
    }

    ObjectNode run(Map<String, Object> a, Tool.Call call) {
        long maxOutput = a.get("max_output") == null ? 0
                : dev.davit.oci.internal.Args.bytes((String) a.get("max_output"), "max_output");
        RunTarget t = target.apply(a, call);
        dev.davit.sandbox.Network network = EgressBound.network(a);
        String backend = backend(t, null, a, network, true);
        RunSpec.Builder b = RunSpec.builder(t.rootfs()).command(strings(a, "command")).env(env(a, "env"))
                .workdir((String) a.get("workdir")).timeout(seconds(a, "timeout"))
                .network(network).image(t.image()).backend(backend)
                .maxOutput(maxOutput)
                .capture(8192); // the output is kept in files (below); the result keeps only enough to tell a
                                // sandbox's own one-line failure (e.g. a missing command: 127)
        if (backend.equals(dev.davit.sandbox.RunSpec.VM)) {
            Policy.noDiskForVm(a);
            b.vcpus(vcpus(a)).memoryMiB((int) number(a, "memory", RunSpec.DEFAULT_MEMORY_MIB)).limits(vmLimits(a));
        } else {
            b.limits(containerLimits(a, backend));
        }
        RunSpec spec = b.build();
        Sandboxes sandboxes = new Sandboxes(sandboxOptions);
        int keep = (int) number(a, "output_limit", Tools.DEFAULT_OUTPUT);
        // up to output_limit of each stream, kept in files and written out from them: a flood costs no memory
        Path spool = sandboxes.options().stateDir();
        try (SpooledExcerpt so = SpooledExcerpt.create(spool, keep / 2, keep - keep / 2);
             SpooledExcerpt se = SpooledExcerpt.create(spool, keep / 2, keep - keep / 2)) {
            ExecResult r = sandboxes.run(spec, null, so, se);
            ObjectNode doc = Json.object().put("environment", t.name()).put("digest", t.digest());
            if (backend.equals(Backends.K8S)) {
                // the pod's limits, which the cluster enforces (its kubelet: memory, CPU, ephemeral storage), not
                // this host's cgroups or file systems
                doc.set("limits", SandboxJson.limits(spec.limits()).put("enforced_by", "pod_limits")
                        .put("disk_enforced_by", "ephemeral_storage"));
            } else if (!backend.equals(dev.davit.sandbox.RunSpec.VM)) {
                doc.set("limits", SandboxJson.limits(spec.limits()));
            }
            return SandboxJson.result(doc, r, so, se, false);
        }
    }

    /** The sandbox of workspace_create over {@code t}: the call's backend, network, limits, ttl and ports. */
    CreateSpec spec(Map<String, Object> a, RunTarget t, Duration limit, List<PortMapping> ports) {
        dev.davit.sandbox.Network network = EgressBound.network(a);
        String backend = backend(t, (String) a.get("backend"), a, network, false);
        boolean vm = backend.equals(dev.davit.sandbox.RunSpec.VM);
        if (vm) {
            Policy.noDiskForVm(a);
        }
        return CreateSpec.builder(t.rootfs()).env(env(a, "env")).network(network).image(t.image()).ttl(limit)
                .backend(backend).vcpus(vm ? vcpus(a) : RunSpec.DEFAULT_VCPUS)
                .memoryMiB(vm ? (int) number(a, "memory", RunSpec.DEFAULT_MEMORY_MIB) : RunSpec.DEFAULT_MEMORY_MIB)
                .publish(ports).limits(vm ? vmLimits(a) : containerLimits(a, backend)).build();
    }

    /**
     * The backend of a sandbox over {@code t} with the call's arguments {@code a} and network {@code network}:
     * {@code asked} (null: the server's default for {@code t}'s kind), among the server's ({@link Backends}); what it
     * cannot give of the call (a one-shot {@code run}'s or a workspace's) is refused.
     */
    private String backend(RunTarget t, String asked, Map<String, Object> a, dev.davit.sandbox.Network network,
                           boolean run) {
        String backend = backends.choose(t.backend(), t.name(), asked);
        backends.refuseUnsupported(backend, a, network, run);
        return backend;
    }

    /**
     * A sandbox's limits of a call's {@code memory}, {@code cpus} and {@code disk} (checked by {@link Policy}) on top
     * of the defaults; where cgroups cannot be made and none was asked for, what can be enforced.
     */
    private Limits containerLimits(Map<String, Object> a, String backend) {
        Limits d = Limits.defaultFor(backend);
        Limits asked = new Limits(number(a, "memory", d.memoryMiB()), a.get("cpus") instanceof Number c
                ? c.doubleValue() : d.cpus(), d.pids(), policy.disk(a));
        // a pod's limits are the cluster's to enforce, whatever this host can
        if (a.get("memory") == null && a.get("cpus") == null && Limits.unenforceable() != null
                && !Backends.K8S.equals(backend)) {
            return asked.enforceableHere();
        }
        return asked;
    }

    /** A microVM's vCPUs: a whole {@code cpus}, default {@link RunSpec#DEFAULT_VCPUS}. */
    private static int vcpus(Map<String, Object> a) {
        if (!(a.get("cpus") instanceof Number n)) {
            return RunSpec.DEFAULT_VCPUS;
        }
        if (n.doubleValue() != Math.rint(n.doubleValue()) || n.doubleValue() < 1) {
            throw Tool.invalid("'cpus' for a microVM is a whole number of vCPUs, not " + n);
        }
        return n.intValue();
    }

    /** A microVM's limits beyond its size: with {@code cpus}, that CPU quota on its QEMU. */
    private static Limits vmLimits(Map<String, Object> a) {
        return a.get("cpus") != null ? new Limits(0, vcpus(a), 0, 0) : Limits.NONE;
    }
}
