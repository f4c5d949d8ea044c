package dev.davit.oci.copy;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The threads that move blobs of a pull or push: platform threads, not virtual ones. A virtual thread's socket
 * I/O starts the JDK's poller, a platform thread parked in {@code epoll_wait}, that is, in native code; at exit the
 * JVM waits up to ~300 ms for threads in native code to stop, and that poller never does: every pull or push that
 * transferred a blob ended with that wait (docs/reference/benchmarks/CLI-ISSUE13.md, "Cold pull"). A blocking read on a platform thread
 * is not interrupted by {@link java.util.concurrent.Future#cancel}, so after a failure the other transfers end on
 * their own (done, failed or timed out) before the error is reported; queued ones do not start.
 */
final class BlobThreads {
    private BlobThreads() {
    }

    /** A pool of at most {@code max} (and at least one) daemon threads for {@code blobs} transfers. */
    static ExecutorService pool(String name, int blobs, int max) {
        int n = Math.max(1, Math.min(blobs, max));
        return Executors.newFixedThreadPool(n, Thread.ofPlatform().name(name, 0).daemon(true).factory());
    }
}
