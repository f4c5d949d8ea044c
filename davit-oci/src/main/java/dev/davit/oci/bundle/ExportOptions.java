package dev.davit.oci.bundle;

import java.util.Objects;

/**
 * Options of an export.
 *
 * @param metadata    bundle metadata written as {@code index.json} annotations ({@link BundleMetadata#NONE} for none)
 * @param compression how to compress the whole tar; null picks it from the file name ({@code .gz}/{@code .tgz}
 *                    gzip, {@code .zst}/{@code .tzst} zstd, else none)
 * @param verify      re-read the written file before it replaces {@code file}: structure, every blob's digest,
 *                    {@code index.json} and {@code oci-layout} byte for byte
 */
public record ExportOptions(BundleMetadata metadata, Compression compression, boolean verify) {
    public ExportOptions {
        Objects.requireNonNull(metadata, "metadata");
    }

    /** No metadata, compression from the file name, verification on. */
    public static ExportOptions defaults() {
        return new ExportOptions(BundleMetadata.NONE, null, true);
    }

    public ExportOptions withMetadata(BundleMetadata m) {
        return new ExportOptions(m, compression, verify);
    }

    public ExportOptions withCompression(Compression c) {
        return new ExportOptions(metadata, c, verify);
    }

    public ExportOptions withVerify(boolean v) {
        return new ExportOptions(metadata, compression, v);
    }
}
