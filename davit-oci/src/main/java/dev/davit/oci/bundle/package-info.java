/**
 * Bundles: self-contained OCI image layout archives, the {@code oci-archive} format skopeo reads.
 *
 * <p>A bundle is a tar (optionally gzip- or zstd-compressed as a whole) of {@code oci-layout}, {@code index.json}
 * and {@code blobs/<alg>/<hex>}. {@code index.json} names each reference with
 * {@code org.opencontainers.image.ref.name} = the fully normalised reference, keeps davit's entry annotations,
 * and carries the bundle's {@link dev.davit.oci.bundle.BundleMetadata} as its own annotations.
 *
 * <ul>
 *   <li>{@link dev.davit.oci.bundle.BundleWriter} — export: deterministic tar, blobs streamed and re-hashed from
 *       the store, temp file + fsync + re-read verification + atomic rename.</li>
 *   <li>{@link dev.davit.oci.bundle.BundleImporter} — import: one streaming pass verifying every blob into the
 *       store's ingest, strict archive rules, graph check, and only then the references.</li>
 *   <li>{@link dev.davit.oci.bundle.BundleInspector} — metadata and references without extracting blobs.</li>
 *   <li>{@link dev.davit.oci.bundle.OciLayoutSource} — an OCI layout directory as a
 *       {@link dev.davit.oci.copy.ContentSource} for the {@link dev.davit.oci.copy.Copier}.</li>
 * </ul>
 */
package dev.davit.oci.bundle;
