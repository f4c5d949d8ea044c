package dev.davit.oci.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Text;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.store.BlobIngest;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Makes one reproducible layer from a directory: a POSIX tar of everything under it (the directory itself is
 * not an entry), compressed as {@link BuildOptions#compression()} says.
 *
 * <ul>
 *   <li>Entries are sorted by their path's UTF-8 bytes, so a directory comes before its contents.</li>
 *   <li>Modification times are {@link BuildOptions#fileMtime()} (default 0), or the files' own (whole seconds)
 *       with {@link BuildOptions#keepMtimes()}.</li>
 *   <li>Owners are uid/gid 0 with empty user and group names, unless {@link BuildOptions#preserveOwner()};
 *       a path in {@link BuildOptions#owners()} gets the uid/gid given there, with empty names.</li>
 *   <li>Permission bits (including setuid, setgid and sticky) are kept. Symlinks are stored as symlinks and never
 *       followed. Regular files sharing an inode are stored once, later paths as tar hardlinks to the first.</li>
 *   <li>Device nodes, fifos and sockets are skipped and listed in {@link Layer#skipped()}. Extended attributes
 *       are not stored.</li>
 * </ul>
 *
 * <p>The same directory content with the same options always gives byte-identical layers (for one version of
 * davit: gzip output depends on the JDK's zlib, zstd output on the bundled libzstd).
 */
public final class LayerBuilder {
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFDIR = 0040000;
    private static final int S_IFLNK = 0120000;
    private static final long PROGRESS_STEP = 1 << 20;

    private final BuildOptions options;

    /**
     * A layer builder with the given settings.
     *
     * @param options the compression, owner and time settings; the config settings are not used here
     */
    public LayerBuilder(BuildOptions options) {
        this.options = options;
    }

    /**
     * One built layer.
     *
     * @param descriptor the layer blob: media type, digest and size of the compressed stream
     * @param diffId     the sha256 of the uncompressed tar (what the image config's {@code rootfs.diff_ids} lists)
     * @param tarSize    the size of the uncompressed tar
     * @param entries    the number of tar entries (directories, files, links)
     * @param skipped    paths (relative to the directory) of special files that were left out
     * @param cached     true when the store already had this blob, so nothing was written
     */
    public record Layer(Descriptor descriptor, Digest diffId, long tarSize, int entries, List<String> skipped,
                        boolean cached) {
        /**
         * Copies the list.
         *
         * @param descriptor the layer blob's descriptor
         * @param diffId the uncompressed tar's sha256
         * @param tarSize the uncompressed tar's size
         * @param entries the number of tar entries
         * @param skipped the skipped special files; not null
         * @param cached whether the store had the blob already
         */
        public Layer {
            skipped = List.copyOf(skipped);
        }

        Layer withCached(boolean c) {
            return new Layer(descriptor, diffId, tarSize, entries, skipped, c);
        }
    }

    /**
     * Writes the compressed layer of {@code dir} to {@code out} (not closed) and returns its digests. The
     * layer's {@link Layer#cached()} is false.
     *
     * @param dir the directory whose content is the layer
     * @param out receives the compressed layer; not closed
     * @return the layer's descriptor, diff ID and counts
     * @throws DavitException USAGE when {@code dir} is not a readable directory or a file in it cannot be read,
     *         VERIFICATION when a file changed size while it was read, STORE when {@code out} cannot be written
     */
    public Layer write(Path dir, OutputStream out) {
        Path root = directory(dir);
        List<String> paths = list(root);
        List<String> skipped = new ArrayList<>();
        LayerStreams.Sink sink = new LayerStreams.Sink(out);
        LayerStreams.Hashing blob = new LayerStreams.Hashing(sink);
        LayerStreams.Hashing tar = null;
        int entries = 0;
        boolean ok = false;
        try {
            OutputStream compressed = switch (options.compression()) {
                case GZIP -> new LayerStreams.Gzip(blob, options.effectiveLevel());
                case ZSTD -> LayerStreams.zstd(blob, options.effectiveLevel());
                case NONE -> blob;
            };
            tar = new LayerStreams.Hashing(new LayerStreams.Chunker(compressed));
            TarWriter w = new TarWriter(tar);
            Map<Object, String> inodes = new HashMap<>();
            byte[] buf = new byte[LayerStreams.CHUNK];
            for (String rel : paths) {
                if (writeEntry(root, rel, w, inodes, buf)) {
                    entries++;
                } else {
                    skipped.add(rel);
                }
            }
            w.finish();
            tar.close();
            ok = true;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write the layer of " + root + ": " + e.getMessage(), e);
        } finally {
            if (!ok && tar != null) {
                sink.drop();
                try {
                    tar.close();
                } catch (IOException | RuntimeException ignored) {
                    // only releasing the compressor
                }
            }
        }
        Descriptor d = new Descriptor(options.compression().mediaType(), blob.digest(), blob.count());
        return new Layer(d, tar.digest(), tar.count(), entries, skipped, false);
    }

    /**
     * Builds the layer of {@code dir} into {@code store}; call it inside {@link OciStore#session()}. A first pass
     * computes the digests without writing anything; when the store lacks the blob, a second pass streams it
     * into the store through {@link OciStore#ingest}, which verifies it against the first pass before committing.
     * No copy of the layer is held in memory or in a temp file.
     *
     * @param dir the directory whose content is the layer
     * @param store the store that receives the blob
     * @param progress receives the blob's progress events
     * @return the layer, {@link Layer#cached()} when the store had it already
     * @throws DavitException VERIFICATION when the directory changed between the passes
     */
    public Layer build(Path dir, OciStore store, ProgressListener progress) {
        Layer layer = write(dir, OutputStream.nullOutputStream());
        Descriptor d = layer.descriptor();
        if (store.hasBlob(d.digest())) {
            store.touch(d.digest());
            progress.onEvent(new ProgressEvent.BlobDone(d, true));
            return layer.withCached(true);
        }
        try (BlobIngest in = store.ingest(d)) {
            if (in.present()) {
                progress.onEvent(new ProgressEvent.BlobDone(d, true));
                return layer.withCached(true);
            }
            in.restart();
            progress.onEvent(new ProgressEvent.BlobStarted(d, 0));
            try {
                write(dir, new IngestStream(in, progress));
                in.commit();
            } catch (RuntimeException e) {
                in.discard();
                if (e instanceof Changed || !(e instanceof DavitException de) || de.kind() != Kind.VERIFICATION) {
                    throw e;
                }
                throw new DavitException(Kind.VERIFICATION, "the content of " + directory(dir) + " changed while"
                        + " its layer was being written; nothing was stored, build again once it is not being"
                        + " modified", e);
            }
            progress.onEvent(new ProgressEvent.BlobDone(d, false));
            return layer;
        }
    }

    /** Feeds an ingest, reporting progress every MiB. */
    private static final class IngestStream extends OutputStream {
        private final BlobIngest in;
        private final ProgressListener progress;
        private long written;
        private long reported;

        IngestStream(BlobIngest in, ProgressListener progress) {
            this.in = in;
            this.progress = progress;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            in.write(b, off, len);
            written += len;
            if (written - reported >= PROGRESS_STEP) {
                reported = written;
                progress.onEvent(new ProgressEvent.BlobProgress(in.descriptor(), written));
            }
        }
    }

    // ---------------------------------------------------------------- walking

    /** The real path of {@code dir}; USAGE when it is missing or not a directory. */
    static Path directory(Path dir) {
        try {
            Path real = dir.toRealPath();
            if (!Files.isDirectory(real)) {
                throw new DavitException(Kind.USAGE, dir + " is not a directory; give the directory to build the"
                        + " image from");
            }
            return real;
        } catch (NoSuchFileException e) {
            throw new DavitException(Kind.USAGE, "directory " + dir + " does not exist; give the directory to"
                    + " build the image from");
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Every path under {@code root} (relative, {@code /}-separated), sorted by UTF-8 bytes. */
    private static List<String> list(Path root) {
        List<String> out = new ArrayList<>();
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                    if (!d.equals(root)) {
                        out.add(relative(root, d));
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                    out.add(relative(root, f));
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
                    throw e;
                }
            });
        } catch (IOException e) {
            throw unreadable(e);
        }
        byte[][] keys = new byte[out.size()][];
        Integer[] order = new Integer[out.size()];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = out.get(i).getBytes(StandardCharsets.UTF_8);
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Arrays.compareUnsigned(keys[a], keys[b]));
        List<String> sorted = new ArrayList<>(out.size());
        for (Integer i : order) {
            sorted.add(out.get(i));
        }
        return sorted;
    }

    private static String relative(Path root, Path p) {
        Path r = root.relativize(p);
        if (r.toString().indexOf('\uFFFD') >= 0) {
            throw new DavitException(Kind.USAGE, "the name of " + Text.shorten(p.toString(), 200) + " cannot be"
                    + " decoded with this JVM's file name encoding (" + System.getProperty("sun.jnu.encoding")
                    + "); rename it, or run davit with a UTF-8 locale (LANG=C.UTF-8) if the name is UTF-8");
        }
        StringBuilder sb = new StringBuilder();
        for (Path part : r) {
            if (!sb.isEmpty()) {
                sb.append('/');
            }
            sb.append(part);
        }
        return sb.toString();
    }

    private static DavitException unreadable(IOException e) {
        String what = e instanceof java.nio.file.FileSystemException fse && fse.getFile() != null
                ? fse.getFile() + (fse.getReason() != null ? ": " + fse.getReason() : "")
                : e.getMessage();
        return new DavitException(Kind.USAGE, "cannot read " + what + "; make it readable or remove it from the"
                + " directory", e);
    }

    // ---------------------------------------------------------------- entries

    /** What the tar entry needs from a file's metadata. */
    private record Info(int mode, long uid, long gid, String uname, String gname, long size, long mtime,
                        Object inodeKey, int links) {
    }

    /** Writes the entry of {@code rel}; false when it is a special file that is skipped. */
    private boolean writeEntry(Path root, String rel, TarWriter w, Map<Object, String> inodes, byte[] buf)
            throws IOException {
        Path p = root.resolve(rel);
        Info info;
        try {
            info = info(p);
        } catch (IOException e) {
            throw unreadable(e);
        }
        int type = info.mode & S_IFMT;
        long mtime = options.keepMtimes() ? info.mtime : options.fileMtime().getEpochSecond();
        BuildOptions.Owner owner = options.owners().get(rel);
        boolean own = owner == null && options.preserveOwner();
        long uid = owner != null ? owner.uid() : own ? info.uid : 0;
        long gid = owner != null ? owner.gid() : own ? info.gid : 0;
        String uname = own ? info.uname : "";
        String gname = own ? info.gname : "";
        int mode = info.mode & 07777;
        switch (type) {
            case S_IFDIR -> w.header(new TarWriter.Entry(rel + "/", TarWriter.DIRECTORY, mode, uid, gid, uname, gname,
                    0, mtime, null));
            case S_IFLNK -> {
                String target;
                try {
                    target = Files.readSymbolicLink(p).toString();
                } catch (IOException e) {
                    throw unreadable(e);
                }
                w.header(new TarWriter.Entry(rel, TarWriter.SYMLINK, mode, uid, gid, uname, gname, 0, mtime, target));
            }
            case S_IFREG -> {
                if (info.links > 1 && info.inodeKey != null) {
                    String first = inodes.putIfAbsent(info.inodeKey, rel);
                    if (first != null) {
                        w.header(new TarWriter.Entry(rel, TarWriter.HARDLINK, mode, uid, gid, uname, gname, 0, mtime,
                                first));
                        return true;
                    }
                }
                w.header(new TarWriter.Entry(rel, TarWriter.REGULAR, mode, uid, gid, uname, gname, info.size, mtime,
                        null));
                copy(p, rel, info.size, w.content(), buf);
                w.pad(info.size);
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    /**
     * Copies exactly {@code size} bytes of {@code p}; VERIFICATION when the file is shorter or longer now. Read
     * errors are USAGE errors naming the file; write errors propagate as they are.
     */
    private static void copy(Path p, String rel, long size, OutputStream out, byte[] buf) throws IOException {
        InputStream in;
        try {
            in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw new Changed(rel);
        } catch (IOException e) {
            throw unreadable(e);
        }
        try (in) {
            long left = size;
            while (left > 0) {
                int n = read(in, buf, (int) Math.min(buf.length, left), p);
                if (n < 0) {
                    throw new Changed(rel);
                }
                out.write(buf, 0, n);
                left -= n;
            }
            if (read(in, buf, 1, p) > 0) {
                throw new Changed(rel);
            }
        }
    }

    private static int read(InputStream in, byte[] buf, int len, Path p) {
        try {
            return in.read(buf, 0, len);
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read " + p + ": " + e.getMessage()
                    + "; make it readable or remove it from the directory", e);
        }
    }

    /** A file changed size between its header and its content. */
    private static final class Changed extends DavitException {
        private static final long serialVersionUID = 1L;

        Changed(String rel) {
            super(Kind.VERIFICATION, "file " + Text.shorten(rel, 200) + " changed while it was being read; build"
                    + " again once the directory is not being modified");
        }
    }

    /** Metadata without following links: the {@code unix} view where there is one, else basic + posix. */
    private static Info info(Path p) throws IOException {
        try {
            Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,size,lastModifiedTime,ino,dev,nlink",
                    LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            long uid = ((Number) a.get("uid")).longValue();
            long gid = ((Number) a.get("gid")).longValue();
            long mtime = ((FileTime) a.get("lastModifiedTime")).toInstant().getEpochSecond();
            String uname = "";
            String gname = "";
            try {
                PosixFileAttributes px = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                uname = name(px.owner(), uid);
                gname = name(px.group(), gid);
            } catch (UnsupportedOperationException | IOException ignored) {
                // names are optional
            }
            Object key = List.of(a.get("dev"), a.get("ino"));
            return new Info(mode, uid, gid, uname, gname, ((Number) a.get("size")).longValue(), mtime, key,
                    ((Number) a.get("nlink")).intValue());
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return portableInfo(p);
        }
    }

    /** A user or group name, or empty when the system only knows the number. */
    private static String name(java.security.Principal principal, long id) {
        if (principal == null) {
            return "";
        }
        String n = principal.getName();
        return n.equals(Long.toString(id)) ? "" : n;
    }

    private static Info portableInfo(Path p) throws IOException {
        BasicFileAttributes b = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        int type = b.isDirectory() ? S_IFDIR : b.isSymbolicLink() ? S_IFLNK : b.isRegularFile() ? S_IFREG : 0;
        int perms = b.isDirectory() ? 0755 : 0644;
        String uname = "";
        String gname = "";
        try {
            PosixFileAttributes px = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            perms = bits(px.permissions());
            UserPrincipal u = px.owner();
            GroupPrincipal g = px.group();
            uname = u == null ? "" : u.getName();
            gname = g == null ? "" : g.getName();
        } catch (UnsupportedOperationException ignored) {
            if (Files.isExecutable(p)) {
                perms |= 0111;
            }
        }
        return new Info(type | perms, 0, 0, uname, gname, b.size(), b.lastModifiedTime().toInstant().getEpochSecond(),
                b.fileKey(), 1);
    }

    private static int bits(Set<PosixFilePermission> perms) {
        int m = 0;
        for (PosixFilePermission x : perms) {
            m |= 1 << (8 - x.ordinal());
        }
        return m;
    }
}
