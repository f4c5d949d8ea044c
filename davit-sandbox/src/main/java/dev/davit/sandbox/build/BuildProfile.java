package dev.davit.sandbox.build;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.util.List;

/**
 * What {@code davit env build PROFILE} puts into an environment.
 *
 * @param name        the profile's name
 * @param description one line for humans
 * @param packages    the Debian packages installed on top of debootstrap's {@code minbase} variant; empty for the
 *                    busybox profile
 * @param debian      whether the root filesystem comes from debootstrap (else from the host's static busybox)
 */
public record BuildProfile(String name, String description, List<String> packages, boolean debian) {
    /** A static busybox only: tiny and fast to build, for tests and CI. */
    public static final BuildProfile BUSYBOX = new BuildProfile("busybox",
            "a static busybox with its applets (tests and CI)", List.of(), false);
    /** Debian's minimal base: bash and coreutils. */
    public static final BuildProfile BASE = new BuildProfile("base", "Debian minbase with bash and coreutils",
            List.of("bash", "coreutils"), true);
    /** The base plus git. */
    public static final BuildProfile GIT = new BuildProfile("git", "base plus git",
            List.of("bash", "coreutils", "ca-certificates", "git"), true);
    /** The git profile plus compilers and build tools. */
    public static final BuildProfile BUILD = new BuildProfile("build", "git plus gcc, make, cmake and python3",
            List.of("bash", "coreutils", "ca-certificates", "git", "gcc", "libc6-dev", "make", "cmake", "python3"),
            true);

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
