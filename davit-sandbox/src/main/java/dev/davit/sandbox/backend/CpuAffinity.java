package dev.davit.sandbox.backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The CPUs a sandbox with a CPU limit sees: as many as its limit rounded up (a limit of 1 CPU shows 1 CPU to
 * {@code nproc}, {@code sched_getaffinity} and the thread pools sized by them, not the host's count). Each process
 * that joins the sandbox's cgroup starts with that CPU affinity ({@code taskset}, util-linux), inherited by everything
 * it starts. It is what the sandbox is shown, not its bound: the cgroup's CPU quota bounds its CPU time, and a
 * process inside may widen its own affinity without getting more time. Which CPUs: a run of consecutive CPUs of the
 * ones this process may use, starting at one chosen by the sandbox's id, so that sandboxes spread over the CPUs and
 * every exec of one sandbox sees the same.
 */
public final class CpuAffinity {
    private CpuAffinity() {
    }

    /**
     * The {@code taskset} prefix for a sandbox {@code id} whose cgroup has CPU quota {@code quotaUs} per
     * {@code periodUs}, or an empty list when it sees every CPU anyway (no quota, a quota of at least the CPUs this
     * process may use, or no taskset on this host).
     */
    static List<String> prefix(String id, long quotaUs, long periodUs) {
        if (quotaUs <= 0 || periodUs <= 0) {
            return List.of();
        }
        List<Integer> allowed = allowed();
        int n = (int) Math.min(Integer.MAX_VALUE, (quotaUs + periodUs - 1) / periodUs);
        Path taskset = dev.davit.sandbox.jail.Jail.hostProgram("taskset");
        if (allowed.isEmpty() || n >= allowed.size() || taskset == null) {
            return List.of();
        }
        int start = Math.floorMod(id.hashCode(), allowed.size());
        StringBuilder list = new StringBuilder();
        for (int i = 0; i < n; i++) {
            list.append(i == 0 ? "" : ",").append(allowed.get((start + i) % allowed.size()));
        }
        return List.of(taskset.toString(), "--cpu-list", list.toString());
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
