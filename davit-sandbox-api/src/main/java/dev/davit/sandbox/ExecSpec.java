package dev.davit.sandbox;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A command to run in a running sandbox ({@code Sandboxes.exec}), built with {@link #builder}.
 *
 * @param command   the argv, not empty (the image's Entrypoint is not put in front)
 * @param env       variables set on top of the sandbox's environment, in the order given
 * @param workdir   the absolute working directory in the sandbox; null for the sandbox's
 * @param timeout   how long the command may run (then it is killed: exit 124, and the sandbox keeps running); null
 *                  for no limit
 * @param maxOutput the most bytes stdout and stderr together may have (then the command's process tree is killed:
 *                  {@link ExecResult#OUTPUT_LIMIT_EXIT_CODE}); 0 for no limit. Container sandboxes only
 * @param capture   how many bytes of each output stream the result keeps, 0 to {@link ExecResult#MAX_CAPTURED_BYTES}
 *                  (the tees get all of it)
 * @param stdin     the command's standard input, read until its end; null for /dev/null (a microVM whose
 *                  environment was built before davit-agent refuses it)
 * @param stdoutTee where stdout is copied, as it arrives (when the command ends in a microVM whose environment was
 *                  built before davit-agent); null: nowhere; never closed
 * @param stderrTee where stderr is copied, likewise; null: nowhere
 */
public record ExecSpec(List<String> command, Map<String, String> env, String workdir, Duration timeout,
                       long maxOutput, int capture, InputStream stdin, OutputStream stdoutTee,
                       OutputStream stderrTee) {
    /**
     * Checks the values and copies the list and map (a null map becomes empty).
     *
     * @throws DavitException {@link Kind#USAGE} for an empty command, a relative working directory, a timeout that
     *                        is not positive, a negative {@code maxOutput} or a {@code capture} out of range
     */
    public ExecSpec {
        if (command == null || command.isEmpty()) {
            throw new DavitException(Kind.USAGE, Message.of(Action.GIVE_COMMAND.fix()));
        }
        command = List.copyOf(command);
        env = env == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(env));
        dev.davit.oci.internal.ProcessArgs.check(command, env, workdir);
        if (workdir != null && !workdir.startsWith("/")) {
            throw new DavitException(Kind.USAGE, Message.of(Input.WORKDIR, " must be an absolute path in the"
                    + " sandbox, not " + workdir).value(workdir));
        }
        if (timeout != null && (timeout.isZero() || timeout.isNegative())) {
            throw new DavitException(Kind.USAGE, Message.of(Input.TIMEOUT, " must be positive, not "
                    + timeout.toMillis() + " ms").value(timeout));
        }
        ExecResult.checkMaxOutput(maxOutput, Input.EXEC_MAX_OUTPUT);
        ExecResult.checkCapture(capture, "ExecSpec.Builder.capture");
    }

    /**
     * A spec to run {@code command}: no variables, the sandbox's working directory, no timeout, no output limit,
     * the largest capture, no input, no tees.
     *
     * @param command the program and its arguments; at least one (else {@link Builder#build} throws a
     *                {@link Kind#USAGE} error)
     * @return a builder to set the rest on
     */
    public static Builder builder(String... command) {
        return new Builder(List.of(command));
    }

    /**
     * {@link #builder(String...)} of an argv list.
     *
     * @param command the program and its arguments; not empty (else {@link Builder#build} throws a
     *                {@link Kind#USAGE} error)
     * @return a builder to set the rest on
     */
    public static Builder builder(List<String> command) {
        return new Builder(command);
    }

    /** Builds an {@link ExecSpec}; see {@link #builder}. */
    public static final class Builder {
        private final List<String> command;
        private final Map<String, String> env = new LinkedHashMap<>();
        private String workdir;
        private Duration timeout;
        private long maxOutput;
        private int capture = ExecResult.MAX_CAPTURED_BYTES;
        private InputStream stdin;
        private OutputStream stdoutTee;
        private OutputStream stderrTee;

        private Builder(List<String> command) {
            this.command = command;
        }

        /**
         * Sets one variable on top of the sandbox's environment (a later call for the same name wins).
         *
         * @param name  the variable's name
         * @param value its value
         * @return this builder
         */
        public Builder env(String name, String value) {
            env.put(name, value);
            return this;
        }

        /**
         * Sets these variables on top of the sandbox's environment and those set before.
         *
         * @param v variable name to value
         * @return this builder
         */
        public Builder env(Map<String, String> v) {
            env.putAll(v);
            return this;
        }

        /**
         * Sets the working directory.
         *
         * @param v an absolute path in the sandbox; null (the default): the sandbox's
         * @return this builder
         */
        public Builder workdir(String v) {
            workdir = v;
            return this;
        }

        /**
         * Sets how long the command may run: past it the command is killed (exit code 124) and the sandbox keeps
         * running.
         *
         * @param v a positive duration; null (the default): no limit
         * @return this builder
         */
        public Builder timeout(Duration v) {
            timeout = v;
            return this;
        }

        /**
         * Sets the output limit: past {@code v} bytes of stdout and stderr together, copying stops and the command's
         * process tree is killed ({@link ExecResult#outputLimited}). A microVM whose environment was built before
         * davit-agent refuses a limit.
         *
         * @param v bytes; 0 (the default): no limit
         * @return this builder
         */
        public Builder maxOutput(long v) {
            maxOutput = v;
            return this;
        }

        /**
         * Sets how many bytes of each output stream the result keeps ({@link ExecResult#truncated} when there were
         * more); the tees still get all of it.
         *
         * @param v bytes per stream, 0 to {@link ExecResult#MAX_CAPTURED_BYTES} (the default)
         * @return this builder
         */
        public Builder capture(int v) {
            capture = v;
            return this;
        }

        /**
         * Sets the command's standard input, read until its end.
         *
         * @param v the input; null (the default): /dev/null. A microVM sandbox refuses one
         * @return this builder
         */
        public Builder stdin(InputStream v) {
            stdin = v;
            return this;
        }

        /**
         * Copies stdout and stderr to these as well (either may be null); they are not closed.
         *
         * @param stdout where the command's stdout is copied; null: nowhere
         * @param stderr where the command's stderr is copied; null: nowhere
         * @return this builder
         */
        public Builder tees(OutputStream stdout, OutputStream stderr) {
            stdoutTee = stdout;
            stderrTee = stderr;
            return this;
        }

        /**
         * The spec.
         *
         * @return a new {@link ExecSpec} of what was set
         * @throws DavitException {@link Kind#USAGE} for a value the record refuses (see its constructor)
         */
        public ExecSpec build() {
            return new ExecSpec(command, env, workdir, timeout, maxOutput, capture, stdin, stdoutTee, stderrTee);
        }
    }
}
