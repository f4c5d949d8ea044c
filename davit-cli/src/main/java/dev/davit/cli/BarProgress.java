package dev.davit.cli;

import dev.davit.oci.internal.Text;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Per-blob progress bars with bytes and speed, redrawn in place with ANSI escapes on a terminal, at most about
 * ten times a second. Phase and retry lines scroll above the bars.
 */
final class BarProgress implements ProgressRenderer {
    static final long FRAME_NANOS = 100_000_000L;
    static final int MAX_BARS = 8;
    private static final String ESC = "\033[";

    private final PrintWriter err;
    private final int width;
    private final LongSupplier clock;
    private final Map<Digest, Bar> bars = new LinkedHashMap<>();
    private int drawn;
    private boolean drawnOnce;
    private long lastDraw;
    private boolean active;
    private long startNanos;
    private long totalBytes = -1;
    private int cachedBlobs;
    private long cachedBytes;

    private static final class Bar {
        final String id;
        final long size;
        final long offset;
        final long started;
        long bytes;
        boolean done;

        Bar(Descriptor d, long offset, long started) {
            this.id = d.digest().shortHex();
            this.size = d.size();
            this.offset = offset;
            this.started = started;
            this.bytes = offset;
        }
    }

    BarProgress(PrintWriter err, int width, LongSupplier clock) {
        this.err = err;
        this.width = width;
        this.clock = clock;
    }

    @Override
    public synchronized void onEvent(ProgressEvent event) {
        switch (event) {
            case ProgressEvent.Phase p -> phase(p);
            case ProgressEvent.BlobStarted s -> {
                bars.put(s.descriptor().digest(), new Bar(s.descriptor(), s.offset(), clock.getAsLong()));
                redraw(true);
            }
            case ProgressEvent.BlobProgress p -> {
                Bar b = bars.computeIfAbsent(p.descriptor().digest(),
                        k -> new Bar(p.descriptor(), 0, clock.getAsLong()));
                b.bytes = p.bytes();
                redraw(false);
            }
            case ProgressEvent.BlobDone d -> {
                Bar b = bars.get(d.descriptor().digest());
                if (d.cached() && b == null) {
                    cachedBlobs++;
                    cachedBytes += d.descriptor().size();
                } else {
                    if (b == null) {
                        b = new Bar(d.descriptor(), 0, clock.getAsLong());
                        bars.put(d.descriptor().digest(), b);
                    }
                    b.done = true;
                    b.bytes = b.size;
                }
                redraw(false);
            }
            case ProgressEvent.Retry r -> line("retry: " + Text.shorten(r.message(), 300));
            case ProgressEvent.ManifestChosen m -> {
                // the blobs' own events draw the transfer
            }
        }
    }

    private void phase(ProgressEvent.Phase p) {
        if (p.name().equals("fetching blobs")) {
            long[] t = ProgressRenderer.blobTotals(p.detail());
            totalBytes = t == null ? -1 : t[1];
            line(ProgressRenderer.phaseLine(p));
            active = true;
            startNanos = clock.getAsLong();
            redraw(true);
        } else {
            freeze();
            line(ProgressRenderer.phaseLine(p));
        }
    }

    /** Draws the bars a last time and leaves them on screen; later lines print below. */
    private void freeze() {
        if (active) {
            redraw(true);
            active = false;
            drawn = 0;
        }
    }

    /** Prints a line above the bars. */
    private void line(String s) {
        StringBuilder b = new StringBuilder();
        if (drawn > 0) {
            b.append(ESC).append(drawn).append('A').append('\r').append(ESC).append('J');
            drawn = 0;
        }
        b.append(fit(s)).append('\n');
        err.print(b);
        err.flush();
        if (active) {
            redraw(true);
        }
    }

    private void redraw(boolean force) {
        if (!active) {
            return;
        }
        long now = clock.getAsLong();
        if (!force && drawnOnce && now - lastDraw < FRAME_NANOS) {
            return;
        }
        lastDraw = now;
        drawnOnce = true;
        List<String> lines = render(now);
        StringBuilder b = new StringBuilder();
        if (drawn > 0) {
            b.append(ESC).append(drawn).append('A');
        }
        for (String l : lines) {
            b.append('\r').append(fit(l)).append(ESC).append("K\n");
        }
        b.append(ESC).append('J');
        err.print(b);
        err.flush();
        drawn = lines.size();
    }

    List<String> render(long now) {
        List<Bar> shown = new ArrayList<>(bars.values());
        int hidden = 0;
        for (Iterator<Bar> it = shown.iterator(); it.hasNext() && shown.size() > MAX_BARS; ) {
            if (it.next().done) {
                it.remove();
                hidden++;
            }
        }
        while (shown.size() > MAX_BARS) {
            shown.remove(shown.size() - 1);
            hidden++;
        }
        List<String> lines = new ArrayList<>();
        for (Bar b : shown) {
            lines.add(barLine(b, now));
        }
        if (hidden > 0) {
            lines.add("  ... " + hidden + " more");
        }
        lines.add(totalLine(now));
        return lines;
    }

    private String barLine(Bar b, long now) {
        double frac = b.size <= 0 ? 1 : Math.min(1.0, (double) b.bytes / b.size);
        String sizes = Units.bytes(b.bytes) + " / " + Units.bytes(b.size);
        String tail = b.done ? "done" : Units.rate(b.bytes - b.offset, now - b.started);
        int barWidth = Math.max(10, width - 1 - (12 + 1 + 2 + 1 + 6 + 1 + 21 + 1 + 11));
        return String.format(Locale.ROOT, "%-12s %s %5.1f%% %21s %s", b.id, bar(frac, barWidth), frac * 100, sizes,
                tail);
    }

    private String totalLine(long now) {
        long done = cachedBytes;
        long downloaded = 0;
        for (Bar b : bars.values()) {
            done += b.bytes;
            downloaded += b.bytes - b.offset;
        }
        StringBuilder s = new StringBuilder("total        ");
        s.append(Units.bytes(done));
        if (totalBytes >= 0) {
            s.append(" / ").append(Units.bytes(totalBytes));
        }
        String rate = Units.rate(downloaded, now - startNanos);
        if (!rate.isEmpty()) {
            s.append("  ").append(rate);
        }
        if (cachedBlobs > 0) {
            s.append("  (").append(cachedBlobs).append(cachedBlobs == 1 ? " blob" : " blobs").append(" cached)");
        }
        return s.toString();
    }

    private static String bar(double frac, int w) {
        int full = (int) Math.round(frac * w);
        return "[" + "#".repeat(full) + ".".repeat(w - full) + "]";
    }

    private String fit(String s) {
        return s.length() < width ? s : s.substring(0, width - 1);
    }

    @Override
    public synchronized void close() {
        freeze();
        err.flush();
    }
}
