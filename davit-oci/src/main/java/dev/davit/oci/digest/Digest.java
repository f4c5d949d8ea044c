package dev.davit.oci.digest;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A content digest {@code algorithm:hex}. Only the algorithms registered by the OCI image spec are accepted
 * ({@code sha256}, {@code sha512}); the hex part must be lower-case and of the algorithm's exact length.
 */
public record Digest(Algorithm algorithm, String hex) {

    /** Registered digest algorithms. */
    public enum Algorithm {
        SHA256("sha256", "SHA-256", 64),
        SHA512("sha512", "SHA-512", 128);

        private final String id;
        private final String jcaName;
        private final int hexLength;

        Algorithm(String id, String jcaName, int hexLength) {
            this.id = id;
            this.jcaName = jcaName;
            this.hexLength = hexLength;
        }

        /** The name used in digests and in {@code blobs/<alg>/}. */
        public String id() {
            return id;
        }

        public int hexLength() {
            return hexLength;
        }

        /**
         * A fresh hasher: for SHA-256 the platform's libcrypto where it can be used (Java 22+ with native access;
         * the system property {@code davit.hash} can ask for {@code jdk} or require {@code openssl}), else the JDK's.
         */
        public MessageDigest newMessageDigest() {
            return newMessageDigest(-1);
        }

        /**
         * A fresh hasher for about {@code expectedBytes} of content (negative: not known). By default, content
         * known to be small is hashed by the JDK, larger or unknown content by libcrypto where it can be used.
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

        public static Algorithm of(String id) {
            for (Algorithm a : values()) {
                if (a.id.equals(id)) {
                    return a;
                }
            }
            return null;
        }
    }

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

    /** Returns true when {@code text} is a valid digest. */
    public static boolean isValid(String text) {
        try {
            parse(text);
            return true;
        } catch (DavitException e) {
            return false;
        }
    }

    /** Computes the digest of {@code data}. */
    public static Digest of(Algorithm algorithm, byte[] data) {
        return fromBytes(algorithm, algorithm.newMessageDigest(data.length).digest(data));
    }

    /** Computes the sha256 digest of {@code data}. */
    public static Digest sha256(byte[] data) {
        return of(Algorithm.SHA256, data);
    }

    /** Builds a digest from a finished {@link MessageDigest} result. */
    public static Digest fromBytes(Algorithm algorithm, byte[] raw) {
        return new Digest(algorithm, HexFormat.of().formatHex(raw));
    }

    /** Returns a fresh hasher for this digest's algorithm. */
    public MessageDigest newMessageDigest() {
        return algorithm.newMessageDigest();
    }

    /** Returns a fresh hasher for this digest's algorithm, for about {@code expectedBytes} of content. */
    public MessageDigest newMessageDigest(long expectedBytes) {
        return algorithm.newMessageDigest(expectedBytes);
    }

    /** The first 12 hex characters, for human output. */
    public String shortHex() {
        return hex.substring(0, 12);
    }

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
