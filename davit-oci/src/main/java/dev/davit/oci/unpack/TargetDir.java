package dev.davit.oci.unpack;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The all-or-nothing part of an unpack: the root filesystem is built in a private temp directory next to the target
 * ({@code .NAME.davit-unpack-*}, mode 0700) and renamed to the target only when complete. A failed unpack deletes
 * the temp directory, so the target never holds a half-written tree. (A process killed mid-unpack leaves the temp
 * directory behind; its name says what it is.)
 */
final class TargetDir {
    private static final String MARK = ".davit-unpack-";

    private TargetDir() {
    }

    /** The absolute target; it must not exist, or be an empty directory (not a link). */
    static Path check(Path dir) {
        Path target = dir.toAbsolutePath().normalize();
        if (target.getParent() == null || target.getFileName() == null) {
            throw new DavitException(Kind.USAGE, "cannot unpack into " + target + "; give a new directory");
        }
        try {
            BasicFileAttributes a = RootFs.attrs(target);
            if (a == null) {
                return target;
            }
            if (a.isSymbolicLink() || !a.isDirectory()) {
                throw new DavitException(Kind.USAGE, target + " exists and is not a directory; give a new or empty"
                        + " directory");
            }
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(target)) {
                if (ds.iterator().hasNext()) {
                    throw new DavitException(Kind.USAGE, target + " is not empty; give a new or empty directory");
                }
            }
            return target;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + target + ": " + e.getMessage(), e);
        }
    }

    /** Creates the parent of {@code target} if needed, and the private temp directory next to it. */
    static Path createTemp(Path target) {
        try {
            Files.createDirectories(target.getParent());
            return Files.createTempDirectory(target.getParent(), "." + target.getFileName() + MARK);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create a directory next to " + target + ": " + e
                    + "; check that its parent is writable", e);
        }
    }

    /** Renames the finished tree to {@code target} (replacing it when it is an empty directory). */
    static void publish(Path tmp, Path target) {
        try {
            if (RootFs.attrs(target) != null) {
                Files.delete(target);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot rename the unpacked tree to " + target + ": " + e
                    + "; was it created meanwhile?", e);
        }
    }

    /** Deletes a temp tree after a failure (best effort: the original error matters more). */
    static void discard(Path tmp, Throwable cause) {
        try {
            RootFs.deleteTree(tmp);
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }
}
