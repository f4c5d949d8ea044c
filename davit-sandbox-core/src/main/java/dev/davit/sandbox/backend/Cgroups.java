package dev.davit.sandbox.backend;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Fix;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.internal.Totals;
import dev.davit.sandbox.host.CgroupProbe;
import dev.davit.sandbox.host.CgroupProbe.Support;
import dev.davit.sandbox.jail.NprocLimit;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The cgroups that enforce a sandbox's {@link Limits}. davit makes one cgroup per sandbox, {@code davit/<id>},
 * below its own cgroup in each cgroup v1 hierarchy of a controller it needs ({@code memory}, {@code cpu},
 * {@code pids}), or, for controllers only the v2 hierarchy has, below the parent of its own v2 cgroup (v2 allows
 * no processes in a cgroup whose children get controllers). The runtime is started by a small shell step that
 * writes its own pid to each cgroup's {@code cgroup.procs} and then {@code exec}s the runtime, so every process of
 * the sandbox is in the cgroup from its first instruction (nothing to race). The cgroup's paths are recorded in the
 * sandbox's state directory ({@value #RECORD}) before they are made, so that {@code sandbox reap} can remove them
 * after davit was killed. When totals are set for the sandboxes' state directory ({@link #setTotals}), each one's
 * cgroup is {@code davit/totals-<hash>/<id>} instead, below the cgroup whose limits are the totals. Where no cgroup
 * can be made, a process limit alone is enforced with {@code RLIMIT_NPROC} ({@link NprocLimit}).
 */
public final class Cgroups {
    /** The CFS period davit uses: 100 ms. */
    public static final long CPU_PERIOD_US = 100_000;

    /**
     * The CFS quota per {@link #CPU_PERIOD_US} period of {@code cpus} CPUs, in microseconds (at least 1 ms; a
     * cgroup's totals and one sandbox's limits alike).
     */
    public static long cpuQuotaUs(double cpus) {
        return Math.max(1000, Math.round(cpus * CPU_PERIOD_US));
    }

    /** The state directory's record of the sandbox's cgroups, one directory a line. */
    static final String RECORD = "cgroups";
    /** Written by the join step when it could not enter a cgroup (tells it apart from a command's exit 125). */
    public static final String JOIN_FAILED = "cgroup-failed";
    static final List<String> CONTROLLERS = CgroupProbe.CONTROLLERS;
    /** How davit's cgroups are named below the base. */
    public static final String PARENT = CgroupProbe.PARENT;
    /** How the cgroup of a state directory's totals is named below {@value #PARENT} ({@link #setTotals}). */
    static final String TOTALS_PREFIX = "totals-";
    /** The fix named by every "limits are not possible here" error. */
    static final Fix OPT_OUT = Action.RUN_WITHOUT_LIMITS.fix();

    private Cgroups() {
    }

    /**
     * The cgroups of a sandbox, made and limited, their paths recorded in {@code state} first.
     *
     * @param id     the sandbox's id (the cgroups' name, below {@code davit/})
     * @param limits the limits to apply
     * @param state  the sandbox's state directory
     * @return the cgroups, for {@link #wrap}
     * @throws DavitException USAGE, naming the opt-out, when this host cannot enforce the limits (without cgroups a
     *                        process limit alone is enforced with RLIMIT_NPROC); INTERNAL when the
     *                        cgroups cannot be made (nothing is left then)
     */
    public static Cgroup create(String id, Limits limits, Path state) {
        Support s = CgroupProbe.recentProbe();
        if (!s.available()) {
            return withoutCgroups(s, limits);
        }
        Map<String, Path> dirs = new LinkedHashMap<>();
        s.bases().forEach((c, base) -> dirs.put(c, parent(base, state).resolve(id)));
        Cgroup cg = new Cgroup(dirs, s.v2());
        try {
            Fs.writeAtomicallyUntilReboot(state.resolve(RECORD), (String.join("\n", cg.paths().stream().map(Path::toString)
                    .toList()) + "\n").getBytes(StandardCharsets.UTF_8), state);
            makeDirs(s, dirs);
            cg.apply(limits);
        } catch (IOException | RuntimeException e) {
            cg.destroy();
            boolean belowTotals = dirs.values().stream().anyMatch(d -> d.getParent().getFileName().toString()
                    .startsWith(TOTALS_PREFIX));
            throw new DavitException(belowTotals ? Kind.USAGE : Kind.INTERNAL, Message.of("cannot set up the"
                    + " cgroup of sandbox " + id + ": " + e.getMessage(), belowTotals ? Message.of("; it is below the"
                    + " totals of its state directory (", Input.TOTALS, "), and the kernel allows no limit above a"
                    + " total (with cgroup v1: ", Input.CPUS, " at most ", Input.TOTAL_CPUS, "): ask for less, or ")
                    : "; ", OPT_OUT));
        }
        prime(s); // after the cgroups are made: the kernel holds its cgroup lock while the move waits
        return cg;
    }

    /**
     * Moves this process into a cgroup it is already in (a no-op) on a background thread, a few milliseconds before
     * the sandbox's first process moves into its own cgroups. The kernel makes the first cgroup move after a quiet
     * spell wait for an RCU grace period (its lock on thread groups: 5-23 ms here, the largest part of a one-shot
     * run's process chain), and a move within the next grace period does not (0.01 ms: three cgroup.procs writes in
     * a row cost 9-23, 0.1 and 0.0 ms); started here, that wait overlaps the spawn instead of following it. Best
     * effort: nothing changes if it fails.
     */
    public static Thread prime(Support s) {
        Path own = s.own();
        if (own == null) {
            return null;
        }
        Thread t = new Thread(() -> {
            try {
                Files.writeString(own, Long.toString(ProcessHandle.current().pid()));
            } catch (IOException | RuntimeException e) {
                // not allowed or not there: the sandbox's own move waits instead
            }
        }, "davit-cgroup-prime");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * The cgroups {@link #create} made for sandbox {@code id} (a long-lived sandbox's, to exec in): those recorded in
     * its state directory, else where {@link #create} would make them now.
     *
     * @param id     the sandbox's id
     * @param state  its state directory
     * @param limits its limits (where cgroups cannot be made, a process limit is enforced with RLIMIT_NPROC)
     * @return its cgroups (not checked to exist)
     * @throws DavitException USAGE when this host cannot enforce the limits
     */
    public static Cgroup existing(String id, Path state, Limits limits) {
        Support s = CgroupProbe.recentProbe();
        if (!s.available()) {
            return withoutCgroups(s, limits);
        }
        List<Path> recorded = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(state.resolve(RECORD))) {
                if (!line.isBlank()) {
                    recorded.add(Path.of(line.strip()));
                }
            }
        } catch (IOException e) {
            // none recorded: where create would put them
        }
        Map<String, Path> dirs = new LinkedHashMap<>();
        s.bases().forEach((c, base) -> dirs.put(c, recorded.stream().filter(p -> p.startsWith(base)
                && p.getFileName().toString().equals(id)).findFirst().orElse(parent(base, state).resolve(id))));
        return new Cgroup(dirs, s.v2());
    }

    /**
     * Where cgroups cannot be made: a process limit alone is enforced with {@code RLIMIT_NPROC} instead
     * ({@link NprocLimit}); memory and CPU limits cannot be, and fail naming the ways out.
     */
    private static Cgroup withoutCgroups(Support s, Limits limits) {
        if (limits.memoryMiB() == 0 && limits.cpus() == 0 && limits.pids() > 0) {
            return new Cgroup(Map.of(), Set.of(), NprocLimit.forSandbox(limits.pids()));
        }
        throw new DavitException(Kind.USAGE, Message.of("resource limits cannot be enforced here: "
                + s.problem() + "; ", OPT_OUT, " ", Action.PROCESS_LIMIT_ONLY.fix(), ", or run davit as root (see ",
                Action.DOCTOR.fix(), ")"));
    }

    /**
     * The cgroup that sandboxes of the state directory {@code stateDir} are made below when totals are set for it
     * ({@link #setTotals}), named in each base's {@value #PARENT} directory.
     */
    static String totalsName(Path stateDir) {
        // davit's own small SHA-256 (Digest.sha256): the JDK's, through the security providers, was the only use of
        // them in a one-shot run (their first use builds the provider's table: a few ms)
        return TOTALS_PREFIX + dev.davit.oci.digest.Digest.sha256(stateDir.toAbsolutePath().normalize().toString()
                .getBytes(StandardCharsets.UTF_8)).hex().substring(0, 12);
    }

    /**
     * Where the cgroup of the sandbox with state directory {@code state} goes in {@code base}: below the totals'
     * cgroup of its state directory when there is one ({@link #setTotals}), else below {@value #PARENT}.
     */
    private static Path parent(Path base, Path state) {
        Path top = base.resolve(PARENT);
        Path parent = state.toAbsolutePath().normalize().getParent();
        if (parent != null) {
            Path totals = top.resolve(totalsName(parent));
            if (Files.isDirectory(totals)) {
                return totals;
            }
        }
        return top;
    }

    /** Makes each cgroup directory of {@code dirs}; v2: gives each controller to the children of its ancestors. */
    private static void makeDirs(Support s, Map<String, Path> dirs) throws IOException {
        for (String c : dirs.keySet()) {
            Path d = dirs.get(c);
            if (s.v2().contains(c)) {
                // v2: controllers are given to children through each ancestor's subtree_control, from the base down
                Path base = s.bases().get(c);
                Files.createDirectories(d.getParent());
                for (Path a = base; !a.equals(d); a = a.resolve(d.getName(a.getNameCount()).toString())) {
                    write(a.resolve("cgroup.subtree_control"), "+" + c);
                }
            }
            Files.createDirectories(d);
        }
    }

    /**
     * Sets the totals of the sandboxes of {@code stateDir}: their common parent cgroup, made when needed, gets
     * {@code totals} as its limits, and every sandbox of that state directory made from now on is made below it.
     * {@link Totals#NONE} removes that cgroup when no sandbox is in it, else lifts its limits.
     *
     * @param stateDir the sandboxes' state directory ({@link SandboxOptions#stateDir})
     * @param totals   the totals
     * @return the parent cgroup's directories (one per hierarchy); empty when it was removed
     * @throws DavitException USAGE when this host cannot enforce limits, or when a sandbox below has a limit that the
     *                        kernel does not allow under the new totals; INTERNAL when the cgroup cannot be made
     */
    public static List<Path> setTotals(Path stateDir, Totals totals) {
        Support s = CgroupProbe.recentProbe();
        if (!s.available()) {
            if (!totals.any()) {
                return List.of();
            }
            throw new DavitException(Kind.USAGE, Message.of("totals cannot be enforced here: " + s.problem()
                    + "; use ", Input.NO_TOTALS, ", or run davit as root (see ", Action.DOCTOR.fix(), ")"));
        }
        Map<String, Path> dirs = new LinkedHashMap<>();
        s.bases().forEach((c, base) -> dirs.put(c, base.resolve(PARENT).resolve(totalsName(stateDir))));
        Cgroup cg = new Cgroup(dirs, s.v2());
        if (!totals.any()) {
            boolean gone = true;
            for (Path d : cg.paths()) {
                try {
                    Files.deleteIfExists(d); // rmdir: refused while a sandbox's cgroup is below
                } catch (IOException e) {
                    gone = false;
                }
            }
            if (gone) {
                return List.of();
            }
        }
        try {
            makeDirs(s, dirs);
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot make the totals' cgroup " + cg.paths() + ": "
                    + e.getMessage());
        }
        try {
            cg.limitTotals(totals);
        } catch (IOException e) {
            // the kernel refuses a total below what its sandboxes use or are allowed (v1: a child's CPU quota)
            throw new DavitException(Kind.USAGE, Message.of("cannot set the totals " + totals + " on "
                    + cg.paths() + ": " + e.getMessage() + "; give totals above what the sandboxes below use (with"
                    + " cgroup v1, ", Input.TOTAL_CPUS, " at least each sandbox's ", Input.CPUS, ")"));
        }
        return cg.paths();
    }

    /**
     * A one-shot run's cgroups when it has limits ({@link #create}).
     *
     * @param id     the run's id
     * @param limits the run's limits
     * @param state  the run's state directory
     * @return the cgroups, or null when {@code limits} has none
     * @throws DavitException as {@link #create} does
     */
    public static Cgroup forRun(String id, Limits limits, Path state) {
        return limits.any() ? create(id, limits, state) : null;
    }

    /**
     * {@code cmd} started inside {@code cg}: a shell step moves itself into every cgroup, then {@code exec}s it
     * (exit 125 with a marker in {@code state} when it cannot).
     *
     * @param cg    the cgroups, or null
     * @param cmd   the command and its arguments
     * @param state the state directory, for the marker {@link #finish} looks for
     * @return the wrapped command, or {@code cmd} itself when {@code cg} is null
     */
    public static List<String> wrap(Cgroup cg, List<String> cmd, Path state) {
        return cg == null ? cmd : cg.wrap(cmd, state.resolve(JOIN_FAILED));
    }

    /**
     * After a one-shot run: whether the OOM killer killed in {@code cg}; removes it (killing what is left).
     *
     * @param cg    the run's cgroups, or null
     * @param state the run's state directory
     * @return whether the OOM killer killed a process of the run; false when {@code cg} is null
     * @throws DavitException INTERNAL when the run could not enter its cgroups (its exit 125 was davit's, not the
     *                        command's)
     */
    public static boolean finish(Cgroup cg, Path state) {
        if (cg == null) {
            return false;
        }
        boolean oom = cg.oomKills() > 0;
        cg.destroy();
        if (Files.exists(state.resolve(JOIN_FAILED))) {
            throw new DavitException(Kind.INTERNAL, Message.of("the sandbox could not enter its cgroup "
                    + cg.paths() + "; ", OPT_OUT));
        }
        return oom;
    }

    /**
     * Kills what is left in the cgroups recorded in {@code state} and removes them (for reap); best effort.
     *
     * @param state a sandbox's state directory; nothing happens when it records no cgroups
     */
    public static void removeRecorded(Path state) {
        Path f = state.resolve(RECORD);
        if (!Files.exists(f)) {
            return;
        }
        try {
            for (String line : Files.readAllLines(f)) {
                if (!line.isBlank()) {
                    remove(Path.of(line.strip()));
                }
            }
            Files.deleteIfExists(f);
        } catch (IOException e) {
            // best effort: the state directory goes anyway
        }
    }

    /**
     * The memory limit in MiB of the cgroups recorded in {@code state} when the OOM killer killed in them, else 0
     * (none recorded, no memory limit, no kill).
     *
     * @param state a sandbox's state directory
     * @return the memory limit in MiB, or 0
     */
    public static long oomLimitMiB(Path state) {
        try {
            for (String line : Files.readAllLines(state.resolve(RECORD))) {
                Path d = Path.of(line.strip());
                for (String limit : List.of("memory.limit_in_bytes", "memory.max")) {
                    Path f = d.resolve(limit);
                    if (!line.isBlank() && Files.exists(f) && Cgroup.counter(d.resolve(limit.equals("memory.max")
                            ? "memory.events" : "memory.oom_control")) > 0) {
                        return Long.parseLong(Files.readString(f).strip()) >> 20;
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // none known
        }
        return 0;
    }

    /**
     * One sandbox's cgroups.
     *
     * @param dirs  the cgroup directory per controller (several controllers may share one v2 directory); empty where
     *              cgroups cannot be made
     * @param v2    the controllers in the v2 hierarchy
     * @param nproc where cgroups cannot be made, the {@code RLIMIT_NPROC} that bounds the sandbox's processes instead
     *              ({@link NprocLimit}); 0 for none
     */
    public record Cgroup(Map<String, Path> dirs, Set<String> v2, long nproc) {
        /**
         * Cgroups without an {@code RLIMIT_NPROC}.
         *
         * @param dirs the cgroup directory per controller
         * @param v2   the controllers in the v2 hierarchy
         */
        public Cgroup(Map<String, Path> dirs, Set<String> v2) {
            this(dirs, v2, 0);
        }

        /** The distinct directories. */
        List<Path> paths() {
            return new ArrayList<>(new LinkedHashSet<>(dirs.values()));
        }

        void apply(Limits l) throws IOException {
            if (l.memoryMiB() > 0) {
                Path d = dirs.get("memory");
                long bytes = l.memoryMiB() << 20;
                if (v2.contains("memory")) {
                    write(d.resolve("memory.max"), Long.toString(bytes));
                    writeIfExists(d.resolve("memory.swap.max"), "0");
                } else {
                    write(d.resolve("memory.limit_in_bytes"), Long.toString(bytes));
                    writeIfExists(d.resolve("memory.memsw.limit_in_bytes"), Long.toString(bytes)); // no swap on top
                }
            }
            if (l.cpus() > 0) {
                Path d = dirs.get("cpu");
                if (v2.contains("cpu")) {
                    write(d.resolve("cpu.max"), cpuQuotaUs(l.cpus()) + " " + CPU_PERIOD_US);
                } else {
                    write(d.resolve("cpu.cfs_period_us"), Long.toString(CPU_PERIOD_US));
                    write(d.resolve("cpu.cfs_quota_us"), Long.toString(cpuQuotaUs(l.cpus())));
                }
            }
            if (l.pids() > 0) {
                write(dirs.get("pids").resolve("pids.max"), Long.toString(l.pids()));
            }
        }

        /**
         * Writes {@code t} as this cgroup's limits, lifting those that are 0 (a parent's: its children have their
         * own). v1: the memory limit and the memory+swap limit are written in the order the kernel accepts (the
         * second never below the first).
         */
        void limitTotals(Totals t) throws IOException {
            Path m = dirs.get("memory");
            if (v2.contains("memory")) {
                write(m.resolve("memory.max"), t.memoryMiB() > 0 ? Long.toString(t.memoryMiB() << 20) : "max");
                writeIfExists(m.resolve("memory.swap.max"), "0");
            } else {
                String v = t.memoryMiB() > 0 ? Long.toString(t.memoryMiB() << 20) : "-1";
                Path memsw = m.resolve("memory.memsw.limit_in_bytes");
                if (Files.exists(memsw)) {
                    try {
                        write(memsw, v); // refused when below the memory limit: then after it
                    } catch (IOException e) {
                        // written below
                    }
                }
                write(m.resolve("memory.limit_in_bytes"), v);
                writeIfExists(memsw, v);
            }
            Path c = dirs.get("cpu");
            String quota = t.cpus() > 0 ? Long.toString(cpuQuotaUs(t.cpus())) : v2.contains("cpu") ? "max" : "-1";
            if (v2.contains("cpu")) {
                write(c.resolve("cpu.max"), quota + " " + CPU_PERIOD_US);
            } else {
                write(c.resolve("cpu.cfs_period_us"), Long.toString(CPU_PERIOD_US));
                write(c.resolve("cpu.cfs_quota_us"), quota);
            }
            write(dirs.get("pids").resolve("pids.max"), t.pids() > 0 ? Long.toString(t.pids()) : "max");
        }

        /**
         * {@code cmd} started by a shell step that first moves itself into every cgroup (a failure leaves
         * {@code marker} and exits 125), then {@code exec}s it.
         */
        List<String> wrap(List<String> cmd, Path marker) {
            if (dirs.isEmpty()) {
                return nproc > 0 ? NprocLimit.wrap(nproc, cmd) : cmd;
            }
            boolean helper = dev.davit.sandbox.jail.Jail.isHelperMode(cmd);
            String cpus = helper ? cpuList() : null; // the shell's way reads them in joinScript
            if (helper && CpuAffinity.fitsHelper(cpus)) {
                // davit-exec joins and sets the CPUs itself (with's steps): no sh and no taskset on the way
                List<String> steps = new ArrayList<>(List.of("--cgroup-failed", marker.toString()));
                for (Path d : paths()) {
                    steps.addAll(List.of("--cgroup", d.resolve("cgroup.procs").toString()));
                }
                if (cpus != null) {
                    steps.addAll(List.of("--cpus", cpus));
                }
                return dev.davit.sandbox.jail.Jail.withSteps(cmd, steps);
            }
            List<String> a = new ArrayList<>(List.of("/bin/sh", "-c", joinScript(marker), "sh"));
            a.addAll(cmd);
            return a;
        }

        /**
         * The shell step of {@link #wrap}: moves itself into every cgroup (a failure leaves {@code marker} and
         * exits 125), then {@code exec}s its arguments, shown as many CPUs as the CPU limit (rounded up) where it is
         * below the host's; null when there are no cgroups (a process limit only).
         *
         * @param marker the file a failed join leaves
         * @return the script for {@code sh -c SCRIPT sh CMD...}, or null
         */
        public String joinScript(Path marker) {
            if (dirs.isEmpty()) {
                return null;
            }
            StringBuilder sh = new StringBuilder("for f in");
            for (Path d : paths()) {
                sh.append(' ').append(quote(d.resolve("cgroup.procs").toString()));
            }
            sh.append("; do echo $$ > \"$f\" || { : > ").append(quote(marker.toString()))
                    .append("; exit 125; }; done\nexec");
            for (String a : affinity()) { // the CPUs it sees follow its CPU limit (see CpuAffinity)
                sh.append(' ').append(quote(a));
            }
            return sh.append(" \"$@\"\n").toString();
        }

        /** The {@code taskset} prefix that shows the sandbox as many CPUs as its cgroup's CPU quota, or none. */
        private List<String> affinity() {
            String cpus = cpuList();
            Path taskset = cpus == null ? null : dev.davit.sandbox.jail.Jail.hostProgram("taskset");
            return taskset == null ? List.of() : List.of(taskset.toString(), "--cpu-list", cpus);
        }

        /** The CPUs that show the sandbox as many CPUs as its cgroup's CPU quota (a CPU list), or null for all. */
        private String cpuList() {
            Path d = dirs.get("cpu");
            if (d == null) {
                return null;
            }
            try {
                long quota;
                long period;
                if (v2.contains("cpu")) {
                    String[] f = Files.readString(d.resolve("cpu.max")).strip().split("\\s+");
                    quota = f[0].equals("max") ? 0 : Long.parseLong(f[0]);
                    period = Long.parseLong(f[1]);
                } else {
                    quota = Long.parseLong(Files.readString(d.resolve("cpu.cfs_quota_us")).strip());
                    period = Long.parseLong(Files.readString(d.resolve("cpu.cfs_period_us")).strip());
                }
                return CpuAffinity.list(d.getFileName().toString(), quota, period);
            } catch (IOException | RuntimeException e) {
                return null; // not made yet or gone: every CPU is shown, the quota still holds
            }
        }

        /**
         * How many processes the OOM killer killed in the cgroup so far (its memory limit).
         *
         * @return the count of OOM kills; 0 without a memory cgroup
         */
        public long oomKills() {
            Path d = dirs.get("memory");
            if (d == null) {
                return 0;
            }
            if (v2.contains("memory")) {
                return counter(d.resolve("memory.events")); // v2 counts a child's kills in its parents too
            }
            // v1 counts a kill only in the victim's own cgroup: add those of the children (runc's container)
            return oomKillsV1(d, 0);
        }

        /**
         * The v1 OOM kills of cgroup {@code d} and the cgroups below it. Only the names that are not a v1 control
         * file's are looked at as possible children (a memory cgroup has ~60 control files, and an exec asks twice).
         */
        private static long oomKillsV1(Path d, int depth) {
            long n = counter(d.resolve("memory.oom_control"));
            String[] names = depth < 16 ? d.toFile().list() : null;
            for (String name : names == null ? new String[0] : names) {
                if (name.startsWith("memory.") || name.startsWith("cgroup.") || name.equals("tasks")
                        || name.equals("notify_on_release") || name.equals("release_agent")) {
                    continue;
                }
                Path c = d.resolve(name);
                if (Files.isDirectory(c, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    n += oomKillsV1(c, depth + 1);
                }
            }
            return n;
        }

        private static long counter(Path f) {
            try {
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("oom_kill ")) {
                        return Long.parseLong(line.substring(9).strip());
                    }
                }
            } catch (IOException | RuntimeException e) {
                // none known
            }
            return 0;
        }

        /** Kills every process left in the cgroups and removes them. */
        public void destroy() {
            for (Path d : paths()) {
                remove(d);
            }
        }
    }

    /** Kills the processes in cgroup {@code d} and its children, then removes them (deepest first). */
    static void remove(Path d) {
        if (!Files.isDirectory(d)) {
            return;
        }
        List<Path> all;
        try (Stream<Path> s = Files.walk(d)) {
            all = s.filter(Files::isDirectory).sorted(java.util.Comparator.reverseOrder()).toList();
        } catch (IOException e) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (Path c : all) {
            // the kernel frees a cgroup a moment after its last process exits: ask again soon, then every 20 ms
            // (a fixed 20 ms wait was most of a one-shot run's delete phase)
            long pauseMs = 1;
            while (true) {
                kill(c);
                try {
                    Files.delete(c); // rmdir: a cgroup's files are not removed one by one
                    break;
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) {
                        break; // still busy: reported by doctor's leftover check, retried by reap
                    }
                    try {
                        Thread.sleep(pauseMs);
                        pauseMs = Math.min(20, pauseMs * 2);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
    }

    private static void kill(Path cgroup) {
        try {
            for (String pid : Files.readAllLines(cgroup.resolve("cgroup.procs"))) {
                if (!pid.isBlank()) {
                    ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone already
        }
    }

    private static void write(Path f, String value) throws IOException {
        Files.writeString(f, value); // a cgroup file takes one write; no temp file and rename on cgroupfs
    }

    private static void writeIfExists(Path f, String value) throws IOException {
        if (Files.exists(f)) {
            write(f, value);
        }
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
