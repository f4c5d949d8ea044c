package dev.davit.oci.unpack;

import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The root filesystem being built, and every path operation on it. Nothing here follows a symbolic link:
 * attributes are read with {@code NOFOLLOW_LINKS}, and every parent of a path written is checked (or created) to be
 * a real directory below the root, so a link in a layer can never redirect a write outside it.
 *
 * <p>The tree lives in a fresh private directory (mode 0700) that only this process writes, so a check stays true
 * until the write that follows it.
 *
 * <p>Per layer it remembers what the layer wrote ({@link #startLayer()} resets this): whiteouts and opaque
 * whiteouts remove only content of earlier layers, and a layer may not replace a directory it wrote itself with
 * something else (a tar made from a real filesystem never does; a hostile one would use it to swap a checked
 * directory for a link).
 *
 * <p>Directory metadata (mode, owner, times) is recorded and applied by the caller at the very end, deepest first:
 * applying it at once would let a read-only directory block its own children and later writes change its mtime.
 */
final class RootFs {
    /** Mode of directories while they are being filled. */
    static final int WORK_DIR_MODE = 0755;

    private final Path root;
    private final int umask;
    /** Real directories this layer created or passed through (all also in {@link #written}). */
    private final Set<String> layerDirs = new HashSet<>();
    /** Paths this layer wrote, with all their parents. */
    private final Set<String> written = new HashSet<>();
    private final TreeMap<String, TarMeta> dirMeta = new TreeMap<>();

    /** @param umask the process's umask ({@link #probeUmask}), to skip {@code chmod} calls it makes unneeded */
    RootFs(Path root, int umask) {
        this.root = root;
        this.umask = umask;
    }

    /** The umask in effect: the bits a file created in {@code dir} with mode 0777 does not get. */
    static int probeUmask(Path dir) throws IOException {
        Path probe = dir.resolve(".umask-probe");
        Files.createFile(probe, perms(0777));
        try {
            return 0777 & ~(((Integer) Files.getAttribute(probe, "unix:mode", LinkOption.NOFOLLOW_LINKS)) & 0777);
        } finally {
            Files.delete(probe);
        }
    }

    /** Permission bits ({@code 0777} part of {@code mode}) as a file attribute for creating files. */
    static FileAttribute<Set<PosixFilePermission>> perms(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] all = PosixFilePermission.values(); // OWNER_READ .. OTHERS_EXECUTE, high bit first
        for (int i = 0; i < 9; i++) {
            if ((mode & (0400 >> i)) != 0) {
                s.add(all[i]);
            }
        }
        return PosixFilePermissions.asFileAttribute(s);
    }

    int umask() {
        return umask;
    }

    /** Creates a directory with mode {@link #WORK_DIR_MODE}, whatever the umask. */
    void mkdir(Path path) throws IOException {
        Files.createDirectory(path, perms(WORK_DIR_MODE));
        if ((WORK_DIR_MODE & umask) != 0) {
            Files.setAttribute(path, "unix:mode", WORK_DIR_MODE);
        }
    }

    Path root() {
        return root;
    }

    void startLayer() {
        layerDirs.clear();
        written.clear();
    }

    /** The recorded directory metadata, by root-relative path ({@code ""} is the root). */
    NavigableMap<String, TarMeta> dirMeta() {
        return dirMeta;
    }

    void recordDir(EntryPath p, TarMeta meta) {
        dirMeta.put(p.rel(), meta);
    }

    /** The attributes of {@code path} itself (never of a link's target), or null when nothing is there. */
    static BasicFileAttributes attrs(Path path) throws IOException {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /**
     * The directory that will hold {@code p}, creating missing parents (mode 0755): every component must be a real
     * directory, never a link.
     */
    Path parentForWrite(EntryPath p) throws Refused, IOException {
        EntryPath parent = p.parent();
        String rel = parent.rel();
        if (parent.isRoot() || layerDirs.contains(rel)) {
            return parent.isRoot() ? root : root.resolve(rel);
        }
        Path cur = root;
        StringBuilder sofar = new StringBuilder(rel.length());
        for (String c : parent.components()) {
            if (!sofar.isEmpty()) {
                sofar.append('/');
            }
            sofar.append(c);
            cur = cur.resolve(c);
            String s = sofar.toString();
            if (layerDirs.contains(s)) {
                continue;
            }
            BasicFileAttributes a = attrs(cur);
            if (a == null) {
                mkdir(cur);
            } else {
                requireDirectory(a, s);
            }
            layerDirs.add(s);
            written.add(s);
        }
        return cur;
    }

    /**
     * The existing directory that holds {@code p}, or null when a parent is missing; a parent that is a link or not
     * a directory is refused.
     */
    Path existingParent(EntryPath p) throws Refused, IOException {
        Path cur = root;
        StringBuilder sofar = new StringBuilder();
        for (String c : p.parent().components()) {
            if (!sofar.isEmpty()) {
                sofar.append('/');
            }
            sofar.append(c);
            cur = cur.resolve(c);
            if (layerDirs.contains(sofar.toString())) {
                continue;
            }
            BasicFileAttributes a = attrs(cur);
            if (a == null) {
                return null;
            }
            requireDirectory(a, sofar.toString());
        }
        return cur;
    }

    private static void requireDirectory(BasicFileAttributes a, String rel) throws Refused {
        if (a.isSymbolicLink()) {
            throw new Refused("'" + Text.shorten(rel, 100) + "' is a symbolic link, and davit never writes through"
                    + " links");
        }
        if (!a.isDirectory()) {
            throw new Refused("'" + Text.shorten(rel, 100) + "' is not a directory");
        }
    }

    /**
     * Makes room for a new entry at {@code path}: removes what is there, unless both are directories (they merge).
     *
     * @return whether a directory was kept
     */
    boolean clear(EntryPath p, Path path, boolean newIsDir) throws Refused, IOException {
        BasicFileAttributes a = attrs(path);
        if (a == null) {
            return false;
        }
        if (a.isDirectory()) {
            if (newIsDir) {
                return true;
            }
            if (written.contains(p.rel())) {
                throw new Refused("it would replace the directory '" + Text.shorten(p.rel(), 100) + "' that the"
                        + " same layer wrote with a non-directory");
            }
            removeTree(path, p.rel());
        } else {
            Files.delete(path);
        }
        return false;
    }

    /** Marks {@code p} as written by this layer ({@code dir}: a real directory that stays one). */
    void markWritten(EntryPath p, boolean dir) {
        String rel = p.rel();
        written.add(rel);
        if (dir) {
            layerDirs.add(rel);
        }
    }

    /**
     * Applies a whiteout: removes {@code p} as earlier layers left it. Content this layer wrote stays; a directory
     * this layer wrote keeps only what this layer put in it. A parent that is a link has no children to remove.
     *
     * @return false when there was nothing to remove
     */
    boolean whiteout(EntryPath p) throws IOException {
        Path parent;
        try {
            parent = existingParent(p);
        } catch (Refused e) {
            return false;
        }
        if (parent == null) {
            return false;
        }
        Path path = parent.resolve(p.name());
        BasicFileAttributes a = attrs(path);
        if (a == null) {
            return false;
        }
        if (written.contains(p.rel())) {
            if (a.isDirectory()) {
                removeLower(path, p.rel());
            }
            return true;
        }
        if (a.isDirectory()) {
            removeTree(path, p.rel());
        } else {
            Files.delete(path);
        }
        return true;
    }

    /** Applies an opaque whiteout in {@code dir}: removes everything earlier layers put in it. */
    void opaque(EntryPath dir) throws IOException {
        Path path;
        try {
            if (dir.isRoot()) {
                path = root;
            } else {
                Path parent = existingParent(dir);
                if (parent == null) {
                    return;
                }
                path = parent.resolve(dir.name());
                BasicFileAttributes a = attrs(path);
                if (a == null || !a.isDirectory()) {
                    return;
                }
            }
        } catch (Refused e) {
            return;
        }
        removeLower(path, dir.rel());
    }

    /** Removes the children of directory {@code path} that this layer did not write, recursively. */
    private void removeLower(Path path, String rel) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(path)) {
            for (Path child : ds) {
                String childRel = rel.isEmpty() ? child.getFileName().toString() : rel + "/" + child.getFileName();
                BasicFileAttributes a = attrs(child);
                if (a == null) {
                    continue;
                }
                if (written.contains(childRel)) {
                    if (a.isDirectory()) {
                        removeLower(child, childRel);
                    }
                } else if (a.isDirectory()) {
                    removeTree(child, childRel);
                } else {
                    Files.delete(child);
                }
            }
        }
    }

    /** Deletes a directory tree without following links, and forgets its recorded metadata. */
    private void removeTree(Path dir, String rel) throws IOException {
        deleteTree(dir);
        dirMeta.remove(rel);
        dirMeta.subMap(rel + "/", rel + "0").clear();
    }

    static void deleteTree(Path top) throws IOException {
        dev.davit.oci.internal.Fs.deleteTree(top);
    }
}
