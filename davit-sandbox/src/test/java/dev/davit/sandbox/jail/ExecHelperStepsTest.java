package dev.davit.sandbox.jail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.backend.CpuAffinity;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * davit-exec's {@code with} steps, which stand for the host programs that ran before its jail and exec modes
 * ({@code env --default-signal}, the cgroup join's {@code sh}, {@code taskset}, {@code setsid}): each is taken, in
 * this process, and a failed join leaves the marker davit reads and runs nothing.
 */
class ExecHelperStepsTest {
    @TempDir
    Path tmp;

    @Test
    void stepsGoBeforeTheModeAndNewOnesBeforeOldOnes() {
        List<String> jail = List.of("/h/cache/jail/davit-exec-amd64-1-2", "jail", "/proc/self/ns/user", "--", "cmd");
        assertThat(Jail.isHelperMode(jail)).isTrue();
        assertThat(Jail.isHelperMode(List.of("/usr/bin/bwrap", "jail"))).isFalse();
        assertThat(Jail.isHelperMode(List.of("/h/davit-exec-amd64-1-2", "vmm", "1"))).isFalse();
        assertThat(Jail.isHelperMode(List.of("/h/davit-exec-amd64-1-2"))).isFalse();
        List<String> joined = Jail.withSteps(jail, List.of("--cgroup", "/sys/fs/cgroup/x/cgroup.procs"));
        assertThat(joined).containsExactly("/h/cache/jail/davit-exec-amd64-1-2", "with", "--cgroup",
                "/sys/fs/cgroup/x/cgroup.procs", "--", "jail", "/proc/self/ns/user", "--", "cmd");
        assertThat(Jail.isHelperMode(joined)).isTrue();
        assertThat(Jail.withSteps(joined, List.of("--session"))).containsExactly("/h/cache/jail/davit-exec-amd64-1-2",
                "with", "--session", "--cgroup", "/sys/fs/cgroup/x/cgroup.procs", "--", "jail", "/proc/self/ns/user",
                "--", "cmd");
        assertThatThrownBy(() -> Jail.withSteps(List.of("/bin/sh", "-c", "x"), List.of("--session")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private Path helper() {
        assumeTrue(Jail.active(), "davit-exec's jail mode is davit's as root");
        Path h = Jail.execHelper(SandboxOptions.under(tmp.resolve("home")));
        assumeTrue(h != null, "the jar has davit's exec helper (built with gcc)");
        return h;
    }

    /** Runs {@code sh -c PRE; exec HELPER with STEPS -- jail /proc/self/ns/user -- sh -c SCRIPT}: {rc, out, err}. */
    private String[] withSteps(String pre, List<String> steps, String script) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(helper().toString(), "jail", "/proc/self/ns/user", "--", "/bin/sh",
                "-c", script));
        List<String> full = new ArrayList<>(List.of("/bin/sh", "-c", pre + "; exec \"$@\"", "sh"));
        full.addAll(steps == null ? cmd : Jail.withSteps(cmd, steps));
        Process p = new ProcessBuilder(full).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new String[] {Integer.toString(p.waitFor()), out, err};
    }

    @Test
    void theSessionTheCpusAndEveryIgnoredSignalBackToItsDefault() throws Exception {
        List<Integer> allowed = CpuAffinity.allowed();
        assumeTrue(!allowed.isEmpty(), "this process's CPUs are known");
        int last = allowed.get(allowed.size() - 1);
        // what started davit ignored HUP and INT (nohup, a background job): the command must not
        String[] r = withSteps("trap '' HUP INT", List.of("--session", "--cpus", Integer.toString(last)),
                "read -r stat < /proc/self/stat; set -- $stat; echo pid=$1 sid=$6;"
                        + " grep -E '^(SigIgn|Cpus_allowed_list):' /proc/self/status");
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        String pid = r[1].replaceAll("(?s).*pid=(\\d+).*", "$1");
        assertThat(r[1]).contains("sid=" + pid).contains("Cpus_allowed_list:\t" + last + "\n");
        assertThat(ignored(r[1]) & 0x3).as("HUP, INT ignored: " + r[1]).isZero();
        // the jail mode without steps resets them too (a run without limits starts it so, without env)
        String[] plain = withSteps("trap '' HUP INT", null, "grep -E '^SigIgn:' /proc/self/status");
        assertThat(plain[0]).as(plain[2]).isEqualTo("0");
        assertThat(ignored(plain[1]) & 0x3).as("HUP, INT ignored: " + plain[1]).isZero();
        // (glibc keeps 32 and 33 for itself: neither env --default-signal nor davit-exec can give them back)
        // the control: without davit-exec the command inherits them
        Process p = new ProcessBuilder("/bin/sh", "-c", "trap '' HUP INT; exec /bin/sh -c 'grep SigIgn /proc/self/status'")
                .start();
        String control = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        assertThat(ignored(control) & 0x3).as(control).isEqualTo(0x3);
    }

    /** The SigIgn mask of /proc/PID/status lines in {@code out}. */
    private static long ignored(String out) {
        return Long.parseUnsignedLong(out.replaceAll("(?s).*SigIgn:\\s*([0-9a-f]+).*", "$1"), 16);
    }

    @Test
    void aFailedCgroupJoinLeavesTheMarkerAndRunsNothing() throws Exception {
        Path marker = tmp.resolve("cgroup-failed");
        Path ran = tmp.resolve("ran");
        Path notACgroup = tmp.resolve("gone").resolve("cgroup.procs");
        String[] r = withSteps("true", List.of("--cgroup-failed", marker.toString(), "--cgroup",
                notACgroup.toString()), "touch " + ran);
        assertThat(r[0]).isEqualTo("125");
        assertThat(r[2]).startsWith("davit-exec: cannot join the cgroup " + notACgroup);
        assertThat(marker).exists();
        assertThat(ran).doesNotExist();
        // a file that is not a cgroup's procs file is not made one (the shell's > created it)
        Files.createDirectories(notACgroup.getParent());
        Path link = notACgroup.getParent().resolve("link.procs");
        Files.createSymbolicLink(link, tmp.resolve("elsewhere"));
        Files.delete(marker);
        r = withSteps("true", List.of("--cgroup-failed", marker.toString(), "--cgroup", link.toString()),
                "touch " + ran);
        assertThat(r[0]).isEqualTo("125");
        assertThat(tmp.resolve("elsewhere")).doesNotExist();
        assertThat(marker).exists();
        assertThat(ran).doesNotExist();
        // a marker name that is another file's hard link: that file is not truncated (made new, never opened)
        Files.delete(marker);
        Path precious = Files.writeString(tmp.resolve("precious"), "keep me");
        Files.createLink(marker, precious);
        r = withSteps("true", List.of("--cgroup-failed", marker.toString(), "--cgroup", notACgroup.toString()),
                "touch " + ran);
        assertThat(r[0]).isEqualTo("125");
        assertThat(precious).hasContent("keep me");
        assertThat(ran).doesNotExist();
    }

    @Test
    void badStepsAreRefusedBeforeAnythingRuns() throws Exception {
        Path ran = tmp.resolve("ran");
        for (List<String> steps : List.of(List.of("--bogus"), List.of("--cpus", "0-x"), List.of("--cpus", "99999"),
                List.of("--cpus", ""), List.of("--cpus", "0,"), List.of("--cpus", "-0"), List.of("--cpus", " 0"),
                List.of("--cpus", "1-0"), List.of("--cgroup"), List.of("--cgroup-failed", tmp.resolve("a").toString(),
                        "--cgroup-failed", tmp.resolve("b").toString()))) {
            String[] r = withSteps("true", steps, "touch " + ran);
            assertThat(r[0]).as(steps.toString()).isEqualTo("125");
            assertThat(r[2]).as(steps.toString()).startsWith("davit-exec: ");
            assertThat(ran).as(steps.toString()).doesNotExist();
        }
        Process p = new ProcessBuilder(helper().toString(), "with", "--", "vmm", "1", "2", "-", "--", "/bin/true")
                .redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isEqualTo(125);
        assertThat(said).contains("jail or exec must follow --");
    }

    /**
     * The launcher's sh and setpriv as the jail step's last steps ({@code --fd N FILE}, {@code --ids UID GID}): the
     * descriptors open for the command, no capability and no group left, and nothing run on a bad option.
     */
    @Test
    void theLaunchersDescriptorsAndIdsAreTheJailStepsOwn() throws Exception {
        Path h = helper();
        Path ran = tmp.resolve("ran");
        Files.writeString(tmp.resolve("four"), "4\n");
        Process p = new ProcessBuilder(h.toString(), "jail", "/proc/self/ns/user", "--fd", "5", "/dev/null", "--fd",
                "4", tmp.resolve("four").toString(), "--ids", "65534", "65534", "--", "/bin/sh", "-c",
                "read -r x <&4; echo fd4=$x; id -u; id -G; grep -E '^Cap(Prm|Eff):' /proc/self/status")
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(err).isZero();
        assertThat(out).isEqualTo("fd4=4\n65534\n65534\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n");
        // bubblewrap in a directory only root may search (a release's PATH of links, dist-test's): found as root, as
        // setpriv found it, and run as the ids
        Path hidden = Files.createDirectories(tmp.resolve("root-only/bin"));
        Files.setPosixFilePermissions(hidden.getParent(), java.nio.file.attribute.PosixFilePermissions.fromString(
                "rwx------"));
        Files.createSymbolicLink(hidden.resolve("sh"), Path.of("/bin/sh"));
        Process hid = new ProcessBuilder(h.toString(), "jail", "/proc/self/ns/user", "--ids", "65534", "65534", "--",
                hidden.resolve("sh").toString(), "-c", "id -u").redirectErrorStream(true).start();
        String hidOut = new String(hid.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(hid.waitFor()).as(hidOut).isZero();
        assertThat(hidOut).isEqualTo("65534\n");
        for (List<String> bad : List.of(List.of("--fd", "3", "/dev/null"), List.of("--fd", "4", "/dev/null", "--fd",
                "4", "/dev/null"), List.of("--fd", "x", "/dev/null"), List.of("--ids", "0", "0"),
                List.of("--ids", "1", ""), List.of("--ids", "-1", "1"), List.of("--fd", "+4", "/dev/null"),
                List.of("--fd", "4", tmp.resolve("missing").toString()))) {
            List<String> cmd = new ArrayList<>(List.of(h.toString(), "jail", "/proc/self/ns/user"));
            cmd.addAll(bad);
            cmd.addAll(List.of("--", "/bin/sh", "-c", "touch " + ran));
            Process q = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String said = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(q.waitFor()).as(bad.toString()).isEqualTo(125);
            assertThat(said).as(bad.toString()).startsWith("davit-exec: ");
            assertThat(ran).as(bad.toString()).doesNotExist();
        }
    }
}
