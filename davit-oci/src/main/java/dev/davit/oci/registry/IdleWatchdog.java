package dev.davit.oci.registry;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Enforces an idle-read timeout on response bodies: a stream that delivers no byte for {@code timeout} is
 * closed, which makes the blocked read fail with an IOException (and the download is retried or resumed).
 */
final class IdleWatchdog implements AutoCloseable {
    private final long timeoutNanos;
    private final Set<Watched> watched = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService timer;

    IdleWatchdog(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "davit-idle-watchdog");
            t.setDaemon(true);
            return t;
        });
        long tick = Math.max(50, Math.min(1000, timeout.toMillis() / 4));
        timer.scheduleAtFixedRate(this::check, tick, tick, TimeUnit.MILLISECONDS);
    }

    /** Wraps {@code in}; the returned stream must be closed. */
    Watched watch(InputStream in) {
        Watched w = new Watched(in);
        watched.add(w);
        return w;
    }

    private void check() {
        long now = System.nanoTime();
        for (Watched w : watched) {
            if (now - w.lastActivity > timeoutNanos) {
                w.expired = true;
                w.closeQuietly();
                watched.remove(w);
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /** A body stream with activity tracking. */
    final class Watched extends InputStream {
        private final InputStream in;
        private volatile long lastActivity = System.nanoTime();
        private volatile boolean expired;

        Watched(InputStream in) {
            this.in = in;
        }

        boolean expired() {
            return expired;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            lastActivity = System.nanoTime();
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                int n = in.read(b, off, len);
                lastActivity = System.nanoTime();
                return n;
            } catch (IOException e) {
                if (expired) {
                    throw new IOException("no data for " + Duration.ofNanos(timeoutNanos).toSeconds() + " s (idle timeout)", e);
                }
                throw e;
            }
        }

        void closeQuietly() {
            try {
                in.close();
            } catch (IOException ignored) {
                // closing to unblock a reader
            }
        }

        @Override
        public void close() throws IOException {
            watched.remove(this);
            in.close();
        }
    }
}
