package dev.davit.oci.build;

import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import java.time.Duration;
import java.util.List;

/**
 * The outcome of a build.
 *
 * @param reference    the normalised reference the store now names the image by
 * @param manifest     the OCI image manifest (its descriptor in {@code index.json} also carries the platform)
 * @param config       the image config blob
 * @param layers       every layer of the image: the base's, then the new one
 * @param diffIds      the config's {@code rootfs.diff_ids}, one per layer
 * @param layer        the new layer (descriptor, diff_id, tar size, entries, skipped special files, cached)
 * @param platform     {@code os/arch[/variant]} of the image
 * @param base         the base reference, or null
 * @param baseManifest the base's image manifest, or null
 * @param elapsed      wall time of the build
 */
public record BuildResult(Reference reference, Descriptor manifest, Descriptor config, List<Descriptor> layers,
                          List<Digest> diffIds, LayerBuilder.Layer layer, String platform, Reference base,
                          Descriptor baseManifest, Duration elapsed) {

    /**
     * Copies the lists.
     *
     * @param reference the image's name in the store
     * @param manifest the manifest's descriptor
     * @param config the config's descriptor
     * @param layers all layers, base first; not null
     * @param diffIds the diff IDs, one per layer; not null
     * @param layer the new layer
     * @param platform the image's platform
     * @param base the base reference, or null
     * @param baseManifest the base's manifest descriptor, or null
     * @param elapsed the build's wall time
     */
    public BuildResult {
        layers = List.copyOf(layers);
        diffIds = List.copyOf(diffIds);
    }

    /** {@return the size of manifest, config and all layers in bytes: what the image occupies in the store} */
    public long totalSize() {
        return manifest.size() + config.size() + layers.stream().mapToLong(Descriptor::size).sum();
    }
}
