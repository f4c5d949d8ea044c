package dev.davit.oci.unpack;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Applies the entries of one layer's tar stream to a {@link RootFs}, in order.
 *
 * <ul>
 *   <li>{@code .wh.NAME} removes {@code NAME} as earlier layers left it; {@code .wh..wh..opq} empties its
 *       directory of earlier layers' content; other {@code .wh..wh.*} names (AUFS metadata) are skipped. A whiteout
 *       of {@code .}, {@code ..} or an empty name is refused.</li>
 *   <li>Regular files, directories, symbolic links (targets kept as they are: they are only data until the
 *       rootfs is used as a root) and hard links (to files of this or an earlier layer, never to a directory,
 *       never through a link) are created; device nodes only with root privileges, fifos always, both with
 *       {@code mknod}.</li>
 *   <li>A refused entry stops the unpack with a {@code VERIFICATION} error naming the layer and the entry.</li>
 *   <li>Like Go's {@code archive/tar} (Docker, umoci), a stream that ends after the last entry's data, without
 *       padding or end-of-archive blocks, is complete (umoci 0.4 writes such layers); a stream that ends inside
 *       an entry's data or headers is corrupt.</li>
 * </ul>
 */
final class LayerApplier {
    private final RootFs fs;
    private final Attrs attrs;
    private final Report report;
    private final boolean root;
    private final long maxEntries;
    private final long maxBytes;
    private final long maxNameBytes;
    private final Wording wording;
    /** A plain tar from an untrusted sender ({@link TarExtractor#extractUntrusted}), not a layer. */
    private final boolean plain;
    private long nameBytes;
    private static final Set<OpenOption> CREATE = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
            LinkOption.NOFOLLOW_LINKS);

    private final byte[] buf = new byte[1 << 18];
    /** Entries skipped so far (all layers), so hard links to them are skipped too instead of failing. */
    private final Set<String> skipped = new HashSet<>();
    private String what = "layer";
    /** Where a rootless unpack records the owners it cannot give (null: as root, or a plain tar). */
    private Owners owners;

    LayerApplier(RootFs fs, Report report, boolean root, UnpackOptions options) {
        this(fs, report, root, options.maxBytes(), options.maxEntries(), Long.MAX_VALUE, Wording.IMAGE, false);
    }

    /** An applier of an archive file the caller gave: an image layer's rules, {@code wording}'s words. */
    LayerApplier(RootFs fs, Report report, UnpackOptions options, Wording wording) {
        this(fs, report, false, options.maxBytes(), options.maxEntries(), Long.MAX_VALUE, wording, false);
    }

    /** Records into {@code o} the owners this rootless applier does not give (see {@link Owners}). */
    LayerApplier recordingOwners(Owners o) {
        this.owners = root ? null : o;
        return this;
    }

    private void owned(EntryPath p, TarMeta m, boolean directory) {
        if (owners != null) {
            owners.set(p.rel(), m == null ? 0 : m.uid(), m == null ? 0 : m.gid(), directory);
        }
    }

    /**
     * For a plain tar from an untrusted sender: names are only names (no whiteouts), an absolute name is refused,
     * devices and fifos are skipped, modes keep only the nine permission bits, extended attributes are ignored;
     * rootless (owners are not taken from it).
     */
    LayerApplier(RootFs fs, Report report, TarExtractor.Limits limits, Wording wording) {
        this(fs, report, false, limits.maxBytes(), limits.maxEntries(), limits.maxNameBytes(), wording, true);
    }

    private LayerApplier(RootFs fs, Report report, boolean root, long maxBytes, long maxEntries, long maxNameBytes,
                         Wording wording, boolean plain) {
        this.fs = fs;
        this.report = report;
        this.root = root;
        this.attrs = new Attrs(root, fs.umask(), report);
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
        this.maxNameBytes = maxNameBytes;
        this.wording = wording;
        this.plain = plain;
    }

    /**
     * Applies every entry of {@code tar}, which reads {@code raw}.
     *
     * @param what the layer for messages, e.g. {@code layer 2/3 (sha256:0123456789ab, gzip)}
     */
    void apply(TarArchiveInputStream tar, LayerStream raw, String what) {
        this.what = what;
        fs.startLayer();
        if (owners != null) {
            owners.startLayer();
        }
        long dataEnd = 0;
        while (true) {
            TarArchiveEntry e;
            raw.headers(true);
            try {
                e = tar.getNextEntry();
            } catch (IOException ex) {
                if (raw.eof() && raw.count() - dataEnd < 512) {
                    return; // the stream ends inside the last entry's padding: an unterminated archive, as Go reads it
                }
                throw corrupt(ex);
            }
            raw.headers(false);
            if (e == null) {
                return;
            }
            if (++report.entries > maxEntries) {
                throw new DavitException(Kind.VERIFICATION, Message.of(wording.subject() + " has more than " + maxEntries
                        + " tar entries, the unpack limit", wording.raiseEntries()));
            }
            nameBytes += e.getName().length() + e.getLinkName().length();
            if (nameBytes > maxNameBytes) {
                throw new DavitException(Kind.VERIFICATION, Message.of(wording.subject() + " has more than "
                        + maxNameBytes + " bytes of entry names, the unpack limit", wording.raiseEntries()));
            }
            try {
                entry(e, tar);
            } catch (Refused r) {
                throw new DavitException(Kind.VERIFICATION, what + ": entry '" + Text.shorten(e.getName(), 100)
                        + "' is refused: " + Text.shorten(r.getMessage(), 200) + wording.refused());
            } catch (InvalidPathException ex) {
                throw new DavitException(Kind.VERIFICATION, what + ": entry '" + Text.shorten(e.getName(), 100)
                        + "' cannot be represented as a file name here (" + Text.shorten(ex.getReason(), 80)
                        + "); run with a UTF-8 locale (LANG=C.UTF-8)");
            } catch (IOException ex) {
                throw new DavitException(Kind.STORE, "cannot write '" + Text.shorten(e.getName(), 100) + "' of "
                        + what + ": " + ex.getClass().getSimpleName() + " " + Text.shorten(ex.getMessage(), 150)
                        + "; check permissions and free space of the target directory", ex);
            }
            skipRest(tar);
            dataEnd = raw.count();
        }
    }

    /** The bytes of entry names and link targets read so far. */
    long nameBytes() {
        return nameBytes;
    }

    private void entry(TarArchiveEntry e, TarArchiveInputStream tar) throws Refused, IOException {
        EntryPath p = EntryPath.parse(e.getName());
        if (plain && p.components().size() > TarExtractor.MAX_DEPTH) {
            throw new Refused("it nests " + p.components().size() + " deep, more than " + TarExtractor.MAX_DEPTH);
        }
        if (plain) {
            int total = 0;
            for (String c : p.components()) {
                int n = c.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                total += n + 1;
                if (n > 255) { // Linux's NAME_MAX: the host could not make it, and would say so in its own words
                    throw new Refused("a name in it is " + n + " bytes, more than the 255 a file name may be");
                }
            }
            if (total > TarExtractor.MAX_PATH_BYTES) {
                throw new Refused("it is " + total + " bytes long, more than " + TarExtractor.MAX_PATH_BYTES);
            }
        }
        if (p.absolute()) {
            if (plain) {
                throw new Refused("the name is absolute");
            }
            report.absoluteNames++;
        }
        if (!plain && !p.isRoot()) {
            for (int i = 0; i < p.components().size() - 1; i++) {
                if (p.components().get(i).startsWith(".wh.")) {
                    skip(p, "inside a directory named like a whiteout");
                    return;
                }
            }
            if (p.name().startsWith(".wh.")) {
                whiteout(p);
                return;
            }
        }
        TarMeta m = plain ? TarMeta.of(e).permissionsOnly() : TarMeta.of(e);
        skipped.remove(p.rel()); // written now, or skipped again
        if (e.isSymbolicLink()) {
            symlink(p, e.getLinkName(), m);
        } else if (e.isLink()) {
            hardlink(p, e.getLinkName());
        } else if (e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()) {
            special(p, e, m);
        } else if (e.isDirectory()) {
            directory(p, m);
        } else if (e.isFile() || e.getLinkFlag() == TarConstants.LF_CONTIG || e.isGNUSparse()) {
            file(p, e, m, tar);
        } else {
            skip(p, "unsupported tar entry type '" + Text.printable(String.valueOf((char) e.getLinkFlag()))
                    + "'");
        }
    }

    private void whiteout(EntryPath p) throws Refused, IOException {
        String n = p.name();
        if (n.equals(".wh..wh..opq")) {
            fs.opaque(p.parent());
            if (owners != null) {
                owners.opaque(p.parent().rel());
            }
            report.whiteouts++;
            return;
        }
        if (n.startsWith(".wh..wh.")) {
            skip(p, "AUFS metadata, not part of the image");
            return;
        }
        String target = n.substring(4);
        if (target.isEmpty() || target.equals(".") || target.equals("..")) {
            throw new Refused("it is a whiteout of '" + target + "'");
        }
        EntryPath gone = p.parent().child(target);
        skipped.remove(gone.rel());
        fs.whiteout(gone);
        if (owners != null) {
            owners.gone(gone.rel());
        }
        report.whiteouts++;
    }

    private void directory(EntryPath p, TarMeta m) throws Refused, IOException {
        Path path;
        if (p.isRoot()) {
            path = fs.root();
        } else {
            path = fs.parentForWrite(p).resolve(p.name());
            try {
                fs.mkdir(path);
            } catch (FileAlreadyExistsException ex) {
                if (!fs.clear(p, path, true)) {
                    fs.mkdir(path);
                }
            }
            fs.markWritten(p, true);
        }
        fs.recordDir(p, m);
        attrs.xattrs(path, m);
        owned(p, m, true);
        report.directories++;
    }

    private void file(EntryPath p, TarArchiveEntry e, TarMeta m, TarArchiveInputStream tar)
            throws Refused, IOException {
        notRoot(p);
        long size = e.getRealSize();
        if (size < 0) {
            throw new Refused("its size is negative");
        }
        if (size > maxBytes - report.bytes) {
            throw tooBig(p, size);
        }
        Path path = fs.parentForWrite(p).resolve(p.name());
        long n = 0;
        try (FileChannel ch = createFile(p, path, Attrs.createMode(m.mode()))) {
            fs.markWritten(p, false);
            while (true) {
                int r;
                try {
                    r = tar.read(buf, 0, buf.length);
                } catch (IOException ex) {
                    throw corrupt(ex);
                }
                if (r < 0) {
                    break;
                }
                n += r;
                if (n > maxBytes - report.bytes) {
                    throw tooBig(p, n);
                }
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, r);
                while (bb.hasRemaining()) {
                    ch.write(bb);
                }
            }
        }
        report.bytes += n;
        attrs.file(path, m);
        owned(p, m, false);
        report.files++;
    }

    private void symlink(EntryPath p, String target, TarMeta m) throws Refused, IOException {
        notRoot(p);
        if (target.isEmpty()) {
            throw new Refused("it is a symbolic link with an empty target");
        }
        if (target.indexOf('\0') >= 0) {
            throw new Refused("its link target contains a NUL byte");
        }
        Path t = Path.of(target);
        Path path = fs.parentForWrite(p).resolve(p.name());
        try {
            Files.createSymbolicLink(path, t);
        } catch (FileAlreadyExistsException ex) {
            fs.clear(p, path, false);
            Files.createSymbolicLink(path, t);
        }
        fs.markWritten(p, false);
        attrs.symlink(path, m);
        owned(p, m, false);
        report.symlinks++;
    }

    private void hardlink(EntryPath p, String linkName) throws Refused, IOException {
        notRoot(p);
        EntryPath t;
        try {
            t = EntryPath.parse(linkName);
        } catch (Refused r) {
            throw new Refused("its hard link target '" + Text.shorten(linkName, 100) + "' is refused: "
                    + r.getMessage());
        }
        if (t.isRoot()) {
            throw new Refused("it is a hard link to the root directory");
        }
        if (plain && t.absolute()) {
            throw new Refused("its hard link target '" + Text.shorten(linkName, 100) + "' is absolute");
        }
        if (t.rel().equals(p.rel())) {
            skip(p, "hard link to itself");
            return;
        }
        if (skipped.contains(t.rel())) {
            skip(p, "hard link to '" + Text.shorten(t.toString(), 100) + "', which was skipped");
            return;
        }
        Path targetPath = existingLinkTarget(t);
        BasicFileAttributes ta = RootFs.attrs(targetPath);
        Path path = fs.parentForWrite(p).resolve(p.name());
        try {
            Files.createLink(path, targetPath);
        } catch (FileAlreadyExistsException ex) {
            fs.clear(p, path, false);
            if (RootFs.attrs(targetPath) == null) {
                throw new Refused("its hard link target '" + Text.shorten(t.toString(), 100)
                        + "' was removed by the entry itself");
            }
            Files.createLink(path, targetPath);
        }
        fs.markWritten(p, false);
        if (ta.isSymbolicLink() && !RootFs.attrs(path).isSymbolicLink()) {
            Files.delete(path);
            throw new Refused("it is a hard link to a symbolic link, which this system would follow");
        }
        owned(p, null, false); // its target's owner
        report.hardlinks++;
    }

    /**
     * Creates a regular file for writing, never through a link: {@code O_CREAT|O_EXCL|O_NOFOLLOW}; when something
     * is already there it is removed first ({@link RootFs#clear}) and the create retried. Trying first saves a
     * {@code stat} per file in the common case.
     */
    private FileChannel createFile(EntryPath p, Path path, int mode) throws Refused, IOException {
        try {
            return FileChannel.open(path, CREATE, RootFs.perms(mode));
        } catch (FileAlreadyExistsException ex) {
            fs.clear(p, path, false);
            return FileChannel.open(path, CREATE, RootFs.perms(mode));
        }
    }

    /** The path of an existing hard link target: not a directory, no link among its parents. */
    private Path existingLinkTarget(EntryPath t) throws Refused, IOException {
        Path parent;
        try {
            parent = fs.existingParent(t);
        } catch (Refused r) {
            throw new Refused("its hard link target '" + Text.shorten(t.toString(), 100) + "' is refused: "
                    + r.getMessage());
        }
        Path path = parent == null ? null : parent.resolve(t.name());
        BasicFileAttributes a = path == null ? null : RootFs.attrs(path);
        if (a == null) {
            throw new Refused("its hard link target '" + Text.shorten(t.toString(), 100)
                    + "' does not exist (in this or an earlier layer)");
        }
        if (a.isDirectory()) {
            throw new Refused("it is a hard link to the directory '" + Text.shorten(t.toString(), 100) + "'");
        }
        return path;
    }

    private void special(EntryPath p, TarArchiveEntry e, TarMeta m) throws Refused, IOException {
        notRoot(p);
        char type = e.isFIFO() ? 'p' : e.isCharacterDevice() ? 'c' : 'b';
        String desc = type == 'p' ? "fifo"
                : (type == 'c' ? "character" : "block") + " device " + e.getDevMajor() + ":" + e.getDevMinor();
        if (plain) {
            skip(p, desc + ": not created from an untrusted archive");
            return;
        }
        if (type != 'p' && !root) {
            skip(p, desc + ": creating device nodes needs root (rootless unpack)");
            return;
        }
        if (!SpecialFiles.available()) {
            skip(p, desc + ": no mknod program on the PATH");
            return;
        }
        Path path = fs.parentForWrite(p).resolve(p.name());
        fs.clear(p, path, false);
        try {
            SpecialFiles.mknod(path, type, m.mode(), e.getDevMajor(), e.getDevMinor());
        } catch (IOException ex) {
            skip(p, desc + ": " + Text.shorten(ex.getMessage(), 150));
            return;
        }
        fs.markWritten(p, false);
        attrs.special(path, m);
        owned(p, m, false);
        report.specialFiles++;
    }

    /**
     * Applies the recorded directory metadata, deepest first, once every layer is in. The root gets mode 0755
     * unless a layer has an entry for it.
     */
    void finish() {
        try {
            if (!fs.dirMeta().containsKey("")) {
                Attrs.mode(fs.root(), 0755);
            }
            for (var d : fs.dirMeta().descendingMap().entrySet()) {
                EntryPath p = d.getKey().isEmpty() ? EntryPath.ROOT : EntryPath.parse(d.getKey());
                Path path = p.isRoot() ? fs.root() : fs.existingParent(p);
                if (path != null && !p.isRoot()) {
                    path = path.resolve(p.name());
                }
                BasicFileAttributes a = path == null ? null : RootFs.attrs(path);
                if (a != null && a.isDirectory()) {
                    attrs.directory(path, d.getValue());
                }
            }
        } catch (Refused | IOException e) {
            throw new DavitException(Kind.STORE, "cannot set the metadata of the unpacked directories: " + e
                    + "; check permissions of the target directory", e);
        }
    }

    private void skip(EntryPath p, String reason) {
        skipped.add(p.rel());
        report.skip(p, reason);
    }

    private static void notRoot(EntryPath p) throws Refused {
        if (p.isRoot()) {
            throw new Refused("the root of the image can only be a directory");
        }
    }

    /** Reads what is left of the current entry's data (hashed and counted by the layer stream). */
    private void skipRest(TarArchiveInputStream tar) {
        try {
            while (tar.read(buf, 0, buf.length) >= 0) {
                // discard
            }
        } catch (IOException ex) {
            throw corrupt(ex);
        }
    }

    private DavitException tooBig(EntryPath p, long size) {
        return new DavitException(Kind.VERIFICATION, Message.of(what + ": entry '" + Text.shorten(p.toString(), 100)
                + "' needs " + size + " bytes, more than the unpack limit of " + maxBytes + " bytes leaves ("
                + report.bytes + " written)", wording.raiseBytes()));
    }

    private DavitException corrupt(IOException ex) {
        return new DavitException(Kind.VERIFICATION, Message.of(what + " is not a valid tar stream: "
                + Text.shorten(String.valueOf(ex.getMessage()), 200), wording.corrupt()), ex);
    }
}
