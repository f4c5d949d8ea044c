package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;

/**
 * An {@link OutputExcerpt} kept in a file instead of memory: a tee that keeps the first {@code head} bytes of a
 * stream and the last {@code tail} after them (a ring) in a file unlinked as soon as it is open, and counts them
 * all. Its text is what {@link OutputExcerpt#render} gives for the same bytes, but read from the file as it is
 * written out ({@link #text}), so the memory a flood costs does not grow with the excerpt: a caller that prints up to
 * {@link ExecResult#MAX_CAPTURED_BYTES} of each stream (the CLI's {@code run --json}) holds none of them. A write the
 * file cannot take (disk full) is remembered and reported by {@link #text}. Thread-safe; {@link #close} frees the file.
 */
public final class SpooledExcerpt extends OutputStream {
    private static final int BUFFER = 1 << 16;

    private final FileChannel file;
    private final Path dir;
    private final int head;
    private final int tail;
    private long total;
    private IOException failed;

    private SpooledExcerpt(FileChannel file, Path dir, int head, int tail) {
        this.file = file;
        this.dir = dir;
        this.head = head;
        this.tail = tail;
    }

    /**
     * A spool in a new file in {@code dir} (made when missing), unlinked at once: only this spool can reach it.
     *
     * @param dir  where the file is made (on the disk, not in memory: e.g. the sandboxes' state directory)
     * @param head how many of the stream's first bytes to keep, at least 0
     * @param tail how many of its last bytes (after the head) to keep, at least 0
     * @return the spool
     * @throws DavitException STORE when the file cannot be made
     * @throws IllegalArgumentException when {@code head} or {@code tail} is negative
     */
    public static SpooledExcerpt create(Path dir, int head, int tail) {
        if (head < 0 || tail < 0) {
            throw new IllegalArgumentException("head " + head + ", tail " + tail);
        }
        Path f = dir.resolve(".output-" + dev.davit.oci.internal.RandomHex.of(6));
        try {
            Files.createDirectories(dir);
            FileChannel c = FileChannel.open(f, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------")));
            try {
                Files.delete(f);
            } catch (IOException e) {
                c.close();
                throw e;
            }
            return new SpooledExcerpt(c, dir, head, tail);
        } catch (IOException e) {
            throw new DavitException(DavitException.Kind.STORE, "cannot make a file for a command's output in "
                    + dir + ": " + e.getMessage());
        }
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int n) {
        long end = total + n;
        try {
            if (failed == null && total < head) {
                int m = (int) Math.min(n, head - total);
                put(b, off, m, total);
                off += m;
                n -= m;
            }
            if (failed == null && n > 0 && tail > 0) {
                int skip = Math.max(0, n - tail); // only the last tail bytes of b can stay
                long s = end - n + skip; // the stream offset of the next byte kept
                for (int i = off + skip; i < off + n; ) {
                    long at = (s - head) % tail;
                    int m = (int) Math.min(off + n - i, tail - at);
                    put(b, i, m, head + at);
                    i += m;
                    s += m;
                }
            }
        } catch (IOException e) {
            failed = e;
        } finally {
            total = end;
        }
    }

    private void put(byte[] b, int off, int n, long at) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(b, off, n);
        while (buf.hasRemaining()) {
            at += file.write(buf, at);
        }
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
     * Whether bytes were left out between the head and the tail ({@link OutputExcerpt#cut}).
     *
     * @return true when more than {@code head + tail} bytes were written
     */
    public synchronized boolean cut() {
        return total > (long) head + tail;
    }

    /**
     * The excerpt's text, as {@link OutputExcerpt.Rendered#text} of {@link OutputExcerpt#render}, read from the file
     * as it is read from here. Write nothing more meanwhile.
     *
     * @param name the stream's name for the line about the bytes left out, e.g. {@code stdout}
     * @return the text, decoded and made printable as it is read
     * @throws DavitException STORE when the file could not take what was written
     */
    public synchronized Reader text(String name) {
        checkWritten();
        long h = Math.min(total, head);
        if (!cut()) {
            return new Printable(utf8(region(0, total)));
        }
        long tailFrom = total - tail;
        byte[] end = readAll(region(Math.max(0, h - 4), h));
        int hb = (int) (h - end.length + OutputExcerpt.lastBoundary(end));
        int t = OutputExcerpt.firstBoundary(readAll(region(tailFrom, Math.min(total, tailFrom + 3))));
        long omitted = total - h - tail;
        String line = "\n[... davit: " + (omitted + h - hb + t) + " bytes of " + name + " left out here ...]\n";
        return new Printable(new Joined(List.of(utf8(region(0, hb)), new StringReader(line),
                utf8(region(tailFrom + t, total)))));
    }

    /**
     * Whether the text ({@link #text}) is not exactly the stream's bytes, so that {@link OutputExcerpt#render} would
     * give the whole stream as base64 too: nothing was left out, and the bytes are not UTF-8 or hold control
     * characters or U+FFFD. Reads the whole text once.
     *
     * @return true when the stream's bytes should also be given ({@link #bytes})
     * @throws DavitException STORE when the file could not take what was written, or cannot be read
     */
    public synchronized boolean needsBytes() {
        if (cut()) {
            return false;
        }
        try (Printable p = (Printable) text("")) {
            char[] buf = new char[BUFFER];
            while (p.read(buf, 0, buf.length) >= 0) {
                if (p.replaced) {
                    return true;
                }
            }
            return p.replaced;
        } catch (IOException e) {
            throw unreadable(e);
        }
    }

    /**
     * The whole stream, when nothing was left out ({@link #cut} false).
     *
     * @return the stream's bytes, read from the file as they are read from here
     * @throws IllegalStateException when bytes were left out
     */
    public synchronized InputStream bytes() {
        if (cut()) {
            throw new IllegalStateException("bytes were left out");
        }
        checkWritten();
        return region(0, total);
    }

    /** Frees the file. */
    @Override
    public void close() {
        try {
            file.close();
        } catch (IOException e) {
            // it was unlinked: nothing is left to remove
        }
    }

    private void checkWritten() {
        if (failed != null) {
            throw new DavitException(DavitException.Kind.STORE, "cannot keep a command's output in " + dir + ": "
                    + failed.getMessage() + " (free some space there)");
        }
    }

    private static DavitException unreadable(IOException e) {
        return new DavitException(DavitException.Kind.STORE, "cannot read back a command's output: "
                + e.getMessage());
    }

    private static Reader utf8(InputStream in) {
        return new InputStreamReader(in, StandardCharsets.UTF_8); // malformed input becomes U+FFFD, as new String
    }

    private static byte[] readAll(InputStream in) {
        try (in) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw unreadable(e);
        }
    }

    /** The stream's bytes {@code from} to {@code to} (both within what is kept), from the file. */
    private InputStream region(long from, long to) {
        return new BufferedInputStream(new InputStream() {
            private long s = from;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (s >= to) {
                    return -1;
                }
                long at = s < head ? s : head + (s - head) % tail;
                long run = s < head ? head - s : tail - (at - head); // bytes before the next wrap or the head's end
                int n = file.read(ByteBuffer.wrap(b, off, (int) Math.min(Math.min(len, to - s), run)), at);
                if (n < 0) {
                    throw new IOException("the output file ends early");
                }
                s += n;
                return n;
            }
        }, BUFFER);
    }

    /** Readers one after the other. */
    private static final class Joined extends Reader {
        private final ArrayDeque<Reader> left;

        Joined(List<Reader> readers) {
            left = new ArrayDeque<>(readers);
        }

        @Override
        public int read(char[] cbuf, int off, int len) throws IOException {
            while (!left.isEmpty()) {
                int n = left.peek().read(cbuf, off, len);
                if (n >= 0) {
                    return n;
                }
                left.poll().close();
            }
            return -1;
        }

        @Override
        public void close() throws IOException {
            for (Reader r : left) {
                r.close();
            }
            left.clear();
        }
    }

    /**
     * {@link OutputExcerpt#printable} as a stream: each control character but tab, newline and carriage return as
     * U+FFFD, a run of more than {@link OutputExcerpt#RUN} as one U+FFFD and {@code [N control bytes]}; notes whether
     * any U+FFFD came out.
     */
    private static final class Printable extends Reader {
        private final Reader in;
        private final char[] buf = new char[BUFFER];
        private final StringBuilder out = new StringBuilder();
        private int taken; // chars of out already returned
        private long run; // control characters seen and not yet written
        private boolean ended;
        boolean replaced;

        Printable(Reader in) {
            this.in = in;
        }

        @Override
        public int read(char[] cbuf, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (taken == out.length()) {
                if (ended) {
                    return -1;
                }
                out.setLength(0);
                taken = 0;
                int n = in.read(buf, 0, buf.length);
                if (n < 0) {
                    ended = true;
                    flushRun();
                }
                for (int i = 0; i < n; i++) {
                    char c = buf[i];
                    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
                        run++;
                        continue;
                    }
                    flushRun();
                    replaced |= c == '\uFFFD';
                    out.append(c);
                }
            }
            int n = Math.min(len, out.length() - taken);
            out.getChars(taken, taken + n, cbuf, off);
            taken += n;
            return n;
        }

        private void flushRun() {
            if (run > 0) {
                replaced = true;
                out.append(run > OutputExcerpt.RUN ? "\uFFFD[" + run + " control bytes]" : "\uFFFD".repeat((int) run));
                run = 0;
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
