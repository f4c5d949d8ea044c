package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.bundle.BundleImporter;
import dev.davit.oci.bundle.BundleWriter;
import dev.davit.oci.bundle.ExportOptions;
import dev.davit.oci.bundle.ExportResult;
import dev.davit.oci.bundle.ImportOptions;
import dev.davit.oci.bundle.ImportResult;
import dev.davit.oci.copy.Copier;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.policy.SigstoreSignature;
import dev.davit.oci.policy.Trust;
import dev.davit.oci.reference.Reference;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A {@link DavitClient}'s bundles: an export of store entries with the sigstore signatures the store keeps for them,
 * and an import held to the signature policy as a pull is. The client checks the arguments and turns a null progress
 * listener into {@link ProgressListener#NONE} before it calls here.
 */
final class Bundles {
    private final DavitClient davit;
    private final Admissions admissions;

    Bundles(DavitClient davit, Admissions admissions) {
        this.davit = davit;
        this.admissions = admissions;
    }

    /** {@link BundleClient#export(List, Path, ExportOptions, ProgressListener)}'s work. */
    ExportResult export(List<String> refs, Path file, ExportOptions options, ProgressListener progress) {
        // each image's sigstore signatures in the store go along, so the bundle verifies where no registry is
        List<String> all = new ArrayList<>(refs);
        for (String r : refs) {
            Reference ref;
            try {
                ref = Reference.parse(r);
            } catch (DavitException e) {
                continue; // the writer says what is wrong with it
            }
            davit.find(ref.toString()).ifPresent(e -> {
                Digest top = admissions.signedTop(e.descriptor());
                String sig = new Reference(ref.registry(), ref.repository(),
                        SigstoreSignature.tag(top), null).toString();
                if (!all.contains(sig) && davit.find(sig).isPresent()) {
                    all.add(sig);
                }
            });
        }
        return new BundleWriter(davit.store()).export(all, file, options, progress);
    }

    /** {@link BundleClient#importBundle(Path, ImportOptions, ProgressListener)}'s work. */
    ImportResult importBundle(Path file, ImportOptions options, ProgressListener progress) {
        // held to the signature policy as a pull is: no registry here, so only what the lookaside store (or no
        // signature at all) can show admits an image
        Trust trust = davit.options().trust();
        return new BundleImporter(davit.store(), named -> new Copier.Admission() {
            @Override
            public Map<String, String> admit(Reference ref, Descriptor top) {
                if (Admissions.SIGNATURE_TAG.matcher(ref.tag() == null ? "" : ref.tag()).matches()
                        && admissions.isSignatureManifest(top)) {
                    return Map.of(); // a signature the bundle carries: it is what admits, not what is admitted
                }
                // the bundle's own signatures, as a registry would serve them
                return trust.record(trust.admit(ref, top.digest(), null, admissions.attachments(sigRef -> named.get(
                        sigRef.toString()))));
            }

            @Override
            public boolean checks(Reference ref) {
                return !trust.policy().requirementsFor(ref).acceptsAnything();
            }
        }).importBundle(file, options, progress);
    }
}
