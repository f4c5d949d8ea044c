package dev.davit.sandbox.internal;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.Limits;

/**
 * What all the sandboxes of one state directory may use together, whatever each one's {@link Limits}: the limits of
 * one parent cgroup that every sandbox of that state directory (made by any process, once the totals are set) is
 * made below, so the kernel enforces them (set by the MCP server for its davit home). Each total is 0 for "no total".
 *
 * @param memoryMiB memory in MiB of all the sandboxes together (swap not allowed on top where the kernel accounts
 *                  it); past it the kernel's OOM killer kills in one of them
 * @param cpus      CPU time of all of them together as a number of CPUs, fractions allowed; with cgroup v1 no
 *                  sandbox's own {@link Limits#cpus} may be above it (its cgroup cannot be made then)
 * @param pids      processes and threads of all of them together; a fork beyond fails (EAGAIN)
 */
public record Totals(long memoryMiB, double cpus, long pids) {
    /** No totals: each sandbox is bounded by its own limits only. */
    public static final Totals NONE = new Totals(0, 0, 0);

    /**
     * Checks each total.
     *
     * @throws DavitException USAGE for memory other than 0 below {@link Limits#MIN_MEMORY_MIB} (or above 2^30 MiB),
     *                        CPUs other than 0 outside 0.01..4096 (or NaN), processes other than 0 below
     *                        {@link Limits#MIN_PIDS} (or above 2^22)
     */
    public Totals {
        if (memoryMiB != 0 && (memoryMiB < Limits.MIN_MEMORY_MIB || memoryMiB > 1L << 30)) {
            throw new DavitException(Kind.USAGE, Message.of(Input.TOTAL_MEMORY, " must be 0 (no total) or at least "
                    + Limits.MIN_MEMORY_MIB + " MiB, not " + memoryMiB).value(memoryMiB));
        }
        if (Double.isNaN(cpus) || cpus != 0 && (cpus < 0.01 || cpus > 4096)) {
            throw new DavitException(Kind.USAGE, Message.of(Input.TOTAL_CPUS, " must be 0 (no total) or between 0.01 and"
                    + " 4096, not " + cpus).value(cpus));
        }
        if (pids != 0 && (pids < Limits.MIN_PIDS || pids > 1 << 22)) {
            throw new DavitException(Kind.USAGE, Message.of(Input.TOTAL_PIDS, " must be 0 (no total) or at least "
                    + Limits.MIN_PIDS + ", not " + pids).value(pids));
        }
    }

    /**
     * Whether any total is set.
     *
     * @return false only for {@link #NONE}'s values
     */
    public boolean any() {
        return memoryMiB > 0 || cpus > 0 || pids > 0;
    }
}
