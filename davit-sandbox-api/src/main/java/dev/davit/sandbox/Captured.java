package dev.davit.sandbox;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The captured bytes of one output stream, held in the chunks they were read into (at most 1 MiB each, see
 * {@code CappedSink}): never one growing array that doubles and copies. They leave as
 * they are ({@link #writeTo}, {@link #chunks}, {@link #range}); {@link #bytes} makes one array only for a caller that
 * needs it, once, and keeps only that from then on. Thread-safe.
 */
public final class Captured {
    /** No output. */
    public static final Captured EMPTY = new Captured(List.of(), 0);

    private List<byte[]> chunks; // every chunk full but the last, which holds size - (the others' lengths) bytes
    private final int size;

    private Captured(List<byte[]> chunks, int size) {
        this.chunks = chunks;
        this.size = size;
    }

    /**
     * The first {@code size} bytes of {@code chunks} (each full but the last; the arrays are taken, not copied).
     *
     * @param chunks the chunks, in order
     * @param size   how many of their bytes were captured
     * @return the capture; {@link #EMPTY} when {@code size} is 0
     */
    public static Captured of(List<byte[]> chunks, int size) {
        return size == 0 ? EMPTY : new Captured(List.copyOf(chunks), size);
    }

    /**
     * {@code bytes} as a capture (taken, not copied).
     *
     * @param bytes the captured bytes; not to be changed afterwards
     * @return the capture
     */
    public static Captured of(byte[] bytes) {
        return of(List.of(bytes), bytes.length);
    }

    /**
     * How many bytes were captured.
     *
     * @return the size in bytes
     */
    public int size() {
        return size;
    }

    /**
     * Writes the captured bytes to {@code out}, chunk by chunk.
     *
     * @param out where to write; not closed
     * @throws IOException when {@code out} fails
     */
    public void writeTo(OutputStream out) throws IOException {
        for (ByteBuffer b : chunks()) {
            out.write(b.array(), b.arrayOffset() + b.position(), b.remaining());
        }
    }

    /**
     * The chunks as buffers over the captured bytes (not copies: do not write to them), in order.
     *
     * @return one buffer per chunk, positioned at its captured bytes
     */
    public List<ByteBuffer> chunks() {
        List<byte[]> cs;
        synchronized (this) {
            cs = chunks;
        }
        List<ByteBuffer> views = new ArrayList<>(cs.size());
        int left = size;
        for (byte[] c : cs) {
            int n = Math.min(c.length, left);
            views.add(ByteBuffer.wrap(c, 0, n));
            left -= n;
        }
        return views;
    }

    /**
     * A copy of bytes {@code from} (inclusive) to {@code to} (exclusive).
     *
     * @param from the first byte's index, at least 0
     * @param to   the index after the last byte, at most {@link #size}
     * @return a new array of {@code to - from} bytes
     * @throws IndexOutOfBoundsException when the range is not within the capture
     */
    public byte[] range(int from, int to) {
        if (from < 0 || to > size || from > to) {
            throw new IndexOutOfBoundsException("range " + from + ".." + to + " of " + size + " bytes");
        }
        byte[] r = new byte[to - from];
        int at = 0; // where the current chunk starts
        for (ByteBuffer b : chunks()) {
            int lo = Math.max(from, at);
            int hi = Math.min(to, at + b.remaining());
            if (lo < hi) {
                System.arraycopy(b.array(), lo - at, r, lo - from, hi - lo);
            }
            at += b.remaining();
        }
        return r;
    }

    /**
     * The captured bytes in one array, made on the first call (the one chunk itself when it is exactly full); from
     * then on only that array is kept. The array is shared: do not change it.
     *
     * @return all captured bytes
     */
    public synchronized byte[] bytes() {
        if (chunks.size() == 1 && chunks.get(0).length == size) {
            return chunks.get(0);
        }
        byte[] all = range(0, size);
        chunks = List.of(all);
        return all;
    }

    /**
     * The captured bytes decoded as UTF-8 (malformed sequences become U+FFFD).
     *
     * @return the text
     */
    public String text() {
        return new String(bytes(), StandardCharsets.UTF_8);
    }
}
