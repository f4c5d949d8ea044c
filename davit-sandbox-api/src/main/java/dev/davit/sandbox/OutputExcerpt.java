package dev.davit.sandbox;

import dev.davit.oci.internal.Text;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;

/**
 * A bounded view of one output stream: its first bytes ({@link #head}), its last ({@link #tail}) and how many it had
 * in all. What a caller that must not hold a flood keeps of it: the head is an exec's capture
 * ({@code Sandboxes.exec} with a small capture), the tail a {@link Tail} tee.
 *
 * @param head  the first bytes of the stream
 * @param tail  the last bytes after the head (none when the head has them all)
 * @param total how many bytes the stream had
 */
public record OutputExcerpt(byte[] head, byte[] tail, long total) {
    /**
     * The stream's bytes between the head and the tail that neither holds.
     *
     * @return how many bytes were left out; 0 when none were
     */
    public long omitted() {
        return total - head.length - tail.length;
    }

    /**
     * Whether bytes were left out.
     *
     * @return true when {@link #omitted} is positive
     */
    public boolean cut() {
        return omitted() > 0;
    }

    /**
     * The excerpt of a stream whose start is {@code head} and whose end {@code tail} saw.
     *
     * @param head the stream's captured start
     * @param tail the tee that saw all of the stream
     * @return the excerpt, its tail without the bytes the head holds already
     */
    public static OutputExcerpt of(Captured head, Tail tail) {
        byte[] h = head.bytes();
        long total = Math.max(tail.total(), h.length);
        byte[] t = tail.bytes();
        long tailStart = total - t.length; // where the tail's bytes are in the stream
        if (tailStart < h.length) { // the head already holds the tail's first bytes
            t = Arrays.copyOfRange(t, (int) Math.min(t.length, h.length - tailStart), t.length);
        }
        return new OutputExcerpt(h, t, total);
    }

    /**
     * The excerpt as text and, where the text does not give the bytes exactly, as base64.
     *
     * @param text   head, a line saying how many bytes were left out, tail (or, when none were, the whole stream);
     *               invalid UTF-8 and control characters other than tab, newline and carriage return each shown as
     *               U+FFFD, and a long run of them as one, so that a flood of control bytes does not grow sixfold as
     *               JSON escapes
     * @param base64 the whole stream in base64 when none of it was left out and {@code text} is not exactly its
     *               bytes (they are not UTF-8, or hold control characters or U+FFFD); else null
     */
    public record Rendered(String text, String base64) {
    }

    /**
     * The excerpt rendered once ({@link Rendered}): what the MCP server's and the CLI's {@code --json}
     * {@code stdout}/{@code stderr} show.
     *
     * @param name the stream's name for the line about the bytes left out, e.g. {@code stdout}
     * @return the text and, when needed, the base64 of the stream
     */
    public Rendered render(String name) {
        if (!cut()) {
            byte[] all = whole();
            String strict = Text.utf8OrNull(all);
            String text = printable(strict != null ? strict : new String(all, StandardCharsets.UTF_8));
            return new Rendered(text, strict == null || text.indexOf('\uFFFD') >= 0
                    ? Base64.getEncoder().encodeToString(all) : null);
        }
        int h = lastBoundary(head);
        int t = firstBoundary(tail);
        return new Rendered(printable(new String(head, 0, h, StandardCharsets.UTF_8)) + "\n[... davit: "
                + (omitted() + head.length - h + t) + " bytes of " + name + " left out here ...]\n"
                + printable(new String(tail, t, tail.length - t, StandardCharsets.UTF_8)), null);
    }

    /**
     * {@code s} with each control character but tab, newline and carriage return as U+FFFD, and a run of more than
     * {@link #RUN} of them as one U+FFFD followed by {@code [N control bytes]}: a flood of control bytes reads as one
     * line, not thousands of replacement characters.
     */
    static String printable(String s) {
        StringBuilder b = null;
        int run = 0;
        for (int i = 0; i <= s.length(); i++) {
            char c = i < s.length() ? s.charAt(i) : '\n';
            boolean control = i < s.length() && ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f);
            if (control) {
                if (b == null) {
                    b = new StringBuilder(s.length()).append(s, 0, i);
                }
                run++;
                continue;
            }
            if (run > 0) {
                b.append(run > RUN ? "\uFFFD[" + run + " control bytes]" : "\uFFFD".repeat(run));
                run = 0;
            }
            if (b != null && i < s.length()) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    /** The longest run of control characters shown one by one. */
    static final int RUN = 8;

    /**
     * The stream's bytes, head then tail: all of them when none were left out ({@link #cut} false).
     *
     * @return a new array
     */
    public byte[] whole() {
        byte[] r = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, r, head.length, tail.length);
        return r;
    }

    /** The end of {@code b} without a UTF-8 sequence cut short at its end (at most 3 bytes less). */
    static int lastBoundary(byte[] b) {
        int n = b.length;
        for (int back = 1; back <= Math.min(4, n); back++) {
            int c = b[n - back] & 0xff;
            if (c < 0x80) {
                return n; // ASCII ends it
            }
            if (c >= 0xc0) { // a lead byte: is its sequence whole?
                int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
                return len <= back ? n : n - back;
            }
        }
        return n;
    }

    /** Where {@code b}'s first whole UTF-8 sequence starts (past at most 3 continuation bytes). */
    static int firstBoundary(byte[] b) {
        int i = 0;
        while (i < Math.min(3, b.length) && (b[i] & 0xc0) == 0x80) {
            i++;
        }
        return i;
    }

    /** A tee that keeps the last {@code capacity} bytes written to it and counts them all. Thread-safe. */
    public static final class Tail extends OutputStream {
        private final int capacity;
        private byte[] ring = new byte[0]; // grows (no wrap yet) up to capacity, then wraps
        private long total;

        /**
         * A tail of the last {@code capacity} bytes.
         *
         * @param capacity how many bytes to keep, at least 0
         * @throws IllegalArgumentException when {@code capacity} is negative
         */
        public Tail(int capacity) {
            if (capacity < 0) {
                throw new IllegalArgumentException("capacity " + capacity);
            }
            this.capacity = capacity;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int n) {
            if (ring.length < capacity && total + n > ring.length) { // nothing wrapped yet: grow, keeping order
                ring = Arrays.copyOf(ring, (int) Math.min(capacity, Math.max(total + n, Math.max(8192,
                        2L * ring.length))));
            }
            if (ring.length > 0) {
                int skip = Math.max(0, n - ring.length); // only the last ring.length bytes of b can stay
                for (int i = off + skip; i < off + n; ) {
                    int at = (int) ((total + i - off) % ring.length);
                    int m = Math.min(off + n - i, ring.length - at);
                    System.arraycopy(b, i, ring, at, m);
                    i += m;
                }
            }
            total += n;
        }

        /**
         * How many bytes were written.
         *
         * @return the count of all bytes written, kept or not
         */
        public synchronized long total() {
            return total;
        }

        /**
         * The last bytes written, oldest first.
         *
         * @return a new array of up to {@code capacity} bytes
         */
        public synchronized byte[] bytes() {
            int n = (int) Math.min(total, ring.length);
            byte[] r = new byte[n];
            int start = (int) ((total - n) % Math.max(1, ring.length));
            for (int i = 0; i < n; i++) {
                r[i] = ring[(start + i) % ring.length];
            }
            return r;
        }
    }
}
