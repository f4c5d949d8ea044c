package dev.davit.oci.manifest;

import dev.davit.oci.digest.Digest;
import java.util.List;
import java.util.Map;

/**
 * An OCI content descriptor. {@code platform} is set only on index entries; {@code artifactType} only where the
 * spec allows it.
 *
 * @param mediaType the media type of the content pointed at, e.g. {@link MediaTypes#OCI_LAYER_GZIP}; not null
 * @param digest the digest of the content; not null
 * @param size the content's size in bytes, not negative
 * @param urls where else the content may be fetched from (foreign layers); never null, empty when none
 * @param annotations the descriptor's annotations; never null, empty when none
 * @param platform the platform of the manifest pointed at, on index entries; else null
 * @param artifactType the artifact type of an artifact manifest pointed at; else null
 */
public record Descriptor(String mediaType, Digest digest, long size, List<String> urls,
                         Map<String, String> annotations, Platform platform, String artifactType) {

    /**
     * Checks the components and copies the lists and maps; null {@code urls} or {@code annotations} become empty.
     *
     * @param mediaType the media type, not null
     * @param digest the digest, not null
     * @param size the size in bytes, not negative
     * @param urls alternative locations, or null
     * @param annotations annotations, or null
     * @param platform the platform, or null
     * @param artifactType the artifact type, or null
     * @throws IllegalArgumentException if mediaType or digest is null or size is negative
     */
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

    /**
     * A descriptor with no urls, annotations, platform or artifact type.
     *
     * @param mediaType the media type, not null
     * @param digest the digest, not null
     * @param size the size in bytes, not negative
     */
    public Descriptor(String mediaType, Digest digest, long size) {
        this(mediaType, digest, size, List.of(), Map.of(), null, null);
    }

    /**
     * {@return the same descriptor with other annotations}
     *
     * @param a the annotations that replace the current ones; null means none
     */
    public Descriptor withAnnotations(Map<String, String> a) {
        return new Descriptor(mediaType, digest, size, urls, a, platform, artifactType);
    }

    /**
     * {@return the same descriptor with another platform}
     *
     * @param p the platform that replaces the current one; null means none
     */
    public Descriptor withPlatform(Platform p) {
        return new Descriptor(mediaType, digest, size, urls, annotations, p, artifactType);
    }

    /**
     * {@return the value of annotation {@code key}, or null when it is not set}
     *
     * @param key the annotation key, e.g. {@code org.opencontainers.image.ref.name}
     */
    public String annotation(String key) {
        return annotations.get(key);
    }
}
