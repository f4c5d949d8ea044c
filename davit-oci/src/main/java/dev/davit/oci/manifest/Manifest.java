package dev.davit.oci.manifest;

import dev.davit.oci.digest.Digest;
import java.util.List;
import java.util.Map;

/**
 * A parsed manifest together with the exact bytes it was parsed from. The bytes are what gets stored and
 * pushed: a manifest is never re-serialised, so its digest never changes.
 */
public sealed interface Manifest permits ImageManifest, ImageIndex {

    /** {@return the media type (from the document, else from the transport's Content-Type)} Never null. */
    String mediaType();

    /** {@return the exact bytes as served} The array is shared: do not modify it. */
    byte[] bytes();

    /** {@return the sha256 digest of {@link #bytes()}} */
    Digest digest();

    /** {@return the document's {@code artifactType}, or null} */
    String artifactType();

    /** {@return the {@code subject} descriptor, or null} */
    Descriptor subject();

    /** {@return the document's top-level annotations} Never null, empty when none. */
    Map<String, String> annotations();

    /** {@return a descriptor that points at this manifest} It has no platform, urls or annotations. */
    default Descriptor descriptor() {
        return new Descriptor(mediaType(), digest(), bytes().length, List.of(), Map.of(), null, artifactType());
    }

    /**
     * {@return the descriptors this manifest points at directly (config and layers, or the index's manifests)}
     * Never null.
     */
    List<Descriptor> children();
}
