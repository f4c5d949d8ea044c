package dev.davit.oci.copy;

import dev.davit.oci.manifest.Descriptor;

/** What a copy reports while it runs. Events may arrive from several threads. */
public sealed interface ProgressEvent {

    /**
     * A phase begins: {@code resolving}, {@code fetching manifest}, {@code fetching blobs}, {@code verifying},
     * {@code done} (a push has {@code pushing blobs} and {@code pushing manifests} instead).
     *
     * @param name the phase's name, one of the above
     * @param detail what the phase works on, for display, e.g. a reference or {@code 3 blobs, 1234 bytes}
     */
    record Phase(String name, String detail) implements ProgressEvent {
    }

    /**
     * A blob is about to be fetched ({@code offset} &gt; 0 when resuming an earlier partial download).
     *
     * @param descriptor the blob
     * @param offset how many bytes of it are already there, 0 for a fresh download
     */
    record BlobStarted(Descriptor descriptor, long offset) implements ProgressEvent {
    }

    /**
     * Bytes of a blob written so far.
     *
     * @param descriptor the blob
     * @param bytes how many of its bytes are written (or sent) so far, counting a resumed offset
     */
    record BlobProgress(Descriptor descriptor, long bytes) implements ProgressEvent {
    }

    /**
     * A blob is in the store; {@code cached} when it was there already and nothing was downloaded.
     *
     * @param descriptor the blob
     * @param cached true when nothing was transferred (already present, or mounted on push)
     */
    record BlobDone(Descriptor descriptor, boolean cached) implements ProgressEvent {
    }

    /**
     * The image manifest a pull for one platform is fetching the blobs of, before any of them is fetched: a caller
     * may start on the blobs as each arrives ({@link BlobDone}), e.g. unpack the layers in order while the rest
     * download. It is not in the store yet (a manifest is stored after its blobs).
     *
     * @param descriptor the manifest's descriptor (the platform's, for an index)
     * @param manifest   the manifest
     */
    record ManifestChosen(Descriptor descriptor, dev.davit.oci.manifest.ImageManifest manifest) implements ProgressEvent {
    }

    /**
     * A request is retried or a download resumed.
     *
     * @param message one line saying what is retried and why
     */
    record Retry(String message) implements ProgressEvent {
    }
}
