package dev.davit.oci.manifest;

import dev.davit.oci.digest.Digest;
import java.util.List;
import java.util.Map;

/** An OCI image index or a Docker manifest list. */
public record ImageIndex(String mediaType, byte[] bytes, Digest digest, List<Descriptor> manifests,
                         String artifactType, Descriptor subject, Map<String, String> annotations)
        implements Manifest {

    public ImageIndex {
        manifests = List.copyOf(manifests);
        annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    }

    @Override
    public List<Descriptor> children() {
        return manifests;
    }

    /** The platforms this index offers, in document order (entries without a platform are skipped). */
    public List<Platform> platforms() {
        return manifests.stream().map(Descriptor::platform).filter(java.util.Objects::nonNull).toList();
    }
}
