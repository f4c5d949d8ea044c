package dev.davit.oci.bundle;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * How a whole bundle tar is compressed. Import detects it from the file's first bytes, never from its name.
 * Output is deterministic: gzip headers carry no time or file name, zstd runs single-threaded at a fixed level.
 */
public enum Compression {
    /** A plain tar ({@code .tar}); {@code davit bundle inspect} can seek in it. */
    NONE("none"),
    /** gzip ({@code .tar.gz}, {@code .tgz}). */
    GZIP("gzip"),
    /** Zstandard ({@code .tar.zst}, {@code .tzst}). */
    ZSTD("zstd");

    private static final int BUF = 1 << 16;
    private static final int ZSTD_LEVEL = 3;

    private final String id;

    Compression(String id) {
        this.id = id;
    }

    /** {@return the name used on the command line and in JSON: {@code none}, {@code gzip} or {@code zstd}} */
    public String id() {
        return id;
    }

    /**
     * Parses {@code none}, {@code gzip} ({@code gz}) or {@code zstd} ({@code zst}).
     *
     * @param text the name, case-insensitive; {@code tar} also means none
     * @return the compression
     * @throws DavitException of kind USAGE for anything else
     */
    public static Compression parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        return switch (t) {
            case "none", "tar" -> NONE;
            case "gzip", "gz" -> GZIP;
            case "zstd", "zst" -> ZSTD;
            default -> throw new DavitException(DavitException.Kind.USAGE, "unknown compression '"
                    + Text.shorten(text, 40) + "'; use gzip, zstd or none");
        };
    }

    /**
     * {@return what a file name suggests: {@code .gz}/{@code .tgz} gzip, {@code .zst}/{@code .tzst}/{@code .zstd}
     * zstd, else none}
     *
     * @param file the bundle file; only its name is looked at
     */
    public static Compression fromFileName(Path file) {
        Path name = file.getFileName();
        String n = name == null ? "" : name.toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".gz") || n.endsWith(".tgz")) {
            return GZIP;
        }
        if (n.endsWith(".zst") || n.endsWith(".tzst") || n.endsWith(".zstd")) {
            return ZSTD;
        }
        return NONE;
    }

    /**
     * Recognises gzip and zstd by their magic numbers; anything else is taken for a plain tar (the tar reader
     * then judges it). xz and bzip2 are recognised only to be refused with a clear message.
     */
    static Compression detect(byte[] head, int n, String what) {
        if (n >= 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b) {
            return GZIP;
        }
        if (n >= 4 && (head[0] & 0xff) == 0x28 && (head[1] & 0xff) == 0xb5 && (head[2] & 0xff) == 0x2f
                && (head[3] & 0xff) == 0xfd) {
            return ZSTD;
        }
        if (n >= 6 && (head[0] & 0xff) == 0xfd && head[1] == '7' && head[2] == 'z' && head[3] == 'X' && head[4] == 'Z') {
            throw unsupported(what, "xz");
        }
        if (n >= 3 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h') {
            throw unsupported(what, "bzip2");
        }
        return NONE;
    }

    private static DavitException unsupported(String what, String kind) {
        return new DavitException(DavitException.Kind.USAGE, what + " is compressed with " + kind
                + ", which davit does not read; recompress it with gzip or zstd, or decompress it to a plain tar");
    }

    /** Wraps {@code out} in this compression; closing the result finishes the compressed stream. */
    OutputStream compress(OutputStream out) throws IOException {
        return switch (this) {
            case NONE -> out;
            case GZIP -> new GZIPOutputStream(out, BUF);
            case ZSTD -> {
                ZstdOutputStream z = new ZstdOutputStream(out, ZSTD_LEVEL);
                z.setChecksum(true);
                yield z;
            }
        };
    }

    /** Wraps {@code in} to decompress (concatenated gzip members and zstd frames are read as one stream). */
    InputStream decompress(InputStream in) throws IOException {
        return switch (this) {
            case NONE -> in;
            case GZIP -> new GZIPInputStream(in, BUF);
            case ZSTD -> new ZstdInputStream(in);
        };
    }

    @Override
    public String toString() {
        return id;
    }
}
