package dev.davit.oci.build;

import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import dev.davit.oci.digest.Digest;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * The output streams of a layer pipeline: {@code tar -> hash (diff_id) -> fixed chunks -> compressor -> hash
 * (blob digest) -> sink}. Every stage is deterministic: the compressor always sees the same sequence of
 * equally sized writes and is never flushed before the end, so the same tar always compresses to the same bytes.
 */
final class LayerStreams {
    private LayerStreams() {
    }

    /** The size of every write the compressor sees (except the last). */
    static final int CHUNK = 1 << 16;

    /** Forwards bytes while hashing and counting them. {@link #close()} closes the next stage. */
    static final class Hashing extends OutputStream {
        private final OutputStream next;
        private final MessageDigest md = Digest.Algorithm.SHA256.newMessageDigest();
        private long count;

        Hashing(OutputStream next) {
            this.next = next;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            md.update(b, off, len);
            count += len;
            next.write(b, off, len);
        }

        long count() {
            return count;
        }

        /** The sha256 of everything written; call once, after the last write. */
        Digest digest() {
            return Digest.fromBytes(Digest.Algorithm.SHA256, md.digest());
        }

        @Override
        public void flush() {
            // never flushed mid-stream: a flush would change compressed output
        }

        @Override
        public void close() throws IOException {
            next.close();
        }
    }

    /**
     * Buffers writes into chunks of exactly {@link #CHUNK} bytes, so what comes after sees the same calls whatever
     * sizes the tar writer happened to use. Flushes are swallowed; {@link #close()} writes the rest and closes the
     * next stage.
     */
    static final class Chunker extends OutputStream {
        private final OutputStream next;
        private final byte[] buf = new byte[CHUNK];
        private int n;

        Chunker(OutputStream next) {
            this.next = next;
        }

        @Override
        public void write(int b) throws IOException {
            buf[n++] = (byte) b;
            if (n == CHUNK) {
                next.write(buf, 0, CHUNK);
                n = 0;
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                int k = Math.min(len, CHUNK - n);
                System.arraycopy(b, off, buf, n, k);
                n += k;
                off += k;
                len -= k;
                if (n == CHUNK) {
                    next.write(buf, 0, CHUNK);
                    n = 0;
                }
            }
        }

        @Override
        public void flush() {
            // see class comment
        }

        @Override
        public void close() throws IOException {
            if (n > 0) {
                next.write(buf, 0, n);
                n = 0;
            }
            next.close();
        }
    }

    /**
     * gzip (RFC 1952) with a fixed 10-byte header: no name, no comment, modification time 0, OS 255 (unknown);
     * the extra-flags byte says 2 for level 9 and 4 for level 1, as zlib does. {@link #close()} writes the trailer
     * and closes the next stage.
     */
    static final class Gzip extends OutputStream {
        private final OutputStream next;
        private final Deflater deflater;
        private final CRC32 crc = new CRC32();
        private final byte[] out = new byte[CHUNK];
        private long total;
        private boolean closed;

        Gzip(OutputStream next, int level) throws IOException {
            this.next = next;
            this.deflater = new Deflater(level, true);
            byte xfl = (byte) (level == 9 ? 2 : level == 1 ? 4 : 0);
            next.write(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, xfl, (byte) 0xff});
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return;
            }
            crc.update(b, off, len);
            total += len;
            deflater.setInput(b, off, len);
            while (!deflater.needsInput()) {
                drain(Deflater.NO_FLUSH);
            }
        }

        private void drain(int flush) throws IOException {
            int k = deflater.deflate(out, 0, out.length, flush);
            if (k > 0) {
                next.write(out, 0, k);
            }
        }

        @Override
        public void flush() {
            // see LayerStreams
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                deflater.finish();
                while (!deflater.finished()) {
                    drain(Deflater.NO_FLUSH);
                }
                byte[] trailer = new byte[8];
                int c = (int) crc.getValue();
                int s = (int) total;
                for (int i = 0; i < 4; i++) {
                    trailer[i] = (byte) (c >>> (8 * i));
                    trailer[4 + i] = (byte) (s >>> (8 * i));
                }
                next.write(trailer);
            } finally {
                deflater.end();
            }
            next.close();
        }
    }

    /** One zstd frame: single-threaded, no checksum, no pledged size; never flushed before the end. */
    static OutputStream zstd(OutputStream next, int level) throws IOException {
        ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(next, level);
        z.setChecksum(false);
        z.setWorkers(0);
        z.setCloseFrameOnFlush(false);
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                z.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                z.write(b, off, len);
            }

            @Override
            public void flush() {
                // see LayerStreams
            }

            @Override
            public void close() throws IOException {
                z.close();
            }
        };
    }

    /**
     * The end of the pipeline: passes writes on but never closes {@code next} (the caller owns it). After
     * {@link #drop()} writes are discarded, so a failed pipeline can be closed (releasing the compressor's native
     * memory) without writing anything more.
     */
    static final class Sink extends OutputStream {
        private final OutputStream next;
        private boolean dropped;

        Sink(OutputStream next) {
            this.next = next;
        }

        void drop() {
            dropped = true;
        }

        @Override
        public void write(int b) throws IOException {
            if (!dropped) {
                next.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (!dropped) {
                next.write(b, off, len);
            }
        }

        @Override
        public void close() {
            // owned by the caller
        }
    }
}
