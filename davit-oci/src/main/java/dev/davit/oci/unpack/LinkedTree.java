package dev.davit.oci.unpack;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Map;

/**
 * A new tree of an unpacked one's files: its directories made again (mode, owner, time), everything else linked
 * ({@code link(2)}: the same inode, never a copy, never followed). An unpack on top of it replaces a file by a new
 * one ({@code O_EXCL} after an unlink, {@link LayerApplier}) and never writes into one, so the tree it came from stays
 * as it was. A file with as many links as the file system allows is copied instead.
 */
final class LinkedTree {
    private LinkedTree() {
    }

    /** Makes {@code to} (an empty directory) hold {@code from}'s tree, linked. */
    static void link(Path from, Path to) throws IOException {
        Files.walkFileTree(from, java.util.Set.of(), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Path t = to.resolve(from.relativize(dir).toString());
                if (!dir.equals(from)) {
                    Files.createDirectory(t);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Path t = to.resolve(from.relativize(file).toString());
                try {
                    Files.createLink(t, file);
                } catch (FileSystemException e) {
                    if (attrs.isSymbolicLink() || !attrs.isRegularFile()) {
                        throw e;
                    }
                    // EMLINK: as many links as the file system allows; a copy of its own instead
                    Files.copy(file, t, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
                    owner(file, t);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Path t = to.resolve(from.relativize(dir).toString());
                Map<String, Object> a = Files.readAttributes(dir, "unix:mode,lastModifiedTime",
                        LinkOption.NOFOLLOW_LINKS);
                owner(dir, t);
                Files.setAttribute(t, "unix:mode", ((Integer) a.get("mode")) & 07777, LinkOption.NOFOLLOW_LINKS);
                Files.setLastModifiedTime(t, (FileTime) a.get("lastModifiedTime"));
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Gives {@code t} the owner of {@code f}; as anyone but root, what it can. */
    private static void owner(Path f, Path t) throws IOException {
        Map<String, Object> a = Files.readAttributes(f, "unix:uid,gid", LinkOption.NOFOLLOW_LINKS);
        try {
            Files.setAttribute(t, "unix:uid", a.get("uid"), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(t, "unix:gid", a.get("gid"), LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            // rootless: the tree's owners are its record's (Owners), its files the unpacking user's
        }
    }
}
