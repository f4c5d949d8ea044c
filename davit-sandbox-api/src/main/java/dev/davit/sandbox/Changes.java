package dev.davit.sandbox;

import java.util.List;

/**
 * What {@code Sandboxes.changes} wrote: a sandbox's changes to its image, as one layer.
 *
 * @param entries   the layer's entries (directories, files, links, whiteouts; opaque markers not counted)
 * @param files     the regular files whose content it holds
 * @param bytes     their bytes together
 * @param whiteouts the paths of the image it deletes
 * @param newest    the newest modification time among the entries, seconds since the epoch (0: none)
 * @param skipped   paths left out: fifos, sockets and device nodes the sandbox made, and files it named
 *                  {@code .wh.*} (a layer's whiteout names)
 */
public record Changes(long entries, long files, long bytes, long whiteouts, long newest, List<String> skipped) {
    /** Copies the list. */
    public Changes {
        skipped = List.copyOf(skipped);
    }

    /**
     * What a layer of changes writes of a file instead of its bytes (e.g. a commit's trust stores without davit's egress
     * CA). A file it wants is read twice (to size what it gives, then to write it); bytes are streamed, never held.
     */
    public interface Rewrite {
        /** Writes every file as it is. */
        Rewrite NONE = new Rewrite() {
            @Override
            public boolean wants(String path) {
                return false;
            }

            @Override
            public java.io.InputStream apply(java.io.InputStream content) {
                return content;
            }
        };

        /**
         * Whether the file at {@code path} goes through {@link #apply}.
         *
         * @param path the file's path in the layer, relative (e.g. {@code etc/ssl/certs/ca-certificates.crt})
         * @return true to rewrite it
         */
        boolean wants(String path);

        /**
         * The bytes to write for a file's {@code content}: the same every time for the same content. None: the file
         * is left out.
         *
         * @param content the file's bytes
         * @return what to write
         */
        java.io.InputStream apply(java.io.InputStream content);

        /**
         * Whether the entry at {@code path}, and all below it, is left out of the layer (e.g. /workspace in a
         * snapshot that carries it apart). By default none is.
         *
         * @param path the entry's path in the layer, relative (e.g. {@code workspace})
         * @return true to leave it out
         */
        default boolean leaves(String path) {
            return false;
        }
    }
}
