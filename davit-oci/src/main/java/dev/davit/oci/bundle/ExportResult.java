package dev.davit.oci.bundle;

import dev.davit.oci.digest.Digest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What an export wrote.
 *
 * @param file         the bundle file (absolute)
 * @param compression  how the tar is compressed
 * @param size         bytes of the file
 * @param digest       sha256 of the file as written
 * @param metadata     the bundle metadata written
 * @param refs         the references, in {@code index.json} order
 * @param blobs        blobs in the bundle (manifests included)
 * @param contentBytes total bytes of those blobs
 * @param verified     whether the file was re-read and checked before it was renamed into place
 * @param elapsed      wall time
 */
public record ExportResult(Path file, Compression compression, long size, Digest digest, BundleMetadata metadata,
                           List<BundleRef> refs, int blobs, long contentBytes, boolean verified, Duration elapsed) {
    /**
     * Copies the list.
     *
     * @param file the bundle file
     * @param compression its compression
     * @param size its size in bytes
     * @param digest its sha256
     * @param metadata the metadata written
     * @param refs the references; not null
     * @param blobs the number of blobs
     * @param contentBytes their total bytes
     * @param verified whether it was re-read and checked
     * @param elapsed the wall time
     */
    public ExportResult {
        refs = List.copyOf(refs);
    }
}
