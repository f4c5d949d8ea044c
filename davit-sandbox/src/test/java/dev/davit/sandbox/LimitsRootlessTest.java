package dev.davit.sandbox;

import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.backend.LongLived;
import dev.davit.sandbox.backend.Nat;
import dev.davit.sandbox.container.BwrapBackend;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An unprivileged user where davit cannot make cgroups (no delegated cgroup v2, as on the CI's hybrid host): a run
 * with limits fails with a usage error naming the opt-out and leaves nothing behind; without limits it runs.
 */
class LimitsRootlessTest {
    @TempDir
    Path tmp;

    /** Runs {@code true} with the limits given (memory MiB, cpus, pids) and prints the outcome. */
    public static final class Child {
        public static void main(String[] args) {
            Sandboxes s = new Sandboxes(SandboxOptions.of(Path.of(args[0])));
            try {
                Limits asked = new Limits(Long.parseLong(args[2]), Double.parseDouble(args[3]),
                        Long.parseLong(args[4]), 0);
                ExecResult r = s.run(RunSpec.builder(Path.of(args[1])).runtime(BwrapBackend.RUNTIME)
                        .limits(asked.any() ? asked.withDiskMiB(Limits.DEFAULT_DISK_MIB) : asked)
                        .network(args.length > 5 ? Network.parse(args[5]) : Network.NONE).command("true").build());
                System.out.println("exit " + r.exitCode());
            } catch (DavitException e) {
                System.out.println("error " + e.kind() + ": " + e.getMessage());
            }
        }
    }

    /**
     * A fork loop of 1,500 sleepers in a one-shot run and in a long-lived sandbox's exec, with the process limit
     * {@code args[2]} alone, the run on runtime {@code args[3]}; prints what each started, its first error and how the limits were enforced.
     */
    public static final class ForkLoop {
        static final String LOOP = "(for i in $(seq 1500); do sleep 30 & echo $i > /tmp/n; done) 2>/tmp/err;"
                + " read n < /tmp/n; echo started $n; read e < /tmp/err; echo \"$e\"";

        public static void main(String[] args) {
            Sandboxes s = new Sandboxes(SandboxOptions.of(Path.of(args[0])));
            long pids = Long.parseLong(args[2]);
            Limits l = new Limits(0, 0, pids, pids > 0 ? Limits.DEFAULT_DISK_MIB : 0);
            try {
                ExecResult r = s.run(RunSpec.builder(Path.of(args[1])).runtime(args[3]).limits(l)
                        .timeout(java.time.Duration.ofMinutes(2)).command("sh", "-c", LOOP).build());
                System.out.print("run " + r.stdoutText());
                Sandbox sb = s.start(s.create(CreateSpec.builder(Path.of(args[1])).vcpus(1).memoryMiB(512).limits(l)
                        .build()).id());
                ExecResult e = s.exec(sb.id(), List.of("sh", "-c", LOOP), null, null, java.time.Duration.ofMinutes(2));
                s.rm(sb.id());
                System.out.println("exec " + e.stdoutText().strip().replace('\n', ' '));
                System.out.println("enforced_by " + l.enforcedBy());
            } catch (DavitException e) {
                System.out.println("error " + e.kind() + ": " + e.getMessage());
            }
        }
    }

    /** A long-lived sandbox without root: exec (as the image's root, mapped), stop, start, exec, rm. */
    public static final class LongLived {
        public static void main(String[] args) {
            Sandboxes s = new Sandboxes(SandboxOptions.of(Path.of(args[0])));
            try {
                Sandbox sb = s.start(s.create(CreateSpec.builder(Path.of(args[1])).limits(Limits.NONE).build())
                        .id());
                ExecResult a = s.exec(sb.id(), List.of("sh", "-c", "id -u; echo kept > /tmp/f"), null, null, null);
                s.stop(sb.id());
                s.start(sb.id());
                ExecResult b = s.exec(sb.id(), List.of("cat", "/tmp/f"), null, null, null);
                s.rm(sb.id());
                System.out.print("exec " + a.exitCode() + " " + a.stdoutText() + a.stderrText() + "again "
                        + b.exitCode() + " " + b.stdoutText() + b.stderrText());
            } catch (DavitException e) {
                System.out.println("error " + e.kind() + ": " + e.getMessage());
            }
        }
    }

    @Test
    void aLongLivedSandboxWorksWithoutRoot() throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox", "nsenter");
        Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root (CI runs as root)");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-lifecycle-rootless-")) {
            Path rootfs = readableRootfs(u);
            Path state = u.home().resolve("sandboxes");
            assertThat(u.java(List.of(), 2, LongLived.class.getName(), state.toString(), rootfs.toString()))
                    .isEqualTo("exec 0 0\nagain 0 kept\n");
            assertThat(BusyboxRootfs.entries(state)).isEmpty();
        }
    }

    private static Path readableRootfs(Unprivileged.Session u) throws java.io.IOException {
        Path rootfs = BusyboxRootfs.createFor(u.dir().resolve("rootfs"));
        Tools.run("chmod", "-R", "a+rX", rootfs.toString());
        return rootfs;
    }

    @Test
    void limitsThatCannotBeEnforcedFailNamingTheOptOut() throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox");
        Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root (CI runs as root)");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-limits-rootless-")) {
            Path rootfs = readableRootfs(u);
            Path state = u.home().resolve("sandboxes");
            // skipped where this user could make cgroups (a delegated cgroup v2): nothing to refuse there
            String limited = runAs(u, state, rootfs, "1024", "1", "1024");
            Assumptions.assumeFalse(limited.startsWith("exit "), "this host delegates cgroups to the user");
            assertThat(limited).startsWith("error USAGE: resource limits cannot be enforced here: ")
                    .contains("run without limits (Limits.NONE)", "Sandboxes.doctor()");
            assertThat(BusyboxRootfs.entries(state)).isEmpty();
            assertThat(runAs(u, state, rootfs, "0", "0", "0")).isEqualTo("exit 0\n");
        }
    }

    /**
     * Without cgroups a process limit still holds: RLIMIT_NPROC on the sandbox's chain stops a fork loop of 1,500 at
     * the limit (1,024, the default), in a one-shot run and in an exec into a long-lived sandbox, and the limits say
     * how they were enforced.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"bwrap", "crun", "runc"})
    void withoutCgroupsAForkLoopStopsAtTheProcessLimit(String rt) throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox", "nsenter", "prlimit", "unshare", rt);
        Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root (CI runs as root)");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-nproc-rootless-")) {
            Path rootfs = readableRootfs(u);
            Files.createSymbolicLink(rootfs.resolve("bin/seq"), Path.of("busybox"));
            Path state = u.home().resolve("sandboxes");
            String out = u.java(List.of(), 5, ForkLoop.class.getName(), state.toString(), rootfs.toString(), "1024",
                    rt);
            Assumptions.assumeFalse(out.contains("enforced_by cgroup"), "this host delegates cgroups to the user");
            assertThat(out).as(out).matches("(?s)run started \\d+\n.*can't fork.*\nexec started \\d+ .*can't fork.*"
                    + "\nenforced_by rlimit_nproc\n");
            for (String which : List.of("run", "exec")) {
                int started = Integer.parseInt(out.replaceAll("(?s).*" + which + " started (\\d+).*", "$1"));
                // the user's other processes (its JVM's threads) count too: a little below the limit, never past it
                assertThat(started).as(which).isBetween(512, 1023);
            }
            assertThat(BusyboxRootfs.entries(state)).isEmpty();
        }
    }

    /**
     * --network without root: slirp4netns opens /dev/net/tun as the user. Where the device is root's only (mode 0600,
     * as on this CI host) the run fails at once naming the device and the fixes, instead of waiting for a network that
     * never comes up; where it is open to all (Debian's 0666) the run works.
     */
    @Test
    void natWithoutRootNeedsAnOpenTunDevice() throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox", "slirp4netns");
        Assumptions.assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root (CI runs as root)");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-nat-rootless-")) {
            Path rootfs = readableRootfs(u);
            Path state = u.home().resolve("sandboxes");
            boolean open = ((Integer) Files.getAttribute(Nat.TUN, "unix:mode") & 06) == 06;
            String r = runAs(u, state, rootfs, "0", "0", "0", "nat");
            if (open) {
                assertThat(r).isEqualTo("exit 0\n");
            } else {
                assertThat(r).startsWith("error HOST_UNSUPPORTED: Network.NAT needs /dev/net/tun, which this user cannot open")
                        .contains("chmod 0666 /dev/net/tun", "Network.HOST");
            }
            assertThat(BusyboxRootfs.entries(state)).isEmpty();
        }
    }

    /** {@link Child} as the user: state directory, rootfs, then the limits (memory, cpus, pids) and a network. */
    private static String runAs(Unprivileged.Session u, Path state, Path rootfs, String... args) throws Exception {
        List<String> all = new java.util.ArrayList<>(List.of(state.toString(), rootfs.toString()));
        all.addAll(List.of(args));
        return u.java(List.of(), 2, Child.class.getName(), all.toArray(String[]::new));
    }
}
