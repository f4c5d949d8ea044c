package dev.davit.oci.registry;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A request body of known length that can be opened again (a retried request sends it again). Large blobs are
 * streamed from their source, never held in memory.
 */
public interface RequestBody {
    /** {@return the body's length in bytes, sent as {@code Content-Length}} */
    long length();

    /**
     * {@return a fresh stream of exactly {@link #length()} bytes} The caller closes it.
     *
     * @throws IOException if the content cannot be opened
     */
    InputStream open() throws IOException;

    /**
     * {@return a body of {@code bytes}}
     *
     * @param bytes the content; not copied, so it must not change while the body is in use
     */
    static RequestBody of(byte[] bytes) {
        return new RequestBody() {
            @Override
            public long length() {
                return bytes.length;
            }

            @Override
            public InputStream open() {
                return new ByteArrayInputStream(bytes);
            }
        };
    }

    /**
     * {@return a body that opens {@code source} anew for each attempt}
     *
     * @param length the exact number of bytes {@code source}'s streams give
     * @param source opens the content from its first byte, once per attempt
     */
    static RequestBody of(long length, IoSupplier<InputStream> source) {
        return new RequestBody() {
            @Override
            public long length() {
                return length;
            }

            @Override
            public InputStream open() throws IOException {
                return source.get();
            }
        };
    }

    /**
     * A supplier that may fail with an IOException.
     *
     * @param <T> what it supplies
     */
    @FunctionalInterface
    interface IoSupplier<T> {
        /**
         * {@return a new value}
         *
         * @throws IOException if it cannot be made
         */
        T get() throws IOException;
    }
}
