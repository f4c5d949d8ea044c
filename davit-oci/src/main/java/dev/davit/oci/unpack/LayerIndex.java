package dev.davit.oci.unpack;

import dev.davit.oci.DavitException;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.store.OciStore;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * What one layer holds, read from its tar headers without unpacking it: each entry's kind, mode, owner, time and
 * link text, its whiteouts and opaque directories, and the content of the two small files a build looks names up in
 * ({@value #PASSWD}, {@value #GROUP}). A Containerfile build answers "is the destination a directory, whose is it,
 * what is bob's uid" from its layers' indexes instead of unpacking the image for every step.
 *
 * <p>An index is made once per layer blob and kept in a directory under the blob's digest ({@link #of}), written
 * beside and renamed into place. Names are reduced as an unpack reduces them ({@code /} and {@code .} dropped); a
 * name with {@code ..} or a NUL is refused, and so is a layer of more than {@value #MAX_ENTRIES} entries.
 */
public final class LayerIndex {
    /** The password file whose content an index keeps. */
    public static final String PASSWD = "etc/passwd";
    /** The group file whose content an index keeps. */
    public static final String GROUP = "etc/group";
    /** The most entries a layer indexed may have. */
    public static final int MAX_ENTRIES = 1_000_000;
    /** The most characters of names (all entries together) a layer indexed may have. */
    public static final long MAX_NAME_BYTES = 64L << 20;
    private static final int MAX_KEPT = 1 << 20;
    private static final int MAX_LINK = 4096;
    private static final String MAGIC = "davit-layer-index-1";
    private static final String WHITEOUT = ".wh.";
    private static final String OPAQUE = ".wh..wh..opq";

    /** What an entry is. */
    public enum Kind {
        /** A regular file, or a hard link to one. */
        FILE,
        /** A directory. */
        DIRECTORY,
        /** A symbolic link. */
        SYMLINK,
        /** A fifo or a device node. */
        SPECIAL,
        /** A whiteout: the path is gone from the layers below. */
        WHITEOUT
    }

    /**
     * One entry of the layer.
     *
     * @param kind   what it is
     * @param mode   its permission bits ({@code 07777})
     * @param uid    its owner
     * @param gid    its group
     * @param mtime  its modification time, in seconds since the epoch
     * @param link   a symbolic link's text; else null
     */
    public record Entry(Kind kind, int mode, long uid, long gid, long mtime, String link) {
        /** {@return whether it is a directory} */
        public boolean directory() {
            return kind == Kind.DIRECTORY;
        }
    }

    private final Map<String, Entry> entries;
    private final Set<String> opaque;
    private final Map<String, byte[]> kept;

    private LayerIndex(Map<String, Entry> entries, Set<String> opaque, Map<String, byte[]> kept) {
        this.entries = entries;
        this.opaque = opaque;
        this.kept = kept;
    }

    /**
     * {@return the entry at {@code path} (components joined with {@code /}, no leading {@code /}), or null}
     *
     * @param path the path below the root
     */
    public Entry entry(String path) {
        return entries.get(path);
    }

    /**
     * {@return whether directory {@code path} is opaque in this layer: the layers below have nothing under it}
     *
     * @param path the directory's path below the root
     */
    public boolean opaque(String path) {
        return opaque.contains(path);
    }

    /**
     * {@return the content of {@value #PASSWD} or {@value #GROUP} when this layer has it as a file of at most 1 MiB,
     * else null}
     *
     * @param path {@value #PASSWD} or {@value #GROUP}
     */
    public byte[] content(String path) {
        byte[] b = kept.get(path);
        return b == null ? null : b.clone();
    }

    /** {@return how many entries it has, whiteouts included} */
    public int size() {
        return entries.size();
    }

    /**
     * The index of {@code layer}, a layer blob of {@code store}: read from {@code dir} when an earlier call kept it
     * there, else read from the blob's tar headers and kept.
     *
     * @param store the store holding the blob
     * @param layer the layer's descriptor (gzip, zstd or uncompressed)
     * @param dir   the directory the indexes are kept in (made when missing)
     * @return the index
     * @throws DavitException VERIFICATION when the layer is no tar davit would unpack; STORE when it cannot be read
     */
    public static LayerIndex of(OciStore store, Descriptor layer, Path dir) {
        Path file = dir.resolve(layer.digest().algorithm().id() + "-" + layer.digest().hex());
        if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file,
                    LinkOption.NOFOLLOW_LINKS), 1 << 16))) {
                return read(in);
            } catch (IOException | RuntimeException e) {
                // damaged: made again below
            }
        }
        LayerIndex index = scan(store, layer);
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".index-", ".tmp");
            try {
                try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp),
                        1 << 16))) {
                    index.write(out);
                }
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            // not kept: the next build reads the blob again
        }
        return index;
    }

    /**
     * Removes from {@code dir} the indexes of blobs {@code store} no longer has (a gc freed them) and the leftovers of
     * an index being written an hour ago or more.
     *
     * @param store the store
     * @param dir   the directory the indexes are kept in
     * @return how many files went
     */
    public static int prune(OciStore store, Path dir) {
        int removed = 0;
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        java.time.Instant hourAgo = java.time.Instant.now().minus(java.time.Duration.ofHours(1));
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                try {
                    boolean gone;
                    if (name.startsWith(".index-")) {
                        gone = Files.getLastModifiedTime(f, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(hourAgo);
                    } else {
                        int dash = name.indexOf('-');
                        gone = dash < 0 || !store.hasBlob(dev.davit.oci.digest.Digest.parse(name.substring(0, dash)
                                + ":" + name.substring(dash + 1)));
                    }
                    if (gone && Files.deleteIfExists(f)) {
                        removed++;
                    }
                } catch (IOException | RuntimeException e) {
                    // a name that is no index's, or a file that could not be removed: left for the next prune
                }
            }
        } catch (IOException | RuntimeException e) {
            // the directory could not be read: nothing removed
        }
        return removed;
    }

    /** Reads the tar headers of {@code layer}'s blob. */
    static LayerIndex scan(OciStore store, Descriptor layer) {
        String what = "layer " + layer.digest().shortHex();
        try (InputStream blob = store.openBlob(layer.digest())) {
            BufferedInputStream in = new BufferedInputStream(blob, 1 << 16);
            Compression c = Compression.detect(layer.mediaType(), in);
            return scan(new TarArchiveInputStream(new BufferedInputStream(c.decompress(in), 1 << 17), 10240, 512,
                    "UTF-8", false), what);
        } catch (IOException e) {
            throw new DavitException(DavitException.Kind.VERIFICATION, dev.davit.oci.Message.of(what + " cannot be"
                    + " read as a tar archive: " + e.getMessage() + "; the blob may be corrupt (run ",
                    dev.davit.oci.Action.FSCK.fix(), ")"));
        }
    }

    private static LayerIndex scan(TarArchiveInputStream tar, String what) throws IOException {
        Map<String, Entry> entries = new HashMap<>();
        Set<String> opaque = new HashSet<>();
        Map<String, byte[]> kept = new HashMap<>();
        long names = 0;
        TarArchiveEntry e;
        while ((e = tar.getNextEntry()) != null) {
            if (entries.size() + opaque.size() >= MAX_ENTRIES) {
                throw new DavitException(DavitException.Kind.VERIFICATION, what + " has more than " + MAX_ENTRIES
                        + " entries");
            }
            EntryPath p;
            try {
                p = EntryPath.parse(e.getName());
            } catch (Refused r) {
                throw new DavitException(DavitException.Kind.VERIFICATION, what + " has an entry davit never"
                        + " unpacks: " + r.getMessage());
            }
            if (p.isRoot()) {
                continue;
            }
            String name = p.name();
            String parent = p.parent().rel();
            if (name.equals(OPAQUE)) {
                opaque.add(parent);
                continue;
            }
            long mtime = e.getModTime().getTime() / 1000;
            if (name.startsWith(WHITEOUT)) {
                String gone = name.substring(WHITEOUT.length());
                String at = parent.isEmpty() ? gone : parent + "/" + gone;
                Entry there = entries.get(at);
                if (gone.isEmpty()) {
                    continue;
                } else if (there == null) {
                    entries.put(at, new Entry(Kind.WHITEOUT, 0, 0, 0, 0, null));
                } else if (there.directory()) {
                    opaque.add(at); // the lower one gone, this layer's made anew: nothing below shows through
                }
                continue;
            }
            String rel = p.rel();
            names += rel.length();
            if (names > MAX_NAME_BYTES) {
                throw new DavitException(DavitException.Kind.VERIFICATION, what + " has more than "
                        + (MAX_NAME_BYTES >> 20) + " Mi characters of names");
            }
            // as the unpack takes them: a link is a link (a name ending in / too), a hard link a file
            Kind kind = e.isSymbolicLink() ? Kind.SYMLINK : e.isLink() ? Kind.FILE : e.isDirectory()
                    ? Kind.DIRECTORY : e.isFile() ? Kind.FILE : Kind.SPECIAL;
            String link = kind == Kind.SYMLINK ? e.getLinkName() : null;
            if (link != null && link.length() > MAX_LINK) {
                throw new DavitException(DavitException.Kind.VERIFICATION, what + " has a link of more than "
                        + MAX_LINK + " bytes");
            }
            Entry was = entries.put(rel, new Entry(kind, e.getMode() & 07777, e.getLongUserId(), e.getLongGroupId(),
                    mtime, link));
            if (was != null && was.kind() == Kind.WHITEOUT && kind == Kind.DIRECTORY) {
                opaque.add(rel); // as above, the whiteout first
            }
            kept.remove(rel);
            if ((rel.equals(PASSWD) || rel.equals(GROUP)) && e.isFile() && !e.isLink() && e.getSize() <= MAX_KEPT) {
                kept.put(rel, tar.readNBytes((int) e.getSize()));
            } else if ((rel.equals(PASSWD) || rel.equals(GROUP)) && e.isLink()) {
                try {
                    byte[] b = kept.get(EntryPath.parse(e.getLinkName()).rel());
                    if (b != null) {
                        kept.put(rel, b);
                    }
                } catch (Refused r) {
                    // a bad hard link target: no content kept
                }
            }
        }
        return new LayerIndex(entries, opaque, kept);
    }

    private void write(DataOutputStream out) throws IOException {
        out.writeUTF(MAGIC);
        out.writeInt(entries.size());
        for (Map.Entry<String, Entry> me : entries.entrySet()) {
            Entry e = me.getValue();
            writeString(out, me.getKey());
            out.writeByte(e.kind().ordinal());
            out.writeInt(e.mode());
            out.writeLong(e.uid());
            out.writeLong(e.gid());
            out.writeLong(e.mtime());
            writeString(out, e.link() == null ? "" : e.link());
        }
        out.writeInt(opaque.size());
        for (String o : opaque) {
            writeString(out, o);
        }
        out.writeInt(kept.size());
        for (Map.Entry<String, byte[]> k : kept.entrySet()) {
            writeString(out, k.getKey());
            out.writeInt(k.getValue().length);
            out.write(k.getValue());
        }
    }

    private static LayerIndex read(DataInputStream in) throws IOException {
        if (!MAGIC.equals(in.readUTF())) {
            throw new IOException("not an index");
        }
        int n = count(in, MAX_ENTRIES);
        Map<String, Entry> entries = new HashMap<>(n * 2);
        Kind[] kinds = Kind.values();
        for (int i = 0; i < n; i++) {
            String path = readString(in);
            int k = in.readUnsignedByte();
            if (k >= kinds.length) {
                throw new IOException("bad kind");
            }
            Entry e = new Entry(kinds[k], in.readInt(), in.readLong(), in.readLong(), in.readLong(), null);
            String link = readString(in);
            entries.put(path, e.kind() == Kind.SYMLINK ? new Entry(e.kind(), e.mode(), e.uid(), e.gid(), e.mtime(),
                    link) : e);
        }
        int o = count(in, MAX_ENTRIES);
        Set<String> opaque = new HashSet<>();
        for (int i = 0; i < o; i++) {
            opaque.add(readString(in));
        }
        int m = count(in, 2);
        Map<String, byte[]> kept = new HashMap<>();
        for (int i = 0; i < m; i++) {
            String path = readString(in);
            kept.put(path, in.readNBytes(count(in, MAX_KEPT)));
        }
        return new LayerIndex(entries, opaque, kept);
    }

    private static int count(DataInputStream in, int max) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > max) {
            throw new IOException("bad count");
        }
        return n;
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(DataInputStream in) throws IOException {
        return new String(in.readNBytes(count(in, 1 << 20)), java.nio.charset.StandardCharsets.UTF_8);
    }
}
