package dev.davit.oci.registry;

import java.util.List;

/**
 * The auth layer of the transport. It supplies an {@code Authorization} header for a request to a registry
 * with a scope (e.g. {@code repository:library/alpine:pull}) and answers {@code 401} challenges.
 * Implementations cache tokens and must never log or expose header values.
 */
public interface Authenticator {

    /** The header to send pre-emptively, or null to send none. */
    String authorization(String registry, String scope);

    /**
     * Called after a {@code 401} with the response's {@code WWW-Authenticate} values.
     *
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
