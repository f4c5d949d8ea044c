package dev.davit.sandbox;

import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.internal.SandboxJson;
import dev.davit.sandbox.vm.Machine;
import dev.davit.sandbox.vm.VmImages;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One-shot runs of the vm backend: real QEMU (TCG here) over the small busybox environment. */
class VmRunTest {
    static Path env;

    @TempDir
    Path tmp;

    @BeforeAll
    static void environment() throws IOException {
        env = VmTestEnvironment.get();
    }

    private Sandboxes sandboxes() {
        return new Sandboxes(SandboxOptions.of(tmp.resolve("state")));
    }

    private static RunSpec.Builder vm(String... argv) {
        return RunSpec.builder(env).backend("vm").memoryMiB(256).command(argv);
    }

    @Test
    void runsACommandAndLeavesNothingBehind() throws IOException {
        String before = VmTestEnvironment.sha256(env.resolve("rootfs.ext4"));
        Sandboxes sandboxes = sandboxes();
        ExecResult r = sandboxes.run(vm("sh", "-c", "echo out; echo err >&2; echo x > /bin/new; cat /bin/new; exit 3")
                .env("A", "1").build());
        System.out.println("one-shot timings " + SandboxJson.timings(r.timings()));
        assertThat(r.exitCode()).as(r.stderrText()).isEqualTo(3);
        assertThat(r.stdoutText()).isEqualTo("out\nx\n");
        assertThat(r.stderrText()).isEqualTo("err\n");
        assertThat(r.backend()).isEqualTo("vm");
        assertThat(r.runtime()).isEqualTo("qemu");
        assertNoSandboxLeft();
        assertThat(VmTestEnvironment.sha256(env.resolve("rootfs.ext4"))).isEqualTo(before);
        // a failing run cleans up too
        assertThatThrownBy(() -> sandboxes.run(vm("pwd").workdir("/nonexistent").build()))
                .isInstanceOf(DavitException.class).hasMessageContaining("/nonexistent does not exist");
        assertNoSandboxLeft();
        assertThat(VmTestEnvironment.sha256(env.resolve("rootfs.ext4"))).isEqualTo(before);
    }

    @Test
    void natNetworkKeepsTheHostsLoopbackOutTwoVcpusAndATimeout() throws Exception {
        // --network: QEMU runs in a network namespace of its own, so its gateway 10.0.2.2 is not the host
        java.time.Instant began = java.time.Instant.now().minusSeconds(1);
        try (java.net.ServerSocket loop = new java.net.ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress())) {
            Sandboxes sandboxes = sandboxes();
            CompletableFuture<String> resolver = CompletableFuture.supplyAsync(VmRunTest::qemuResolver);
            CompletableFuture<ExecResult> run = NetworkTest.onThread(() -> sandboxes.run(vm("sh", "-c",
                    "ls /sys/class/net; /.davit/busybox ip -4 addr show eth0; /.davit/busybox ip route;"
                    + " /.davit/busybox nproc; if /.davit/busybox nc -w 2 10.0.2.2 " + loop.getLocalPort()
                    + " </dev/null; then echo host-reached; else echo host-refused; fi; sleep 60")
                    .network(Network.NAT).vcpus(2).timeout(Duration.ofSeconds(8)).build()));
            // its slirp4netns, which parses every packet QEMU sends, is confined as a container's is
            NetworkTest.assertConfined(NetworkTest.awaitSlirp(tmp, run), dev.davit.sandbox.jail.Jail.AS_ROOT);
            ExecResult r = run.join();
            assertThat(r.exitCode()).as(r.stderrText()).isEqualTo(124);
            assertThat(r.timedOut()).isTrue();
            assertThat(r.stdoutText()).startsWith("eth0\nlo\n").contains("inet 10.0.2.15/24")
                    .contains("default via 10.0.2.2").contains("\n2\n").endsWith("host-refused\n");
            assertThat(r.timings().execMs()).isBetween(7_500L, 20_000L);
            // in its own root, QEMU's user-mode network forwards the guest's DNS to slirp4netns's forwarder
            if (dev.davit.sandbox.jail.Jail.vmmHasOwnRoot(SandboxOptions.of(tmp.resolve("state")))) {
                assertThat(resolver.join()).isEqualTo("nameserver 10.0.2.3\n");
            }
        }
        assertNoSandboxLeft();
        // its slirp4netns ends with it (it would outlive its namespace)
        assertThat(ProcessHandle.allProcesses().filter(h -> h.info().command().orElse("").endsWith("slirp4netns")
                && h.info().startInstant().map(t -> t.isAfter(began)).orElse(false)).toList()).isEmpty();
    }

    @Test
    void aVmThatCannotBootIsReportedInOneLineWithItsConsole() throws IOException {
        // an initrd without busybox: davit's init (a busybox script) cannot run, and the kernel panics
        Path broken = tmp.resolve("broken");
        Files.createDirectories(broken);
        Files.createSymbolicLink(broken.resolve("vmlinux"), env.resolve("vmlinux"));
        Files.createSymbolicLink(broken.resolve("rootfs.ext4"), env.resolve("rootfs.ext4"));
        try (var cpio = new org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream(
                Files.newOutputStream(broken.resolve("initrd")))) {
            var d = new org.apache.commons.compress.archivers.cpio.CpioArchiveEntry("dev", 0);
            d.setMode(org.apache.commons.compress.archivers.cpio.CpioConstants.C_ISDIR | 0755);
            cpio.putArchiveEntry(d);
            cpio.closeArchiveEntry();
        }
        Sandboxes sandboxes = sandboxes();
        try {
            assertThatThrownBy(() -> sandboxes.run(RunSpec.builder(broken).backend("vm").memoryMiB(256)
                    .command("true").build()))
                    .isInstanceOf(DavitException.class)
                    .hasMessageContaining("did not boot: QEMU exited; console: Kernel panic - not syncing:")
                    .hasMessageNotContaining("\n");
            assertNoSandboxLeft();
        } finally {
            Files.delete(broken.resolve("vmlinux"));
            Files.delete(broken.resolve("rootfs.ext4"));
        }
    }

    @Test
    void aVmThatDiesDuringTheCommandIsReportedAndCleanedUp() throws Exception {
        Sandboxes sandboxes = sandboxes();
        CompletableFuture<ExecResult> running = CompletableFuture.supplyAsync(() -> sandboxes.run(vm("sh", "-c",
                "echo davit-test: the command runs > /dev/console; exec sleep 60").timeout(Duration.ofSeconds(120))
                .build()));
        // once the command runs (its line on the console), QEMU crashes
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!consoleSays("davit-test: the command runs") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        Thread.sleep(200);
        ProcessHandle qemu = ProcessHandle.current().descendants()
                .filter(p -> p.info().command().orElse("").contains("qemu-system")).findFirst().orElseThrow();
        qemu.destroyForcibly();
        assertThatThrownBy(running::join).hasCauseInstanceOf(DavitException.class).cause()
                .hasMessageContaining("stopped while the command ran").hasMessageNotContaining("\n");
        assertNoSandboxLeft();
    }

    @Test
    void aQemuThatOutgrowsItsCgroupIsReportedAsKilledByTheOomKillerAndItsCgroupRemoved() throws IOException {
        // QEMU's cgroup allows the guest's memory + an overhead; with almost none, a guest that fills its memory
        // takes QEMU past the limit, and the kernel's OOM killer ends it: one line naming the limit, not a hang
        org.junit.jupiter.api.Assumptions.assumeTrue(Limits.unenforceable() == null, "cgroups can be made here");
        System.setProperty("davit.vm.memoryOverheadMiB", "48");
        String message;
        try {
            Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> sandboxes().run(vm("sh", "-c",
                    "mkdir -p /mnt/m && mount -t tmpfs -o size=250m m /mnt/m && dd if=/dev/zero of=/mnt/m/f bs=1M"
                            + " count=240 && echo survived").timeout(Duration.ofSeconds(120)).build()));
            assertThat(t).isInstanceOf(DavitException.class);
            message = t.getMessage();
        } finally {
            System.clearProperty("davit.vm.memoryOverheadMiB");
        }
        System.out.println("QEMU out of memory: " + message);
        assertThat(message).contains("OOM killer killed QEMU at its cgroup's memory limit of 304 MiB")
                .doesNotContain("\n");
        assertNoSandboxLeft();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("sandbox (sb-[0-9a-z-]+)").matcher(message);
        assertThat(m.find()).as(message).isTrue();
        assertThat(cgroupNamed(m.group(1))).isEmpty();
    }

    /** The /etc/resolv.conf in the root of this test's running QEMU, once it runs (within 60 s), or null. */
    private static String qemuResolver() {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            for (ProcessHandle p : ProcessHandle.current().descendants().toList()) {
                try {
                    if (Files.readString(Path.of("/proc", Long.toString(p.pid()), "cmdline")).startsWith(
                            "/usr/bin/qemu-system")) {
                        return Files.readString(Path.of("/proc", Long.toString(p.pid()), "root/etc/resolv.conf"));
                    }
                } catch (IOException e) {
                    // not QEMU yet, or gone
                }
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return null;
            }
        }
        return null;
    }

    /** The directories of a cgroup of davit's named {@code id} below this process's memory and pids cgroups. */
    static List<Path> cgroupNamed(String id) throws IOException {
        List<Path> found = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
            String[] f = line.split(":", 3);
            if (f[1].equals("memory") || f[1].equals("pids")) {
                Path d = Path.of("/sys/fs/cgroup", f[1], f[2].substring(1), "davit", id);
                if (Files.exists(d)) {
                    found.add(d);
                }
            }
        }
        return found;
    }

    private boolean consoleSays(String text) throws IOException {
        try (Stream<Path> s = Files.list(tmp.resolve("state"))) {
            for (Path d : s.filter(p -> p.getFileName().toString().startsWith("sb-")).toList()) {
                Path console = d.resolve(Machine.CONSOLE);
                try {
                    if (Files.readString(console, java.nio.charset.StandardCharsets.ISO_8859_1).contains(text)) {
                        return true;
                    }
                } catch (IOException e) {
                    // not there yet
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        }
        return false;
    }

    /**
     * A root disk with nothing of davit's (no /.davit, no shell) still boots: the init and davit-agent come from the
     * initrd davit boots every environment with, so its command is merely not found there.
     */
    @Test
    void aRootDiskWithNothingOfDavitsBootsItsInitAndAgentComeFromTheInitrd() throws IOException {
        Path noAgent = tmp.resolve("no-agent");
        Files.createDirectories(noAgent.resolve("rootfs/bin"));
        new VmImages(VmTestEnvironment.cacheDir()).buildRootfsImage(noAgent.resolve("rootfs"),
                noAgent.resolve("rootfs.ext4"), 0);
        Files.createSymbolicLink(noAgent.resolve("vmlinux"), env.resolve("vmlinux"));
        Files.createSymbolicLink(noAgent.resolve("initrd"), env.resolve("initrd"));
        try {
            ExecResult r = sandboxes().run(RunSpec.builder(noAgent).backend("vm").memoryMiB(256)
                    .command("true").build());
            assertThat(r.exitCode()).as(r.stderrText()).isEqualTo(127);
            assertThat(r.stderrText()).contains("true: command not found");
            assertNoSandboxLeft();
        } finally {
            Files.delete(noAgent.resolve("vmlinux"));
            Files.delete(noAgent.resolve("initrd"));
        }
    }

    /**
     * A root disk whose /.davit is a link (to its own /, where a /run/davit-agent of the disk's waits) never gets to
     * choose PID 1: the initrd's init refuses to follow it, and the boot fails saying why.
     */
    @Test
    void aRootDiskWhoseDavitDirectoryIsALinkChoosesNoInit() throws IOException {
        Path linked = tmp.resolve("linked");
        Files.createDirectories(linked.resolve("rootfs/run"));
        Files.createSymbolicLink(linked.resolve("rootfs/.davit"), Path.of("/"));
        Files.writeString(linked.resolve("rootfs/run/davit-agent"), "#!/bin/sh\necho the disk's own init\n");
        new VmImages(VmTestEnvironment.cacheDir()).buildRootfsImage(linked.resolve("rootfs"),
                linked.resolve("rootfs.ext4"), 0);
        Files.createSymbolicLink(linked.resolve("vmlinux"), env.resolve("vmlinux"));
        Files.createSymbolicLink(linked.resolve("initrd"), env.resolve("initrd"));
        try {
            assertThatThrownBy(() -> sandboxes().run(RunSpec.builder(linked).backend("vm").memoryMiB(256)
                    .command("true").build()))
                    .isInstanceOf(DavitException.class)
                    .hasMessageContaining("did not boot: QEMU exited")
                    .hasMessageContaining("davit-init: /.davit or /.davit/run on the root disk is not a directory");
            assertNoSandboxLeft();
        } finally {
            Files.delete(linked.resolve("vmlinux"));
            Files.delete(linked.resolve("initrd"));
        }
    }

    @Test
    void aMissingEnvironmentOrQemuIsAUsageProblem() {
        assertThatThrownBy(() -> sandboxes().run(RunSpec.builder(tmp).backend("vm").command("true").build()))
                .isInstanceOf(DavitException.class).hasMessageContaining("no vmlinux");
        Sandboxes noQemu = new Sandboxes(SandboxOptions.of(tmp.resolve("state")).withSearchPath("/nonexistent"));
        assertThatThrownBy(() -> noQemu.run(RunSpec.builder(env).backend("vm").command("true").build()))
                .isInstanceOf(DavitException.class).hasMessageContaining("qemu-system-x86_64 is not installed");
    }

    private void assertNoSandboxLeft() throws IOException {
        try (Stream<Path> s = Files.list(tmp.resolve("state"))) {
            assertThat(s.filter(p -> p.getFileName().toString().startsWith("sb-")).toList()).isEmpty();
        }
        assertThat(ProcessHandle.current().descendants()
                .filter(p -> p.info().command().orElse("").contains("qemu-system")).toList()).isEmpty();
    }
}
