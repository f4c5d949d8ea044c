package dev.davit.sandbox.backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The CPUs a sandbox with a CPU limit sees: as many as its limit rounded up (a limit of 1 CPU shows 1 CPU to
 * {@code nproc}, {@code sched_getaffinity} and the thread pools sized by them, not the host's count). Each process
 * that joins the sandbox's cgroup starts with that CPU affinity (davit-exec's {@code --cpus} step, else util-linux's
 * {@code taskset}), inherited by everything
 * it starts. It is what the sandbox is shown, not its bound: the cgroup's CPU quota bounds its CPU time, and a
 * process inside may widen its own affinity without getting more time. Which CPUs: a run of consecutive CPUs of the
 * ones this process may use, starting at one chosen by the sandbox's id, so that sandboxes spread over the CPUs and
 * every exec of one sandbox sees the same.
 */
public final class CpuAffinity {
    private CpuAffinity() {
    }

    /**
     * The CPUs (a kernel CPU list, {@code 2,3}) for a sandbox {@code id} whose cgroup has CPU quota {@code quotaUs}
     * per {@code periodUs}, or null when it sees every CPU anyway (no quota, or a quota of at least the CPUs this
     * process may use). Each process that joins the cgroup starts on them: {@code taskset --cpu-list} or davit-exec's
     * {@code --cpus} step.
     */
    static String list(String id, long quotaUs, long periodUs) {
        if (quotaUs <= 0 || periodUs <= 0) {
            return null;
        }
        List<Integer> allowed = allowed();
        int n = (int) Math.min(Integer.MAX_VALUE, (quotaUs + periodUs - 1) / periodUs);
        if (allowed.isEmpty() || n >= allowed.size()) {
            return null;
        }
        int start = Math.floorMod(id.hashCode(), allowed.size());
        StringBuilder list = new StringBuilder();
        for (int i = 0; i < n; i++) {
            list.append(i == 0 ? "" : ",").append(allowed.get((start + i) % allowed.size()));
        }
        return list.toString();
    }

    /**
     * Whether davit-exec's {@code --cpus} step takes {@code list} (from {@link #list}; null: no list): its CPU set
     * holds CPUs 0 to 1023, and a host with higher numbers keeps {@code taskset} (which takes any).
     */
    static boolean fitsHelper(String list) {
        if (list == null) {
            return true;
        }
        for (String c : list.split(",")) {
            if (c.length() > 4 || Integer.parseInt(c) >= 1024) {
                return false;
            }
        }
        return true;
    }

    /** The CPUs this process may run on ({@code Cpus_allowed_list} of /proc/self/status), in order; empty if unknown. */
    public static List<Integer> allowed() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return parse(line.substring(line.indexOf(':') + 1).strip());
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown: every CPU is shown
        }
        return List.of();
    }

    /** A kernel CPU list ({@code 0-3,8,10-11}) as its CPUs. */
    static List<Integer> parse(String list) {
        List<Integer> cpus = new ArrayList<>();
        for (String part : list.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            int dash = part.indexOf('-');
            int from = Integer.parseInt(part.substring(0, dash < 0 ? part.length() : dash).strip());
            int to = dash < 0 ? from : Integer.parseInt(part.substring(dash + 1).strip());
            for (int c = from; c <= to && cpus.size() < 65536; c++) {
                cpus.add(c);
            }
        }
        return cpus;
    }
}
