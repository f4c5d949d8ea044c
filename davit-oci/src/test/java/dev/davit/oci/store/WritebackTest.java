package dev.davit.oci.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A large blob is forced to the disk in steps while it is written; what that must never change. */
class WritebackTest {
    @TempDir
    Path dir;

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void aLargeBlobWrittenInStepsWithARestartCommitsExactlyItsBytes() throws Exception {
        OciStore store = OciStore.open(dir);
        byte[] data = random((int) (3 * Writeback.STEP + 12345), 1);
        Descriptor d = new Descriptor(MediaTypes.OCI_LAYER, Digest.sha256(data), data.length);
        try (BlobIngest in = store.ingest(d)) {
            // half of it, then thrown away (a server that ignored Range): the restart waits for the force in flight
            in.write(data, 0, data.length / 2);
            in.restart();
            for (int off = 0; off < data.length; off += 1 << 17) {
                in.write(data, off, Math.min(1 << 17, data.length - off));
            }
            in.commit();
        }
        assertThat(Files.readAllBytes(store.blobPath(d.digest()))).isEqualTo(data);
    }

    @Test
    void aLargeBlobInterruptedMidwayResumesFromItsBytes() throws Exception {
        OciStore store = OciStore.open(dir);
        byte[] data = random((int) (2 * Writeback.STEP + 7), 2);
        Descriptor d = new Descriptor(MediaTypes.OCI_LAYER, Digest.sha256(data), data.length);
        int cut = (int) Writeback.STEP + 99;
        try (BlobIngest in = store.ingest(d)) {
            in.write(data, 0, cut);   // closed without commit while a force may still be running
        }
        try (BlobIngest in = store.ingest(d)) {
            assertThat(in.offset()).isEqualTo(cut);
            in.write(data, cut, data.length - cut);
            in.commit();
        }
        assertThat(Files.readAllBytes(store.blobPath(d.digest()))).isEqualTo(data);
    }

    @Test
    void aFailedForceInTheBackgroundFailsTheCommit() throws Exception {
        // Linux reports a write-back error to one fsync of an open file only: the commit must not trust its own
        try (FileChannel real = FileChannel.open(dir.resolve("f"), java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE)) {
            AtomicInteger forces = new AtomicInteger();
            CountDownLatch forced = new CountDownLatch(1);
            FileChannel failing = new Delegating(real) {
                @Override
                public void force(boolean metaData) throws IOException {
                    forces.incrementAndGet();
                    forced.countDown();
                    throw new IOException("Input/output error");
                }
            };
            Writeback w = new Writeback(failing, 0);
            w.written(Writeback.STEP - 1);
            assertThat(forces).hasValue(0);
            w.written(Writeback.STEP);
            forced.await();
            assertThatThrownBy(w::finish).isInstanceOf(IOException.class).hasMessage("Input/output error");
            w.written(3 * Writeback.STEP);
            assertThatThrownBy(w::finish).isInstanceOf(IOException.class).hasMessage("Input/output error");
            assertThat(forces).hasValue(2);
        }
    }

    /** A channel that passes everything to a real one (for a fault the file system will not produce on demand). */
    private static class Delegating extends FileChannel {
        private final FileChannel d;

        Delegating(FileChannel d) {
            this.d = d;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return d.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return d.read(dsts, offset, length);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return d.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            return d.write(srcs, offset, length);
        }

        @Override
        public long position() throws IOException {
            return d.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            d.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return d.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            d.truncate(size);
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            d.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return d.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            return d.transferFrom(src, position, count);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return d.read(dst, position);
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            return d.write(src, position);
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            return d.map(mode, position, size);
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return d.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return d.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            d.close();
        }
    }
}
