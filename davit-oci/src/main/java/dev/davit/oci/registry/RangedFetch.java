package dev.davit.oci.registry;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.BlobIngest;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * The rest of one large blob fetched as several ranges at once, as containerd 2.1 does, when its first bytes came
 * slowly as one stream ({@link #slow}): a thread per range writes its bytes at
 * their place in the partial file ({@link BlobIngest#writeAt}); the calling thread hashes the file in order as the
 * ranges fill it ({@link BlobIngest#absorb}), so the digest is still checked over the whole blob at the commit and the
 * hashing overlaps the transfer. A range cut short is asked for again from where it stopped. A registry that answers
 * a range with the whole blob (200), refuses it (416) or answers another range than asked is not asked for ranges
 * again: {@link #fetch} returns false and the caller streams the blob as one request.
 */
final class RangedFetch {
    /** The most ranges of one blob in flight. */
    static final int MAX_PARTS = 4;
    private static final int BUF = 1 << 17;

    private final Transport transport;
    private final Semaphore permits;
    private final Reference repo;
    private final Descriptor d;
    private final BlobIngest ingest;
    private final Consumer<String> retries;
    private final String path;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** Per range: where it starts, where it ends (exclusive), how much of it is written. */
    private final long[] starts;
    private final long[] ends;
    private final long[] filled;
    private int running;
    private boolean noRanges;
    private DavitException failure;
    private volatile boolean stop;
    /** Per range: the response being read, closed under its thread when the fetch stops. */
    private final java.util.concurrent.atomic.AtomicReferenceArray<Transport.Response> live;

    private RangedFetch(Transport transport, Semaphore permits, Reference repo, Descriptor d, BlobIngest ingest,
                        int parts, Consumer<String> retries) {
        this.transport = transport;
        this.permits = permits;
        this.repo = repo;
        this.d = d;
        this.ingest = ingest;
        this.retries = retries;
        this.path = "/v2/" + repo.repository() + "/blobs/" + d.digest();
        long from = ingest.offset();
        long each = (d.size() - from + parts - 1) / parts;
        starts = new long[parts];
        ends = new long[parts];
        filled = new long[parts];
        live = new java.util.concurrent.atomic.AtomicReferenceArray<>(parts);
        for (int i = 0; i < parts; i++) {
            starts[i] = from + i * each;
            ends[i] = Math.min(d.size(), starts[i] + each);
        }
    }

    /** A single stream slower than this, in bytes per second, gets ranges beside it. */
    static final long MIN_RATE = 64L << 20;

    /**
     * A large blob is read as one stream for this many bytes, then its rate over twice as many more decides whether
     * the rest comes as ranges: 4 MiB (a quarter of {@link RegistryOptions#rangedBlobBytes()} when that is smaller).
     */
    static long probeBytes(RegistryOptions options) {
        return Math.min(4L << 20, options.rangedBlobBytes() / 4);
    }

    /**
     * Whether {@code bytes} read in {@code nanos} is slower than {@link #MIN_RATE}. On loopback a stream moves
     * 400-600 MB/s and ranges only add streams and a read-back competing for the CPU (a 500 MiB layer on 2 cores:
     * 1.2 s as one stream, 1.9 s as four ranges, docs/reference/BENCHMARKS.md); across a network one stream is bound by its
     * window and round trips, which ranges multiply.
     */
    static boolean slow(long bytes, long nanos) {
        return nanos > 0 && bytes * 1_000_000_000.0 / nanos < MIN_RATE;
    }

    /**
     * How many ranges to fetch a blob in: one (a single stream) below {@link RegistryOptions#rangedBlobBytes()}, else
     * one per half of that size, from 2 to {@link #MAX_PARTS} and never more than the requests allowed at once.
     */
    static int parts(long remaining, RegistryOptions options) {
        long min = options.rangedBlobBytes();
        if (min <= 0 || remaining < min || options.maxConcurrentRequests() < 2) {
            return 1;
        }
        long n = remaining / Math.max(1, min / 2);
        return (int) Math.max(2, Math.min(Math.min(MAX_PARTS, options.maxConcurrentRequests()), n));
    }

    /**
     * Fetches what the ingest lacks as {@code parts} ranges and hashes it: true when all of it is in, false when the
     * registry does not serve ranges (the ingest is then back to writing in order at its offset, which the bytes
     * hashed so far may have moved).
     */
    static boolean fetch(Transport transport, Semaphore permits, Reference repo, Descriptor d, BlobIngest ingest,
                         int parts, LongConsumer progress, Consumer<String> retries) {
        return new RangedFetch(transport, permits, repo, d, ingest, parts, retries).run(progress);
    }

    private boolean run(LongConsumer progress) {
        ingest.beginRanges();
        List<Thread> threads = new ArrayList<>();
        byte[] buf = new byte[1 << 20];
        long reported = -1;
        boolean interrupted = false;
        try {
            lock.lock();
            try {
                running = starts.length;
            } finally {
                lock.unlock();
            }
            for (int i = 0; i < starts.length; i++) {
                int part = i;
                threads.add(Thread.ofPlatform().daemon(true).name("davit-range-" + i).start(() -> part(part)));
            }
            while (true) {
                long end;
                long total;
                lock.lock();
                try {
                    while (true) {
                        if (failure != null) {
                            throw failure;
                        }
                        if (noRanges) {
                            return false;
                        }
                        end = contiguousEnd();
                        total = total();
                        if (end > ingest.offset() || end == d.size() || total != reported) {
                            break;
                        }
                        if (running == 0) {
                            throw new DavitException(Kind.INTERNAL, "the ranges of blob " + d.digest()
                                    + " ended at byte " + end + " of " + d.size());
                        }
                        changed.await();
                    }
                } finally {
                    lock.unlock();
                }
                if (total != reported) {
                    reported = total;
                    progress.accept(total);
                }
                if (end > ingest.offset()) {
                    ingest.absorb(end, buf);
                }
                if (ingest.offset() == d.size()) {
                    return true;
                }
            }
        } catch (InterruptedException e) {
            interrupted = true;
            throw new DavitException(Kind.CANCELLED, "the download of blob " + d.digest() + " was cancelled");
        } finally {
            // the ranges still running end before the caller goes on: their responses are closed under them (a read
            // in progress fails at once instead of at the idle timeout), and they are waited for with the interrupt
            // cleared, so that the file is cut back to its hashed bytes by a channel an interrupt has not closed
            interrupted |= Thread.interrupted();
            settle(() -> stop = true);
            for (int i = 0; i < live.length(); i++) {
                Transport.Response r = live.get(i);
                if (r != null) {
                    r.close();
                }
            }
            for (Thread t : threads) {
                while (true) {
                    try {
                        t.join();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
            }
            try {
                if (ingest.offset() < d.size()) {
                    ingest.endRanges();
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** Where the bytes written so far stop being contiguous from the ingest's offset. Under the lock. */
    private long contiguousEnd() {
        long end = ingest.offset();
        for (int i = 0; i < starts.length; i++) {
            if (end < starts[i]) {
                break;
            }
            if (end < ends[i]) {
                end = Math.max(end, starts[i] + filled[i]);
                if (starts[i] + filled[i] < ends[i]) {
                    break;
                }
            }
        }
        return end;
    }

    private long total() {
        long t = starts[0];
        for (long f : filled) {
            t += f;
        }
        return t;
    }

    /** One range's thread: requests it (again from where it stopped, after a cut) until it is written in full. */
    private void part(int i) {
        int failures = 0;
        byte[] buf = new byte[BUF];
        try {
            while (!stop) {
                long from;
                lock.lock();
                try {
                    from = starts[i] + filled[i];
                } finally {
                    lock.unlock();
                }
                if (from >= ends[i]) {
                    return;
                }
                java.time.Duration delay = null;
                permits.acquire();
                try {
                    if (stop) {
                        return;
                    }
                    try (Transport.Response r = transport.send(Transport.Request.get(repo.apiHost(), path,
                            RegistryClient.pullScope(repo), Map.of("Range", "bytes=" + from + "-" + (ends[i] - 1))))) {
                        live.set(i, r);
                        if (stop) {
                            return;
                        }
                        if (r.status() == 200 || r.status() == 416
                                || r.status() == 206 && !answers(r, from, ends[i] - 1)) {
                            settle(() -> noRanges = true);
                            return;
                        }
                        if (r.status() != 206) {
                            throw RegistryClient.statusError(r, repo, "blob " + d.digest());
                        }
                        try (InputStream body = r.body()) {
                            int n;
                            long at = from;
                            while (!stop && (n = body.read(buf, 0, (int) Math.min(buf.length, ends[i] - at))) > 0) {
                                ingest.writeAt(at, buf, 0, n);
                                at += n;
                                long written = at - starts[i];
                                settle(() -> filled[i] = written);
                            }
                            if (!stop && at < ends[i]) {
                                throw new IOException("connection closed after " + (at - from) + " of "
                                        + (ends[i] - from) + " bytes of a range");
                            }
                        }
                    } catch (IOException e) {
                        if (stop) {
                            return;   // its response was closed under it: the fetch is over
                        }
                        delay = RegistryClient.blobRetry(transport, ++failures, repo, d, e);
                        retries.accept("blob " + d.digest().shortHex() + ": " + Transport.describe(e)
                                + "; resuming its range at byte " + (starts[i] + filled[i]) + " in "
                                + delay.toMillis() + " ms");
                    } finally {
                        live.set(i, null);
                    }
                } finally {
                    permits.release();
                }
                if (delay != null) {
                    pause(delay);   // without the permit, and cut short when the fetch stops
                }
            }
        } catch (DavitException e) {
            fail(e);
        } catch (InterruptedException e) {
            fail(new DavitException(Kind.CANCELLED, "the download of blob " + d.digest() + " was cancelled"));
        } catch (Throwable e) {
            fail(new DavitException(Kind.INTERNAL, "a range of blob " + d.digest() + " failed: " + e, e));
        } finally {
            settle(() -> running--);
        }
    }

    private void fail(DavitException e) {
        settle(() -> {
            if (failure == null) {
                failure = e;
            }
        });
    }

    /** Waits {@code delay}, or less when the fetch stops meanwhile. */
    private void pause(java.time.Duration delay) throws InterruptedException {
        long until = System.nanoTime() + delay.toNanos();
        lock.lock();
        try {
            long left;
            while (!stop && (left = until - System.nanoTime()) > 0) {
                changed.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether a 206 answers exactly the range asked for (a server may send more, less or another one). */
    private static boolean answers(Transport.Response r, long first, long last) {
        long[] range = RegistryClient.contentRange(r.header("Content-Range"));
        return range != null && range[0] == first && range[1] == last;
    }

    private void settle(Runnable change) {
        lock.lock();
        try {
            change.run();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
