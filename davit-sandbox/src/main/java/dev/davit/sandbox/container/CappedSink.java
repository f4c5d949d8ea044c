package dev.davit.sandbox.container;

import dev.davit.sandbox.ExecResult;
import java.io.ByteArrayOutputStream;

/**
 * The captured copy of one output stream: the first {@link ExecResult#MAX_CAPTURED_BYTES} bytes are kept, the rest
 * counted and dropped, so a command that writes without end cannot exhaust davit's memory. Thread-safe.
 */
public final class CappedSink {
    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
    private final long limit;
    private long total;

    public CappedSink() {
        this(ExecResult.MAX_CAPTURED_BYTES);
    }

    public CappedSink(long limit) {
        this.limit = limit;
    }

    synchronized void write(byte[] b, int off, int n) {
        long room = limit - kept.size();
        if (room > 0) {
            kept.write(b, off, (int) Math.min(room, n));
        }
        total += n;
    }

    public synchronized byte[] bytes() {
        return kept.toByteArray();
    }

    /** Whether bytes were dropped. */
    public synchronized boolean truncated() {
        return total > kept.size();
    }
}
