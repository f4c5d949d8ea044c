package dev.davit.sandbox.backend;

import dev.davit.sandbox.Captured;
import dev.davit.sandbox.ExecResult;
import java.util.ArrayList;
import java.util.List;

/**
 * The captured copy of one output stream: the first {@link ExecResult#MAX_CAPTURED_BYTES} bytes are kept, the rest
 * counted and dropped, so a command that writes without end cannot exhaust davit's memory. The bytes go into
 * chunks that are never copied or regrown: the first is 8 KiB (a short output stays small), each next one twice
 * the size up to {@link #CHUNK}, none past the cap; so the memory a flood costs is the cap itself. Thread-safe.
 */
public final class CappedSink {
    /** The largest chunk: 1 MiB. */
    static final int CHUNK = 1 << 20;
    private static final int FIRST = 8192;

    private final List<byte[]> chunks = new ArrayList<>();
    private final int limit;
    private byte[] last; // the chunk being filled
    private int filled; // bytes in {@code last}
    private int kept;
    private long total;

    /** A sink that keeps up to {@link ExecResult#MAX_CAPTURED_BYTES}. */
    public CappedSink() {
        this(ExecResult.MAX_CAPTURED_BYTES);
    }

    /**
     * A sink that keeps up to {@code limit} bytes.
     *
     * @param limit how many bytes to keep, at least 0
     */
    public CappedSink(int limit) {
        this.limit = limit;
    }

    /**
     * This sink as a stream (closing it does nothing).
     *
     * @return a stream whose writes go to {@link #write}
     */
    public java.io.OutputStream stream() {
        return new java.io.OutputStream() {
            @Override
            public void write(int b) {
                CappedSink.this.write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int n) {
                CappedSink.this.write(b, off, n);
            }
        };
    }

    /**
     * Keeps what fits of {@code n} bytes of {@code b} from {@code off} and counts them all.
     *
     * @param b   the bytes
     * @param off where they start in {@code b}
     * @param n   how many there are
     */
    public synchronized void write(byte[] b, int off, int n) {
        total += n;
        int room = Math.min(limit - kept, n);
        while (room > 0) {
            if (last == null || filled == last.length) {
                int size = last == null ? FIRST : Math.min(CHUNK, last.length * 2);
                last = new byte[Math.min(size, limit - kept)];
                filled = 0;
                chunks.add(last);
            }
            int m = Math.min(room, last.length - filled);
            System.arraycopy(b, off, last, filled, m);
            off += m;
            filled += m;
            kept += m;
            room -= m;
        }
    }

    /**
     * What was kept, in its chunks (not copied).
     *
     * @return the capture so far
     */
    public synchronized Captured captured() {
        return Captured.of(chunks, kept);
    }

    /**
     * Whether bytes were dropped.
     *
     * @return true when more was written than kept
     */
    public synchronized boolean truncated() {
        return total > kept;
    }
}
