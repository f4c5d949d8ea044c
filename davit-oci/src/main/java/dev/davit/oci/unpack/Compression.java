package dev.davit.oci.unpack;

import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;

/**
 * How a layer blob is compressed. The media type decides (OCI {@code +gzip}/{@code +zstd}, Docker
 * {@code .tar.gzip}, plain {@code .tar}); the first bytes are sniffed as a fallback for unknown media types and
 * win over the media type when they are a gzip or zstd magic number (as Docker does), so a mislabelled layer
 * still unpacks. The diff_id check afterwards catches any wrong guess.
 */
enum Compression {
    NONE, GZIP, ZSTD;

    private static final int BUFFER = 1 << 16;

    /** What the media type says, or null when it does not say. */
    static Compression fromMediaType(String mediaType) {
        if (mediaType.endsWith("+gzip") || mediaType.endsWith(".gzip") || mediaType.endsWith(".tar.gz")) {
            return GZIP;
        }
        if (mediaType.endsWith("+zstd") || mediaType.endsWith(".zstd")) {
            return ZSTD;
        }
        if (mediaType.endsWith(".tar") || mediaType.endsWith("/x-tar")) {
            return NONE;
        }
        return null;
    }

    /** What the first bytes say: gzip ({@code 1f 8b}), zstd ({@code 28 b5 2f fd}), else null. */
    static Compression sniff(byte[] head, int n) {
        if (n >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
            return GZIP;
        }
        if (n >= 4 && (head[0] & 0xff) == 0x28 && (head[1] & 0xff) == 0xb5 && (head[2] & 0xff) == 0x2f
                && (head[3] & 0xff) == 0xfd) {
            return ZSTD;
        }
        return null;
    }

    /** The compression of a blob: the magic number when it has one, else the media type's, else none. */
    static Compression detect(String mediaType, byte[] head, int n) {
        Compression sniffed = sniff(head, n);
        if (sniffed != null) {
            return sniffed;
        }
        Compression declared = fromMediaType(mediaType);
        return declared == null ? NONE : declared;
    }

    /** The compression of the blob {@code in} reads (its first bytes looked at, then given back), of {@code mediaType}. */
    static Compression detect(String mediaType, java.io.BufferedInputStream in) throws IOException {
        in.mark(4);
        byte[] head = in.readNBytes(4);
        in.reset();
        return detect(mediaType, head, head.length);
    }

    /** The uncompressed stream of {@code in}. */
    InputStream decompress(InputStream in) throws IOException {
        return switch (this) {
            case NONE -> in;
            case GZIP -> new GZIPInputStream(in, BUFFER);
            case ZSTD -> new ZstdInputStreamNoFinalizer(in);
        };
    }

    /** Lower-case name for messages. */
    String label() {
        return switch (this) {
            case NONE -> "uncompressed";
            case GZIP -> "gzip";
            case ZSTD -> "zstd";
        };
    }
}
