package dev.davit.langchain4j;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.mcp.DavitTools;
import dev.langchain4j.code.CodeExecutionEngine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * LangChain4j's {@link CodeExecutionEngine} in a davit sandbox: each {@link #execute(String)} runs the code once in a
 * fresh, throw-away sandbox of an environment (Python by default) with limits and no network unless given, through
 * the MCP server's {@code run} tool. What it returns is that tool's result as JSON text ({@code exit_code},
 * {@code stdout}, {@code stderr}, …), or its error ({@code {"error": {…}}}): a model reads both, nothing is thrown.
 *
 * <pre>{@code
 * CodeExecutionEngine python = DavitCodeExecutionEngine.builder().build();   // python:3.12-slim, python3 -c CODE
 * String result = python.execute("print(6 * 7)");
 * }</pre>
 */
public final class DavitCodeExecutionEngine implements CodeExecutionEngine, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final DavitTools tools;
    private final ObjectNode template;

    private DavitCodeExecutionEngine(DavitTools tools, ObjectNode template) {
        this.tools = tools;
        this.template = template;
    }

    /** A builder: Python 3.12 (the {@code python:3.12-slim} image), 60 s, no network. */
    public static Builder builder() {
        return new Builder();
    }

    /** Runs {@code code} with the interpreter, as the last argument of its command. */
    @Override
    public String execute(String code) {
        ObjectNode args = template.deepCopy();
        ((ArrayNode) args.get("command")).add(code);
        return tools.call("run", args.toString()).json();
    }

    @Override
    public void close() {
        tools.close();
    }

    /** Makes a {@link DavitCodeExecutionEngine}. */
    public static final class Builder {
        private String environment = "python:3.12-slim";
        private List<String> interpreter = List.of("python3", "-c");
        private Duration timeout = Duration.ofSeconds(60);
        private Long memoryMiB;
        private Double cpus;
        private final List<String> allowHosts = new ArrayList<>();
        private final DavitTools.Builder tools = DavitTools.builder().tools("run").owner("langchain4j");

        private Builder() {
        }

        /**
         * The environment the code runs in: a catalog environment or an image reference (default
         * {@code python:3.12-slim}). An image's registry is allowed by naming it here.
         */
        public Builder environment(String environment) {
            this.environment = environment;
            return this;
        }

        /** The interpreter's command before the code (default {@code python3 -c}). */
        public Builder interpreter(String... command) {
            this.interpreter = List.of(command);
            return this;
        }

        /** Kills a run after this long (exit code 124; default 60 s). */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /** The sandbox's memory limit in MiB (default: the MCP server's default). */
        public Builder memoryMiB(long mib) {
            this.memoryMiB = mib;
            return this;
        }

        /** The sandbox's CPU limit (default: the MCP server's default). */
        public Builder cpus(double cpus) {
            this.cpus = cpus;
            return this;
        }

        /**
         * A host name the code may reach, on any port ({@code host:443}: HTTPS alone; repeatable; default none: no
         * network at all).
         */
        public Builder allowHost(String host) {
            allowHosts.add(host);
            return this;
        }

        /** Where davit keeps its images and sandboxes (default: {@code DAVIT_HOME}, else davit's default home). */
        public Builder home(java.nio.file.Path home) {
            tools.home(home);
            return this;
        }

        /** Whether it runs where memory and CPU limits cannot be enforced (default false: refused there). */
        public Builder allowUnlimited(boolean allow) {
            tools.allowUnlimited(allow);
            return this;
        }

        /**
         * The engine.
         *
         * @throws dev.davit.oci.DavitException USAGE naming the method of an option out of its range
         */
        public DavitCodeExecutionEngine build() {
            if (interpreter.isEmpty()) {
                throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "interpreter(String...)"
                        + " needs a command, e.g. interpreter(\"python3\", \"-c\")");
            }
            if (timeout == null || timeout.getSeconds() < 0 || timeout.getSeconds() > 1_000_000_000L
                    || timeout.toMillis() < 1) {
                throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "timeout(Duration)"
                        + " must be between a millisecond and 10^9 seconds, got " + timeout);
            }
            if ((memoryMiB != null && memoryMiB < 1) || (cpus != null && !(cpus > 0))) {
                throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, memoryMiB != null
                        && memoryMiB < 1 ? "memoryMiB(long) must be at least 1, got " + memoryMiB
                        : "cpus(double) must be more than 0, got " + cpus);
            }
            ObjectNode args = JSON.createObjectNode().put("environment", environment);
            String registry = registryOf(environment);
            if (registry != null) {
                tools.allowRegistry(registry);
            }
            args.put("timeout", timeout.toMillis() / 1000.0);
            if (memoryMiB != null) {
                args.put("memory", memoryMiB);
            }
            if (cpus != null) {
                args.put("cpus", cpus);
            }
            if (!allowHosts.isEmpty()) {
                ArrayNode hosts = args.putArray("allow_hosts");
                allowHosts.forEach(h -> {
                    hosts.add(h);
                    tools.allowEgress(h);
                });
            }
            ArrayNode command = args.putArray("command");
            interpreter.forEach(command::add);
            return new DavitCodeExecutionEngine(tools.build(), args);
        }

        /**
         * The registry of {@code ref} as the MCP server's {@code --allow-registry} names it ({@code docker.io} for a
         * name without a host, a catalog environment's name too: harmless, as the model never names the
         * environment), or null when it is no reference at all.
         */
        static String registryOf(String ref) {
            try {
                return dev.davit.Images.registry(ref);
            } catch (RuntimeException e) {
                return null; // not a reference: a catalog name (the run tool says what is wrong with it)
            }
        }
    }
}
