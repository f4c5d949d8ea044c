package dev.davit.sandbox.fs;

import java.io.IOException;
import java.nio.file.NoSuchFileException;

/**
 * A failed system call of a {@link Dir} (an {@link ErrnoException}) as the exception the JDK gives for the same
 * failure, with the path named: what callers of {@link Dir} catch ({@link NoSuchFileException} and the like).
 */
final class DirErrors {
    private DirErrors() {
    }

    /** ENOENT as the JDK's {@link NoSuchFileException}; any other errno with the path named. */
    static IOException notFound(ErrnoException e, String path) {
        if (e.errno() == Errno.ENOENT) {
            return new NoSuchFileException(path);
        }
        return new ErrnoException(path + ": opening", e.errno());
    }

    /**
     * An acting broker's failure on {@code path} as the JDK reports the same failure (a missing file, one that
     * exists, a directory not empty), else with the path named.
     */
    static IOException failed(ErrnoException e, String path) {
        return switch (e.errno()) {
            case Errno.ENOENT -> new NoSuchFileException(path);
            case Errno.EEXIST -> new java.nio.file.FileAlreadyExistsException(path);
            case Errno.ENOTEMPTY -> new java.nio.file.DirectoryNotEmptyException(path);
            default -> new ErrnoException(path + ": " + e.getMessage().replaceFirst(" failed: .*", ""), e.errno());
        };
    }
}
