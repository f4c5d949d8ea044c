package dev.davit.oci.unpack;

/**
 * A tar entry that must not be applied (it would write outside the root, through a link, or is malformed). The
 * {@link LayerApplier} turns it into a {@link dev.davit.oci.DavitException} naming the layer and the entry.
 */
final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    Refused(String reason) {
        super(reason, null, false, false);
    }
}
