package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.internal.Spawned;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * A detached process's output as the capper leaves it (see {@link Spawned#OUTPUT_OLD}): {@code output.1} then
 * {@code output}, read as one stream, from the end, in blocks, with bounded memory: never the whole file. A file
 * renamed while it is read (the capper's rotation) makes the read start again.
 */
final class CappedLog {
    /** The longest line {@link #tail} returns whole; a longer one keeps its last this many bytes. */
    static final int LINE_MAX = 64 << 10;
    private static final int BLOCK = 8192;

    private CappedLog() {
    }

    /**
     * What {@link #tail} read.
     *
     * @param bytes   the lines
     * @param dropped how many older bytes the capper dropped (0: the log never passed its cap)
     * @param cut     whether the first line returned was longer than {@link #LINE_MAX} and is only its end (no
     *                earlier line is returned then)
     */
    record Tail(byte[] bytes, long dropped, boolean cut) {
    }

    /**
     * The last {@code lines} lines of the output whose current file is {@code out} (0: all that is kept, at most the
     * cap), reading no more than those lines from the end (a line at most {@link #LINE_MAX}).
     */
    static Tail tail(Path out, int lines) {
        try {
            for (int attempt = 0; ; attempt++) {
                Object before = inode(out);
                Tail t = read(out, lines);
                if (Objects.equals(before, inode(out)) || attempt == 5) {
                    return t;
                }
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + out + ": " + e.getMessage());
        }
    }

    /** How many bytes the capper dropped from the output whose current file is {@code out}. */
    static long dropped(Path out) {
        try {
            return Long.parseLong(Files.readString(out.resolveSibling(Spawned.OUTPUT_DROPPED)).strip());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** The inode of {@code p} (no link followed), or null when it is missing. */
    static Object inode(Path p) throws IOException {
        try {
            return Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** {@code p} opened for reading without following a link, or null when it is missing. */
    static FileChannel open(Path p) throws IOException {
        try {
            return FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static Tail read(Path out, int lines) throws IOException {
        long dropped = dropped(out);
        try (FileChannel old = open(out.resolveSibling(Spawned.OUTPUT_OLD)); FileChannel cur = open(out)) {
            Joined log = new Joined(old, cur);
            long total = log.size();
            long from = 0;
            boolean cut = false;
            if (lines > 0) {
                long boundary = total; // where the line being scanned ends
                int seen = 0;
                byte[] buf = new byte[BLOCK];
                long pos = total;
                scan:
                while (pos > 0) {
                    int n = (int) Math.min(BLOCK, pos);
                    pos -= n;
                    log.read(pos, buf, n);
                    for (int i = n - 1; i >= 0; i--) {
                        long at = pos + i;
                        if (buf[i] == '\n' && at != total - 1) { // a newline ending the log closes the last line
                            if (++seen == lines) {
                                from = at + 1;
                                break scan;
                            }
                            boundary = at;
                        } else if (boundary - at > LINE_MAX) {
                            from = boundary - LINE_MAX;
                            cut = true;
                            break scan;
                        }
                    }
                }
            } else {
                // all of it: no more than the cap (a log written before the cap could be larger)
                long keep = Math.max(Spawned.logCap(), LINE_MAX);
                if (total > keep) {
                    dropped += total - keep;
                    from = total - keep;
                }
            }
            byte[] b = new byte[Math.toIntExact(total - from)];
            log.read(from, b, b.length);
            return new Tail(b, dropped, cut);
        }
    }

    /** Two files read as one (either may be null: missing); their sizes as they were when it was made. */
    private record Joined(FileChannel first, FileChannel second, long firstSize, long secondSize) {
        Joined(FileChannel first, FileChannel second) throws IOException {
            this(first, second, first == null ? 0 : first.size(), second == null ? 0 : second.size());
        }

        long size() {
            return firstSize + secondSize;
        }

        /** Reads {@code n} bytes at {@code pos} into {@code b}; what a file no longer has reads as zeros. */
        void read(long pos, byte[] b, int n) throws IOException {
            int done = 0;
            while (done < n) {
                long at = pos + done;
                FileChannel f = at < firstSize ? first : second;
                long in = at < firstSize ? at : at - firstSize;
                long end = at < firstSize ? firstSize : firstSize + secondSize;
                int len = (int) Math.min(n - done, end - at);
                ByteBuffer buf = ByteBuffer.wrap(b, done, len);
                while (buf.hasRemaining()) {
                    if (f.read(buf, in + (buf.position() - done)) <= 0) {
                        break; // truncated meanwhile
                    }
                }
                done += len;
            }
        }
    }
}
