package dev.davit.oci.bundle;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What {@link BundleInspector} found in a bundle, without extracting it.
 *
 * @param file          the bundle (absolute)
 * @param compression   how the tar is compressed
 * @param size          bytes of the file
 * @param layoutVersion {@code imageLayoutVersion} of its {@code oci-layout}
 * @param metadata      the davit bundle metadata (fields null when absent)
 * @param annotations   every annotation of the bundle's {@code index.json} (untrusted text)
 * @param refs          the entries of {@code index.json}, in order
 * @param blobs         blob files in the archive
 * @param blobBytes     their total size
 */
public record BundleInfo(Path file, Compression compression, long size, String layoutVersion,
                         BundleMetadata metadata, Map<String, String> annotations, List<BundleRef> refs, int blobs,
                         long blobBytes) {
    /**
     * Copies the collections.
     *
     * @param file the bundle
     * @param compression its compression
     * @param size its size in bytes
     * @param layoutVersion the layout version
     * @param metadata the metadata
     * @param annotations the index annotations; not null
     * @param refs the entries; not null
     * @param blobs the number of blob files
     * @param blobBytes their total size in bytes
     */
    public BundleInfo {
        annotations = Map.copyOf(annotations);
        refs = List.copyOf(refs);
    }

    /** {@return whether every reference's graph is complete in the bundle} True for a bundle without entries. */
    public boolean complete() {
        return refs.stream().allMatch(BundleRef::complete);
    }
}
