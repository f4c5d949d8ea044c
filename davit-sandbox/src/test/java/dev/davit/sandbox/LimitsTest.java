package dev.davit.sandbox;

import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.host.CgroupProbe;
import dev.davit.sandbox.engine.Sandboxes;
import static dev.davit.sandbox.Limits.DEFAULT_DISK_MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.backend.CpuAffinity;
import dev.davit.sandbox.internal.SandboxJson;
import dev.davit.sandbox.internal.Totals;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Memory, CPU and process limits of container sandboxes, for real on bwrap, crun and runc: enforced by the
 * cgroup davit makes, reported ({@code oomKilled}) and removed after every run. Needs cgroups davit can create
 * (root here); skipped elsewhere.
 */
class LimitsTest {
    @TempDir
    Path tmp;

    Path rootfs;
    Path state;
    Sandboxes sandboxes;

    private void setUp(String rt) throws IOException {
        assumeThat(CgroupProbe.probe().available()).as("cgroups davit can create").isTrue();
        rootfs = BusyboxRootfs.createFor(tmp.resolve("rootfs"), rt);
        for (String a : List.of("dd", "seq", "kill", "wc", "grep")) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(a), Path.of("busybox"));
        }
        state = tmp.resolve("state");
        sandboxes = new Sandboxes(SandboxOptions.of(state));
    }

    private ExecResult run(String rt, Limits limits, Duration timeout, String script) {
        return sandboxes.run(RunSpec.builder(rootfs).runtime(rt).limits(limits).timeout(timeout)
                .command("sh", "-c", script).build());
    }

    /** The cgroup directories sandbox {@code id} had (or would have had). */
    static List<Path> cgroupsOf(String id) {
        return CgroupProbe.probe().bases().values().stream().distinct()
                .map(b -> b.resolve(Cgroups.PARENT).resolve(id)).toList();
    }

    private void assertCleanedUp(String id) throws IOException {
        assertThat(cgroupsOf(id)).as("cgroups of " + id).noneMatch(Files::exists);
        assertThat(BusyboxRootfs.entries(state)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void aProcessAllocatingPastTheMemoryLimitIsKilledAndReported(String rt) throws IOException {
        setUp(rt);
        Limits l = new Limits(64, 0, 0, DEFAULT_DISK_MIB);
        // dd's 200 MiB buffer is filled from /dev/zero: 200 MiB resident, over the 64 MiB limit
        ExecResult big = run(rt, l, Duration.ofSeconds(60), "dd if=/dev/zero of=/dev/null bs=200M count=1");
        assertThat(big.exitCode()).as(big.stderrText()).isEqualTo(137);
        assertThat(big.oomKilled()).isTrue();
        assertCleanedUp(big.sandboxId());

        ExecResult small = run(rt, l, Duration.ofSeconds(60), "dd if=/dev/zero of=/dev/null bs=16M count=1");
        assertThat(small.exitCode()).as(small.stderrText()).isZero();
        assertThat(small.oomKilled()).isFalse();
        assertCleanedUp(small.sandboxId());
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void aForkLoopStopsAtThePidsLimit(String rt) throws IOException {
        setUp(rt);
        // 200 background sleepers; the loop's shell stops at the first fork that fails, the outer one reports
        // with builtins only (no fork left for it either)
        String loop = "(for i in $(seq 200); do sleep 30 & echo $i > /tmp/n; done) 2>/tmp/err; read n < /tmp/n;"
                + " echo started $n; read e < /tmp/err; echo \"$e\"";
        ExecResult r = run(rt, new Limits(0, 0, 50, DEFAULT_DISK_MIB), Duration.ofSeconds(60), loop);
        assertThat(r.timedOut()).isFalse();
        String out = r.stdoutText();
        assertThat(out).as(r.stderrText()).matches("(?s)started \\d+\n.*can't fork.*");
        assertThat(Integer.parseInt(out.replaceAll("(?s)started (\\d+).*", "$1"))).isBetween(10, 49);
        assertCleanedUp(r.sandboxId());

        ExecResult unlimited = run(rt, Limits.NONE, Duration.ofSeconds(60), loop.replace("sleep 30", "sleep 2"));
        assertThat(unlimited.stdoutText()).as(unlimited.stderrText()).startsWith("started 200\n");
    }

    /**
     * Totals: the state directory's parent cgroup has them as its limits, each sandbox of that state directory (a
     * one-shot run and a long-lived one's exec) is made below it, and the kernel holds the sandboxes to the total
     * although each one's own limit is higher; Totals.NONE removes the parent once no sandbox is in it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun"})
    void theTotalsBoundEverySandboxOfTheStateDirectoryWhateverItsOwnLimits(String rt) throws IOException {
        setUp(rt);
        List<Path> parents = Machinery.of(sandboxes).setTotals(new Totals(512, 1.5, 40));
        assertThat(parents).isNotEmpty().allMatch(Files::isDirectory);
        for (Path p : parents) {
            if (Files.exists(p.resolve("memory.limit_in_bytes"))) {
                assertThat(Files.readString(p.resolve("memory.limit_in_bytes")).strip()).isEqualTo("536870912");
            }
            if (Files.exists(p.resolve("cpu.cfs_quota_us"))) {
                assertThat(Files.readString(p.resolve("cpu.cfs_quota_us")).strip()).isEqualTo("150000");
            }
            if (Files.exists(p.resolve("pids.max"))) {
                assertThat(Files.readString(p.resolve("pids.max")).strip()).isEqualTo("40");
            }
        }
        // the run's own limit is 1024 processes: the total of 40 stops its fork loop
        String loop = "(for i in $(seq 200); do sleep 30 & echo $i > /tmp/n; done) 2>/tmp/err; read n < /tmp/n;"
                + " echo started $n; cat /proc/self/cgroup";
        ExecResult r = run(rt, Limits.DEFAULT, Duration.ofSeconds(60), loop);
        assertThat(r.timedOut()).isFalse();
        assertThat(r.stdoutText()).as(r.stderrText()).matches("(?s)started \\d+\n.*");
        assertThat(Integer.parseInt(r.stdoutText().replaceAll("(?s)started (\\d+).*", "$1"))).isBetween(5, 39);
        assertThat(BusyboxRootfs.entries(state)).isEmpty();
        // a long-lived sandbox's exec runs in its cgroup below the totals' one
        Sandbox s = sandboxes.create(CreateSpec.builder(rootfs).vcpus(1).memoryMiB(512).limits(Limits.DEFAULT)
                .build());
        sandboxes.start(s.id());
        try {
            Path pidsParent = parents.stream().filter(p -> Files.exists(p.resolve("pids.max"))).findFirst()
                    .orElseThrow();
            assertThat(pidsParent.resolve(s.id())).isDirectory();
            ExecResult e = sandboxes.exec(s.id(), List.of("sh", "-c", "for i in $(seq 60); do sleep 30 & done"),
                    java.util.Map.of(), null, Duration.ofSeconds(60));
            assertThat(e.stderrText()).contains("can't fork");
        } finally {
            sandboxes.rm(s.id());
        }
        if (!CgroupProbe.probe().v2().contains("cpu")) { // v1 refuses a child's CPU quota above its parent's
            assertThatThrownBy(() -> run(rt, new Limits(0, 2, 0, DEFAULT_DISK_MIB), Duration.ofSeconds(60), "true"))
                    .isInstanceOf(dev.davit.oci.DavitException.class)
                    .hasMessageContaining("below the totals of its state directory (the MCP server's totals)")
                    .hasMessageContaining("Limits.cpus at most Totals.cpus");
            assertThat(BusyboxRootfs.entries(state)).isEmpty();
        }
        assertThat(Machinery.of(sandboxes).setTotals(Totals.NONE)).isEmpty();
        assertThat(parents).noneMatch(Files::exists);
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void halfACpuIsHalfACpu(String rt) throws IOException {
        setUp(rt);
        // a busy loop for 4 s of wall time, then its own CPU time (utime + stime, in clock ticks of 1/100 s)
        ExecResult r = run(rt, new Limits(0, 0.5, 0, DEFAULT_DISK_MIB), Duration.ofSeconds(60),
                "while :; do :; done & p=$!; sleep 4; cat /proc/$p/stat; kill $p");
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        String[] f = r.stdoutText().substring(r.stdoutText().lastIndexOf(')') + 2).trim().split(" ");
        double cpuSeconds = (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
        // at most half a CPU (the limit); the lower bound only shows the loop ran, since on a busy host (the
        // tests' own other work on 2 cores) it may get less than its half
        assertThat(cpuSeconds / 4).as("CPUs used").isBetween(0.2, 0.6);
        assertCleanedUp(r.sandboxId());
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void aSandboxSeesAsManyCpusAsItsLimit(String rt) throws IOException {
        setUp(rt);
        assumeThat(CpuAffinity.allowed().size()).as("CPUs of this host").isGreaterThan(1);
        Files.createSymbolicLink(rootfs.resolve("bin").resolve("nproc"), Path.of("busybox"));
        ExecResult one = run(rt, new Limits(0, 1, 0, DEFAULT_DISK_MIB), Duration.ofSeconds(60), "nproc; sh -c nproc");
        assertThat(one.exitCode()).as(one.stderrText()).isZero();
        assertThat(one.stdoutText()).isEqualTo("1\n1\n");
        ExecResult half = run(rt, new Limits(0, 0.5, 0, DEFAULT_DISK_MIB), Duration.ofSeconds(60), "nproc");
        assertThat(half.stdoutText()).isEqualTo("1\n");
        int all = CpuAffinity.allowed().size();
        ExecResult unlimited = run(rt, new Limits(64, 0, 0, DEFAULT_DISK_MIB), Duration.ofSeconds(60), "nproc");
        assertThat(unlimited.stdoutText()).isEqualTo(all + "\n");
        ExecResult asMany = run(rt, new Limits(0, all, 0, DEFAULT_DISK_MIB), Duration.ofSeconds(60), "nproc");
        assertThat(asMany.stdoutText()).isEqualTo(all + "\n");
        Sandbox s = sandboxes.create(CreateSpec.builder(rootfs).vcpus(1).memoryMiB(512)
                .limits(new Limits(64, 1, 64, DEFAULT_DISK_MIB)).build());
        sandboxes.start(s.id());
        try {
            ExecResult exec = sandboxes.exec(s.id(), List.of("nproc"), null, null, Duration.ofSeconds(60));
            assertThat(exec.stdoutText()).as(exec.stderrText()).isEqualTo("1\n");
        } finally {
            sandboxes.rm(s.id());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void theCgroupIsGoneAfterFailureAndTimeout(String rt) throws IOException {
        setUp(rt);
        ExecResult fail = run(rt, Limits.DEFAULT, Duration.ofSeconds(60), "exit 3");
        assertThat(fail.exitCode()).isEqualTo(3);
        assertThat(fail.oomKilled()).isFalse();
        assertCleanedUp(fail.sandboxId());
        ExecResult slow = run(rt, Limits.DEFAULT, Duration.ofSeconds(1), "sleep 600 & sleep 600");
        assertThat(slow.timedOut()).isTrue();
        assertCleanedUp(slow.sandboxId());
    }

    @Test
    void aLongLivedSandboxHasOneCgroupForAllItsExecsRemovedWithIt() throws IOException {
        setUp("bwrap");
        Sandbox s = sandboxes.create(CreateSpec.builder(rootfs).vcpus(1).memoryMiB(512)
                .limits(new Limits(64, 1, 64, DEFAULT_DISK_MIB)).build());
        sandboxes.start(s.id());
        try {
            assertThat(cgroupsOf(s.id())).allMatch(Files::isDirectory);
            assertThat(SandboxJson.sandbox(sandboxes.status(s.id())).path("limits").path("memory_mib").asLong()).isEqualTo(64);
            ExecResult big = sandboxes.exec(s.id(), List.of("dd", "if=/dev/zero", "of=/dev/null", "bs=200M",
                    "count=1"), null, null, Duration.ofSeconds(60));
            assertThat(big.exitCode()).as(big.stderrText()).isEqualTo(137);
            assertThat(big.oomKilled()).isTrue();
            ExecResult ok = sandboxes.exec(s.id(), List.of("true"), null, null, Duration.ofSeconds(60));
            assertThat(ok.exitCode()).isZero();
            assertThat(ok.oomKilled()).isFalse();
            sandboxes.stop(s.id());
            assertThat(cgroupsOf(s.id())).noneMatch(Files::exists);
            sandboxes.start(s.id());
            assertThat(cgroupsOf(s.id())).allMatch(Files::isDirectory);
        } finally {
            sandboxes.rm(s.id());
        }
        assertThat(cgroupsOf(s.id())).noneMatch(Files::exists);
    }

    @Test
    void doctorReportsLimitsAndTheirCgroups() throws IOException {
        setUp("bwrap");
        Doctor.Report report = sandboxes.doctor();
        Doctor.Backend l = report.backends().stream().filter(b -> b.name().equals(Doctor.LIMITS)).findFirst()
                .orElseThrow();
        assertThat(l.available()).as(l.detail()).isTrue();
        assertThat(l.facts()).containsEntry("probe", "ok").containsKeys("memory", "cpu", "pids");
        assertThat(l.detail()).contains("1024 MiB");
        // the probe's cgroup is gone
        assertThat(cgroupsOf("doctor-" + ProcessHandle.current().pid())).noneMatch(Files::exists);
    }

    @Test
    void oneProbeServesTheLimitsCheckAndTheCgroupsOfARunAndIsAskedAgainLater() throws Exception {
        CgroupProbe.Support first = CgroupProbe.recentProbe();
        assertThat(Limits.unenforceable()).isEqualTo(first.problem());
        assertThat(CgroupProbe.recentProbe()).isSameAs(first);
        assertThat(CgroupProbe.probe()).isEqualTo(first).isNotSameAs(first);
        Thread.sleep(TimeUnit.NANOSECONDS.toMillis(CgroupProbe.PROBE_REUSE_NANOS) + 50);
        CgroupProbe.Support later = CgroupProbe.recentProbe();
        assertThat(later).isEqualTo(first).isNotSameAs(first);
    }

    /** The early move that takes the kernel's grace period off a run's path leaves this process where it was. */
    @Test
    void primingMovesThisProcessNowhere() throws Exception {
        CgroupProbe.Support s = CgroupProbe.probe();
        assumeThat(s.available()).isTrue();
        assertThat(s.own()).isNotNull();
        String before = Files.readString(Path.of("/proc/self/cgroup"));
        List<String> members = Files.readAllLines(s.own());
        assertThat(members).contains(Long.toString(ProcessHandle.current().pid()));
        Thread t = Cgroups.prime(s);
        t.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(t.isAlive()).isFalse();
        assertThat(Files.readString(Path.of("/proc/self/cgroup"))).isEqualTo(before);
        assertThat(Files.readAllLines(s.own())).contains(Long.toString(ProcessHandle.current().pid()));
    }

    @Test
    void badLimitsAreUsageErrors() {
        assertThatThrownBy(() -> new Limits(8, 0, 0, DEFAULT_DISK_MIB))
                .hasMessageContaining("Limits.memoryMiB must be 0 (no limit) or at least 16");
        assertThatThrownBy(() -> new Limits(0, -1, 0, 0)).hasMessageContaining("Limits.cpus");
        assertThatThrownBy(() -> new Limits(0, 0, 2, DEFAULT_DISK_MIB)).hasMessageContaining("Limits.pids");
        assertThat(Limits.NONE.any()).isFalse();
        assertThat(Cgroups.cpuQuotaUs(new Limits(0, 0.5, 0, DEFAULT_DISK_MIB).cpus())).isEqualTo(50_000);
        assertThat(SandboxJson.limits(SandboxJson.limits(Limits.DEFAULT))).isEqualTo(Limits.DEFAULT);
    }

    /** The "davit" that gets killed: one run of sleep 600 with the default limits. */
    public static final class Child {
        public static void main(String[] args) {
            new Sandboxes(SandboxOptions.of(Path.of(args[0]))).run(RunSpec.builder(Path.of(args[1]))
                    .runtime(args[2]).limits(Limits.DEFAULT).command("sleep", "600").build());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "runc"})
    void reapRemovesTheCgroupOfAKilledDavit(String rt) throws Exception {
        setUp(rt);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process davit = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Child.class.getName(), state.toString(), rootfs.toString(), rt).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("child.log").toFile()).start();
        ProcessHandle sleeper = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (sleeper == null && System.nanoTime() < deadline) {
            Optional<ProcessHandle> found = davit.descendants().filter(h -> h.info().commandLine().orElse("")
                    .endsWith(" 600")).findFirst();
            sleeper = found.orElse(null);
            Thread.sleep(50);
        }
        assertThat(sleeper).as(Files.readString(tmp.resolve("child.log"))).isNotNull();
        String id = BusyboxRootfs.entries(state).get(0);
        assertThat(cgroupsOf(id)).allMatch(Files::isDirectory);
        davit.destroyForcibly(); // SIGKILL: no clean-up runs
        davit.waitFor();

        assertThat(sandboxes.reapOrphans()).containsExactly(id);
        sleeper.onExit().get(10, TimeUnit.SECONDS);
        assertThat(sleeper.isAlive()).isFalse();
        assertCleanedUp(id);
        // runc's own cgroups of the container (in the hierarchies davit does not limit) are gone too
        try (java.util.stream.Stream<Path> s = Files.find(Path.of("/sys/fs/cgroup"), 6,
                (p, a) -> p.getFileName() != null && p.getFileName().toString().equals(id))) {
            assertThat(s.toList()).isEmpty();
        }
    }
}
