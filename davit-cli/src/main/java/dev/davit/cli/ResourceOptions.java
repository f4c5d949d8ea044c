package dev.davit.cli;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The resource options of {@code davit run} and {@code davit sandbox create}, shared by both backends where they
 * mean the same: {@code --memory} is the container's memory limit or the microVM's memory, {@code --cpus} the
 * container's CPU limit or (a whole number) the microVM's vCPUs and its QEMU's CPU quota. {@code --pids} and {@code --no-limits} are for
 * containers only; {@code --vcpus} for microVMs only.
 */
final class ResourceOptions {
    static final String MEMORY_TEXT = "Memory in MiB: a container's limit (default 1024; 0 = no limit) or a "
            + "microVM's memory (default 512).";
    static final String CPUS_TEXT = "CPUs: a container's CPU time limit, fractions allowed (default 1; 0 = no "
            + "limit), or a microVM's vCPUs (a whole number; its QEMU then gets that CPU quota).";
    static final String PIDS_TEXT = "Processes and threads a container may have at once (default 1024; 0 = no limit).";
    static final String DISK_TEXT = "What a container may write in MiB, its layer and /tmp, /run, /var/tmp, /dev/shm"
            + " together (default 10240; 0 = no limit).";
    static final String NO_LIMITS_TEXT = "Run a container without memory, CPU, process and disk limits (where cgroups "
            + "cannot be made, e.g. rootless without a delegated cgroup v2).";
    static final String ALLOW_WEAKER_TEXT = "Without root: make the container sandbox even where it would lack a"
            + " guarantee of the jail that this host or build cannot give ('davit doctor', container/jail, names"
            + " each and its fix); else it is refused (exit 2). Also DAVIT_ALLOW_WEAKER_SANDBOX=1.";
    static final String VCPUS_TEXT = "vCPUs of a microVM (vm backend; default 1; same as --cpus N there).";

    @Option(names = "--memory", paramLabel = "MiB", description = MEMORY_TEXT)
    Long memory;

    @Option(names = "--cpus", paramLabel = "N", description = CPUS_TEXT)
    Double cpus;

    @Option(names = "--pids", paramLabel = "N", description = PIDS_TEXT)
    Long pids;

    @Option(names = "--disk", paramLabel = "MiB", description = DISK_TEXT)
    Long disk;

    @Option(names = "--no-limits", description = NO_LIMITS_TEXT)
    boolean noLimits;

    @Option(names = "--vcpus", paramLabel = "N", description = VCPUS_TEXT)
    Integer vcpus;

    @Option(names = "--allow-weaker-sandbox", description = ALLOW_WEAKER_TEXT)
    boolean allowWeakerSandbox;

    /** Whether a limit was given: {@code --memory}, {@code --cpus}, {@code --pids}, {@code --disk}, {@code --no-limits}. */
    boolean limitsGiven() {
        return memory != null || cpus != null || pids != null || disk != null || noLimits;
    }

    /** The sandbox options of the davit home {@code home}, with {@code --allow-weaker-sandbox} when given. */
    SandboxOptions sandboxOptions(Path home) {
        SandboxOptions o = SandboxOptions.under(home);
        return allowWeakerSandbox ? o.withAllowWeakerSandbox(true) : o;
    }

    /**
     * The spec of a long-lived sandbox (a sandbox's or a workspace's) over {@code t} on {@code backend} ({@code vm}
     * or {@code container}), with these resources as that backend takes them.
     */
    CreateSpec createSpec(RunCommand.Target t, String backend, Map<String, String> env, String workdir, Network net,
                          Duration ttl, List<PortMapping> ports, Output out) {
        boolean vm = backend.equals("vm");
        return CreateSpec.builder(t.rootfs()).env(env).workdir(workdir).network(net).image(t.image()).ttl(ttl)
                .backend(backend).vcpus(vm ? vmVcpus() : RunSpec.DEFAULT_VCPUS)
                .memoryMiB(vm ? vmMemory() : RunSpec.DEFAULT_MEMORY_MIB).publish(ports)
                .limits(vm ? vmLimits() : backend.equals("container") ? containerLimits(out) : podLimits()).build();
    }

    /**
     * The container limits: the defaults ({@link Limits#DEFAULT}) with the options given on top. Where davit cannot
     * make cgroups (e.g. rootless without a delegated cgroup v2), memory or CPU limits given on the command line fail
     * the run (the error names the fix), while the defaults are cut to what can be enforced
     * ({@link Limits#enforceableHere}: the process limit, as RLIMIT_NPROC) with a warning on stderr naming what is
     * missing: the first {@code davit run} of an unprivileged user works, and says what it lacks.
     */
    Limits containerLimits(Output out) {
        Limits asked = containerLimits();
        if (asked.any() && memory == null && cpus == null) {
            String why = Limits.unenforceable();
            if (why != null) {
                out.warn(missingLimits(why) + "; --no-limits silences this");
                return asked.enforceableHere();
            }
        }
        return asked;
    }

    /** The warning where cgroups cannot be made: which limits are missing, and what bounds a sandbox instead. */
    static String missingLimits(String why) {
        return "warning: running without memory and CPU limits: they cannot be enforced here (" + why + "); each"
                + " sandbox's processes are bounded by RLIMIT_NPROC instead (its process limit on top of what this user"
                + " runs, counted with all of the user's processes)";
    }

    /** The container limits: the defaults ({@link Limits#DEFAULT}) with the options given on top. */
    Limits containerLimits() {
        return containerLimits("container");
    }

    /** A pod's limits: the k8s backend's defaults ({@link Limits#defaultFor}) with the options given on top. */
    Limits podLimits() {
        return containerLimits("k8s");
    }

    private Limits containerLimits(String backend) {
        if (vcpus != null) {
            throw new DavitException(Kind.USAGE, "--vcpus is for the vm backend; a container's CPU limit is --cpus");
        }
        if (noLimits) {
            if (memory != null || cpus != null || pids != null || disk != null) {
                throw new DavitException(Kind.USAGE, "--no-limits cannot be combined with --memory, --cpus, --pids"
                        + " or --disk");
            }
            return Limits.NONE;
        }
        Limits d = Limits.defaultFor(backend);
        return new Limits(memory != null ? memory : d.memoryMiB(), cpus != null ? cpus : d.cpus(),
                pids != null ? pids : d.pids(), disk != null ? disk : d.diskMiB());
    }


    /** A microVM's vCPUs: --vcpus or a whole --cpus (both only when equal), default 1. */
    int vmVcpus() {
        if (pids != null || noLimits) {
            throw new DavitException(Kind.USAGE, (pids != null ? "--pids" : "--no-limits") + " is for container"
                    + " sandboxes; a microVM is bounded by --memory and --cpus");
        }
        if (disk != null) {
            throw new DavitException(Kind.USAGE, "--disk is for container sandboxes; a microVM's disk is bounded by"
                    + " its environment image's size (see docs/reference/SANDBOX.md)");
        }
        Integer fromCpus = null;
        if (cpus != null) {
            if (cpus != Math.rint(cpus) || cpus < 1) {
                throw new DavitException(Kind.USAGE, "--cpus for a microVM is a whole number of vCPUs, not " + cpus);
            }
            fromCpus = cpus.intValue();
        }
        if (vcpus != null && fromCpus != null && !vcpus.equals(fromCpus)) {
            throw new DavitException(Kind.USAGE, "--vcpus " + vcpus + " and --cpus " + fromCpus + " disagree; give one");
        }
        return vcpus != null ? vcpus : fromCpus != null ? fromCpus : RunSpec.DEFAULT_VCPUS;
    }

    /**
     * A microVM's limits beyond its size (its QEMU's cgroup takes memory and processes from the size): with
     * {@code --cpus N}, a CPU quota of N CPUs on QEMU (whose N vCPUs it also makes); none with {@code --vcpus}.
     */
    Limits vmLimits() {
        int n = vmVcpus();
        return cpus != null ? new Limits(0, n, 0, 0) : Limits.NONE;
    }

    /** A microVM's memory in MiB, default 512. */
    int vmMemory() {
        if (memory == null) {
            return RunSpec.DEFAULT_MEMORY_MIB;
        }
        if (memory > Integer.MAX_VALUE) {
            throw new DavitException(Kind.USAGE, "--memory is too large: " + memory);
        }
        return memory.intValue();
    }
}
