package dev.davit.sandbox.container;

import dev.davit.sandbox.ExecResult;
import java.io.ByteArrayOutputStream;

/**
 * The captured copy of one output stream: the first {@link ExecResult#MAX_CAPTURED_BYTES} bytes are kept, the rest
 * counted and dropped, so a command that writes without end cannot exhaust davit's memory. Thread-safe.
 */
public final class CappedSink {
    private final Kept kept = new Kept();
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

    /** What was kept; when the buffer is exactly full (a flood cut at the 64 MiB cap) it is handed over, not copied. */
    public synchronized byte[] bytes() {
        return kept.array();
    }

    /** A byte buffer that can give its array away when it is exactly full (saves a 64 MiB copy of a flood). */
    private static final class Kept extends ByteArrayOutputStream {
        byte[] array() {
            return count == buf.length ? buf : toByteArray();
        }
    }

    /** Whether bytes were dropped. */
    public synchronized boolean truncated() {
        return total > kept.size();
    }
}
