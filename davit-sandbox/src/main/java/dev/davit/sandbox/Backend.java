package dev.davit.sandbox;

import java.io.OutputStream;

/**
 * One way to run a one-shot command: a container runtime (bubblewrap, crun, runc) or a microVM. Each run creates
 * its sandbox, runs the command to completion (or its timeout) and deletes the sandbox, also on failure.
 */
interface Backend {
    /** {@code container} or {@code vm}. */
    String name();

    /** {@code bwrap}, {@code crun}, {@code runc} or {@code qemu}. */
    String runtime();

    /** Runs {@code spec}; the command's output is also copied to the tees (either may be null) as it arrives. */
    ExecResult run(RunSpec spec, OutputStream stdoutTee, OutputStream stderrTee);
}
