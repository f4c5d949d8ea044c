package dev.davit.oci.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.reference.Reference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Base64;
import java.util.Iterator;
import java.util.Set;

/**
 * A sigstore (cosign) "simple signing" signature of an image, as cosign and containers/image (skopeo, podman) write
 * and read it: a JSON payload claiming an identity (a {@code docker-reference}) for a manifest digest, signed with a
 * private key (ECDSA P-256 with SHA-256, DER; RSA PKCS#1 v1.5 with SHA-256; Ed25519), the signature kept base64 in
 * the annotation {@value #SIGNATURE_ANNOTATION} of the payload's layer (media type {@value #MEDIA_TYPE}) in a
 * manifest tagged {@code sha256-<hex>.sig} beside the image. The payload is read strictly, as containers/image
 * reads it: its {@code critical} part has exactly {@code type}, {@code image} and {@code identity}, and the type is
 * {@value #PAYLOAD_TYPE}. Only the cryptography is the JDK's.
 */
public final class SigstoreSignature {
    /** The media type of a signature's payload layer. */
    public static final String MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
    /** The annotation of the payload's layer that holds the signature. */
    public static final String SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
    /** The {@code critical.type} of a payload. */
    public static final String PAYLOAD_TYPE = "cosign container image signature";
    /** The most bytes a payload may have. */
    public static final int MAX_PAYLOAD_BYTES = 64 << 10;
    /** Strict as containers/image: a key given twice in a payload is an error, never "the last one wins". */
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private SigstoreSignature() {
    }

    /**
     * What a verified payload claims.
     *
     * @param dockerReference the identity it signs
     * @param manifestDigest  the manifest digest it signs
     */
    public record Claims(String dockerReference, Digest manifestDigest) {
    }

    /**
     * The tag cosign's signatures of {@code manifest} are kept under: {@code sha256-<hex>.sig}.
     *
     * @param manifest the signed manifest's digest
     * @return the tag
     */
    public static String tag(Digest manifest) {
        return manifest.algorithm().id() + "-" + manifest.hex() + ".sig";
    }

    /**
     * Whether {@code m} is a cosign signature manifest and nothing else: at least one and at most
     * {@value Trust#MAX_SIGNATURES} layers, each a payload of {@value #MEDIA_TYPE} of at most
     * {@value #MAX_PAYLOAD_BYTES} bytes, and a config no larger. A tag's name alone never makes a manifest one.
     *
     * @param m the manifest
     * @return true when it is one
     */
    public static boolean isSignatureManifest(dev.davit.oci.manifest.Manifest m) {
        return m instanceof dev.davit.oci.manifest.ImageManifest im && !im.layers().isEmpty()
                && im.layers().size() <= Trust.MAX_SIGNATURES && im.config().size() <= MAX_PAYLOAD_BYTES
                && im.layers().stream().allMatch(l -> MEDIA_TYPE.equals(l.mediaType())
                && l.size() <= MAX_PAYLOAD_BYTES);
    }

    /**
     * The payload signing {@code manifest} as {@code dockerReference}.
     *
     * @param dockerReference the identity, e.g. {@code registry.example.com/app:1}
     * @param manifest        the manifest's digest
     * @return the payload's bytes
     */
    public static byte[] payload(String dockerReference, Digest manifest) {
        ObjectNode doc = JSON.createObjectNode();
        ObjectNode critical = doc.putObject("critical");
        critical.putObject("identity").put("docker-reference", dockerReference);
        critical.putObject("image").put("docker-manifest-digest", manifest.toString());
        critical.put("type", PAYLOAD_TYPE);
        doc.putNull("optional");
        return doc.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Signs {@code payload} with {@code key}.
     *
     * @param key     the private key (EC, RSA or Ed25519)
     * @param payload the payload
     * @return the signature, base64
     */
    public static String sign(PrivateKey key, byte[] payload) {
        try {
            Signature s = Signature.getInstance(algorithm(key.getAlgorithm()));
            s.initSign(key);
            s.update(payload);
            return Base64.getEncoder().encodeToString(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot sign with a " + key.getAlgorithm() + " key", e);
        }
    }

    /**
     * Verifies {@code signature} over {@code payload} with {@code key} and reads what the payload claims.
     *
     * @param payload   the payload's bytes
     * @param signature the signature, base64
     * @param key       the public key
     * @return the claims, when the signature is the key's and the payload is well-formed
     * @throws Invalid why it is not
     */
    public static Claims verify(byte[] payload, String signature, PublicKey key) throws Invalid {
        if (payload.length > MAX_PAYLOAD_BYTES) {
            throw new Invalid("its payload is over " + (MAX_PAYLOAD_BYTES >> 10) + " KiB");
        }
        byte[] sig;
        try {
            sig = Base64.getDecoder().decode(signature == null ? "" : signature.strip());
        } catch (IllegalArgumentException e) {
            throw new Invalid("its signature is not base64");
        }
        try {
            Signature s = Signature.getInstance(algorithm(key.getAlgorithm()));
            s.initVerify(key);
            s.update(payload);
            if (!s.verify(sig)) {
                throw new Invalid("it is not signed by the key");
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new Invalid("it is not signed by the key");
        }
        return claims(payload, PAYLOAD_TYPE);
    }

    /**
     * What a payload of type {@code type} claims, read strictly as containers/image reads it: an object with
     * {@code critical} (exactly {@code type}, {@code image} and {@code identity}) and optionally {@code optional}.
     */
    static Claims claims(byte[] payload, String type) throws Invalid {
        if (payload.length > MAX_PAYLOAD_BYTES) {
            throw new Invalid("its payload is over " + (MAX_PAYLOAD_BYTES >> 10) + " KiB");
        }
        JsonNode doc = object(payload, "payload");
        fields(doc, Set.of("critical", "optional"), Set.of("critical"), "the payload");
        JsonNode critical = doc.get("critical");
        fields(critical, Set.of("type", "image", "identity"), Set.of("type", "image", "identity"), "critical");
        if (!type.equals(critical.get("type").asText(null))) {
            throw new Invalid("its payload's type is not \"" + type + "\"");
        }
        fields(critical.get("image"), Set.of("docker-manifest-digest"), Set.of("docker-manifest-digest"),
                "critical.image");
        fields(critical.get("identity"), Set.of("docker-reference"), Set.of("docker-reference"), "critical.identity");
        JsonNode d = critical.get("image").get("docker-manifest-digest");
        JsonNode r = critical.get("identity").get("docker-reference");
        if (!d.isTextual() || !r.isTextual() || !Digest.isValid(d.asText())) {
            throw new Invalid("its payload's digest or reference is not valid");
        }
        return new Claims(r.asText(), Digest.parse(d.asText()));
    }

    /**
     * Why verified {@code claims} do not stand for the image {@code image} of manifest {@code manifest} under
     * {@code identity}, or null when they do.
     *
     * @param claims   what the signature claims
     * @param manifest the image's manifest digest
     * @param image    the image's reference
     * @param identity the rule
     * @return the reason, or null
     */
    public static String mismatch(Claims claims, Digest manifest, Reference image,
                                  SignaturePolicy.SignedIdentity identity) {
        if (!claims.manifestDigest().equals(manifest)) {
            return "it signs another manifest (" + claims.manifestDigest().shortHex() + ")";
        }
        if (!identity.matches(image, claims.dockerReference())) {
            return "it signs the identity " + claims.dockerReference() + ", which " + identity.type()
                    + " does not match with " + image;
        }
        return null;
    }

    /** Why a signature does not verify. */
    public static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        /**
         * A reason.
         *
         * @param why the words
         */
        public Invalid(String why) {
            super(why, null, false, false);
        }
    }

    /**
     * {@code bytes} read strictly (a key given twice, or anything after the value, is an error) as a JSON object.
     *
     * @param bytes the JSON
     * @param what  what it is, for the reason: "its WHAT is not JSON"
     * @return the object
     * @throws Invalid when it is not JSON or not an object
     */
    static JsonNode object(byte[] bytes, String what) throws Invalid {
        JsonNode doc;
        try {
            doc = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new Invalid("its " + what + " is not JSON");
        }
        if (doc == null || !doc.isObject()) {
            throw new Invalid("its " + what + " is not a JSON object");
        }
        return doc;
    }

    /** That {@code o} is an object with only fields {@code allowed}, among them every one of {@code required}. */
    static void fields(JsonNode o, Set<String> allowed, Set<String> required, String where) throws Invalid {
        if (o == null || !o.isObject()) {
            throw new Invalid("its " + where + " is not an object");
        }
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new Invalid("its " + where + " has the unknown field \"" + f + "\"");
            }
        }
        for (String f : required) {
            if (!o.has(f)) {
                throw new Invalid("its " + where + " has no \"" + f + "\"");
            }
        }
    }

    private static String algorithm(String keyAlgorithm) {
        return switch (keyAlgorithm) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> throw new IllegalArgumentException("unsupported key " + keyAlgorithm);
        };
    }
}
