package dev.davit.cli;

import dev.davit.env.Environment;
import dev.davit.env.install.Installer;
import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.build.Compression;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.manifest.Platform;
import dev.davit.sandbox.vm.VmImages;
import dev.davit.sandbox.build.BuildProfile;
import dev.davit.sandbox.build.EnvBuilder;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The CLI's {@link Installer.LocalBuilder}: {@code davit env build} of a catalog environment's {@code source.build}
 * profile, stored as {@code localhost/davit/PROFILE:VERSION} (containers) or {@code localhost/davit/PROFILE-vm:VERSION}
 * (microVMs; the container image is stored too), with the phases and their durations shown in human mode.
 */
final class EnvLocalBuilder implements Installer.LocalBuilder {
    /** The environment variable naming the Debian mirror builds use (default {@link EnvBuilder#DEFAULT_MIRROR}). */
    static final String MIRROR_ENV = "DAVIT_DEBIAN_MIRROR";

    private final Supplier<DavitClient> client;
    private final Path home;
    private final Map<String, String> env;
    private final Output out;

    EnvLocalBuilder(Supplier<DavitClient> client, Path home, Map<String, String> env, Output out) {
        this.client = client;
        this.home = home;
        this.env = env;
        this.out = out;
    }

    /** The image tag {@code davit env build PROFILE --version VERSION} stores by default. */
    static String imageTag(BuildProfile p, String version) {
        return "localhost/davit/" + p.name() + ":" + version;
    }

    /** The microVM tag {@code davit env build PROFILE --version VERSION} stores by default. */
    static String vmTag(BuildProfile p, String version) {
        return "localhost/davit/" + p.name() + "-vm:" + version;
    }

    @Override
    public String reference(Environment e) {
        BuildProfile p = BuildProfile.named(e.source().build());
        return e.kind() == Environment.Kind.MICROVM ? vmTag(p, e.version()) : imageTag(p, e.version());
    }

    @Override
    public String unavailable(Environment e) {
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
        BuildProfile p = BuildProfile.named(e.source().build());
        String vm = e.kind() == Environment.Kind.MICROVM ? vmTag(p, e.version()) : null;
        String mirror = env.get(MIRROR_ENV);
        String vmCache = env.get("DAVIT_VM_CACHE");
        EnvBuilder.Options o = new EnvBuilder.Options(p, e.version(), imageTag(p, e.version()), null,
                mirror == null || mirror.isBlank() ? null : mirror, BuildOptions.sourceDateEpoch(env), vm,
                vmCache != null && !vmCache.isBlank() ? Path.of(vmCache) : VmImages.defaultCacheDir(home),
                Compression.ZSTD); // a local build: zstd writes and unpacks several times faster than gzip
        out.notice("==> building " + e.name() + " " + e.version() + " from profile " + p.name()
                + " (once; later runs use the install)");
        long start = System.nanoTime();
        try (ProgressRenderer progress = out.progress()) {
            new EnvBuilder(client.get(), home.resolve("builds")).build(o, new EnvBuildCommand.PhaseLines(out),
                    progress);
        }
        out.notice("==> built " + e.name() + " in " + Units.duration(java.time.Duration.ofNanos(
                System.nanoTime() - start)));
    }
}
