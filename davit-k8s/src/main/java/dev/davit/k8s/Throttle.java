package dev.davit.k8s;

import io.fabric8.kubernetes.client.http.AsyncBody;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.http.Interceptor;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The client-side rate limit of one process's requests to the API server, as client-go's token bucket: {@code burst}
 * requests at once, then {@code qps} a second ({@code DAVIT_K8S_QPS}, {@code DAVIT_K8S_BURST}). Each try of a request
 * takes a token, a retry after a 429 or a 5xx too (fabric8 waits for the server's {@code Retry-After} first), so a
 * thousand creates at once reach the server at the rate it was told and a server that turns them away never meets a
 * retry storm. After a 429 no tokens are saved for a while: the retries of requests turned away together (each after
 * the same {@code Retry-After}) leave at the rate, one by one, not as one burst that meets the same refusal again. A
 * request waits for its token on the thread that sends it; none is refused.
 */
final class Throttle implements Interceptor {
    private final long intervalNanos;
    private final long burstNanos;
    /** How long after a 429 requests go at the rate alone, with no burst: longer than the server's Retry-After. */
    static final long PACED = TimeUnit.SECONDS.toNanos(10);
    /** When the next token is free ({@link System#nanoTime}); guarded by this. */
    private long next;
    /** Until when no tokens are saved, after the last 429 ({@link System#nanoTime}); guarded by this. */
    private long pacedUntil = Long.MIN_VALUE / 2;
    /** How long requests waited for their tokens, in nanoseconds (read by tests and the bench). */
    private final java.util.concurrent.atomic.LongAdder waited = new java.util.concurrent.atomic.LongAdder();

    /**
     * @param qps   requests a second once the burst is spent (at least 1)
     * @param burst requests at once (at least 1)
     */
    Throttle(int qps, int burst) {
        this.intervalNanos = TimeUnit.SECONDS.toNanos(1) / Math.max(1, qps);
        this.burstNanos = intervalNanos * Math.max(1, burst);
        this.next = Long.MIN_VALUE / 2; // a full bucket at any start
    }

    @Override
    public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
        long wait = reserve(System.nanoTime());
        if (wait > 0) {
            waited.add(wait);
            long until = System.nanoTime() + wait;
            // an interrupt does not skip the wait (the request goes after it), nor spins it: the flag is set again after
            boolean interrupted = Thread.interrupted();
            for (long left = wait; left > 0; left = until - System.nanoTime()) {
                LockSupport.parkNanos(left);
                interrupted |= Thread.interrupted();
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void after(HttpRequest request, HttpResponse<?> response, AsyncBody.Consumer<List<ByteBuffer>> consumer) {
        if (response.code() == 429) {
            turnedAway(System.nanoTime());
        }
    }

    /** The server turned a request away at {@code now}: for {@link #PACED} from now, no tokens are saved. */
    synchronized void turnedAway(long now) {
        pacedUntil = now + PACED;
    }

    /**
     * Takes the next token at {@code now}: how long its request waits (0 when one is free). Tokens saved while idle
     * are at most {@code burst}, and none within {@link #PACED} of a 429.
     */
    synchronized long reserve(long now) {
        long start = Math.max(next, now - (now < pacedUntil ? 0 : burstNanos - intervalNanos));
        next = start + intervalNanos;
        return Math.max(0, start - now);
    }

    /** How long requests have waited for their tokens so far, in milliseconds. */
    long waitedMillis() {
        return TimeUnit.NANOSECONDS.toMillis(waited.sum());
    }
}
