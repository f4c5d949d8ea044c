package dev.davit.sandbox.container;

import dev.davit.sandbox.BusyboxRootfs;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ImageConfig;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An image without mount points (no /proc, /dev, /sys, /tmp, /run, /var/tmp, /etc: only a static busybox, as a
 * {@code FROM scratch} image or {@code davit build} from a plain directory) runs on bwrap, crun and runc, over the
 * sandbox's overlay and on the read-only fallback, one-shot and long-lived; the shared rootfs is never written.
 */
class MountPointsTest {
    /** What the sandbox needs: /proc, /dev and writable /tmp, /var/tmp and /run. */
    private static final String CHECK = "head -1 /proc/self/status && ls /proc/self/fd >/dev/null"
            + " && test -c /dev/null && echo dev && echo t > /tmp/t && cat /tmp/t && echo v > /var/tmp/v"
            + " && cat /var/tmp/v && echo r > /run/r && cat /run/r";
    private static final String CHECKED = "Name:\thead\ndev\nt\nv\nr\n";
    private static final List<String> NEVER_MADE = List.of("proc", "dev", "sys", "tmp", "run", "var/tmp", "etc");

    @TempDir
    Path tmp;

    Path state;
    Sandboxes sandboxes;

    @BeforeEach
    void setUp() {
        state = tmp.resolve("state");
        sandboxes = new Sandboxes(SandboxOptions.of(state));
    }

    @AfterEach
    void cleanUp() {
        for (Sandbox s : sandboxes.list()) {
            sandboxes.rm(s.id());
        }
    }

    private ExecResult run(String rt, Path rootfs, String... argv) {
        return sandboxes.run(RunSpec.builder(rootfs).runtime(rt).command(argv).timeout(Duration.ofSeconds(60))
                .build());
    }

    /** The top-level names the sandbox sees: the rootfs's and the mount points of {@code rt}. */
    private static List<String> rootListing(String rt, String... rootfsEntries) {
        List<String> all = new ArrayList<>(List.of(rootfsEntries));
        all.addAll(List.of("dev", "proc", "run", "tmp", "var"));
        if (!rt.equals("bwrap")) {
            all.add("sys");
        }
        return all.stream().sorted().toList();
    }

    private void assertUntouched(Path rootfs, String before) throws IOException {
        assertThat(BusyboxRootfs.digest(rootfs)).isEqualTo(before);
        for (String d : NEVER_MADE) {
            assertThat(rootfs.resolve(d)).doesNotExist();
        }
    }

    private List<String> stateEntries() throws IOException {
        return BusyboxRootfs.entries(state);
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void anImageWithoutMountPointsRunsOverItsOverlay(String rt) throws IOException {
        Path rootfs = BusyboxRootfs.scratch(tmp.resolve("rootfs"), rt);
        String before = BusyboxRootfs.digest(rootfs);

        ExecResult r = run(rt, rootfs, "sh", "-c", CHECK);
        assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo(CHECKED);
        assertThat(r.exitCode()).isZero();
        ExecResult ls = run(rt, rootfs, "sh", "-c", "touch /x && ls /");
        assertThat(ls.stdoutText().lines().toList()).as(ls.stderrText())
                .isEqualTo(rootListing(rt, "bin", "x"));
        ExecResult wd = sandboxes.run(RunSpec.builder(rootfs).runtime(rt).command("pwd").workdir("/tmp").build());
        assertThat(wd.stdoutText()).as(wd.stderrText()).isEqualTo("/tmp\n");
        if (!(rt.equals("runc") && !Overlay.ROOT)) { // rootless runc refuses a non-root user (see its test)
            ExecResult user = sandboxes.run(RunSpec.builder(rootfs).runtime(rt).command("id", "-u")
                    .image(new ImageConfig(List.of(), List.of(), List.of(), null, "1000:1000")).build());
            assertThat(user.stdoutText()).as(user.stderrText()).isEqualTo("1000\n");
        }

        assertUntouched(rootfs, before);
        assertThat(stateEntries()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void anImageWithoutMountPointsRunsOnTheReadOnlyFallback(String rt) throws IOException {
        // a comma in the path: no overlay can be named, so the root is read-only without trying one
        Path rootfs = BusyboxRootfs.scratch(tmp.resolve("root,fs"), rt);
        Files.createDirectories(rootfs.resolve("var/lib"));
        Files.writeString(rootfs.resolve("var/lib/kept"), "kept\n");
        Files.createSymbolicLink(rootfs.resolve("lib"), Path.of("bin"));
        // a directory nobody may write: the sandbox's copy of it must still be deleted with the sandbox
        Files.setPosixFilePermissions(rootfs.resolve("var"), PosixFilePermissions.fromString("r-xr-xr-x"));
        String before = BusyboxRootfs.digest(rootfs);

        ExecResult r = run(rt, rootfs, "sh", "-c", CHECK);
        assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo(CHECKED);
        assertThat(r.exitCode()).isZero();
        // the rootfs's files, directories and links are all there (var is rebuilt around the missing var/tmp)
        ExecResult seen = run(rt, rootfs, "sh", "-c", "cat /var/lib/kept && /lib/busybox echo linked && ls /");
        assertThat(seen.stdoutText().lines().toList()).as(seen.stderrText()).isEqualTo(Stream.concat(
                Stream.of("kept", "linked"), rootListing(rt, "bin", "lib").stream()).toList());
        // and read-only: at the top, in a bound directory and in a rebuilt one; as root the jail mounts the rootfs
        // at a path of its own, so there is an overlay (the rootfs stays untouched all the same)
        for (String f : List.of("/x", "/bin/x", "/var/x", "/var/lib/x")) {
            ExecResult w = run(rt, rootfs, "touch", f);
            if (dev.davit.sandbox.jail.Jail.active()) {
                assertThat(w.exitCode()).as(f + ": " + w.stderrText()).isZero();
                continue;
            }
            assertThat(w.exitCode()).as(f).isNotZero();
            assertThat(w.stderrText()).as(f).contains("Read-only file system");
        }

        assertUntouched(rootfs, before);
        assertThat(rootfs.resolve("var/x")).doesNotExist();
        assertThat(stateEntries()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"rootfs", "root,fs"}) // over an overlay, and on the read-only fallback
    void aLongLivedSandboxRunsOnAnImageWithoutMountPoints(String name) throws IOException {
        Path rootfs = BusyboxRootfs.scratch(tmp.resolve(name), "bwrap");
        String before = BusyboxRootfs.digest(rootfs);
        Sandbox s = sandboxes.start(sandboxes.create(CreateSpec.builder(rootfs).limits(Limits.NONE).build()).id());
        assertThat(s.status()).isEqualTo(SandboxStatus.RUNNING);

        ExecResult r = sandboxes.exec(s.id(), List.of("sh", "-c", CHECK), Map.of(), null, Duration.ofSeconds(30));
        assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo(CHECKED);
        // /tmp is the sandbox's own and kept across execs and a stop and start
        sandboxes.stop(s.id());
        sandboxes.start(s.id());
        ExecResult again = sandboxes.exec(s.id(), List.of("cat", "/tmp/t"), Map.of(), null, Duration.ofSeconds(30));
        assertThat(again.stdoutText()).as(again.stderrText()).isEqualTo("t\n");
        sandboxes.rm(s.id());

        assertUntouched(rootfs, before);
    }
}
