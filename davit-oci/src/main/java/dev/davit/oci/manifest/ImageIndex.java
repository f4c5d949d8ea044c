package dev.davit.oci.manifest;

import dev.davit.oci.digest.Digest;
import java.util.List;
import java.util.Map;

/**
 * An OCI image index or a Docker manifest list.
 *
 * @param mediaType {@link MediaTypes#OCI_INDEX} or {@link MediaTypes#DOCKER_MANIFEST_LIST}
 * @param bytes the exact document bytes, as served
 * @param digest the sha256 digest of {@code bytes}
 * @param manifests the manifests the index lists, in document order; never null
 * @param artifactType the index's {@code artifactType}, or null
 * @param subject the {@code subject} descriptor (the manifest this one refers to), or null
 * @param annotations the index's annotations; never null, empty when none
 */
public record ImageIndex(String mediaType, byte[] bytes, Digest digest, List<Descriptor> manifests,
                         String artifactType, Descriptor subject, Map<String, String> annotations)
        implements Manifest {

    /**
     * Copies the list and map; {@link ManifestParser#parse(byte[], String)} is the usual way to make one.
     *
     * @param mediaType the index media type
     * @param bytes the document bytes, not copied
     * @param digest the digest of {@code bytes}, not checked
     * @param manifests the listed manifests, not null
     * @param artifactType the artifact type, or null
     * @param subject the subject, or null
     * @param annotations the annotations, or null for none
     */
    public ImageIndex {
        manifests = List.copyOf(manifests);
        annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    }

    @Override
    public List<Descriptor> children() {
        return manifests;
    }

    /** {@return the platforms this index offers, in document order} Entries without a platform are skipped. */
    public List<Platform> platforms() {
        return manifests.stream().map(Descriptor::platform).filter(java.util.Objects::nonNull).toList();
    }
}
