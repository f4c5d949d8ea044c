package dev.davit.oci.digest;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/**
 * Hashes what is read through it and, at end of stream, fails with an IOException unless exactly
 * {@code size} bytes hashing to {@code digest} went through. Reading past {@code size} fails at once.
 */
public final class VerifyingInputStream extends FilterInputStream {
    private final Digest expected;
    private final long size;
    private final MessageDigest md;
    private long count;
    private boolean checked;

    /**
     * Wraps {@code in}; closing this stream closes it.
     *
     * @param in the content to check
     * @param expected the digest the whole content must have
     * @param size the exact byte count the content must have
     */
    public VerifyingInputStream(InputStream in, Digest expected, long size) {
        super(in);
        this.expected = expected;
        this.size = size;
        this.md = expected.newMessageDigest(size);
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n < 0) {
            check();
            return -1;
        }
        count += n;
        if (count > size) {
            throw new IOException("content of " + expected + " is longer than " + size + " bytes");
        }
        md.update(b, off, n);
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        long done = 0;
        byte[] buf = new byte[8192];
        while (done < n) {
            int r = read(buf, 0, (int) Math.min(buf.length, n - done));
            if (r < 0) {
                break;
            }
            done += r;
        }
        return done;
    }

    private void check() throws IOException {
        if (checked) {
            return;
        }
        checked = true;
        Digest actual = Digest.fromBytes(expected.algorithm(), md.digest());
        if (count != size || !actual.equals(expected)) {
            throw new IOException("content of " + expected + " failed verification (" + count + " bytes hashing to "
                    + actual + ")");
        }
    }

    @Override
    public boolean markSupported() {
        return false;
    }
}
