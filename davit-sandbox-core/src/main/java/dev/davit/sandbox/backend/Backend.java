package dev.davit.sandbox.backend;

import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunSpec;
import java.io.OutputStream;

/**
 * One way to run a one-shot command: a container runtime (bubblewrap, crun, runc) or a microVM. Each run creates
 * its sandbox, runs the command to completion (or its timeout) and deletes the sandbox, also on failure.
 */
public interface Backend {
    /**
     * The backend this runtime belongs to.
     *
     * @return {@link RunSpec#CONTAINER} or {@link RunSpec#VM}
     */
    String name();

    /**
     * The runtime that runs the sandbox.
     *
     * @return {@code bwrap}, {@code crun}, {@code runc} or {@code qemu}
     */
    String runtime();

    /**
     * Whether this runtime's program is on this host (an automatic choice takes the first installed one).
     *
     * @return true when it is found (by default: always)
     */
    default boolean installed() {
        return true;
    }

    /**
     * Runs {@code spec}; the command's output is also copied to the tees (either may be null) as it arrives.
     *
     * @param spec      what to run and how
     * @param stdoutTee where the command's stdout is copied, or null; not closed
     * @param stderrTee where the command's stderr is copied, or null; not closed
     * @return what the run did; a failing command is no exception
     * @throws dev.davit.oci.DavitException as {@code Sandboxes.run} does
     */
    default ExecResult run(RunSpec spec, OutputStream stdoutTee, OutputStream stderrTee) {
        return run(spec, null, stdoutTee, stderrTee);
    }

    /**
     * Like {@link #run(RunSpec, OutputStream, OutputStream)}, with {@code stdin} (null: /dev/null) as the
     * command's standard input, read to its end (or until the command exits) and then closed.
     *
     * @param spec      what to run and how
     * @param stdin     the command's standard input, or null for /dev/null
     * @param stdoutTee where the command's stdout is copied, or null; not closed
     * @param stderrTee where the command's stderr is copied, or null; not closed
     * @return what the run did; a failing command is no exception
     * @throws dev.davit.oci.DavitException as {@code Sandboxes.run} does
     */
    ExecResult run(RunSpec spec, java.io.InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee);
}
