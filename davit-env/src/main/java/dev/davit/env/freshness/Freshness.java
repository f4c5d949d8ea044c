package dev.davit.env.freshness;

import dev.davit.oci.Message;
import java.time.Instant;

/**
 * Whether the registry now has a different digest for an environment's reference.
 *
 * @param reference       the reference checked
 * @param status          {@link Status}
 * @param installedDigest the digest installed (null when not installed)
 * @param remoteDigest    the digest the registry reports (null when unknown)
 * @param checkedAt       when the registry was asked (possibly earlier, from the cache)
 * @param cached          true when the answer came from the 24-hour cache
 * @param error           why the status is unknown, or null
 */
public record Freshness(String reference, Status status, String installedDigest, String remoteDigest,
                        Instant checkedAt, boolean cached, Message error) {

    /** The outcome of a check. */
    public enum Status {
        /** The registry has the installed digest. */
        UP_TO_DATE,
        /** The registry has another digest: a pull would update the install. */
        UPDATE_AVAILABLE,
        /** Not installed, or the registry could not be asked. */
        UNKNOWN
    }
}
