package dev.davit.oci.client;

import dev.davit.oci.registry.Authenticator;
import dev.davit.oci.registry.RegistryOptions;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Immutable options of a {@link DavitClient}.
 *
 * @param store         the OCI layout directory used as the store
 * @param registry      transport settings
 * @param authenticator how credentials are found (see {@link DavitClient#defaultAuthenticator})
 */
public record ClientOptions(Path store, RegistryOptions registry, Authenticator authenticator) {
    public ClientOptions {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(authenticator, "authenticator");
    }

    /** Defaults for this process: the store under {@link DavitHome}, default transport, anonymous access. */
    public static ClientOptions defaults() {
        return new ClientOptions(DavitHome.storeOf(DavitHome.resolve(System.getenv())), RegistryOptions.defaults(),
                Authenticator.ANONYMOUS);
    }

    public ClientOptions withStore(Path p) {
        return new ClientOptions(p, registry, authenticator);
    }

    public ClientOptions withRegistry(RegistryOptions r) {
        return new ClientOptions(store, r, authenticator);
    }

    public ClientOptions withAuthenticator(Authenticator a) {
        return new ClientOptions(store, registry, a);
    }

    static Map<String, String> env() {
        return System.getenv();
    }
}
