package dev.davit.sandbox.workspace;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A service to start in a workspace ({@link Services#start(ServiceSpec)}), built with {@link #builder}.
 *
 * @param name         its name: up to 64 letters, digits, {@code .}, {@code _} or {@code -}, not starting with
 *                     {@code .}; unique among the workspace's running services
 * @param command      the argv, not empty; run in /workspace, its output to the service's log
 * @param env          variables on top of the sandbox's, in the order given
 * @param secretEnv    variables set from the workspace's secrets (variable to secret name), in the order given
 * @param readiness    how to know it is ready; null: ready once started
 * @param readyTimeout how long to wait for readiness (then it is stopped and the start fails); null:
 *                     {@link Services#READY_TIMEOUT}
 */
public record ServiceSpec(String name, List<String> command, Map<String, String> env, Map<String, String> secretEnv,
                          Services.Readiness readiness, Duration readyTimeout) {
    /**
     * Checks the spec and copies its list and maps (null maps become empty).
     *
     * @throws DavitException {@link Kind#USAGE} for a missing name, an empty command or a ready timeout that is not
     *                        positive (the name's form is checked by the start)
     */
    public ServiceSpec {
        if (name == null || name.isEmpty()) {
            throw new DavitException(Kind.USAGE, Message.of(Action.GIVE_SERVICE_NAME.fix()));
        }
        if (command == null || command.isEmpty()) {
            throw new DavitException(Kind.USAGE, Message.of(Action.GIVE_SERVICE_COMMAND.fix()));
        }
        command = List.copyOf(command);
        env = env == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(env));
        secretEnv = secretEnv == null ? Map.of()
                : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(secretEnv));
        dev.davit.oci.internal.ProcessArgs.check(command, env, null);
        if (readyTimeout != null && (readyTimeout.isZero() || readyTimeout.isNegative())) {
            throw new DavitException(Kind.USAGE, Message.of(Input.READY_TIMEOUT, " must be positive, not "
                    + readyTimeout.toMillis() + " ms").value(readyTimeout));
        }
    }

    /**
     * A service {@code name} running {@code command}: no variables, no secrets, ready once started.
     *
     * @param name    the service's name (see {@link ServiceSpec})
     * @param command the program and its arguments; at least one (else {@link Builder#build} throws a
     *                {@link Kind#USAGE} error)
     * @return a builder to set the rest on
     */
    public static Builder builder(String name, String... command) {
        return new Builder(name, List.of(command));
    }

    /**
     * {@link #builder(String, String...)} of an argv list.
     *
     * @param name    the service's name (see {@link ServiceSpec})
     * @param command the program and its arguments; not empty (else {@link Builder#build} throws a
     *                {@link Kind#USAGE} error)
     * @return a builder to set the rest on
     */
    public static Builder builder(String name, List<String> command) {
        return new Builder(name, command);
    }

    /** Builds a {@link ServiceSpec}; see {@link #builder}. */
    public static final class Builder {
        private final String name;
        private final List<String> command;
        private final Map<String, String> env = new LinkedHashMap<>();
        private final Map<String, String> secretEnv = new LinkedHashMap<>();
        private Services.Readiness readiness;
        private Duration readyTimeout;

        private Builder(String name, List<String> command) {
            this.name = name;
            this.command = command;
        }

        /**
         * Sets one variable on top of the sandbox's environment (a later call for the same name wins).
         *
         * @param variable the variable's name
         * @param value    its value
         * @return this builder
         */
        public Builder env(String variable, String value) {
            env.put(variable, value);
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
         * Sets variable {@code variable} to the value of the workspace's secret {@code secret}, read inside the
         * sandbox, never put on a command line; the service's log and errors show the value redacted. The start
         * fails with a {@link Kind#USAGE} error when the workspace has no such secret or {@code env} sets the same
         * variable.
         *
         * @param variable the environment variable's name
         * @param secret   the name of one of the workspace's {@link Secrets}
         * @return this builder
         */
        public Builder secretEnv(String variable, String secret) {
            secretEnv.put(variable, secret);
            return this;
        }

        /**
         * Sets how the start knows the service is ready: it returns then.
         *
         * @param v a file, port or command check; null (the default): ready once started
         * @return this builder
         */
        public Builder readiness(Services.Readiness v) {
            readiness = v;
            return this;
        }

        /**
         * Sets how long the start waits for readiness; past it the service is stopped and recorded as
         * {@code failed-readiness}.
         *
         * @param v a positive duration; null (the default): {@link Services#READY_TIMEOUT}
         * @return this builder
         */
        public Builder readyTimeout(Duration v) {
            readyTimeout = v;
            return this;
        }

        /**
         * The spec.
         *
         * @return a new {@link ServiceSpec} of what was set
         * @throws DavitException {@link Kind#USAGE} for a value the record refuses (see its constructor)
         */
        public ServiceSpec build() {
            return new ServiceSpec(name, command, env, secretEnv, readiness, readyTimeout);
        }
    }
}
