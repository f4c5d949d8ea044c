package dev.davit.sandbox.backend;

import dev.davit.oci.internal.FileLocking;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * An exclusive lock across processes and threads: a lock of this JVM (a file lock cannot be taken twice by one JVM)
 * in front of a {@link java.nio.channels.FileLock} on a file. A sandbox's lifecycle and a workspace's start, stop,
 * reset and snapshots hold one each.
 */
public final class FileLocks {
    private static final ConcurrentHashMap<Path, ReentrantLock> LOCAL = new ConcurrentHashMap<>();

    private FileLocks() {
    }

    /**
     * Runs {@code action} holding the lock of {@code file} (made when missing; its directory must exist, else
     * {@link java.nio.file.NoSuchFileException}). A thread that holds it already runs {@code action} at once.
     *
     * @param <T>    what {@code action} returns
     * @param file   the lock file
     * @param action what to run holding the lock
     * @return what {@code action} returned
     * @throws IOException when the lock file cannot be opened or locked
     */
    public static <T> T holding(Path file, Supplier<T> action) throws IOException {
        ReentrantLock local = LOCAL.computeIfAbsent(file.toAbsolutePath().normalize(), k -> new ReentrantLock());
        local.lock();
        try {
            if (local.getHoldCount() > 1) { // the file lock too
                return action.get();
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLocking.await(ch); // released when the channel closes
                return action.get();
            }
        } finally {
            local.unlock();
        }
    }
}
