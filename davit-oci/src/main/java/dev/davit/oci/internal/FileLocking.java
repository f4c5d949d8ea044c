package dev.davit.oci.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;

/**
 * Waiting for a file lock without the kernel's false deadlocks.
 *
 * <p>Java's {@link FileChannel#lock} is a POSIX record lock, owned by the process, not the thread. Linux refuses a
 * blocking lock with {@code EDEADLK} ("Resource deadlock avoided") when process A waits for a lock of process B
 * while B waits for any lock A holds — even when A's lock is held by another thread of A that will release it
 * soon. Two davit processes each pulling several blobs in parallel threads meet that. Here a refused blocking lock
 * is waited for by polling {@link FileChannel#tryLock}, which never reports a deadlock; an error of the file system
 * (no locks at all) still fails, from {@code tryLock}.
 */
public final class FileLocking {
    private static final long FIRST_PAUSE_MS = 1;
    private static final long LONGEST_PAUSE_MS = 50;

    private FileLocking() {
    }

    /** The whole file locked, shared or exclusive, waiting as long as another process holds it. */
    public static FileLock await(FileChannel ch, boolean shared) throws IOException {
        try {
            return ch.lock(0, Long.MAX_VALUE, shared);
        } catch (java.nio.channels.FileLockInterruptionException | java.nio.channels.ClosedChannelException e) {
            throw e;
        } catch (IOException refused) {
            return poll(ch, shared, refused);
        }
    }

    /** The whole file locked exclusively, waiting as long as another process holds it. */
    public static FileLock await(FileChannel ch) throws IOException {
        return await(ch, false);
    }

    private static FileLock poll(FileChannel ch, boolean shared, IOException refused) throws IOException {
        long pause = FIRST_PAUSE_MS;
        while (true) {
            FileLock l;
            try {
                l = ch.tryLock(0, Long.MAX_VALUE, shared);
            } catch (IOException e) {
                e.addSuppressed(refused);
                throw e;
            }
            if (l != null) {
                return l;
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                InterruptedIOException ie = new InterruptedIOException("interrupted waiting for a file lock");
                ie.addSuppressed(refused);
                throw ie;
            }
            pause = Math.min(LONGEST_PAUSE_MS, pause * 2);
        }
    }
}
