package dev.davit.oci.store;

import dev.davit.oci.internal.Fs;
import dev.davit.oci.DavitException;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.digest.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;

/**
 * Writes one blob into the store: bytes are appended to a per-digest partial file in the ingest area and
 * hashed as they are written; {@link #commit()} fsyncs, checks size and digest and only then renames the file
 * into {@code blobs/<alg>/<hex>}. An ingest holds the blob's lock (one writer per digest across threads and
 * processes) until {@link #close()}.
 *
 * <p>A partial file left by an interrupted writer (even a killed process) is picked up by the next ingest of
 * the same digest: its bytes are re-hashed and {@link #offset()} tells where to resume. Such bytes are never
 * mistaken for a complete blob: nothing reaches {@code blobs/} without passing the digest check.
 */
public final class BlobIngest implements AutoCloseable {
    private static final int BUF = 1 << 16;

    private final Descriptor descriptor;
    private final Path partial;
    private final Path target;
    private final StoreLock.Held lock;
    private final boolean present;
    private FileChannel channel;
    private MessageDigest hasher;
    private long written;
    private final long resumedFrom;
    private boolean done;
    /** Forces a large blob's bytes to the disk while it is still being written; null for a small one. */
    private Writeback writeback;
    /**
     * While ranges are written ahead of the hashed bytes ({@link #beginRanges()}): this file holds how many bytes at
     * the start of the partial file are contiguous, so a resume never hashes the holes between ranges.
     */
    private final Path upTo;
    private boolean ranged;
    private long upToSaved;

    BlobIngest(Descriptor descriptor, Path partial, Path target, StoreLock.Held lock) {
        this.descriptor = descriptor;
        this.partial = partial;
        this.target = target;
        this.lock = lock;
        this.upTo = partial.resolveSibling(partial.getFileName() + ".upto");
        long resumed = 0;
        try {
            this.present = Files.exists(target);
            if (!present) {
                channel = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
                long recorded = contiguous();
                long size = Math.min(channel.size(), recorded);
                if (size > descriptor.size()) {
                    size = 0;
                }
                if (size < channel.size()) {
                    channel.truncate(size);
                }
                if (recorded != Long.MAX_VALUE) {
                    Files.deleteIfExists(upTo);
                }
                if (size > 0) {
                    rehash(size);
                }
                written = size;
                resumed = size;
                channel.position(size);
                if (descriptor.size() > Writeback.STEP) {
                    writeback = new Writeback(channel, size);
                }
            }
        } catch (IOException e) {
            closeQuietly();
            lock.close();
            throw storeError("cannot prepare " + partial, e);
        } catch (RuntimeException e) {
            closeQuietly();
            lock.close();
            throw e;
        }
        this.resumedFrom = resumed;
    }

    /** What an earlier writer of ranges recorded as contiguous, or everything when it wrote none. */
    private long contiguous() {
        try {
            return Math.max(0, Long.parseLong(Files.readString(upTo).trim()));
        } catch (java.nio.file.NoSuchFileException e) {
            return Long.MAX_VALUE;
        } catch (IOException | NumberFormatException e) {
            return 0;   // torn or unreadable: resume from nothing rather than hash holes
        }
    }

    private void rehash(long size) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(BUF);
        long pos = 0;
        while (pos < size) {
            buf.clear();
            int n = channel.read(buf, pos);
            if (n < 0) {
                break;
            }
            hasher().update(buf.array(), 0, n);
            pos += n;
        }
    }

    /**
     * The blob's hasher, made when the first byte is hashed rather than when the ingest opens: a big blob's may be
     * libcrypto's, whose first use in a JVM sets up its FFM calls (~30 ms), and meanwhile the blob's request is
     * already on its way.
     */
    private MessageDigest hasher() {
        if (hasher == null) {
            hasher = descriptor.digest().newMessageDigest(descriptor.size());
        }
        return hasher;
    }

    /**
     * The descriptor being ingested.
     *
     * @return the blob's descriptor
     */
    public Descriptor descriptor() {
        return descriptor;
    }

    /**
     * Whether the blob was already in the store: then nothing needs to be written.
     *
     * @return true when it is present
     */
    public boolean present() {
        return present;
    }

    /**
     * The bytes already in the partial file (hashed): a download resumes from here.
     *
     * @return how many bytes are written
     */
    public long offset() {
        return written;
    }

    /**
     * How many bytes were found from an earlier, interrupted attempt.
     *
     * @return the bytes resumed from, 0 for a fresh start
     */
    public long resumedFrom() {
        return resumedFrom;
    }

    /** Throws away what was written so far (e.g. the server ignored a Range request). */
    public void restart() {
        requireOpen();
        if (writeback != null) {
            writeback.rewound(0);
        }
        if (hasher != null) {
            hasher.reset();
        }
        written = 0;
        cutBack();
    }

    /** Cuts the file back to the bytes hashed, to append from there; writing ranges, if it was, ends. */
    private void cutBack() {
        try {
            channel.truncate(written);
            channel.position(written);
            if (ranged) {
                Files.deleteIfExists(upTo);
            }
        } catch (IOException e) {
            throw storeError("cannot cut " + partial + " back to its " + written + " hashed bytes", e);
        }
        ranged = false;
    }

    /**
     * Starts writing ranges of the blob ahead of the bytes hashed so far: {@link #writeAt} writes them from any
     * thread, {@link #absorb} hashes them in order. Until the commit, a resume after a crash starts at the bytes that
     * were hashed (recorded as they advance), never at the end of the file, which may hold holes.
     */
    public void beginRanges() {
        requireOpen();
        saveUpTo(written);
        ranged = true;
    }

    /**
     * Stops writing ranges before the blob is complete (the registry does not serve them, or a range failed): the
     * file is cut back to the bytes hashed so far, and {@link #write} appends from there.
     */
    public void endRanges() {
        requireOpen();
        cutBack();
    }

    /**
     * Writes bytes at {@code position}, which lies at or after {@link #offset()}, without hashing them (that is
     * {@link #absorb}'s). Safe to call from several threads for different ranges.
     *
     * @param position where in the blob the bytes go
     * @param b        the buffer
     * @param off      where the bytes start in it
     * @param len      how many bytes to write
     */
    public void writeAt(long position, byte[] b, int off, int len) {
        if (!ranged || channel == null) {
            throw new IllegalStateException("ingest of " + descriptor.digest() + " is not writing ranges");
        }
        if (position < 0 || position + len > descriptor.size()) {
            throw new DavitException(DavitException.Kind.VERIFICATION, "blob " + descriptor.digest()
                    + " got bytes past its descriptor's " + descriptor.size() + " bytes; the registry served wrong content");
        }
        try {
            ByteBuffer bb = ByteBuffer.wrap(b, off, len);
            long at = position;
            while (bb.hasRemaining()) {
                at += channel.write(bb, at);
            }
        } catch (IOException e) {
            throw storeError("cannot write " + partial, e);
        }
    }

    /**
     * Hashes the bytes {@link #writeAt} wrote from {@link #offset()} up to {@code end} (read back from the file, which
     * still has them in the page cache) and moves the offset there.
     *
     * @param end where the contiguous bytes written so far end
     * @param buf a buffer to read them through
     */
    public void absorb(long end, byte[] buf) {
        requireOpen();
        if (end > descriptor.size()) {
            throw new IllegalArgumentException("end " + end + " is past the blob's " + descriptor.size() + " bytes");
        }
        MessageDigest h = hasher();
        try {
            while (written < end) {
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, (int) Math.min(buf.length, end - written));
                int n = channel.read(bb, written);
                if (n <= 0) {
                    throw new IOException("the partial file ends at " + written + " bytes, before " + end);
                }
                h.update(buf, 0, n);
                written += n;
            }
        } catch (IOException e) {
            throw storeError("cannot read back " + partial, e);
        }
        if (writeback != null) {
            writeback.written(written);
        }
        if (written - upToSaved >= Writeback.STEP || written == descriptor.size()) {
            saveUpTo(written);
        }
    }

    private void saveUpTo(long n) {
        try {
            Files.writeString(upTo, Long.toString(n));
        } catch (IOException e) {
            throw storeError("cannot write " + upTo, e);
        }
        upToSaved = n;
    }

    /**
     * Appends bytes. Fails with a verification error as soon as more bytes arrive than the descriptor's size.
     *
     * @param b   the buffer
     * @param off where the bytes start in it
     * @param len how many bytes to append
     */
    public void write(byte[] b, int off, int len) {
        requireOpen();
        if (written + len > descriptor.size()) {
            discard();
            throw new DavitException(DavitException.Kind.VERIFICATION, "blob " + descriptor.digest()
                    + " is larger than its descriptor's " + descriptor.size() + " bytes; the registry served"
                    + " wrong content");
        }
        MessageDigest h = hasher();
        try {
            ByteBuffer bb = ByteBuffer.wrap(b, off, len);
            while (bb.hasRemaining()) {
                channel.write(bb);
            }
        } catch (IOException e) {
            throw storeError("cannot write " + partial, e);
        }
        h.update(b, off, len);
        written += len;
        if (writeback != null) {
            writeback.written(written);
        }
    }

    /**
     * Copies a whole stream (used for content that is already local).
     *
     * @param in the content, read to its end (not closed)
     * @throws IOException when reading {@code in} fails
     */
    public void writeAll(InputStream in) throws IOException {
        byte[] buf = new byte[BUF];
        int n;
        while ((n = in.read(buf)) > 0) {
            write(buf, 0, n);
        }
    }

    /**
     * Verifies size and digest, fsyncs and atomically renames the blob into place. On a mismatch the partial
     * file is deleted and a verification error is thrown: nothing corrupt is ever cached.
     */
    public void commit() {
        if (present || done) {
            return;
        }
        requireOpen();
        Digest actual = Digest.fromBytes(descriptor.digest().algorithm(), hasher().digest());
        if (written != descriptor.size() || !actual.equals(descriptor.digest())) {
            discard();
            String why = written != descriptor.size()
                    ? "got " + written + " bytes, expected " + descriptor.size()
                    : "content hashes to " + actual;
            throw new DavitException(DavitException.Kind.VERIFICATION, "blob " + descriptor.digest()
                    + " failed verification (" + why + "); nothing was cached, pull again or check the registry");
        }
        try {
            if (writeback != null) {
                writeback.finish();
            }
            channel.force(true);
            channel.close();
            channel = null;
            Files.createDirectories(target.getParent());
            Files.move(partial, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Fs.fsyncDir(target.getParent());
            done = true;
            if (ranged) {
                Files.deleteIfExists(upTo);
            }
        } catch (IOException e) {
            throw storeError("cannot commit blob " + descriptor.digest(), e);
        }
    }

    /** Deletes the partial file. */
    public void discard() {
        closeQuietly();
        try {
            Files.deleteIfExists(partial);
            Files.deleteIfExists(upTo);
        } catch (IOException ignored) {
            // gc removes leftovers
        }
        done = true;
    }

    /** Releases the blob lock. An uncommitted partial file stays for a later resume (cut back to its hashed bytes). */
    @Override
    public void close() {
        try {
            if (ranged && !done && channel != null) {
                try {
                    endRanges();
                } catch (DavitException e) {
                    // the record of the hashed bytes stays: a resume starts there
                }
            }
            closeQuietly();
        } finally {
            lock.close();
        }
    }

    private void requireOpen() {
        if (channel == null || done) {
            throw new IllegalStateException("ingest of " + descriptor.digest() + " is not open");
        }
    }

    private void closeQuietly() {
        if (writeback != null) {
            writeback.finishQuietly();
        }
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing to do
            }
            channel = null;
        }
    }

    private static DavitException storeError(String what, IOException e) {
        return new DavitException(DavitException.Kind.STORE, what + ": " + e.getMessage()
                + "; check free space and permissions of the store", e);
    }
}
