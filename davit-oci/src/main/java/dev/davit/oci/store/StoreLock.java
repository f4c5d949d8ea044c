package dev.davit.oci.store;

import dev.davit.oci.internal.FileLocking;
import dev.davit.oci.DavitException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Cross-process and cross-thread locks of one store.
 *
 * <ul>
 *   <li>The <em>store lock</em> is held shared by every operation that adds content (pulls) and exclusively by
 *   garbage collection, so gc never deletes a blob a running pull is about to reference.</li>
 *   <li>The <em>index lock</em> serialises read-modify-write cycles of {@code index.json}.</li>
 *   <li>A <em>blob lock</em> per digest lets exactly one writer ingest a given blob at a time.</li>
 * </ul>
 * Java's {@link FileLock} is per process; a JVM-wide lock in front of each file lock makes them safe between
 * threads too (and avoids {@link java.nio.channels.OverlappingFileLockException}).
 */
final class StoreLock {
    private static final ConcurrentHashMap<Path, StoreLock> BY_ROOT = new ConcurrentHashMap<>();

    private final Path storeLockFile;
    private final Path indexLockFile;
    private final Path ingestDir;
    private final ReentrantReadWriteLock storeRw = new ReentrantReadWriteLock();
    private final Object sharedMonitor = new Object();
    private int sharedHolders;
    private FileChannel sharedChannel;
    private FileLock sharedLock;
    private final ReentrantLock indexJvm = new ReentrantLock();
    private final ConcurrentHashMap<String, ReentrantLock> blobJvm = new ConcurrentHashMap<>();

    private StoreLock(Path privateDir) {
        this.storeLockFile = privateDir.resolve("store.lock");
        this.indexLockFile = privateDir.resolve("index.lock");
        this.ingestDir = privateDir.resolve("ingest");
    }

    static StoreLock forStore(Path privateDir) {
        return BY_ROOT.computeIfAbsent(privateDir.toAbsolutePath().normalize(), StoreLock::new);
    }

    /** A held lock; closing releases it. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    Held shared() {
        storeRw.readLock().lock();
        try {
            synchronized (sharedMonitor) {
                if (sharedHolders == 0) {
                    sharedChannel = open(storeLockFile);
                    sharedLock = lock(sharedChannel, true, storeLockFile);
                }
                sharedHolders++;
            }
        } catch (RuntimeException e) {
            storeRw.readLock().unlock();
            throw e;
        }
        return () -> {
            try {
                synchronized (sharedMonitor) {
                    if (--sharedHolders == 0) {
                        release(sharedLock, sharedChannel);
                        sharedLock = null;
                        sharedChannel = null;
                    }
                }
            } finally {
                storeRw.readLock().unlock();
            }
        };
    }

    Held exclusive() {
        storeRw.writeLock().lock();
        try {
            FileChannel ch = open(storeLockFile);
            FileLock l = lock(ch, false, storeLockFile);
            return () -> {
                try {
                    release(l, ch);
                } finally {
                    storeRw.writeLock().unlock();
                }
            };
        } catch (RuntimeException e) {
            storeRw.writeLock().unlock();
            throw e;
        }
    }

    Held index() {
        return fileLock(indexJvm, indexLockFile);
    }

    Held blob(String key) {
        return fileLock(blobJvm.computeIfAbsent(key, k -> new ReentrantLock()), ingestDir.resolve(key + ".lock"));
    }

    private static Held fileLock(ReentrantLock jvm, Path file) {
        jvm.lock();
        try {
            FileChannel ch = open(file);
            FileLock l = lock(ch, false, file);
            return () -> {
                try {
                    release(l, ch);
                } finally {
                    jvm.unlock();
                }
            };
        } catch (RuntimeException e) {
            jvm.unlock();
            throw e;
        }
    }

    private static FileChannel open(Path file) {
        try {
            return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new DavitException(DavitException.Kind.STORE, "cannot open lock file " + file + ": " + e.getMessage()
                    + "; check that the store directory is writable", e);
        }
    }

    private static FileLock lock(FileChannel ch, boolean shared, Path file) {
        try {
            return FileLocking.await(ch, shared);
        } catch (IOException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // already failing
            }
            throw new DavitException(DavitException.Kind.STORE, "cannot lock " + file + ": " + e.getMessage()
                    + "; the store must be on a local file system that supports locks", e);
        }
    }

    private static void release(FileLock l, FileChannel ch) {
        try {
            if (l != null && l.isValid()) {
                l.release();
            }
        } catch (IOException ignored) {
            // closing the channel releases it too
        } finally {
            try {
                if (ch != null) {
                    ch.close();
                }
            } catch (IOException ignored) {
                // nothing more to do
            }
        }
    }
}
