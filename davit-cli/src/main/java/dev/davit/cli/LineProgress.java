package dev.davit.cli;

import dev.davit.oci.internal.Text;
import dev.davit.oci.copy.ProgressEvent;
import java.io.PrintWriter;

/** Progress as short phase lines ({@code resolving REF}, {@code fetching 3 blobs (12.4 MB)}, ...) for logs and pipes. */
final class LineProgress implements ProgressRenderer {
    private final PrintWriter err;

    LineProgress(PrintWriter err) {
        this.err = err;
    }

    @Override
    public synchronized void onEvent(ProgressEvent event) {
        if (event instanceof ProgressEvent.Phase p) {
            line(ProgressRenderer.phaseLine(p));
        } else if (event instanceof ProgressEvent.Retry r) {
            line("retry: " + Text.shorten(r.message(), 300));
        }
    }

    private void line(String s) {
        err.println(s);
        err.flush();
    }

    @Override
    public void close() {
        err.flush();
    }
}
