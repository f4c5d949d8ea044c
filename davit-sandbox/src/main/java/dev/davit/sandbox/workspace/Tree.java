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
