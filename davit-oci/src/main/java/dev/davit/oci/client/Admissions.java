package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.copy.Copier;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.policy.SignaturePolicy;
import dev.davit.oci.policy.SigstoreSignature;
import dev.davit.oci.policy.Trust;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.RegistryClient;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A {@link DavitClient}'s signature policy at work: which images may come in (a pull's and a copy's admission, the
 * check of an image already in the store, a verification under another trust), what a stored image's signatures
 * sign, where its signatures are read from, and which signatures a pull keeps in the store.
 */
final class Admissions {
    /** A cosign signature tag: {@code sha256-<hex>.sig}. */
    static final Pattern SIGNATURE_TAG = Pattern.compile(
            "sha256-[0-9a-f]{64}\\.sig");

    private final DavitClient davit;
    private final ClientOptions options;
    private final RegistryClient registry;

    Admissions(DavitClient davit, ClientOptions options, RegistryClient registry) {
        this.davit = davit;
        this.options = options;
        this.registry = registry;
    }

    /**
     * When the policy needed a sigstore signature for {@code ref}, its signature manifest is kept in the store
     * ({@code REPO:sha256-<hex>.sig}): an export carries it, and the image verifies again with no registry.
     */
    void keepSignatures(Reference ref, Digest top) {
        if (top == null || SIGNATURE_TAG.matcher(ref.tag() == null ? "" : ref.tag()).matches()
                || options.trust().policy().requirementsFor(ref).requirements().stream()
                .noneMatch(q -> q instanceof SignaturePolicy.SigstoreSigned)) {
            return;
        }
        Reference sig = new Reference(ref.registry(), ref.repository(),
                SigstoreSignature.tag(top), null);
        try {
            davit.withRegistry(ProgressListener.NONE, client -> {
                // only a cosign signature manifest, small, is kept: never whatever else the tag names
                if (!SigstoreSignature.isSignatureManifest(client.fetchManifest(sig).manifest())) {
                    return null;
                }
                return new Copier(davit.store()).pull(client, new Reference(sig.registry(), sig.repository(),
                        sig.tag(), null), PlatformSelector.host(), ProgressListener.NONE);
            });
        } catch (DavitException e) {
            // best effort: the image was admitted; without its signature kept it verifies again online only
            org.slf4j.LoggerFactory.getLogger(DavitClient.class).debug("the signature {} was not kept: {}", sig,
                    e.getMessage());
        }
    }

    /**
     * The signature policy's decision on an image read through {@code client}: the image may come in, or a
     * VERIFICATION error says which scope and rule refused it and why.
     */
    Copier.Admission admission(RegistryClient client) {
        Trust trust = options.trust();
        return new Copier.Admission() {
            @Override
            public Map<String, String> admit(Reference ref, Descriptor top) {
                // the registry's signatures, else those kept in the store (offline)
                return trust.record(trust.admit(ref, top.digest(), client, attachments(sigRef ->
                        davit.find(sigRef.toString()).map(StoreEntry::descriptor).orElse(null))));
            }

            @Override
            public boolean checks(Reference ref) {
                return !trust.policy().requirementsFor(ref).acceptsAnything();
            }
        };
    }

    /**
     * The manifest a signature of the store entry {@code entry} signs: the index it was resolved from (its
     * {@code dev.davit.resolved.digest}) only when the store holds that index and it lists the entry's manifest; else
     * the entry's own manifest. An annotation alone never decides what is verified.
     */
    Digest signedTop(Descriptor entry) {
        String resolved = entry.annotation(OciStore.RESOLVED_DIGEST);
        if (resolved == null || !Digest.isValid(resolved) || resolved.equals(entry.digest().toString())) {
            return entry.digest();
        }
        Digest r = Digest.parse(resolved);
        try {
            if (davit.store().hasBlob(r) && davit.store().readManifest(new Descriptor(MediaTypes.OCI_INDEX, r, 0))
                    instanceof ImageIndex idx && idx.manifests().stream().anyMatch(d -> d.digest().equals(
                    entry.digest()))) {
                return r;
            }
        } catch (DavitException e) {
            // not an index the store can read: the entry's own manifest
        }
        return entry.digest();
    }

    /** {@link SignatureClient#verify}'s work: {@code ref} under {@code trust}, its signatures read from its registry. */
    Trust.Admitted verify(Reference ref, Digest top, Trust trust) {
        return trust.admit(ref, top, registry, attachments(sigRef -> davit.find(sigRef.toString())
                .map(StoreEntry::descriptor).orElse(null)));
    }

    /** {@link SignatureClient#verifyStored}'s work: {@link SignatureClient#verify} of what the store holds as {@code ref}. */
    Trust.Admitted verifyStored(Reference ref, Trust trust) {
        StoreEntry entry = davit.find(ref.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND, ref
                + " is not in the store"));
        return davit.signatures().verify(ref.toString(), signedTop(entry.descriptor()), trust);
    }

    /** {@link SignatureClient#checkTrust}'s work: the store's {@code ref} held to the client's signature policy. */
    StoreEntry checkTrust(Reference ref) {
        Trust trust = options.trust();
        StoreEntry entry = davit.find(ref.toString()).orElseThrow(() -> new DavitException(Kind.NOT_FOUND, ref
                + " is not in the store"));
        if (trust.policy().requirementsFor(ref).acceptsAnything()
                || trust.fingerprint().equals(entry.descriptor().annotation(Trust.ADMITTED_BY))) {
            return entry;
        }
        Digest top = signedTop(entry.descriptor());
        Map<String, String> record = trust.record(trust.admit(ref, top, registry, attachments(sigRef ->
                davit.find(sigRef.toString()).map(StoreEntry::descriptor).orElse(null))));
        // recorded only if the name still names what was admitted (a concurrent pull's entry stays as it made it)
        davit.store().annotateEntry(ref.toString(), entry.descriptor().digest(), record);
        return entry;
    }

    /** Whether {@code d} (in the store) is a cosign signature manifest ({@code SigstoreSignature}'s test). */
    boolean isSignatureManifest(Descriptor d) {
        try {
            return SigstoreSignature.isSignatureManifest(davit.store().readManifest(d));
        } catch (DavitException e) {
            return false;
        }
    }

    /** Signature manifests and payloads of this store, found by {@code descriptorOf} (null: none). */
    Trust.Attachments attachments(
            Function<Reference, Descriptor> descriptorOf) {
        return new Trust.Attachments() {
            @Override
            public Manifest manifest(Reference sigRef) {
                Descriptor d = descriptorOf.apply(sigRef);
                return d == null ? null : davit.store().readManifest(d);
            }

            @Override
            public byte[] blob(Reference sigRef, Descriptor d, int max) {
                return davit.store().readBlob(d.digest(), max);
            }
        };
    }
}
