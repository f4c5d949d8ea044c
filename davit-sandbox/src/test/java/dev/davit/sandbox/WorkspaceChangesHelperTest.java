package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.build.Compression;
import dev.davit.oci.build.LayerWriter;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A sandbox's changes (the backend's {@code Lifecycle.changes}, what a commit writes) read through davit-exec's {@code files} mode
 * (fs.BrokerSys, the Java 21 way: its {@code x} request reads the overlay's opaque mark), plain and acting: the
 * whiteout of a file deleted from the image and the opaque mark of a directory emptied and made again are there.
 */
class WorkspaceChangesHelperTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("rm", "mkdir");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void theChangesReadThroughTheHelperHaveTheWhiteoutAndTheOpaqueMark(boolean acting) throws Exception {
        java.nio.file.Files.writeString(rootfs.resolve("work/old"), "old\n");
        java.nio.file.Files.createDirectories(rootfs.resolve("opt"));
        java.nio.file.Files.writeString(rootfs.resolve("opt/gone"), "gone\n");
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .build())
                .build());
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c",
                "rm -rf /work /opt/gone && mkdir /work && echo new > /work/new").timeout(Duration.ofSeconds(20))
                .build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        throughHelper(acting);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Changes c;
        try (LayerWriter lw = new LayerWriter(out, Compression.NONE, -1)) {
            c = dev.davit.sandbox.backend.Machinery.of(workspaces.sandboxes()).lifecycle().changes(w.sandboxId(), lw, Changes.Rewrite.NONE);
            lw.finish();
        }
        List<String> names = new ArrayList<>();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                names.add(e.getName());
            }
        }
        assertThat(names).contains("opt/.wh.gone", "work/", "work/.wh..wh..opq", "work/new")
                .doesNotContain("work/old");
        assertThat(c.whiteouts()).isEqualTo(1);
    }
}
