package dev.davit.sandbox.container;

import dev.davit.oci.internal.Utf8String;
import dev.davit.sandbox.BusyboxRootfs;
import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.internal.SandboxJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The container backend with the real bwrap over a busybox root filesystem. */
public class BwrapBackendTest {
    @TempDir
    Path tmp;

    Path rootfs;
    Path state;
    Sandboxes sandboxes;

    @BeforeEach
    void setUp() throws IOException {
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        state = tmp.resolve("state");
        sandboxes = new Sandboxes(SandboxOptions.of(state));
    }

    private ExecResult run(String... argv) {
        return sandboxes.run(RunSpec.builder(rootfs).command(argv).build());
    }

    private List<String> stateEntries() throws IOException {
        return BusyboxRootfs.entries(state);
    }

    @Test
    void stdoutAndStderrAreSeparateAndTheExitCodeIsTheCommands() throws IOException {
        ExecResult r = run("sh", "-c", "echo out; echo err >&2; exit 3");
        assertThat(r.stdoutText()).isEqualTo("out\n");
        assertThat(r.stderrText()).isEqualTo("err\n");
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.timedOut()).isFalse();
        assertThat(r.backend()).isEqualTo("container");
        assertThat(r.sandboxId()).matches("sb-[0-9a-f]{12}");
        assertThat(r.timings().totalMs()).isGreaterThanOrEqualTo(r.timings().execMs());
        assertThat(stateEntries()).isEmpty();

        assertThat(run("true").exitCode()).isZero();
        assertThat(run("false").exitCode()).isEqualTo(1);
    }

    @Test
    void aMissingCommandIs127() throws IOException {
        ExecResult r = run("no-such-command", "x");
        assertThat(r.exitCode()).as(r.stderrText()).isEqualTo(127);
        assertThat(r.stderrText()).contains("no-such-command");
        assertThat(run("sh", "-c", "no-such-command").exitCode()).isEqualTo(127);
        assertThat(stateEntries()).isEmpty();
    }

    @Test
    void aNonRootImageUserCanWriteTmpAndVarTmp() {
        ImageConfig user = new ImageConfig(List.of(), List.of(), List.of(), null, "1000:1000");
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).image(user).command("sh", "-c",
                "id -u; echo x > /tmp/a && echo y > /var/tmp/b && stat -c %a /tmp /var/tmp").build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        assertThat(r.stdoutText()).isEqualTo("1000\n1777\n1777\n");
    }

    @Test
    void envWorkdirAndImageDefaults() {
        ImageConfig image = new ImageConfig(List.of(), List.of("sh", "-c", "echo $A-$B-$HOME; pwd"),
                List.of("A=image", "B=image", "HOME=/work"), "/work", null);
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).image(image).env("B", "mine").build());
        assertThat(r.stdoutText()).isEqualTo("image-mine-/work\n/work\n");

        ExecResult w = sandboxes.run(RunSpec.builder(rootfs).command("pwd").workdir("/tmp").image(image).build());
        assertThat(w.stdoutText()).isEqualTo("/tmp\n");

        ExecResult e = sandboxes.run(RunSpec.builder(rootfs).command("env").env("X", "1").build());
        assertThat(e.stdoutText().lines().sorted().toList()).containsExactly("PATH=" + RunSpec.DEFAULT_PATH, "PWD=/",
                "X=1");

        ImageConfig entry = new ImageConfig(List.of("echo", "entry"), List.of("default"), List.of(), null, null);
        assertThat(sandboxes.run(RunSpec.builder(rootfs).image(entry).build()).stdoutText()).isEqualTo(
                "entry default\n");
        assertThat(sandboxes.run(RunSpec.builder(rootfs).image(entry).command("given").build()).stdoutText())
                .isEqualTo("entry given\n");
    }

    @Test
    void theImageUserIsUsed() {
        ImageConfig app = new ImageConfig(List.of(), List.of(), List.of(), null, "app");
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).image(app).command("id", "-u").build());
        assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo("1000\n");
    }

    @Test
    void aMissingWorkdirIsAUsageError() throws IOException {
        assertThatThrownBy(() -> sandboxes.run(RunSpec.builder(rootfs).command("pwd").workdir("/nope").build()))
                .isInstanceOf(DavitException.class).hasMessageContaining("/nope")
                .extracting(t -> ((DavitException) t).kind()).isEqualTo(DavitException.Kind.USAGE);
        assertThat(stateEntries()).isEmpty();
    }

    @Test
    void theTimeoutKillsEverythingAndReports124() throws IOException {
        String marker = "davit-timeout-" + System.nanoTime();
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).env("MARK", marker)
                .command("sh", "-c", "sleep 30 & sleep 30; echo never").timeout(Duration.ofMillis(800)).build());
        assertThat(r.timedOut()).isTrue();
        assertThat(r.exitCode()).isEqualTo(124);
        assertThat(r.stdoutText()).isEmpty();
        assertThat(r.timings().execMs()).isBetween(700L, 10_000L);
        assertThat(processesWith(marker)).isEmpty();
        assertThat(processesWith(r.sandboxId())).isEmpty();
        assertThat(stateEntries()).isEmpty();
    }

    /**
     * A command that exits leaving a process in the background, without limits (so no cgroup to empty): the run
     * ends and the background process is gone with bwrap's PID namespace (davit does not scan for leftovers).
     */
    @Test
    void aBackgroundProcessDoesNotOutliveARunThatEnded() throws IOException {
        String marker = "davit-background-" + System.nanoTime();
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).env("MARK", marker).limits(Limits.NONE)
                .command("sh", "-c", "sleep 300 & echo started").build());
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdoutText()).isEqualTo("started\n");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); // the kernel ends the namespace's processes
        while (!processesWith(marker).isEmpty() && System.nanoTime() < deadline) {
            Thread.yield();
        }
        assertThat(processesWith(marker)).isEmpty();
        assertThat(stateEntries()).isEmpty();
    }

    /** Host processes whose command line or environment mentions {@code s}. */
    public static List<Long> processesWith(String s) throws IOException {
        List<Long> out = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                for (String f : List.of("cmdline", "environ")) {
                    try {
                        String text = new String(Files.readAllBytes(p.resolve(f)), StandardCharsets.UTF_8);
                        if (text.contains(s)) {
                            out.add(Long.parseLong(p.getFileName().toString()));
                        }
                    } catch (IOException e) {
                        // gone or not readable
                    }
                }
            }
        }
        return out;
    }

    @Test
    void thereIsNoNetworkByDefault() throws IOException {
        ExecResult r = run("cat", "/proc/net/dev");
        List<String> ifaces = r.stdoutText().lines().skip(2).map(l -> l.strip().split(":")[0]).toList();
        assertThat(ifaces).containsExactly("lo");

        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            ExecResult nc = run("sh", "-c", "echo hi | nc 127.0.0.1 " + server.getLocalPort());
            assertThat(nc.exitCode()).as(nc.stderrText()).isNotZero();
        }
    }

    @Test
    void networkSharesTheHostsNetwork() throws IOException {
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            java.util.concurrent.CompletableFuture<String> got = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> {
                        try (var s = server.accept()) {
                            return new String(s.getInputStream().readNBytes(3), StandardCharsets.UTF_8);
                        } catch (IOException e) {
                            return e.toString();
                        }
                    });
            ExecResult nc = sandboxes.run(RunSpec.builder(rootfs).network(Network.HOST)
                    .command("sh", "-c", "echo hi | nc 127.0.0.1 " + server.getLocalPort()).timeout(
                            Duration.ofSeconds(20)).build());
            assertThat(nc.exitCode()).as(nc.stderrText()).isZero();
            assertThat(got.join()).isEqualTo("hi\n");
        }
    }

    @Test
    void writesGoToTheSandboxsOwnUpperLayerAndNeverToTheBaseRootfs() throws IOException {
        List<String> before = listing(rootfs);
        ExecResult r = run("sh", "-c", "echo x > /etc/x && cat /etc/x && echo y > /tmp/y && cat /tmp/y"
                + " && rm /bin/ls && echo more >> /etc/passwd && ! test -e /bin/ls && touch /x && echo ok");
        assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo("x\ny\nok\n");
        assertThat(r.exitCode()).isZero();
        assertThat(listing(rootfs)).isEqualTo(before); // deleted, appended and new files: the base is untouched
        // the next sandbox starts from the base again, and nothing of the first is left in the state directory
        ExecResult next = run("sh", "-c", "test -e /bin/ls && ! test -e /etc/x && ! test -e /tmp/y && ! test -e /x");
        assertThat(next.exitCode()).as(next.stderrText()).isZero();
        assertThat(stateEntries()).isEmpty();
    }

    @Test
    void whereNoOverlayCanBeNamedTheRootIsReadOnly() throws IOException {
        // a rootfs whose path overlayfs options cannot name (a comma) runs read-only without trying; as root the
        // jail mounts it at a path of its own, so the overlay works there too
        Path comma = BusyboxRootfs.create(tmp.resolve("root,fs"));
        List<String> before = listing(comma);
        ExecResult c = sandboxes.run(RunSpec.builder(comma).command("sh", "-c", "touch /x && echo ok").build());
        if (dev.davit.sandbox.jail.Jail.active()) {
            assertThat(c.stdoutText()).as(c.stderrText()).isEqualTo("ok\n");
        } else {
            assertThat(c.stderrText()).contains("Read-only file system");
        }
        assertThat(listing(comma)).isEqualTo(before);
        assertThat(run("sh", "-c", "touch /x && echo ok").stdoutText()).isEqualTo("ok\n");
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p) + " " + p.toFile().length()).sorted().toList();
        }
    }

    @Test
    void capturedOutputIsCappedButTheTeeSeesEverything() {
        long big = ExecResult.MAX_CAPTURED_BYTES + 1_000_000L;
        long[] teed = new long[1];
        OutputStream counter = new OutputStream() {
            @Override
            public void write(int b) {
                teed[0]++;
            }

            @Override
            public void write(byte[] b, int off, int len) {
                teed[0] += len;
            }
        };
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).command("sh", "-c", "head -c " + big
                + " /dev/zero; echo small >&2").build(), counter, null);
        assertThat(r.exitCode()).isZero();
        assertThat(r.truncated()).isTrue();
        assertThat(r.stdout()).hasSize(ExecResult.MAX_CAPTURED_BYTES);
        assertThat(r.stderrText()).isEqualTo("small\n");
        assertThat(teed[0]).isEqualTo(big);
        assertThat(run("echo", "hi").truncated()).isFalse();
    }

    @Test
    void aFloodOnBothStreamsIsCappedPerStreamInChunksAndWrittenToJsonFromThem() throws IOException {
        long big = ExecResult.MAX_CAPTURED_BYTES + 3_000_001L;
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).command("sh", "-c", "busybox yes | head -c " + big
                + " & busybox yes e | head -c " + big + " >&2; wait").build());
        assertThat(r.exitCode()).isZero();
        assertThat(r.truncated()).isTrue();
        for (dev.davit.sandbox.Captured c : List.of(r.capturedStdout(), r.capturedStderr())) {
            assertThat(c.size()).isEqualTo(ExecResult.MAX_CAPTURED_BYTES); // each stream keeps its own 64 MiB
            assertThat(c.chunks()).allSatisfy(b -> assertThat(b.array().length).isLessThanOrEqualTo(1 << 20));
            assertThat(c.chunks().stream().mapToInt(b -> b.array().length).sum())
                    .isEqualTo(ExecResult.MAX_CAPTURED_BYTES); // nothing allocated past the cap
        }
        ByteArrayOutputStream doc = new ByteArrayOutputStream();
        Json.writePretty(Json.object().putPOJO("stdout", new Utf8String(r.capturedStdout().chunks()))
                .putPOJO("stderr", new Utf8String(r.capturedStderr().chunks())), doc);
        JsonNode back = new com.fasterxml.jackson.databind.ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
                .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                        .maxStringLength(Integer.MAX_VALUE).build()).build()).readTree(doc.toByteArray());
        assertThat(back.get("stdout").asText()).hasSize(ExecResult.MAX_CAPTURED_BYTES)
                .startsWith("y\ny\n").endsWith("y\n");
        assertThat(back.get("stderr").asText()).hasSize(ExecResult.MAX_CAPTURED_BYTES)
                .startsWith("e\ne\n").endsWith("e\n");
        assertThat(back.get("stdout").asText().replace("y\n", "")).isEmpty();
    }

    @Test
    void stdinReachesTheCommandAndUnreadInputDoesNotHangTheRun() {
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).command("sh", "-c", "read first; echo got $first; cat")
                .build(), new java.io.ByteArrayInputStream("one\ntwo\n".getBytes(
                java.nio.charset.StandardCharsets.UTF_8)), null, null);
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        assertThat(r.stdoutText()).isEqualTo("got one\ntwo\n");
        // 32 MiB the command never reads: the pipe closes when it exits and the run ends
        ExecResult ignored = sandboxes.run(RunSpec.builder(rootfs).command("true").timeout(Duration.ofSeconds(30))
                .build(), new java.io.ByteArrayInputStream(new byte[32 << 20]), null, null);
        assertThat(ignored.timedOut()).isFalse();
        assertThat(ignored.exitCode()).isZero();
        // without stdin the command reads /dev/null
        assertThat(run("sh", "-c", "cat; echo eof").stdoutText()).isEqualTo("eof\n");
    }

    @Test
    void outputIsTeedWhileCaptured() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ExecResult r = sandboxes.run(RunSpec.builder(rootfs).command("sh", "-c", "echo a; echo b >&2").build(), out,
                err);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("a\n").isEqualTo(r.stdoutText());
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("b\n");
    }

    @Test
    void aMissingRootfsFailsAndLeavesNothing() throws IOException {
        assertThatThrownBy(() -> sandboxes.run(RunSpec.builder(tmp.resolve("none")).command("true").build()))
                .isInstanceOf(DavitException.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> sandboxes.run(RunSpec.builder(rootfs).build()))
                .hasMessageContaining("no command given");
        assertThat(stateEntries()).isEmpty();
    }

    @Test
    void doctorReportsTheContainerBackend() {
        Doctor.Report report = sandboxes.doctor();
        JsonNode json = SandboxJson.doctor(report);
        assertThat(json.at("/backends/0/name").asText()).isEqualTo("container");
        assertThat(json.at("/backends/0/available").asBoolean()).as(Json.pretty(json)).isTrue();
        assertThat(json.at("/backends/0/facts/probe_namespaces").asText()).isEqualTo("ok");
        // this build's jar has the agent (cargo is part of the build here: docs/SETUP.md)
        assertThat(json.at("/backends/0/facts/agent").asText()).startsWith("davit-agent: one resident process");
        assertThat(json.at("/backends/1/name").asText()).isEqualTo("container/crun");
        assertThat(json.at("/backends/2/name").asText()).isEqualTo("container/runc");
        assertThat(json.at("/backends/3/name").asText()).isEqualTo("vm");
        assertThat(json.at("/backends/3/facts/accel").asText()).isIn("kvm", "tcg"); // see VmDoctorTest
        assertThat(json.path("any_available").asBoolean()).isTrue();

        Doctor.Report none = new dev.davit.sandbox.engine.Sandboxes(SandboxOptions.of(state).withSearchPath(tmp.toString())).doctor();
        assertThat(none.backends().get(0).available()).isFalse();
        assertThat(none.backends().get(0).detail()).contains("not installed");
    }
}
