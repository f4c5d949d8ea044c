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
 * @param trust       the signature policy and where signatures are: what an image pulled from a registry must meet
 *                    before it is stored under its name
 */
public record ClientOptions(Path store, RegistryOptions registry, Function<String, Credentials> credentials,
                            Uploads.PushOptions push, dev.davit.oci.policy.Trust trust) {
    /**
     * Checks that nothing is null.
     *
     * @param store the store directory
     * @param registry the transport settings
     * @param credentials the credential lookup
     * @param push the upload chunking
     * @param trust the signature policy
     * @throws NullPointerException if any is null
     */
    public ClientOptions {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(registry, "registry");
        Objects.requireNonNull(credentials, "credentials");
        Objects.requireNonNull(push, "push");
        Objects.requireNonNull(trust, "trust");
    }

    /**
     * With no signature policy (anything is accepted).
     *
     * @param store the store directory
     * @param registry the transport settings
     * @param credentials the credential lookup
     * @param push the upload chunking
     */
    public ClientOptions(Path store, RegistryOptions registry, Function<String, Credentials> credentials,
                         Uploads.PushOptions push) {
        this(store, registry, credentials, push, dev.davit.oci.policy.Trust.ACCEPT_ANYTHING);
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
     * config, then docker config and its helpers), the davit config's insecure registries, and the system's
     * signature policy ({@link dev.davit.oci.policy.Trust#fromSystem}).
     *
     * @return the options
     * @throws dev.davit.oci.DavitException of kind USAGE if the davit config file or the signature policy is
     *                                      unreadable or malformed
     */
    public static ClientOptions defaults() {
        CredentialResolver resolver = CredentialResolver.fromSystem();
        Path home = DavitHome.resolve(System.getenv());
        return new ClientOptions(DavitHome.storeOf(home),
                RegistryOptions.builder().insecureRegistries(Set.copyOf(resolver.davitConfig().insecureRegistries()))
                        .build(),
                resolver::resolve, Uploads.PushOptions.defaults(),
                dev.davit.oci.policy.Trust.fromSystem(null, home, System.getenv()));
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
        return new ClientOptions(p, registry, credentials, push, trust);
    }

    /**
     * {@return these options with other transport settings}
     *
     * @param r the transport settings
     */
    public ClientOptions withRegistry(RegistryOptions r) {
        return new ClientOptions(store, r, credentials, push, trust);
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
        return new ClientOptions(store, registry, c, push, trust);
    }

    /**
     * {@return these options with other upload chunking}
     *
     * @param p the push settings
     */
    public ClientOptions withPush(Uploads.PushOptions p) {
        return new ClientOptions(store, registry, credentials, p, trust);
    }

    /**
     * {@return these options with another signature policy}
     *
     * @param t the policy and where signatures are; {@link dev.davit.oci.policy.Trust#ACCEPT_ANYTHING} for none
     */
    public ClientOptions withTrust(dev.davit.oci.policy.Trust t) {
        return new ClientOptions(store, registry, credentials, push, t);
    }
}
