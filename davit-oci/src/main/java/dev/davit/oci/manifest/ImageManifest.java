package dev.davit.oci.manifest;

import dev.davit.oci.digest.Digest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An OCI image manifest or a Docker v2 schema 2 manifest; also OCI artifact manifests.
 *
 * @param mediaType {@link MediaTypes#OCI_MANIFEST} or {@link MediaTypes#DOCKER_MANIFEST}
 * @param bytes the exact document bytes, as served
 * @param digest the sha256 digest of {@code bytes}
 * @param config the config blob's descriptor (for an artifact, possibly {@link MediaTypes#OCI_EMPTY})
 * @param layers the layer (or artifact file) descriptors, base layer first; never null, may be empty
 * @param artifactType the manifest's {@code artifactType}, or null
 * @param subject the {@code subject} descriptor (the manifest this one refers to), or null
 * @param annotations the manifest's annotations; never null, empty when none
 */
public record ImageManifest(String mediaType, byte[] bytes, Digest digest, Descriptor config,
                            List<Descriptor> layers, String artifactType, Descriptor subject,
                            Map<String, String> annotations) implements Manifest {

    /**
     * Copies the list and map; {@link ManifestParser#parse(byte[], String)} is the usual way to make one.
     *
     * @param mediaType the manifest media type
     * @param bytes the document bytes, not copied
     * @param digest the digest of {@code bytes}, not checked
     * @param config the config descriptor
     * @param layers the layer descriptors, not null
     * @param artifactType the artifact type, or null
     * @param subject the subject, or null
     * @param annotations the annotations, or null for none
     */
    public ImageManifest {
        layers = List.copyOf(layers);
        annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    }

    @Override
    public List<Descriptor> children() {
        List<Descriptor> all = new ArrayList<>(layers.size() + 1);
        all.add(config);
        all.addAll(layers);
        return all;
    }

    /**
     * {@return the artifact type: {@code artifactType} if set, else the config media type when it is not an image
     * config} Null for a plain image.
     */
    public String effectiveArtifactType() {
        if (artifactType != null) {
            return artifactType;
        }
        String ct = config.mediaType();
        return ct.equals(MediaTypes.OCI_CONFIG) || ct.equals(MediaTypes.DOCKER_CONFIG) ? null : ct;
    }

    /** {@return the total size of config and layers, in bytes} The manifest itself is not counted. */
    public long contentSize() {
        return children().stream().mapToLong(Descriptor::size).sum();
    }
}
