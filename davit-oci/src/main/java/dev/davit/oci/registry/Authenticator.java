package dev.davit.oci.registry;

import java.util.List;

/**
 * The auth layer of the transport. It supplies an {@code Authorization} header for a request to a registry
 * with a scope (e.g. {@code repository:library/alpine:pull}) and answers {@code 401} challenges.
 * Implementations cache tokens and must never log or expose header values.
 */
public interface Authenticator {

    /**
     * {@return the {@code Authorization} header to send pre-emptively, or null to send none}
     *
     * @param registry the registry's API host[:port], e.g. {@code registry-1.docker.io}
     * @param scope the token scope the request needs, or null (e.g. for {@code /v2/})
     */
    String authorization(String registry, String scope);

    /**
     * Called after a {@code 401} with the response's {@code WWW-Authenticate} values.
     *
     * @param registry the registry's API host[:port], e.g. {@code registry-1.docker.io}
     * @param scope the token scope the request needs, or null
     * @param wwwAuthenticate the response's {@code WWW-Authenticate} header values; may be empty
     * @return the header to retry with, or null when no credentials can satisfy the challenge
     */
    String challenge(String registry, String scope, List<String> wwwAuthenticate);

    /** Sends no credentials at all. */
    Authenticator ANONYMOUS = new Authenticator() {
        @Override
        public String authorization(String registry, String scope) {
            return null;
        }

        @Override
        public String challenge(String registry, String scope, List<String> wwwAuthenticate) {
            return null;
        }
    };
}
