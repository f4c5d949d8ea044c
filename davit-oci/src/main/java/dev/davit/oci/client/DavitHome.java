package dev.davit.oci.client;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where davit keeps its data: {@code $DAVIT_HOME}, else {@code $XDG_CACHE_HOME/davit}, else
 * {@code ~/.cache/davit}. The store is {@code <home>/store}.
 */
public final class DavitHome {
    private DavitHome() {
    }

    /**
     * {@return davit's data directory for the given environment, absolute (a relative {@code DAVIT_HOME} is
     * resolved against the current directory)} It need not exist.
     *
     * @param env the environment variables, e.g. {@link System#getenv()}; {@code DAVIT_HOME} and
     *            {@code XDG_CACHE_HOME} are read, blank values count as unset
     */
    public static Path resolve(Map<String, String> env) {
        String home = env.get("DAVIT_HOME");
        if (home != null && !home.isBlank()) {
            return Path.of(home).toAbsolutePath();
        }
        String xdg = env.get("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "davit").toAbsolutePath();
        }
        return Path.of(System.getProperty("user.home"), ".cache", "davit").toAbsolutePath();
    }

    /**
     * {@return the store directory of a data directory: {@code <home>/store}}
     *
     * @param home davit's data directory, as {@link #resolve} gives it
     */
    public static Path storeOf(Path home) {
        return home.resolve("store");
    }
}
