package dev.davit.sandbox;

import java.util.List;

/**
 * What {@link Sandboxes#changes} wrote: a sandbox's changes to its image, as one layer.
 *
 * @param entries   the layer's entries (directories, files, links, whiteouts; opaque markers not counted)
 * @param files     the regular files whose content it holds
 * @param bytes     their bytes together
 * @param whiteouts the paths of the image it deletes
 * @param newest    the newest modification time among the entries, seconds since the epoch (0: none)
 * @param skipped   paths left out: fifos, sockets and device nodes the sandbox made
 */
public record Changes(long entries, long files, long bytes, long whiteouts, long newest, List<String> skipped) {
    /** Copies the list. */
    public Changes {
        skipped = List.copyOf(skipped);
    }
}
