package dev.davit.oci.artifact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files stored compressed in an artifact and made again from the store: sparse, verified, atomic. */
class ArtifactFilesTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    /** 1 MiB of random data, 6 MiB of zeros, 1 MiB of data, 4 MiB of zeros at the end: 12 MiB, 2 MiB of data. */
    private Path disk() throws IOException {
        byte[] b = new byte[12 * MIB];
        Random r = new Random(7);
        byte[] data = new byte[MIB];
        r.nextBytes(data);
        System.arraycopy(data, 0, b, 0, MIB);
        r.nextBytes(data);
        System.arraycopy(data, 0, b, 7 * MIB, MIB);
        b[7 * MIB + MIB - 1] = 1; // data up to the last byte before the trailing zeros
        return Files.write(tmp.resolve("rootfs.ext4"), b);
    }

    private ImageManifest store(OciStore store, Path file, boolean zstd) throws Exception {
        try (AutoCloseable s = store.session()) {
            Descriptor md = Artifacts.create(store, "application/vnd.example.disk.v1", List.of(
                    new Artifacts.FileSpec(file, "application/vnd.example.ext4.v1", zstd)), Map.of());
            return (ImageManifest) store.readManifest(md);
        }
    }

    /** Allocated bytes of a file, from stat(1): st_blocks * 512. */
    private static long allocated(Path p) throws Exception {
        Process proc = new ProcessBuilder("stat", "-c", "%b %B", p.toString()).redirectErrorStream(true).start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(proc.waitFor(10, TimeUnit.SECONDS)).isTrue();
        String[] f = out.split(" ");
        return Long.parseLong(f[0]) * Long.parseLong(f[1]);
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aCompressedFileComesBackSparseAndVerified() throws Exception {
        Path src = disk();
        OciStore store = OciStore.open(tmp.resolve("store"));
        ImageManifest m = store(store, src, true);
        Descriptor l = m.layers().get(0);
        byte[] content = Files.readAllBytes(src);
        assertThat(l.mediaType()).isEqualTo("application/vnd.example.ext4.v1+zstd");
        assertThat(l.annotation(Artifacts.TITLE)).isEqualTo("rootfs.ext4");
        assertThat(l.annotation(ArtifactFiles.UNCOMPRESSED_DIGEST)).isEqualTo(Digest.sha256(content).toString());
        assertThat(l.annotation(ArtifactFiles.UNCOMPRESSED_SIZE)).isEqualTo(Long.toString(content.length));
        assertThat(l.size()).isLessThan(3L * MIB); // the blob: the random data, the zeros next to nothing
        assertThat(ArtifactFiles.fileMediaType(l)).isEqualTo("application/vnd.example.ext4.v1");

        Path out = tmp.resolve("out/rootfs.ext4");
        ArtifactFiles.Materialized f = ArtifactFiles.materialize(store, l, out, ArtifactFiles.Placement.LINK);
        assertThat(f.linked()).isFalse();
        assertThat(f.digest()).isEqualTo(Digest.sha256(content));
        assertThat(f.size()).isEqualTo(content.length);
        assertThat(Files.readAllBytes(out)).isEqualTo(content);
        // the zero runs are holes: only the 2 MiB of data take blocks (the source file took all 12)
        assertThat(allocated(src)).isGreaterThanOrEqualTo(12L * MIB);
        assertThat(allocated(out)).isBetween(2L * MIB, 2L * MIB + 64 * 1024);
        assertThat(names(out.getParent())).containsExactly("rootfs.ext4");

        // the same file compressed in another store is the same blob (reproducible)
        OciStore other = OciStore.open(tmp.resolve("store2"));
        assertThat(store(other, src, true).layers().get(0)).isEqualTo(l);
        // extract writes the file, not the blob, and filters on the file's media type too
        List<Artifacts.Extracted> x = Artifacts.extract(store, m, tmp.resolve("x"),
                Set.of("application/vnd.example.ext4.v1"));
        assertThat(x).hasSize(1);
        assertThat(Files.readAllBytes(tmp.resolve("x/rootfs.ext4"))).isEqualTo(content);
    }

    @Test
    void aLayerStoredAsItIsIsLinkedOrCopied() throws Exception {
        Path src = disk();
        OciStore store = OciStore.open(tmp.resolve("store"));
        Descriptor l = store(store, src, false).layers().get(0);
        assertThat(l.mediaType()).isEqualTo("application/vnd.example.ext4.v1");
        assertThat(ArtifactFiles.compressed(l)).isFalse();
        Path blob = store.blobPath(l.digest());

        Path linked = tmp.resolve("a/rootfs.ext4");
        ArtifactFiles.Materialized f = ArtifactFiles.materialize(store, l, linked, ArtifactFiles.Placement.LINK);
        assertThat(f.linked()).isTrue();
        assertThat(f.digest()).isEqualTo(l.digest());
        assertThat(Files.isSameFile(linked, blob)).isTrue();

        Path copied = tmp.resolve("b/rootfs.ext4");
        assertThat(ArtifactFiles.materialize(store, l, copied, ArtifactFiles.Placement.COPY).linked()).isFalse();
        assertThat(Files.isSameFile(copied, blob)).isFalse();
        assertThat(Files.readAllBytes(copied)).isEqualTo(Files.readAllBytes(src));
    }

    @Test
    void contentThatDoesNotMatchItsAnnotationsFailsAndLeavesNothing() throws Exception {
        Path src = disk();
        OciStore store = OciStore.open(tmp.resolve("store"));
        Descriptor l = store(store, src, true).layers().get(0);
        Path dir = Files.createDirectories(tmp.resolve("out"));
        Path target = dir.resolve("rootfs.ext4");

        Digest real = Digest.sha256(Files.readAllBytes(src));
        Map<String, String> wrongDigest = new HashMap<>(l.annotations());
        wrongDigest.put(ArtifactFiles.UNCOMPRESSED_DIGEST, Digest.sha256(new byte[1]).toString());
        assertThatThrownBy(() -> ArtifactFiles.materialize(store, l.withAnnotations(wrongDigest), target,
                ArtifactFiles.Placement.LINK))
                .isInstanceOfSatisfying(DavitException.class, e -> {
                    assertThat(e.kind()).isEqualTo(DavitException.Kind.VERIFICATION);
                    assertThat(e.getMessage()).contains("rootfs.ext4 decompresses to " + real);
                });
        assertThat(names(dir)).isEmpty();

        // more bytes than the annotation says: stopped at once
        Map<String, String> smaller = new HashMap<>(l.annotations());
        smaller.put(ArtifactFiles.UNCOMPRESSED_SIZE, Long.toString(MIB));
        assertThatThrownBy(() -> ArtifactFiles.materialize(store, l.withAnnotations(smaller), target,
                ArtifactFiles.Placement.LINK))
                .isInstanceOfSatisfying(DavitException.class, e -> assertThat(e.getMessage())
                        .contains("decompresses to more than " + MIB + " bytes"));
        assertThat(names(dir)).isEmpty();

        // a blob that is not zstd (a store blob with the layer's annotations)
        byte[] junk = "not zstd at all".getBytes(StandardCharsets.UTF_8);
        Descriptor bad = new Descriptor(l.mediaType(), Digest.sha256(junk), junk.length, List.of(), l.annotations(),
                null, null);
        store.putBlob(bad, junk);
        assertThatThrownBy(() -> ArtifactFiles.materialize(store, bad, target, ArtifactFiles.Placement.LINK))
                .isInstanceOfSatisfying(DavitException.class, e -> {
                    assertThat(e.kind()).isEqualTo(DavitException.Kind.VERIFICATION);
                    assertThat(e.getMessage()).contains("is not valid zstd");
                });
        // an uncompressed digest on a layer without the +zstd suffix: refused, not guessed
        Descriptor noSuffix = new Descriptor("application/vnd.example.ext4.v1", l.digest(), l.size(), List.of(),
                l.annotations(), null, null);
        assertThatThrownBy(() -> ArtifactFiles.materialize(store, noSuffix, target, ArtifactFiles.Placement.LINK))
                .isInstanceOfSatisfying(DavitException.class, e -> assertThat(e.getMessage())
                        .contains("does not end in +zstd"));
        assertThat(names(dir)).isEmpty();
    }
}
