package dev.davit;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.target.RunTargets;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.client.DavitHome;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.workspace.Secrets;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * davit as a library: one davit home (the CLI's, {@code $DAVIT_HOME}, unless {@link Builder#home} says otherwise),
 * from which images are made runnable ({@link #image}), one-shot commands run ({@link #run}) and workspaces made
 * ({@link #workspace}, {@link #newWorkspace}) or opened again ({@link #openWorkspace}), each an {@link OpenWorkspace}
 * that has every workspace operation, with the CLI's safe defaults: container limits of {@link Limits#DEFAULT}
 * (dropped only where this host cannot enforce them), no network, no host paths. While it is open it removes expired
 * workspaces every {@link #REAP_EVERY} (see {@link Builder#reapEvery}); {@link #close} (also run when the JVM exits)
 * removes the workspaces its handles made and did not {@link OpenWorkspace#keep}. What it does on the way (a pull,
 * an unpack, an environment's install or build, which can take a minute the first time) is told to the listeners of
 * {@link Builder#progress} and {@link Builder#notices}.
 *
 * <p><b>Threads.</b> A {@code Davit} is thread-safe: share one across threads (runs, workspaces and images at once;
 * two threads that need the same image pull and unpack it once). Its {@link #images}, {@link #sandboxes} and
 * {@link #workspaces} are thread-safe too. An {@link OpenWorkspace} may be used from several threads (each call is
 * one operation on the workspace; commands run side by side).
 *
 * <pre>{@code
 * try (Davit davit = Davit.open();
 *      OpenWorkspace ws = davit.workspace("docker.io/library/busybox:1.36")) {
 *     ws.files().write("hello.sh", "echo hello from $(pwd)");
 *     System.out.println(ws.exec("sh", "hello.sh").stdoutText());   // hello from /workspace
 * }
 * }</pre>
 */
public final class Davit implements AutoCloseable {
    /** How often an open {@code Davit} removes expired workspaces. */
    public static final Duration REAP_EVERY = Duration.ofSeconds(10);
    /** How long a command may run when the caller sets no timeout. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    private final Path home;
    private final dev.davit.env.Catalog catalog; // null: the built-in one
    private final DavitClient client;
    private final Sandboxes sandboxes;
    private final Workspaces workspaces;
    private final Images images;
    private final Set<OpenWorkspace> open = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService reaper;
    private final Thread hook;
    private final ProgressListener progress;
    private final java.util.function.Consumer<String> notices;
    private volatile boolean closed;

    private Davit(Path home, ClientOptions clientOptions, Duration reapEvery, dev.davit.env.Catalog catalog,
                  java.util.function.UnaryOperator<SandboxOptions> sandboxOptions, ProgressListener progress,
                  java.util.function.Consumer<String> notices) {
        this.home = home;
        this.catalog = catalog;
        this.progress = progress;
        this.notices = notices;
        SandboxOptions options = sandboxOptions.apply(SandboxOptions.under(home));
        if (options == null || !options.stateDir().equals(SandboxOptions.under(home).stateDir())) {
            throw new DavitException(Kind.USAGE, "Davit.Builder.sandboxOptions must keep the home's state directory"
                    + " (change the home with Davit.Builder.home)");
        }
        this.client = DavitClient.create(clientOptions.withStore(DavitHome.storeOf(home)));
        this.sandboxes = new Sandboxes(options);
        this.workspaces = new Workspaces(sandboxes, home.resolve("workspaces"));
        this.images = new Images(this, progress);
        this.reaper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "davit-reaper");
            t.setDaemon(true);
            return t;
        });
        reaper.scheduleWithFixedDelay(this::reap, reapEvery.toMillis(), reapEvery.toMillis(),
                TimeUnit.MILLISECONDS);
        this.hook = new Thread(this::close, "davit-close");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /**
     * A {@code Davit} on the CLI's home ({@code $DAVIT_HOME}, else its default) and its registry settings.
     *
     * @return an open {@code Davit}; close it when done
     */
    public static Davit open() {
        return builder().build();
    }

    /**
     * A builder to open a {@code Davit} on another home, with other registry settings or another reap interval.
     *
     * @return a builder with the defaults of {@link #open()}
     */
    public static Builder builder() {
        return new Builder();
    }

    /** How to open a {@link Davit}. */
    public static final class Builder {
        private Path home;
        private ClientOptions clientOptions;
        private Duration reapEvery = REAP_EVERY;
        private dev.davit.env.Catalog catalog;
        private java.util.function.UnaryOperator<SandboxOptions> sandboxOptions = o -> o;
        private ProgressListener progress = ProgressListener.NONE;
        private java.util.function.Consumer<String> notices = line -> { };

        private Builder() {
        }

        /**
         * Hears the transfer of every pull this {@code Davit} makes on the way to a run or workspace (an image, an
         * environment's image), and of storing an environment it builds: the progress events the CLI draws its
         * progress bars from (default: none). davit's own until the API has a progress type of its own.
         *
         * @param listener thread-safe and fast (it runs on download threads), not null
         * @return this builder
         */
        Builder progress(ProgressListener listener) {
            this.progress = dev.davit.oci.internal.Args.given(listener, "Davit.Builder.progress", "listener",
                    "give ProgressListener.NONE for none");
            return this;
        }

        /**
         * Hears one line per step this {@code Davit} takes on the way to a run or workspace, the lines the CLI
         * prints as {@code ==> ...}: {@code pulling REF}, {@code unpacking REF into DIR}, {@code installing
         * environment debian:12 ...}, each phase of an environment's build and how long it took, a fallback and its
         * reason (default: none).
         *
         * @param notices thread-safe (steps of several threads' calls may interleave), not null
         * @return this builder
         */
        public Builder notices(java.util.function.Consumer<String> notices) {
            this.notices = dev.davit.oci.internal.Args.given(notices, "Davit.Builder.notices", "notices",
                    "give line -> { } for none");
            return this;
        }

        /**
         * Adjusts the sandboxes' options (default: {@link SandboxOptions#under} the home), e.g.
         * {@code o -> o.withAllowWeakerSandbox(true)}, {@code o -> o.withBwrap(path)} or {@code o -> o.withSearchPath(path)}.
         *
         * @param adjust takes the home's options and returns them changed; it must keep their state directory
         * @return this builder
         */
        public Builder sandboxOptions(java.util.function.UnaryOperator<SandboxOptions> adjust) {
            this.sandboxOptions = Objects.requireNonNull(adjust, "adjust");
            return this;
        }

        /**
         * How often expired workspaces are removed while it is open (default {@link #REAP_EVERY}).
         *
         * @param every the interval; positive
         * @return this builder
         * @throws DavitException USAGE when {@code every} is null, zero or negative
         */
        public Builder reapEvery(Duration every) {
            if (every == null || every.isNegative() || every.isZero()) {
                throw new DavitException(Kind.USAGE, "Davit.Builder.reapEvery takes a positive duration");
            }
            this.reapEvery = every;
            return this;
        }

        /**
         * The davit home: its store, unpacked images, sandboxes and workspaces (default: the CLI's); a relative path
         * is taken from the working directory.
         *
         * @param home the home directory, not null
         * @return this builder
         */
        public Builder home(Path home) {
            this.home = Objects.requireNonNull(home, "home");
            return this;
        }

        /**
         * Registry credentials and transport (default: {@code ClientOptions.defaults()}: davit's and docker's
         * configuration); its store is always the home's. davit's own: {@link #anonymous} is the API's.
         *
         * @param options the client's options, not null (their store is replaced by the home's)
         * @return this builder
         */
        Builder clientOptions(ClientOptions options) {
            this.clientOptions = Objects.requireNonNull(options, "options");
            return this;
        }

        /**
         * Reads none of this host's registry settings: no credentials (davit's {@code davit login} file, docker's and
         * podman's), no insecure registries from davit's configuration (loopback ones are reached over plain HTTP
         * anyway), no signature policy (everything is accepted). For tests, and for programs that only reach public
         * images and must not depend on the user's files.
         *
         * @return this builder
         */
        public Builder anonymous() {
            this.clientOptions = ClientOptions.anonymous(Path.of("store"));
            return this;
        }

        /**
         * The catalog whose environment names {@link Davit#image}, {@link Davit#run} and {@link Davit#workspace}
         * accept (default: the built-in one, {@code debian:12} and the others of {@code davit env list}).
         *
         * @param catalog a catalog, e.g. one built from {@link dev.davit.env.Environment}s; not null
         * @return this builder
         */
        public Builder catalog(dev.davit.env.Catalog catalog) {
            this.catalog = Objects.requireNonNull(catalog, "catalog");
            return this;
        }

        /**
         * The catalog of file {@code catalog} (the JSON or YAML form {@code davit env list --catalog} reads), instead
         * of the built-in one (see {@link #catalog(dev.davit.env.Catalog)}); read now.
         *
         * @param catalog the catalog file, at most 4 MiB
         * @return this builder
         * @throws DavitException USAGE when the file cannot be read; VERIFICATION when it is too large or not a
         *                        valid catalog
         */
        public Builder catalog(Path catalog) {
            this.catalog = dev.davit.env.catalog.CatalogParser.parse(Objects.requireNonNull(catalog, "catalog"));
            return this;
        }

        /**
         * Opens the {@code Davit}: starts its reaper thread and registers a shutdown hook that closes it.
         *
         * @return an open {@code Davit}; close it when done
         */
        public Davit build() {
            Path h = home != null ? home : DavitHome.resolve(System.getenv());
            return new Davit(h.toAbsolutePath(), clientOptions != null ? clientOptions : ClientOptions.defaults(),
                    reapEvery, catalog, sandboxOptions, progress, notices);
        }
    }

    /**
     * The davit home this {@code Davit} works in.
     *
     * @return the home's absolute path
     */
    public Path home() {
        return home;
    }

    /**
     * The image store and registry client (pull, push, copy, inspect): davit's own; {@link #images} is the API's.
     *
     * @return the client over the home's store; closed by {@link #close}
     */
    DavitClient client() {
        return client;
    }

    /** What hears this davit's pulls and pushes ({@link Builder#progress}). */
    ProgressListener progress() {
        return progress;
    }

    /**
     * The images and artifacts of this home's store: pull, push, copy, list, remove, artifacts and bundles.
     *
     * @return the home's images; its calls fail once this {@code Davit} is closed
     */
    public Images images() {
        return images;
    }

    /**
     * The sandboxes of this home, for what {@link #run} and {@link #workspace} do not cover.
     *
     * @return the sandboxes, with state under {@code <home>/sandboxes}
     */
    public Sandboxes sandboxes() {
        return sandboxes;
    }

    /**
     * The workspaces of this home (those of the CLI too).
     *
     * @return the workspaces, with state under {@code <home>/workspaces}
     */
    public Workspaces workspaces() {
        return workspaces;
    }

    /**
     * Image {@code reference} made runnable: pulled if it is not in the store, unpacked once into the home's shared
     * cache, its config read (see {@link RunTargets#ofImage}); or an environment of the catalog (the built-in one
     * unless {@link Builder#catalog} gave another: e.g. {@code debian:12}), installed into the home if it is not (see
     * {@link RunTargets#ofEnvironment}).
     *
     * @param reference an image reference, e.g. {@code docker.io/library/busybox:1.36} or one with a digest, or the
     *                  name of an environment of the catalog
     * @return the unpacked root filesystem (or microVM environment) with the image's run defaults and its backend
     * @throws DavitException USAGE for a malformed reference or when this {@code Davit} is closed; NOT_FOUND, AUTH or
     *                        NETWORK when the pull fails; STORE when the image cannot be unpacked
     */
    public RunTarget image(String reference) {
        dev.davit.oci.internal.Args.reference(reference, "Davit.image");
        check();
        return RunTargets.resolve(client, home, catalog, reference, progress,
                m -> notices.accept(m.toString()));
    }

    /**
     * A run of {@code reference} (see {@link #image}) with the CLI's defaults, to complete and pass to
     * {@link Sandboxes#run}: the image's defaults, {@link Limits#DEFAULT} (none where this host cannot enforce
     * them), no network, {@link #DEFAULT_TIMEOUT}.
     *
     * @param reference an image reference (see {@link #image})
     * @return a builder over the image's root filesystem, to add a command, variables and the rest to
     * @throws DavitException as {@link #image} does
     */
    public RunSpec.Builder runSpec(String reference) {
        dev.davit.oci.internal.Args.reference(reference, "Davit.runSpec");
        RunTarget t = image(reference);
        return RunSpec.builder(t.rootfs()).image(t.image()).backend(t.backend()).network(Network.NONE)
                .timeout(DEFAULT_TIMEOUT).limits(defaultLimits(t.backend()));
    }

    /**
     * Runs {@code command} (none: the image's Entrypoint and Cmd) in a new sandbox of {@code reference}, removed when
     * the command ends. A command that fails is no exception: see the result's exit code.
     *
     * @param reference an image reference (see {@link #image})
     * @param command   the argv (after the image's Entrypoint, if any); empty for the image's Cmd
     * @return the command's exit code, captured output and timings
     * @throws DavitException as {@link #image} does; USAGE when there is no command to run (none given, and the
     *                        image has neither Entrypoint nor Cmd); HOST_UNSUPPORTED (or another kind) when this host
     *                        cannot make the sandbox (see {@link Sandboxes#doctor}); CANCELLED when the calling
     *                        thread is interrupted (as {@link Sandboxes#run(RunSpec)})
     */
    public ExecResult run(String reference, String... command) {
        dev.davit.oci.internal.Args.reference(reference, "Davit.run");
        dev.davit.oci.internal.Args.given(command, "Davit.run", "command", "give no argument for the image's Cmd");
        return sandboxes.run(runSpec(reference).command(List.of(command)).build());
    }

    /**
     * A new workspace over {@code reference} (an empty /workspace), with the CLI's defaults and no ttl: removed when
     * the handle is closed (unless kept), or by this {@code Davit}'s close. {@link #newWorkspace} sets a name, seed,
     * labels, secrets, network or published ports.
     *
     * @param reference an image reference (see {@link #image}); a container image needs a {@code sleep} command
     * @return the open, running workspace; close it when done
     * @throws DavitException as {@link #image} does, or when its sandbox cannot be created or started
     */
    public OpenWorkspace workspace(String reference) {
        return workspace(reference, null);
    }

    /**
     * {@link #workspace(String)} removed {@code ttl} after its creation at the latest (null: no ttl), by this
     * {@code Davit} while it is open, else by the next one or {@code davit workspace reap}.
     *
     * @param reference an image reference (see {@link #image})
     * @param ttl       how long after its creation the workspace may be removed; positive, or null for no ttl
     * @return the open, running workspace; close it when done
     * @throws DavitException as {@link #workspace(String)} does; USAGE for a ttl that is zero or negative
     */
    public OpenWorkspace workspace(String reference, Duration ttl) {
        dev.davit.oci.internal.Args.reference(reference, "Davit.workspace");
        return newWorkspace(reference).ttl(ttl).open();
    }

    /**
     * A new workspace over {@code reference} to describe before it is made: its name, seed, labels, secrets, ttl,
     * network and published ports; {@link WorkspaceBuilder#open} makes it, with the CLI's defaults for the rest.
     *
     * <pre>{@code
     * try (OpenWorkspace ws = davit.newWorkspace("docker.io/library/busybox:1.36").name("proj")
     *         .seed(Path.of("project")).label("task", "42").open()) {
     *     ws.exec("sh", "-c", "make test");
     * }
     * }</pre>
     *
     * @param reference an image reference (see {@link #image}); a container image needs a {@code sleep} command
     * @return a builder of the workspace; nothing is made before its {@link WorkspaceBuilder#open}
     * @throws DavitException USAGE for a malformed reference
     */
    public WorkspaceBuilder newWorkspace(String reference) {
        dev.davit.oci.internal.Args.reference(reference, "Davit.newWorkspace");
        return new WorkspaceBuilder(reference);
    }

    /**
     * A new workspace from a snapshot that travelled: {@code snapshotReference} is an artifact
     * {@code davit workspace snapshot push} (or {@link dev.davit.sandbox.workspace.WorkspaceImages#pushSnapshot}) made,
     * pulled when it is not in the store (after a bundle's import it is); the environment it names is pulled too.
     * The workspace has the snapshot's baseline, the snapshot under its own name, and /workspace as the snapshot has
     * it; a snapshot of the whole sandbox brings what was installed outside /workspace too. The settings the snapshot
     * carries (its workspace's network, limits, labels and variables) are the new workspace's, except where the
     * builder sets its own. A name, labels, secrets, variables, ttl and network may be set on the builder; a seed may
     * not (the snapshot is it).
     *
     * <pre>{@code
     * try (OpenWorkspace ws = davit.newWorkspaceFrom("127.0.0.1:5000/team/proj:before-fix").open()) {
     *     System.out.println(ws.files().diff().changes()); // as it was where the snapshot was taken
     * }
     * }</pre>
     *
     * @param snapshotReference the snapshot artifact's reference
     * @return a builder of the workspace; nothing is made before its {@link WorkspaceBuilder#open}
     * @throws DavitException USAGE for a malformed reference
     */
    public WorkspaceBuilder newWorkspaceFrom(String snapshotReference) {
        dev.davit.oci.internal.Args.reference(snapshotReference, "Davit.newWorkspaceFrom");
        WorkspaceBuilder b = new WorkspaceBuilder(snapshotReference);
        b.fromSnapshot = true;
        return b;
    }

    /** A workspace to make ({@link Davit#newWorkspace}): everything but the image is optional. */
    public final class WorkspaceBuilder {
        private final String reference;
        private boolean fromSnapshot;
        private String name;
        private Path seed;
        private final Map<String, String> labels = new java.util.TreeMap<>();
        private final Map<String, byte[]> secrets = new java.util.LinkedHashMap<>();
        private final Map<String, String> env = new java.util.LinkedHashMap<>();
        private Duration ttl;
        private Network network = Network.NONE;
        private boolean networkGiven;
        private Limits limits;
        private final List<PortMapping> publish = new java.util.ArrayList<>();
        private String backend;

        private WorkspaceBuilder(String reference) {
            this.reference = reference;
        }

        /**
         * A variable of the workspace's own: every exec, service and shell in it gets it (on top of the image's Env;
         * what a call gives itself goes on top), its status shows it, {@link OpenWorkspace#env} changes it. Never a
         * secret's value ({@link #secret} and an exec's {@code secretEnv} are for those).
         *
         * @param key   its name: not empty, without {@code =} or NUL
         * @param value its value
         * @return this builder
         */
        public WorkspaceBuilder env(String key, String value) {
            env.put(key, value);
            return this;
        }

        /**
         * A name to find the workspace by ({@link Davit#openWorkspace}, {@code davit workspace} commands); it must
         * be free in this davit home (default: none).
         *
         * @param v 1 to 64 letters, digits, {@code .}, {@code _}, {@code -}, starting with a letter or digit and not
         *          with {@code ws-}; null for none
         * @return this builder
         */
        public WorkspaceBuilder name(String v) {
            this.name = v;
            return this;
        }

        /**
         * What /workspace starts with, and its baseline for {@link OpenFiles#diff} and {@link OpenWorkspace#reset}
         * (default: empty).
         *
         * @param v a host directory (copied) or a {@code .tar}, {@code .tar.gz}, {@code .tgz} or {@code .tar.zst}
         *          file (extracted); null for none
         * @return this builder
         */
        public WorkspaceBuilder seed(Path v) {
            this.seed = v;
            return this;
        }

        /**
         * Sets label {@code key} to {@code value} (see {@code Workspaces.list} and {@code davit workspace ls
         * --label}).
         *
         * @param key   1 to 63 letters, digits, {@code .}, {@code _}, {@code /}, {@code -}
         * @param value up to 128 letters, digits, {@code .}, {@code _}, {@code :}, {@code /}, {@code @}, {@code +},
         *              {@code -}; may be empty
         * @return this builder
         */
        public WorkspaceBuilder label(String key, String value) {
            labels.put(dev.davit.oci.internal.Args.given(key, "Davit.WorkspaceBuilder.label", "key",
                    "give a key, e.g. task"), dev.davit.oci.internal.Args.given(value,
                    "Davit.WorkspaceBuilder.label", "value", "give \"\" for an empty value"));
            return this;
        }

        /**
         * Gives the workspace secret {@code secretName}: kept in its state (0600), put into its {@code /run/secrets}
         * at each start, given to commands only as a variable they ask for
         * ({@link dev.davit.sandbox.workspace.ExecRequest.Builder#secretEnv}) and redacted from all it shows (see
         * {@link Secrets}).
         *
         * @param secretName a name as an environment variable's (letters, digits, {@code _})
         * @param value      its value: {@link Secrets#MIN_VALUE} to {@link Secrets#MAX_VALUE} bytes (copied)
         * @return this builder
         */
        public WorkspaceBuilder secret(String secretName, byte[] value) {
            dev.davit.oci.internal.Args.given(secretName, "Davit.WorkspaceBuilder.secret", "secretName",
                    "give a name such as TOKEN");
            dev.davit.oci.internal.Args.given(value, "Davit.WorkspaceBuilder.secret", "value",
                    "give the secret's bytes");
            secrets.put(secretName, value.clone());
            return this;
        }

        /**
         * How long after its creation the workspace may be removed (default: no ttl), by this {@code Davit} while
         * it is open, else by the next one or {@code davit workspace reap}.
         *
         * @param v positive, or null for no ttl
         * @return this builder
         */
        public WorkspaceBuilder ttl(Duration v) {
            this.ttl = v;
            return this;
        }

        /**
         * The workspace's limits (default: a container's {@link Limits#DEFAULT}, less what this host cannot enforce;
         * none for a microVM; from a snapshot, the limits its workspace had, each in the default's place).
         *
         * @param v the limits; {@link Limits#NONE} for none
         * @return this builder
         */
        public WorkspaceBuilder limits(Limits v) {
            this.limits = dev.davit.oci.internal.Args.given(v, "Davit.WorkspaceBuilder.limits", "v",
                    "give Limits.NONE for none");
            return this;
        }

        /**
         * The workspace's network (default: {@link Network#NONE}, only its own loopback; from a snapshot, the
         * network its workspace had, never the host's).
         *
         * @param v {@link Network#NONE}, {@link Network#NAT} (its own namespace, out through slirp4netns) or
         *          {@link Network#HOST}
         * @return this builder
         */
        public WorkspaceBuilder network(Network v) {
            this.network = dev.davit.oci.internal.Args.given(v, "Davit.WorkspaceBuilder.network", "v",
                    "give Network.NONE for none");
            this.networkGiven = true;
            return this;
        }

        /**
         * Where the workspace runs (default: the environment's own backend): {@code container}, {@code vm} (a
         * microVM environment) or {@code k8s}, a pod of the Kubernetes cluster of {@code KUBECONFIG} (an image's
         * workspace, pushed by digest to {@code DAVIT_K8S_REGISTRY}; docs/reference/KUBERNETES.md).
         *
         * @param v the backend, or null for the environment's own
         * @return this builder
         * @throws DavitException USAGE for an unknown backend (one that does not suit the environment is refused by
         *                        {@link #open})
         */
        public WorkspaceBuilder backend(String v) {
            if (v != null && !Sandboxes.BACKENDS.contains(v)) {
                throw new DavitException(DavitException.Kind.USAGE, dev.davit.oci.Message.of("unknown backend '"
                        + dev.davit.oci.internal.Text.printable(v) + "' for ", dev.davit.oci.Input.BACKEND,
                        "; available: " + String.join(", ", Sandboxes.BACKENDS)));
            }
            backend = v;
            return this;
        }

        /**
         * Publishes a port of the workspace on the host ({@link Network#NAT} only); {@link OpenWorkspace#ports}
         * tells where it is reached (a host port of 0 is chosen at creation).
         *
         * @param v the mapping, e.g. {@code PortMapping.parse("0:8080")}
         * @return this builder
         */
        public WorkspaceBuilder publish(PortMapping v) {
            publish.add(dev.davit.oci.internal.Args.given(v, "Davit.WorkspaceBuilder.publish", "v",
                    "give a mapping, e.g. PortMapping.parse(\"0:8080\")"));
            return this;
        }

        /**
         * Makes the workspace (pulling or installing the image first when needed, see {@link Davit#image}) and
         * starts it; on any failure nothing is left behind. It is removed when the handle closes, unless
         * {@link OpenWorkspace#keep kept}.
         *
         * @return the open, running workspace; close it when done
         * @throws DavitException as {@link Davit#image} does; USAGE for a bad name, label, seed, secret or ttl, a
         *                        name already taken, or published ports without {@link Network#NAT}; any kind from
         *                        creating or starting its sandbox
         */
        public OpenWorkspace open() {
            Secrets s = secrets.isEmpty() ? Secrets.NONE : Secrets.of(secrets);
            if (fromSnapshot) {
                if (seed != null) {
                    throw new DavitException(DavitException.Kind.USAGE, dev.davit.oci.Message.of("a workspace from a"
                            + " snapshot starts with the snapshot's files; drop ", dev.davit.oci.Input.SEED));
                }
                check();
                var restored = dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(workspaces, client,
                        progress).createFrom(reference, this::restoredSpec, name, labels, s, null);
                return track(new OpenWorkspace(Davit.this, restored.workspace(), false));
            }
            RunTarget t = image(reference);
            CreateSpec spec = CreateSpec.builder(t.rootfs()).image(t.image()).backend(backendFor(t)).env(env).ttl(ttl)
                    .limits(limits != null ? limits : defaultLimits(backendFor(t))).network(network).publish(publish)
                    .build();
            return track(new OpenWorkspace(Davit.this, workspaces.create(WorkspaceSpec.builder(spec).name(name)
                    .seed(seed).labels(labels).secrets(s).build()), false));
        }

        /**
         * The sandbox of a workspace restored over {@code t}: this builder's settings, and for the network and limits
         * it leaves out the snapshot's ({@code carried}).
         */
        private CreateSpec restoredSpec(RunTarget t, dev.davit.sandbox.workspace.SnapshotSettings carried) {
            Network carriedNetwork = networkGiven ? null : carried.networkFor(reference);
            return CreateSpec.builder(t.rootfs()).image(t.image()).backend(backendFor(t)).env(env).ttl(ttl)
                    .limits(limits != null ? limits : carried.limitsFor(backendFor(t), defaultLimits(backendFor(t))))
                    .network(carriedNetwork == null ? network : carriedNetwork).publish(publish).build();
        }

        /**
         * The backend asked for ({@link #backend}), which must suit environment {@code t}: an image runs in a
         * container or as a pod ({@code k8s}), a microVM environment only in a microVM; none asked: {@code t}'s own.
         */
        private String backendFor(RunTarget t) {
            if (backend == null || backend.equals(t.backend())) {
                return t.backend();
            }
            if (RunSpec.CONTAINER.equals(t.backend()) && !RunSpec.VM.equals(backend)) {
                return backend;
            }
            throw new DavitException(DavitException.Kind.USAGE, dev.davit.oci.Message.of(
                    dev.davit.oci.internal.Text.printable(reference) + (RunSpec.VM.equals(t.backend())
                    ? " is a microVM environment; it runs only on backend vm (" : " is a container image; backend vm"
                    + " needs a microVM environment ("), dev.davit.oci.Input.BACKEND, ")"));
        }
    }

    /**
     * A handle of existing workspace {@code idOrName} (one kept earlier, or made by the CLI or another
     * {@code Davit} of this home). Closing the handle leaves the workspace as it is (so does this {@code Davit}'s
     * close); {@link OpenWorkspace#remove} removes it.
     *
     * @param idOrName the workspace's id ({@code ws-...}) or name
     * @return a handle of it; close it when done
     * @throws DavitException NOT_FOUND when there is no such workspace; USAGE when several have that name or this
     *                        {@code Davit} is closed
     */
    public OpenWorkspace openWorkspace(String idOrName) {
        dev.davit.oci.internal.Args.given(idOrName, "Davit.openWorkspace", "idOrName",
                "give a workspace's id (ws-...) or name");
        check();
        return track(new OpenWorkspace(this, workspaces.get(idOrName), true));
    }

    /** {@code h}, closed with this {@code Davit}. */
    private OpenWorkspace track(OpenWorkspace h) {
        open.add(h);
        if (closed) { // closed meanwhile: nothing of it may outlive this Davit
            h.close();
            throw closedError();
        }
        return h;
    }

    /**
     * The default limits of {@code t}'s sandbox: a container's {@link Limits#DEFAULT}, less what this host cannot
     * enforce ({@link Limits#enforceableHere}, as the CLI does); none for a microVM, whose size bounds it.
     */
    private static Limits defaultLimits(String backend) {
        // a pod's limits are the cluster's to enforce, not this host's
        return "k8s".equals(backend) ? Limits.defaultFor(backend) : Limits.defaultFor(backend).enforceableHere();
    }

    void forget(OpenWorkspace h) {
        open.remove(h);
    }

    /** The client, for {@link Images}: USAGE once this {@code Davit} is closed. */
    DavitClient openClient() {
        check();
        return client;
    }

    private void check() {
        if (closed) {
            throw closedError();
        }
    }

    private static DavitException closedError() {
        return new DavitException(Kind.USAGE, "this Davit is closed; open another with Davit.open()");
    }

    /**
     * Removes expired workspaces (and those whose sandbox is gone). Sandboxes are left to {@link Sandboxes#reap}: a
     * failed one may be someone's to look at.
     */
    private void reap() {
        try {
            workspaces.reap();
        } catch (RuntimeException e) {
            // the next round tries again
        }
    }

    /**
     * Removes the workspaces its handles did not keep, expired ones, and stops; idempotent. Also run when the JVM
     * exits while it is open.
     */
    @Override
    public synchronized void close() { // the JVM's exit waits for a close in progress
        if (closed) {
            return;
        }
        closed = true;
        reaper.shutdownNow();
        for (OpenWorkspace h : List.copyOf(open)) {
            try {
                h.close();
            } catch (RuntimeException e) {
                // removed by a later reap: its ttl, or davit workspace rm
            }
        }
        reap();
        client.close();
        if (Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs this close anyway
            }
        }
    }
}
