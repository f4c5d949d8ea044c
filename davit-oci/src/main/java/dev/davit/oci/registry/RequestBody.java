package dev.davit.oci.registry;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A request body of known length that can be opened again (a retried request sends it again). Large blobs are
 * streamed from their source, never held in memory.
 */
public interface RequestBody {
    long length();

    /** A fresh stream of exactly {@link #length()} bytes. */
    InputStream open() throws IOException;

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

    /** A body that opens {@code source} anew for each attempt. */
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

    /** A supplier that may fail with an IOException. */
    @FunctionalInterface
    interface IoSupplier<T> {
        T get() throws IOException;
    }
}
