package dev.davit.sandbox.backend;

/**
 * A run's budget of output bytes, shared by its stdout and stderr pumps (a container's pipes, an agent's frames on
 * every backend): bytes within the budget are passed on (captured and streamed), the rest dropped; the first write
 * past it runs {@code onExceeded} once (which kills the command's process tree). Thread-safe.
 */
public final class OutputLimit {
    private final long max;
    private final Runnable onExceeded;
    private long used;
    private boolean exceeded;
    private boolean closed;

    private OutputLimit(long max, Runnable onExceeded) {
        this.max = max;
        this.onExceeded = onExceeded;
    }

    /**
     * A budget of {@code max} bytes, or null (no budget) when {@code max} is 0.
     *
     * @param max        the bytes the command may write, both streams together
     * @param onExceeded run once, by the first write past the budget
     * @return the budget, or null
     */
    public static OutputLimit of(long max, Runnable onExceeded) {
        return max > 0 ? new OutputLimit(max, onExceeded) : null;
    }

    /**
     * A budget of {@code max} bytes (0: no limit) that can be {@link #close}d: an exec's, whose command may leave a
     * process in the background that keeps the pipes open after the exec returned.
     *
     * @param max        the bytes the command may write, both streams together (0: no limit)
     * @param onExceeded run once, by the first write past the budget
     * @return the budget
     */
    public static OutputLimit closable(long max, Runnable onExceeded) {
        return new OutputLimit(max > 0 ? max : Long.MAX_VALUE, onExceeded);
    }

    /** From now on nothing passes (the pumps read and drop until the pipes end); not an excess. */
    public synchronized void close() {
        closed = true;
    }

    /**
     * Passes what the budget allows of {@code b[0..n)} to {@code sink} and {@code tee} (may be null), under this
     * budget's lock, so that after {@link #close} returns no pump is half-way through a write.
     *
     * @param b    the bytes
     * @param n    how many of them
     * @param sink the captured copy
     * @param tee  where they stream to, best effort (may be null)
     */
    public void pass(byte[] b, int n, CappedSink sink, java.io.OutputStream tee) {
        boolean first;
        synchronized (this) {
            if (closed) {
                return;
            }
            int allowed = (int) Math.min(n, max - used);
            used += allowed;
            first = allowed < n && !exceeded;
            exceeded |= allowed < n;
            if (allowed > 0) {
                sink.write(b, 0, allowed);
                if (tee != null) {
                    try {
                        tee.write(b, 0, allowed);
                        tee.flush();
                    } catch (java.io.IOException e) {
                        // the tee is best effort; the captured copy is complete
                    }
                }
            }
        }
        if (first) {
            onExceeded.run();
        }
    }

    /**
     * Whether the command wrote more than the budget.
     *
     * @return whether it did
     */
    public synchronized boolean exceeded() {
        return exceeded;
    }

    /**
     * Whether {@code limit} (may be null) was exceeded.
     *
     * @param limit a budget, or null
     * @return whether it was exceeded
     */
    public static boolean exceeded(OutputLimit limit) {
        return limit != null && limit.exceeded();
    }

    /**
     * Closes this budget once its command ended and gives the exit code its result reports: past the budget
     * {@link dev.davit.sandbox.ExecResult#OUTPUT_LIMIT_EXIT_CODE} (a kill by the budget is no timeout), else for a
     * command its timeout killed {@link dev.davit.sandbox.ExecResult#TIMEOUT_EXIT_CODE}, else the command's own.
     *
     * @param code     the command's exit code
     * @param timedOut whether its timeout killed it
     * @return the result's exit code
     */
    public int settle(int code, boolean timedOut) {
        close();
        if (exceeded()) {
            return dev.davit.sandbox.ExecResult.OUTPUT_LIMIT_EXIT_CODE;
        }
        return timedOut ? dev.davit.sandbox.ExecResult.TIMEOUT_EXIT_CODE : code;
    }
}
