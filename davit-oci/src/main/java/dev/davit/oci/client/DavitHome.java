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

    public static Path resolve(Map<String, String> env) {
        String home = env.get("DAVIT_HOME");
        if (home != null && !home.isBlank()) {
            return Path.of(home);
        }
        String xdg = env.get("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "davit");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "davit");
    }

    public static Path storeOf(Path home) {
        return home.resolve("store");
    }
}
