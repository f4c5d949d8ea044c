package dev.davit.sandbox.container;

import dev.davit.sandbox.BusyboxRootfs;
import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.internal.SandboxJson;
import dev.davit.sandbox.backend.Machinery;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The container backend's crun and runc runtimes, for real, over a busybox root filesystem. */
class OciRuntimeBackendTest {
    @TempDir
    Path tmp;

    Path rootfs;
    Path state;
    Sandboxes sandboxes;
    String runtime;

    private void setUp(String rt) throws IOException {
        runtime = rt;
        rootfs = BusyboxRootfs.createFor(tmp.resolve("rootfs"), rt);
        state = tmp.resolve("state");
        sandboxes = new Sandboxes(SandboxOptions.of(state));
    }

    private RunSpec.Builder spec(String... argv) {
        return RunSpec.builder(rootfs).runtime(runtime).command(argv).timeout(Duration.ofSeconds(60));
    }

    private ExecResult run(String... argv) {
        return sandboxes.run(spec(argv).build());
    }

    private List<String> stateEntries() throws IOException {
        return BusyboxRootfs.entries(state);
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void stdoutAndStderrAreSeparateAndTheExitCodeIsTheCommands(String rt) throws IOException {
        setUp(rt);
        ExecResult r = run("sh", "-c", "echo out; echo err >&2; exit 3");
        assertThat(r.stdoutText()).isEqualTo("out\n");
        assertThat(r.stderrText()).isEqualTo("err\n");
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.timedOut()).isFalse();
        assertThat(r.backend()).isEqualTo("container");
        assertThat(r.runtime()).isEqualTo(rt);
        assertThat(r.sandboxId()).matches("sb-[0-9a-f]{12}");
        assertThat(r.timings().totalMs()).isGreaterThanOrEqualTo(r.timings().execMs());
        assertThat(stateEntries()).isEmpty();

        ExecResult ok = run("true");
        assertThat(ok.exitCode()).as(ok.stderrText()).isZero();
        assertThat(ok.stdout()).isEmpty();
        assertThat(ok.stderr()).isEmpty();
        assertThat(run("false").exitCode()).isEqualTo(1);
        ExecResult h = run("cat", "/proc/sys/kernel/hostname");
        assertThat(h.stdoutText()).isEqualTo(h.sandboxId() + "\n");
        assertThat(stateEntries()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void stdinReachesTheCommand(String rt) throws IOException {
        setUp(rt);
        ExecResult r = sandboxes.run(spec("sh", "-c", "cat; echo end").build(),
                new java.io.ByteArrayInputStream("a\nb\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                null, null);
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        assertThat(r.stdoutText()).isEqualTo("a\nb\nend\n");
        assertThat(stateEntries()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void aMissingCommandIs127AndANonExecutableOne126(String rt) throws IOException {
        setUp(rt);
        ExecResult r = run("no-such-command", "x");
        assertThat(r.exitCode()).as(r.stderrText()).isEqualTo(127);
        assertThat(r.stderrText()).contains("no-such-command");
        assertThat(run("/bin/no-such-command").exitCode()).isEqualTo(127);
        assertThat(run("sh", "-c", "no-such-command").exitCode()).isEqualTo(127);

        Path script = rootfs.resolve("bin/not-executable");
        Files.writeString(script, "#!/bin/sh\necho never\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
        ExecResult ne = run("/bin/not-executable");
        assertThat(ne.exitCode()).as(ne.stderrText()).isEqualTo(126);
        assertThat(ne.stdoutText()).isEmpty();
        assertThat(run("/etc").exitCode()).isEqualTo(126); // a directory
        assertThat(run("sh", "-c", "/bin/not-executable").exitCode()).isEqualTo(126);
        assertThat(stateEntries()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void envWorkdirAndImageDefaults(String rt) throws IOException {
        setUp(rt);
        ImageConfig image = new ImageConfig(List.of(), List.of("sh", "-c", "echo $A-$B-$HOME; pwd"),
                List.of("A=image", "B=image", "HOME=/work"), "/work", null);
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).runtime(rt).image(image).env("B", "mine").build());
        assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo("image-mine-/work\n/work\n");

        ExecResult w = sandboxes.run(spec("pwd").workdir("/tmp").image(image).build());
        assertThat(w.stdoutText()).isEqualTo("/tmp\n");
        // a symbolic link to a directory is a working directory too
        Files.createSymbolicLink(rootfs.resolve("w"), Path.of("work"));
        assertThat(sandboxes.run(spec("sh", "-c", "cd -P . && pwd").workdir("/w").build()).stdoutText())
                .isEqualTo("/work\n");

        ExecResult e = sandboxes.run(spec("env").env("X", "1").build());
        // the runtimes add HOME (from /etc/passwd) when the image does not set it; nothing else comes from the host
        assertThat(e.stdoutText().lines().sorted().toList()).as(e.stderrText()).containsExactly(
                "HOME=/root", "PATH=" + RunSpec.DEFAULT_PATH, "X=1");

        ImageConfig entry = new ImageConfig(List.of("echo", "entry"), List.of("default"), List.of(), null, null);
        assertThat(sandboxes.run(RunSpec.builder(rootfs).runtime(rt).image(entry).build()).stdoutText())
                .isEqualTo("entry default\n");
        assertThat(sandboxes.run(RunSpec.builder(rootfs).runtime(rt).image(entry).command("given").build())
                .stdoutText()).isEqualTo("entry given\n");
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void theImageUserIsUsed(String rt) throws IOException {
        setUp(rt);
        ImageConfig app = new ImageConfig(List.of(), List.of(), List.of(), "/work", "app");
        if (!Overlay.ROOT && rt.equals("runc") && dev.davit.sandbox.jail.Subids.forUser(SandboxOptions.of(state)) == null) {
            // rootless runc needs uid 0 mapped, and without subordinate ids there is only one uid to map
            assertThatThrownBy(() -> sandboxes.run(spec("id").image(app).build()))
                    .hasMessageContaining("runc cannot run the image's non-root user 'app' without root");
            return;
        }
        ExecResult r = sandboxes.run(spec("sh", "-c", "id -u; id -g; pwd; echo x > /tmp/f && ls -n /tmp/f")
                .image(app).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        List<String> lines = r.stdoutText().lines().toList();
        assertThat(lines.subList(0, 3)).containsExactly("1000", "1000", "/work");
        assertThat(lines.get(3)).contains(" 1000 ").contains(" 1000 ");
        if (Overlay.ROOT) {
            // a user is not root: it cannot write where only root can (rootless, the user owns every file, as the
            // caller does on the host)
            ExecResult denied = sandboxes.run(spec("touch", "/etc/x").image(app).build());
            assertThat(denied.exitCode()).isNotZero();
            assertThat(denied.stderrText()).contains("Permission denied");
        }

        ImageConfig numeric = new ImageConfig(List.of(), List.of(), List.of(), null, "4242:4343");
        ExecResult n = sandboxes.run(spec("sh", "-c", "id -u; id -g").image(numeric).build());
        assertThat(n.stdoutText()).as(n.stderrText()).isEqualTo("4242\n4343\n");

        ExecResult root = run("sh", "-c", "id -u; grep Cap[EP] /proc/self/status");
        assertThat(root.stdoutText()).as(root.stderrText()).startsWith("0\n");
        if (dev.davit.sandbox.jail.Jail.active()) {
            // the jail's default set (jail.Capabilities: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID,
            // SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, SETFCAP), held in the sandbox's user namespace
            assertThat(root.stdoutText()).contains("CapPrm:\t00000000800405fb", "CapEff:\t00000000800405fb");
        } else {
            // the three capabilities of runc's default spec: AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10)
            assertThat(root.stdoutText()).contains("CapPrm:\t0000000020000420", "CapEff:\t0000000020000420");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void aMissingWorkdirIsAUsageErrorAndCreatesNothing(String rt) throws IOException {
        setUp(rt);
        List<String> before = listing(rootfs);
        for (String dir : List.of("/nope", "/work/nope", "/etc/passwd", "/tmp/nope")) {
            assertThatThrownBy(() -> sandboxes.run(spec("pwd").workdir(dir).build()))
                    .isInstanceOf(DavitException.class).hasMessageContaining(dir)
                    .extracting(t -> ((DavitException) t).kind()).isEqualTo(DavitException.Kind.USAGE);
        }
        assertThat(listing(rootfs)).isEqualTo(before);
        assertThat(stateEntries()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void aRuntimeFailureIsOneInternalLineAndLeavesNothing(String rt) throws IOException {
        setUp(rt);
        // /proc is the runtime's own: it cannot make a working directory there
        assertThatThrownBy(() -> sandboxes.run(spec("pwd").workdir("/proc/davit-nope").build()))
                .isInstanceOf(DavitException.class)
                .satisfies(t -> {
                    assertThat(((DavitException) t).kind()).isEqualTo(DavitException.Kind.INTERNAL);
                    assertThat(t.getMessage()).startsWith(rt + " could not set up the sandbox: ").doesNotContain("\n");
                });
        assertThat(stateEntries()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void theTimeoutKillsEverythingAndReports124(String rt) throws IOException {
        setUp(rt);
        String marker = "davit-timeout-" + System.nanoTime();
        ExecResult r = sandboxes.run(spec("sh", "-c", "sleep 60 & sleep 60; echo never").env("MARK", marker)
                .timeout(Duration.ofMillis(1500)).build());
        assertThat(r.timedOut()).isTrue();
        assertThat(r.exitCode()).isEqualTo(124);
        assertThat(r.runtime()).isEqualTo(rt);
        assertThat(r.stdoutText()).isEmpty();
        assertThat(r.timings().execMs()).isBetween(1400L, 15_000L);
        assertThat(processesWith(marker)).isEmpty();
        assertThat(processesWith(r.sandboxId())).isEmpty();
        assertThat(cgroupsNamed(r.sandboxId())).isEmpty();
        assertThat(stateEntries()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void aCommandKilledBySignalNIs128PlusN(String rt) throws Exception {
        setUp(rt);
        String marker = "davit-signal-" + System.nanoTime();
        CompletableFuture<ExecResult> r = CompletableFuture.supplyAsync(() -> sandboxes.run(spec("sleep", "30")
                .env("MARK", marker).build()));
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        List<Long> pids = List.of();
        while (pids.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
            pids = processesWith(marker);
        }
        pids = pids.stream().distinct().toList();
        assertThat(pids).hasSize(1); // the command (the container's pid 1), seen from the host
        ProcessHandle.of(pids.get(0)).orElseThrow().destroyForcibly();
        ExecResult done = r.get(20, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(done.exitCode()).isEqualTo(128 + 9);
        assertThat(done.timedOut()).isFalse();
        assertThat(stateEntries()).isEmpty();
    }

    private static List<Long> processesWith(String s) throws IOException {
        return BwrapBackendTest.processesWith(s);
    }

    /** cgroup directories named {@code id} (runc as root makes one per container). */
    private static List<Path> cgroupsNamed(String id) throws IOException {
        Path root = Path.of("/sys/fs/cgroup");
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> s = Files.find(root, 6, (p, a) -> a.isDirectory() && p.getFileName() != null
                && p.getFileName().toString().equals(id))) {
            return s.toList();
        } catch (java.io.UncheckedIOException e) {
            return List.of();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void thereIsNoNetworkByDefault(String rt) throws IOException {
        setUp(rt);
        ExecResult r = run("cat", "/proc/net/dev");
        List<String> ifaces = r.stdoutText().lines().skip(2).map(l -> l.strip().split(":")[0]).toList();
        assertThat(ifaces).as(r.stderrText()).containsExactly("lo");

        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            ExecResult nc = run("sh", "-c", "echo hi | nc 127.0.0.1 " + server.getLocalPort());
            assertThat(nc.exitCode()).as(nc.stderrText()).isNotZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void networkSharesTheHostsNetwork(String rt) throws IOException {
        setUp(rt);
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> got = CompletableFuture.supplyAsync(() -> {
                try (var s = server.accept()) {
                    return new String(s.getInputStream().readNBytes(3), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    return e.toString();
                }
            });
            ExecResult nc = sandboxes.run(spec("sh", "-c", "echo hi | nc 127.0.0.1 " + server.getLocalPort())
                    .network(Network.HOST).timeout(Duration.ofSeconds(20)).build());
            assertThat(nc.exitCode()).as(nc.stderrText()).isZero();
            assertThat(got.join()).isEqualTo("hi\n");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void writesGoToTheSandboxsOwnUpperLayerAndNeverToTheBaseRootfs(String rt) throws IOException {
        setUp(rt);
        String before = BusyboxRootfs.digest(rootfs);
        ExecResult r = run("sh", "-c", "echo x > /etc/x && cat /etc/x && echo y > /tmp/y && cat /tmp/y"
                + " && rm /bin/ls && echo more >> /etc/passwd && ! test -e /bin/ls && touch /x && mkdir /d"
                + " && echo ok");
        assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo("x\ny\nok\n");
        assertThat(r.exitCode()).isZero();
        assertThat(BusyboxRootfs.digest(rootfs)).isEqualTo(before); // byte for byte: names, types, modes and contents
        // the next sandbox starts from the base again, and nothing of the first is left in the state directory
        ExecResult next = run("sh", "-c", "test -e /bin/ls && ! test -e /etc/x && ! test -e /tmp/y && ! test -e /x");
        assertThat(next.exitCode()).as(next.stderrText()).isZero();
        assertThat(stateEntries()).isEmpty();

        // /proc, /dev and /sys are there; /sys is read-only
        ExecResult mounts = run("sh", "-c", "test -c /dev/null && test -d /dev/pts && test -d /dev/shm"
                + " && test -e /proc/self/status && ls /sys/kernel >/dev/null && ! touch /sys/x 2>/dev/null && echo ok");
        assertThat(mounts.stdoutText()).as(mounts.stderrText()).isEqualTo("ok\n");
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void whereNoOverlayCanBeNamedTheRootIsReadOnly(String rt) throws IOException {
        setUp(rt);
        // a rootfs whose path overlayfs options cannot name (a comma) runs read-only without trying
        Path comma = BusyboxRootfs.createFor(tmp.resolve("root,fs"), rt);
        String before = BusyboxRootfs.digest(comma);
        ExecResult c = sandboxes.run(RunSpec.builder(comma).runtime(rt)
                .command("sh", "-c", "touch /x; echo t > /tmp/t && cat /tmp/t").build());
        if (!dev.davit.sandbox.jail.Jail.active()) { // as root the jail mounts an overlay at a path of its own
            assertThat(c.stderrText()).contains("Read-only file system");
        }
        assertThat(c.stdoutText()).isEqualTo("t\n");
        assertThatThrownBy(() -> sandboxes.run(RunSpec.builder(comma).runtime(rt).command("pwd").workdir("/new")
                .build())).hasMessageContaining("/new");
        assertThat(BusyboxRootfs.digest(comma)).isEqualTo(before);
        assertThat(run("sh", "-c", "touch /x && echo ok").stdoutText()).isEqualTo("ok\n");
        assertThat(stateEntries()).isEmpty();
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p) + " " + p.toFile().length()).sorted().toList();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void outputIsTeedWhileCaptured(String rt) throws IOException {
        setUp(rt);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ExecResult r = sandboxes.run(spec("sh", "-c", "echo a; echo b >&2").build(), out, err);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("a\n").isEqualTo(r.stdoutText());
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("b\n");
    }

    @ParameterizedTest
    @ValueSource(strings = {"crun", "runc"})
    void aMissingRootfsOrRuntimeFailsAndLeavesNothing(String rt) throws IOException {
        setUp(rt);
        assertThatThrownBy(() -> sandboxes.run(RunSpec.builder(tmp.resolve("none")).runtime(rt).command("true")
                .build())).isInstanceOf(DavitException.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> sandboxes.run(RunSpec.builder(rootfs).runtime(rt).build()))
                .hasMessageContaining("no command given");
        Sandboxes none = new Sandboxes(SandboxOptions.of(state).withSearchPath(tmp.toString()));
        assertThatThrownBy(() -> none.run(spec("true").build()))
                .isInstanceOf(DavitException.class).hasMessageContaining(rt + " is not installed")
                .extracting(t -> ((DavitException) t).kind()).isEqualTo(DavitException.Kind.HOST_UNSUPPORTED);
        assertThat(stateEntries()).isEmpty();
    }

    @Test
    void theRuntimesAreRegistered() throws IOException {
        setUp("crun");
        assertThat(Sandboxes.CONTAINER_RUNTIMES).containsExactly("bwrap", "crun", "runc");
        assertThat(Machinery.of(sandboxes).backend(spec("true").runtime("runc").build()).runtime()).isEqualTo("runc");
        assertThat(Machinery.of(sandboxes).backend(spec("true").runtime(null).build()).runtime()).isEqualTo("bwrap");
        assertThatThrownBy(() -> Machinery.of(sandboxes).backend(spec("true").runtime("kata").build()))
                .hasMessageContaining("bwrap, crun, runc");
    }

    @Test
    void theConfigFollowsTheRuntimeSpec() throws IOException {
        setUp("runc");
        OciRuntimeBackend b = new OciRuntimeBackend(sandboxes.options(), "runc");
        RunSpec s = spec("sh", "-c", "true").env("A", "1").workdir("/work").network(Network.HOST).build();
        JsonNode c = b.config(rootfs, new MountPoints.Root(tmp.resolve("merged"), false, List.of()), "sb-000000000000",
                s, s.effectiveCommand(),
                new int[] {1000, 1000});
        assertThat(c.path("ociVersion").asText()).isEqualTo("1.0.2");
        assertThat(c.at("/process/terminal").asBoolean()).isFalse();
        assertThat(c.at("/process/noNewPrivileges").asBoolean()).isTrue();
        assertThat(c.at("/process/args").toString()).isEqualTo("[\"sh\",\"-c\",\"true\"]");
        assertThat(c.at("/process/cwd").asText()).isEqualTo("/work");
        assertThat(c.at("/process/user/uid").asInt()).isEqualTo(1000);
        assertThat(c.at("/process/rlimits/0/type").asText()).isEqualTo("RLIMIT_NOFILE");
        assertThat(c.at("/root/path").asText()).isEqualTo(tmp.resolve("merged").toString());
        assertThat(c.at("/root/readonly").asBoolean()).isFalse();
        assertThat(c.path("hostname").asText()).isEqualTo("sb-000000000000");
        List<String> ns = new ArrayList<>();
        c.at("/linux/namespaces").forEach(n -> ns.add(n.path("type").asText()));
        assertThat(ns).contains("pid", "ipc", "uts", "mount").doesNotContain("network");
        List<String> dests = new ArrayList<>();
        c.path("mounts").forEach(m -> dests.add(m.path("destination").asText()));
        assertThat(dests).containsExactly("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/tmp",
                "/run", "/var/tmp");
        assertThat(Json.pretty(c)).contains("/proc/kcore", "/proc/sysrq-trigger");

        // where the rootfs has no /run and no /sys, the read-only root is a skeleton of mount points with the
        // rootfs's entries bound read-only; where /run is a symbolic link nothing is mounted on it
        Files.delete(rootfs.resolve("sys"));
        Files.delete(rootfs.resolve("var/tmp"));
        Files.delete(rootfs.resolve("run"));
        Files.createSymbolicLink(rootfs.resolve("run"), Path.of("tmp"));
        Overlay.Dirs dirs = Overlay.Dirs.under(tmp.resolve("sb"));
        JsonNode ro = b.config(rootfs, MountPoints.prepare(rootfs, MountPoints.OCI, dirs, null), "sb-000000000000", s,
                s.effectiveCommand(), new int[] {0, 0});
        assertThat(ro.at("/root/path").asText()).isEqualTo(dirs.skeleton().toString());
        assertThat(ro.at("/root/readonly").asBoolean()).isTrue();
        List<String> roDests = new ArrayList<>();
        ro.path("mounts").forEach(m -> roDests.add(m.path("destination").asText()));
        // var is rebuilt in the skeleton (var/tmp is missing), its entries bound one by one; run stays a link
        assertThat(roDests).containsExactly("/bin", "/dev", "/etc", "/proc", "/tmp", "/work", "/proc", "/dev",
                "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/tmp", "/var/tmp");
        assertThat(ro.at("/mounts/0/source").asText()).isEqualTo(rootfs.resolve("bin").toString());
        assertThat(ro.at("/mounts/0/options").toString()).isEqualTo("[\"rbind\",\"ro\"]");
        assertThat(Json.pretty(ro)).contains("/sys/firmware");
        assertThat(Files.readSymbolicLink(dirs.skeleton().resolve("run"))).isEqualTo(Path.of("tmp"));
        assertThat(dirs.skeleton().resolve("sys")).isDirectory();
        assertThat(Files.getAttribute(dirs.skeleton().resolve("var/tmp"), "unix:mode")).isEqualTo(041777);
        assertThat(rootfs.resolve("sys")).doesNotExist();
        assertThat(rootfs.resolve("var/tmp")).doesNotExist();
    }

    @Test
    void doctorProbesBothRuntimes() throws IOException {
        Tools.assumeAvailable("runc");
        setUp("crun");
        JsonNode json = SandboxJson.doctor(sandboxes.doctor());
        assertThat(json.at("/backends/0/name").asText()).isEqualTo("container");
        for (int i : new int[] {1, 2}) {
            JsonNode b = json.at("/backends/" + i);
            String rt = i == 1 ? "crun" : "runc";
            assertThat(b.path("name").asText()).isEqualTo("container/" + rt);
            assertThat(b.path("available").asBoolean()).as(Json.pretty(b)).isTrue();
            assertThat(b.at("/facts/" + rt + "_version").asText()).matches("\\d+\\.\\d+.*");
            assertThat(b.at("/facts/probe_run").asText()).isEqualTo("ok");
            assertThat(b.at("/facts/cgroups").asText()).isNotBlank();
        }
        assertThat(json.at("/backends/3/name").asText()).isEqualTo("vm");

        Doctor.Report none = new dev.davit.sandbox.engine.Sandboxes(SandboxOptions.of(state).withSearchPath(tmp.toString())).doctor();
        assertThat(none.backends().get(1).available()).isFalse();
        assertThat(none.backends().get(1).detail()).contains("crun is not installed");
        assertThat(none.backends().get(2).detail()).contains("runc is not installed");
    }
}
