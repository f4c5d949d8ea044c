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
 * A new tree of an unpacked one's files: its directories made again, everything else linked ({@code link(2)}: the
 * same inode, never a copy, never followed). An unpack on top of it replaces a file by a new one ({@code O_EXCL}
 * after an unlink, {@link LayerApplier}) and never writes into one, so the tree it came from stays as it was.
 *
 * <p>The directories are made as an unpack makes its own ({@link RootFs#mkdir}: the unpacking user's, writable by
 * it alone, under the root the unpack keeps private) and their mode, owner and time are recorded as a layer's
 * directory entry would be ({@link RootFs#recordDir}), so they are given only when every layer is applied, as a whole
 * unpack gives them: no directory of the tree is open to anyone else, or closed to the unpack, meanwhile. A file with
 * as many links as the file system allows is copied instead.
 */
final class LinkedTree {
    private LinkedTree() {
    }

    /** Makes {@code fs}'s root (an empty directory) hold {@code from}'s tree, linked. */
    static void link(Path from, RootFs fs) throws IOException {
        Path to = fs.root();
        Files.walkFileTree(from, java.util.Set.of(), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                String rel = from.relativize(dir).toString();
                if (!rel.isEmpty()) {
                    fs.mkdir(to.resolve(rel));
                }
                Map<String, Object> a = Files.readAttributes(dir, "unix:mode,uid,gid,lastModifiedTime",
                        LinkOption.NOFOLLOW_LINKS);
                FileTime t = (FileTime) a.get("lastModifiedTime");
                try {
                    fs.recordDir(rel.isEmpty() ? EntryPath.ROOT : EntryPath.parse(rel), new TarMeta(
                            ((Integer) a.get("mode")) & 07777, ((Integer) a.get("uid")) & 0xffffffffL,
                            ((Integer) a.get("gid")) & 0xffffffffL, t, t, Map.of()));
                } catch (Refused e) {
                    throw new IOException("the tree below has a name no unpack makes: " + rel, e);
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
                    // EMLINK: as many links as the file system allows; a copy of its own instead, its owner and then
                    // its whole mode (a chown clears set-uid and set-gid)
                    Files.copy(file, t, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
                    Map<String, Object> a = Files.readAttributes(file, "unix:uid,gid,mode", LinkOption.NOFOLLOW_LINKS);
                    try {
                        Files.setAttribute(t, "unix:uid", a.get("uid"), LinkOption.NOFOLLOW_LINKS);
                        Files.setAttribute(t, "unix:gid", a.get("gid"), LinkOption.NOFOLLOW_LINKS);
                    } catch (IOException notRoot) {
                        // rootless: the tree's owners are its record's (Owners), its files the unpacking user's
                    }
                    Files.setAttribute(t, "unix:mode", ((Integer) a.get("mode")) & 07777, LinkOption.NOFOLLOW_LINKS);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
