package dev.davit.oci.copy;

import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.reference.Reference;
import java.time.Duration;
import java.util.List;

/**
 * The outcome of a push (or of a copy to a registry).
 *
 * @param target        where the content went
 * @param top           the descriptor of the manifest or index pushed under the target's tag or digest
 * @param manifests     every manifest pushed, children before parents
 * @param blobs         every config and layer blob with how it got there
 * @param uploadedBytes bytes sent for blobs
 * @param elapsed       wall time
 */
public record PushResult(Reference target, Descriptor top, List<Descriptor> manifests, List<BlobPush> blobs,
                         long uploadedBytes, Duration elapsed) {

    /** How a blob reached the target. */
    public enum How {
        /** The target repository had it already. */
        EXISTED,
        /** Mounted from another repository of the same registry, without sending its bytes. */
        MOUNTED,
        /** Its bytes were uploaded. */
        UPLOADED
    }

    /**
     * One blob.
     *
     * @param descriptor the blob
     * @param how how it reached the target
     * @param mountedFrom the repository it was mounted from ({@code registry/repository}), or null unless MOUNTED
     */
    public record BlobPush(Descriptor descriptor, How how, String mountedFrom) {
    }
}
