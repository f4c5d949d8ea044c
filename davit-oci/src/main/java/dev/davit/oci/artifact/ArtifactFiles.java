package dev.davit.oci.artifact;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Text;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The files of an artifact's layers: how a file is stored compressed, and how a stored layer becomes a file again.
 *
 * <p>A layer stored compressed has the media type of its file plus {@value #ZSTD_SUFFIX} (for example
 * {@code application/vnd.davit.env.ext4.v1+zstd}) and two annotations, {@value #UNCOMPRESSED_DIGEST} and
 * {@value #UNCOMPRESSED_SIZE}, naming the file's own digest and size (like an image layer's diff_id): the blob is
 * verified by the store against the layer digest, the decompressed file against these. Any other layer is the
 * file itself.
 */
public final class ArtifactFiles {
    /** The annotation holding the digest of a compressed layer's file. */
    public static final String UNCOMPRESSED_DIGEST = "dev.davit.uncompressed.digest";
    /** The annotation holding the size in bytes of a compressed layer's file. */
    public static final String UNCOMPRESSED_SIZE = "dev.davit.uncompressed.size";
    /** The media type suffix of a zstd-compressed file. */
    public static final String ZSTD_SUFFIX = "+zstd";
    /**
     * The zstd level files are compressed with, with long-distance matching over a {@value #ZSTD_WINDOW_LOG}-bit
     * (128 MiB) window, the largest every zstd decoder accepts without an option. Measured on the git microVM's
     * rootfs.ext4 (docs/reference/BENCHMARKS.md): this gives about what level 9 gives, in a quarter of its time.
     */
    public static final int ZSTD_LEVEL = 3;
    /** The long-distance matching window of compressed files: 2^27 bytes. */
    public static final int ZSTD_WINDOW_LOG = 27;
    /**
     * zstd worker threads. The output of every worker count from 1 up is the same bytes (it differs only from the
     * single-threaded mode 0), so artifacts stay reproducible across machines.
     */
    static final int ZSTD_WORKERS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
    /** Runs of zeros this long and aligned to it are left as holes in a decompressed file. */
    static final int HOLE_BLOCK = 4096;
    private static final int BUFFER = 1 << 20;
    private static final byte[] ZEROS = new byte[HOLE_BLOCK];

    private ArtifactFiles() {
    }

    /** How a layer stored as-is becomes a file. */
    public enum Placement {
        /** A hard link to the store blob (the file must never be written in place); a copy across file systems. */
        LINK,
        /** A copy of the store blob (a copy-on-write clone where the file system can make one). */
        COPY
    }

    /**
     * A file made from a layer.
     *
     * @param path   the file
     * @param digest the digest of its content (verified)
     * @param size   its size in bytes
     * @param linked whether it is a hard link to the store blob
     */
    public record Materialized(Path path, Digest digest, long size, boolean linked) {
    }

    /**
     * {@return whether a layer is a compressed file: it carries {@value #UNCOMPRESSED_DIGEST}}
     *
     * @param layer the layer's descriptor
     */
    public static boolean compressed(Descriptor layer) {
        return layer.annotation(UNCOMPRESSED_DIGEST) != null;
    }

    /**
     * {@return the media type of the file a layer holds: a compressed layer's without {@value #ZSTD_SUFFIX}}
     *
     * @param layer the layer's descriptor
     */
    public static String fileMediaType(Descriptor layer) {
        String t = layer.mediaType();
        return compressed(layer) && t.endsWith(ZSTD_SUFFIX) ? t.substring(0, t.length() - ZSTD_SUFFIX.length()) : t;
    }

    /**
     * Writes the file of {@code layer} (whose blob must be in {@code store}) to {@code target}, replacing it. A
     * layer stored as-is is linked or copied as {@code placement} says. A compressed layer is decompressed
     * into a temp file next to {@code target}: runs of zeros are left as holes (the file is sparse), the content
     * is hashed while it is written and must match the layer's uncompressed digest and size, then it is synced
     * and renamed into place. On any failure nothing is left behind.
     *
     * @param store the store holding the layer's blob
     * @param layer the layer's descriptor
     * @param target the file to write; its directory is created if missing
     * @param placement how a layer stored as-is becomes the file; ignored for a compressed layer
     * @return the file written, with its verified digest and size
     * @throws DavitException VERIFICATION when the content does not match, STORE when it cannot be written
     */
    public static Materialized materialize(OciStore store, Descriptor layer, Path target, Placement placement) {
        Path dir = target.toAbsolutePath().getParent();
        String name = target.getFileName().toString();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = dir.resolve("." + name + "." + Long.toHexString(System.nanoTime()) + ".part");
            Materialized m;
            if (compressed(layer)) {
                m = decompress(store, layer, tmp, target);
            } else {
                Path blob = store.blobPath(layer.digest());
                boolean linked = false;
                if (placement == Placement.LINK) {
                    try {
                        Files.createLink(tmp, blob);
                        linked = true;
                    } catch (IOException | UnsupportedOperationException e) {
                        // another file system: copy below
                    }
                }
                if (!linked) {
                    Fs.cloneOrCopy(blob, tmp);
                    Fs.fsync(tmp);
                }
                m = new Materialized(target, layer.digest(), layer.size(), linked);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Fs.fsyncDir(dir);
            return m;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + target + ": " + e.getMessage()
                    + "; check free space and permissions");
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a leftover temp file starts with '.' and ends in .part
                }
            }
        }
    }

    private static Materialized decompress(OciStore store, Descriptor layer, Path tmp, Path target)
            throws IOException {
        String title = layer.annotation(Artifacts.TITLE) == null ? target.getFileName().toString()
                : Text.shorten(layer.annotation(Artifacts.TITLE), 80);
        if (!layer.mediaType().endsWith(ZSTD_SUFFIX)) {
            throw new DavitException(Kind.VERIFICATION, "layer " + title + " (" + Text.shorten(layer.mediaType(), 80)
                    + ") records an uncompressed digest but its media type does not end in " + ZSTD_SUFFIX
                    + ", the only compression davit reads; publish it with a " + ZSTD_SUFFIX + " media type");
        }
        Digest expected;
        long expectedSize;
        try {
            expected = Digest.parse(layer.annotation(UNCOMPRESSED_DIGEST));
            expectedSize = Long.parseLong(String.valueOf(layer.annotation(UNCOMPRESSED_SIZE)));
        } catch (RuntimeException e) {
            throw new DavitException(Kind.VERIFICATION, "layer " + title + " has no valid " + UNCOMPRESSED_DIGEST
                    + " and " + UNCOMPRESSED_SIZE + " annotations; publish it again");
        }
        MessageDigest md = expected.algorithm().newMessageDigest();
        long total = 0;
        byte[] buf = new byte[BUFFER];
        try (InputStream blob = store.openBlob(layer.digest());
             InputStream in = new ZstdInputStreamNoFinalizer(blob);
             RandomAccessFile raf = new RandomAccessFile(tmp.toFile(), "rw")) {
            FileChannel ch = raf.getChannel();
            int n;
            while ((n = in.readNBytes(buf, 0, buf.length)) > 0) {
                if (total + n > expectedSize) {
                    throw mismatch(title, "more than " + expectedSize + " bytes", expected, expectedSize);
                }
                md.update(buf, 0, n);
                writeSparse(ch, buf, n, total);
                total += n;
            }
            raf.setLength(total); // a trailing hole
            ch.force(true);
        } catch (com.github.luben.zstd.ZstdIOException e) {
            throw new DavitException(Kind.VERIFICATION, Message.of("layer " + title + " is not valid zstd (" + e.getMessage()
                    + "); the blob " + layer.digest() + " is damaged: run ", Action.FSCK_REPAIR.fix(), " and pull again"));
        }
        Digest got = Digest.fromBytes(expected.algorithm(), md.digest());
        if (total != expectedSize || !got.equals(expected)) {
            throw mismatch(title, got + " (" + total + " bytes)", expected, expectedSize);
        }
        return new Materialized(target, expected, expectedSize, false);
    }

    private static DavitException mismatch(String title, String got, Digest expected, long size) {
        return new DavitException(Kind.VERIFICATION, "layer " + title + " decompresses to " + got + ", not the "
                + expected + " (" + size + " bytes) its annotations record; the artifact is damaged or was"
                + " published wrongly: pull it again or publish it again");
    }

    /** Writes {@code buf[0, n)} at {@code pos}, skipping aligned all-zero blocks (they stay holes). */
    private static void writeSparse(FileChannel ch, byte[] buf, int n, long pos) throws IOException {
        int start = -1; // start of a pending run of data
        for (int off = 0; off < n; off += HOLE_BLOCK) {
            int len = Math.min(HOLE_BLOCK, n - off);
            boolean zero = Arrays.mismatch(buf, off, off + len, ZEROS, 0, len) < 0;
            if (zero && start >= 0) {
                write(ch, buf, start, off - start, pos + start);
                start = -1;
            } else if (!zero && start < 0) {
                start = off;
            }
        }
        if (start >= 0) {
            write(ch, buf, start, n - start, pos + start);
        }
    }

    private static void write(FileChannel ch, byte[] buf, int off, int len, long at) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(buf, off, len);
        while (bb.hasRemaining()) {
            at += ch.write(bb, at);
        }
    }

    /** Annotations of a compressed layer for a file of this digest and size. */
    static Map<String, String> uncompressedAnnotations(Digest digest, long size) {
        Map<String, String> a = new HashMap<>();
        a.put(UNCOMPRESSED_DIGEST, digest.toString());
        a.put(UNCOMPRESSED_SIZE, Long.toString(size));
        return a;
    }

    /** A zstd stream of {@link #ZSTD_LEVEL} and {@link #ZSTD_WORKERS} into {@code out} (closing it closes out). */
    static OutputStream zstd(OutputStream out) throws IOException {
        ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(out, ZSTD_LEVEL);
        z.setChecksum(false);
        z.setWorkers(ZSTD_WORKERS);
        z.setLong(ZSTD_WINDOW_LOG);
        return z;
    }
}
