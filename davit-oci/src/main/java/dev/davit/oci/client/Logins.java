package dev.davit.oci.client;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.auth.Credentials;
import dev.davit.oci.auth.DavitConfig;
import dev.davit.oci.internal.Text;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.RegistryAuthenticator;
import dev.davit.oci.registry.RegistryClient;
import dev.davit.oci.registry.RegistryOptions;
import java.nio.file.Path;

/**
 * A {@link DavitClient}'s logins: a registry host named as references name it, and credentials checked against the
 * registry before they are saved in the davit config file.
 */
final class Logins {
    private final RegistryOptions registry;

    Logins(RegistryOptions registry) {
        this.registry = registry;
    }

    /** {@link DavitClient#login(String, Credentials, Path)}'s work, for the normalised {@code host}. */
    Path login(String host, Credentials credentials, Path configFile) {
        RegistryAuthenticator auth = new RegistryAuthenticator(r -> credentials, registry);
        try (RegistryClient check = new RegistryClient(registry, auth, msg -> { })) {
            check.ping(host, null);
        }
        DavitConfig.storeCredentials(configFile, host, credentials);
        return configFile;
    }

    /** {@code host[:port]} as references name it ({@code index.docker.io} and friends become {@code docker.io}). */
    static String normalizeRegistry(String registryHost) {
        String h = registryHost.trim();
        for (String prefix : new String[] {"https://", "http://"}) {
            if (h.startsWith(prefix)) {
                h = h.substring(prefix.length());
            }
        }
        int slash = h.indexOf('/');
        if (slash >= 0) {
            h = h.substring(0, slash);
        }
        Reference r = Reference.parse(h + "/x/y:1");
        if (!r.repository().equals("x/y")) {
            throw new DavitException(Kind.USAGE, "invalid registry '" + Text.shorten(registryHost, 60)
                    + "': give host[:port], e.g. ghcr.io or 127.0.0.1:5000");
        }
        return r.registry();
    }
}
