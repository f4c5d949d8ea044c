package dev.davit.oci.manifest;

import dev.davit.oci.digest.Digest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** An OCI image manifest or a Docker v2 schema 2 manifest; also OCI artifact manifests. */
public record ImageManifest(String mediaType, byte[] bytes, Digest digest, Descriptor config,
                            List<Descriptor> layers, String artifactType, Descriptor subject,
                            Map<String, String> annotations) implements Manifest {

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

    /** The artifact type: {@code artifactType} if set, else the config media type when it is not an image config. */
    public String effectiveArtifactType() {
        if (artifactType != null) {
            return artifactType;
        }
        String ct = config.mediaType();
        return ct.equals(MediaTypes.OCI_CONFIG) || ct.equals(MediaTypes.DOCKER_CONFIG) ? null : ct;
    }

    /** Total size of config and layers. */
    public long contentSize() {
        return children().stream().mapToLong(Descriptor::size).sum();
    }
}
