package dev.davit.oci.digest;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/**
 * The digest and byte count of a whole stream.
 *
 * @param digest what the stream hashes to
 * @param size   how many bytes it had
 */
public record Hashed(Digest digest, long size) {

    /**
     * Reads {@code in} to its end with the caller's buffer and hashes it with {@code algorithm}.
     *
     * @param in the stream to read; read to its end but not closed
     * @param algorithm the hash algorithm
     * @param buffer scratch space for reading, of any non-zero length; its contents are overwritten
     * @return the digest and byte count of everything read
     * @throws IOException if reading fails
     */
    public static Hashed of(InputStream in, Digest.Algorithm algorithm, byte[] buffer) throws IOException {
        MessageDigest md = algorithm.newMessageDigest();
        long n = 0;
        int r;
        while ((r = in.read(buffer)) > 0) {
            md.update(buffer, 0, r);
            n += r;
        }
        return new Hashed(Digest.fromBytes(algorithm, md.digest()), n);
    }

    /**
     * {@return whether this is exactly {@code expectedSize} bytes hashing to {@code expected}}
     *
     * @param expected the digest the content should have
     * @param expectedSize the byte count the content should have
     */
    public boolean matches(Digest expected, long expectedSize) {
        return size == expectedSize && digest.equals(expected);
    }
}
