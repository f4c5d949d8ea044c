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
        ReentrantLock local = local(file);
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

    /**
     * Runs {@code action} holding the lock of one of {@code files}: the first that is free, else (all taken) the
     * first that frees, tried again with backoff up to {@link #POLL}; never one that this thread holds already (a
     * resource serves one user at a time, and its user here would be this thread twice). Each lock is
     * {@link #holding}'s.
     *
     * @param <T>    what {@code action} returns
     * @param files  the lock files, one per resource that serves one user at a time
     * @param action what to run with the index of the lock held
     * @return what {@code action} returned
     * @throws IOException when a lock file cannot be opened or locked, this thread holds every one of them, or it
     *                     was interrupted while it waited ({@link java.io.InterruptedIOException})
     */
    public static <T> T holdingAny(java.util.List<Path> files, java.util.function.IntFunction<T> action)
            throws IOException {
        long backoff = 1;
        while (true) {
            boolean mine = true;
            for (int i = 0; i < files.size(); i++) {
                ReentrantLock local = local(files.get(i));
                if (local.isHeldByCurrentThread()) {
                    continue;
                }
                mine = false;
                if (!local.tryLock()) {
                    continue;
                }
                try (FileChannel ch = FileChannel.open(files.get(i), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE)) {
                    java.nio.channels.FileLock l;
                    try {
                        l = ch.tryLock();
                    } catch (java.nio.channels.OverlappingFileLockException e) {
                        l = null; // this JVM holds it under another name of the file (a link)
                    }
                    if (l != null) {
                        return action.apply(i); // released when the channel closes
                    }
                } finally {
                    local.unlock();
                }
            }
            if (mine) {
                throw new IOException("this thread holds every one of " + files.size() + " locks already ("
                        + files.get(0).getFileName() + "...)");
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for a lock");
            }
            backoff = Math.min(backoff * 2, POLL.toMillis());
        }
    }

    /** This JVM's lock in front of {@code file}'s. */
    private static ReentrantLock local(Path file) {
        return LOCAL.computeIfAbsent(file.toAbsolutePath().normalize(), k -> new ReentrantLock());
    }

    /** The longest pause between two tries of {@link #holdingAny}'s locks. */
    static final java.time.Duration POLL = java.time.Duration.ofMillis(50);
}
