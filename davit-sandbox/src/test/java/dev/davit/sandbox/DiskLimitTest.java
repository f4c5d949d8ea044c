package dev.davit.sandbox;

import dev.davit.sandbox.host.CgroupProbe;
import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.davit.sandbox.jail.Jail;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The attacker's disk test ({@link Limits#diskMiB}): a sandbox given 256 MiB writes 1 GiB into its layer and into
 * each of /tmp, /var/tmp and /dev/shm, one-shot and long-lived; every write stops at the limit, the result says
 * {@code diskFull}, and the host's filesystem (where the state directory is) barely fills. As root only (davit
 * mounts the sandbox's disk); without root a sandbox has no disk of its own (docs/reference/sandbox/LIMITS.md).
 */
class DiskLimitTest {
    private static final Limits LIMITS = new Limits(1024, 1, 1024, 256);
    /** The places a sandbox writes to: its layer (/) and its scratch directories. */
    private static final List<String> PLACES = List.of("/big", "/tmp/big", "/var/tmp/big", "/dev/shm/big");

    @TempDir
    Path tmp;

    Path rootfs;
    Path state;
    Sandboxes sandboxes;

    private void setUp(String rt) throws IOException {
        assumeThat(Jail.active()).as("root (the sandbox's disk is a mount)").isTrue();
        assumeThat(CgroupProbe.probe().available()).as("cgroups davit can create").isTrue();
        rootfs = BusyboxRootfs.createFor(tmp.resolve("rootfs"), rt);
        for (String a : List.of("dd", "rm", "mkdir", "head", "grep", "df")) {
            if (!Files.exists(rootfs.resolve("bin").resolve(a), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(rootfs.resolve("bin").resolve(a), Path.of("busybox"));
            }
        }
        Files.createDirectories(rootfs.resolve("var/tmp"));
        Files.createDirectories(rootfs.resolve("run"));
        state = tmp.resolve("state");
        sandboxes = new Sandboxes(SandboxOptions.of(state));
    }

    /** 1 GiB into {@code file}, then how much of it got there (in MiB); the file is kept (the disk stays full). */
    private static String write(String file) {
        return "dd if=/dev/zero of=" + file + " bs=1M count=1024 2>/dev/null; echo rc=$?;"
                + " dd if=" + file + " of=/dev/null bs=1M 2>&1 | grep -o '^[0-9]*+' | head -n 1";
    }

    /**
     * What the test's directory (the rootfs and the state directory, where a sandbox's writes could land) takes on
     * the host's filesystem, in MiB: {@code du -x}, so neither the mounted disk's contents nor a tmpfs count twice.
     * Not the filesystem's free space: whatever else runs on the machine moves that.
     */
    private long hostMiB() throws IOException {
        Process du = new ProcessBuilder("du", "-sxm", tmp.toString()).redirectErrorStream(true).start();
        String out = new String(du.getInputStream().readAllBytes()).strip();
        try {
            assertThat(du.waitFor()).as("du: " + out).isZero();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        return Long.parseLong(out.split("\\s+")[0]);
    }

    private static void assertStopped(ExecResult r, String place) {
        assertStoppedOnly(r, place);
        assertThat(r.diskFull()).as("diskFull after writing " + place).isTrue();
    }

    /** The write to {@code place} failed with at most 256 MiB there (a tmpfs of its own: no diskFull). */
    private static void assertStoppedOnly(ExecResult r, String place) {
        String out = r.stdoutText();
        assertThat(out).as(place + ": " + r.stderrText()).contains("rc=1");
        int mib = Integer.parseInt(out.substring(out.indexOf('\n') + 1).replace("+", "").strip());
        assertThat(mib).as("MiB written to " + place).isLessThanOrEqualTo(256);
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void aOneShotRunCannotWritePastItsDisk(String rt) throws IOException {
        setUp(rt);
        // the layer and /tmp, /var/tmp and /dev/shm on the run's disk with bubblewrap; the OCI runtimes give the
        // scratch directories a tmpfs each of at most the disk's size (/dev/shm 64 MiB), where the write stops too
        for (String place : PLACES) {
            long before = hostMiB();
            ExecResult r = sandboxes.run(RunSpec.builder(rootfs).runtime(rt).limits(LIMITS)
                    .timeout(Duration.ofSeconds(120)).command("sh", "-c", write(place)).build());
            if (rt.equals("bwrap") || place.equals("/big")) {
                assertStopped(r, place);
            } else {
                assertStoppedOnly(r, place);
            }
            // a run's disk is a tmpfs (its memory): nothing of it on the host's disk (1 GiB before)
            assertThat(hostMiB() - before).as("host MiB taken by a write to " + place).isLessThan(64);
        }
        // filled, then emptied again before the command ends: seen while it ran
        ExecResult undone = sandboxes.run(RunSpec.builder(rootfs).runtime(rt).limits(LIMITS)
                .timeout(Duration.ofSeconds(120)).command("sh", "-c", write("/big") + "; sleep 0.5; rm /big").build());
        assertThat(undone.diskFull()).as("diskFull of a run that deleted what filled its disk").isTrue();
        ExecResult small = sandboxes.run(RunSpec.builder(rootfs).runtime(rt).limits(LIMITS)
                .command("sh", "-c", "dd if=/dev/zero of=/tmp/x bs=1M count=8 2>/dev/null").build());
        assertThat(small.exitCode()).isZero();
        assertThat(small.diskFull()).isFalse();
        assertThat(BusyboxRootfs.entries(state)).isEmpty(); // the run's disk unmounted, its directory gone
    }

    /** The size in MiB of the filesystem of {@code dir} in a run with {@code limits}, as its df says. */
    private long tmpfsMiB(String rt, Limits limits, String dir) {
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).runtime(rt).limits(limits)
                .command("df", "-m", dir).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        String[] lines = r.stdoutText().strip().split("\n");
        return Long.parseLong(lines[lines.length - 1].trim().split("\\s+")[1]);
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void withoutAMemoryLimitATmpfsDiskTakesAtMostAnEighthOfTheRam(String rt) throws IOException {
        setUp(rt);
        String mem = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
                .findFirst().orElseThrow();
        long eighth = (Long.parseLong(mem.replaceAll("\\D", "")) >> 10) / 8;
        assumeThat(eighth).as("a host with less than 80 GiB of RAM").isLessThan(10240);
        // no memory cgroup to charge the tmpfs's pages to: the size is what bounds them
        assertThat(tmpfsMiB(rt, new Limits(0, 1, 1024, 10240), "/tmp")).isBetween(eighth - 64, eighth + 1);
        // with one, the disk limit as asked (its pages are charged to the memory limit)
        assertThat(tmpfsMiB(rt, new Limits(1024, 1, 1024, 10240), "/tmp")).isBetween(10240L - 64, 10241L);
    }

    @Test
    void aLongLivedSandboxCannotWritePastItsDiskAndItsFilesLast() throws IOException {
        setUp("bwrap");
        Sandbox s = sandboxes.create(CreateSpec.builder(rootfs).limits(LIMITS).build());
        try {
            sandboxes.start(s.id());
            for (String place : PLACES) {
                long before = hostMiB();
                ExecResult r = sandboxes.exec(s.id(), List.of("sh", "-c", write(place)), null, null,
                        Duration.ofSeconds(120));
                assertStopped(r, place);
                // its disk image takes on the host what was written in it, never more than the limit (1 GiB before)
                assertThat(hostMiB() - before).as("host MiB taken by a write to " + place).isLessThan(256 + 64);
                assertThat(sandboxes.exec(s.id(), List.of("rm", place), null, null, Duration.ofSeconds(20))
                        .diskFull()).as("full after the rm of " + place).isFalse();
            }
            ExecResult undone = sandboxes.exec(s.id(), List.of("sh", "-c", write("/tmp/big")
                    + "; sleep 0.5; rm /tmp/big"), null, null, Duration.ofSeconds(120));
            assertThat(undone.diskFull()).as("diskFull of an exec that deleted what filled its disk").isTrue();
            ExecResult keep = sandboxes.exec(s.id(), List.of("sh", "-c", "echo kept > /kept; echo t > /tmp/t"), null,
                    null, Duration.ofSeconds(20));
            assertThat(keep.exitCode()).isZero();
            assertThat(keep.diskFull()).isFalse();
            sandboxes.stop(s.id());
            // as after a reboot: the disk is not mounted; the next start mounts it again, its files there
            Path dir = state.resolve(s.id());
            dev.davit.sandbox.jail.Disk.release(sandboxes.options(), dir);
            assertThat(dev.davit.sandbox.jail.Disk.mounted(dir)).isFalse();
            sandboxes.start(s.id());
            assertThat(dev.davit.sandbox.jail.Disk.mounted(dir)).isTrue();
            ExecResult again = sandboxes.exec(s.id(), List.of("cat", "/kept", "/tmp/t"), null, null,
                    Duration.ofSeconds(20));
            assertThat(again.stdoutText()).isEqualTo("kept\nt\n");
            // a budget, not a time: the disk's watch of 20 execs in a row is one thread of the process, not one each
            java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
            long started = threads.getTotalStartedThreadCount();
            for (int i = 0; i < 20; i++) {
                assertThat(sandboxes.exec(s.id(), List.of("true"), null, null, Duration.ofSeconds(20)).exitCode())
                        .isZero();
            }
            assertThat(threads.getTotalStartedThreadCount() - started).as("platform threads started by 20 execs")
                    .isLessThanOrEqualTo(2);
        } finally {
            sandboxes.rm(s.id());
        }
        assertThat(state.resolve(s.id())).doesNotExist();
    }
}
