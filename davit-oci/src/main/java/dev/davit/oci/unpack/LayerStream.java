package dev.davit.oci.unpack;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.digest.Digest;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/**
 * The uncompressed bytes of one layer on their way to the tar reader: hashed (the layer's diff_id is the digest of
 * exactly these bytes) and counted against the unpack's byte budget. Skipped bytes are read and hashed too.
 *
 * <p>While {@link #headers(boolean) headers(true)}, at most {@link #MAX_HEADER_BYTES} may be read: tar headers,
 * PAX records and GNU long names are held in memory by the tar reader, so a huge one must fail early instead of
 * filling the heap.
 */
final class LayerStream extends FilterInputStream {
    /** The most bytes the headers of one entry (ustar, PAX, GNU long name, padding) may take. */
    static final int MAX_HEADER_BYTES = 1 << 20;

    private final MessageDigest md;
    private final Digest.Algorithm algorithm;
    private final long budget;
    private final String what;
    private final Wording wording;
    private long count;
    private long headerEnd = -1;
    private boolean eof;

    /**
     * @param budget how many bytes may be read in all
     * @param what   the layer, for messages (e.g. {@code layer 2/3 (sha256:0123456789ab)})
     */
    LayerStream(InputStream in, Digest.Algorithm algorithm, long budget, String what) {
        this(in, algorithm, budget, what, Wording.IMAGE);
    }

    LayerStream(InputStream in, Digest.Algorithm algorithm, long budget, String what, Wording wording) {
        super(in);
        this.algorithm = algorithm;
        this.md = algorithm.newMessageDigest();
        this.budget = budget;
        this.what = what;
        this.wording = wording;
    }

    /** Starts ({@code true}) or ends the reading of one entry's headers. */
    void headers(boolean on) {
        headerEnd = on ? count + MAX_HEADER_BYTES : -1;
    }

    /** Whether the end of the stream was reached. */
    boolean eof() {
        return eof;
    }

    /** Bytes read so far. */
    long count() {
        return count;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n < 0) {
            eof = true;
        } else if (n > 0) {
            md.update(b, off, n);
            count += n;
            if (count > budget) {
                throw new DavitException(Kind.VERIFICATION, Message.of(what + " holds more uncompressed data than the"
                        + " unpack limit allows (" + budget + " bytes left)", wording.raiseBytes()));
            }
            if (headerEnd >= 0 && count > headerEnd) {
                throw new DavitException(Kind.VERIFICATION, what + " has a tar header over " + MAX_HEADER_BYTES
                        + " bytes (PAX records or long name)" + wording.malformed());
            }
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buf = new byte[8192];
        long left = n;
        while (left > 0) {
            int r = read(buf, 0, (int) Math.min(buf.length, left));
            if (r < 0) {
                break;
            }
            left -= r;
        }
        return n - left;
    }

    /** Reads (and hashes) whatever follows the end of the tar archive. */
    void drain() throws IOException {
        byte[] buf = new byte[1 << 16];
        while (read(buf, 0, buf.length) >= 0) {
            // hashed and counted by read
        }
    }

    /** The digest of everything read so far. */
    Digest digest() {
        return Digest.fromBytes(algorithm, md.digest());
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    @Override
    public synchronized void mark(int readlimit) {
        // not supported: every byte must be hashed once
    }

    @Override
    public synchronized void reset() throws IOException {
        throw new IOException("mark/reset not supported");
    }
}
