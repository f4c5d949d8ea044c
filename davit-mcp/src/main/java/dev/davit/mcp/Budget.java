package dev.davit.mcp;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.internal.Totals;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The server's totals ({@code --max-memory}, {@code --max-cpus}, {@code --max-runs}) and the one-shot runs going
 * now. Every sandbox of the server counts as its memory, at least {@value #SANDBOX_MIB} MiB ({@link #cost}: a model's
 * {@code memory}, else {@link Limits#DEFAULT}'s; a microVM's memory and its QEMU counted the same): admission sums the
 * memory of the workspaces that exist (stopped ones too: any workspace_exec starts one again), those being created
 * and the runs going; spares of the warm pool give way. CPU time is not held by a sandbox but shared: the kernel
 * divides {@code --max-cpus} among the sandboxes that run (the totals' cgroup), and admission does not count it (a
 * model's {@code cpus} is bounded by it). The counters are guarded by the {@link Policy.Admission} lock.
 */
public final class Budget {
    /** What one sandbox of the server counts as at least, in MiB (its memory when that is more). */
    static final long SANDBOX_MIB = 1024;
    /** {@code --max-runs}'s default. */
    static final int DEFAULT_RUNS = 4;
    /** No totals: only {@code --max-workspaces} bounds the server (a server made without the options). */
    static final Budget NONE = new Budget(0, 0, 0);

    final long maxMemoryMiB;
    final double maxCpus;
    final int maxRuns;
    /** One-shot runs admitted and not ended (guarded by the admission lock). */
    int runs;
    /** Their memory together, in MiB ({@link #cost} of each). */
    long runsMiB;

    /**
     * @param maxMemoryMiB the memory of all sandboxes together, 0 for no total
     * @param maxCpus      the CPU time of all sandboxes together, 0 for no total
     * @param maxRuns      one-shot runs at once, 0 for no bound
     */
    Budget(long maxMemoryMiB, double maxCpus, int maxRuns) {
        this.maxMemoryMiB = maxMemoryMiB;
        this.maxCpus = maxCpus;
        this.maxRuns = maxRuns;
    }

    /**
     * The operator's options, checked: {@code null} takes the default from the host's size (memory: its RAM less a
     * reserve for the host, {@link #defaultMemoryMiB}; CPUs: its count; runs: {@value #DEFAULT_RUNS}).
     */
    static Budget of(Long maxMemoryMiB, Double maxCpus, Integer maxRuns) {
        return of(maxMemoryMiB, maxCpus, maxRuns, false);
    }

    /**
     * The operator's options, checked; for a server whose sandboxes are all pods of a cluster ({@code onCluster}),
     * {@code null} memory and CPUs are no total of davit's: the cluster's are the namespace's ResourceQuota, and
     * this host's size says nothing of them.
     */
    static Budget of(Long maxMemoryMiB, Double maxCpus, Integer maxRuns, boolean onCluster) {
        if (onCluster && maxMemoryMiB == null || onCluster && maxCpus == null) {
            Budget b = of(maxMemoryMiB == null ? SANDBOX_MIB : maxMemoryMiB, maxCpus == null ? Limits.DEFAULT.cpus()
                    : maxCpus, maxRuns, false); // checked as given
            return new Budget(maxMemoryMiB == null ? 0 : b.maxMemoryMiB, maxCpus == null ? 0 : b.maxCpus,
                    b.maxRuns);
        }
        long mem = maxMemoryMiB != null ? maxMemoryMiB : defaultMemoryMiB();
        double cpus = maxCpus != null ? maxCpus : Runtime.getRuntime().availableProcessors();
        int runs = maxRuns != null ? maxRuns : DEFAULT_RUNS;
        if (mem < SANDBOX_MIB || mem > 1L << 30) {
            throw new DavitException(Kind.USAGE, "--max-memory must be at least " + SANDBOX_MIB + " (MiB: the memory"
                    + " of one sandbox), not " + mem);
        }
        if (Double.isNaN(cpus) || cpus < Limits.DEFAULT.cpus() || cpus > 4096) {
            throw new DavitException(Kind.USAGE, "--max-cpus must be between " + (int) Limits.DEFAULT.cpus()
                    + " (the CPU of one sandbox) and 4096, not " + maxCpus);
        }
        if (runs < 1) {
            throw new DavitException(Kind.USAGE, "--max-runs must be at least 1, not " + runs);
        }
        return new Budget(mem, cpus, runs);
    }

    /**
     * The host's RAM less a reserve for the host itself (an eighth of it, at least 2048 MiB), at least one
     * sandbox's {@value #SANDBOX_MIB} MiB.
     */
    static long defaultMemoryMiB() {
        long total = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    total = Long.parseLong(line.replaceAll("\\D", "")) >> 10;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // unknown: the smallest
        }
        return Math.max(SANDBOX_MIB, total - Math.max(2048, total / 8));
    }

    /**
     * The totals of the server's cgroup: the memory and CPUs, and processes for {@code maxWorkspaces} workspaces
     * and the runs at {@link Limits#DEFAULT}'s processes each.
     */
    Totals totals(int maxWorkspaces) {
        long pids = Math.min(1L << 22, (long) (maxWorkspaces + maxRuns) * Limits.DEFAULT.pids());
        return new Totals(maxMemoryMiB, maxCpus, pids);
    }

    /** What a sandbox of {@code memoryMiB} counts against the memory total: its memory, at least {@value #SANDBOX_MIB}. */
    static long cost(long memoryMiB) {
        return Math.max(SANDBOX_MIB, memoryMiB);
    }

    /** How many sandboxes of {@value #SANDBOX_MIB} MiB fit beside {@code usedMiB} and the runs going. */
    long room(long usedMiB) {
        return maxMemoryMiB == 0 ? Long.MAX_VALUE : (maxMemoryMiB - usedMiB - runsMiB) / SANDBOX_MIB;
    }

    /** Whether this is {@link #NONE} (a server made without the options). */
    boolean none() {
        return maxMemoryMiB == 0 && maxRuns == 0;
    }

    /**
     * Why one more sandbox of {@code askMiB} ({@link #cost}) cannot be admitted beside {@code workspaces} that exist
     * ({@code workspacesMiB} together), {@code creating} ({@code creatingMiB}) and the runs going (a run also when
     * {@code --max-runs} are going), or null when it can.
     */
    String refusal(boolean run, long askMiB, int workspaces, long workspacesMiB, int creating, long creatingMiB) {
        if (run && maxRuns > 0 && runs >= maxRuns) {
            return runs + " runs are going (this server allows " + maxRuns + " at once, --max-runs)";
        }
        long used = workspacesMiB + creatingMiB + runsMiB;
        if (maxMemoryMiB > 0 && used + askMiB > maxMemoryMiB) {
            long n = (long) workspaces + creating + runs;
            return "the server's total memory (--max-memory " + maxMemoryMiB + ") is in use by " + n
                    + " sandboxes of " + used + " MiB together (" + workspaces + " workspaces, " + runs + " runs"
                    + (creating > 0 ? ", " + creating + " being created" : "") + "): no room for " + askMiB + " MiB"
                    + " more";
        }
        return null;
    }

    /**
     * What bounds the pods of a server on the cluster together, for the operator: the namespace's ResourceQuota
     * ({@code quota}: each resource's {@code "used/hard"}; empty for none; a String: why it could not be read).
     */
    static String clusterTotals(Object quota) {
        if (quota instanceof java.util.Map<?, ?> m && !m.isEmpty()) {
            StringBuilder b = new StringBuilder("together they are bounded by the namespace's ResourceQuota (");
            m.forEach((k, v) -> b.append(b.charAt(b.length() - 1) == '(' ? "" : ", ").append(k).append(' ').append(v));
            return b.append(", used/most)").toString();
        }
        if (quota instanceof String why) {
            return "the namespace's ResourceQuota could not be read (" + why + ")";
        }
        return "the namespace has no ResourceQuota: nothing of the cluster's bounds them together (give it one:"
                + " docs/reference/KUBERNETES.md)";
    }

    /** One line for the operator: the totals. */
    String describe(int maxWorkspaces) {
        Totals t = totals(maxWorkspaces);
        return "totals for every sandbox of this davit home: " + t.memoryMiB() + " MiB (--max-memory), "
                + t.cpus() + " CPUs (--max-cpus), " + t.pids() + " processes; at most " + maxRuns + " runs at once"
                + " (--max-runs)";
    }
}
