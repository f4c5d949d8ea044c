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
    /**
     * Checks the metadata.
     *
     * @param metadata the metadata; not null
     * @param compression the compression, or null for the file name's
     * @param verify whether to re-read the file
     * @throws NullPointerException if {@code metadata} is null
     */
    public ExportOptions {
        Objects.requireNonNull(metadata, "metadata");
    }

    /** {@return the defaults: no metadata, compression from the file name, verification on} */
    public static ExportOptions defaults() {
        return new ExportOptions(BundleMetadata.NONE, null, true);
    }

    /**
     * {@return these options with other metadata}
     *
     * @param m the metadata; not null, {@link BundleMetadata#NONE} for none
     */
    public ExportOptions withMetadata(BundleMetadata m) {
        return new ExportOptions(m, compression, verify);
    }

    /**
     * {@return these options with another compression}
     *
     * @param c the compression, or null to pick it from the file name
     */
    public ExportOptions withCompression(Compression c) {
        return new ExportOptions(metadata, c, verify);
    }

    /**
     * {@return these options with verification on or off}
     *
     * @param v true to re-read and check the file before it replaces the target
     */
    public ExportOptions withVerify(boolean v) {
        return new ExportOptions(metadata, compression, v);
    }
}
