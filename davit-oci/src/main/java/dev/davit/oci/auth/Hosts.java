package dev.davit.oci.auth;

import java.util.Locale;

/** How registry hosts are named in config files, and how davit matches them. */
final class Hosts {
    private Hosts() {
    }

    /** The key Docker uses for Docker Hub in config files and credential helpers. */
    static final String DOCKER_HUB_SERVER_URL = "https://index.docker.io/v1/";

    /**
     * The host[:port] a config key or reference registry denotes, lower-cased: drops an {@code http://} or
     * {@code https://} prefix and any path ({@code https://host/v2/} is {@code host}), and names Docker Hub
     * ({@code index.docker.io}, {@code registry-1.docker.io}) {@code docker.io}.
     */
    static String normalize(String keyOrHost) {
        String s = keyOrHost == null ? "" : keyOrHost.trim().toLowerCase(Locale.ROOT);
        if (s.startsWith("https://")) {
            s = s.substring(8);
        } else if (s.startsWith("http://")) {
            s = s.substring(7);
        }
        int slash = s.indexOf('/');
        if (slash >= 0) {
            s = s.substring(0, slash);
        }
        return switch (s) {
            case "index.docker.io", "registry-1.docker.io" -> "docker.io";
            default -> s;
        };
    }

    /** What to hand a credential helper for a normalised host: Docker's server URL for Docker Hub. */
    static String serverUrl(String host) {
        return host.equals("docker.io") ? DOCKER_HUB_SERVER_URL : host;
    }
}
