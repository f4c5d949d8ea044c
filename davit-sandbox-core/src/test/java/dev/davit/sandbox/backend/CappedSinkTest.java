package dev.davit.sandbox.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.Captured;
import dev.davit.sandbox.ExecResult;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link CappedSink}: chunks that are never regrown, the cap exact, and {@link Captured} read out of them. */
class CappedSinkTest {

    @Test
    void aShortOutputIsOneSmallChunk() {
        CappedSink s = new CappedSink();
        s.write("hello".getBytes(), 0, 5);
        Captured c = s.captured();
        assertThat(c.size()).isEqualTo(5);
        assertThat(c.chunks()).hasSize(1);
        assertThat(c.chunks().get(0).array()).hasSize(8192);
        assertThat(c.bytes()).isEqualTo("hello".getBytes());
        assertThat(s.truncated()).isFalse();
        assertThat(new CappedSink().captured().size()).isZero();
        assertThat(new CappedSink().captured().bytes()).isEmpty();
    }

    @Test
    void writesAcrossChunkEdgesKeepEveryByteInOrder() throws Exception {
        byte[] in = new byte[5_000_000];
        new Random(7).nextBytes(in);
        CappedSink s = new CappedSink();
        Random sizes = new Random(8);
        for (int at = 0; at < in.length; ) {
            int n = Math.min(in.length - at, 1 + sizes.nextInt(70_000));
            s.write(in, at, n);
            at += n;
        }
        Captured c = s.captured();
        assertThat(c.size()).isEqualTo(in.length);
        assertThat(s.truncated()).isFalse();
        int expectedChunk = 8192;
        int sum = 0;
        for (ByteBuffer b : c.chunks()) {
            assertThat(b.array()).as("chunk %d", sum).hasSize(expectedChunk); // 8 KiB, doubling, then 1 MiB each
            sum += b.remaining();
            expectedChunk = Math.min(CappedSink.CHUNK, expectedChunk * 2);
        }
        assertThat(sum).isEqualTo(in.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        c.writeTo(out);
        assertThat(out.toByteArray()).isEqualTo(in);
        assertThat(c.range(8000, 8400)).isEqualTo(java.util.Arrays.copyOfRange(in, 8000, 8400)); // over an edge
        assertThat(c.range(in.length - 3, in.length)).isEqualTo(java.util.Arrays.copyOfRange(in, in.length - 3,
                in.length));
        assertThat(c.bytes()).isEqualTo(in);
        assertThat(c.chunks()).hasSize(1); // made once, and from then on the only copy kept
        assertThat(c.bytes()).isSameAs(c.bytes());
    }

    @Test
    void theCapIsExactAndNothingPastItIsKept() {
        int cap = 3 * CappedSink.CHUNK + 5;
        byte[] block = new byte[100_000];
        java.util.Arrays.fill(block, (byte) 'y');
        CappedSink exact = new CappedSink(cap);
        CappedSink over = new CappedSink(cap);
        int written = 0;
        while (written < cap) {
            int n = Math.min(block.length, cap - written);
            exact.write(block, 0, n);
            over.write(block, 0, n);
            written += n;
        }
        assertThat(exact.truncated()).isFalse();
        assertThat(exact.captured().size()).isEqualTo(cap);
        over.write(block, 0, 1);
        assertThat(over.truncated()).isTrue();
        Captured c = over.captured();
        assertThat(c.size()).isEqualTo(cap);
        // no chunk past the cap: the last is cut to what was left, so the memory kept is the cap itself
        assertThat(c.chunks().stream().mapToInt(b -> b.array().length).sum()).isEqualTo(cap);
        assertThat(c.bytes()).containsOnly((byte) 'y');
        over.write(block, 0, block.length);
        assertThat(over.captured().size()).isEqualTo(cap);
    }

    @Test
    void theDefaultCapIsPerStream() {
        byte[] mib = new byte[CappedSink.CHUNK];
        CappedSink out = new CappedSink();
        CappedSink err = new CappedSink();
        for (int i = 0; i < ExecResult.MAX_CAPTURED_BYTES / mib.length + 1; i++) {
            out.write(mib, 0, mib.length);
            if (i < 2) {
                err.write(mib, 0, mib.length);
            }
        }
        assertThat(out.truncated()).isTrue();
        assertThat(out.captured().size()).isEqualTo(ExecResult.MAX_CAPTURED_BYTES);
        assertThat(err.truncated()).isFalse(); // a flood on stdout takes nothing from stderr
        assertThat(err.captured().size()).isEqualTo(2 * mib.length);
    }
}
