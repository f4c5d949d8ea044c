package dev.davit.oci.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** File-system helpers for crash-safe writes: temp file, fsync, atomic rename, fsync of the directory. */
public final class Fs {
    private Fs() {
    }

    /** Writes {@code data} to {@code target} atomically: a temp file in {@code tmpDir}, fsync, rename. */
    public static void writeAtomically(Path target, byte[] data, Path tmpDir) throws IOException {
        Files.createDirectories(tmpDir);
        Path tmp = Files.createTempFile(tmpDir, "." + target.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                var bb = java.nio.ByteBuffer.wrap(data);
                while (bb.hasRemaining()) {
                    ch.write(bb);
                }
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            fsyncDir(target.toAbsolutePath().getParent());
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Makes a rename durable. Best effort: some file systems refuse to open directories. */
    public static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not supported here; the rename itself is still atomic
        }
    }
}
