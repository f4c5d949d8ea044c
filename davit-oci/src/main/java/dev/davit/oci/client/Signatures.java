package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Args;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.policy.RegistriesD;
import dev.davit.oci.policy.SigstoreSignature;
import dev.davit.oci.policy.SimpleSigning;
import dev.davit.oci.policy.Trust;
import dev.davit.oci.reference.Reference;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The signatures a {@link DavitClient} writes: sigstore signatures attached beside an image, GPG signatures in a
 * {@code file://} lookaside store, and the GPG signatures a copy takes along. The client's public methods
 * ({@link SignatureClient#signSigstore}, {@link SignatureClient#signGpg}) delegate here.
 */
final class Signatures {
    private final DavitClient client;

    Signatures(DavitClient client) {
        this.client = client;
    }

    /**
     * Copies the GPG signatures of {@code signed} from {@code src}'s lookaside store to {@code dst}'s
     * ({@code lookaside-staging}, else {@code lookaside}; a {@code file://} one), as skopeo copies them; one the
     * destination has already is not written again.
     */
    void copyLookaside(Reference src, Reference dst, Digest signed) {
        RegistriesD rd = client.options().trust().registries();
        URI from = rd.forImage(src).lookaside();
        URI to = rd.forImage(dst).writeTo();
        if (from == null || to == null || !"file".equals(to.getScheme())) {
            return;
        }
        List<byte[]> there = Trust.lookaside(to, dst, signed);
        for (byte[] m : Trust.lookaside(from, src, signed)) {
            if (there.stream().noneMatch(t -> Arrays.equals(t, m))) {
                writeLookaside(to, dst, signed, m);
            }
        }
    }

    /**
     * Signs the image {@code reference} at its registry with the sigstore key {@code key}, as cosign and skopeo
     * ({@code --sign-by-sigstore-private-key}) do: a simple-signing payload claiming {@code reference} for its
     * manifest's digest, signed, added as a layer to the signature manifest tagged {@code sha256-<hex>.sig} beside
     * it (the signatures already there are kept) and pushed. The policy's {@code sigstoreSigned} with the matching
     * public key then admits the image where {@code registries.d} sets {@code use-sigstore-attachments}.
     *
     * @param reference the image, by tag (the identity signed)
     * @param key       the private key ({@link SigstoreKeys#decryptPrivate})
     * @param progress  receives progress events; null for none
     * @return what was signed and where the signature is
     * @throws DavitException USAGE for a malformed reference, NOT_FOUND, AUTH or NETWORK as the registry answers
     */
    SignatureClient.SignResult signSigstore(String reference, PrivateKey key, ProgressListener progress) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.signatures().signSigstore"));
        Args.given(key, "DavitClient.signatures().signSigstore", "key", "give the private key, e.g. from"
                + " SigstoreKeys.decryptPrivate");
        // the digest of the manifest read and hashed here (never a HEAD's word for it)
        Digest digest = client.withRegistry(ProgressListener.NONE, c -> c.fetchManifest(ref).digest());
        byte[] payload = SigstoreSignature.payload(ref.toString(), digest);
        String signature = SigstoreSignature.sign(key, payload);
        Reference sigRef = new Reference(ref.registry(), ref.repository(),
                SigstoreSignature.tag(digest), null);
        List<Descriptor> layers = new ArrayList<>();
        try {
            client.pull(sigRef.toString());
            Manifest existing = client.store().readManifest(client.find(sigRef.toString()).orElseThrow().descriptor());
            if (existing instanceof ImageManifest im) {
                layers.addAll(im.layers()); // cosign appends: the signatures already there stay
            }
        } catch (DavitException e) {
            if (e.kind() != Kind.NOT_FOUND) {
                throw e;
            }
        }
        Descriptor layer = new Descriptor(SigstoreSignature.MEDIA_TYPE, Digest.sha256(payload),
                payload.length).withAnnotations(Map.of(SigstoreSignature.SIGNATURE_ANNOTATION,
                signature));
        layers.add(layer);
        byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
        Descriptor configDesc = new Descriptor(MediaTypes.OCI_CONFIG, Digest.sha256(config),
                config.length);
        var doc = Json.object();
        doc.put("schemaVersion", 2);
        doc.put("mediaType", MediaTypes.OCI_MANIFEST);
        doc.set("config", ManifestJson.toJson(configDesc));
        var arr = doc.putArray("layers");
        layers.forEach(l -> arr.add(ManifestJson.toJson(l)));
        byte[] manifest = doc.toString().getBytes(StandardCharsets.UTF_8);
        Descriptor md = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(manifest),
                manifest.length);
        try (AutoCloseable session = client.store().session()) {
            client.store().putBlob(layer.withAnnotations(Map.of()), payload);
            client.store().putBlob(configDesc, config);
            client.store().putBlob(md, manifest);
        } catch (DavitException e) {
            throw e;
        } catch (Exception e) {
            throw new DavitException(Kind.STORE, "cannot write the signature: " + e.getMessage(), e);
        }
        client.pushFromStore(client.store(), md, sigRef, progress);
        return new SignatureClient.SignResult(ref, digest, "sigstore", sigRef.toString());
    }

    /**
     * Signs the image {@code reference} at its registry with the GPG key {@code fingerprint} of
     * {@code secretKeyring}, as {@code skopeo copy --sign-by} does: a simple signing signature claiming
     * {@code reference} for its manifest's digest, written as the next {@code signature-N} of the lookaside store
     * {@code registries.d} names for it ({@code lookaside-staging}, else {@code lookaside}; a {@code file://} one).
     *
     * @param reference     the image, by tag (the identity signed)
     * @param secretKeyring the secret keyring ({@code gpg --export-secret-keys}, binary or armored)
     * @param fingerprint   the signing key's fingerprint (or key id), or null for the first signing key
     * @param passphrase    its passphrase (empty for none)
     * @return what was signed and the signature's file
     * @throws DavitException USAGE for a malformed reference, a key that cannot sign, no {@code file://} lookaside
     *                        store in {@code registries.d}; NOT_FOUND, AUTH or NETWORK as the registry answers
     */
    SignatureClient.SignResult signGpg(String reference, byte[] secretKeyring, String fingerprint, char[] passphrase) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.signatures().signGpg"));
        Args.given(secretKeyring, "DavitClient.signatures().signGpg", "secretKeyring",
                "give the secret keyring's bytes");
        URI base = client.options().trust().registries().forImage(ref).writeTo();
        if (base == null || !"file".equals(base.getScheme())) {
            throw new DavitException(Kind.USAGE, "registries.d (" + client.options().trust().registries().source()
                    + ") names no file:// lookaside store (lookaside-staging or lookaside) for " + ref
                    + ", where a GPG signature would be written");
        }
        Digest digest = client.withRegistry(ProgressListener.NONE, c -> c.fetchManifest(ref).digest());
        byte[] message;
        try {
            message = SimpleSigning.sign(secretKeyring, fingerprint,
                    passphrase == null ? new char[0] : passphrase, ref.toString(), digest);
        } catch (SigstoreSignature.Invalid e) {
            throw new DavitException(Kind.USAGE, e.getMessage());
        }
        return new SignatureClient.SignResult(ref, digest, "gpg", writeLookaside(base, ref, digest,
                message).toString());
    }

    /**
     * Writes {@code message} as the next {@code signature-N} of {@code digest} in the {@code file://} lookaside store
     * {@code base}: written whole, then linked under the first free number (link(2) never replaces), so no reader
     * sees half of one and two writers never take one number.
     */
    private static Path writeLookaside(URI base, Reference ref, Digest digest, byte[] message) {
        Path dir = Path.of(base).resolve(ref.repository() + "@"
                + digest.algorithm().id() + "=" + digest.hex());
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            // written whole, then linked under the first free name (link(2) never replaces): no reader ever sees
            // half a signature, and two signers never take one number
            tmp = Files.createTempFile(dir, ".signature-", ".tmp");
            Files.write(tmp, message);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(
                    "rw-r--r--")); // a signature is for everyone to read, as skopeo's are
            for (int n = 1; n <= Trust.MAX_SIGNATURES; n++) {
                Path f = dir.resolve("signature-" + n);
                try {
                    Files.createLink(f, tmp);
                    return f;
                } catch (FileAlreadyExistsException taken) {
                    // the next number
                }
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write the signature into " + dir + ": " + e.getMessage());
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a stray temporary file
                }
            }
        }
        throw new DavitException(Kind.USAGE, dir + " holds " + Trust.MAX_SIGNATURES
                + " signatures already");
    }
}
