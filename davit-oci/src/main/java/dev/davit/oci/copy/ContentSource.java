package dev.davit.oci.copy;

import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.store.BlobIngest;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * Where a graph of content comes from: a registry repository, an OCI image layout (a directory or an archive),
 * or the store itself. The {@link Copier} walks a graph from a source into a target, so pull, import and copy
 * share one implementation.
 */
public interface ContentSource {

    /** {@return a short description for messages, e.g. {@code 127.0.0.1:5000/test/tiny} or {@code oci:/tmp/layout}} */
    String describe();

    /**
     * The top manifest that {@code name} (a tag or a digest for a registry, a ref name or a digest for a layout)
     * resolves to, with its digest as the source names it. Verified against the digest when one was given.
     *
     * @param name a tag or digest (registry), or a ref name or digest (layout)
     * @return the parsed top manifest and its digest
     * @throws dev.davit.oci.DavitException of kind NOT_FOUND when nothing has that name, VERIFICATION when the
     *     content does not match, or the source's kind (NETWORK, AUTH, STORE) when it cannot be read
     */
    Resolved resolve(String name);

    /**
     * Fetches a manifest by descriptor, verified against the descriptor's digest and size.
     *
     * @param descriptor the manifest's descriptor, e.g. an index entry
     * @return the parsed manifest
     * @throws dev.davit.oci.DavitException of kind NOT_FOUND, VERIFICATION, or the source's kind on a read failure
     */
    Manifest fetchManifest(Descriptor descriptor);

    /**
     * Writes a blob into {@code into}, resuming from {@link BlobIngest#offset()} where the source can. The
     * digest check is the ingest's commit, done by the caller.
     *
     * @param descriptor the blob's descriptor
     * @param into     where the bytes go; already holds {@code into.offset()} bytes of an earlier attempt
     * @param progress receives the number of bytes written so far
     * @param retries  receives a line per retry or resume
     * @throws dev.davit.oci.DavitException of kind NOT_FOUND, NETWORK, AUTH or STORE when the blob cannot be read
     */
    void fetchBlob(Descriptor descriptor, BlobIngest into, LongConsumer progress, Consumer<String> retries);

    /**
     * A resolved top manifest.
     *
     * @param manifest the parsed manifest
     * @param digest its digest as the source names it
     */
    record Resolved(Manifest manifest, Digest digest) {
        /** {@return a descriptor of the manifest, with its media type, digest, size and artifact type} */
        public Descriptor descriptor() {
            return new Descriptor(manifest.mediaType(), digest, manifest.bytes().length, List.of(), Map.of(), null,
                    manifest.artifactType());
        }
    }
}
