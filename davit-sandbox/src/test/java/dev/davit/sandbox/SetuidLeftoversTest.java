package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.davit.sandbox.jail.Disk;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The attacker's test of what a sandbox leaves on the host: a workspace makes a setuid busybox (root-owned in the
 * sandbox) in its layer and in /workspace, and a world-writable directory; neither its host-side layer nor a
 * snapshot of it is usable by another local user (checked as {@code nobody}): the state directories are 0700, the
 * sandbox's disk is mounted nosuid, and an export has no setuid bit and no group or other write.
 */
class SetuidLeftoversTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("cp", "chmod", "mkdir");
    }

    /** Runs {@code argv} as nobody (uid and gid 65534, no groups); returns its exit code. */
    private static int asNobody(String... argv) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534",
                "--clear-groups", "--"));
        cmd.addAll(List.of(argv));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor();
    }

    @Test
    void whatASandboxMadeSetuidOrWorldWritableIsNoOtherUsers() throws Exception {
        assumeThat(Jail.active()).as("root (another uid to check with)").isTrue();
        dev.davit.oci.testkit.Tools.assumeAvailable("setpriv");
        // the test's own directory open to all (JUnit makes it 0700): only davit's modes stand in nobody's way
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .limits(new Limits(1024, 1, 1024, 64)).build())
                .build());
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c",
                "cp /bin/busybox /suid && chmod 4755 /suid"
                + " && cp /bin/busybox suid && chmod 6755 suid && mkdir open && chmod 0777 open")
                .timeout(Duration.ofSeconds(60)).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        workspaces.snapshot(w.id(), "s1");

        Path sbx = home.resolve("sandboxes").resolve(w.sandboxId());
        Path ws = home.resolve("workspaces").resolve(w.id());
        Path upper = Disk.root(sbx).resolve("upper");
        Path snap = ws.resolve("snapshots/s1/tree");
        assertThat(Files.getAttribute(upper.resolve("suid"), "unix:mode")).as("setuid in the host-side layer")
                .matches(m -> ((Integer) m & 04000) != 0); // as the sandbox made it, but out of reach:
        for (Path dir : List.of(sbx, ws)) {
            assertThat((Integer) Files.getAttribute(dir, "unix:mode") & 0777).as(dir.toString()).isEqualTo(0700);
        }
        for (Path p : List.of(upper.resolve("suid"), upper.resolve("workspace/suid"), snap.resolve("suid"))) {
            assertThat(asNobody("test", "-e", p.toString())).as("nobody reaches " + p).isNotZero();
            assertThat(asNobody(p.toString(), "true")).as("nobody runs " + p).isNotZero();
        }
        for (Path p : List.of(upper.resolve("workspace/open"), snap.resolve("open"))) {
            assertThat(asNobody("touch", p.resolve("x").toString())).as("nobody writes in " + p).isNotZero();
        }
        // the sandbox's disk is mounted nosuid (a setuid file there gives no privileges to whoever runs it)
        String mounts = Files.readString(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8);
        String line = mounts.lines().filter(l -> l.split(" ")[4].equals(sbx.resolve(Disk.MOUNT).toString()))
                .findFirst().orElseThrow();
        assertThat(line.split(" ")[5]).contains("nosuid").contains("nodev");

        Path out = Files.createDirectories(tmp.resolve("out"));
        workspaces.files().export(w.id(), out.resolve("e"), "");
        assertThat((Integer) Files.getAttribute(out.resolve("e/suid"), "unix:mode") & 07777).isEqualTo(0755);
        assertThat((Integer) Files.getAttribute(out.resolve("e/open"), "unix:mode") & 07777).isEqualTo(0755);
    }
}
