package dev.davit.oci.copy;

import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.Manifest;
import java.io.IOException;
import java.io.InputStream;

/** Content to push: manifests by descriptor and blobs as re-openable streams (the store, or a registry). */
public interface GraphSource {
    /**
     * Reads a manifest, verified against its descriptor.
     *
     * @param d the manifest's descriptor
     * @return the parsed manifest
     * @throws dev.davit.oci.DavitException of kind NOT_FOUND when it is missing, VERIFICATION when it does not match
     */
    Manifest manifest(Descriptor d);

    /**
     * Opens a fresh stream of a blob's bytes; each call starts from the first byte.
     *
     * @param d the blob's descriptor
     * @return the blob's bytes, which the caller closes
     * @throws IOException if the blob cannot be opened
     */
    InputStream openBlob(Descriptor d) throws IOException;

    /** {@return a short description of the source, for messages} */
    String describe();
}
