package dev.davit.oci.store;

import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * One named entry of the store's {@code index.json}: the descriptor of the manifest (or index) that the
 * reference {@link #name()} points at, with the annotations davit records about where it came from.
 *
 * @param name       the normalised reference the entry is named by
 * @param descriptor the descriptor of its manifest or index, with davit's annotations
 */
public record StoreEntry(String name, Descriptor descriptor) {

    /**
     * The digest the reference resolved to at the registry (an index when one platform was picked).
     *
     * @return that digest; the entry's own digest when none was recorded
     */
    public Digest resolvedDigest() {
        String v = descriptor.annotation(OciStore.RESOLVED_DIGEST);
        return v != null && Digest.isValid(v) ? Digest.parse(v) : descriptor.digest();
    }

    /**
     * When the reference was resolved at the registry.
     *
     * @return the time, or null when none was recorded
     */
    public Instant resolvedAt() {
        String v = descriptor.annotation(OciStore.RESOLVED_AT);
        try {
            return v == null ? null : Instant.parse(v);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /**
     * The platform picked from an index.
     *
     * @return {@code os/architecture[/variant]}, or null when none was picked or recorded
     */
    public String platform() {
        String p = descriptor.annotation(OciStore.PLATFORM);
        return p != null ? p : descriptor.platform() == null ? null : descriptor.platform().toString();
    }
}
