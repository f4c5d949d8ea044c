package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressRendererTest {
    private static final Descriptor LAYER = new Descriptor(MediaTypes.OCI_LAYER_GZIP,
            Digest.sha256("layer".getBytes(StandardCharsets.UTF_8)), 10_000_000);
    private static final Descriptor CONFIG = new Descriptor(MediaTypes.OCI_CONFIG,
            Digest.sha256("config".getBytes(StandardCharsets.UTF_8)), 500);

    @Test
    void modeFromEnvironment() {
        assertThat(ProgressRenderer.mode(Map.of("DAVIT_PROGRESS", "bars"))).isEqualTo(ProgressRenderer.Mode.BARS);
        assertThat(ProgressRenderer.mode(Map.of("DAVIT_PROGRESS", "LINES"))).isEqualTo(ProgressRenderer.Mode.LINES);
        assertThat(ProgressRenderer.mode(Map.of("DAVIT_PROGRESS", "none"))).isEqualTo(ProgressRenderer.Mode.NONE);
        // no console under the test runner: lines
        assertThat(ProgressRenderer.mode(Map.of("TERM", "xterm"))).isEqualTo(ProgressRenderer.Mode.LINES);
        assertThat(ProgressRenderer.mode(Map.of("DAVIT_PROGRESS", "bogus"))).isEqualTo(ProgressRenderer.Mode.LINES);
    }

    @Test
    void phaseLines() {
        StringWriter s = new StringWriter();
        LineProgress p = new LineProgress(new PrintWriter(s));
        p.onEvent(new ProgressEvent.Phase("resolving", "docker.io/library/alpine:3.20"));
        p.onEvent(new ProgressEvent.Phase("fetching manifest", "3.20"));
        p.onEvent(new ProgressEvent.Phase("fetching blobs", "3 blobs, 12400000 bytes"));
        p.onEvent(new ProgressEvent.BlobStarted(LAYER, 0));
        p.onEvent(new ProgressEvent.BlobProgress(LAYER, 100));
        p.onEvent(new ProgressEvent.Retry("GET /v2/x: 503, retrying in 200ms"));
        p.onEvent(new ProgressEvent.BlobDone(LAYER, false));
        p.onEvent(new ProgressEvent.Phase("verifying", "1 manifests"));
        p.onEvent(new ProgressEvent.Phase("done", "x"));
        p.close();
        assertThat(s.toString().lines().toList()).containsExactly(
                "resolving docker.io/library/alpine:3.20",
                "fetching manifest",
                "fetching 3 blobs (12.4 MB)",
                "retry: GET /v2/x: 503, retrying in 200ms",
                "verifying",
                "done");
    }

    @Test
    void oneBlobAndUnknownDetail() {
        assertThat(ProgressRenderer.phaseLine(new ProgressEvent.Phase("fetching blobs", "1 blobs, 999 bytes")))
                .isEqualTo("fetching 1 blob (999 B)");
        assertThat(ProgressRenderer.phaseLine(new ProgressEvent.Phase("fetching blobs", "something else")))
                .isEqualTo("fetching blobs (something else)");
        assertThat(ProgressRenderer.phaseLine(new ProgressEvent.Phase("resolving", "evil\u001b[2Jref")))
                .doesNotContain("\u001b");
    }

    @Test
    void barsAreRateLimitedAndFinishAtOneHundredPercent() {
        StringWriter s = new StringWriter();
        AtomicLong now = new AtomicLong(1_000_000_000L);
        BarProgress p = new BarProgress(new PrintWriter(s), 80, now::get);
        p.onEvent(new ProgressEvent.Phase("resolving", "r"));
        p.onEvent(new ProgressEvent.Phase("fetching blobs", "2 blobs, 10000500 bytes"));
        p.onEvent(new ProgressEvent.BlobDone(CONFIG, true));
        p.onEvent(new ProgressEvent.BlobStarted(LAYER, 0));
        int before = frames(s.toString());
        for (int i = 1; i <= 50; i++) {
            now.addAndGet(1_000_000L); // 50 events within 50 ms
            p.onEvent(new ProgressEvent.BlobProgress(LAYER, i * 1000L));
        }
        assertThat(frames(s.toString()) - before).isLessThanOrEqualTo(1);
        now.addAndGet(4 * BarProgress.FRAME_NANOS); // rates show after 200 ms
        p.onEvent(new ProgressEvent.BlobProgress(LAYER, 5_000_000L));
        String mid = s.toString();
        assertThat(mid).contains("50.0%", "5.0 MB / 10.0 MB", "MB/s", "(1 blob cached)");
        p.onEvent(new ProgressEvent.BlobDone(LAYER, false));
        p.onEvent(new ProgressEvent.Phase("verifying", ""));
        p.onEvent(new ProgressEvent.Phase("done", ""));
        p.close();
        String out = s.toString();
        assertThat(out).contains("\u001b[", "100.0%", "done");
        assertThat(out.lines().toList()).last().isEqualTo("done");
        assertThat(out.lines()).allMatch(l -> l.replaceAll("\u001b\\[[0-9]*[A-Z]", "").length() < 80);
    }

    @Test
    void manyBlobsAreSummarised() {
        StringWriter s = new StringWriter();
        AtomicLong now = new AtomicLong();
        BarProgress p = new BarProgress(new PrintWriter(s), 100, now::get);
        p.onEvent(new ProgressEvent.Phase("fetching blobs", "20 blobs, 20000 bytes"));
        for (int i = 0; i < 20; i++) {
            Descriptor d = new Descriptor(MediaTypes.OCI_LAYER, Digest.sha256(new byte[] {(byte) i}), 1000);
            p.onEvent(new ProgressEvent.BlobStarted(d, 0));
            p.onEvent(new ProgressEvent.BlobDone(d, false));
        }
        assertThat(p.render(now.get())).hasSize(BarProgress.MAX_BARS + 2).last().asString()
                .startsWith("total").contains("20.0 kB / 20.0 kB");
        assertThat(p.render(now.get())).contains("  ... 12 more");
        p.close();
    }

    private static int frames(String s) {
        return s.split("\u001b\\[J", -1).length - 1;
    }
}
