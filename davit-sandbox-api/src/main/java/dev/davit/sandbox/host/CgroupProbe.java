package dev.davit.sandbox.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Whether this host and user can make the cgroups that enforce a sandbox's limits ({@code backend.Cgroups} makes
 * them): the probe, which reads /proc and nothing else, below the sandbox API so that its values ({@code Limits},
 * {@code Doctor}) can ask.
 */
public final class CgroupProbe {
    /** The controllers davit needs. */
    public static final List<String> CONTROLLERS = List.of("memory", "cpu", "pids");
    /** How davit's cgroups are named below the base. */
    public static final String PARENT = "davit";
    /**
     * What enforces a process limit alone where no cgroup can be made: {@code RLIMIT_NPROC}, as
     * {@code jail.NprocLimit} sets it.
     */
    public static final String NPROC_LIMIT = "rlimit_nproc";

    private CgroupProbe() {
    }

    /**
     * Where this process can make cgroups: the base directory per controller (v1: davit's own cgroup in that
     * hierarchy; v2: the parent of davit's own cgroup), or why not; {@code own} is the {@code cgroup.procs} of a
     * cgroup this process is in (for {@code Cgroups.prime}), or null.
     */
    public record Support(Map<String, Path> bases, Set<String> v2, String problem, Path own) {
        Support(Map<String, Path> bases, Set<String> v2, String problem) {
            this(bases, v2, problem, null);
        }

        public boolean available() {
            return problem == null;
        }

        /** e.g. {@code memory,cpu,pids: cgroup v1 (/sys/fs/cgroup/memory/...)}. */
        public String describe() {
            if (!available()) {
                return problem;
            }
            List<String> parts = new ArrayList<>();
            bases.forEach((c, p) -> parts.add(c + " " + (v2.contains(c) ? "v2 " : "v1 ") + p.resolve(PARENT)));
            return String.join(", ", parts);
        }
    }

    /** The last {@link #recentProbe} and when it ran ({@link System#nanoTime}). */
    private static volatile Object[] lastProbe;
    /** How long a probe's answer is reused: a command's limits check and its cgroup set-up share one. */
    public static final long PROBE_REUSE_NANOS = TimeUnit.SECONDS.toNanos(2);

    /**
     * {@link #probe}, reused for {@link #PROBE_REUSE_NANOS}: {@code davit run} asks whether limits can be
     * enforced, then makes its cgroups a few milliseconds later, and the host's answer does not change in between
     * (a long-lived process still sees a change after two seconds).
     */
    public static Support recentProbe() {
        Object[] last = lastProbe;
        long now = System.nanoTime();
        if (last != null && now - (Long) last[1] < PROBE_REUSE_NANOS) {
            return (Support) last[0];
        }
        Support s = probe();
        lastProbe = new Object[] {s, now};
        return s;
    }

    /** What this host and user allow (reads /proc/mounts and /proc/self/cgroup). */
    public static Support probe() {
        Map<String, Path> v1Mounts = new LinkedHashMap<>();
        Path v2Mount = null;
        Map<String, String> ownPaths = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/mounts"))) {
                String[] f = line.split(" ");
                if (f.length < 4) {
                    continue;
                }
                if (f[2].equals("cgroup")) {
                    for (String o : f[3].split(",")) {
                        if (CONTROLLERS.contains(o)) {
                            v1Mounts.putIfAbsent(o, Path.of(f[1]));
                        }
                    }
                } else if (f[2].equals("cgroup2") && v2Mount == null) {
                    v2Mount = Path.of(f[1]);
                }
            }
            for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length == 3) {
                    for (String c : f[1].isEmpty() ? List.of("") : List.of(f[1].split(","))) {
                        ownPaths.put(c, f[2]);
                    }
                }
            }
        } catch (IOException e) {
            return new Support(Map.of(), Set.of(), "cannot read /proc/mounts or /proc/self/cgroup: " + e.getMessage());
        }
        Map<String, Path> bases = new LinkedHashMap<>();
        Set<String> v2 = new LinkedHashSet<>();
        Set<String> v2Controllers = v2Mount == null ? Set.of() : words(v2Mount.resolve("cgroup.controllers"));
        for (String c : CONTROLLERS) {
            Path m = v1Mounts.get(c);
            if (m != null) {
                Path base = under(m, ownPaths.getOrDefault(c, "/"));
                if (!Files.isWritable(base)) {
                    return new Support(Map.of(), Set.of(), "the cgroup v1 " + c + " hierarchy " + base
                            + " is not writable by this user (as root it is, or with a delegated cgroup v2)");
                }
                bases.put(c, base);
            } else if (v2Controllers.contains(c)) {
                String mine = ownPaths.getOrDefault("", "/");
                Path base = under(v2Mount, mine.equals("/") ? "/" : parentOf(mine));
                if (!Files.isWritable(base.resolve("cgroup.subtree_control")) || !Files.isWritable(
                        base.resolve("cgroup.procs"))) {
                    return new Support(Map.of(), Set.of(), "the cgroup v2 " + base + " is not delegated to this user"
                            + " (its cgroup.subtree_control is not writable; systemd delegates one with"
                            + " 'systemd-run --user --scope -p Delegate=yes')");
                }
                bases.put(c, base);
                v2.add(c);
            } else {
                return new Support(Map.of(), Set.of(), "the cgroup controller " + c + " is not available here"
                        + (v2Mount == null ? "" : " (neither a v1 hierarchy nor in " + v2Mount + "/cgroup.controllers)"));
            }
        }
        Path own = null;
        String ownV2 = ownPaths.getOrDefault("", "/");
        for (String c : CONTROLLERS) {
            if (v1Mounts.containsKey(c)) {
                own = bases.get(c).resolve("cgroup.procs"); // v1: the base is davit's own cgroup
                break;
            }
        }
        if (own == null && v2Mount != null) {
            own = under(v2Mount, ownV2).resolve("cgroup.procs");
        }
        return new Support(bases, v2, null, own);
    }

    private static Path under(Path mount, String cgroupPath) {
        String rel = cgroupPath.startsWith("/") ? cgroupPath.substring(1) : cgroupPath;
        Path p = rel.isEmpty() ? mount : mount.resolve(rel);
        // in a container whose cgroup namespace hides the path: the mount is its own cgroup
        return Files.isDirectory(p) ? p : mount;
    }

    private static String parentOf(String cgroupPath) {
        int i = cgroupPath.lastIndexOf('/');
        return i <= 0 ? "/" : cgroupPath.substring(0, i);
    }

    private static Set<String> words(Path f) {
        try {
            return new LinkedHashSet<>(List.of(Files.readString(f).strip().split("\\s+")));
        } catch (IOException e) {
            return Set.of();
        }
    }
}
