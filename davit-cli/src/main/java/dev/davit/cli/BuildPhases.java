package dev.davit.cli;

import java.util.Locale;
import java.util.function.Consumer;

/**
 * Shows the phases of a long operation (an environment build) as notices, each followed by how long it took:
 * {@code ==> debootstrap bookworm ...} then {@code     took 41.2 s} when the next phase starts or the operation ends.
 */
final class BuildPhases implements Consumer<String>, AutoCloseable {
    private final Output out;
    private long started = -1;

    BuildPhases(Output out) {
        this.out = out;
    }

    @Override
    public void accept(String phase) {
        finish();
        out.notice("==> " + phase);
        started = System.nanoTime();
    }

    private void finish() {
        if (started >= 0) {
            out.notice("    took " + seconds(System.nanoTime() - started));
            started = -1;
        }
    }

    @Override
    public void close() {
        finish();
    }

    /** Nanoseconds as {@code 12.3 s}. */
    static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }
}
