package dev.davit.oci.manifest;

import dev.davit.oci.digest.Digest;
import java.util.List;
import java.util.Map;

/**
 * An OCI content descriptor. {@code platform} is set only on index entries; {@code artifactType} only where the
 * spec allows it.
 */
public record Descriptor(String mediaType, Digest digest, long size, List<String> urls,
                         Map<String, String> annotations, Platform platform, String artifactType) {

    public Descriptor {
        if (mediaType == null || digest == null) {
            throw new IllegalArgumentException("mediaType and digest are required");
        }
        if (size < 0) {
            throw new IllegalArgumentException("size must not be negative");
        }
        urls = urls == null ? List.of() : List.copyOf(urls);
        annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    }

    public Descriptor(String mediaType, Digest digest, long size) {
        this(mediaType, digest, size, List.of(), Map.of(), null, null);
    }

    /** Same descriptor with other annotations. */
    public Descriptor withAnnotations(Map<String, String> a) {
        return new Descriptor(mediaType, digest, size, urls, a, platform, artifactType);
    }

    /** Same descriptor with another platform. */
    public Descriptor withPlatform(Platform p) {
        return new Descriptor(mediaType, digest, size, urls, annotations, p, artifactType);
    }

    /** The value of annotation {@code key}, or null. */
    public String annotation(String key) {
        return annotations.get(key);
    }
}
