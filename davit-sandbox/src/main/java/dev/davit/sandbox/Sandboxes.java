package dev.davit.sandbox;

import java.io.OutputStream;
import java.util.List;
import java.util.Objects;

/**
 * Runs one-shot commands in sandboxes. Today there is one backend, {@code container}: bubblewrap over a
 * read-only root filesystem (see {@link BwrapBackend} and docs/SANDBOX.md). Thread-safe; each run is independent.
 */
public final class Sandboxes {
    /** The backend names {@link #run} accepts. */
    public static final List<String> BACKENDS = List.of(BwrapBackend.NAME);

    private final SandboxOptions options;
    private final BwrapBackend container;

    public Sandboxes(SandboxOptions options) {
        this.options = Objects.requireNonNull(options, "options");
        this.container = new BwrapBackend(options);
    }

    public SandboxOptions options() {
        return options;
    }

    /** Runs {@code spec} to completion (or its timeout) and returns its output, exit code and timings. */
    public ExecResult run(RunSpec spec) {
        return container.run(spec, null, null);
    }

    /**
     * Like {@link #run(RunSpec)}, also copying the command's stdout and stderr to {@code stdoutTee} and
     * {@code stderrTee} (either may be null) as they arrive.
     */
    public ExecResult run(RunSpec spec, OutputStream stdoutTee, OutputStream stderrTee) {
        return container.run(spec, stdoutTee, stderrTee);
    }

    /** What works on this host. */
    public Doctor.Report doctor() {
        return new Doctor(options).check();
    }
}
