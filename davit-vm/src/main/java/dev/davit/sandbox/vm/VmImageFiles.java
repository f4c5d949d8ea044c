package dev.davit.sandbox.vm;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * How {@link VmImages} writes its cache and artifacts: a directory built next to its target and renamed into place,
 * a file written (or copied) to a temporary file and renamed over its target, readable by all.
 */
final class VmImageFiles {
    private VmImageFiles() {
    }

    static Path temporaryDir(Path target) {
        try {
            Files.createDirectories(target.getParent());
            return Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".");
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create a directory next to " + target + ": "
                    + e.getMessage());
        }
    }

    /** Renames the finished {@code tmp} to {@code dir}; when another process was first, keeps its copy. */
    static void publishDir(Path tmp, Path dir) throws IOException {
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            Fs.fsyncDir(dir.getParent());
        } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
            // built concurrently: the other copy is as good
        }
    }

    /** Writes {@code target} atomically, readable by all (the artifacts hold no secrets). */
    static void writeAtomically(Path target, byte[] data) {
        try {
            Fs.writeAtomically(target, data, target.toAbsolutePath().getParent());
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + target + ": " + e.getMessage());
        }
    }

    static void copyAtomically(Path from, Path to) {
        Path tmp = to.resolveSibling("." + to.getFileName() + "." + dev.davit.oci.internal.RandomHex.of(6) + ".tmp");
        try {
            Files.copy(from, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Fs.fsyncDir(to.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + to + ": " + e.getMessage());
        } finally {
            deleteQuietly(tmp);
        }
    }

    static void deleteQuietly(Path p) {
        try {
            Fs.deleteTree(p);
        } catch (IOException e) {
            // a leftover temporary file; harmless
        }
    }
}
