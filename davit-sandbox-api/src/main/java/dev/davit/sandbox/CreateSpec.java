package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A long-lived sandbox to create (see {@code Sandboxes.create}).
 *
 * @param rootfs    for the {@code container} backend, the root filesystem directory; mounted read-only and never
 *                  written. It needs a {@code sleep} command (in /bin, /usr/bin, /sbin or /usr/sbin): the sandbox's
 *                  keeper process runs it. For the {@code vm} backend, the microVM environment directory
 *                  ({@code vmlinux}, {@code rootfs.ext4}, optionally {@code initrd}); never written either
 * @param env       variables set on top of the image's {@code Env} for every exec
 * @param workdir   the default working directory of execs (default: the image's {@code WorkingDir}, else /)
 * @param network   the sandbox's network (see {@link Network}); null means {@link Network#NONE}
 * @param image     the image's run defaults (Env, WorkingDir; Entrypoint/Cmd/User are not used by exec)
 * @param ttl       how long after creation {@code Sandboxes.reap} may remove it; null means never
 * @param backend   {@code container} or {@code vm}; null means {@code container}
 * @param vcpus     virtual CPUs of the microVM (vm backend only)
 * @param memoryMiB memory of the microVM in MiB (vm backend only)
 * @param publish   ports published on the host ({@code --publish}); only with {@link Network#NAT} or a policy
 *                  ({@link Network#ownNamespace()})
 * @param limits    the container sandbox's memory, CPU and process limits, for its keeper and every exec together
 *                  ({@link Limits#NONE} when null); of a microVM only {@code cpus}, its QEMU's CPU quota (QEMU's
 *                  memory and process limits come from its size)
 * @param scratchInLayer whether the root filesystem's own {@code /tmp}, {@code /run} and {@code /var/tmp} are used,
 *                  written into the sandbox's layer like any other directory (what a Containerfile's RUN writes
 *                  there is in its layer, and what the image has there is seen), instead of the directories
 *                  every other sandbox gets there, empty at creation; container backend only
 * @param mounts    host directories and files, and tmpfs, mounted into the sandbox ({@link Mount}); container backend
 *                  only; empty when null
 */
public record CreateSpec(Path rootfs, Map<String, String> env, String workdir, Network network, ImageConfig image,
                         Duration ttl, String backend, int vcpus, int memoryMiB, List<PortMapping> publish,
                         Limits limits, boolean scratchInLayer, List<Mount> mounts) {
    /**
     * Where a long-lived container sandbox has a small tmpfs of its own (1 MiB, mode 0700, owned by the sandbox's
     * root until a layer above hands it on), in the keeper's mount namespace, which every exec and detached command
     * joins: for files that must never reach a disk, the sandbox's layer or a host directory (a workspace's
     * secrets). Made only where /run is mounted (never a mount point in a read-only root); gone at each stop.
     */
    public static final String PRIVATE_TMPFS = "/run/secrets";

    /**
     * Checks the values and fills in the defaults (null maps, lists, image, network, backend and limits become empty,
     * none or {@code container}); the collections are copied. The backend's name is checked when the sandbox is
     * created ({@code Sandboxes.create}: the backends are the drivers found there).
     *
     * @throws DavitException USAGE for published ports without a network namespace of its own ({@link
     *                        Network#ownNamespace()}), a ttl that is not
     *                        positive, and what a {@link RunSpec} refuses (variable names, a relative working
     *                        directory, {@code vcpus} or {@code memoryMiB} out of range)
     */
    public CreateSpec {
        Objects.requireNonNull(rootfs, "rootfs");
        env = env == null ? Map.of() : Map.copyOf(new LinkedHashMap<>(env));
        image = image == null ? ImageConfig.EMPTY : image;
        network = network == null ? Network.NONE : network;
        publish = publish == null ? List.of() : List.copyOf(publish);
        if (!publish.isEmpty() && !network.ownNamespace()) {
            throw new DavitException(Kind.USAGE, Message.of(Input.PUBLISH, " needs ", Input.NETWORK, " (the"
                    + " sandbox's own network namespace); with ", Input.NETWORK_HOST, " the sandbox's ports are already"
                    + " the host's"));
        }
        backend = backend == null ? RunSpec.CONTAINER : backend;
        limits = limits == null ? Limits.NONE : limits;
        if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
            throw new DavitException(Kind.USAGE, "the ttl must be positive");
        }
        mounts = mounts == null ? List.of() : List.copyOf(mounts);
        if (!mounts.isEmpty() && !backend.equals(RunSpec.CONTAINER)) {
            throw new DavitException(Kind.USAGE, "mounts of host directories are for the container backend only");
        }
        for (Mount a : mounts) {
            for (Mount b : mounts) {
                if (a != b && (a.target().equals(b.target()) || b.target().startsWith(a.target() + "/"))) {
                    throw new DavitException(Kind.USAGE, "the mounts on " + a.target() + " and " + b.target() + " are"
                            + " one inside the other; give each a target of its own");
                }
            }
            // where every other sandbox has davit's own scratch directories (kept between its starts), no mount
            for (String own : scratchInLayer ? List.<String>of() : List.of("/tmp", "/run", "/var/tmp")) {
                if (a.target().equals(own) || a.target().startsWith(own + "/")) {
                    throw new DavitException(Kind.USAGE, "nothing may be mounted on " + a.target() + ": " + own
                            + " is the sandbox's own");
                }
            }
        }
        if (scratchInLayer && backend.equals(RunSpec.VM)) {
            throw new DavitException(Kind.USAGE, "a microVM has its own /tmp, /run and /var/tmp: the root filesystem's"
                    + " own scratch directories are for the container backend only");
        }
        // the same checks as a run
        RunSpec.builder(rootfs).env(env).workdir(workdir).network(network).image(image).backend(backend).vcpus(vcpus)
                .memoryMiB(memoryMiB).limits(Limits.NONE).build();
    }

    /**
     * A builder over {@code rootfs}: no variables, the image's (else /) working directory, no network, no image
     * defaults, no ttl, the container backend, {@link RunSpec#DEFAULT_VCPUS} and {@link RunSpec#DEFAULT_MEMORY_MIB}
     * for a microVM, no published ports, and container limits of {@link Limits#DEFAULT} (none for a microVM, whose
     * size bounds it).
     *
     * @param rootfs the root filesystem (container) or microVM environment directory (vm), not null
     * @return a new builder
     */
    public static Builder builder(Path rootfs) {
        return new Builder(rootfs);
    }

    /** Builds a {@link CreateSpec}; see {@link #builder}. */
    public static final class Builder {
        private final Path rootfs;
        private final Map<String, String> env = new LinkedHashMap<>();
        private String workdir;
        private Network network = Network.NONE;
        private ImageConfig image = ImageConfig.EMPTY;
        private Duration ttl;
        private String backend = RunSpec.CONTAINER;
        private List<Mount> mounts = List.of();
        private int vcpus = RunSpec.DEFAULT_VCPUS;
        private int memoryMiB = RunSpec.DEFAULT_MEMORY_MIB;
        private List<PortMapping> publish = List.of();
        private Limits limits;
        private boolean scratchInLayer;

        private Builder(Path rootfs) {
            this.rootfs = Objects.requireNonNull(rootfs, "rootfs");
        }

        /**
         * Sets one variable for every exec, on top of the image's Env (replacing one of that name given before).
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
         * Sets these variables for every exec, on top of the image's Env and those given before.
         *
         * @param v names to values, not null
         * @return this builder
         */
        public Builder env(Map<String, String> v) {
            env.putAll(v);
            return this;
        }

        /**
         * The default working directory of execs.
         *
         * @param v an absolute path, or null for the image's WorkingDir (else /)
         * @return this builder
         */
        public Builder workdir(String v) {
            workdir = v;
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
         * The image's run defaults; execs use its Env and WorkingDir.
         *
         * @param v the defaults, e.g. {@link RunTarget#image}; null for none
         * @return this builder
         */
        public Builder image(ImageConfig v) {
            image = v;
            return this;
        }

        /**
         * How long after creation a reap may remove it (null: never).
         *
         * @param v a positive duration, or null for never
         * @return this builder
         */
        public Builder ttl(Duration v) {
            ttl = v;
            return this;
        }

        /**
         * The backend (default {@code container}).
         *
         * @param v {@link RunSpec#CONTAINER} or {@link RunSpec#VM}; null for {@code container}
         * @return this builder
         */
        public Builder backend(String v) {
            backend = v;
            return this;
        }

        /**
         * The virtual CPUs of the microVM (vm backend only; default {@link RunSpec#DEFAULT_VCPUS}).
         *
         * @param v the number of vCPUs, 1 to 64
         * @return this builder
         */
        public Builder vcpus(int v) {
            vcpus = v;
            return this;
        }

        /**
         * The memory of the microVM (vm backend only; default {@link RunSpec#DEFAULT_MEMORY_MIB}).
         *
         * @param v the memory in MiB, at least 64
         * @return this builder
         */
        public Builder memoryMiB(int v) {
            memoryMiB = v;
            return this;
        }

        /**
         * The ports published on the host (replacing any given before); only with {@link Network#NAT} or a policy
         * ({@link Network#ownNamespace()}).
         *
         * @param v the mappings, or null or empty for none
         * @return this builder
         */
        public Builder publish(List<PortMapping> v) {
            publish = v;
            return this;
        }

        /**
         * The container's limits ({@link Limits#NONE}: none); default {@link Limits#DEFAULT} (none for a microVM, of
         * whose limits only the CPUs count).
         *
         * @param v the limits; null for the default
         * @return this builder
         */
        public Builder limits(Limits v) {
            limits = v;
            return this;
        }

        /**
         * Whether the root filesystem's own {@code /tmp}, {@code /run} and {@code /var/tmp} are used and written into
         * the sandbox's layer (default false: the directories every sandbox gets); container backend only.
         *
         * @param v true for the root filesystem's own
         * @return this builder
         */
        public Builder scratchInLayer(boolean v) {
            scratchInLayer = v;
            return this;
        }

        /**
         * What is mounted into the sandbox besides its root filesystem (default none); container backend only.
         *
         * @param v the mounts, each target once
         * @return this builder
         */
        public Builder mounts(List<Mount> v) {
            mounts = List.copyOf(v);
            return this;
        }

        /**
         * The spec, to pass to {@code Sandboxes.create}.
         *
         * @return a new {@link CreateSpec} of this builder's values
         * @throws DavitException USAGE for a value the {@link CreateSpec} refuses (see its constructor)
         */
        public CreateSpec build() {
            return new CreateSpec(rootfs, env, workdir, network, image, ttl, backend, vcpus, memoryMiB, publish,
                    limits != null ? limits : Limits.defaultFor(backend), scratchInLayer, mounts);
        }
    }

    /**
     * Whether the sandbox's files are out of the host's reach, in its guest (a microVM's disk, a k8s pod), reached
     * through davit's agent ({@code Machinery.guestFiles}) rather than on the host.
     *
     * @return true for every backend but {@link RunSpec#CONTAINER}
     */
    public boolean filesInGuest() {
        return !backend.equals(RunSpec.CONTAINER);
    }

    /**
     * Whether this is a microVM sandbox.
     *
     * @return true for the {@code vm} backend
     */
    public boolean isVm() {
        return backend.equals(RunSpec.VM);
    }

    /**
     * This spec with another ttl.
     *
     * @param t how long after creation a reap may remove it: positive, or null for never
     * @return a new spec
     */
    public CreateSpec withTtl(Duration t) {
        return new CreateSpec(rootfs, env, workdir, network, image, t, backend, vcpus, memoryMiB, publish, limits,
                scratchInLayer, mounts);
    }

    /**
     * This spec with {@code e} as its variables (a workspace's changed environment).
     *
     * @param e names to values, set for every exec on top of the image's Env
     * @return a new spec
     * @throws dev.davit.oci.DavitException USAGE for a bad name or value
     */
    public CreateSpec withEnv(Map<String, String> e) {
        return new CreateSpec(rootfs, e, workdir, network, image, ttl, backend, vcpus, memoryMiB, publish, limits,
                scratchInLayer, mounts);
    }

    /**
     * This spec with another network (e.g. a sandbox's changed egress policy).
     *
     * @param n the network; null for none
     * @return a new spec
     */
    public CreateSpec withNetwork(Network n) {
        return new CreateSpec(rootfs, env, workdir, n, image, ttl, backend, vcpus, memoryMiB, publish, limits,
                scratchInLayer, mounts);
    }

    /**
     * This spec with other limits (e.g. a restored snapshot's).
     *
     * @param l the limits; null for none
     * @return a new spec
     */
    public CreateSpec withLimits(Limits l) {
        return new CreateSpec(rootfs, env, workdir, network, image, ttl, backend, vcpus, memoryMiB, publish, l,
                scratchInLayer, mounts);
    }

    /**
     * This spec with {@code p} as its published ports (see {@code Sandboxes.create}; a copy of a sandbox
     * publishes none).
     *
     * @param p the published ports, not null
     * @return a new spec
     */
    public CreateSpec withPublish(List<PortMapping> p) {
        return new CreateSpec(rootfs, env, workdir, network, image, ttl, backend, vcpus, memoryMiB, p, limits,
                scratchInLayer, mounts);
    }

    /**
     * This spec with another root filesystem (a backend records its resolved rootfs).
     *
     * @param r the root filesystem or microVM environment directory, not null
     * @return a new spec
     */
    public CreateSpec withRootfs(Path r) {
        return new CreateSpec(r, env, workdir, network, image, ttl, backend, vcpus, memoryMiB, publish, limits,
                scratchInLayer, mounts);
    }
}
