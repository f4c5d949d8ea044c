package dev.davit.sandbox.build;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.unpack.LayerIndex;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An image's files looked up through its layers' indexes over an unpacked base, as a build step sees them. */
class ImageTreeTest {
    @TempDir
    Path dir;

    /** A layer of {@code entries}: name, then a type ('f' file with content, 'd', 'l' link with target). */
    private Descriptor layer(OciStore store, String... entries) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(b, "UTF-8")) {
            for (int i = 0; i < entries.length; i += 3) {
                String name = entries[i];
                String type = entries[i + 1];
                String value = entries[i + 2];
                TarArchiveEntry e = new TarArchiveEntry(name, type.equals("d") ? TarConstants.LF_DIR
                        : type.equals("l") ? TarConstants.LF_SYMLINK : TarConstants.LF_NORMAL);
                byte[] data = type.equals("f") ? value.getBytes(StandardCharsets.UTF_8) : new byte[0];
                e.setMode(type.equals("d") ? 0750 : 0644);
                e.setIds(7, 8);
                if (type.equals("l")) {
                    e.setLinkName(value);
                }
                e.setSize(data.length);
                tar.putArchiveEntry(e);
                tar.write(data);
                tar.closeArchiveEntry();
            }
        }
        byte[] blob = b.toByteArray();
        Descriptor d = new Descriptor("application/vnd.oci.image.layer.v1.tar", Digest.sha256(blob), blob.length);
        store.putBlob(d, blob);
        return d;
    }

    @Test
    void layersHideChangeAndAddToTheBaseAndNothingIsFollowed() throws IOException {
        Path base = dir.resolve("base");
        Files.createDirectories(base.resolve("etc"));
        Files.writeString(base.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        Files.createDirectories(base.resolve("data"));
        Files.writeString(base.resolve("data/x"), "x");
        Files.writeString(base.resolve("data/y"), "y");
        Files.createDirectories(base.resolve("keep"));
        Files.writeString(base.resolve("keep/z"), "z");
        Files.createSymbolicLink(base.resolve("host"), Path.of("/etc"));
        OciStore store = OciStore.open(dir.resolve("store"));
        Path kept = dir.resolve("indexes");
        Descriptor one = layer(store, "data/.wh.x", "f", "", "keep/.wh..wh..opq", "f", "", "keep/new", "f", "n",
                "lnk", "l", "/data", "app/", "d", "");
        Descriptor two = layer(store, "etc/passwd", "f", "root:x:0:0:root:/root:/bin/sh\nbob:x:1001:1002::/b:/bin/sh\n",
                "app", "f", "now a file");
        ImageTree tree = ImageTree.of(base).with(() -> LayerIndex.of(store, one, kept));
        assertThat(tree.stat("data/x")).as("a whiteout").isNull();
        assertThat(tree.stat("data/y").kind()).isEqualTo(LayerIndex.Kind.FILE);
        assertThat(tree.stat("keep/z")).as("under an opaque directory").isNull();
        assertThat(tree.stat("keep/new").uid()).isEqualTo(7);
        assertThat(tree.stat("lnk").link()).isEqualTo("/data");
        assertThat(tree.stat("lnk/y")).as("through a link of the image").isNull();
        assertThat(tree.stat("host").symlink()).isTrue();
        assertThat(tree.stat("host/passwd")).as("through the base's link").isNull();
        assertThat(tree.stat("../base/etc")).isNull();
        assertThat(tree.stat("/app/").mode()).isEqualTo(0750);
        assertThat(tree.stat("").directory()).isTrue();
        assertThat(tree.lines(LayerIndex.PASSWD)).containsExactly("root:x:0:0:root:/root:/bin/sh");

        ImageTree higher = tree.with(() -> LayerIndex.of(store, two, kept));
        assertThat(higher.lines(LayerIndex.PASSWD)).contains("bob:x:1001:1002::/b:/bin/sh");
        assertThat(dev.davit.sandbox.backend.Users.resolve(higher::lines, "bob")).containsExactly(1001, 1002);
        assertThat(higher.stat("app").kind()).as("a directory replaced by a file").isEqualTo(LayerIndex.Kind.FILE);
        assertThat(higher.stat("data/y")).isNotNull();
        assertThat(tree.lines(LayerIndex.PASSWD)).as("the lower tree is unchanged").hasSize(1);
        assertThat(ImageTree.of(null).stat("etc")).isNull();
        assertThat(ImageTree.of(null).lines(LayerIndex.PASSWD)).isNull();
    }
}
