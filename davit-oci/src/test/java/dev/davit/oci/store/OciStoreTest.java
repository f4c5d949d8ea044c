package dev.davit.oci.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OciStoreTest {
    @TempDir
    Path dir;

    static Descriptor blob(byte[] data) {
        return new Descriptor(MediaTypes.OCI_LAYER, Digest.sha256(data), data.length);
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Puts a config, a layer and a manifest pointing at them; returns the manifest descriptor. */
    static Descriptor putImage(OciStore store, String layerText) {
        byte[] config = bytes("{\"architecture\":\"amd64\",\"os\":\"linux\"}");
        byte[] layer = bytes(layerText);
        Descriptor c = new Descriptor(MediaTypes.OCI_CONFIG, Digest.sha256(config), config.length);
        Descriptor l = blob(layer);
        store.putBlob(c, config);
        store.putBlob(l, layer);
        byte[] manifest = bytes("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"config\":{"
                + "\"mediaType\":\"" + c.mediaType() + "\",\"digest\":\"" + c.digest() + "\",\"size\":" + c.size()
                + "},\"layers\":[{\"mediaType\":\"" + l.mediaType() + "\",\"digest\":\"" + l.digest() + "\",\"size\":"
                + l.size() + "}]}");
        Descriptor m = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(manifest), manifest.length);
        store.putBlob(m, manifest);
        return m;
    }

    @Test
    void createsAStandardLayout() throws Exception {
        OciStore.open(dir);
        assertThat(Files.readString(dir.resolve("oci-layout"))).contains("\"imageLayoutVersion\":\"1.0.0\"");
        assertThat(Files.readString(dir.resolve("index.json"))).contains("\"schemaVersion\":2").contains("\"manifests\":[]");
        assertThat(dir.resolve("blobs")).isDirectory();
    }

    @Test
    void refusesAFileAsStoreAndABrokenLayout() throws Exception {
        Path file = Files.writeString(dir.resolve("f"), "x");
        assertThatThrownBy(() -> OciStore.open(file)).isInstanceOf(DavitException.class)
                .hasMessageContaining("is not a directory");
        Path bad = dir.resolve("bad");
        Files.createDirectories(bad);
        Files.writeString(bad.resolve("oci-layout"), "nonsense");
        assertThatThrownBy(() -> OciStore.open(bad)).isInstanceOf(DavitException.class)
                .hasMessageContaining("invalid oci-layout");
    }

    @Test
    void ingestCommitsOnlyVerifiedContent() throws Exception {
        OciStore store = OciStore.open(dir);
        byte[] data = bytes("hello world");
        Descriptor d = blob(data);
        try (BlobIngest in = store.ingest(d)) {
            in.write(data, 0, 5);
            in.write(bytes("WORLD!"), 0, 6);
            assertThatThrownBy(in::commit).isInstanceOf(DavitException.class)
                    .matches(e -> ((DavitException) e).kind() == DavitException.Kind.VERIFICATION)
                    .hasMessageContaining("failed verification");
        }
        assertThat(store.hasBlob(d.digest())).isFalse();
        assertThat(Files.list(dir.resolve(".davit/ingest")).filter(p -> p.toString().endsWith(".partial"))).isEmpty();
    }

    @Test
    void refusesMoreBytesThanTheDescriptorSays() {
        OciStore store = OciStore.open(dir);
        byte[] data = bytes("abc");
        try (BlobIngest in = store.ingest(blob(data))) {
            assertThatThrownBy(() -> in.write(bytes("abcd"), 0, 4)).isInstanceOf(DavitException.class)
                    .hasMessageContaining("larger than its descriptor");
        }
    }

    @Test
    void anInterruptedIngestResumesAndIsNeverTakenForComplete() throws Exception {
        OciStore store = OciStore.open(dir);
        byte[] data = bytes("0123456789abcdef");
        Descriptor d = blob(data);
        try (BlobIngest in = store.ingest(d)) {
            in.write(data, 0, 10);
            // closed without commit, as if the process died
        }
        assertThat(store.hasBlob(d.digest())).isFalse();
        try (BlobIngest in = store.ingest(d)) {
            assertThat(in.present()).isFalse();
            assertThat(in.offset()).isEqualTo(10);
            assertThat(in.resumedFrom()).isEqualTo(10);
            in.write(data, 10, 6);
            in.commit();
        }
        assertThat(Files.readAllBytes(store.blobPath(d.digest()))).isEqualTo(data);
        try (BlobIngest in = store.ingest(d)) {
            assertThat(in.present()).isTrue();
        }
    }

    @Test
    void rangesWrittenAheadOfTheHashedBytesAreNeverResumedAcrossTheirHoles() throws Exception {
        OciStore store = OciStore.open(dir);
        byte[] data = new byte[100_000];
        new java.util.Random(5).nextBytes(data);
        Descriptor d = blob(data);
        byte[] buf = new byte[4096];
        try (BlobIngest in = store.ingest(d)) {
            in.beginRanges();
            in.writeAt(60_000, data, 60_000, 40_000);   // the last range, done first
            in.writeAt(0, data, 0, 25_000);             // the first, part of it
            in.absorb(25_000, buf);
            assertThat(in.offset()).isEqualTo(25_000);
            // closed without commit: the file is cut back to the bytes hashed
        }
        assertThat(Files.size(dir.resolve(".davit/ingest/sha256-" + d.digest().hex() + ".partial"))).isEqualTo(25_000);
        try (BlobIngest in = store.ingest(d)) {
            assertThat(in.offset()).isEqualTo(25_000);
        }
        // as a killed process leaves it: ranges past a hole, and the record of the bytes hashed
        byte[] holed = data.clone();
        java.util.Arrays.fill(holed, 25_000, 60_000, (byte) 0);
        Files.write(dir.resolve(".davit/ingest/sha256-" + d.digest().hex() + ".partial"), holed);
        Files.writeString(dir.resolve(".davit/ingest/sha256-" + d.digest().hex() + ".partial.upto"), "25000");
        try (BlobIngest in = store.ingest(d)) {
            assertThat(in.offset()).isEqualTo(25_000);
            in.write(data, 25_000, data.length - 25_000);
            in.commit();
        }
        assertThat(Files.readAllBytes(store.blobPath(d.digest()))).isEqualTo(data);
        try (var left = Files.list(dir.resolve(".davit/ingest"))) {
            assertThat(left.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".lock"))).isEmpty();
        }
        // a record torn by a crash counts as nothing
        byte[] other = bytes("another blob, resumed from nothing");
        Descriptor o = blob(other);
        Files.write(dir.resolve(".davit/ingest/sha256-" + o.digest().hex() + ".partial"), other);
        Files.writeString(dir.resolve(".davit/ingest/sha256-" + o.digest().hex() + ".partial.upto"), "1x");
        try (BlobIngest in = store.ingest(o)) {
            assertThat(in.offset()).isZero();
        }
    }

    @Test
    void aPartialLargerThanTheBlobIsDiscarded() throws Exception {
        OciStore store = OciStore.open(dir);
        byte[] data = bytes("short");
        Descriptor d = blob(data);
        Files.write(dir.resolve(".davit/ingest/sha256-" + d.digest().hex() + ".partial"), bytes("much too long"));
        try (BlobIngest in = store.ingest(d)) {
            assertThat(in.offset()).isZero();
        }
    }

    @Test
    void entriesAreNamedReplacedAndRemoved() {
        OciStore store = OciStore.open(dir);
        Descriptor a = putImage(store, "layer a");
        Descriptor b = putImage(store, "layer b");
        store.setEntry("example.com/x:1", a, Map.of(OciStore.RESOLVED_DIGEST, a.digest().toString()));
        store.setEntry("example.com/y:1", b, Map.of());
        store.setEntry("example.com/x:1", b, Map.of());
        assertThat(store.entries()).extracting(StoreEntry::name).containsExactly("example.com/y:1", "example.com/x:1");
        assertThat(store.entry("example.com/x:1").orElseThrow().descriptor().digest()).isEqualTo(b.digest());
        assertThat(store.removeEntry("example.com/x:1")).isTrue();
        assertThat(store.removeEntry("example.com/x:1")).isFalse();
        assertThat(store.entries()).extracting(StoreEntry::name).containsExactly("example.com/y:1");
    }

    @Test
    void anEntryIsAnnotatedOnlyWhileItNamesWhatWasChecked() {
        OciStore store = OciStore.open(dir);
        Descriptor a = putImage(store, "layer a");
        Descriptor b = putImage(store, "layer b");
        store.setEntry("example.com/x:1", a, Map.of("keep", "1"));
        assertThat(store.annotateEntry("example.com/x:1", a.digest(), Map.of("checked", "yes"))).isTrue();
        assertThat(store.entry("example.com/x:1").orElseThrow().descriptor().annotations())
                .containsEntry("keep", "1").containsEntry("checked", "yes");
        // a pull moved the name on meanwhile: the record of the old manifest is dropped, the name is not moved back
        store.setEntry("example.com/x:1", b, Map.of());
        assertThat(store.annotateEntry("example.com/x:1", a.digest(), Map.of("checked", "again"))).isFalse();
        Descriptor now = store.entry("example.com/x:1").orElseThrow().descriptor();
        assertThat(now.digest()).isEqualTo(b.digest());
        assertThat(now.annotations()).doesNotContainKey("checked");
        assertThat(store.annotateEntry("example.com/none:1", a.digest(), Map.of("checked", "yes"))).isFalse();
    }

    @Test
    void anEntryIsRefusedWhenItsGraphIsIncomplete() throws Exception {
        OciStore store = OciStore.open(dir);
        Descriptor m = putImage(store, "layer");
        var manifest = store.readManifest(m);
        Files.delete(store.blobPath(manifest.children().get(1).digest()));
        assertThatThrownBy(() -> store.setEntry("example.com/x:1", m, Map.of()))
                .isInstanceOf(DavitException.class).hasMessageContaining("missing from the store");
        assertThat(store.entries()).isEmpty();
    }

    @Test
    void gcRemovesOnlyUnreachableBlobsAndLeftovers() throws Exception {
        OciStore store = OciStore.open(dir);
        Descriptor keep = putImage(store, "kept");
        Descriptor drop = putImage(store, "dropped");
        store.setEntry("example.com/keep:1", keep, Map.of());
        Files.writeString(dir.resolve(".davit/ingest/sha256-" + "0".repeat(64) + ".partial"), "junk");
        var report = store.gc();
        assertThat(report.removedBlobs()).isEqualTo(2); // drop's manifest and layer; the config is shared
        assertThat(report.removedTempFiles()).isEqualTo(1);
        assertThat(store.hasBlob(drop.digest())).isFalse();
        assertThat(store.graph(keep)).hasSize(3).allMatch(d -> store.hasBlob(d.digest()));
        assertThat(store.fsck(false).clean()).isTrue();
    }

    @Test
    void fsckFindsCorruptAndMissingBlobsAndRepairDeletesCorruptOnes() throws Exception {
        OciStore store = OciStore.open(dir);
        Descriptor m = putImage(store, "some layer");
        store.setEntry("example.com/x:1", m, Map.of());
        var layer = store.readManifest(m).children().get(1);
        Files.writeString(store.blobPath(layer.digest()), "tampered!!");
        var report = store.fsck(false);
        assertThat(report.clean()).isFalse();
        assertThat(report.problems()).extracting(OciStore.Problem::kind).contains("corrupt-blob");
        var repaired = store.fsck(true);
        assertThat(repaired.repaired()).isEqualTo(1);
        var after = store.fsck(false);
        assertThat(after.problems()).extracting(OciStore.Problem::kind).containsExactly("missing-blob");
    }

    @Test
    void concurrentWritersOfTheSameBlobAndIndexStayConsistent() throws Exception {
        OciStore store = OciStore.open(dir);
        byte[] data = new byte[1 << 20];
        new java.util.Random(7).nextBytes(data);
        Descriptor d = blob(data);
        List<Future<?>> fs = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            for (int i = 0; i < 16; i++) {
                int n = i;
                fs.add(pool.submit(() -> {
                    try (var session = store.session()) {
                        store.putBlob(d, data);
                        Descriptor m = putImage(store, "layer " + (n % 4));
                        store.setEntry("example.com/r:" + n, m, Map.of());
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        }
        assertThat(store.entries()).hasSize(16);
        assertThat(store.fsck(false).clean()).isTrue();
        assertThat(Files.readAllBytes(store.blobPath(d.digest()))).isEqualTo(data);
    }
}
