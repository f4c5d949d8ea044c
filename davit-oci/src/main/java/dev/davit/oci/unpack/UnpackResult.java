package dev.davit.oci.unpack;

import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The outcome of an unpack.
 *
 * @param dir          the root filesystem written (absolute)
 * @param manifest     the image manifest whose layers were applied (the platform's, when an index was given)
 * @param platform     {@code os/arch[/variant]} from the image config, or null when it names none
 * @param layers       the layers applied, in order, with their verified diff_ids
 * @param files        regular files written (hardlinks not included)
 * @param directories  directories created or updated by a directory entry
 * @param symlinks     symbolic links created
 * @param hardlinks    hard links created
 * @param specialFiles device nodes and fifos created
 * @param whiteouts    whiteout and opaque whiteout entries applied
 * @param bytes        bytes of file content written
 * @param skipped      entries not written, with why (at most {@link #MAX_SKIPPED_LISTED}; see {@code skippedTotal})
 * @param skippedTotal how many entries were skipped in all
 * @param notes        things worth knowing that did not stop the unpack, each once
 * @param elapsed      wall time
 */
public record UnpackResult(Path dir, Descriptor manifest, String platform, List<Layer> layers, long files,
                           long directories, long symlinks, long hardlinks, long specialFiles, long whiteouts,
                           long bytes, List<Skipped> skipped, long skippedTotal, List<String> notes,
                           Duration elapsed) {
    /** How many skipped entries {@link #skipped()} lists at most. */
    public static final int MAX_SKIPPED_LISTED = 100;

    /**
     * Copies the lists.
     *
     * @param dir the root filesystem
     * @param manifest the manifest applied
     * @param platform the platform, or null
     * @param layers the layers; not null
     * @param files regular files written
     * @param directories directories
     * @param symlinks symbolic links
     * @param hardlinks hard links
     * @param specialFiles device nodes and fifos
     * @param whiteouts whiteouts applied
     * @param bytes bytes written
     * @param skipped skipped entries listed; not null
     * @param skippedTotal skipped entries in all
     * @param notes notes; not null
     * @param elapsed the wall time
     */
    public UnpackResult {
        layers = List.copyOf(layers);
        skipped = List.copyOf(skipped);
        notes = List.copyOf(notes);
    }

    /**
     * One applied layer.
     *
     * @param descriptor the layer blob's descriptor
     * @param diffId the digest of its uncompressed tar, verified against the config's {@code rootfs.diff_ids}
     */
    public record Layer(Descriptor descriptor, Digest diffId) {
    }

    /**
     * An entry that was not written.
     *
     * @param path the entry's path in the layer (shortened to 300 characters)
     * @param reason why it was skipped, one line, e.g. {@code AUFS metadata, not part of the image}
     */
    public record Skipped(String path, String reason) {
    }
}
