package dev.davit.oci.policy;

import dev.davit.oci.digest.Digest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.bouncycastle.bcpg.BCPGOutputStream;
import org.bouncycastle.bcpg.CompressionAlgorithmTags;
import org.bouncycastle.openpgp.PGPCompressedData;
import org.bouncycastle.openpgp.PGPCompressedDataGenerator;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPLiteralDataGenerator;
import org.bouncycastle.openpgp.PGPOnePassSignature;
import org.bouncycastle.openpgp.PGPOnePassSignatureList;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPSecretKey;
import org.bouncycastle.openpgp.PGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureGenerator;
import org.bouncycastle.openpgp.PGPSignatureList;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.bc.BcPGPObjectFactory;
import org.bouncycastle.openpgp.operator.bc.BcKeyFingerprintCalculator;
import org.bouncycastle.openpgp.operator.bc.BcPBESecretKeyDecryptorBuilder;
import org.bouncycastle.openpgp.operator.bc.BcPGPContentSignerBuilder;
import org.bouncycastle.openpgp.operator.bc.BcPGPContentVerifierBuilderProvider;
import org.bouncycastle.openpgp.operator.bc.BcPGPDigestCalculatorProvider;

/**
 * GPG "simple signing" signatures, as containers/image (skopeo {@code --sign-by}, podman) writes and reads them: an
 * OpenPGP message (compressed or not) of one one-pass signature, the payload as literal data (a JSON document of
 * type {@value #PAYLOAD_TYPE} claiming an identity for a manifest digest: read strictly, as sigstore's payloads are)
 * and the signature. Kept in a lookaside store beside the registry ({@code <base>/<repository>@sha256=<hex>/signature-N}).
 * Bouncy Castle's OpenPGP does the cryptography; davit checks the message's shape and what it claims.
 */
public final class SimpleSigning {
    /** The {@code critical.type} of a simple signing payload. */
    public static final String PAYLOAD_TYPE = "atomic container signature";
    /** The most bytes a signature message may have. */
    public static final int MAX_BYTES = 256 << 10;

    private SimpleSigning() {
    }

    /**
     * A verified signature: what it claims and the fingerprint of the key that made it.
     *
     * @param claims      the payload's claims
     * @param fingerprint the signing key's fingerprint, upper-case hex
     */
    public record Verified(SigstoreSignature.Claims claims, String fingerprint) {
    }

    /** The format name of a simple signing signature written with containers/image's format prefix. */
    static final String FORMAT = "simple-signing";

    /**
     * Why the bytes of a lookaside store's {@code signature-N} cannot be a signature, or null when they can:
     * containers/image's test ({@code signature.FromBlob}), which refuses the whole store (the image) for one that is
     * not, while one that is and does not verify fails only itself. A signature starts with an OpenPGP packet
     * (compressed data, a one-pass signature or a signature: the first bytes containers/image recognises), or with a
     * zero byte, a format name of printable ASCII and a newline ({@value #FORMAT}, or {@code sigstore-json}).
     *
     * @param blob the bytes
     * @return why not, or null
     */
    static String notASignature(byte[] blob) {
        if (blob.length == 0) {
            return "it is empty";
        }
        int first = blob[0] & 0xff;
        switch (first) {
            case 0xA0, 0xA1, 0xA2, 0xA3, 0xC8, 0x90, 0x91, 0x92, 0x3D, 0x88, 0x89, 0x8A, 0x8B, 0xC2 -> {
                return null;
            }
            case 0x00 -> {
                String name = formatName(blob);
                if (name == null) {
                    return "it starts with a zero byte but names no format (printable ASCII, then a newline)";
                }
                return name.equals(FORMAT) || name.equals("sigstore-json") ? null : "its format \"" + name
                        + "\" is unknown";
            }
            default -> {
                return String.format(Locale.ROOT, "its format is unknown: it starts with the byte 0x%02x, not an"
                        + " OpenPGP packet", first);
            }
        }
    }

    /** The format name after a leading zero byte (up to the newline), or null when there is none. */
    private static String formatName(byte[] blob) {
        for (int i = 1; i < blob.length; i++) {
            if (blob[i] == '\n') {
                return new String(blob, 1, i - 1, StandardCharsets.US_ASCII);
            }
            if (blob[i] < 32 || blob[i] >= 0x7F) {
                return null;
            }
        }
        return null;
    }

    /**
     * Checks that {@code keyring} holds a GPG public key, as a policy's {@code signedBy} key must: a file that holds
     * none (a secret keyring, a PEM key, text) is the policy's mistake, never a signature's.
     *
     * @param keyring the keyring's bytes
     * @param source  what to call it, e.g. {@code the key file /k.gpg the signature policy names}
     * @throws dev.davit.oci.DavitException USAGE when it holds no public key
     */
    static void requirePublicKeys(byte[] keyring, String source) {
        String why;
        try {
            if (new PGPPublicKeyRingCollection(PGPUtil.getDecoderStream(new ByteArrayInputStream(keyring)),
                    new BcKeyFingerprintCalculator()).size() > 0) {
                return;
            }
            why = "";
        } catch (IOException | PGPException | RuntimeException e) {
            why = " (" + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().replace('\n', ' '))
                    + ")";
        }
        throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, source + " holds no GPG"
                + " public key" + why + "; give a keyring as gpg --export writes it");
    }

    /**
     * Verifies a simple signing message against the public keys of {@code keyrings} (each a keyring as
     * {@code gpg --export} writes it, binary or armored).
     *
     * @param message  the signature message
     * @param keyrings the keyrings whose keys are trusted
     * @return what it claims and who signed it
     * @throws SigstoreSignature.Invalid why it does not verify
     */
    public static Verified verify(byte[] message, List<byte[]> keyrings) throws SigstoreSignature.Invalid {
        if (message.length > MAX_BYTES) {
            throw new SigstoreSignature.Invalid("it is over " + (MAX_BYTES >> 10) + " KiB");
        }
        if (message.length > 0 && message[0] == 0) {
            // containers/image's format prefix: a zero byte, the format's name, a newline
            String name = formatName(message);
            if (!FORMAT.equals(name)) {
                throw new SigstoreSignature.Invalid("it is a " + (name == null ? "signature of no named format"
                        : "\"" + name + "\" signature") + ", not a GPG simple signing one");
            }
            message = java.util.Arrays.copyOfRange(message, FORMAT.length() + 2, message.length);
        }
        try {
            BcPGPObjectFactory f = new BcPGPObjectFactory(PGPUtil.getDecoderStream(new ByteArrayInputStream(message)));
            Object o = f.nextObject();
            if (o instanceof PGPCompressedData c) {
                f = new BcPGPObjectFactory(c.getDataStream());
                o = f.nextObject();
            }
            if (!(o instanceof PGPOnePassSignatureList ops) || ops.size() != 1) {
                throw new SigstoreSignature.Invalid("it is not a signed OpenPGP message of one signature");
            }
            PGPOnePassSignature one = ops.get(0);
            PGPPublicKey key = null;
            PGPPublicKey primary = null;
            for (byte[] ring : keyrings) {
                PGPPublicKeyRingCollection c = new PGPPublicKeyRingCollection(PGPUtil.getDecoderStream(
                        new ByteArrayInputStream(ring)), new BcKeyFingerprintCalculator());
                key = c.getPublicKey(one.getKeyID());
                if (key != null) {
                    primary = c.getPublicKeyRing(one.getKeyID()).getPublicKey();
                    break;
                }
            }
            if (key == null) {
                throw new SigstoreSignature.Invalid("it is signed by the key " + String.format(Locale.ROOT, "%016X",
                        one.getKeyID()) + ", which the policy does not trust");
            }
            // the key and its primary key: neither revoked nor expired now (as gpg judges a key, not by the
            // time the signer wrote into the signature)
            for (PGPPublicKey k : new PGPPublicKey[] {key, primary}) {
                if (k.hasRevocation()) {
                    throw new SigstoreSignature.Invalid("its key " + fingerprint(k) + " is revoked");
                }
                long valid = k.getValidSeconds();
                if (valid > 0 && System.currentTimeMillis() > k.getCreationTime().getTime() + valid * 1000) {
                    throw new SigstoreSignature.Invalid("its key " + fingerprint(k) + " has expired");
                }
            }
            if (key.getKeyID() != primary.getKeyID() && !boundForSigning(primary, key)) {
                throw new SigstoreSignature.Invalid("its key " + fingerprint(key) + " is a subkey its primary key "
                        + fingerprint(primary) + " does not bind for signing");
            }
            one.init(new BcPGPContentVerifierBuilderProvider(), key);
            Object next = f.nextObject();
            if (!(next instanceof PGPLiteralData literal)) {
                throw new SigstoreSignature.Invalid("it holds no literal data");
            }
            byte[] payload;
            try (InputStream in = literal.getInputStream()) {
                payload = in.readNBytes(SigstoreSignature.MAX_PAYLOAD_BYTES + 1);
            }
            if (payload.length > SigstoreSignature.MAX_PAYLOAD_BYTES) {
                throw new SigstoreSignature.Invalid("its payload is over " + (SigstoreSignature.MAX_PAYLOAD_BYTES >> 10)
                        + " KiB");
            }
            one.update(payload);
            Object sigs = f.nextObject();
            if (!(sigs instanceof PGPSignatureList list) || list.size() != 1) {
                throw new SigstoreSignature.Invalid("it has no signature after its data");
            }
            PGPSignature sig = list.get(0);
            if (sig.getKeyID() != one.getKeyID() || !one.verify(sig)) {
                throw new SigstoreSignature.Invalid("it is not signed by the key");
            }
            if (f.nextObject() != null) {
                throw new SigstoreSignature.Invalid("it has data after its signature");
            }
            return new Verified(SigstoreSignature.claims(payload, PAYLOAD_TYPE), fingerprint(key));
        } catch (IOException | PGPException | RuntimeException e) {
            throw new SigstoreSignature.Invalid("it is not a valid OpenPGP signature (" + (e.getMessage() == null
                    ? e.getClass().getSimpleName() : e.getMessage().replace('\n', ' ')) + ")");
        }
    }

    /**
     * Whether {@code primary} binds {@code subkey} as a signing key, as gpg requires of a signing subkey: a subkey
     * binding signature by the primary key that verifies, whose key flags (when it has any) allow signing, and that
     * carries the subkey's own primary key binding signature (its "back signature"), which verifies too.
     */
    private static boolean boundForSigning(PGPPublicKey primary, PGPPublicKey subkey) {
        for (java.util.Iterator<PGPSignature> it = subkey.getSignaturesOfType(PGPSignature.SUBKEY_BINDING);
             it.hasNext(); ) {
            PGPSignature binding = it.next();
            try {
                if (binding.getKeyID() != primary.getKeyID()) {
                    continue;
                }
                binding.init(new BcPGPContentVerifierBuilderProvider(), primary);
                if (!binding.verifyCertification(primary, subkey)) {
                    continue;
                }
                var hashed = binding.getHashedSubPackets();
                if (hashed == null || hashed.getKeyFlags() != 0
                        && (hashed.getKeyFlags() & org.bouncycastle.bcpg.sig.KeyFlags.SIGN_DATA) == 0) {
                    continue;
                }
                // the back signature: among the hashed subpackets, or (as gpg may put it) the unhashed ones
                for (var packets : new org.bouncycastle.openpgp.PGPSignatureSubpacketVector[] {hashed,
                    binding.getUnhashedSubPackets()}) {
                    for (PGPSignature back : packets == null ? List.<PGPSignature>of() : packets
                            .getEmbeddedSignatures()) {
                        if (back.getSignatureType() == PGPSignature.PRIMARYKEY_BINDING
                                && back.getKeyID() == subkey.getKeyID()) {
                            back.init(new BcPGPContentVerifierBuilderProvider(), subkey);
                            if (back.verifyCertification(primary, subkey)) {
                                return true;
                            }
                        }
                    }
                }
            } catch (PGPException | RuntimeException e) {
                // this binding does not verify: the next one
            }
        }
        return false;
    }

    /**
     * Signs {@code dockerReference} for {@code manifest} with the secret key {@code fingerprint} of
     * {@code secretKeyring} (as {@code gpg --export-secret-keys} writes it, binary or armored).
     *
     * @param secretKeyring   the secret keyring
     * @param fingerprint     the signing key's fingerprint (or its last 16 hex digits), or null for the first
     *                        signing key
     * @param passphrase      its passphrase (empty when it has none)
     * @param dockerReference the identity signed
     * @param manifest        the manifest's digest
     * @return the signature message (binary, compressed as gpg writes it)
     * @throws SigstoreSignature.Invalid when the key is not there, cannot sign or the passphrase does not open it
     */
    public static byte[] sign(byte[] secretKeyring, String fingerprint, char[] passphrase, String dockerReference,
                              Digest manifest) throws SigstoreSignature.Invalid {
        try {
            PGPSecretKeyRingCollection rings = new PGPSecretKeyRingCollection(PGPUtil.getDecoderStream(
                    new ByteArrayInputStream(secretKeyring)), new BcKeyFingerprintCalculator());
            PGPSecretKey secret = null;
            String want = fingerprint == null ? null : fingerprint.toUpperCase(Locale.ROOT).replace(" ", "");
            for (var ring : (Iterable<org.bouncycastle.openpgp.PGPSecretKeyRing>) rings::getKeyRings) {
                for (var k : (Iterable<PGPSecretKey>) ring::getSecretKeys) {
                    String fp = fingerprint(k.getPublicKey());
                    if (k.isSigningKey() && !k.isPrivateKeyEmpty() && (want == null || fp.equals(want)
                            || fp.endsWith(want))) {
                        secret = k;
                        break;
                    }
                }
                if (secret != null) {
                    break;
                }
            }
            if (secret == null) {
                throw new SigstoreSignature.Invalid("the keyring has no signing key " + (want == null ? "" : want));
            }
            PGPPrivateKey priv = secret.extractPrivateKey(new BcPBESecretKeyDecryptorBuilder(
                    new BcPGPDigestCalculatorProvider()).build(passphrase));
            byte[] payload = payload(dockerReference, manifest);
            PGPSignatureGenerator gen = new PGPSignatureGenerator(new BcPGPContentSignerBuilder(
                    secret.getPublicKey().getAlgorithm(), PGPUtil.SHA256), secret.getPublicKey());
            gen.init(PGPSignature.BINARY_DOCUMENT, priv);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PGPCompressedDataGenerator comp = new PGPCompressedDataGenerator(CompressionAlgorithmTags.ZIP);
            try (OutputStream c = comp.open(out)) {
                BCPGOutputStream b = new BCPGOutputStream(c);
                gen.generateOnePassVersion(false).encode(b);
                PGPLiteralDataGenerator lit = new PGPLiteralDataGenerator();
                try (OutputStream l = lit.open(b, PGPLiteralData.BINARY, "", payload.length,
                        new java.util.Date(System.currentTimeMillis() / 1000 * 1000))) {
                    l.write(payload);
                }
                gen.update(payload);
                gen.generate().encode(b);
            }
            return out.toByteArray();
        } catch (IOException | PGPException e) {
            throw new SigstoreSignature.Invalid("the key cannot sign (" + (e.getMessage() == null
                    ? e.getClass().getSimpleName() : e.getMessage().replace('\n', ' ')) + ")");
        }
    }

    /**
     * The payload signing {@code manifest} as {@code dockerReference}, as containers/image writes it.
     *
     * @param dockerReference the identity
     * @param manifest        the manifest's digest
     * @return the payload's bytes
     */
    public static byte[] payload(String dockerReference, Digest manifest) {
        String json = new String(SigstoreSignature.payload(dockerReference, manifest), StandardCharsets.UTF_8)
                .replace(SigstoreSignature.PAYLOAD_TYPE, PAYLOAD_TYPE)
                .replace("\"optional\":null", "\"optional\":{\"creator\":\"davit\"}");
        return json.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code key}'s fingerprint, upper-case hex. */
    static String fingerprint(PGPPublicKey key) {
        return HexFormat.of().withUpperCase().formatHex(key.getFingerprint());
    }
}
