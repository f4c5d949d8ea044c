package dev.davit.oci.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Text;
import dev.davit.oci.manifest.Descriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * Writes one layer entry by entry, for a caller that walks something other than a plain directory (a sandbox's
 * writable layer): the same deterministic tar, compression and digests as {@link LayerBuilder}, with the OCI
 * change-set entries too ({@link #whiteout}, {@link #opaque}). The caller gives entries in the order they belong in
 * the tar (a directory before what it holds); owners and times are written as given.
 *
 * <pre>{@code
 * try (LayerWriter w = new LayerWriter(out, Compression.GZIP, -1)) {
 *     w.directory("etc", 0755, 0, 0, mtime);
 *     w.file("etc/motd", 0644, 0, 0, mtime, bytes.length, new ByteArrayInputStream(bytes));
 *     w.whiteout("etc/old.conf", mtime);
 *     LayerBuilder.Layer layer = w.finish();
 * }
 * }</pre>
 */
public final class LayerWriter implements AutoCloseable {
    /** The prefix of a whiteout's name: {@code .wh.NAME} hides NAME of the layers below. */
    public static final String WHITEOUT = ".wh.";
    /** The name that makes its directory opaque: nothing of the layers below shows in it. */
    public static final String OPAQUE = ".wh..wh..opq";

    private final Compression compression;
    private final LayerStreams.Sink sink;
    private final LayerStreams.Hashing blob;
    private final LayerStreams.Hashing tar;
    private final TarWriter w;
    private final byte[] buf = new byte[LayerStreams.CHUNK];
    private int entries;
    private boolean done;
    private long clamp = -1;
    private java.util.function.Consumer<Written> watch;

    /**
     * An entry as it is written (see {@link #watch}).
     *
     * @param name    its name in the tar: a directory's ends in {@code /}, a whiteout's last part is {@code .wh.NAME}
     * @param regular whether it is a regular file (a whiteout and an opaque mark are too)
     * @param mode    its permission bits
     * @param uid     its owner
     * @param gid     its group
     * @param size    a regular file's size, else 0
     * @param mtime   its modification time as given, before {@link #clampTimes}
     */
    public record Written(String name, boolean regular, int mode, long uid, long gid, long size, long mtime) {
    }

    /**
     * A writer sending the compressed layer to {@code out} (not closed).
     *
     * @param out         receives the compressed layer
     * @param compression how to compress it
     * @param level       the compression level, or -1 for the default of {@code compression}
     * @throws DavitException STORE when the compressor cannot be made
     */
    public LayerWriter(OutputStream out, Compression compression, int level) {
        this.compression = compression;
        this.sink = new LayerStreams.Sink(out);
        this.blob = new LayerStreams.Hashing(sink);
        int lv = level >= 0 ? level : compression.defaultLevel();
        try {
            OutputStream compressed = switch (compression) {
                case GZIP -> new LayerStreams.Gzip(blob, lv);
                case ZSTD -> LayerStreams.zstd(blob, lv);
                case NONE -> blob;
            };
            this.tar = new LayerStreams.Hashing(new LayerStreams.Chunker(compressed));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot start the layer's compressor: " + e.getMessage(), e);
        }
        this.w = new TarWriter(tar);
    }

    /**
     * A directory entry.
     *
     * @param path  its path in the layer, relative, without a trailing slash
     * @param mode  its permission bits (with setuid, setgid, sticky)
     * @param uid   its owner
     * @param gid   its group
     * @param mtime its modification time, seconds since the epoch
     * @throws IOException when the output cannot be written
     */
    public void directory(String path, int mode, long uid, long gid, long mtime) throws IOException {
        header(new TarWriter.Entry(path + "/", TarWriter.DIRECTORY, mode & 07777, uid, gid, "", "", 0, mtime, null));
    }

    /**
     * A regular file of exactly {@code size} bytes read from {@code content} (not closed).
     *
     * @param path    its path in the layer
     * @param mode    its permission bits
     * @param uid     its owner
     * @param gid     its group
     * @param mtime   its modification time, seconds since the epoch
     * @param size    its size
     * @param content its bytes
     * @throws IOException when the output cannot be written, or content is not {@code size} bytes long ({@link
     *                     Changed})
     */
    public void file(String path, int mode, long uid, long gid, long mtime, long size, InputStream content)
            throws IOException {
        header(new TarWriter.Entry(path, TarWriter.REGULAR, mode & 07777, uid, gid, "", "", size, mtime, null));
        OutputStream out = w.content();
        long left = size;
        while (left > 0) {
            int n = content.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
                throw new Changed(path);
            }
            out.write(buf, 0, n);
            left -= n;
        }
        if (content.read(buf, 0, 1) > 0) {
            throw new Changed(path);
        }
        w.pad(size);
    }

    /**
     * A symbolic link (its target is text, never resolved).
     *
     * @param path   its path in the layer
     * @param target what it names
     * @param uid    its owner
     * @param gid    its group
     * @param mtime  its modification time, seconds since the epoch
     * @throws IOException when the output cannot be written
     */
    public void symlink(String path, String target, long uid, long gid, long mtime) throws IOException {
        header(new TarWriter.Entry(path, TarWriter.SYMLINK, 0777, uid, gid, "", "", 0, mtime, target));
    }

    /**
     * A hard link to a file written earlier in this layer.
     *
     * @param path   its path in the layer
     * @param target the path of the file written before
     * @param mode   the file's permission bits
     * @param uid    its owner
     * @param gid    its group
     * @param mtime  its modification time, seconds since the epoch
     * @throws IOException when the output cannot be written
     */
    public void hardlink(String path, String target, int mode, long uid, long gid, long mtime) throws IOException {
        header(new TarWriter.Entry(path, TarWriter.HARDLINK, mode & 07777, uid, gid, "", "", 0, mtime, target));
    }

    /**
     * A whiteout: {@code path} of the layers below is deleted.
     *
     * @param path  the deleted path
     * @param mtime the whiteout's time, seconds since the epoch
     * @throws IOException when the output cannot be written
     */
    public void whiteout(String path, long mtime) throws IOException {
        int slash = path.lastIndexOf('/');
        String name = slash < 0 ? WHITEOUT + path : path.substring(0, slash + 1) + WHITEOUT
                + path.substring(slash + 1);
        header(new TarWriter.Entry(name, TarWriter.REGULAR, 0, 0, 0, "", "", 0, mtime, null));
    }

    /**
     * Makes directory {@code dir} (written just before) opaque: nothing of the layers below shows in it.
     *
     * @param dir   the directory's path in the layer
     * @param mtime the marker's time, seconds since the epoch
     * @throws IOException when the output cannot be written
     */
    public void opaque(String dir, long mtime) throws IOException {
        header(new TarWriter.Entry(dir + "/" + OPAQUE, TarWriter.REGULAR, 0, 0, 0, "", "", 0, mtime, null));
    }

    private void header(TarWriter.Entry e) throws IOException {
        if (done) {
            throw new IllegalStateException("the layer is finished");
        }
        if (watch != null) {
            watch.accept(new Written(e.name(), e.type() == TarWriter.REGULAR, e.mode(), e.uid(), e.gid(), e.size(),
                    e.mtime()));
        }
        if (clamp >= 0 && e.mtime() > clamp) {
            e = new TarWriter.Entry(e.name(), e.type(), e.mode(), e.uid(), e.gid(), e.uname(), e.gname(), e.size(),
                    clamp, e.linkname());
        }
        w.header(e);
        entries++;
    }

    /**
     * Tells {@code each} of every later entry as it is written (a caller that adds entries of its own after another
     * wrote its part, e.g. the hard links a build step's changes left out).
     *
     * @param each hears each entry, or null for none
     * @return this writer
     */
    public LayerWriter watch(java.util.function.Consumer<Written> each) {
        this.watch = each;
        return this;
    }

    /**
     * Clamps every later entry's modification time to {@code epoch}: a time after it is written as it (a time
     * before it stays), as reproducible builds do with {@code SOURCE_DATE_EPOCH}, so files a build step writes now
     * give the same layer when their content is the same.
     *
     * @param epoch the latest time an entry may have, or null to write times as given
     * @return this writer
     */
    public LayerWriter clampTimes(java.time.Instant epoch) {
        this.clamp = epoch == null ? -1 : epoch.getEpochSecond();
        return this;
    }

    /**
     * Ends the tar and the compressed stream.
     *
     * @return the layer's descriptor (media type of the compression, digest and size), diff ID and entry count;
     *         not {@link LayerBuilder.Layer#cached()}
     * @throws IOException when the output cannot be written
     */
    public LayerBuilder.Layer finish() throws IOException {
        if (!done) {
            w.finish();
            tar.close();
            done = true;
        }
        return new LayerBuilder.Layer(new Descriptor(compression.mediaType(), blob.digest(), blob.count()),
                tar.digest(), tar.count(), entries, List.of(), false);
    }

    /** Releases the compressor of an unfinished layer; what was written is not ended, so the caller drops it. */
    @Override
    public void close() {
        if (!done) {
            done = true;
            sink.drop();
            try {
                tar.close();
            } catch (IOException | RuntimeException ignored) {
                // only releasing the compressor
            }
        }
    }

    /** A file whose size changed while it was read. */
    public static final class Changed extends IOException {
        private static final long serialVersionUID = 1L;

        /**
         * Says which file changed.
         *
         * @param path the file's path in the layer
         */
        public Changed(String path) {
            super("file " + Text.shorten(path, 200) + " changed while it was being read");
        }
    }
}
