package dev.davit.oci.unpack;

import java.util.Objects;

/**
 * Immutable settings of an {@link Unpacker}, built once with {@link #builder()}. Out-of-range values are rejected
 * when built.
 *
 * @param maxBytes   the most uncompressed layer data (tar headers and contents of all layers together) an unpack
 *                   may read; a defence against decompression bombs. An entry that declares more than what is left
 *                   is refused before anything of it is written.
 * @param maxEntries the most tar entries (of all layers together, whiteouts included) an unpack may process
 * @param privileges whether to act as root (keep ownership, create device nodes) or rootless
 */
public record UnpackOptions(long maxBytes, long maxEntries, Privileges privileges) {
    /** Default {@link #maxBytes()}: 32 GiB. */
    public static final long DEFAULT_MAX_BYTES = 32L << 30;
    /** Default {@link #maxEntries()}: one million. */
    public static final long DEFAULT_MAX_ENTRIES = 1_000_000;

    /** How ownership and special files are handled. */
    public enum Privileges {
        /** {@link #ROOT} when the process runs as uid 0, else {@link #ROOTLESS}. */
        AUTO,
        /**
         * Ownership (numeric uid and gid) is kept, device nodes and fifos are created with {@code mknod}. Needs
         * root (or {@code CAP_CHOWN} and {@code CAP_MKNOD}).
         */
        ROOT,
        /**
         * Every file belongs to the current user; device nodes are skipped with a note, fifos are still created.
         * The result matches {@code umoci unpack --rootless}.
         */
        ROOTLESS
    }

    /**
     * Checks the settings; {@link #builder()} is the usual way to make them.
     *
     * @param maxBytes the byte limit, positive
     * @param maxEntries the entry limit, positive
     * @param privileges the privileges; not null
     * @throws IllegalArgumentException if a limit is not positive
     * @throws NullPointerException if {@code privileges} is null
     */
    public UnpackOptions {
        Objects.requireNonNull(privileges, "privileges");
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes must be positive");
        }
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be positive");
        }
    }

    /** {@return the defaults: 32 GiB, one million entries, privileges from the current user} */
    public static UnpackOptions defaults() {
        return builder().build();
    }

    /** {@return a new builder with the defaults of {@link #defaults()}} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return a builder holding these settings, to change some of them} */
    public Builder toBuilder() {
        return new Builder().maxBytes(maxBytes).maxEntries(maxEntries).privileges(privileges);
    }

    /** Builds {@link UnpackOptions}. */
    public static final class Builder {
        private long maxBytes = DEFAULT_MAX_BYTES;
        private long maxEntries = DEFAULT_MAX_ENTRIES;
        private Privileges privileges = Privileges.AUTO;

        private Builder() {
        }

        /**
         * Sets the most uncompressed layer data an unpack may read; default {@link #DEFAULT_MAX_BYTES}.
         *
         * @param v the limit in bytes, positive
         * @return this builder
         */
        public Builder maxBytes(long v) {
            this.maxBytes = v;
            return this;
        }

        /**
         * Sets the most tar entries an unpack may process; default {@link #DEFAULT_MAX_ENTRIES}.
         *
         * @param v the limit, positive
         * @return this builder
         */
        public Builder maxEntries(long v) {
            this.maxEntries = v;
            return this;
        }

        /**
         * Sets how ownership and special files are handled; default {@link Privileges#AUTO}.
         *
         * @param v the privileges; not null
         * @return this builder
         */
        public Builder privileges(Privileges v) {
            this.privileges = v;
            return this;
        }

        /**
         * {@return the settings}
         *
         * @throws IllegalArgumentException if a limit is not positive
         * @throws NullPointerException if the privileges are null
         */
        public UnpackOptions build() {
            return new UnpackOptions(maxBytes, maxEntries, privileges);
        }
    }
}
