package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The attacker's export test: a workspace makes a sparse 6 GiB file (4 KiB on disk) and asks for exports. A tar,
 * which would hold the holes as zeros, is refused before it writes (the workspace's export bound, 4 times its
 * 64 MiB disk, is far below), a directory export keeps the holes, and repeated exports stop at the bound.
 */
class WorkspaceExportBoundTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("dd");
    }

    private Workspace withSparseFile() {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .limits(new Limits(1024, 1, 1024, 64)).build())
                .build());
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c",
                "dd if=/dev/zero of=sparse bs=1 count=1"
                + " seek=6442450943 2>/dev/null && dd if=/dev/zero of=data bs=1M count=48 2>/dev/null")
                .timeout(Duration.ofSeconds(60)).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return w;
    }

    private long freeMiB() throws IOException {
        return Files.getFileStore(tmp).getUsableSpace() >> 20;
    }

    @Test
    void aSparseFileNeitherInflatesATarNorPassesTheBound() throws IOException {
        Workspace w = withSparseFile();
        Path out = Files.createDirectories(tmp.resolve("out"));
        long before = freeMiB();
        assertThatThrownBy(() -> workspaces.files().export(w.id(), out.resolve("all.tar"), "sparse"))
                .isInstanceOf(DavitException.class)
                .hasMessageContaining("would write more than")
                .hasMessageContaining("export bound");
        assertThat(before - freeMiB()).as("host MiB written by the refused tar").isLessThan(64);
        assertThat(out).isEmptyDirectory();

        workspaces.files().export(w.id(), out.resolve("dir"), "sparse");
        Path copy = out.resolve("dir").resolve("sparse");
        assertThat(Files.size(copy)).isEqualTo(6L << 30);
        Process du = new ProcessBuilder("du", "-k", copy.toString()).start();
        long kib = Long.parseLong(new String(du.getInputStream().readAllBytes()).split("\\s")[0]);
        assertThat(kib).as("KiB the directory export's copy takes").isLessThan(1024);
    }

    @Test
    void repeatedExportsStopAtTheWorkspacesBound() throws IOException {
        Workspace w = withSparseFile();
        Path out = Files.createDirectories(tmp.resolve("out"));
        // 4 x 64 MiB: five copies of the 48 MiB file fit, the sixth does not
        for (int i = 0; i < 5; i++) {
            workspaces.files().export(w.id(), out.resolve("d" + i + ".tar"), "data");
        }
        assertThatThrownBy(() -> workspaces.files().export(w.id(), out.resolve("d5.tar"), "data"))
                .isInstanceOf(DavitException.class)
                .hasMessageContaining("export bound");
        assertThat(out.resolve("d5.tar")).doesNotExist();
    }
}
