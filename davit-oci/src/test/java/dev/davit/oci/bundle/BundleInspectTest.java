package dev.davit.oci.bundle;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.digest.Digest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipEncodingHelper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Inspect reads only the small JSON documents, and applies the import's archive rules. */
class BundleInspectTest {
    static final String NAME = "registry.example/team/app:1";

    @TempDir
    Path dir;

    SmallImage image = SmallImage.of("inspected layer");

    @Test
    void showsAnIncompleteBundleAndShortNames() {
        Path p = new TarBuilder().file("oci-layout", SmallImage.layout())
                .file("index.json", SmallImage.index(image.manifestDesc(), "latest"))
                .file(SmallImage.path(image.manifestDesc()), image.manifest())
                .file(SmallImage.path(image.configDesc()), image.config()).write(dir.resolve("partial.tar"));
        BundleInfo info = new BundleInspector().inspect(p);
        assertThat(info.complete()).isFalse();
        assertThat(info.refs()).singleElement().satisfies(r -> {
            assertThat(r.name()).isEqualTo("latest");
            assertThat(r.reference()).isNull();
            assertThat(r.complete()).isFalse();
            assertThat(r.platforms()).containsExactly("linux/arm64/v8");
            assertThat(r.size()).isEqualTo(image.all().stream().mapToLong(d -> d.size()).sum());
        });
        assertThat(info.metadata().isEmpty()).isTrue();
    }

    @Test
    void findsManifestsThatComeBeforeTheirIndexOrIndexJson() {
        // children first, index.json last: streaming needs a second pass, and must still get it right
        Path p = new TarBuilder().file(SmallImage.path(image.layerDesc()), image.layer())
                .file(SmallImage.path(image.configDesc()), image.config())
                .file(SmallImage.path(image.manifestDesc()), image.manifest())
                .file("index.json", SmallImage.index(image.manifestDesc(), NAME))
                .file("oci-layout", SmallImage.layout()).write(dir.resolve("reversed.tar.gz"), Compression.GZIP);
        BundleInfo info = new BundleInspector().inspect(p);
        assertThat(info.compression()).isEqualTo(Compression.GZIP);
        assertThat(info.complete()).isTrue();
        assertThat(info.refs().get(0).platforms()).containsExactly("linux/arm64/v8");
        assertThat(info.refs().get(0).reference()).isEqualTo(NAME);
    }

    @Test
    void appliesTheArchiveRulesInBothReadingModes() {
        for (Compression c : List.of(Compression.NONE, Compression.GZIP)) {
            String sfx = "-" + c;
            List<Object[]> cases = List.of(
                    new Object[] {image.bundle(NAME).file("/abs", new byte[1]), "has an absolute path"},
                    new Object[] {image.bundle(NAME).file("x/../../y", new byte[1]), "leaves the layout"},
                    new Object[] {image.bundle(NAME).symlink("blobs/sha256/" + "a".repeat(64), "/etc"),
                        "is a symbolic link"},
                    new Object[] {image.bundle(NAME).hardlink("oci-layout", "index.json"), "is a hard link"},
                    new Object[] {image.bundle(NAME).charDevice("index.json"), "is a device"},
                    new Object[] {image.bundle(NAME).file("notes.txt", new byte[1]), "is not part of an OCI"},
                    new Object[] {image.bundle(NAME).file("oci-layout", SmallImage.layout()), "appears twice"});
            int i = 0;
            for (Object[] k : cases) {
                Path p = ((TarBuilder) k[0]).write(dir.resolve("case" + i++ + sfx), c);
                assertDavitError(() -> new BundleInspector().inspect(p), Kind.VERIFICATION, (String) k[1]);
            }
        }
    }

    /**
     * A bundle with a 32 GiB layer that is a hole in a sparse file: inspecting it must seek over the layer (reading
     * it would take far longer), and a size limit applies to what a bundle claims.
     */
    @Test
    void seeksOverLayersOfAnUncompressedBundle() throws IOException {
        Path small = image.bundle(NAME).write(dir.resolve("small.tar"));
        Path big = dir.resolve("big.tar");
        long huge = 32L << 30;
        try (FileChannel in = FileChannel.open(small); FileChannel out = FileChannel.open(big,
                StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            // the small bundle's entries without its end-of-archive records, then the huge entry, then the end
            long entriesEnd = endOfEntries(in);
            in.transferTo(0, entriesEnd, out);
            TarArchiveEntry e = new TarArchiveEntry("blobs/sha256/" + Digest.sha256("huge".getBytes(
                    StandardCharsets.UTF_8)).hex());
            e.setSize(huge);
            byte[] header = new byte[512];
            e.writeEntryHeader(header, ZipEncodingHelper.getZipEncoding(StandardCharsets.UTF_8), true);
            out.write(ByteBuffer.wrap(header), entriesEnd);
            long end = entriesEnd + 512 + huge;
            out.write(ByteBuffer.wrap(new byte[1024]), end);
        }
        long t0 = System.nanoTime();
        BundleInfo info = new BundleInspector().inspect(big);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(info.blobs()).isEqualTo(4);
        assertThat(info.blobBytes()).isGreaterThan(huge);
        assertThat(info.complete()).isTrue();
        assertThat(ms).as("inspect took %d ms", ms).isLessThan(5_000);
        assertDavitError(() -> new BundleInspector(1L << 30, 100).inspect(big), Kind.VERIFICATION,
                "expands to more than 1073741824 bytes");
    }

    /** Offset of the first all-zero 512-byte record at a header position (the end-of-archive marker). */
    private static long endOfEntries(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(512);
        long pos = 0;
        while (true) {
            b.clear();
            ch.read(b, pos);
            boolean zero = true;
            for (int i = 0; i < 512; i++) {
                zero &= b.get(i) == 0;
            }
            if (zero) {
                return pos;
            }
            TarArchiveEntry e = new TarArchiveEntry(b.array());
            pos += 512 + (e.getSize() + 511) / 512 * 512;
        }
    }
}
