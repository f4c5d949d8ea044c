package dev.davit.oci.copy;

import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The outcome of a pull.
 *
 * @param reference      the normalised reference that was pulled (also its name in the store)
 * @param resolvedDigest the digest the reference resolved to at the registry (an index for multi-platform images)
 * @param resolvedAt     when it was resolved
 * @param target         the descriptor the store now names (the platform's manifest, or the index for all platforms)
 * @param platform       the platform picked from an index, or null
 * @param manifests      every manifest stored (children before parents)
 * @param blobs          every config and layer blob, with whether it was already cached
 * @param downloadedBytes bytes actually transferred for blobs
 * @param elapsed        wall time of the pull
 */
public record PullResult(Reference reference, Digest resolvedDigest, Instant resolvedAt, Descriptor target,
                         String platform, List<Descriptor> manifests, List<BlobResult> blobs, long downloadedBytes,
                         Duration elapsed) {

    /**
     * One config or layer blob.
     *
     * @param descriptor the blob
     * @param cached true when it was in the store already and nothing was downloaded
     */
    public record BlobResult(Descriptor descriptor, boolean cached) {
    }

    /** {@return the total size of all config and layer blobs, in bytes, cached or not} */
    public long totalBytes() {
        return blobs.stream().mapToLong(b -> b.descriptor().size()).sum();
    }
}
