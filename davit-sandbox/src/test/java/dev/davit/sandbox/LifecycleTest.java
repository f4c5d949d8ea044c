package dev.davit.sandbox;

import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.host.Host;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Long-lived sandboxes with the real bwrap and nsenter over a busybox root filesystem. */
class LifecycleTest {
    @TempDir
    Path tmp;

    Path rootfs;
    Path state;
    Sandboxes sandboxes;
    final List<Long> pids = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        state = tmp.resolve("state");
        sandboxes = new Sandboxes(SandboxOptions.of(state));
    }

    @AfterEach
    void cleanUp() {
        for (Sandbox s : sandboxes.list()) {
            sandboxes.rm(s.id());
        }
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    private Sandbox started(Duration ttl) {
        Sandbox s = sandboxes.create(CreateSpec.builder(rootfs).env(Map.of("A", "1")).ttl(ttl).limits(Limits.NONE)
                .build());
        assertThat(s.status()).isEqualTo(SandboxStatus.CREATED);
        assertThat(s.id()).matches("sbx-[0-9a-f]{12}");
        Sandbox r = sandboxes.start(s.id());
        assertThat(r.status()).isEqualTo(SandboxStatus.RUNNING);
        pids.add(r.bwrapPid());
        pids.add(r.initPid());
        return r;
    }

    private ExecResult exec(String id, String... argv) {
        return sandboxes.exec(id, List.of(argv), Map.of(), null, Duration.ofSeconds(20));
    }

    private static boolean alive(long pid) {
        return Host.alive(pid, Host.startTime(pid)) && pid > 0;
    }

    @Test
    void execsShareWritesButNotWithOtherSandboxesAndTheBaseRootStaysUnwritten() {
        Sandbox a = started(null);
        Sandbox b = started(null);
        ExecResult w = exec(a.id(), "sh", "-c", "echo hello $A > /tmp/f; echo out; echo err >&2; exit 3");
        assertThat(w.exitCode()).as(w.stderrText()).isEqualTo(3);
        assertThat(w.stdoutText()).isEqualTo("out\n");
        assertThat(w.stderrText()).isEqualTo("err\n");
        assertThat(exec(a.id(), "cat", "/tmp/f").stdoutText()).isEqualTo("hello 1\n");
        assertThat(exec(b.id(), "cat", "/tmp/f").exitCode()).isNotZero();
        assertThat(exec(a.id(), "sh", "-c", "echo x > /bin/new").exitCode()).isZero();
        assertThat(exec(a.id(), "cat", "/bin/new").stdoutText()).isEqualTo("x\n"); // the sandbox's upper layer
        assertThat(exec(b.id(), "cat", "/bin/new").exitCode()).isNotZero();
        assertThat(rootfs.resolve("bin/new")).doesNotExist();
        ExecResult remount = exec(a.id(), "sh", "-c", "busybox mount -o remount,rw / ; echo y > /bin/new2");
        assertThat(rootfs.resolve("bin/new2")).as(remount.stderrText()).doesNotExist();
        // writes survive a stop and start of the same sandbox
        sandboxes.stop(a.id());
        sandboxes.start(a.id());
        assertThat(exec(a.id(), "cat", "/bin/new").stdoutText()).isEqualTo("x\n");
        assertThat(exec(a.id(), "true").exitCode()).isZero();
        assertThat(exec(a.id(), "no-such-command").exitCode()).isEqualTo(127);
        ExecResult env = sandboxes.exec(a.id(), List.of("sh", "-c", "echo $A $B $PWD; pwd; hostname"), Map.of("B", "2"),
                "/work", null);
        assertThat(env.stdoutText()).isEqualTo("1 2 /work\n/work\n" + a.id() + "\n");
        assertThatThrownBy(() -> sandboxes.exec(a.id(), List.of("true"), null, "/nope", null))
                .isInstanceOf(DavitException.class).hasMessageContaining("does not exist");
        assertThat(exec(a.id(), "pwd").stdoutText()).isEqualTo("/\n");
        // exec sees the sandbox's own pid namespace: the keeper is there
        assertThat(exec(a.id(), "sh", "-c", "cat /proc/1/cmdline; echo").stdoutText()).isNotBlank();
    }

    @Test
    void concurrentStartsMakeOneKeeper() throws Exception {
        Sandbox created = sandboxes.create(CreateSpec.builder(rootfs).limits(Limits.NONE).build());
        var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<Sandbox>> all = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                all.add(pool.submit(() -> sandboxes.start(created.id())));
            }
            java.util.Set<Long> keepers = new java.util.HashSet<>();
            for (var f : all) {
                Sandbox s = f.get(60, java.util.concurrent.TimeUnit.SECONDS);
                keepers.add(s.bwrapPid());
                pids.add(s.bwrapPid());
                pids.add(s.initPid());
            }
            assertThat(keepers).hasSize(1);
            // bwrap forks its pid 1 with the same command line: count the top ones only
            java.util.function.Predicate<ProcessHandle> keeper = h -> h.info().commandLine().orElse("")
                    .contains("--hostname " + created.id());
            long bwraps = ProcessHandle.allProcesses().filter(keeper)
                    .filter(h -> h.parent().map(pa -> !keeper.test(pa)).orElse(true)).count();
            assertThat(bwraps).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void execStreamsOutputToTheTeesAsItArrives() {
        Sandbox s = started(null);
        long[] firstByte = new long[1];
        java.io.ByteArrayOutputStream seen = new java.io.ByteArrayOutputStream();
        java.io.OutputStream tee = new java.io.OutputStream() {
            @Override
            public synchronized void write(int b) {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public synchronized void write(byte[] b, int off, int len) {
                if (firstByte[0] == 0) {
                    firstByte[0] = System.nanoTime();
                }
                seen.write(b, off, len);
            }
        };
        ExecResult r = sandboxes.exec(s.id(), ExecSpec.builder("sh", "-c", "echo early; sleep 1; echo late")
                .timeout(Duration.ofSeconds(20)).tees(tee, null).build());
        long end = System.nanoTime();
        assertThat(r.stdoutText()).isEqualTo("early\nlate\n");
        assertThat(seen.toString()).isEqualTo("early\nlate\n");
        assertThat(end - firstByte[0]).as("the first line arrived before the command ended")
                .isGreaterThan(Duration.ofMillis(700).toNanos());
    }

    @Test
    void execPassesStdin() {
        Sandbox s = started(null);
        ExecResult r = sandboxes.exec(s.id(), ExecSpec.builder("sh", "-c", "cat > /tmp/in; cat /tmp/in")
                .stdin(new java.io.ByteArrayInputStream("from stdin\n".getBytes(
                        java.nio.charset.StandardCharsets.UTF_8))).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        assertThat(r.stdoutText()).isEqualTo("from stdin\n");
        assertThat(exec(s.id(), "cat", "/tmp/in").stdoutText()).isEqualTo("from stdin\n");
    }

    @Test
    void anExecSpecCarriesItsVariablesDirectoryCaptureAndOutputLimit() throws Exception {
        Sandbox s = started(null);
        ExecResult r = sandboxes.exec(s.id(), ExecSpec.builder(List.of("sh", "-c", "echo $A-$B; pwd; echo 0123456789"))
                .env("B", "2").env(Map.of("A", "one")).workdir("/tmp").capture(12).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        assertThat(r.stdoutText()).isEqualTo("one-2\n/tmp\n0"); // the first 12 bytes of 22
        assertThat(r.truncated()).isTrue();
        ExecResult limited = sandboxes.exec(s.id(), ExecSpec.builder("sh", "-c", "yes").maxOutput(4096)
                .timeout(Duration.ofSeconds(20)).build());
        assertThat(limited.outputLimited()).isTrue();
        assertThat(limited.exitCode()).isEqualTo(ExecResult.OUTPUT_LIMIT_EXIT_CODE);

        // a detached command (davit's own: a workspace's services, shells and detached execs)
        Path dir = tmp.resolve("spawned");
        Machinery m = Machinery.of(sandboxes);
        Spawned p = m.spawn(s.id(), List.of("sh", "-c", "echo $A in $(pwd)"), Map.of("A", "x"), "/tmp", dir, false);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while ((m.alive(p) || !Files.exists(dir.resolve(Spawned.EXIT))) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(Files.readString(dir.resolve(Spawned.EXIT)).trim()).isEqualTo("0");
        assertThat(Files.readString(dir.resolve(Spawned.OUTPUT))).isEqualTo("x in /tmp\n");

        assertThatThrownBy(() -> ExecSpec.builder().build()).isInstanceOf(DavitException.class)
                .hasMessageContaining("ExecSpec.builder needs a command");
        assertThatThrownBy(() -> ExecSpec.builder("true").workdir("tmp").build())
                .hasMessageContaining("ExecSpec.Builder.workdir must be an absolute path");
        assertThatThrownBy(() -> ExecSpec.builder("true").timeout(Duration.ZERO).build())
                .hasMessageContaining("ExecSpec.Builder.timeout must be positive");
        assertThatThrownBy(() -> ExecSpec.builder("true").capture(-1).build())
                .hasMessageContaining("ExecSpec.Builder.capture must be between 0 and");
    }

    @Test
    void execRunsAsTheImagesUser() {
        ImageConfig app = new ImageConfig(null, null, null, null, "app");
        Sandbox s = sandboxes.start(sandboxes.create(CreateSpec.builder(rootfs).workdir("/work").image(app)
                .limits(Limits.NONE).build())
                .id());
        pids.add(s.bwrapPid());
        pids.add(s.initPid());
        ExecResult r = exec(s.id(), "sh", "-c", "id -u; id -g");
        assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo("1000\n1000\n");
        ExecResult root = sandboxes.exec(started(null).id(), List.of("id", "-u"), Map.of(), null, null);
        assertThat(root.stdoutText()).isEqualTo("0\n");
    }

    @Test
    void aHungExecTimesOutAndTheSandboxKeepsRunning() {
        Sandbox a = started(null);
        ExecResult r = sandboxes.exec(a.id(), List.of("sleep", "60"), null, null, Duration.ofMillis(500));
        assertThat(r.exitCode()).isEqualTo(124);
        assertThat(r.timedOut()).isTrue();
        assertThat(r.timings().execMs()).isLessThan(10_000);
        assertThat(sandboxes.status(a.id()).status()).isEqualTo(SandboxStatus.RUNNING);
        assertThat(exec(a.id(), "echo", "still").stdoutText()).isEqualTo("still\n");
    }

    @Test
    void stopThenStartAgain() {
        Sandbox a = started(null);
        Sandbox s = sandboxes.stop(a.id());
        assertThat(s.status()).isEqualTo(SandboxStatus.STOPPED);
        assertThat(sandboxes.status(a.id()).status()).isEqualTo(SandboxStatus.STOPPED);
        assertThat(alive(a.bwrapPid())).isFalse();
        assertThat(alive(a.initPid())).isFalse();
        assertThatThrownBy(() -> exec(a.id(), "true")).isInstanceOf(DavitException.class)
                .hasMessageContaining("stopped");
        Sandbox again = sandboxes.start(a.id());
        pids.add(again.bwrapPid());
        assertThat(again.status()).isEqualTo(SandboxStatus.RUNNING);
        assertThat(exec(a.id(), "true").exitCode()).isZero();
    }

    @Test
    void aKilledSandboxIsFailedNotRunning() throws Exception {
        Sandbox a = started(null);
        new ProcessBuilder("kill", "-9", Long.toString(a.bwrapPid())).start().waitFor();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (alive(a.bwrapPid()) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(sandboxes.status(a.id()).status()).isEqualTo(SandboxStatus.FAILED);
        assertThatThrownBy(() -> exec(a.id(), "true")).isInstanceOf(DavitException.class)
                .hasMessageContaining("failed");
    }

    @Test
    void stateSurvivesANewInstance() {
        Sandbox a = started(Duration.ofHours(1));
        exec(a.id(), "sh", "-c", "echo kept > /tmp/k");
        Sandboxes later = new Sandboxes(SandboxOptions.of(state));
        Sandbox seen = later.status(a.id());
        assertThat(seen.status()).isEqualTo(SandboxStatus.RUNNING);
        assertThat(seen.initPid()).isEqualTo(a.initPid());
        assertThat(seen.spec().ttl()).isEqualTo(Duration.ofHours(1));
        assertThat(seen.spec().env()).isEqualTo(Map.of("A", "1"));
        assertThat(later.list()).extracting(Sandbox::id).containsExactly(a.id());
        assertThat(later.exec(a.id(), List.of("cat", "/tmp/k"), null, null, null).stdoutText()).isEqualTo("kept\n");
        assertThat(Files.exists(state.resolve(a.id()).resolve("state.json"))).isTrue();
    }

    @Test
    void reapRemovesExpiredAndFailedSandboxesAndTheirProcesses() throws Exception {
        Sandbox expiring = started(Duration.ofSeconds(1));
        Sandbox failing = started(null);
        Sandbox keep = started(Duration.ofHours(1));
        new ProcessBuilder("kill", "-9", Long.toString(failing.bwrapPid())).start().waitFor();
        Thread.sleep(1100);
        List<Sandbox> reaped = sandboxes.reap();
        assertThat(reaped).extracting(Sandbox::id).containsExactlyInAnyOrder(expiring.id(), failing.id());
        assertThat(sandboxes.list()).extracting(Sandbox::id).containsExactly(keep.id());
        assertThat(state.resolve(expiring.id())).doesNotExist();
        assertThat(state.resolve(failing.id())).doesNotExist();
        for (Sandbox s : List.of(expiring, failing)) {
            assertThat(alive(s.bwrapPid())).isFalse();
            assertThat(alive(s.initPid())).isFalse();
        }
        assertThat(sandboxes.status(keep.id()).status()).isEqualTo(SandboxStatus.RUNNING);
    }

    @Test
    void rmLeavesNoStateAndNoProcesses() {
        Sandbox a = started(null);
        // a number no other test on the host uses, so only this sandbox's sleep can match (busybox's applet's
        // command line reads "<busybox> N")
        String secs = Long.toString(300 + System.nanoTime() % 100_000);
        // the background sleep keeps the exec's pipes open: the exec returns with what the command wrote anyway
        ExecResult r = exec(a.id(), "sh", "-c", "sleep " + secs + " & echo started");
        assertThat(r.stdoutText()).isEqualTo("started\n");
        assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("")
                .endsWith(" " + secs)).toList()).isNotEmpty();
        sandboxes.rm(a.id());
        assertThat(state.resolve(a.id())).doesNotExist();
        assertThat(alive(a.bwrapPid())).isFalse();
        assertThat(alive(a.initPid())).isFalse();
        assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("")
                .endsWith(" " + secs)).toList()).isEmpty();
        assertThatThrownBy(() -> sandboxes.status(a.id())).isInstanceOf(DavitException.class);
        Sandbox c = sandboxes.create(CreateSpec.builder(rootfs).limits(Limits.NONE).build());
        sandboxes.rm(c.id());
        assertThat(sandboxes.list()).isEmpty();
    }
}
