package dev.davit.sandbox.build;

import dev.davit.env.Environment;
import dev.davit.env.install.Installer;
import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.Compression;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.manifest.Platform;
import dev.davit.sandbox.vm.VmImages;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * An {@link Installer.LocalBuilder}: an {@link EnvBuilder} build of a catalog environment's {@code source.build}
 * profile, stored as {@code localhost/davit/PROFILE:VERSION} (containers) or
 * {@code localhost/davit/PROFILE-vm:VERSION} (microVMs; the container image is stored too). What {@code davit env
 * pull} and {@code dev.davit.Davit} install from when a catalog publishes an environment nowhere.
 */
public final class LocalEnvBuilder implements Installer.LocalBuilder {
    /** The environment variable naming the Debian mirror builds use (default {@link EnvBuilder#DEFAULT_MIRROR}). */
    public static final String MIRROR_ENV = "DAVIT_DEBIAN_MIRROR";
    /** The environment variable naming the cache of microVM kernels and tools (default under the davit home). */
    public static final String VM_CACHE_ENV = "DAVIT_VM_CACHE";

    private final Supplier<DavitClient> client;
    private final Path home;
    private final Map<String, String> env;
    private final EnvBuilder.Listener listener;
    private final Supplier<ProgressListener> progress;

    /**
     * A builder into {@code home}'s store and {@code home/builds}.
     *
     * @param client   the client of the store the results go to (asked for when a build starts)
     * @param home     the davit home
     * @param env      the environment variables that configure builds ({@link #MIRROR_ENV}, {@link #VM_CACHE_ENV},
     *                 {@code SOURCE_DATE_EPOCH})
     * @param listener hears the build's phases
     * @param progress gives each build its progress listener (which is closed after the build when it is
     *                 {@link AutoCloseable})
     */
    public LocalEnvBuilder(Supplier<DavitClient> client, Path home, Map<String, String> env,
                           EnvBuilder.Listener listener, Supplier<ProgressListener> progress) {
        this.client = client;
        this.home = home;
        this.env = Map.copyOf(env);
        this.listener = listener;
        this.progress = progress;
    }

    /**
     * Where microVM kernels and tools are cached: {@link #VM_CACHE_ENV} of {@code env} when set, else under the home.
     *
     * @param env  the environment variables
     * @param home the davit home
     * @return the cache directory
     */
    public static Path vmCache(Map<String, String> env, Path home) {
        String dir = env.get(VM_CACHE_ENV);
        return dir != null && !dir.isBlank() ? Path.of(dir) : VmImages.defaultCacheDir(home);
    }

    /**
     * The image tag a build of profile {@code p} at {@code version} is stored under.
     *
     * @param p       the build profile
     * @param version the environment's version
     * @return {@code localhost/davit/PROFILE:VERSION}
     */
    public static String imageTag(BuildProfile p, String version) {
        return "localhost/davit/" + p.name() + ":" + version;
    }

    /**
     * The microVM artifact tag a build of profile {@code p} at {@code version} is stored under.
     *
     * @param p       the build profile
     * @param version the environment's version
     * @return {@code localhost/davit/PROFILE-vm:VERSION}
     */
    public static String vmTag(BuildProfile p, String version) {
        return "localhost/davit/" + p.name() + "-vm:" + version;
    }

    /**
     * The name a build of environment {@code e}'s Containerfile is stored under: {@code localhost/davit/cf-NAME:VERSION}
     * ({@code NAME} the environment's name made a repository name), {@code -vm} after it for a microVM.
     *
     * @param e  the environment
     * @param vm whether the microVM environment's name
     * @return the reference
     */
    public static String containerfileTag(Environment e, boolean vm) {
        String name = e.name().toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", "-")
                .replaceAll("^-|-$", "");
        String version = e.version().replaceAll("[^A-Za-z0-9_.-]", "_");
        return "localhost/davit/cf-" + name + (vm ? "-vm" : "") + ":" + (version.isEmpty() ? "latest" : version);
    }

    @Override
    public String reference(Environment e) {
        if (e.containerfile() != null) {
            return containerfileTag(e, e.kind() == Environment.Kind.MICROVM);
        }
        BuildProfile p = BuildProfile.named(e.source().build());
        return e.kind() == Environment.Kind.MICROVM ? vmTag(p, e.version()) : imageTag(p, e.version());
    }

    @Override
    public String unavailable(Environment e) {
        if (e.containerfile() != null) {
            Path f = e.containerfile();
            return java.nio.file.Files.isRegularFile(f) ? null : "its Containerfile " + f + " is not a file; fix the"
                    + " catalog's source.build";
        }
        BuildProfile profile;
        try {
            profile = BuildProfile.named(e.source().build());
        } catch (DavitException ex) {
            return ex.getMessage();
        }
        if (e.platform() != null && !e.platform().isBlank()) {
            Platform want = Platform.parse(e.platform());
            Platform host = Platform.host();
            if (!want.os().equals(host.os()) || !want.architecture().equals(host.architecture())) {
                return "it is for " + e.platform() + " and builds make " + host.os() + "/" + host.architecture()
                        + " only; use a catalog that publishes it for this platform";
            }
        }
        return EnvBuilder.unavailable(profile);
    }

    @Override
    public void build(Environment e) {
        if (e.containerfile() != null) {
            buildContainerfile(e);
            return;
        }
        BuildProfile p = BuildProfile.named(e.source().build());
        String vm = e.kind() == Environment.Kind.MICROVM ? vmTag(p, e.version()) : null;
        String mirror = env.get(MIRROR_ENV);
        EnvBuilder.Options o = new EnvBuilder.Options(p, e.version(), imageTag(p, e.version()), null,
                mirror == null || mirror.isBlank() ? null : mirror, BuildOptions.sourceDateEpoch(env), vm,
                vmCache(env, home), Compression.ZSTD); // a local build: zstd writes and unpacks several times faster than gzip
        ProgressListener l = progress.get();
        try {
            new EnvBuilder(client.get(), home.resolve("builds")).build(o, listener, l);
        } finally {
            if (l instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // a progress display that cannot close loses nothing
                }
            }
        }
    }

    /**
     * Builds environment {@code e}'s Containerfile ({@link Environment#containerfile()}, its directory the context)
     * with {@link ContainerfileBuilder}: no network for its RUN steps, the time of {@code SOURCE_DATE_EPOCH}; a
     * microVM environment is then made of the image ({@link EnvBuilder#microVm}).
     */
    private void buildContainerfile(Environment e) {
        Path f = e.containerfile();
        String text;
        try {
            if (java.nio.file.Files.size(f) > dev.davit.oci.containerfile.Containerfile.MAX_BYTES) {
                throw new DavitException(DavitException.Kind.USAGE, "the Containerfile " + f + " of " + e.name()
                        + " is larger than a Containerfile may be");
            }
            text = java.nio.file.Files.readString(f);
        } catch (java.io.IOException ex) {
            throw new DavitException(DavitException.Kind.USAGE, "cannot read the Containerfile " + f + " of "
                    + e.name() + ": " + ex.getMessage());
        }
        java.time.Instant epoch = BuildOptions.sourceDateEpoch(env);
        String image = containerfileTag(e, false);
        DavitClient c = client.get();
        new ContainerfileBuilder(c, new dev.davit.sandbox.engine.Sandboxes(dev.davit.sandbox.SandboxOptions.under(home)),
                home, listener::phase).build(dev.davit.oci.containerfile.Containerfile.parse(text, f.getFileName()
                .toString()), f.toAbsolutePath().getParent(), image, ContainerfileBuilder.Options.defaults()
                .withCreated(epoch));
        if (e.kind() == Environment.Kind.MICROVM) {
            new EnvBuilder(c, home.resolve("builds")).microVm(image, containerfileTag(e, true), vmCache(env, home),
                    epoch, "containerfile", e.version(), listener);
        }
    }

    /** Makes this builder for installs ({@link Installer#local}): found as a service. */
    public static final class Provider implements Installer.LocalBuilders {
        /** The provider {@link java.util.ServiceLoader} makes. */
        public Provider() {
        }

        @Override
        public Installer.LocalBuilder builder(DavitClient client, Path davitHome, Map<String, String> env,
                                              java.util.function.Consumer<dev.davit.oci.Message> notes,
                                              ProgressListener progress) {
            // a wrapper: the builder closes a listener that is AutoCloseable, and the caller's is not its to close
            return new LocalEnvBuilder(() -> client, davitHome, env,
                    EnvBuilder.Listener.lines(line -> notes.accept(dev.davit.oci.Message.of(line))),
                    () -> progress::onEvent);
        }
    }
}
