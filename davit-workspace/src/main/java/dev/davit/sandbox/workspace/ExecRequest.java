package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A command to run in a workspace ({@link WorkspaceExecs#run(String, ExecRequest)}), built with {@link #builder}.
 *
 * @param command   the argv
 * @param env       variables on top of the image's
 * @param secretEnv variables set from the workspace's secrets (variable to secret name)
 * @param workdir   the working directory: null for /workspace, a relative one under it
 * @param timeout   how long it may run (then it is killed: exit 124); null for no limit
 * @param stdin     its standard input (null: /dev/null; container workspaces only)
 * @param stdoutTee where its stdout is copied as it arrives (null: nowhere)
 * @param stderrTee where its stderr is copied as it arrives (null: nowhere)
 */
public record ExecRequest(List<String> command, Map<String, String> env, Map<String, String> secretEnv,
                          String workdir, Duration timeout, InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
    /**
     * Checks the request and copies its lists and maps (null maps become empty), the maps in their given order (the
     * order the variables are set in, and the first bad one is the one an error names).
     *
     * @throws DavitException {@link Kind#USAGE} when {@code command} is null or empty
     */
    public ExecRequest {
        if (command == null || command.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give ExecRequest.builder a command to run");
        }
        command = List.copyOf(command);
        env = env == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(env));
        secretEnv = secretEnv == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(secretEnv));
        dev.davit.oci.internal.ProcessArgs.check(command, env, workdir);
    }

    /**
     * A request to run {@code command}: no variables, in /workspace, no timeout, no input, no tees.
     *
     * @param command the program and its arguments; at least one element, else {@link Builder#build} throws a
     *                {@link Kind#USAGE} error
     * @return a builder to set the rest on
     */
    public static Builder builder(String... command) {
        return new Builder(List.of(command));
    }

    /**
     * {@link #builder(String...)} of an argv list.
     *
     * @param command the program and its arguments; not empty (else {@link Builder#build} throws a {@link Kind#USAGE}
     *                error)
     * @return a builder to set the rest on
     */
    public static Builder builder(List<String> command) {
        return new Builder(command);
    }

    /** Builds an {@link ExecRequest}. */
    public static final class Builder {
        private final List<String> command;
        private final Map<String, String> env = new LinkedHashMap<>();
        private final Map<String, String> secretEnv = new LinkedHashMap<>();
        private String workdir;
        private Duration timeout;
        private InputStream stdin;
        private OutputStream stdoutTee;
        private OutputStream stderrTee;

        private Builder(List<String> command) {
            this.command = command;
        }

        /**
         * Sets one environment variable on top of the image's (a later call for the same key wins).
         *
         * @param key   the variable's name
         * @param value its value
         * @return this builder
         */
        public Builder env(String key, String value) {
            env.put(key, value);
            return this;
        }

        /**
         * Sets these environment variables on top of the image's and those set before.
         *
         * @param v variable name to value
         * @return this builder
         */
        public Builder env(Map<String, String> v) {
            env.putAll(v);
            return this;
        }

        /**
         * Sets variable {@code variable} to the value of the workspace's secret {@code secret}. The value is read
         * inside the sandbox (by its {@code /bin/sh}), never put on a command line; the exec fails with a
         * {@link Kind#USAGE} error when the workspace has no such secret or an {@code env} call sets the same
         * variable.
         *
         * @param variable the environment variable's name (see {@link Secrets#checkName})
         * @param secret   the name of one of the workspace's {@link Secrets}
         * @return this builder
         */
        public Builder secretEnv(String variable, String secret) {
            secretEnv.put(variable, secret);
            return this;
        }

        /**
         * Sets these variables from the workspace's secrets, as {@link #secretEnv(String, String)} does each, in the
         * map's order.
         *
         * @param v environment variable name to the name of one of the workspace's {@link Secrets}
         * @return this builder
         */
        public Builder secretEnv(Map<String, String> v) {
            v.forEach(this::secretEnv);
            return this;
        }

        /**
         * Sets the working directory.
         *
         * @param v an absolute path in the sandbox, or one relative to /workspace; null (the default): /workspace
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
         * @param v the limit; null (the default): none
         * @return this builder
         */
        public Builder timeout(Duration v) {
            timeout = v;
            return this;
        }

        /**
         * Sets the command's standard input, read until its end.
         *
         * @param v the input; null (the default): /dev/null. Container workspaces only: a microVM workspace's exec
         *          refuses one ({@link Kind#USAGE})
         * @return this builder
         */
        public Builder stdin(InputStream v) {
            stdin = v;
            return this;
        }

        /**
         * Copies stdout and stderr to these (either may be null): as they arrive in a container workspace, when the
         * command ends in a microVM one. In a workspace with secrets they get the output redacted.
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
         * The request.
         *
         * @return a new {@link ExecRequest} of what was set
         * @throws DavitException {@link Kind#USAGE} when the command is empty
         */
        public ExecRequest build() {
            return new ExecRequest(command, env, secretEnv, workdir, timeout, stdin, stdoutTee, stderrTee);
        }
    }
}
