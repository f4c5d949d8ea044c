package dev.davit.sandbox.jail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.BusyboxRootfs;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An attacker's tests of one-shot runs as root, on every container runtime: sandbox root is an unprivileged host
 * uid, holds the default capabilities only, runs under no_new_privs and the seccomp filter, cannot reach kernel
 * interfaces, sysctls, its cgroup's limits or the host's key rings, and the core_pattern escape does nothing.
 */
class JailTest {
    @TempDir
    Path tmp;

    Path rootfs;
    Sandboxes sandboxes;

    @BeforeEach
    void setUp() throws IOException {
        assumeTrue(Jail.active(), "the jail is davit's as root");
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        SandboxProbe.install(rootfs);
        sandboxes = new Sandboxes(SandboxOptions.under(tmp.resolve("home")));
    }

    private ExecResult run(String runtime, Limits limits, String user, String... argv) {
        RunSpec.Builder b = RunSpec.builder(rootfs).command(argv).limits(limits);
        if (runtime != null) {
            b.runtime(runtime);
        }
        if (user != null) {
            b.image(new dev.davit.sandbox.ImageConfig(null, null, null, null, user));
        }
        return sandboxes.run(b.build());
    }

    @Test
    void bwrapSandboxRootIsConfined() throws IOException {
        long[] keys = addHostKeys();
        try {
            ExecResult r = run("bwrap", Limits.NONE, null, "/bin/probe", Long.toString(keys[0]),
                    Long.toString(keys[1]));
            Map<String, String> p = SandboxProbe.parse(r.stdoutText());
            SandboxProbe.assertConfined(p, true);
            if (keys[0] > 0) {
                assertThat(p.get("read_key_" + keys[0])).as("the JVM's session key").isNotEqualTo("ok");
            }
            if (keys[1] > 0) {
                assertThat(p.get("read_key_" + keys[1])).as("root's user key").isNotEqualTo("ok");
            }
        } finally {
            removeHostKeys(keys);
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"crun", "runc"})
    void ociRuntimeSandboxRootIsConfined(String runtime) {
        Tools.assumeAvailable(runtime);
        ExecResult r = run(runtime, Limits.NONE, null, "/bin/probe");
        SandboxProbe.assertConfined(SandboxProbe.parse(r.stdoutText()), true);
        ExecResult u = run(runtime, Limits.NONE, "1000:1000", "/bin/probe");
        Map<String, String> p = SandboxProbe.parse(u.stdoutText());
        SandboxProbe.assertConfined(p, false);
        assertThat(p.get("uid")).isEqualTo("1000");
    }

    @Test
    void longLivedExecsServicesAndShellsAreConfined() throws Exception {
        dev.davit.sandbox.Sandbox s = sandboxes.create(dev.davit.sandbox.CreateSpec.builder(rootfs)
                .ttl(java.time.Duration.ofHours(1)).limits(Limits.NONE).build());
        sandboxes.start(s.id());
        try {
            ExecResult r = sandboxes.exec(s.id(), List.of("/bin/probe"), Map.of(), null,
                    java.time.Duration.ofSeconds(30));
            SandboxProbe.assertConfined(SandboxProbe.parse(r.stdoutText()), true);
            // what an exec writes to /tmp, /run and /var/tmp the next exec sees, owned by sandbox root
            ExecResult w = sandboxes.exec(s.id(), List.of("sh", "-c", "echo a > /tmp/a && echo b > /run/b"
                    + " && echo c > /var/tmp/c && echo d > /dev/shm/d"), Map.of(), null, null);
            assertThat(w.exitCode()).as(w.stderrText()).isZero();
            ExecResult seen = sandboxes.exec(s.id(), List.of("cat", "/tmp/a", "/run/b", "/var/tmp/c", "/dev/shm/d"),
                    Map.of(), null, null);
            assertThat(seen.stdoutText()).isEqualTo("a\nb\nc\nd\n");
            // a service (detached) and a shell (detached with a terminal)
            for (boolean terminal : new boolean[] {false, true}) {
                Path d = tmp.resolve(terminal ? "shell" : "service");
                Machinery.of(sandboxes).spawn(s.id(), List.of("/bin/probe"), Map.of(), null, d, terminal);
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (!Files.exists(d.resolve(Spawned.EXIT)) && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                String out = Files.readString(d.resolve(dev.davit.sandbox.internal.Spawned.OUTPUT)).replace("\r", "");
                SandboxProbe.assertConfined(SandboxProbe.parse(out), true);
            }
        } finally {
            sandboxes.rm(s.id());
        }
    }

    @Test
    void aWorkspaceExecIsConfinedAndCanChangeWhatDavitWrote() throws Exception {
        // the way the MCP server's workspace_exec and service tools go
        dev.davit.sandbox.workspace.Workspaces ws = dev.davit.sandbox.workspace.Workspaces.under(tmp.resolve("home"));
        dev.davit.sandbox.workspace.Workspace w = ws.create(WorkspaceSpec.builder(dev.davit.sandbox.CreateSpec
                .builder(rootfs).ttl(java.time.Duration.ofHours(1)).limits(Limits.NONE).build()).name("probe").build());
        try {
            ExecResult r = ws.execs().run(w.id(), ExecRequest.builder("/bin/probe")
                    .timeout(java.time.Duration.ofSeconds(30)).build());
            SandboxProbe.assertConfined(SandboxProbe.parse(r.stdoutText()), true);
            // a file davit writes into /workspace is the sandbox's to change
            ws.files().write(w.id(), "f.txt", new java.io.ByteArrayInputStream("a\n".getBytes()));
            ExecResult edit = ws.execs().run(w.id(), ExecRequest.builder("sh", "-c", "echo b >> f.txt && cat f.txt")
                    .build());
            assertThat(edit.stdoutText()).as(edit.stderrText()).isEqualTo("a\nb\n");
        } finally {
            ws.rm(w.id());
        }
    }

    @Test
    void withoutTheExecHelperExecsAreAsConfinedThroughABubblewrapOfTheirOwn() throws Exception {
        // a jar built without gcc has no davit-exec: execs, services and shells then take the bubblewrap way
        assertThat(Jail.execHelper(SandboxOptions.under(tmp.resolve("home")))).as("the jar's helper").isNotNull();
        System.setProperty("davit.jail.noExecHelper", "true");
        try {
            longLivedExecsServicesAndShellsAreConfined();
            anExecCannotLeaveThroughAWorkingDirectoryLink();
        } finally {
            System.clearProperty("davit.jail.noExecHelper");
        }
    }

    @Test
    void anExecCannotLeaveThroughAWorkingDirectoryLink() {
        dev.davit.sandbox.Sandbox s = sandboxes.create(dev.davit.sandbox.CreateSpec.builder(rootfs)
                .ttl(java.time.Duration.ofHours(1)).limits(Limits.NONE).build());
        sandboxes.start(s.id());
        try {
            // a link to / made by the sandbox: the working directory is resolved inside it, never on the host
            sandboxes.exec(s.id(), List.of("sh", "-c", "busybox ln -s / /up && touch /inside"), Map.of(), null, null);
            ExecResult r = sandboxes.exec(s.id(), List.of("ls"), Map.of(), "/up", null);
            assertThat(r.stdoutText()).contains("inside").doesNotContain("lost+found").doesNotContain("home");
        } finally {
            sandboxes.rm(s.id());
        }
    }

    @Test
    void aNonRootImageUserHasNoCapabilities() throws IOException {
        ExecResult r = run("bwrap", Limits.NONE, "1000:1000", "/bin/probe");
        Map<String, String> p = SandboxProbe.parse(r.stdoutText());
        SandboxProbe.assertConfined(p, false);
        assertThat(p.get("uid")).isEqualTo("1000");
    }

    @Test
    void filesTheSandboxWritesAreOwnedByTheRangeOnTheHostAndTheImageStillWorks() throws IOException {
        // root-owned image files are sandbox root's: it may write /etc and make a directory in /
        ExecResult r = run("bwrap", Limits.NONE, null, "sh", "-c",
                "echo x >> /etc/passwd && busybox mkdir /newdir && touch /newdir/f && ls -ln /etc/passwd && id -u");
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        assertThat(r.stdoutText()).contains(" 0        0 ").endsWith("0\n");
        assertThat(Files.readString(rootfs.resolve("etc/passwd"))).doesNotContain("x\n\n").startsWith("root:");
    }

    @Test
    void theCorePatternEscapeRunsNothingOnTheHost() throws IOException {
        Path pattern = Path.of("/proc/sys/kernel/core_pattern");
        String before = Files.readString(pattern);
        Path marker = tmp.resolve("escaped");
        Files.writeString(rootfs.resolve("bin/payload"), "#!/bin/sh\ntouch " + marker + "\n");
        Tools.run("chmod", "755", rootfs.resolve("bin/payload").toString());
        try {
            ExecResult r = run("bwrap", Limits.NONE, null, "sh", "-c",
                    "echo '|/proc/%P/root/bin/payload' > /proc/sys/kernel/core_pattern; echo rc=$?;"
                            + " sh -c 'kill -SEGV $$'; sleep 1");
            assertThat(r.stdoutText()).doesNotContain("rc=0");
            assertThat(Files.readString(pattern)).isEqualTo(before);
            assertThat(marker).doesNotExist();
        } finally {
            if (!Files.readString(pattern).equals(before)) {
                Files.writeString(pattern, before.strip()); // never leave the host changed, even when this fails
            }
        }
    }

    /**
     * The command's variables never reach the host programs that start it (the cgroup join's sh, setsid, script:
     * dynamically linked, as root): an LD_PRELOAD naming a file the sandbox wrote would run it on the host. A
     * missing library makes the host's loader complain, so any host program that saw it shows in the output; the
     * static busybox inside ignores it and still gets the variable.
     */
    @Test
    void theCommandsVariablesNeverReachHostPrograms() throws Exception {
        dev.davit.sandbox.Sandbox s = sandboxes.create(dev.davit.sandbox.CreateSpec.builder(rootfs)
                .ttl(java.time.Duration.ofHours(1)).limits(Limits.DEFAULT).build());
        sandboxes.start(s.id());
        Map<String, String> env = Map.of("LD_PRELOAD", "/davit-no-such-preload.so", "SHELL", "/bin/false");
        try {
            ExecResult r = sandboxes.exec(s.id(), List.of("sh", "-c", "echo $LD_PRELOAD $SHELL"), env, null,
                    java.time.Duration.ofSeconds(30));
            assertThat(r.stderrText()).doesNotContain("LD_PRELOAD");
            assertThat(r.stdoutText()).isEqualTo("/davit-no-such-preload.so /bin/false\n");
            for (boolean terminal : new boolean[] {false, true}) {
                Path d = tmp.resolve(terminal ? "env-shell" : "env-service");
                Machinery.of(sandboxes).spawn(s.id(), List.of("sh", "-c", "echo $LD_PRELOAD $SHELL"), env, null, d,
                        terminal);
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (!Files.exists(d.resolve(Spawned.EXIT)) && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                String out = Files.readString(d.resolve(dev.davit.sandbox.internal.Spawned.OUTPUT)).replace("\r", "");
                assertThat(out).as(terminal ? "shell" : "service").doesNotContain("LD_PRELOAD")
                        .contains("/davit-no-such-preload.so /bin/false\n");
            }
        } finally {
            sandboxes.rm(s.id());
        }
    }

    @Test
    void theSandboxCannotLiftItsLimits() {
        Limits limits = new Limits(64, 1, 64, Limits.DEFAULT_DISK_MIB);
        ExecResult r = run("bwrap", limits, null, "sh", "-c",
                "busybox mount -t cgroup -o memory none /tmp && echo mounted; ls /sys/fs/cgroup 2>&1;"
                        + " for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /proc/self/cgroup; do"
                        + " echo 9999999999 > $f && echo wrote $f; done; true");
        assertThat(r.stdoutText()).doesNotContain("mounted").doesNotContain("wrote");
        // the limit still holds
        ExecResult hog = run("bwrap", limits, null, "sh", "-c", "x=$(head -c 200000000 /dev/zero | busybox tr '\\0' a)");
        assertThat(hog.exitCode()).isEqualTo(137);
        assertThat(hog.oomKilled()).isTrue();
    }

    /** Adds a key to this JVM's session key ring and one to root's user key ring (python's ctypes); their ids. */
    private static long[] addHostKeys() {
        long[] ids = new long[2];
        if (Tools.which("python3").isEmpty()) {
            return ids;
        }
        for (int i = 0; i < 2; i++) {
            int ring = i == 0 ? -3 : -4; // KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING
            try {
                String out = Tools.run("python3", "-c", "import ctypes; l=ctypes.CDLL(None);"
                        + "print(l.syscall(248, b'user', b'davit-test-secret', b'secret', 6, " + ring + "))");
                ids[i] = Long.parseLong(out.strip());
            } catch (RuntimeException e) {
                ids[i] = 0;
            }
        }
        return ids;
    }

    private static void removeHostKeys(long[] ids) {
        for (long id : ids) {
            if (id > 0) {
                try {
                    Tools.run("python3", "-c", "import ctypes; l=ctypes.CDLL(None); l.syscall(250, 21, " + id + ")");
                } catch (RuntimeException e) {
                    // KEYCTL_INVALIDATE failed: the key expires with the key ring
                }
            }
        }
    }
}
