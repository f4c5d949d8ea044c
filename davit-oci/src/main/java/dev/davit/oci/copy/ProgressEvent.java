package dev.davit.oci.copy;

import dev.davit.oci.manifest.Descriptor;

/** What a copy reports while it runs. Events may arrive from several threads. */
public sealed interface ProgressEvent {

    /** A phase begins: {@code resolving}, {@code fetching manifest}, {@code fetching blobs}, {@code verifying}, {@code done}. */
    record Phase(String name, String detail) implements ProgressEvent {
    }

    /** A blob is about to be fetched ({@code offset} > 0 when resuming an earlier partial download). */
    record BlobStarted(Descriptor descriptor, long offset) implements ProgressEvent {
    }

    /** Bytes of a blob written so far. */
    record BlobProgress(Descriptor descriptor, long bytes) implements ProgressEvent {
    }

    /** A blob is in the store; {@code cached} when it was there already and nothing was downloaded. */
    record BlobDone(Descriptor descriptor, boolean cached) implements ProgressEvent {
    }

    /** A request is retried or a download resumed. */
    record Retry(String message) implements ProgressEvent {
    }
}
