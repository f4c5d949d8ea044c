package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.RegistryClient;
import dev.davit.oci.registry.Uploads;
import java.util.ArrayList;
import java.util.List;

/**
 * The OCI 1.1 referrers of a {@link DavitClient}'s images at their registries: listed through the referrers API, or,
 * on a registry without it, through the tag schema's {@code sha256-<hex>} index, which is written here.
 */
final class Referrers {
    private final DavitClient davit;
    private final Uploads.PushOptions pushOptions;

    Referrers(DavitClient davit, Uploads.PushOptions pushOptions) {
        this.davit = davit;
        this.pushOptions = pushOptions;
    }

    /** {@link ArtifactClient#referrers}'s work, for the subject {@code ref} names. */
    List<Descriptor> list(Reference ref, String artifactType) {
        return davit.withRegistry(ProgressListener.NONE, client -> {
            Digest subject = ref.digest() != null ? ref.digest() : client.headManifest(ref).digest();
            List<Descriptor> api = client.referrers(ref, subject, artifactType);
            if (api != null) {
                return api;
            }
            List<Descriptor> out = new ArrayList<>();
            List<Descriptor> listed = fallbackIndex(client, ref, subject);
            for (Descriptor d : listed == null ? List.<Descriptor>of() : listed) {
                if (artifactType == null || artifactType.equals(d.artifactType())) {
                    out.add(d);
                }
            }
            return out;
        });
    }

    /** {@link ArtifactClient#attachReferrer}'s work, in the repository {@code repo} names. */
    boolean attach(Reference repo, Digest subject, Descriptor referrer) {
        return davit.withRegistry(ProgressListener.NONE, client -> {
            if (client.referrers(repo, subject, null) != null) {
                return false;
            }
            List<Descriptor> found = fallbackIndex(client, repo, subject);
            if (found == null) {
                throw new DavitException(Kind.USAGE, "the tag " + fallbackTag(subject) + " of " + repo.repositoryName()
                        + " holds something other than a referrers index, which davit leaves as it is; the"
                        + " referrer was pushed, but is not listed there");
            }
            List<Descriptor> listed = new ArrayList<>(found);
            if (listed.stream().anyMatch(d -> d.digest().equals(referrer.digest()))) {
                return false;
            }
            listed.add(new Descriptor(referrer.mediaType(), referrer.digest(), referrer.size(), List.of(),
                    referrer.annotations(), null, referrer.artifactType()));
            com.fasterxml.jackson.databind.node.ObjectNode idx = Json.object();
            idx.put("schemaVersion", 2);
            idx.put("mediaType", MediaTypes.OCI_INDEX);
            com.fasterxml.jackson.databind.node.ArrayNode ms = idx.putArray("manifests");
            listed.forEach(d -> ms.add(ManifestJson.toJson(d)));
            new Uploads(client.transport(), pushOptions).putManifest(repo, fallbackTag(subject),
                    MediaTypes.OCI_INDEX, Json.bytes(idx));
            return true;
        });
    }

    /** {@link ArtifactClient#fallbackTag}: {@code ALG-HEX}, at most 128 characters. */
    static String fallbackTag(Digest subject) {
        String t = subject.toString().replace(':', '-');
        return t.length() > 128 ? t.substring(0, 128) : t;
    }

    /**
     * What the tag schema's index of {@code subject} lists (none when the tag does not exist); null when the tag holds
     * something else (the spec: report it, never overwrite it).
     */
    private static List<Descriptor> fallbackIndex(RegistryClient client, Reference repo, Digest subject) {
        try {
            Manifest m = client.fetchManifest(Reference.parse(repo.repositoryName() + ":" + fallbackTag(subject)))
                    .manifest();
            return m instanceof ImageIndex idx ? idx.manifests() : null;
        } catch (DavitException e) {
            if (e.kind() == Kind.NOT_FOUND) {
                return List.of();
            }
            throw e;
        }
    }
}
