package dev.davit.env.install;

import dev.davit.oci.internal.FileLocking;
import dev.davit.oci.DavitException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An exclusive per-install lock: a JVM-wide lock (threads) in front of a {@link FileLock} (processes) on
 * {@code .<install dir name>.lock} next to the install directory.
 */
final class InstallLock implements AutoCloseable {
    private static final ConcurrentHashMap<Path, ReentrantLock> LOCAL = new ConcurrentHashMap<>();

    private final ReentrantLock local;
    private final FileChannel channel;
    private final FileLock lock;

    private InstallLock(ReentrantLock local, FileChannel channel, FileLock lock) {
        this.local = local;
        this.channel = channel;
        this.lock = lock;
    }

    static Path fileFor(Path installDir) {
        return installDir.resolveSibling("." + installDir.getFileName() + ".lock");
    }

    /** Waits for the lock. */
    static InstallLock acquire(Path installDir) {
        return open(installDir, true);
    }

    /** The lock, or null when another thread or process holds it. */
    static InstallLock tryAcquire(Path installDir) {
        return open(installDir, false);
    }

    private static InstallLock open(Path installDir, boolean wait) {
        Path file = fileFor(installDir).toAbsolutePath().normalize();
        ReentrantLock local = LOCAL.computeIfAbsent(file, f -> new ReentrantLock());
        if (wait) {
            local.lock();
        } else if (!local.tryLock()) {
            return null;
        }
        FileChannel ch = null;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l = wait ? FileLocking.await(ch) : ch.tryLock();
            if (l == null) {
                ch.close();
                local.unlock();
                return null;
            }
            return new InstallLock(local, ch, l);
        } catch (IOException e) {
            try {
                if (ch != null) {
                    ch.close();
                }
            } catch (IOException ignored) {
                // closing after a failure
            }
            local.unlock();
            throw new DavitException(DavitException.Kind.STORE, "cannot lock " + file + ": " + e.getMessage()
                    + "; check that the environments directory is writable");
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // the lock goes with the channel
        } finally {
            local.unlock();
        }
    }
}
