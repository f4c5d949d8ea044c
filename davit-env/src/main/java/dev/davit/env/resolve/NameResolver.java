package dev.davit.env.resolve;

import dev.davit.oci.DavitException;
import dev.davit.oci.reference.Reference;

/**
 * Classifies a name a user typed into what it is and what must happen before it can run. A pure function: every
 * fact about the machine (catalog, installs, store, files) comes in through {@link Facts}, gathered by the
 * caller, so the same inputs always give the same answer.
 *
 * <p>Precedence, first match wins:
 * <ol>
 *   <li><b>local bundle</b> — the name is an existing file ending in {@code .tar}, {@code .tar.gz}, {@code .tgz},
 *       {@code .tar.zst} or {@code .tzst}; action {@code installed} if its references are in the store, else
 *       {@code pull} (an import). A path-like name ({@code ./x.tar}, {@code /x.tar}) to a missing file is
 *       {@code missing}.</li>
 *   <li><b>locally built image</b> — the name is an existing directory: action {@code build}.</li>
 *   <li><b>catalog environment</b> — the catalog names it: action {@code installed} when a valid install exists,
 *       {@code pull} when the store holds it (an install without the network) or it has a downloadable source
 *       (and is not offline), {@code build} when only a build profile can make it, else {@code missing}.</li>
 *   <li><b>registry image</b> — it parses as an image reference: action {@code installed} when the store holds it,
 *       else {@code pull}.</li>
 *   <li>otherwise {@code missing} (kind {@code unknown}).</li>
 * </ol>
 * A catalog name such as {@code debian:12} is also a valid Docker reference; the catalog wins, which is why it
 * comes first among the two.
 */
public final class NameResolver {
    private NameResolver() {
    }

    /** What a name is. */
    public enum Kind { CATALOG_ENVIRONMENT, REGISTRY_IMAGE, LOCAL_BUNDLE, LOCAL_IMAGE, UNKNOWN }

    /** What must happen before it can run. */
    public enum Action { INSTALLED, PULL, BUILD, MISSING }

    /** The facts the resolver needs, gathered by the caller. */
    public interface Facts {
        boolean isCatalogEnvironment(String name);

        boolean isInstalled(String name);

        boolean hasDownloadableSource(String name);

        /** Whether the store names this fully normalised reference. */
        boolean storeHas(String normalizedReference);

        boolean isRegularFile(String path);

        boolean isDirectory(String path);

        /** Whether every reference in the bundle at {@code path} is already in the store. */
        boolean bundleImported(String path);

        /** The build profile that can make the catalog environment {@code name} here, or null. */
        default String buildProfile(String name) {
            return null;
        }

        /** Whether the store holds what installs the catalog environment {@code name} (no network needed). */
        default boolean catalogEnvironmentInStore(String name) {
            return false;
        }

        /** Whether the network is off limits (--offline): no pulls, no builds. */
        default boolean offline() {
            return false;
        }
    }

    /**
     * The result.
     *
     * @param name   what was typed
     * @param kind   what it is
     * @param action what to do before running it
     * @param target the normalised reference, the path, or the environment name
     * @param reason one line explaining the decision
     */
    public record Resolution(String name, Kind kind, Action action, String target, String reason) {
    }

    /**
     * The facts of this machine as {@code installer} and {@code client} know them, asked as the resolver needs them.
     *
     * @param catalog   the catalog whose environments are catalog names
     * @param installer the installer of the davit home (status, store, build profiles)
     * @param client    the registry client over the home's store
     * @param offline   whether the network may not be used (no pull, no build)
     * @return the facts
     */
    public static Facts facts(dev.davit.env.Catalog catalog, dev.davit.env.install.Installer installer,
                              dev.davit.oci.client.DavitClient client, boolean offline) {
        return new Facts() {
            public boolean isCatalogEnvironment(String n) {
                return catalog.find(n).isPresent();
            }

            public boolean isInstalled(String n) {
                return catalog.find(n).map(e -> installer.status(e).installed()).orElse(false);
            }

            public boolean hasDownloadableSource(String n) {
                return catalog.find(n).map(e -> e.source().reference() != null || e.source().archive() != null
                        || e.source().profile() != null).orElse(false);
            }

            public String buildProfile(String n) {
                return catalog.find(n).map(installer::buildProfile).orElse(null);
            }

            public boolean catalogEnvironmentInStore(String n) {
                return catalog.find(n).map(installer::inStore).orElse(false);
            }

            public boolean offline() {
                return offline;
            }

            public boolean storeHas(String ref) {
                return client.store().entry(ref).isPresent();
            }

            public boolean isRegularFile(String p) {
                return java.nio.file.Files.isRegularFile(java.nio.file.Path.of(p));
            }

            public boolean isDirectory(String p) {
                return java.nio.file.Files.isDirectory(java.nio.file.Path.of(p));
            }

            public boolean bundleImported(String p) {
                try {
                    return client.bundles().inspect(java.nio.file.Path.of(p)).refs().stream()
                            .allMatch(ref -> ref.reference() != null
                                    && client.store().entry(ref.reference()).isPresent());
                } catch (RuntimeException ex) {
                    return false;
                }
            }
        };
    }

    public static Resolution resolve(String name, Facts facts) {
        if (name == null || name.isBlank()) {
            throw new DavitException(DavitException.Kind.USAGE, "the name is empty; give an environment, an image"
                    + " reference, a bundle file or a directory");
        }
        if (isBundleName(name)) {
            if (facts.isRegularFile(name)) {
                return facts.bundleImported(name)
                        ? new Resolution(name, Kind.LOCAL_BUNDLE, Action.INSTALLED, name, "bundle file, already imported")
                        : new Resolution(name, Kind.LOCAL_BUNDLE, Action.PULL, name, "bundle file, needs an import");
            }
            if (isPathLike(name)) {
                return new Resolution(name, Kind.LOCAL_BUNDLE, Action.MISSING, name, "bundle file does not exist");
            }
        }
        if (facts.isDirectory(name)) {
            return new Resolution(name, Kind.LOCAL_IMAGE, Action.BUILD, name, "directory, to be built into an image");
        }
        if (facts.isCatalogEnvironment(name)) {
            return catalogEnvironment(name, facts);
        }
        Reference ref;
        try {
            ref = Reference.parse(name);
        } catch (DavitException e) {
            return new Resolution(name, Kind.UNKNOWN, Action.MISSING, null,
                    "not a catalog environment, file, directory or image reference");
        }
        String normalized = ref.toString();
        return facts.storeHas(normalized)
                ? new Resolution(name, Kind.REGISTRY_IMAGE, Action.INSTALLED, normalized, "image in the store")
                : new Resolution(name, Kind.REGISTRY_IMAGE, Action.PULL, normalized, "image reference, not pulled");
    }

    /**
     * What the catalog environment {@code name} needs, in the order {@code Installer.install} tries its sources
     * (what {@code env list} shows for each environment).
     */
    public static Resolution catalogEnvironment(String name, Facts facts) {
        Action action;
        String reason;
        String profile = facts.buildProfile(name);
        if (facts.isInstalled(name)) {
            action = Action.INSTALLED;
            reason = "installed";
        } else if (facts.catalogEnvironmentInStore(name)) {
            action = Action.PULL;
            reason = "not installed; in the store, installs without the network";
        } else if (facts.offline()) {
            action = Action.MISSING;
            reason = "neither installed nor in the store, and offline use forbids pulling or building it";
        } else if (facts.hasDownloadableSource(name)) {
            action = Action.PULL;
            reason = "not installed; pull it" + (profile != null ? ", else build it from profile " + profile : "");
        } else if (profile != null) {
            action = Action.BUILD;
            reason = "not installed; build it from profile " + profile;
        } else {
            action = Action.MISSING;
            reason = "not installed, without a downloadable source or a build profile";
        }
        return new Resolution(name, Kind.CATALOG_ENVIRONMENT, action, name, "catalog environment, " + reason);
    }

    static boolean isBundleName(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        return n.endsWith(".tar") || n.endsWith(".tar.gz") || n.endsWith(".tgz") || n.endsWith(".tar.zst")
                || n.endsWith(".tzst");
    }

    static boolean isPathLike(String name) {
        return name.startsWith("/") || name.startsWith("./") || name.startsWith("../") || name.startsWith("~");
    }
}
