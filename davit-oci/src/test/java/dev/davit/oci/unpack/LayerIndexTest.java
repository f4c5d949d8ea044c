package dev.davit.oci.unpack;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.store.OciStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A layer's index, read from its tar headers: what a build looks paths up in without unpacking. */
class LayerIndexTest {
    @TempDir
    Path dir;

    private Descriptor put(OciStore store, byte[] tar, boolean gzip) throws IOException {
        byte[] blob = tar;
        if (gzip) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try (GZIPOutputStream z = new GZIPOutputStream(b)) {
                z.write(tar);
            }
            blob = b.toByteArray();
        }
        Descriptor d = new Descriptor(gzip ? "application/vnd.oci.image.layer.v1.tar+gzip"
                : "application/vnd.oci.image.layer.v1.tar", Digest.sha256(blob), blob.length);
        store.putBlob(d, blob);
        return d;
    }

    @Test
    void entriesWhiteoutsOpaqueDirectoriesAndThePasswdFileAreIndexedAndKept() throws IOException {
        OciStore store = OciStore.open(dir.resolve("store"));
        byte[] tar = new TarBuilder().dir("etc", 0755).file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                        + "bob:x:1001:1002::/home/bob:/bin/sh\n")
                .dir("/app/", 0750).symlink("app/current", "../srv/v2").whiteout("usr", "old").opaque("var/cache")
                .hardlink("etc/group", "etc/passwd").build();
        Descriptor layer = put(store, tar, true);
        Path kept = dir.resolve("indexes");
        LayerIndex idx = LayerIndex.of(store, layer, kept);
        assertThat(idx.entry("etc").kind()).isEqualTo(LayerIndex.Kind.DIRECTORY);
        assertThat(idx.entry("app").mode()).isEqualTo(0750);
        assertThat(idx.entry("app/current").link()).isEqualTo("../srv/v2");
        assertThat(idx.entry("usr/old").kind()).isEqualTo(LayerIndex.Kind.WHITEOUT);
        assertThat(idx.opaque("var/cache")).isTrue();
        assertThat(idx.opaque("var")).isFalse();
        assertThat(new String(idx.content(LayerIndex.PASSWD), StandardCharsets.UTF_8)).contains("bob:x:1001");
        assertThat(idx.content(LayerIndex.GROUP)).isEqualTo(idx.content(LayerIndex.PASSWD)); // the hard link's
        assertThat(idx.entry("usr/.wh.old")).isNull();
        // kept under the blob's digest, and read back the same, without the blob
        Path file = kept.resolve("sha256-" + layer.digest().hex());
        assertThat(file).isRegularFile();
        LayerIndex again = LayerIndex.of(OciStore.open(dir.resolve("empty")), layer, kept); // no blob there

        assertThat(again.size()).isEqualTo(idx.size());
        assertThat(again.entry("app/current")).isEqualTo(idx.entry("app/current"));
        assertThat(again.content(LayerIndex.PASSWD)).isEqualTo(idx.content(LayerIndex.PASSWD));
        assertThat(again.opaque("var/cache")).isTrue();
    }

    @Test
    void aDamagedKeptIndexIsMadeAgainFromTheBlob() throws IOException {
        OciStore store = OciStore.open(dir.resolve("store"));
        Descriptor layer = put(store, new TarBuilder().file("a", "x").build(), false);
        Path kept = dir.resolve("indexes");
        Files.createDirectories(kept);
        Files.writeString(kept.resolve("sha256-" + layer.digest().hex()), "davit-layer-index-1 but cut");
        assertThat(LayerIndex.of(store, layer, kept).entry("a").kind()).isEqualTo(LayerIndex.Kind.FILE);
        assertThat(LayerIndex.of(store, layer, kept).size()).isEqualTo(1);
    }

    @Test
    void aWhiteoutAndADirectoryOfTheSameNameMakeItOpaque() throws IOException {
        OciStore store = OciStore.open(dir.resolve("store"));
        Descriptor layer = put(store, new TarBuilder().whiteout("", "data").dir("data", 0755).build(), false);
        LayerIndex idx = LayerIndex.of(store, layer, dir.resolve("i"));
        assertThat(idx.entry("data").directory()).isTrue();
        assertThat(idx.opaque("data")).isTrue();
    }

    @Test
    void aNameWithDotDotIsRefused() throws IOException {
        OciStore store = OciStore.open(dir.resolve("store"));
        Descriptor layer = put(store, new TarBuilder().file("../escape", "x").build(), false);
        assertThatThrownBy(() -> LayerIndex.of(store, layer, dir.resolve("i"))).isInstanceOf(DavitException.class)
                .hasMessageContaining("'..'");
        assertThat(dir.resolve("i")).doesNotExist();
    }
}
