package dev.davit.oci.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.digest.Digest;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Set;

/**
 * A Rekor signed entry timestamp (SET), as cosign attaches it to a signature layer
 * ({@value #ANNOTATION}): the transparency log's promise, signed with its key, that it logged this signature of this
 * payload by this key or certificate at {@code integratedTime}. Read as strictly as containers/image reads it: the
 * bundle and its payload have exactly their fields; the SET is an ECDSA signature over the payload's canonical JSON
 * (RFC 8785); the logged entry is a {@code hashedrekord} 0.0.1 whose signature, public key (or certificate) and
 * SHA-256 of the payload are the ones at hand.
 */
final class RekorSet {
    /** The signature layer's annotation that holds the bundle. */
    static final String ANNOTATION = "dev.sigstore.cosign/bundle";
    /** The most bytes of a bundle read. */
    static final int MAX_BYTES = 256 << 10;
    /** JSON numbers above this are not exact in RFC 8785's (ECMAScript's) number form. */
    private static final long MAX_SAFE_INTEGER = (1L << 53) - 1;

    private RekorSet() {
    }

    /**
     * Verifies {@code bundle} against the log's key and the signature it vouches for.
     *
     * @param rekorKey       the log's public key (ECDSA)
     * @param bundle         the {@value #ANNOTATION} annotation's value
     * @param keyOrCertPem   the PEM public key or certificate the signature is by
     * @param signatureB64   the signature (base64), as in the layer's signature annotation
     * @param payload        the signed payload
     * @return when the log says it logged the entry
     * @throws SigstoreSignature.Invalid when anything does not verify or match
     */
    static Instant verify(PublicKey rekorKey, String bundle, byte[] keyOrCertPem, String signatureB64, byte[] payload)
            throws SigstoreSignature.Invalid {
        if (bundle.length() > MAX_BYTES) {
            throw new SigstoreSignature.Invalid("its Rekor bundle is over " + (MAX_BYTES >> 10) + " KiB");
        }
        JsonNode set = SigstoreSignature.object(bundle.getBytes(StandardCharsets.UTF_8), "Rekor bundle");
        Set<String> bundleFields = Set.of("SignedEntryTimestamp", "Payload");
        SigstoreSignature.fields(set, bundleFields, bundleFields, "Rekor bundle");
        byte[] timestamp = base64(set.get("SignedEntryTimestamp"), "Rekor bundle's SignedEntryTimestamp");
        JsonNode p = set.get("Payload");
        Set<String> payloadFields = Set.of("body", "integratedTime", "logIndex", "logID");
        SigstoreSignature.fields(p, payloadFields, payloadFields, "Rekor bundle's Payload");
        long integrated = integer(p.get("integratedTime"), "integratedTime");
        long index = integer(p.get("logIndex"), "logIndex");
        if (!p.get("body").isTextual() || !p.get("logID").isTextual()) {
            throw new SigstoreSignature.Invalid("its Rekor bundle's body and logID are not strings");
        }
        // RFC 8785: members sorted by name, no white space, integers as plain digits, strings minimally escaped
        String canonical = "{\"body\":" + jcs(p.get("body").asText()) + ",\"integratedTime\":" + integrated
                + ",\"logID\":" + jcs(p.get("logID").asText()) + ",\"logIndex\":" + index + "}";
        if (!"EC".equals(rekorKey.getAlgorithm())) {
            throw new SigstoreSignature.Invalid("the policy's Rekor public key is not an ECDSA key");
        }
        try {
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initVerify(rekorKey);
            s.update(canonical.getBytes(StandardCharsets.UTF_8));
            if (!s.verify(timestamp)) {
                throw new SigstoreSignature.Invalid("its Rekor SET is not signed by the policy's Rekor key");
            }
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new SigstoreSignature.Invalid("its Rekor SET is not signed by the policy's Rekor key");
        }

        // what the log logged: the signature, by this key or certificate, of this payload
        JsonNode body = SigstoreSignature.object(base64(p.get("body"), "Rekor entry body"), "Rekor entry");
        if (!"hashedrekord".equals(body.path("kind").asText(null))) {
            throw new SigstoreSignature.Invalid("its Rekor entry is not a hashedrekord");
        }
        if (!"0.0.1".equals(body.path("apiVersion").asText(null))) {
            throw new SigstoreSignature.Invalid("its Rekor entry is not a hashedrekord of version 0.0.1");
        }
        JsonNode spec = body.path("spec");
        byte[] logged = base64(spec.path("signature").path("content"), "Rekor entry's signature");
        byte[] given;
        try {
            given = Base64.getDecoder().decode(signatureB64 == null ? "" : signatureB64);
        } catch (IllegalArgumentException e) {
            throw new SigstoreSignature.Invalid("its signature is not base64");
        }
        if (!MessageDigest.isEqual(logged, given)) {
            throw new SigstoreSignature.Invalid("its Rekor entry logs another signature");
        }
        byte[] loggedKey = pemBody(base64(spec.path("signature").path("publicKey").path("content"),
                "Rekor entry's public key"), "the Rekor entry's public key");
        if (!MessageDigest.isEqual(loggedKey, pemBody(keyOrCertPem, "the signer's key or certificate"))) {
            throw new SigstoreSignature.Invalid("its Rekor entry logs another key or certificate");
        }
        JsonNode hash = spec.path("data").path("hash");
        if (!"sha256".equals(hash.path("algorithm").asText(null))) {
            throw new SigstoreSignature.Invalid("its Rekor entry's data hash is not sha256");
        }
        String hex = hash.path("value").asText("");
        if (!hex.equals(Digest.sha256(payload).hex())) {
            throw new SigstoreSignature.Invalid("its Rekor entry logs another payload");
        }
        return Instant.ofEpochSecond(integrated);
    }

    /**
     * The DER bytes of the one PEM block of {@code pem}, which has nothing else (but white space) after it; its
     * type is not compared, as containers/image does not.
     */
    static byte[] pemBody(byte[] pem, String what) throws SigstoreSignature.Invalid {
        String s = new String(pem, StandardCharsets.US_ASCII);
        int begin = s.indexOf("-----BEGIN ");
        int beginEnd = begin < 0 ? -1 : s.indexOf("-----", begin + 11);
        int end = beginEnd < 0 ? -1 : s.indexOf("-----END ", beginEnd + 5);
        int endEnd = end < 0 ? -1 : s.indexOf("-----", end + 9);
        if (endEnd < 0 || !s.substring(0, begin).isBlank() || !s.substring(endEnd + 5).isBlank()
                || !s.substring(begin + 11, beginEnd).equals(s.substring(end + 9, endEnd))) {
            throw new SigstoreSignature.Invalid(what + " is not one PEM block");
        }
        try {
            return Base64.getMimeDecoder().decode(s.substring(beginEnd + 5, end).strip());
        } catch (IllegalArgumentException e) {
            throw new SigstoreSignature.Invalid(what + " is not valid PEM");
        }
    }

    private static long integer(JsonNode n, String what) throws SigstoreSignature.Invalid {
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() > MAX_SAFE_INTEGER
                || n.asLong() < -MAX_SAFE_INTEGER) {
            throw new SigstoreSignature.Invalid("its Rekor bundle's " + what + " is not an integer");
        }
        return n.asLong();
    }

    private static byte[] base64(JsonNode n, String what) throws SigstoreSignature.Invalid {
        if (n == null || !n.isTextual()) {
            throw new SigstoreSignature.Invalid("its " + what + " is missing or not a string");
        }
        try {
            return Base64.getDecoder().decode(n.asText());
        } catch (IllegalArgumentException e) {
            throw new SigstoreSignature.Invalid("its " + what + " is not base64");
        }
    }

    /** A string as RFC 8785 writes it: {@code "}, {@code \} and control characters escaped, nothing else. */
    static String jcs(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append("\\u00").append(HexFormat.of().toHexDigits((byte) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
