package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@code workspace disk ls|read|export} of a stopped container workspace: read in its sandbox's own layer, nothing
 * started (the status stays stopped, no process of the sandbox appears); the sandbox's links, fifos and setuid bits
 * never act on the host; a running workspace is refused.
 */
class WorkspaceDiskTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("ln", "mkdir", "mkfifo", "chmod", "printf");
    }

    private Workspace stoppedWithHostileFiles() throws IOException {
        Path seed = Files.createDirectories(tmp.resolve("seed"));
        Files.writeString(seed.resolve("a.txt"), "seeded\n");
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).limits(Limits.NONE).build())
                .seed(seed).build());
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c",
                "mkdir -p sub && printf 'made\\n' > sub/b.txt"
                + " && ln -s /etc/passwd x && ln -s sub lsub && mkfifo ff && printf '#!' > suid && chmod 4755 suid")
                .timeout(Duration.ofSeconds(60)).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        workspaces.stop(w.id());
        assertThat(workspaces.sandbox(w.id()).status()).isEqualTo(SandboxStatus.STOPPED);
        return w;
    }

    /** The processes whose command line names the sandbox (its keeper, bwrap, an exec). */
    private static List<Long> processesOf(String sandboxId) {
        return ProcessHandle.allProcesses().filter(p -> p.info().arguments().map(a -> String.join(" ", a)
                .contains(sandboxId)).orElse(false)).map(ProcessHandle::pid).toList();
    }

    private void assertNotStarted(Workspace w) {
        Sandbox s = workspaces.sandbox(w.id());
        assertThat(s.status()).isEqualTo(SandboxStatus.STOPPED);
        assertThat(s.initPid()).isZero();
        assertThat(processesOf(w.sandboxId())).isEmpty();
    }

    @Test
    void listsReadsAndExportsAStoppedWorkspaceWithoutStartingIt() throws IOException {
        Workspace w = stoppedWithHostileFiles();
        Map<String, WorkspaceFiles.FileInfo> all = workspaces.files().diskList(w.id(), "", true).stream()
                .collect(Collectors.toMap(WorkspaceFiles.FileInfo::path, f -> f));
        assertNotStarted(w);
        assertThat(all.keySet()).containsExactlyInAnyOrder("a.txt", "sub", "sub/b.txt", "x", "lsub", "ff", "suid");
        assertThat(all.get("x").type()).isEqualTo("symlink");
        assertThat(all.get("x").target()).isEqualTo("/etc/passwd");
        assertThat(all.get("ff").type()).isEqualTo("other");
        assertThat(all.get("sub/b.txt").size()).isEqualTo(5);
        assertThat(workspaces.files().diskList(w.id(), "sub", false)).extracting(WorkspaceFiles.FileInfo::path)
                .containsExactly("sub/b.txt");

        WorkspaceFiles.FileContent c = workspaces.files().diskRead(w.id(), "sub/b.txt", 0);
        assertThat(new String(c.bytes(), StandardCharsets.UTF_8)).isEqualTo("made\n");
        assertThat(workspaces.files().diskRead(w.id(), "a.txt", 3).truncated()).isTrue();
        assertThatThrownBy(() -> workspaces.files().diskRead(w.id(), "x", 0)).isInstanceOf(DavitException.class)
                .hasMessageContaining("not a regular file").hasMessageContaining("symlink");
        assertThatThrownBy(() -> workspaces.files().diskRead(w.id(), "lsub/b.txt",
                0)).isInstanceOf(DavitException.class)
                .hasMessageContaining("symbolic link");
        assertNotStarted(w);

        Path dest = tmp.resolve("out");
        WorkspaceFiles.Copied copied = workspaces.files().diskExport(w.id(), dest, "");
        assertNotStarted(w);
        assertThat(copied.skipped()).containsExactly("ff");
        assertThat(Files.readString(dest.resolve("sub/b.txt"))).isEqualTo("made\n");
        assertThat(Files.isSymbolicLink(dest.resolve("x"))).isTrue();
        assertThat(Files.readSymbolicLink(dest.resolve("x")).toString()).isEqualTo("/etc/passwd");
        assertThat(Files.exists(dest.resolve("ff"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dest.resolve("suid"),
                LinkOption.NOFOLLOW_LINKS))).isEqualTo("rwxr-xr-x");
        assertThat((int) Files.getAttribute(dest.resolve("suid"), "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07000)
                .isZero();
        Path tar = tmp.resolve("out.tar");
        assertThat(workspaces.files().diskExport(w.id(), tar, "sub").files()).isEqualTo(1);
        assertThat(Files.size(tar)).isPositive();
        assertNotStarted(w);
    }

    @Test
    void aRunningWorkspaceIsRefusedWithTheLiveCommandsNamed() throws IOException {
        Workspace w = stoppedWithHostileFiles();
        workspaces.start(w.id());
        assertThatThrownBy(() -> workspaces.files().diskList(w.id(), "", true)).isInstanceOf(DavitException.class)
                .hasMessageContaining("is running").hasMessageContaining("Workspaces.files().list");
        assertThatThrownBy(() -> workspaces.files().diskExport(w.id(), tmp.resolve("o"),
                "")).isInstanceOf(DavitException.class)
                .hasMessageContaining("is running");
        assertThat(Files.exists(tmp.resolve("o"))).isFalse();
    }
}
