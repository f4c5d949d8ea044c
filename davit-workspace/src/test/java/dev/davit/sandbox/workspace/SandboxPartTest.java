package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Json;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.unpack.TarExtractor;
import dev.davit.oci.unpack.UnpackOptions;
import dev.davit.oci.unpack.Unpacker;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The 'sandbox' layer of a whole-sandbox snapshot from a stranger (crafted here, as an attacker's review of issue 53
 * crafted them), on its way to an image in the store: only what a push writes (a gzip-compressed tar) is taken, its
 * entries' sizes are bounded by the new workspace's disk as they are met, a sparse entry or a huge header is refused,
 * and nothing is named then; a good one becomes an image whose diff ID the unpacker agrees with. Data only: no
 * sandbox is started.
 */
class SandboxPartTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path tmp;

    private OciStore store;
    private Descriptor env;

    @BeforeEach
    void environment() throws IOException {
        store = OciStore.open(tmp.resolve("store"));
        byte[] base = tar("base.txt", "base\n".getBytes());
        byte[] blob = gzip(base);
        Descriptor layer = new Descriptor(MediaTypes.OCI_LAYER_GZIP, Digest.sha256(blob), blob.length);
        store.putBlob(layer, blob);
        var cfg = Json.object().put("architecture", "amd64").put("os", "linux");
        cfg.putObject("config");
        var rootfs = cfg.putObject("rootfs").put("type", "layers");
        rootfs.putArray("diff_ids").add(Digest.sha256(base).toString());
        byte[] cfgBytes = Json.bytes(cfg);
        Descriptor cfgDesc = new Descriptor(MediaTypes.OCI_CONFIG, Digest.sha256(cfgBytes), cfgBytes.length);
        store.putBlob(cfgDesc, cfgBytes);
        var m = Json.object().put("schemaVersion", 2).put("mediaType", MediaTypes.OCI_MANIFEST);
        m.set("config", dev.davit.oci.internal.manifest.ManifestJson.toJson(cfgDesc));
        m.putArray("layers").add(dev.davit.oci.internal.manifest.ManifestJson.toJson(layer));
        byte[] mb = Json.bytes(m);
        env = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(mb), mb.length);
        store.putBlob(env, mb);
        store.setEntry("localhost/test/env@" + env.digest(), env, java.util.Map.of());
    }

    private final List<String> named = new ArrayList<>();

    /** The restore's step: the environment with the crafted layer on top, within {@code caps}. */
    private String restored(byte[] blob, String mediaType, TarExtractor.Limits caps) {
        Descriptor layer = new Descriptor(mediaType, Digest.sha256(blob), blob.length);
        store.putBlob(layer, blob);
        return SandboxPart.environment(store, env, "localhost/test/env@" + env.digest(), layer,
                Digest.sha256(blob), Instant.parse("2026-01-01T00:00:00Z"), caps, "evil/snap:1", named);
    }

    private static TarExtractor.Limits caps(long bytes) {
        return new TarExtractor.Limits(bytes, 1000, 4096);
    }

    private void refused(byte[] blob, String mediaType, TarExtractor.Limits caps, DavitException.Kind kind,
                         String says) {
        assertThatThrownBy(() -> restored(blob, mediaType, caps)).isInstanceOf(DavitException.class)
                .satisfies(e -> {
                    assertThat(((DavitException) e).kind()).isEqualTo(kind);
                    assertThat(e.getMessage()).contains("evil/snap:1").contains(says).doesNotContain("\n");
                });
        assertThat(named).isEmpty();
        assertThat(store.entries()).extracting(dev.davit.oci.store.StoreEntry::name)
                .noneMatch(n -> n.startsWith(WorkspaceImages.RESTORED));
    }

    @Test
    void aGoodLayerBecomesAnImageTheUnpackerAgreesWith() throws IOException {
        String name = restored(gzip(tar("opt/tool", "v1\n".getBytes())), MediaTypes.OCI_LAYER_GZIP, caps(MIB));
        assertThat(name).startsWith(WorkspaceImages.RESTORED + ":");
        assertThat(named).containsExactly(name);
        Path dir = tmp.resolve("rootfs");
        new Unpacker(store, UnpackOptions.defaults()).unpack(store.entry(name).get().descriptor(),
                PlatformSelector.host(), dir);
        assertThat(dir.resolve("opt/tool")).hasContent("v1");
        assertThat(dir.resolve("base.txt")).hasContent("base");
    }

    @Test
    void onlyAGzipTarIsTaken() throws IOException {
        byte[] tar = tar("x", "x".getBytes());
        refused(gzip(tar), "application/vnd.oci.image.layer.v1.tar+zstd", caps(MIB), DavitException.Kind.VERIFICATION,
                "is not a gzip-compressed tar");
        refused(tar, MediaTypes.OCI_LAYER_GZIP, caps(MIB), DavitException.Kind.VERIFICATION, "is not gzip");
    }

    @Test
    void itsEntriesAreBoundedByTheNewDiskAsTheyAreMet() throws IOException {
        refused(gzip(tar("big", new byte[(int) (2 * MIB)])), MediaTypes.OCI_LAYER_GZIP, caps(MIB),
                DavitException.Kind.USAGE, "larger disk");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(b)) {
            for (int i = 0; i < 1001; i++) {
                TarArchiveEntry e = new TarArchiveEntry("f" + i);
                t.putArchiveEntry(e);
                t.closeArchiveEntry();
            }
        }
        refused(gzip(b.toByteArray()), MediaTypes.OCI_LAYER_GZIP, caps(MIB), DavitException.Kind.USAGE,
                "1000 entries");
    }

    @Test
    void aSparseEntryOrAHugeHeaderIsRefused() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("sparse-src"));
        try (var f = java.nio.channels.FileChannel.open(src.resolve("holes"), java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE)) {
            f.write(java.nio.ByteBuffer.wrap("end".getBytes()), 64 * MIB - 3);
        }
        Path t = tmp.resolve("sparse.tar");
        Process p = new ProcessBuilder("tar", "--sparse", "--format=gnu", "-cf", t.toString(), "-C", src.toString(),
                "holes").inheritIO().start();
        assertThat(p.waitFor()).isZero();
        refused(gzip(Files.readAllBytes(t)), MediaTypes.OCI_LAYER_GZIP, caps(MIB), DavitException.Kind.VERIFICATION,
                "sparse file");
        refused(gzip(gnuLongName(3 << 20)), MediaTypes.OCI_LAYER_GZIP, caps(MIB), DavitException.Kind.VERIFICATION,
                "tar header over 1 MiB");
    }

    /** A GNU long-name entry ('L') of {@code length} bytes of name, written by hand, and the tar's end. */
    private static byte[] gnuLongName(int length) {
        byte[] h = new byte[512];
        put(h, 0, "././@LongLink");
        put(h, 100, "0000644");
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, String.format("%011o", length));
        put(h, 136, "00000000000");
        java.util.Arrays.fill(h, 148, 156, (byte) ' ');
        h[156] = 'L';
        put(h, 257, "ustar  ");
        int sum = 0;
        for (byte x : h) {
            sum += x & 0xff;
        }
        put(h, 148, String.format("%06o", sum));
        h[155] = ' ';
        int data = (length + 511) / 512 * 512;
        byte[] out = new byte[512 + data + 1024];
        System.arraycopy(h, 0, out, 0, 512);
        java.util.Arrays.fill(out, 512, 512 + length, (byte) 'n');
        return out;
    }

    private static void put(byte[] h, int at, String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, at, b.length);
    }

    private static byte[] tar(String name, byte[] content) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(b)) {
            t.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            TarArchiveEntry e = new TarArchiveEntry(name);
            e.setSize(content.length);
            e.setMode(0644);
            t.putArchiveEntry(e);
            t.write(content);
            t.closeArchiveEntry();
        }
        return b.toByteArray();
    }

    private static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(out)) {
            g.write(b);
        }
        return out.toByteArray();
    }
}
