package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Args;
import dev.davit.oci.policy.SigstoreKeys;
import dev.davit.oci.policy.Trust;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.StoreEntry;
import java.security.PrivateKey;

/**
 * Signatures, from {@link DavitClient#signatures()}: an image signed at its registry (sigstore or GPG), and an image
 * held to a signature policy (its client's, or another {@link Trust}). Every pull meets its client's policy already;
 * these are for signing, and for a requirement of one's own on top. Thread-safe, as its client is.
 */
public final class SignatureClient {
    private final Admissions admissions;
    private final Signatures signatures;

    SignatureClient(Admissions admissions, Signatures signatures) {
        this.admissions = admissions;
        this.signatures = signatures;
    }

    /**
     * Decides on the image {@code reference} (whose top manifest is {@code top}) under {@code trust} rather than this
     * client's, reading its signatures from its registry: a requirement of its own (a catalog entry's
     * {@code signedBy}) on top of the policy every pull meets.
     *
     * @param reference the image
     * @param top       its top manifest's digest (what signatures sign)
     * @param trust     the requirements and where signatures are
     * @return what admitted it
     * @throws DavitException VERIFICATION when {@code trust} refuses it; NETWORK when its signatures cannot be read
     */
    public Trust.Admitted verify(String reference, Digest top, Trust trust) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.signatures().verify"));
        Args.given(trust, "DavitClient.signatures().verify", "trust", "give the requirements, e.g. new Trust(policy, registries)");
        return admissions.verify(ref, top, trust);
    }

    /**
     * {@link #verify} of an image the store holds, as {@code reference}: what its signatures sign is worked out from
     * the store (the index it came from when the store holds that index and it lists the image), and its signatures
     * are read from its registry, else from the store (kept, or imported from a bundle), so it works offline.
     *
     * @param reference the image in the store
     * @param trust     the requirements and where signatures are
     * @return what admitted it
     * @throws DavitException NOT_FOUND when it is not in the store; VERIFICATION when {@code trust} refuses it
     */
    public Trust.Admitted verifyStored(String reference, Trust trust) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.signatures().verifyStored"));
        return admissions.verifyStored(ref, trust);
    }

    /**
     * Holds an image already in the store to the signature policy before it is used (a run of a cached image): the
     * policy accepts anything there, or the trust that admitted it (its entry's {@link
     * Trust#ADMITTED_BY}) is this one, which costs a hash of the policy and key files; else the
     * image is admitted again now (its signatures read from the registry or the lookaside store) and its entry
     * records this trust.
     *
     * @param reference the image in the store
     * @return the store entry admitted: use it, not a later lookup of the name (which a concurrent pull or import
     *         may have moved meanwhile)
     * @throws DavitException NOT_FOUND when it is not in the store; VERIFICATION when the policy refuses it; NETWORK
     *                        when its signatures cannot be read
     */
    public StoreEntry checkTrust(String reference) {
        Reference ref = Reference.parse(Args.reference(reference, "DavitClient.signatures().checkTrust"));
        return admissions.checkTrust(ref);
    }

    /**
     * A signature davit made and where it put it.
     *
     * @param reference the signed image (the identity the signature claims)
     * @param digest    the signed top manifest's digest, as the registry has it
     * @param kind      {@code sigstore} or {@code gpg}
     * @param where     the signature manifest's reference (sigstore) or the lookaside file (gpg)
     */
    public record SignResult(Reference reference, Digest digest, String kind, String where) {
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
    public SignResult signSigstore(String reference, PrivateKey key, ProgressListener progress) {
        return signatures.signSigstore(reference, key, progress);
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
    public SignResult signGpg(String reference, byte[] secretKeyring, String fingerprint, char[] passphrase) {
        return signatures.signGpg(reference, secretKeyring, fingerprint, passphrase);
    }
}
