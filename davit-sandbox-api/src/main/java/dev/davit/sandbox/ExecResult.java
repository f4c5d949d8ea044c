package dev.davit.sandbox;

/**
 * What one {@code Sandboxes.run} did.
 *
 * @param sandboxId the sandbox's id (also the name of its state directory while it runs)
 * @param backend   the backend that ran it ({@code container}, {@code vm} or {@code k8s})
 * @param runtime   what ran it: {@code bwrap}, {@code crun}, {@code runc} or {@code qemu}
 * @param exitCode  the command's exit code; 124 when it timed out, 127 when the command was not found, 126 when
 *                  it could not be executed, 128+N when killed by signal N
 * @param capturedStdout what the command wrote to stdout (up to {@link #MAX_CAPTURED_BYTES}), in chunks
 * @param capturedStderr what the command wrote to stderr (up to {@link #MAX_CAPTURED_BYTES}), in chunks
 * @param timedOut  whether the timeout killed it
 * @param timings   how long each phase took
 * @param truncated whether stdout or stderr was longer than {@link #MAX_CAPTURED_BYTES} and only its start was
 *                  kept (the streaming tees still saw everything)
 * @param oomKilled whether the kernel's OOM killer killed a process of the command because the sandbox's memory
 *                  limit ({@link Limits#memoryMiB}) was reached (the command itself then usually exits 137)
 * @param outputLimited whether the command's stdout and stderr together passed the run's output limit
 *                  ({@link RunSpec#maxOutput}): only the bytes within it were captured and streamed, the command's
 *                  process tree was killed, the exit code is {@link #OUTPUT_LIMIT_EXIT_CODE} and {@code truncated}
 *                  is set
 * @param diskFull  whether the sandbox's disk limit ({@link Limits#diskMiB}) was reached: when the command ended,
 *                  its filesystem had no room left, so a write of the command failed (ENOSPC) or would have
 * @param networkDenied what the egress gate of a one-shot run with an egress policy refused while it ran (see
 *                  {@link Network#policy}); empty otherwise (a long-lived sandbox's are in
 *                  {@code Sandboxes.egressDenials}, a workspace exec's in its own result)
 */
public record ExecResult(String sandboxId, String backend, String runtime, int exitCode, Captured capturedStdout,
                         Captured capturedStderr, boolean timedOut, Timings timings, boolean truncated,
                         boolean oomKilled, boolean outputLimited, boolean diskFull,
                         java.util.List<EgressDenial> networkDenied) {
    /** The exit code of a command killed by the timeout, as timeout(1) reports it. */
    public static final int TIMEOUT_EXIT_CODE = 124;
    /** The exit code of a command killed for passing its output limit: 128 + SIGKILL, as the kill reports it. */
    public static final int OUTPUT_LIMIT_EXIT_CODE = 137;
    /** How much of each of stdout and stderr is captured: 64 MiB (so at most 128 MiB for a run). */
    public static final int MAX_CAPTURED_BYTES = 64 << 20;

    /**
     * Refuses an output limit below 0 (0: none); {@code what} names it, each door in its own words (the specs' check).
     *
     * @param maxOutput the limit, in bytes; 0: none
     * @param what      which input the limit is
     * @throws dev.davit.oci.DavitException {@code USAGE} for a limit below 0
     */
    static void checkMaxOutput(long maxOutput, dev.davit.oci.Input what) {
        if (maxOutput < 0) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, dev.davit.oci.Message.of(
                    what, " must be a positive number of bytes, not " + maxOutput).value(maxOutput));
        }
    }

    /**
     * Refuses a capture outside 0..{@link #MAX_CAPTURED_BYTES}; {@code what} names it in the caller's terms (the
     * specs' check, as {@link #checkMaxOutput}).
     *
     * @param capture the bytes to capture per stream
     * @param what    what the capture is, in the caller's terms
     * @throws dev.davit.oci.DavitException {@code USAGE} for a capture out of range
     */
    static void checkCapture(int capture, String what) {
        if (capture < 0 || capture > MAX_CAPTURED_BYTES) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, what
                    + " must be between 0 and " + MAX_CAPTURED_BYTES + ", not " + capture);
        }
    }

    /**
     * Checks the values: a null {@code networkDenied} is empty.
     */
    public ExecResult {
        networkDenied = networkDenied == null ? java.util.List.of() : java.util.List.copyOf(networkDenied);
    }

    /**
     * This result with {@code oomKilled} set.
     *
     * @param v whether the OOM killer killed a process of the command
     * @return a new result, otherwise the same
     */
    public ExecResult withOomKilled(boolean v) {
        return new ExecResult(sandboxId, backend, runtime, exitCode, capturedStdout, capturedStderr, timedOut, timings,
                truncated, v, outputLimited, diskFull, networkDenied);
    }

    /**
     * This result with {@code diskFull} set.
     *
     * @param v whether the sandbox's disk limit was reached
     * @return a new result, otherwise the same
     */
    public ExecResult withDiskFull(boolean v) {
        return new ExecResult(sandboxId, backend, runtime, exitCode, capturedStdout, capturedStderr, timedOut, timings,
                truncated, oomKilled, outputLimited, v, networkDenied);
    }

    /**
     * This result with what the egress gate refused while it ran.
     *
     * @param v the denials, oldest first
     * @return a copy of this result with {@code v} as its {@link #networkDenied}
     */
    public ExecResult withNetworkDenied(java.util.List<EgressDenial> v) {
        return new ExecResult(sandboxId, backend, runtime, exitCode, capturedStdout, capturedStderr, timedOut, timings,
                truncated, oomKilled, outputLimited, diskFull, v);
    }

    /**
     * Milliseconds per phase: create (checks, state directory, arguments), start (process start), exec (until the
     * command exited or was killed), delete (reaping, output drained, state directory removed).
     *
     * @param createMs milliseconds of checks, state directory and arguments
     * @param startMs  milliseconds until the sandbox's process started
     * @param execMs   milliseconds until the command exited or was killed
     * @param deleteMs milliseconds of clean-up: reaping, draining output, removing the state directory
     */
    public record Timings(long createMs, long startMs, long execMs, long deleteMs) {
        /**
         * The whole run.
         *
         * @return the sum of the phases, in milliseconds
         */
        public long totalMs() {
            return createMs + startMs + execMs + deleteMs;
        }
    }

    /**
     * What the command wrote to stdout, in one array (made on the first call: {@link Captured#bytes}).
     *
     * @return the captured bytes (up to {@link #MAX_CAPTURED_BYTES}); shared, do not change them
     */
    public byte[] stdout() {
        return capturedStdout.bytes();
    }

    /**
     * What the command wrote to stderr, in one array (made on the first call: {@link Captured#bytes}).
     *
     * @return the captured bytes (up to {@link #MAX_CAPTURED_BYTES}); shared, do not change them
     */
    public byte[] stderr() {
        return capturedStderr.bytes();
    }

    /**
     * What the command wrote to stdout, as text.
     *
     * @return the captured bytes decoded as UTF-8 (malformed sequences become U+FFFD)
     */
    public String stdoutText() {
        return capturedStdout.text();
    }

    /**
     * What the command wrote to stderr, as text.
     *
     * @return the captured bytes decoded as UTF-8 (malformed sequences become U+FFFD)
     */
    public String stderrText() {
        return capturedStderr.text();
    }
}
