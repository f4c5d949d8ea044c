package dev.davit.sandbox;

import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.internal.SandboxJson;
import dev.davit.sandbox.agent.AgentLink;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A long-lived vm sandbox: one microVM (real QEMU, TCG here) booted once and shared by the tests, which run in
 * order; the last ones stop, restart, kill and remove it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VmSandboxTest {
    Path tmp;
    Path env;
    String baseDigest;
    Sandboxes sandboxes;
    Sandbox sandbox;

    @BeforeAll
    void boot(@TempDir Path dir) throws IOException {
        tmp = dir;
        env = VmTestEnvironment.get();
        baseDigest = VmTestEnvironment.sha256(env.resolve("rootfs.ext4"));
        sandboxes = new Sandboxes(SandboxOptions.of(tmp.resolve("state")));
        Sandbox created = sandboxes.create(CreateSpec.builder(env).env(Map.of("A", "1")).workdir("/work").backend("vm")
                .vcpus(1).memoryMiB(256).build());
        assertThat(created.status()).isEqualTo(SandboxStatus.CREATED);
        assertThat(created.backend()).isEqualTo("vm");
        long t0 = System.nanoTime();
        sandbox = sandboxes.start(created.id());
        System.out.println("vm sandbox boot: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertThat(sandbox.status()).isEqualTo(SandboxStatus.RUNNING);
    }

    @AfterAll
    void cleanUp() {
        if (sandboxes == null) {
            return;
        }
        for (Sandbox s : sandboxes.list()) {
            sandboxes.rm(s.id());
        }
        if (sandbox != null) {
            assertThat(alive(sandbox)).isFalse();
        }
    }

    private ExecResult exec(String... argv) {
        return sandboxes.exec(sandbox.id(), List.of(argv), Map.of(), null, Duration.ofSeconds(60));
    }

    private static boolean alive(Sandbox s) {
        return Host.alive(s.qemuPid(), s.qemuStart());
    }

    @Test
    @Order(1)
    void stateRecordsTheBackendAndQemu() throws IOException {
        Sandbox s = sandboxes.status(sandbox.id());
        assertThat(s.status()).isEqualTo(SandboxStatus.RUNNING);
        assertThat(s.qemuPid()).isPositive();
        assertThat(ProcessHandle.of(s.qemuPid()).flatMap(p -> p.info().command()).orElse(""))
                .contains("qemu-system-x86_64");
        JsonNode state = Json.read(Files.readAllBytes(tmp.resolve("state").resolve(s.id()).resolve("state.json")));
        assertThat(state.path("backend").asText()).isEqualTo("vm");
        assertThat(state.path("qemu_pid").asLong()).isEqualTo(s.qemuPid());
        assertThat(state.path("memory_mib").asInt()).isEqualTo(256);
        assertThat(sandboxes.list()).extracting(Sandbox::id).containsExactly(s.id());
    }

    @Test
    @Order(2)
    void theVmmIsJailed() throws IOException {
        // as Firecracker's jailer runs its VMM: no_new_privs, QEMU's own seccomp filter, and (as root) an
        // unprivileged uid with no capabilities, which reaches the VM's files only through the jail's mounts
        Sandbox s = sandboxes.status(sandbox.id());
        java.util.Map<String, String> status = new java.util.LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(s.qemuPid()), "status"))) {
            int colon = line.indexOf(':');
            status.put(line.substring(0, colon), line.substring(colon + 1).strip());
        }
        assertThat(status.get("NoNewPrivs")).isEqualTo("1");
        assertThat(status.get("Seccomp")).isEqualTo("2");
        if (dev.davit.sandbox.jail.Jail.active()) {
            long uid = Long.parseLong(status.get("Uid").split("\\s+")[0]);
            // its own uid, outside the containers' range: it owns no container's user namespace
            assertThat(uid).isEqualTo(dev.davit.sandbox.jail.Jail.vmmIds(s.id())[0]).isGreaterThanOrEqualTo(100_000L);
            dev.davit.sandbox.jail.IdRange containers = dev.davit.sandbox.jail.Jail.range();
            assertThat(uid < containers.uid() || uid >= containers.uid() + containers.count()).as("outside %s", containers)
                    .isTrue();
            assertThat(status.get("CapEff")).isEqualTo("0000000000000000");
            assertThat(status.get("CapBnd")).isEqualTo("0000000000000000");
            // it cannot walk to the state directory on the host: its files are where the jail bound them
            String mounts = Files.readString(Path.of("/proc", Long.toString(s.qemuPid()), "mountinfo"));
            assertThat(mounts).contains(" /run/davit/vmm ").contains(" /run/davit/vmlinux ")
                    .contains(" /run/davit/rootfs.ext4 ");
        }
    }

    /** QEMU's cgroup directories (a long-lived VM's), for the test that removes the sandbox. */
    private final List<Path> qemuCgroups = new java.util.ArrayList<>();

    @Test
    @Order(1)
    void theVmmSeesOnlyItsOwnFilesInItsOwnRoot() throws IOException {
        // as Firecracker's jailer chroots its VMM: QEMU's root is a read-only tmpfs holding its program, libraries,
        // firmware, a few devices and the VM's files at /run/davit, nothing else of the host's
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.davit.sandbox.jail.Jail.vmmHasOwnRoot(
                SandboxOptions.of(tmp.resolve("state"))), "as root with davit-exec only");
        Sandbox s = sandboxes.status(sandbox.id());
        Path root = Path.of("/proc", Long.toString(s.qemuPid()), "root");
        List<String> top = names(root);
        System.out.println("QEMU's root: " + top + ", /etc: " + names(root.resolve("etc")) + ", /dev: "
                + names(root.resolve("dev")));
        assertThat(top).contains("usr", "dev", "run").isSubsetOf("usr", "dev", "run", "etc", "lib", "lib64", "bin",
                "sbin", "lib32", "libx32");
        assertThat(names(root.resolve("run"))).containsExactly("davit");
        assertThat(names(root.resolve("run/davit"))).containsExactlyInAnyOrder("vmm", "vmlinux", "initrd",
                "rootfs.ext4");
        assertThat(names(root.resolve("dev"))).containsExactlyInAnyOrder("null", "zero", "random", "urandom");
        assertThat(names(root.resolve("etc"))).isSubsetOf("ld.so.cache"); // no network: no resolv.conf
        for (String absent : List.of("etc/passwd", "etc/shadow", "root", "home", "tmp", "proc", "sys", "var")) {
            assertThat(root.resolve(absent)).as(absent).doesNotExist();
        }
        // davit's home (the state directory with state.json) and the environment's directory
        assertThat(root.resolve(tmp.toAbsolutePath().toString().substring(1))).doesNotExist();
        assertThat(root.resolve(env.toAbsolutePath().toString().substring(1))).doesNotExist();
        assertThat(root.resolve("usr/bin/qemu-system-x86_64")).exists();
        // read-only and detached from the host's tree: its / is the tmpfs, mounted ro
        String mountinfo = Files.readString(Path.of("/proc", Long.toString(s.qemuPid()), "mountinfo"));
        String slash = mountinfo.lines().filter(l -> l.split(" ")[4].equals("/")).findFirst().orElseThrow();
        assertThat(slash.split(" ")[5]).startsWith("ro");
        assertThat(slash).contains(" tmpfs ");
        assertThat(mountinfo.lines().filter(l -> l.split(" ")[4].equals("/run/davit/vmlinux")).findFirst()
                .orElseThrow().split(" ")[5]).startsWith("ro,nosuid,nodev");
    }

    @Test
    @Order(1)
    void theVmmRunsInTheSandboxsCgroupWithLimitsFromTheVmsSize() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Limits.unenforceable() == null, "cgroups can be made here");
        Sandbox s = sandboxes.status(sandbox.id());
        Map<String, Path> cgroups = cgroupsOf(s.qemuPid());
        assertThat(cgroups).containsKeys("memory", "pids");
        cgroups.values().forEach(d -> assertThat(d.toString()).endsWith("/davit/" + s.id()));
        boolean tcg = Files.readString(Path.of("/proc", Long.toString(s.qemuPid()), "cmdline")).contains("tcg");
        // the guest's 256 MiB + QEMU's overhead (256 MiB, and 256 MiB of TCG translation cache)
        long mib = 256 + 256 + (tcg ? 256 : 0);
        Path memory = cgroups.get("memory");
        Path limit = memory.resolve(Files.exists(memory.resolve("memory.max")) ? "memory.max"
                : "memory.limit_in_bytes");
        assertThat(Files.readString(limit).strip()).isEqualTo(Long.toString(mib << 20));
        assertThat(Files.readString(cgroups.get("pids").resolve("pids.max")).strip()).isEqualTo("129");
        if (cgroups.containsKey("cpu") && Files.exists(cgroups.get("cpu").resolve("cpu.cfs_quota_us"))) {
            // no --cpus asked: no CPU quota
            assertThat(Files.readString(cgroups.get("cpu").resolve("cpu.cfs_quota_us")).strip()).isEqualTo("-1");
        }
        qemuCgroups.addAll(cgroups.values());
    }

    /** The cgroup directory of {@code pid} per controller (memory, pids, cpu), from /proc/PID/cgroup. */
    static Map<String, Path> cgroupsOf(long pid) throws IOException {
        Map<String, Path> out = new java.util.LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
            String[] f = line.split(":", 3);
            for (String c : f[1].split(",")) {
                if (List.of("memory", "pids", "cpu").contains(c)) {
                    out.put(c, Path.of("/sys/fs/cgroup", f[1], f[2].substring(1)));
                } else if (f[1].isEmpty() && f[2].contains("/davit/")) {
                    out.putIfAbsent("memory", Path.of("/sys/fs/cgroup", f[2].substring(1)));
                    out.putIfAbsent("pids", Path.of("/sys/fs/cgroup", f[2].substring(1)));
                }
            }
        }
        return out;
    }

    private static List<String> names(Path dir) throws IOException {
        try (java.util.stream.Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    @Order(2)
    void execsShareFilesAndOutputStaysApart() {
        ExecResult w = exec("sh", "-c", "echo hello $A > /tmp/f; echo x > /bin/new; echo out; echo err >&2; exit 3");
        System.out.println("vm exec timings " + SandboxJson.timings(w.timings()));
        assertThat(w.exitCode()).as(w.stderrText()).isEqualTo(3);
        assertThat(w.stdoutText()).isEqualTo("out\n");
        assertThat(w.stderrText()).isEqualTo("err\n");
        assertThat(w.backend()).isEqualTo("vm");
        ExecResult r = exec("cat", "/tmp/f", "/bin/new");
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdoutText()).isEqualTo("hello 1\nx\n");
        assertThat(r.stderr()).isEmpty();
    }

    @Test
    @Order(3)
    void binaryOutputArrivesUnchanged() {
        // every byte value, on stdout, and a long line without a newline on stderr
        ExecResult r = exec("sh", "-c", "i=0; while [ $i -lt 256 ]; do printf \"\\\\$(printf %o $i)\"; i=$((i+1));"
                + " done; i=0; while [ $i -lt 2000 ]; do printf 0123456789 >&2; i=$((i+1)); done");
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        byte[] expected = new byte[256];
        for (int i = 0; i < 256; i++) {
            expected[i] = (byte) i;
        }
        assertThat(r.stdout()).isEqualTo(expected);
        assertThat(r.stderrText()).hasSize(20000).startsWith("0123456789");
    }

    @Test
    @Order(4)
    void exitCodes() {
        assertThat(exec("true").exitCode()).isZero();
        assertThat(exec("sh", "-c", "exit 3").exitCode()).isEqualTo(3);
        ExecResult missing = exec("no-such-command");
        assertThat(missing.exitCode()).isEqualTo(127);
        assertThat(missing.stderrText()).contains("no-such-command");
        assertThat(exec("sh", "-c", "echo x > /tmp/noexec; chmod 644 /tmp/noexec").exitCode()).isZero();
        assertThat(exec("/tmp/noexec").exitCode()).isEqualTo(126);
        assertThat(exec("sh", "-c", "kill -9 $$").exitCode()).isEqualTo(137);
    }

    @Test
    @Order(5)
    void environmentAndWorkingDirectory() {
        ExecResult r = sandboxes.exec(sandbox.id(), List.of("sh", "-c", "echo \"$A $B\"; pwd; echo $PWD"),
                Map.of("B", "two words\nand a line"), null, Duration.ofSeconds(60));
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        assertThat(r.stdoutText()).isEqualTo("1 two words\nand a line\n/work\n/work\n");
        // exactly the sandbox's environment: nothing of the agent's own leaks
        ExecResult env = sandboxes.exec(sandbox.id(), List.of("env"), Map.of("B", "2"), null, Duration.ofSeconds(60));
        assertThat(env.stdoutText().lines().sorted().toList())
                .containsExactly("A=1", "B=2", "PATH=" + RunSpec.DEFAULT_PATH, "PWD=/work");
        ExecResult tmpDir = sandboxes.exec(sandbox.id(), List.of("pwd"), Map.of(), "/tmp", Duration.ofSeconds(60));
        assertThat(tmpDir.stdoutText()).isEqualTo("/tmp\n");
        assertThatThrownBy(() -> sandboxes.exec(sandbox.id(), List.of("pwd"), Map.of(), "/nonexistent", null))
                .isInstanceOf(DavitException.class).hasMessageContaining("/nonexistent does not exist");
    }

    @Test
    @Order(6)
    void argumentsArriveVerbatim() {
        List<String> args = List.of("", "it's", "two words", "line\nbreak", "$HOME", "`id`", "\\", "*", "-n",
                "ünïcödé", "'", "a=b");
        List<String> argv = new java.util.ArrayList<>(List.of("sh", "-c",
                "for a in \"$@\"; do printf '<%s>' \"$a\"; done", "sh"));
        argv.addAll(args);
        ExecResult r = sandboxes.exec(sandbox.id(), argv, Map.of("Q", "it's \"q\" $x"), null, Duration.ofSeconds(60));
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        StringBuilder expected = new StringBuilder();
        args.forEach(a -> expected.append('<').append(a).append('>'));
        assertThat(r.stdoutText()).isEqualTo(expected.toString());
        assertThat(sandboxes.exec(sandbox.id(), List.of("sh", "-c", "printf %s \"$Q\""), Map.of("Q", "it's \"q\" $x"),
                null, null).stdoutText()).isEqualTo("it's \"q\" $x");
    }

    @Test
    @Order(7)
    void noNetworkByDefault() {
        ExecResult r = exec("ls", "/sys/class/net");
        assertThat(r.stdoutText()).isEqualTo("lo\n");
    }

    @Test
    @Order(8)
    void aHungCommandTimesOutAndTheVmStaysUsable() {
        long t0 = System.nanoTime();
        ExecResult r = sandboxes.exec(sandbox.id(), List.of("sh", "-c", "echo started; sleep 30 & sleep 40"),
                Map.of(), null, Duration.ofSeconds(1));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.exitCode()).isEqualTo(124);
        assertThat(r.timedOut()).isTrue();
        assertThat(r.stdoutText()).isEqualTo("started\n");
        assertThat(ms).isLessThan(10_000);
        // the whole process group is gone (the background sleep too), and the VM answers
        ExecResult ps = exec("sh", "-c", "for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null; echo; done");
        assertThat(ps.stdoutText()).doesNotContain("sleep\u000030\u0000", "sleep\u000040\u0000");
        assertThat(ps.stdoutText()).contains("/.davit/run/davit-agent\u0000init"); // the listing works: PID 1
        assertThat(exec("echo", "alive").stdoutText()).isEqualTo("alive\n");
    }

    @Test
    @Order(8)
    void anOutputLimitKillsAFloodAndTheVmStaysUsable() {
        ExecResult r = sandboxes.exec(sandbox.id(), ExecSpec.builder("sh", "-c", "echo started >&2; while :; do echo"
                + " 0123456789012345678901234567890123456789; done").timeout(Duration.ofSeconds(60)).maxOutput(4096)
                .build());
        assertThat(r.outputLimited()).isTrue();
        assertThat(r.exitCode()).isEqualTo(ExecResult.OUTPUT_LIMIT_EXIT_CODE);
        assertThat(r.timedOut()).isFalse();
        assertThat(r.capturedStdout().size() + r.capturedStderr().size()).isEqualTo(4096);
        assertThat(exec("echo", "alive").stdoutText()).isEqualTo("alive\n");
    }

    @Test
    @Order(9)
    void aRequestWhoseClientWentAwayDoesNotDisturbTheNext() throws Exception {
        // davit-agent's first command port: start a command there and leave without its end, as a davit killed
        // during an exec would; the next host of the port must not get its output
        Path port = tmp.resolve("state").resolve(sandbox.id()).resolve("vmm/exec0.sock");
        try (AgentLink link = AgentLink.synced(AgentLink.open(port))) {
            link.start(List.of("sh", "-c", "sleep 1; echo late"), Map.of("PATH", "/bin"), "/", false);
        }
        ExecResult next = exec("echo", "next");
        assertThat(next.exitCode()).isZero();
        assertThat(next.stdoutText()).isEqualTo("next\n");
        assertThat(exec("echo", "again").stdoutText()).isEqualTo("again\n");
    }

    @Test
    @Order(10)
    void stopKeepsTheDiskAndStartBootsAgain() throws IOException {
        Sandbox stopped = sandboxes.stop(sandbox.id());
        assertThat(stopped.status()).isEqualTo(SandboxStatus.STOPPED);
        assertThat(alive(sandbox)).isFalse();
        assertThatThrownBy(() -> exec("true")).isInstanceOf(DavitException.class).hasMessageContaining("stopped");
        long t0 = System.nanoTime();
        sandbox = sandboxes.start(sandbox.id());
        System.out.println("vm sandbox restart: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertThat(sandbox.status()).isEqualTo(SandboxStatus.RUNNING);
        assertThat(exec("cat", "/tmp/f").stdoutText()).isEqualTo("hello 1\n");
        assertThat(VmTestEnvironment.sha256(env.resolve("rootfs.ext4"))).isEqualTo(baseDigest);
    }

    @Test
    @Order(11)
    void aHungVmIsKilledByTheHostTimeoutAndShowsFailed() throws Exception {
        CompletableFuture<ExecResult> running = CompletableFuture.supplyAsync(() -> sandboxes.exec(sandbox.id(),
                List.of("sleep", "60"), Map.of(), null, Duration.ofSeconds(2)));
        Thread.sleep(1000);
        signal("STOP", sandbox.qemuPid()); // the guest freezes: its agent cannot kill the command or answer
        long t0 = System.nanoTime();
        assertThatThrownBy(running::join).hasCauseInstanceOf(DavitException.class)
                .cause().hasMessageContaining("did not answer").hasMessageContaining("was killed")
                .hasMessageNotContaining("\n");
        // the kill's wait (5 s) and the SYNC of the guest's PID 1 (5 s), not the command's 60 s
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(20_000);
        assertThat(alive(sandbox)).isFalse();
        assertThat(sandboxes.status(sandbox.id()).status()).isEqualTo(SandboxStatus.FAILED);
        assertThatThrownBy(() -> exec("true")).isInstanceOf(DavitException.class).hasMessageContaining("failed");
        assertThat(sandboxes.reap()).extracting(Sandbox::id).containsExactly(sandbox.id());
        assertThat(tmp.resolve("state").resolve(sandbox.id())).doesNotExist();
        // QEMU's cgroup went with it
        qemuCgroups.forEach(d -> assertThat(d).doesNotExist());
        assertThat(VmTestEnvironment.sha256(env.resolve("rootfs.ext4"))).isEqualTo(baseDigest);
    }

    static void signal(String sig, long pid) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
        assertThat(p.waitFor()).isZero();
    }
}
