package dev.davit.oci.client;

import dev.davit.oci.auth.CredentialResolver;
import dev.davit.oci.auth.Credentials;
import dev.davit.oci.registry.RegistryOptions;
import dev.davit.oci.registry.Uploads;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * Immutable options of a {@link DavitClient}.
 *
 * @param store       the OCI layout directory used as the store
 * @param registry    transport settings
 * @param credentials finds the credentials for a registry (as named in references, e.g. {@code docker.io});
 *                    consulted only when a registry asks for authentication
 * @param push        upload chunking (blobs up to a size in one PUT, larger ones in chunks)
 */
public record ClientOptions(Path store, RegistryOptions registry, Function<String, Credentials> credentials,
                            Uploads.PushOptions push) {
    /**
     * Checks that nothing is null.
     *
     * @param store the store directory
     * @param registry the transport settings
     * @param credentials the credential lookup
     * @param push the upload chunking
     * @throws NullPointerException if any is null
     */
    public ClientOptions {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(credentials, "credentials");
        Objects.requireNonNull(push, "push");
    }

    /**
     * With the default push settings.
     *
     * @param store the OCI layout directory used as the store; created on first use
     * @param registry the transport settings
     * @param credentials finds the credentials for a registry; may return {@link Credentials#anonymous()}
     */
    public ClientOptions(Path store, RegistryOptions registry, Function<String, Credentials> credentials) {
        this(store, registry, credentials, Uploads.PushOptions.defaults());
    }

    /**
     * Defaults for this process: the store under {@link DavitHome}, credentials from flags-free sources (davit
     * config, then docker config and its helpers), and the davit config's insecure registries.
     *
     * @return the options
     * @throws dev.davit.oci.DavitException of kind USAGE if the davit config file is unreadable or malformed
     */
    public static ClientOptions defaults() {
        CredentialResolver resolver = CredentialResolver.fromSystem();
        return new ClientOptions(DavitHome.storeOf(DavitHome.resolve(System.getenv())),
                RegistryOptions.builder().insecureRegistries(Set.copyOf(resolver.davitConfig().insecureRegistries()))
                        .build(),
                resolver::resolve);
    }

    /**
     * {@return options with no credentials at all, the default transport, and the given store}
     *
     * @param store the OCI layout directory used as the store
     */
    public static ClientOptions anonymous(Path store) {
        return new ClientOptions(store, RegistryOptions.defaults(), r -> Credentials.anonymous());
    }

    /**
     * {@return these options with another store}
     *
     * @param p the OCI layout directory used as the store
     */
    public ClientOptions withStore(Path p) {
        return new ClientOptions(p, registry, credentials, push);
    }

    /**
     * {@return these options with other transport settings}
     *
     * @param r the transport settings
     */
    public ClientOptions withRegistry(RegistryOptions r) {
        return new ClientOptions(store, r, credentials, push);
    }

    /**
     * {@return these options with more insecure registries in the transport settings}
     *
     * @param more registries (host[:port]) to reach over plain HTTP, added to those already set
     */
    public ClientOptions withInsecureRegistries(Set<String> more) {
        Set<String> all = new HashSet<>(registry.insecureRegistries());
        all.addAll(more);
        return withRegistry(registry.toBuilder().insecureRegistries(all).build());
    }

    /**
     * {@return these options with another credential lookup}
     *
     * @param c finds the credentials for a registry (as named in references, e.g. {@code docker.io})
     */
    public ClientOptions withCredentials(Function<String, Credentials> c) {
        return new ClientOptions(store, registry, c, push);
    }

    /**
     * {@return these options with other upload chunking}
     *
     * @param p the push settings
     */
    public ClientOptions withPush(Uploads.PushOptions p) {
        return new ClientOptions(store, registry, credentials, p);
    }
}
