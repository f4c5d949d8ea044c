package dev.davit.oci.bundle;

import dev.davit.oci.manifest.Descriptor;
import java.util.List;

/**
 * One reference of a bundle: an entry of its {@code index.json}.
 *
 * @param name       the entry's {@code org.opencontainers.image.ref.name} as written (untrusted text), or null
 * @param reference  the normalised reference it is imported as by default: {@code name} normalised when it is a
 *                   reference ({@code imported/tiny:2} gives {@code docker.io/imported/tiny:2}; what davit writes
 *                   is already normalised), else null (a bare tag such as {@code latest} needs {@code --as},
 *                   {@code --map} or {@code --repo})
 * @param descriptor the entry (manifest or index) with its annotations
 * @param platforms  {@code os/arch[/variant]} of the image, or of every image of an index (attestations left
 *                   out); empty for artifacts and when unknown
 * @param size       total bytes of the entry's graph: manifests, configs and layers, each blob counted once
 * @param complete   whether every blob of the graph is in the bundle
 */
public record BundleRef(String name, String reference, Descriptor descriptor, List<String> platforms, long size,
                        boolean complete) {
    /**
     * Copies the list.
     *
     * @param name the ref name as written, or null
     * @param reference the default reference, or null
     * @param descriptor the entry
     * @param platforms the platforms; not null
     * @param size the graph's total bytes
     * @param complete whether the graph is complete
     */
    public BundleRef {
        platforms = List.copyOf(platforms);
    }
}
