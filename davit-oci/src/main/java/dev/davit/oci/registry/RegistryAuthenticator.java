package dev.davit.oci.registry;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.auth.Challenge;
import dev.davit.oci.auth.Credentials;
import dev.davit.oci.auth.TokenCache;
import dev.davit.oci.auth.TokenResponse;
import dev.davit.oci.reference.Reference;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standard registry auth flow: anonymous first; on a {@code Basic} challenge the registry's credentials;
 * on a {@code Bearer} challenge a token from the realm (with the credentials as Basic auth, or an identity token
 * as an OAuth2 refresh token), cached per realm, service and scope until it expires. Once a registry has
 * challenged, later requests (other repositories too) get their header pre-emptively.
 *
 * <p>Credentials are only ever sent over TLS, or to loopback and explicitly insecure hosts.
 */
public final class RegistryAuthenticator implements Authenticator {
    /** SLF4J starts on first use (5-10 ms in a fresh JVM): a command that resolves no credentials never pays it. */
    private static final class Log {
        static final Logger LOG = LoggerFactory.getLogger(RegistryAuthenticator.class);
    }

    private final Function<String, Credentials> credentials;
    private final RegistryOptions options;
    private final TokenCache tokens = new TokenCache();
    private final Map<String, Challenge> bearerChallenges = new ConcurrentHashMap<>();
    private final Set<String> basicRegistries = ConcurrentHashMap.newKeySet();
    private final Map<String, Credentials> resolved = new ConcurrentHashMap<>();

    /**
     * An authenticator that asks {@code credentials} once per registry and caches tokens.
     *
     * @param credentials finds the credentials of a registry (as named in references, e.g. {@code docker.io});
     *                    may return null for anonymous access
     * @param options the transport settings used for token requests (timeouts, User-Agent, plain-HTTP registries)
     */
    public RegistryAuthenticator(Function<String, Credentials> credentials, RegistryOptions options) {
        this.credentials = credentials;
        this.options = options;
    }

    private Credentials credentialsFor(String apiHost) {
        String registry = Reference.DOCKER_HUB_API.equals(apiHost) ? Reference.DOCKER_HUB : apiHost;
        return resolved.computeIfAbsent(registry, r -> {
            Credentials c = credentials.apply(r);
            return c == null ? Credentials.anonymous() : c;
        });
    }

    @Override
    public String authorization(String registry, String scope) {
        if (basicRegistries.contains(registry)) {
            Credentials c = credentialsFor(registry);
            return c.isAnonymous() ? null : c.basicHeaderValue();
        }
        Challenge c = bearerChallenges.get(registry);
        if (c == null) {
            return null;
        }
        return bearer(registry, c, scope);
    }

    @Override
    public String challenge(String registry, String scope, List<String> wwwAuthenticate) {
        List<Challenge> parsed;
        try {
            parsed = Challenge.parse(wwwAuthenticate);
        } catch (DavitException e) {
            throw new DavitException(Kind.AUTH, "registry " + registry + " sent an unreadable authentication"
                    + " challenge (" + e.getMessage() + ")");
        }
        Optional<Challenge> preferred = Challenge.preferred(parsed);
        if (preferred.isEmpty()) {
            return null;
        }
        Challenge c = preferred.get();
        if (c.is(Challenge.BASIC)) {
            Credentials creds = credentialsFor(registry);
            if (creds.isAnonymous() || creds.type() != Credentials.Type.BASIC) {
                return null;
            }
            requireSafeTransport(registry, URI.create((options.isPlainHttp(registry) ? "http://" : "https://") + registry));
            basicRegistries.add(registry);
            return creds.basicHeaderValue();
        }
        if (c.is(Challenge.BEARER)) {
            bearerChallenges.put(registry, c);
            String want = scope != null ? scope : c.scope().orElse(null);
            tokens.invalidate(key(c, want));
            return bearer(registry, c, want);
        }
        return null;
    }

    private static TokenCache.Key key(Challenge c, String scope) {
        return new TokenCache.Key(c.realm().orElse(""), c.service().orElse(""), scope == null ? "" : scope);
    }

    private String bearer(String registry, Challenge c, String scope) {
        TokenCache.Key key = key(c, scope);
        Optional<TokenResponse> cached = tokens.get(key);
        if (cached.isPresent()) {
            return cached.get().bearerHeaderValue();
        }
        TokenResponse t = fetchToken(registry, c, scope);
        tokens.put(key, t);
        return t.bearerHeaderValue();
    }

    private TokenResponse fetchToken(String registry, Challenge c, String scope) {
        String realm = c.realm().orElseThrow(() -> new DavitException(Kind.AUTH, "registry " + registry
                + " sent a Bearer challenge without a realm; it cannot be authenticated against"));
        URI realmUri;
        try {
            realmUri = URI.create(realm);
        } catch (IllegalArgumentException e) {
            throw new DavitException(Kind.AUTH, "registry " + registry + " named an invalid token realm");
        }
        if (realmUri.getScheme() == null || !(realmUri.getScheme().equals("https") || realmUri.getScheme().equals("http"))
                || realmUri.getHost() == null) {
            throw new DavitException(Kind.AUTH, "registry " + registry + " named a token realm that is not an"
                    + " http(s) URL");
        }
        Credentials creds = credentialsFor(registry);
        StringBuilder q = new StringBuilder();
        c.service().ifPresent(s -> q.append("service=").append(enc(s)));
        if (scope != null && !scope.isEmpty()) {
            for (String s : scope.split(" ")) {
                q.append(q.isEmpty() ? "" : "&").append("scope=").append(enc(s));
            }
        }
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        headers.put("User-Agent", options.userAgent());
        String method;
        URI target;
        RequestBody body = null;
        if (creds.type() == Credentials.Type.IDENTITY_TOKEN) {
            requireSafeTransport(registry, realmUri);
            String form = q + (q.isEmpty() ? "" : "&") + "grant_type=refresh_token&client_id=davit&refresh_token="
                    + enc(creds.secret());
            method = "POST";
            target = realmUri;
            body = RequestBody.of(form.getBytes(StandardCharsets.UTF_8));
            headers.put("Content-Type", "application/x-www-form-urlencoded");
        } else {
            String sep = realmUri.getRawQuery() == null ? "?" : "&";
            method = "GET";
            target = URI.create(realm + (q.isEmpty() ? "" : sep + q));
            if (creds.type() == Credentials.Type.BASIC) {
                requireSafeTransport(registry, realmUri);
                headers.put("Authorization", creds.basicHeaderValue());
            }
        }
        Http.Response r;
        try {
            r = Http.exchange(method, target, headers, body, options.connectTimeout(), options.idleTimeout());
        } catch (IOException e) {
            throw new DavitException(Kind.NETWORK, "cannot reach the token service of " + registry + " at "
                    + realmUri.getHost() + ": " + Transport.describe(e) + "; check your network", e);
        }
        Log.LOG.debug("token {} {} -> {}", creds.isAnonymous() ? "anonymous" : "authenticated", Transport.redact(realmUri),
                r.status());
        try (r) {
            byte[] bytes = r.body().readNBytes(TokenResponse.MAX_BODY_BYTES + 1);
            int status = r.status();
            if (status == 401 || status == 403) {
                throw new DavitException(Kind.AUTH, (creds.isAnonymous()
                        ? Message.of("registry " + registry + " requires authentication for " + (scope == null
                        ? "this registry" : scope) + "; run ", Action.LOGIN.fix(displayName(registry)))
                        : Message.of("registry " + registry + " rejected the credentials (" + creds.source() + ") for "
                        + (scope == null ? "this registry" : scope) + "; check them with ",
                        Action.LOGIN.fix(displayName(registry)))).about(Subject.Type.REGISTRY, displayName(registry)));
            }
            if (status != 200) {
                throw new DavitException(Kind.AUTH, "the token service of " + registry + " answered HTTP " + status
                        + "; try again later");
            }
            if (bytes.length > TokenResponse.MAX_BODY_BYTES) {
                throw new DavitException(Kind.AUTH, "the token service of " + registry + " sent an oversized answer");
            }
            return TokenResponse.parse(bytes, tokens.clock());
        } catch (IOException e) {
            throw new DavitException(Kind.NETWORK, "reading a token from " + realmUri.getHost() + " failed: "
                    + Transport.describe(e), e);
        }
    }

    private void requireSafeTransport(String registry, URI target) {
        if ("https".equals(target.getScheme())) {
            return;
        }
        String hostPort = target.getRawAuthority();
        if (hostPort != null && options.isPlainHttp(hostPort)) {
            return;
        }
        throw new DavitException(Kind.AUTH, Message.of("refusing to send credentials for " + registry + " over plain HTTP to "
                + target.getHost() + "; use TLS or mark the host with ", Input.INSECURE_REGISTRY));
    }

    private static String displayName(String apiHost) {
        return Reference.DOCKER_HUB_API.equals(apiHost) ? Reference.DOCKER_HUB : apiHost;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
