package dev.davit.sandbox.fs;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.time.Duration;

/**
 * What one host-side operation on a sandbox's files may cost: bytes written (or read whole), entries, and time. The
 * sandbox decides what its tree holds; the host decides how much of it one operation takes: a tree past a limit
 * stops the operation with a one-line error, before the bytes are written, and so does the deadline or an
 * interrupt of the calling thread (a cancelled call). Not thread-safe.
 */
public final class Budget {
    /** Bytes one operation copies, by default: 8 GiB (holes in sparse files are not counted: they are not copied). */
    public static final long MAX_BYTES = 8L << 30;
    /** Entries one operation visits, by default. */
    public static final long MAX_ENTRIES = 1_000_000;
    /** How long one operation may take, by default. */
    public static final Duration DEADLINE = Duration.ofMinutes(10);

    private final String what;
    private final long maxBytes;
    private final long maxEntries;
    private final long deadline;
    private final Duration limit;
    private long bytes;
    private long entries;

    /**
     * @param what the operation, as errors name it (e.g. {@code "the snapshot of /workspace"})
     */
    public Budget(String what, long maxBytes, long maxEntries, Duration limit) {
        this.what = what;
        this.maxBytes = maxBytes;
        this.maxEntries = maxEntries;
        this.limit = limit;
        this.deadline = System.nanoTime() + limit.toNanos();
    }

    /** The default limits for {@code what}. */
    public static Budget of(String what) {
        return new Budget(what, MAX_BYTES, MAX_ENTRIES, DEADLINE);
    }

    /** Counts one more entry; fails past the entry limit, the deadline or an interrupt. */
    public void entry() {
        if (++entries > maxEntries) {
            throw new DavitException(Kind.USAGE, what + " passes the limit of " + maxEntries + " files and"
                    + " directories; remove files from the tree (or copy a part of it)");
        }
        check();
    }

    /** Characters of paths one operation may keep (a listing, a diff), by default. */
    public static final long MAX_PATH_CHARS = 64L << 20;
    private long pathChars;

    /** Counts the path of one more entry kept in memory; fails past {@link #MAX_PATH_CHARS}. */
    public void path(String path) {
        pathChars += path.length();
        if (pathChars > MAX_PATH_CHARS) {
            throw new DavitException(Kind.USAGE, what + " passes the limit of " + (MAX_PATH_CHARS >> 20) + " Mi"
                    + " characters of paths (long names nested deep); remove them from the tree (or copy a part of"
                    + " it)");
        }
    }

    /** How deep directories may nest below the top of one operation. */
    public static final int MAX_DEPTH = 256;

    /** Fails when {@code depth} (of a directory below the top) passes {@link #MAX_DEPTH}. */
    public void depth(int depth) {
        if (depth > MAX_DEPTH) {
            throw new DavitException(Kind.USAGE, what + " meets directories nested more than " + MAX_DEPTH
                    + " deep; remove them from the tree (or copy a part of it)");
        }
    }

    /** Counts {@code n} more bytes before they are copied; fails past the byte limit. */
    public void bytes(long n) {
        bytes += n;
        if (bytes > maxBytes) {
            throw new DavitException(Kind.USAGE, what + " passes the limit of " + human(maxBytes) + "; remove large"
                    + " files from the tree (or copy a part of it)");
        }
        check();
    }

    /** Hears how far a long operation got: entries and bytes counted so far. */
    public interface Progress {
        void at(long entries, long bytes);
    }

    private Progress progress;
    private long nextReport;

    /** This budget, which tells {@code p} how far it got about once a second (from the second second on). */
    public Budget reporting(Progress p) {
        this.progress = p;
        this.nextReport = System.nanoTime() + REPORT_EVERY_NS;
        return this;
    }

    private static final long REPORT_EVERY_NS = 1_000_000_000L;

    /** Fails when the deadline has passed or the calling thread was interrupted (the call was cancelled). */
    public void check() {
        if (progress != null) {
            long now = System.nanoTime();
            if (now - nextReport > 0) {
                nextReport = now + REPORT_EVERY_NS;
                progress.at(entries, bytes);
            }
        }
        if (Thread.currentThread().isInterrupted()) {
            throw new DavitException(Kind.USAGE, what + " was cancelled");
        }
        if (System.nanoTime() - deadline > 0) {
            throw new DavitException(Kind.USAGE, what + " took longer than " + limit.toSeconds() + " s and was"
                    + " stopped; copy a smaller part of the tree");
        }
    }

    public long bytesCounted() {
        return bytes;
    }

    private static String human(long n) {
        return n >= 1L << 30 && n % (1L << 30) == 0 ? (n >> 30) + " GiB" : n >= 1L << 20 && n % (1L << 20) == 0
                ? (n >> 20) + " MiB" : n + " bytes";
    }
}
