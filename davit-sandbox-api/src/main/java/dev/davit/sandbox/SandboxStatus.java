package dev.davit.sandbox;

import java.util.Locale;

/** The state of a long-lived sandbox. */
public enum SandboxStatus {
    /** Created, never started. */
    CREATED,
    /** Its keeper process is alive (same pid and start time as recorded). */
    RUNNING,
    /** Stopped by {@code Sandboxes.stop}. */
    STOPPED,
    /** Recorded as running, but its processes are gone (killed, crashed, host rebooted) or their pids reused. */
    FAILED;

    /**
     * The status's name as the CLI and the JSON spell it.
     *
     * @return {@code created}, {@code running}, {@code stopped} or {@code failed}
     */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
