package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** Walking and copying directory trees without following links; copies belong to the caller (owners not kept). */
final class Tree {
    private Tree() {
    }

    /**
     * One entry of a tree.
     *
     * @param path   relative to the tree's top, {@code /}-separated
     * @param type   {@code file}, {@code dir}, {@code symlink} or {@code other}
     * @param mode   permission bits
     * @param target a link's target, else null
     */
    record Entry(String path, String type, long size, int mode, String target) {
    }

    /** Every entry under {@code top} (not {@code top} itself), by path; links are listed, never followed. */
    static Map<String, Entry> walk(Path top) throws IOException {
        Map<String, Entry> out = new TreeMap<>();
        Files.walkFileTree(top, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes a) throws IOException {
                if (!dir.equals(top)) {
                    add(dir);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes a) throws IOException {
                add(file);
                return FileVisitResult.CONTINUE;
            }

            private void add(Path p) throws IOException {
                Entry e = entry(p, top.relativize(p).toString());
                out.put(e.path(), e);
            }
        });
        return out;
    }

    static Entry entry(Path p, String rel) throws IOException {
        PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        String type = a.isSymbolicLink() ? "symlink" : a.isDirectory() ? "dir" : a.isRegularFile() ? "file" : "other";
        return new Entry(rel, type, a.isRegularFile() ? a.size() : 0, bits(a.permissions()),
                a.isSymbolicLink() ? Files.readSymbolicLink(p).toString() : null);
    }

    /**
     * Copies the tree under {@code from} into the existing directory {@code to}: directories, regular files (mode
     * and modification time kept) and links (as they are). A device, fifo or socket is refused.
     */
    static void copy(Path from, Path to) throws IOException {
        copy(from, to, null);
    }

    /**
     * {@link #copy(Path, Path)}, leaving a device, fifo or socket out (its path, relative to {@code from}, added to
     * {@code skipped}) instead of refusing it when {@code skipped} is not null.
     */
    static void copy(Path from, Path to, List<String> skipped) throws IOException {
        copy(from, to, skipped, null);
    }

    /**
     * A tree {@link #copy(Path, Path, List, Reuse)} may take files from instead of copying them: a regular file at
     * the same path with the same permission bits and the same bytes is hard-linked into the copy. Writing a copy
     * of 100 MB costs seconds on a busy disk; comparing it with a twin costs reads from the page cache.
     *
     * @param dir  the tree
     * @param live whether {@code dir} is the tree the copy will replace (a reset): then only files with no other
     *             link are taken, so that no two paths of the copy share an inode, and the caller deletes
     *             {@code dir} once the copy is in its place; otherwise {@code dir} is a tree nothing writes to
     *             (the baseline, a snapshot) and its files are shared as they are
     */
    record Reuse(Path dir, boolean live) {
        boolean take(Path source, Path twin, BasicFileAttributes a) throws IOException {
            if (!Files.isRegularFile(twin, LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            PosixFileAttributes t = Files.readAttributes(twin, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (t.size() != a.size() || !t.permissions().equals(
                    Files.getPosixFilePermissions(source, LinkOption.NOFOLLOW_LINKS))) {
                return false;
            }
            if (live && ((Number) Files.getAttribute(twin, "unix:nlink", LinkOption.NOFOLLOW_LINKS)).intValue() != 1) {
                return false;
            }
            return Files.mismatch(source, twin) == -1L;
        }
    }

    /**
     * {@link #copy(Path, Path, List)}, hard-linking the files {@code reuse} (null: none) has the same as
     * {@code from} instead of copying them.
     */
    static void copy(Path from, Path to, List<String> skipped, Reuse reuse) throws IOException {
        List<Path[]> dirs = new ArrayList<>();
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes a) throws IOException {
                Path d = to.resolve(from.relativize(dir).toString());
                Files.createDirectories(d);
                dirs.add(new Path[] {dir, d});
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes a) throws IOException {
                Path t = to.resolve(from.relativize(file).toString());
                if (a.isSymbolicLink()) {
                    Files.createSymbolicLink(t, Files.readSymbolicLink(file));
                } else if (a.isRegularFile()) {
                    Path twin = reuse == null ? null : reuse.dir().resolve(from.relativize(file).toString());
                    if (twin != null && reuse.take(file, twin, a)) {
                        try {
                            Files.createLink(t, twin);
                            return FileVisitResult.CONTINUE;
                        } catch (IOException e) {
                            // another file system, or links not allowed: copy it
                        }
                    }
                    Files.copy(file, t, LinkOption.NOFOLLOW_LINKS);
                    Files.setPosixFilePermissions(t, Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS));
                    Files.setLastModifiedTime(t, a.lastModifiedTime());
                } else if (skipped != null) {
                    skipped.add(from.relativize(file).toString());
                } else {
                    throw new DavitException(Kind.USAGE, file + " is a device, fifo or socket; a workspace holds"
                            + " only files, directories and links: leave it out of the seed");
                }
                return FileVisitResult.CONTINUE;
            }
        });
        // directory modes last, so a read-only directory does not stop its own copy
        for (int i = dirs.size() - 1; i >= 0; i--) {
            Files.setPosixFilePermissions(dirs.get(i)[1], Files.getPosixFilePermissions(dirs.get(i)[0]));
        }
    }

    static int bits(Set<PosixFilePermission> perms) {
        int m = 0;
        for (PosixFilePermission p : perms) {
            m |= 1 << (8 - p.ordinal());
        }
        return m;
    }

    static Set<PosixFilePermission> perms(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        for (PosixFilePermission p : PosixFilePermission.values()) {
            if ((mode & (1 << (8 - p.ordinal()))) != 0) {
                s.add(p);
            }
        }
        return s;
    }
}
