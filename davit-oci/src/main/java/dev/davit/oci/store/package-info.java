/**
 * The verified local store: an OCI image layout on disk ({@link dev.davit.oci.store.OciStore}) whose blobs are
 * written only through a {@link dev.davit.oci.store.BlobIngest} that checks size and digest before the rename
 * into place, and whose {@code index.json} names manifests by reference ({@link dev.davit.oci.store.StoreEntry})
 * only once their whole graph is present. Many processes may use one store at once; {@code gc} and {@code fsck}
 * keep it small and sound.
 */
package dev.davit.oci.store;
