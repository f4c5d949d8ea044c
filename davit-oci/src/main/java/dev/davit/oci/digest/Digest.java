package dev.davit.oci.digest;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A content digest {@code algorithm:hex}. Only the algorithms registered by the OCI image spec are accepted
 * ({@code sha256}, {@code sha512}); the hex part must be lower-case and of the algorithm's exact length.
 *
 * @param algorithm the hash algorithm
 * @param hex the hash in lower-case hex, {@link Algorithm#hexLength()} characters
 */
public record Digest(Algorithm algorithm, String hex) {

    /** Registered digest algorithms. */
    public enum Algorithm {
        /** SHA-256, 64 hex characters; what davit writes. */
        SHA256("sha256", "SHA-256", 64),
        /** SHA-512, 128 hex characters; accepted when read. */
        SHA512("sha512", "SHA-512", 128);

        private final String id;
        private final String jcaName;
        private final int hexLength;

        Algorithm(String id, String jcaName, int hexLength) {
            this.id = id;
            this.jcaName = jcaName;
            this.hexLength = hexLength;
        }

        /** {@return the name used in digests and in {@code blobs/<alg>/}} E.g. {@code sha256}. */
        public String id() {
            return id;
        }

        /** {@return how many hex characters a digest of this algorithm has: 64 or 128} */
        public int hexLength() {
            return hexLength;
        }

        /**
         * A fresh hasher: for SHA-256 the platform's libcrypto where it can be used (Java 22+ with native access;
         * the system property {@code davit.hash} can ask for {@code jdk} or require {@code openssl}), else the JDK's.
         *
         * @return a new, unshared hasher
         */
        public MessageDigest newMessageDigest() {
            return newMessageDigest(-1);
        }

        /**
         * A fresh hasher for about {@code expectedBytes} of content (negative: not known). By default, content
         * known to be small is hashed by the JDK, larger or unknown content by libcrypto where it can be used.
         *
         * @param expectedBytes roughly how many bytes will be hashed, or negative when not known; only picks the
         *     implementation, any amount may be hashed
         * @return a new, unshared hasher
         */
        public MessageDigest newMessageDigest(long expectedBytes) {
            if (this == SHA256) {
                MessageDigest nativeMd = NativeHashes.sha256(expectedBytes);
                if (nativeMd != null) {
                    return nativeMd;
                }
            }
            try {
                return MessageDigest.getInstance(jcaName);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("JDK lacks " + jcaName, e);
            }
        }

        /**
         * Looks an algorithm up by its digest name.
         *
         * @param id the name as in a digest, e.g. {@code sha256}; case-sensitive
         * @return the algorithm, or null when {@code id} is not a registered one
         */
        public static Algorithm of(String id) {
            for (Algorithm a : values()) {
                if (a.id.equals(id)) {
                    return a;
                }
            }
            return null;
        }
    }

    /**
     * Checks the components; {@link #parse(String)} is the usual way to make a digest from text.
     *
     * @param algorithm the hash algorithm, not null
     * @param hex the hash, exactly {@code algorithm.hexLength()} lower-case hex characters
     * @throws IllegalArgumentException if either is null
     * @throws DavitException of kind USAGE if {@code hex} has the wrong length or characters
     */
    public Digest {
        if (algorithm == null || hex == null) {
            throw new IllegalArgumentException("digest algorithm and hex are required");
        }
        if (!isLowerHex(hex, algorithm.hexLength)) {
            throw invalid(algorithm.id + ":" + hex, "the " + algorithm.id + " part must be "
                    + algorithm.hexLength + " lower-case hex characters");
        }
    }

    /**
     * Parses {@code sha256:<64 hex>} or {@code sha512:<128 hex>}.
     *
     * @param text the digest as text; null or empty is rejected
     * @return the digest
     * @throws DavitException of kind USAGE when the text is not a valid digest
     */
    public static Digest parse(String text) {
        if (text == null || text.isEmpty()) {
            throw invalid("", "a digest looks like sha256:<64 hex characters>");
        }
        int colon = text.indexOf(':');
        if (colon <= 0) {
            throw invalid(text, "a digest looks like sha256:<64 hex characters>");
        }
        String algId = text.substring(0, colon);
        Algorithm alg = Algorithm.of(algId);
        if (alg == null) {
            String shown = algId.length() > 32 ? algId.substring(0, 32) + "..." : algId;
            throw invalid(text, "unsupported algorithm '" + Text.printable(shown) + "'; use sha256 or sha512");
        }
        String hex = text.substring(colon + 1);
        if (!isLowerHex(hex, alg.hexLength)) {
            throw invalid(text, "the " + alg.id + " part must be " + alg.hexLength + " lower-case hex characters");
        }
        return new Digest(alg, hex);
    }

    /**
     * {@return true when {@code text} is a valid digest} Never throws.
     *
     * @param text the text to check; null gives false
     */
    public static boolean isValid(String text) {
        try {
            parse(text);
            return true;
        } catch (DavitException e) {
            return false;
        }
    }

    /**
     * {@return the digest of {@code data}}
     *
     * @param algorithm the hash algorithm
     * @param data the whole content to hash
     */
    public static Digest of(Algorithm algorithm, byte[] data) {
        return fromBytes(algorithm, algorithm.newMessageDigest(data.length).digest(data));
    }

    /**
     * {@return the sha256 digest of {@code data}}
     *
     * @param data the whole content to hash
     */
    public static Digest sha256(byte[] data) {
        return of(Algorithm.SHA256, data);
    }

    /**
     * {@return the digest of a finished {@link MessageDigest} result}
     *
     * @param algorithm the algorithm that produced {@code raw}
     * @param raw the hash bytes, as {@link MessageDigest#digest()} returns them
     * @throws DavitException of kind USAGE if {@code raw} is not the algorithm's length
     */
    public static Digest fromBytes(Algorithm algorithm, byte[] raw) {
        return new Digest(algorithm, HexFormat.of().formatHex(raw));
    }

    /** {@return a fresh hasher for this digest's algorithm} Used to check content against this digest. */
    public MessageDigest newMessageDigest() {
        return algorithm.newMessageDigest();
    }

    /**
     * {@return a fresh hasher for this digest's algorithm, for about {@code expectedBytes} of content}
     *
     * @param expectedBytes roughly how many bytes will be hashed, or negative when not known
     * @see Algorithm#newMessageDigest(long)
     */
    public MessageDigest newMessageDigest(long expectedBytes) {
        return algorithm.newMessageDigest(expectedBytes);
    }

    /** {@return the first 12 hex characters, for human output} */
    public String shortHex() {
        return hex.substring(0, 12);
    }

    /** {@return the digest as text, {@code algorithm:hex}} The form {@link #parse(String)} reads. */
    @Override
    public String toString() {
        return algorithm.id + ":" + hex;
    }

    // equals and hashCode written out (the same as a record's): the generated ones are linked on first use through
    // an invokedynamic bootstrap that spins classes at run time, ~7 ms of a fresh JVM's pull
    @Override
    public boolean equals(Object o) {
        return o instanceof Digest d && algorithm == d.algorithm && hex.equals(d.hex);
    }

    @Override
    public int hashCode() {
        return 31 * algorithm.hashCode() + hex.hashCode();
    }

    private static boolean isLowerHex(String s, int len) {
        if (s.length() != len) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    private static DavitException invalid(String text, String why) {
        String shown = text.length() > 80 ? text.substring(0, 80) + "..." : text;
        return new DavitException(DavitException.Kind.USAGE,
                "invalid digest '" + Text.printable(shown) + "': " + why);
    }
}
