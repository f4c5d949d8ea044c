package dev.davit.oci.manifest;

import dev.davit.oci.digest.Digest;
import java.util.List;
import java.util.Map;

/**
 * A parsed manifest together with the exact bytes it was parsed from. The bytes are what gets stored and
 * pushed: a manifest is never re-serialised, so its digest never changes.
 */
public sealed interface Manifest permits ImageManifest, ImageIndex {

    /** The media type (from the document, else from the transport's Content-Type). */
    String mediaType();

    /** The exact bytes as served. */
    byte[] bytes();

    /** The sha256 digest of {@link #bytes()}. */
    Digest digest();

    /** {@code artifactType}, or null. */
    String artifactType();

    /** The {@code subject} descriptor, or null. */
    Descriptor subject();

    Map<String, String> annotations();

    /** A descriptor that points at this manifest. */
    default Descriptor descriptor() {
        return new Descriptor(mediaType(), digest(), bytes().length, List.of(), Map.of(), null, artifactType());
    }

    /** The descriptors this manifest points at directly (config and layers, or the index's manifests). */
    List<Descriptor> children();
}
