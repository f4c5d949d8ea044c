package dev.davit.sandbox.container;

/**
 * A run's budget of output bytes, shared by its stdout and stderr pumps ({@link BwrapBackend#pump}): bytes within
 * the budget are passed on (captured and streamed), the rest dropped; the first write past it runs {@code onExceeded}
 * once (which kills the command's process tree). Thread-safe.
 */
public final class OutputLimit {
    private final long max;
    private final Runnable onExceeded;
    private long used;
    private boolean exceeded;

    private OutputLimit(long max, Runnable onExceeded) {
        this.max = max;
        this.onExceeded = onExceeded;
    }

    /** A budget of {@code max} bytes, or null (no budget) when {@code max} is 0. */
    public static OutputLimit of(long max, Runnable onExceeded) {
        return max > 0 ? new OutputLimit(max, onExceeded) : null;
    }

    /** How many of the next {@code n} bytes may pass; past the budget, the first caller runs the callback. */
    int take(int n) {
        int allowed;
        boolean first;
        synchronized (this) {
            allowed = (int) Math.min(n, max - used);
            used += allowed;
            first = allowed < n && !exceeded;
            exceeded |= allowed < n;
        }
        if (first) {
            onExceeded.run();
        }
        return allowed;
    }

    /** Whether the command wrote more than the budget. */
    synchronized boolean exceeded() {
        return exceeded;
    }

    /** Whether {@code limit} (may be null) was exceeded. */
    public static boolean exceeded(OutputLimit limit) {
        return limit != null && limit.exceeded();
    }
}
