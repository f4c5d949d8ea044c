package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One command to run in a sandbox ({@code Sandboxes.run}, in module dev.davit.sandbox.core, runs it).
 *
 * @param rootfs  the root filesystem directory; mounted read-only and never written. For the vm backend, the
 *                microVM environment directory ({@code vmlinux}, {@code rootfs.ext4}, optionally {@code initrd})
 * @param command the argv; empty means the image's {@code Cmd}. The image's {@code Entrypoint}, when set, is put in
 *                front (as {@code docker run} does)
 * @param env     variables set on top of the image's {@code Env} (the host environment is never passed)
 * @param workdir the working directory inside the sandbox (default: the image's {@code WorkingDir}, else /)
 * @param timeout how long the command may run; null means no limit
 * @param network the sandbox's network (see {@link Network}); null means {@link Network#NONE}: no network at all,
 *                only its own lo
 * @param image   the image's run defaults
 * @param backend {@code container}, {@code vm}, or null to choose automatically (see {@code Sandboxes.run})
 * @param runtime for the container backend: {@code bwrap}, {@code crun} or {@code runc}; null chooses the first
 *                that works here. Ignored by the vm backend
 * @param vcpus   virtual CPUs of a microVM (vm backend only), at least 1
 * @param memoryMiB memory of a microVM in MiB (vm backend only), at least 64
 * @param limits  the container backend's memory, CPU and process limits (see {@link Limits}); null (this
 *                constructor) means {@link Limits#NONE}; {@link #builder}'s default is the CLI's
 *                {@link Limits#DEFAULT}. Of the vm backend only
 *                {@code cpus} is used, as its QEMU's CPU quota: QEMU's memory and process limits come from
 *                {@code vcpus} and {@code memoryMiB}
 * @param maxOutput how many bytes the command may write to stdout and stderr together; past it davit stops copying
 *                (captured and streamed), kills the command's process tree and reports
 *                {@link ExecResult#outputLimited} with exit code {@link ExecResult#OUTPUT_LIMIT_EXIT_CODE}. 0 means no
 *                limit (the captured copy is still cut at {@link ExecResult#MAX_CAPTURED_BYTES} per stream). Container
 *                backend only: the vm backend refuses it
 * @param capture how many bytes of each of stdout and stderr the result keeps ({@link ExecResult#capturedStdout});
 *                the rest is counted ({@link ExecResult#truncated}) and still reaches the tees. Default and most:
 *                {@link ExecResult#MAX_CAPTURED_BYTES}
 */
public record RunSpec(Path rootfs, List<String> command, Map<String, String> env, String workdir, Duration timeout,
                      Network network, ImageConfig image, String backend, String runtime, int vcpus,
                      int memoryMiB, Limits limits, long maxOutput, int capture) {
    /** The container backend's name (the default backend): a value of {@link #backend}. */
    public static final String CONTAINER = "container";
    /** The microVM backend's name: a value of {@link #backend}. */
    public static final String VM = "vm";
    /** The vCPUs of a microVM when none are asked for. */
    public static final int DEFAULT_VCPUS = 1;
    /** The memory of a microVM when none is asked for. */
    public static final int DEFAULT_MEMORY_MIB = 512;

    /** PATH when neither the image nor the caller sets one. */
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /**
     * Checks the values and fills in the defaults (null lists, maps, image, network and limits become empty or
     * none); the collections are copied.
     *
     * @throws DavitException USAGE for a timeout that is not positive, an invalid variable name (empty, with
     *                        {@code =} or NUL), a relative working directory, {@code vcpus} outside 1..64,
     *                        {@code memoryMiB} outside 64..1048576, a negative {@code maxOutput} or a
     *                        {@code capture} outside 0..{@link ExecResult#MAX_CAPTURED_BYTES}
     */
    public RunSpec {
        Objects.requireNonNull(rootfs, "rootfs");
        command = command == null ? List.of() : List.copyOf(command);
        env = env == null ? Map.of() : Map.copyOf(new LinkedHashMap<>(env));
        image = image == null ? ImageConfig.EMPTY : image;
        network = network == null ? Network.NONE : network;
        limits = limits == null ? Limits.NONE : limits;
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new DavitException(Kind.USAGE, "the timeout must be positive");
        }
        dev.davit.oci.internal.ProcessArgs.check(command, env, workdir);
        if (workdir != null && !workdir.startsWith("/")) {
            throw new DavitException(Kind.USAGE, "the working directory must be absolute: " + workdir);
        }
        if (vcpus < 1 || vcpus > 64) {
            throw new DavitException(Kind.USAGE, Message.of(Input.VCPUS, " must be between 1 and 64, not " + vcpus)
                    .value(vcpus));
        }
        if (memoryMiB < 64 || memoryMiB > 1 << 20) {
            throw new DavitException(Kind.USAGE, Message.of(Input.VM_MEMORY, " must be at least 64 MiB, not "
                    + memoryMiB).value(memoryMiB));
        }
        ExecResult.checkMaxOutput(maxOutput, Input.MAX_OUTPUT);
        ExecResult.checkCapture(capture, "the captured bytes per stream");
    }

    /**
     * A builder over {@code rootfs}, with the defaults of {@link Builder}.
     *
     * @param rootfs the root filesystem directory (container) or microVM environment directory (vm), not null
     * @return a new builder
     */
    public static Builder builder(Path rootfs) {
        return new Builder(rootfs);
    }

    /**
     * The argv that runs: Entrypoint + (command, or the image's Cmd when no command is given).
     *
     * @return a new list, not empty
     * @throws DavitException USAGE when there is nothing to run (no command, and the image has neither Entrypoint
     *                        nor Cmd)
     */
    public List<String> effectiveCommand() {
        List<String> argv = new ArrayList<>(image.entrypoint());
        argv.addAll(command.isEmpty() ? image.cmd() : command);
        if (argv.isEmpty()) {
            throw new DavitException(Kind.USAGE, "no command given and the image has no Entrypoint or Cmd");
        }
        return argv;
    }

    /**
     * The environment that runs: the image's Env, then {@link #env} on top, and PATH ({@link #DEFAULT_PATH}) when
     * neither has one.
     *
     * @return a new map: the image's variables in its order (the caller's values replacing theirs), then the
     *         caller's other variables sorted by name
     */
    public Map<String, String> effectiveEnv() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String kv : image.env()) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                out.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        out.putAll(new java.util.TreeMap<>(env));
        out.putIfAbsent("PATH", DEFAULT_PATH);
        return out;
    }

    /**
     * The working directory that runs: {@link #workdir}, else the image's WorkingDir when it is absolute, else /.
     *
     * @return an absolute path in the sandbox
     */
    public String effectiveWorkdir() {
        if (workdir != null) {
            return workdir;
        }
        return image.workingDir() != null && image.workingDir().startsWith("/") ? image.workingDir() : "/";
    }

    /**
     * Builder with the defaults: no command override, no env, the image's (else /) working directory, no timeout,
     * no network, no image defaults, automatic backend and runtime, {@link #DEFAULT_VCPUS} and
     * {@link #DEFAULT_MEMORY_MIB} for a microVM, container limits of {@link Limits#DEFAULT} (the CLI's; none for a
     * microVM, whose size bounds it), no output limit, the largest capture. Values are checked by {@link #build}.
     * Where this host cannot enforce limits ({@link Limits#unenforceable}) a run with memory or CPU limits fails: say
     * {@code limits(Limits.DEFAULT.enforceableHere())} to keep the process limit ({@code RLIMIT_NPROC}) or
     * {@code limits(Limits.NONE)} to run without them.
     */
    public static final class Builder {
        private final Path rootfs;
        private List<String> command = List.of();
        private final Map<String, String> env = new LinkedHashMap<>();
        private String workdir;
        private Duration timeout;
        private Network network = Network.NONE;
        private ImageConfig image = ImageConfig.EMPTY;
        private String backend;
        private String runtime;
        private int vcpus = DEFAULT_VCPUS;
        private int memoryMiB = DEFAULT_MEMORY_MIB;
        private Limits limits;
        private long maxOutput;
        private int capture = ExecResult.MAX_CAPTURED_BYTES;

        private Builder(Path rootfs) {
            this.rootfs = rootfs;
        }

        /**
         * The argv (replacing any given before); empty for the image's Cmd (see {@link RunSpec#command}).
         *
         * @param v the argv, or null for the image's Cmd
         * @return this builder
         */
        public Builder command(List<String> v) {
            command = v;
            return this;
        }

        /**
         * The argv (replacing any given before); none for the image's Cmd.
         *
         * @param v the command and its arguments
         * @return this builder
         */
        public Builder command(String... v) {
            return command(List.of(v));
        }

        /**
         * Sets one variable, on top of the image's Env (and replacing one of that name given before).
         *
         * @param key   the variable's name: not empty, without {@code =} or NUL
         * @param value its value
         * @return this builder
         */
        public Builder env(String key, String value) {
            env.put(key, value);
            return this;
        }

        /**
         * Sets these variables, on top of the image's Env and those given before.
         *
         * @param v names to values, not null
         * @return this builder
         */
        public Builder env(Map<String, String> v) {
            env.putAll(v);
            return this;
        }

        /**
         * The working directory in the sandbox.
         *
         * @param v an absolute path, or null for the image's WorkingDir (else /)
         * @return this builder
         */
        public Builder workdir(String v) {
            workdir = v;
            return this;
        }

        /**
         * How long the command may run before it is killed (exit {@link ExecResult#TIMEOUT_EXIT_CODE}).
         *
         * @param v a positive duration, or null for no limit
         * @return this builder
         */
        public Builder timeout(Duration v) {
            timeout = v;
            return this;
        }

        /**
         * The sandbox's network (default {@link Network#NONE}).
         *
         * @param v the network; null for none
         * @return this builder
         */
        public Builder network(Network v) {
            network = v;
            return this;
        }

        /**
         * The image's run defaults: Entrypoint, Cmd, Env, WorkingDir, User.
         *
         * @param v the defaults, e.g. {@link RunTarget#image}; null for none
         * @return this builder
         */
        public Builder image(ImageConfig v) {
            image = v;
            return this;
        }

        /**
         * The backend (see {@code Sandboxes.BACKENDS}).
         *
         * @param v {@link RunSpec#CONTAINER}, {@link RunSpec#VM}, or null to choose automatically
         * @return this builder
         */
        public Builder backend(String v) {
            backend = v;
            return this;
        }

        /**
         * The container backend's runtime (see {@code Sandboxes.CONTAINER_RUNTIMES}); ignored by the vm backend.
         *
         * @param v {@code bwrap}, {@code crun}, {@code runc}, or null for the first installed
         * @return this builder
         */
        public Builder runtime(String v) {
            runtime = v;
            return this;
        }

        /**
         * The virtual CPUs of a microVM (vm backend only; default {@link #DEFAULT_VCPUS}).
         *
         * @param v the number of vCPUs, 1 to 64
         * @return this builder
         */
        public Builder vcpus(int v) {
            vcpus = v;
            return this;
        }

        /**
         * The memory of a microVM (vm backend only; default {@link #DEFAULT_MEMORY_MIB}).
         *
         * @param v the memory in MiB, at least 64
         * @return this builder
         */
        public Builder memoryMiB(int v) {
            memoryMiB = v;
            return this;
        }

        /**
         * The container's memory, CPU and process limits ({@link Limits#NONE}: none); default
         * {@link Limits#DEFAULT} (none for a microVM, of whose limits only the CPUs count).
         *
         * @param v the limits; null for the default
         * @return this builder
         */
        public Builder limits(Limits v) {
            limits = v;
            return this;
        }

        /**
         * The output limit in bytes, stdout and stderr together (see {@link RunSpec#maxOutput}); container backend
         * only.
         *
         * @param v the limit in bytes, 0 for none
         * @return this builder
         */
        public Builder maxOutput(long v) {
            maxOutput = v;
            return this;
        }

        /**
         * How many bytes of each output stream the result keeps (see {@link RunSpec#capture}).
         *
         * @param v bytes per stream, 0 to {@link ExecResult#MAX_CAPTURED_BYTES}
         * @return this builder
         */
        public Builder capture(int v) {
            capture = v;
            return this;
        }

        /**
         * The run.
         *
         * @return a new {@link RunSpec} of this builder's values
         * @throws DavitException USAGE for a value the {@link RunSpec} refuses (see its constructor)
         */
        public RunSpec build() {
            return new RunSpec(rootfs, command, env, workdir, timeout, network, image, backend, runtime, vcpus,
                    memoryMiB, limits != null ? limits : Limits.defaultFor(backend), maxOutput, capture);
        }
    }
}
