package dev.davit.env.catalog;

import dev.davit.oci.client.DavitHome;
import java.nio.file.Path;
import java.util.Map;

/**
 * How to find the catalog.
 *
 * @param catalog   the user's catalog: a local path, a {@code file://} URL or {@code oci://registry/repo:tag};
 *                  null or blank for the built-in catalog
 * @param refresh   fetch a remote catalog again even when a cached copy exists (ignored with {@code offline})
 * @param offline   never touch the network; a remote catalog must be cached
 * @param env       the process environment (for {@code DAVIT_HOME} and the registry bases)
 * @param davitHome davit's data directory; null means {@link DavitHome#resolve} of {@code env}
 */
public record CatalogOptions(String catalog, boolean refresh, boolean offline, Map<String, String> env,
                             Path davitHome) {
    /**
     * Copies {@code env}, fills the data directory and trims the catalog.
     *
     * @param catalog the user's catalog, or null or blank for the built-in one
     * @param refresh whether to fetch a remote catalog again
     * @param offline whether to stay off the network
     * @param env the process environment, or null for none
     * @param davitHome davit's data directory, or null to derive it from {@code env}
     */
    public CatalogOptions {
        env = env == null ? Map.of() : Map.copyOf(env);
        davitHome = davitHome == null ? DavitHome.resolve(env) : davitHome;
        catalog = catalog == null || catalog.isBlank() ? null : catalog.trim();
    }

    /**
     * {@return options for the built-in catalog, no refresh, online}
     *
     * @param env the process environment, e.g. {@link System#getenv()}
     */
    public static CatalogOptions defaults(Map<String, String> env) {
        return new CatalogOptions(null, false, false, env, null);
    }

    /**
     * {@return these options with another catalog}
     *
     * @param c a local path, a {@code file://} URL or {@code oci://registry/repo:tag}; null or blank for the built-in
     */
    public CatalogOptions withCatalog(String c) {
        return new CatalogOptions(c, refresh, offline, env, davitHome);
    }

    /**
     * {@return these options with refresh on or off}
     *
     * @param r true to fetch a remote catalog again even when a cached copy exists
     */
    public CatalogOptions withRefresh(boolean r) {
        return new CatalogOptions(catalog, r, offline, env, davitHome);
    }

    /**
     * {@return these options with offline mode on or off}
     *
     * @param o true to never touch the network
     */
    public CatalogOptions withOffline(boolean o) {
        return new CatalogOptions(catalog, refresh, o, env, davitHome);
    }

    /** {@return the cache of remote catalogs: {@code <davitHome>/catalogs}} */
    public Path cacheDir() {
        return davitHome.resolve("catalogs");
    }
}
