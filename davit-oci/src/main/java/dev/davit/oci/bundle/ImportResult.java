package dev.davit.oci.bundle;

import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What an import did.
 *
 * @param file         the bundle
 * @param compression  how it was compressed
 * @param metadata     the bundle's metadata
 * @param refs         the references now in the store, in {@code index.json} order
 * @param blobs        blobs in the bundle
 * @param storedBlobs  blobs that were new to the store
 * @param blobBytes    total bytes of the bundle's blobs
 * @param elapsed      wall time
 */
public record ImportResult(Path file, Compression compression, BundleMetadata metadata, List<ImportedRef> refs,
                           int blobs, int storedBlobs, long blobBytes, Duration elapsed) {
    /**
     * Copies the list.
     *
     * @param file the bundle
     * @param compression its compression
     * @param metadata its metadata
     * @param refs the references set; not null
     * @param blobs the number of blobs in the bundle
     * @param storedBlobs the number new to the store
     * @param blobBytes the blobs' total bytes
     * @param elapsed the wall time
     */
    public ImportResult {
        refs = List.copyOf(refs);
    }

    /**
     * One imported reference.
     *
     * @param bundleName the entry's ref name in the bundle, or null
     * @param reference  the name in the store
     * @param descriptor the store entry (with its annotations)
     * @param previous   the digest the store named before, or null when the reference is new
     */
    public record ImportedRef(String bundleName, Reference reference, Descriptor descriptor, Digest previous) {
    }
}
