package dev.davit.oci.copy;

/** Receives {@link ProgressEvent}s; must be thread-safe and fast (it runs on download threads). */
@FunctionalInterface
public interface ProgressListener {
    /**
     * Receives one event; must not throw.
     *
     * @param event what happened
     */
    void onEvent(ProgressEvent event);

    /** Ignores everything. */
    ProgressListener NONE = e -> { };
}
