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
    private final Lifecycle lifecycle;

    public Sandboxes(SandboxOptions options) {
        this.options = Objects.requireNonNull(options, "options");
        this.container = new BwrapBackend(options);
        this.lifecycle = new Lifecycle(options);
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

    /**
     * Creates a long-lived sandbox (not started yet). Its state lives in {@code <stateDir>/<id>/state.json}, so
     * another {@code Sandboxes} (a later davit) sees it. The rootfs needs a {@code sleep} command.
     */
    public Sandbox create(CreateSpec spec) {
        return lifecycle.create(spec);
    }

    /** Starts a created or stopped (or failed) sandbox; a running one is returned as it is. */
    public Sandbox start(String id) {
        return lifecycle.start(id);
    }

    /**
     * Runs {@code argv} in a running sandbox (with nsenter): {@code env} on top of the sandbox's environment,
     * {@code workdir} (null: the sandbox's), {@code timeout} (null: none; on timeout the command is killed, exit
     * 124, and the sandbox keeps running). Files in /tmp persist between execs of the same sandbox.
     */
    public ExecResult exec(String id, List<String> argv, java.util.Map<String, String> env, String workdir,
                           java.time.Duration timeout) {
        return lifecycle.exec(id, argv, env, workdir, timeout);
    }

    /** Kills the sandbox's processes (all of its pid namespace) and records it as stopped. */
    public Sandbox stop(String id) {
        return lifecycle.stop(id);
    }

    /** Stops the sandbox if needed and deletes its state directory. */
    public void rm(String id) {
        lifecycle.rm(id);
    }

    /** The sandbox's state; one recorded as running whose processes are gone (or pids reused) is FAILED. */
    public Sandbox status(String id) {
        return lifecycle.status(id);
    }

    /** All long-lived sandboxes, oldest first. */
    public List<Sandbox> list() {
        return lifecycle.list();
    }

    /** Removes the sandboxes whose ttl has passed since creation and the failed ones; returns them. */
    public List<Sandbox> reap() {
        return lifecycle.reap();
    }

    /** What works on this host. */
    public Doctor.Report doctor() {
        return new Doctor(options).check();
    }
}
