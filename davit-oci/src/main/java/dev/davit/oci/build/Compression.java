package dev.davit.oci.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import dev.davit.oci.manifest.MediaTypes;
import java.util.Locale;

/** How a built layer is compressed, with the OCI media type and the level range of each. */
public enum Compression {
    /** gzip (deflate) with a fixed header: no file name, no modification time, OS "unknown". */
    GZIP(MediaTypes.OCI_LAYER_GZIP, 1, 9, 6),
    /** zstd (one frame, single-threaded, no checksum), through zstd-jni's bundled libzstd. */
    ZSTD(MediaTypes.OCI_LAYER_ZSTD, 1, 22, 3),
    /** The plain tar. */
    NONE(MediaTypes.OCI_LAYER, 0, 0, 0);

    private final String mediaType;
    private final int minLevel;
    private final int maxLevel;
    private final int defaultLevel;

    Compression(String mediaType, int minLevel, int maxLevel, int defaultLevel) {
        this.mediaType = mediaType;
        this.minLevel = minLevel;
        this.maxLevel = maxLevel;
        this.defaultLevel = defaultLevel;
    }

    /** {@return the layer media type: {@code application/vnd.oci.image.layer.v1.tar[+gzip|+zstd]}} */
    public String mediaType() {
        return mediaType;
    }

    /** {@return the lowest level allowed: 1, or 0 for none} */
    public int minLevel() {
        return minLevel;
    }

    /** {@return the highest level allowed: gzip 9, zstd 22, none 0} */
    public int maxLevel() {
        return maxLevel;
    }

    /** {@return the level used when none is given: gzip 6 (zlib's default), zstd 3 (libzstd's default); 0 for none} */
    public int defaultLevel() {
        return defaultLevel;
    }

    /** {@return the lower-case name used on the command line and in JSON: {@code gzip}, {@code zstd}, {@code none}} */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code gzip}, {@code zstd} or {@code none} (case-insensitive).
     *
     * @param text the name; surrounding white space is ignored
     * @return the compression
     * @throws DavitException of kind USAGE for anything else
     */
    public static Compression parse(String text) {
        if (text != null) {
            for (Compression c : values()) {
                if (c.id().equalsIgnoreCase(text.trim())) {
                    return c;
                }
            }
        }
        throw new DavitException(DavitException.Kind.USAGE, "unknown compression '"
                + Text.shorten(text == null ? "" : text, 40) + "': use gzip, zstd or none");
    }
}
