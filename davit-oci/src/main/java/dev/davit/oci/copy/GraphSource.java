package dev.davit.oci.copy;

import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.Manifest;
import java.io.IOException;
import java.io.InputStream;

/** Content to push: manifests by descriptor and blobs as re-openable streams (the store, or a registry). */
public interface GraphSource {
    /** A manifest, verified against its descriptor. */
    Manifest manifest(Descriptor d);

    /** A fresh stream of a blob's bytes; each call starts from the first byte. */
    InputStream openBlob(Descriptor d) throws IOException;

    /** For messages. */
    String describe();
}
