package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A command to run in a workspace ({@link Workspaces#exec(String, ExecRequest)}), built with {@link #builder}.
 *
 * @param command   the argv
 * @param env       variables on top of the image's
 * @param secretEnv variables set from the workspace's secrets (variable to secret name)
 * @param cwd       the working directory: null for /workspace, a relative one under it
 * @param timeout   how long it may run (then it is killed: exit 124); null for no limit
 * @param stdin     its standard input (null: /dev/null; container workspaces only)
 * @param stdoutTee where its stdout is copied as it arrives (null: nowhere)
 * @param stderrTee where its stderr is copied as it arrives (null: nowhere)
 */
public record ExecRequest(List<String> command, Map<String, String> env, Map<String, String> secretEnv, String cwd,
                          Duration timeout, InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
    public ExecRequest {
        if (command == null || command.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give ExecRequest.builder a command to run");
        }
        command = List.copyOf(command);
        env = env == null ? Map.of() : Map.copyOf(env);
        secretEnv = secretEnv == null ? Map.of() : Map.copyOf(secretEnv);
    }

    /** A request to run {@code command}: no variables, in /workspace, no timeout, no input, no tees. */
    public static Builder builder(String... command) {
        return new Builder(List.of(command));
    }

    /** {@link #builder(String...)} of an argv list. */
    public static Builder builder(List<String> command) {
        return new Builder(command);
    }

    /** Builds an {@link ExecRequest}. */
    public static final class Builder {
        private final List<String> command;
        private final Map<String, String> env = new LinkedHashMap<>();
        private final Map<String, String> secretEnv = new LinkedHashMap<>();
        private String cwd;
        private Duration timeout;
        private InputStream stdin;
        private OutputStream stdoutTee;
        private OutputStream stderrTee;

        private Builder(List<String> command) {
            this.command = command;
        }

        public Builder env(String key, String value) {
            env.put(key, value);
            return this;
        }

        public Builder env(Map<String, String> v) {
            env.putAll(v);
            return this;
        }

        /** Sets variable {@code variable} to the value of the workspace's secret {@code secret}. */
        public Builder secretEnv(String variable, String secret) {
            secretEnv.put(variable, secret);
            return this;
        }

        public Builder cwd(String v) {
            cwd = v;
            return this;
        }

        public Builder timeout(Duration v) {
            timeout = v;
            return this;
        }

        public Builder stdin(InputStream v) {
            stdin = v;
            return this;
        }

        /** Copies stdout and stderr, as they arrive, to these (either may be null). */
        public Builder tees(OutputStream stdout, OutputStream stderr) {
            stdoutTee = stdout;
            stderrTee = stderr;
            return this;
        }

        public ExecRequest build() {
            return new ExecRequest(command, env, secretEnv, cwd, timeout, stdin, stdoutTee, stderrTee);
        }
    }
}
