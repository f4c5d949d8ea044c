package dev.davit.oci.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

/**
 * Moves a large blob's bytes to the disk while the rest of it is still arriving. Every {@link #STEP} bytes written,
 * a daemon thread forces the file ({@code fdatasync}) while the writer goes on; the commit's own force then has only
 * the tail left. Without this the kernel writes a pulled blob back only when the commit forces it, so the disk sat
 * idle during the download and the download idle during the write: a cold pull of a 500 MiB layer spent ~1.1 s of its
 * ~2.4 s in that last force (docs/reference/benchmarks/PULL.md, issue 55).
 *
 * <p>At most one force of a file is in flight; a step reached meanwhile waits for the next write. A failed force is
 * kept and reported by {@link #finish()}: Linux reports a write-back error to one {@code fsync} of an open file only,
 * so the commit's own force could succeed after this one failed.
 */
final class Writeback {
    /** Bytes written between two forces. */
    static final long STEP = 8L << 20;

    private static final Executor THREADS = Executors.newCachedThreadPool(
            Thread.ofPlatform().name("davit-writeback-", 0).daemon(true).factory());

    private final FileChannel channel;
    private long forcedAt;
    private CompletableFuture<Void> inFlight;
    private IOException failure;

    Writeback(FileChannel channel, long start) {
        this.channel = channel;
        this.forcedAt = start;
    }

    /** Called after each write: starts a force when {@link #STEP} more bytes were written and none is running. */
    void written(long total) {
        if (total - forcedAt < STEP || inFlight != null && !inFlight.isDone()) {
            return;
        }
        collect();
        forcedAt = total;
        inFlight = CompletableFuture.runAsync(() -> {
            try {
                channel.force(false);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, THREADS);
    }

    /** The write position moved back (a restart): the next force is counted from there. */
    void rewound(long total) {
        finishQuietly();
        forcedAt = total;
    }

    /**
     * Waits for the force in flight, if any.
     *
     * @throws IOException the first force that failed
     */
    void finish() throws IOException {
        if (inFlight != null) {
            try {
                inFlight.join();
            } catch (java.util.concurrent.CompletionException e) {
                // kept by collect() below
            }
            collect();
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Waits for the force in flight, ignoring a failure (the file is being thrown away or closed). */
    void finishQuietly() {
        try {
            finish();
        } catch (IOException ignored) {
            // the bytes are discarded or kept only for a resume, which verifies them anyway
        }
    }

    private void collect() {
        if (inFlight == null || !inFlight.isDone()) {
            return;
        }
        try {
            inFlight.get();
        } catch (ExecutionException e) {
            if (failure == null) {
                Throwable c = e.getCause();
                failure = c instanceof java.io.UncheckedIOException u ? u.getCause()
                        : new IOException("forcing the blob to the disk failed: " + c, c);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        inFlight = null;
    }
}
