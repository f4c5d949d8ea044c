package dev.davit.env;

import java.util.List;
import java.util.Objects;

/**
 * A named, versioned environment a sandbox can run, as a catalog describes it.
 *
 * @param name                the name users type, e.g. {@code debian:12} or {@code debian:12-build}
 * @param version             the environment's version, e.g. {@code 2026.11.1}
 * @param kind                {@link Kind#CONTAINER} (an image's rootfs) or {@link Kind#MICROVM} (kernel + rootfs.ext4)
 * @param description         one line for humans
 * @param distribution        e.g. {@code debian}
 * @param distributionVersion e.g. {@code 12}
 * @param packages            default packages it contains
 * @param platform            {@code os/arch[/variant]}
 * @param davitVersions       the davit versions it works with, e.g. {@code >=0.1.0 <1.0.0} (null: any)
 * @param source              where it is published
 * @param artifacts           the files an install holds: {@code rootfs/} for containers, {@code vmlinux},
 *                            {@code rootfs.ext4} and optionally {@code initrd} for microVMs
 */
public record Environment(String name, String version, Kind kind, String description, String distribution,
                          String distributionVersion, List<String> packages, String platform, String davitVersions,
                          Source source, List<String> artifacts) {

    /** What an environment is made of. */
    public enum Kind {
        /** A container image; installs hold its unpacked {@code rootfs/}. */
        CONTAINER,
        /** A microVM artifact; installs hold {@code vmlinux}, {@code rootfs.ext4} and maybe {@code initrd}. */
        MICROVM;

        /** The {@code artifactType} of a {@link #MICROVM} environment's artifact (its kernel, initrd, root disk). */
        public static final String MICROVM_ARTIFACT_TYPE = "application/vnd.davit.env.microvm.v1";
    }

    /**
     * Checks the required components and copies the lists; null {@code packages} or {@code artifacts} become empty.
     *
     * @param name the name; not null
     * @param version the version; not null
     * @param kind the kind; not null
     * @param description the description, or null
     * @param distribution the distribution, or null
     * @param distributionVersion the distribution's version, or null
     * @param packages the packages, or null
     * @param platform the platform, or null
     * @param davitVersions the davit version range, or null for any
     * @param source where it is published; not null
     * @param artifacts the artifact names, or null
     * @throws NullPointerException if a required component is null
     */
    public Environment {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(version, "version");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(source, "source");
        packages = packages == null ? List.of() : List.copyOf(packages);
        artifacts = artifacts == null ? List.of() : List.copyOf(artifacts);
    }

    /**
     * The prefix of a {@link Source#build()} that names a Containerfile instead of a profile:
     * {@code containerfile:/abs/path/Containerfile} (a local catalog's relative path, made absolute when parsed); the
     * Containerfile's directory is the build context.
     */
    public static final String CONTAINERFILE = "containerfile:";

    /**
     * {@return the Containerfile {@code source.build} names, or null when it names a profile or nothing}
     */
    public java.nio.file.Path containerfile() {
        String b = source().build();
        return b != null && b.startsWith(CONTAINERFILE) ? java.nio.file.Path.of(b.substring(CONTAINERFILE.length()))
                : null;
    }

    /**
     * Where an environment comes from, in the order installs try them (after a valid existing install).
     *
     * @param profile   a local directory holding the artifacts (used only when all of them are present), or null
     * @param reference an OCI reference, or {@code repo://NAME} / {@code store://NAME} mapped through the configured
     *                  registry bases; null when not published in a registry
     * @param digest    a pinned manifest digest ({@code sha256:...}), or null
     * @param archive   a {@code file://} or {@code http(s)://} URL of a tar archive of the artifacts, or null
     * @param build     the name of the build profile (e.g. {@code git}) that makes this environment locally when no
     *                  install exists and the registry cannot serve it (see {@code Installer.LocalBuilder}), or
     *                  {@value Environment#CONTAINERFILE} and a Containerfile's path; null for none
     * @param signedBy  who must have signed the image {@code reference} names (a sigstore or GPG public key), or null
     *                  when the catalog requires no signer (the signature policy still applies)
     */
    public record Source(String profile, String reference, String digest, String archive, String build,
                         Signer signedBy) {
        /**
         * A source that requires no signer.
         *
         * @param profile a local directory holding the artifacts, or null
         * @param reference an OCI reference, or null
         * @param digest a pinned manifest digest, or null
         * @param archive a URL of a tar archive of the artifacts, or null
         * @param build a build profile or a Containerfile, or null
         */
        public Source(String profile, String reference, String digest, String archive, String build) {
            this(profile, reference, digest, archive, build, null);
        }

        /**
         * A source without a build profile.
         *
         * @param profile a local directory holding the artifacts, or null
         * @param reference an OCI reference (or {@code repo://NAME} / {@code store://NAME}), or null
         * @param digest a pinned manifest digest, or null
         * @param archive a URL of a tar archive of the artifacts, or null
         */
        public Source(String profile, String reference, String digest, String archive) {
            this(profile, reference, digest, archive, null, null);
        }
    }

    /**
     * Who an environment's image must be signed by ({@code source.signedBy} of a catalog): exactly one of a sigstore
     * public key (PEM, cosign's {@code cosign.pub}), a GPG public key (armored, {@code gpg --export -a}) and a keyless
     * (Fulcio) identity: the CA certificates, OIDC issuer and email its signing certificate must have, with the Rekor
     * key whose signed entry timestamp dates it. Installing from {@code source.reference} verifies the image's
     * signature before anything is installed.
     *
     * @param sigstoreKey   a PEM {@code PUBLIC KEY}, or null
     * @param gpgKey        an armored GPG public key, or null
     * @param fulcioCa      the Fulcio CA certificates (PEM), or null
     * @param oidcIssuer    the OIDC issuer a Fulcio certificate must name, or null
     * @param subjectEmail  the email a Fulcio certificate must name, or null
     * @param rekorKey      the Rekor public key (PEM): required with {@code fulcioCa}, optional with
     *                      {@code sigstoreKey}; else null
     */
    public record Signer(String sigstoreKey, String gpgKey, String fulcioCa, String oidcIssuer, String subjectEmail,
                         String rekorKey) {
        /**
         * A key signer.
         *
         * @param sigstoreKey a PEM {@code PUBLIC KEY}, or null
         * @param gpgKey      an armored GPG public key, or null
         */
        public Signer(String sigstoreKey, String gpgKey) {
            this(sigstoreKey, gpgKey, null, null, null, null);
        }

        /** {@return {@code sigstore}, {@code gpg} or {@code fulcio}} */
        public String kind() {
            return sigstoreKey != null ? "sigstore" : gpgKey != null ? "gpg" : "fulcio";
        }
    }

    /**
     * {@return the artifacts of a kind when a catalog names none: {@code rootfs}, or {@code vmlinux} and
     * {@code rootfs.ext4}}
     *
     * @param kind the environment's kind
     */
    public static List<String> defaultArtifacts(Kind kind) {
        return kind == Kind.CONTAINER ? List.of("rootfs") : List.of("vmlinux", "rootfs.ext4");
    }

    /**
     * {@return the install directory name: {@code <name with ':' -> '_'>-<version>}} E.g.
     * {@code debian_12-2026.11.1}.
     */
    public String installDirName() {
        return name.replace(':', '_') + "-" + version;
    }
}
