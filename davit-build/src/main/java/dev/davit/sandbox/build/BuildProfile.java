package dev.davit.sandbox.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.util.List;

/**
 * What {@code davit env build PROFILE} puts into an environment.
 *
 * @param name        the profile's name
 * @param description one line for humans
 * @param packages    the Debian packages installed on top of Debian's {@code minbase} variant; empty for the
 *                    busybox profile
 * @param debian      whether the root filesystem comes from mmdebstrap (else from the host's static busybox)
 */
public record BuildProfile(String name, String description, List<String> packages, boolean debian) {
    /** A static busybox only: tiny and fast to build, for tests and CI. */
    public static final BuildProfile BUSYBOX = new BuildProfile("busybox",
            "a static busybox with its applets (tests and CI)", List.of(), false);
    /** Debian's minimal base: bash and coreutils (the catalog's debian:12-base). */
    public static final BuildProfile BASE = new BuildProfile("base", "Debian minbase with bash and coreutils",
            List.of("bash", "coreutils"), true);
    /** The base plus common command-line tools (the catalog's debian:12). */
    public static final BuildProfile GIT = new BuildProfile("git", "base plus ca-certificates, curl, git, less and"
            + " procps", List.of("bash", "ca-certificates", "coreutils", "curl", "git", "less", "procps"), true);
    /** Compilers and build tools (the catalog's debian:12-build). */
    public static final BuildProfile BUILD = new BuildProfile("build", "base plus build-essential, cmake,"
            + " pkg-config, python3, ca-certificates, curl and git", List.of("bash", "build-essential",
            "ca-certificates", "cmake", "curl", "git", "pkg-config", "python3"), true);

    /** Every profile, in the order {@code davit env build --help} lists them. */
    public static final List<BuildProfile> ALL = List.of(BASE, GIT, BUILD, BUSYBOX);

    public BuildProfile {
        packages = List.copyOf(packages);
    }

    /** The profile called {@code name}; a usage error listing the profiles otherwise. */
    public static BuildProfile named(String name) {
        return ALL.stream().filter(p -> p.name.equals(name)).findFirst().orElseThrow(() -> new DavitException(
                Kind.USAGE, "unknown profile '" + name + "'; available: "
                + String.join(", ", ALL.stream().map(BuildProfile::name).toList())));
    }
}
