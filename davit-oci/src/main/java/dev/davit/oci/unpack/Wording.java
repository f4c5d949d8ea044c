package dev.davit.oci.unpack;

import dev.davit.oci.Action;
import dev.davit.oci.Input;
import dev.davit.oci.Message;

/**
 * How unpack errors name what is unpacked and what to do when a limit is passed: an image's layers (the
 * {@code davit unpack} options), an archive file the caller gave ({@link TarExtractor#extract}) or a plain tar from an
 * untrusted sender ({@link TarExtractor#extractUntrusted}).
 *
 * @param subject      what the entry limit applies to, e.g. {@code the image}
 * @param raiseEntries appended when the entry (or name) limit is passed
 * @param raiseBytes   appended when the byte limit is passed
 * @param refused      appended when an entry is refused
 * @param malformed    appended when a tar header is too large
 * @param corrupt      appended when the stream is not a valid tar
 */
record Wording(String subject, Message raiseEntries, Message raiseBytes, String refused, String malformed,
               Message corrupt) {
    static final Wording IMAGE = new Wording("the image", Message.of("; raise ", Input.MAX_ENTRIES, " if you trust"
            + " the image"), Message.of("; raise ", Input.MAX_BYTES, " if you trust the image"),
            "; the image is malformed or hostile, nothing was unpacked", "; the layer is malformed or hostile",
            Message.of("; the blob may be corrupt (run ", Action.FSCK.fix(), ") or not a layer"));

    /**
     * For an archive the caller gave as a file ({@link TarExtractor#extract}, a workspace's seed), described as
     * {@code what}: its fault is the file's, never the store's.
     */
    static Wording given(String what) {
        Message smaller = Message.of("; give a smaller archive");
        return new Wording(what, smaller, smaller, "; the archive is malformed or hostile",
                "; the archive is malformed or hostile", Message.of("; give a .tar, .tar.gz or .tar.zst file"));
    }

    /** For a plain tar described as {@code what}; {@code raise} is appended when a limit is passed. */
    static Wording untrusted(String what, String raise) {
        return new Wording(what, Message.of(raise), Message.of(raise), "; its sender is broken or hostile, and it"
                + " was not used", "; its sender is broken or hostile", Message.of("; its sender is broken or hostile"));
    }
}
