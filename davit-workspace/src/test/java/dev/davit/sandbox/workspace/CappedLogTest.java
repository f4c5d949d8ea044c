package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.internal.Spawned;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading capped logs from their end, and the exec log's own cap. */
class CappedLogTest {
    @TempDir
    Path tmp;

    @Test
    void aGibibyteWithoutANewlineIsTailedPromptlyFromItsEnd() throws Exception {
        // as a service left it before logs had a cap: 1 GiB (sparse: zeros), no newline, then a last word
        Path out = tmp.resolve(Spawned.OUTPUT);
        try (RandomAccessFile f = new RandomAccessFile(out.toFile(), "rw")) {
            f.setLength(1L << 30);
            f.seek(1L << 30);
            f.write("last".getBytes(StandardCharsets.US_ASCII));
        }
        long t0 = System.nanoTime();
        CappedLog.Tail t = CappedLog.tail(out, 5);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(ms).as("%d ms", ms).isLessThan(1000);
        assertThat(t.bytes()).hasSize(CappedLog.LINE_MAX);
        assertThat(new String(t.bytes(), StandardCharsets.US_ASCII)).endsWith("\0last");
        assertThat(t.cut()).isTrue();

        // all of it: the cap's worth from the end, the rest counted as dropped
        CappedLog.Tail all = CappedLog.tail(out, 0);
        assertThat((long) all.bytes().length).isEqualTo(Spawned.logCap());
        assertThat(all.dropped()).isEqualTo((1L << 30) + 4 - Spawned.logCap());
        assertThat(all.cut()).isFalse();
    }

    @Test
    void linesAreTailedAcrossTheOlderHalf() throws Exception {
        Path out = tmp.resolve(Spawned.OUTPUT);
        Files.writeString(tmp.resolve(Spawned.OUTPUT_OLD), "one\ntwo\nthr");
        Files.writeString(out, "ee\nfour\nfive");
        Files.writeString(tmp.resolve(Spawned.OUTPUT_DROPPED), "123\n");
        assertThat(text(CappedLog.tail(out, 3))).isEqualTo("three\nfour\nfive");
        assertThat(text(CappedLog.tail(out, 10))).isEqualTo("one\ntwo\nthree\nfour\nfive");
        assertThat(text(CappedLog.tail(out, 0))).isEqualTo("one\ntwo\nthree\nfour\nfive");
        assertThat(CappedLog.tail(out, 1).dropped()).isEqualTo(123);
        Files.writeString(out, "ee\nfour\nfive\n"); // a newline ending the log closes the last line
        assertThat(text(CappedLog.tail(out, 2))).isEqualTo("four\nfive\n");
        Files.delete(out); // between the capper's two renames
        assertThat(text(CappedLog.tail(out, 2))).isEqualTo("two\nthr");
        // a long line before short ones: the short ones whole, the long one's end
        Files.writeString(out, "x".repeat(CappedLog.LINE_MAX + 10) + "\nshort\n");
        CappedLog.Tail t = CappedLog.tail(out, 5);
        assertThat(text(t)).isEqualTo("x".repeat(CappedLog.LINE_MAX) + "\nshort\n");
        assertThat(t.cut()).isTrue();
    }

    @Test
    void theExecLogKeepsTheNewestEntriesWithinTheCap() throws Exception {
        System.setProperty("davit.logs.capBytes", Integer.toString(64 << 10));
        try {
            Path file = tmp.resolve(ExecLog.FILE);
            for (int i = 0; i < 500; i++) {
                ExecEntry.Stream none = new ExecEntry.Stream(0, "", null);
                ExecLog.append(file, new ExecEntry(List.of("echo", "p".repeat(500)), "/workspace",
                        java.time.Instant.EPOCH, i, 0, false, null, none, none));
            }
            long onDisk = Files.size(file) + Files.size(tmp.resolve(ExecLog.FILE + ".1"));
            assertThat(onDisk).isLessThanOrEqualTo(64 << 10);
            List<ExecEntry> entries = ExecLog.read(file);
            assertThat(entries.size()).isBetween(50, 130);
            assertThat(entries.get(entries.size() - 1).durationMs()).isEqualTo(499);
            for (int i = 1; i < entries.size(); i++) {
                assertThat(entries.get(i).durationMs()).isEqualTo(entries.get(i - 1).durationMs() + 1);
            }
        } finally {
            System.clearProperty("davit.logs.capBytes");
        }
    }

    private static String text(CappedLog.Tail t) {
        return new String(t.bytes(), StandardCharsets.UTF_8);
    }
}
