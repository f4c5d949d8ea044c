package dev.davit.oci.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * A thread-safe in-memory cache of bearer tokens keyed by (realm, service, scope). A token counts as expired
 * {@link #EXPIRY_MARGIN} before its {@link TokenResponse#expiresAt()}, so that it does not expire in flight.
 *
 * <p>The key holds no credentials: one cache must only serve one set of credentials per realm and service
 * (as one {@link CredentialResolver} gives). The cache holds at most {@link #MAX_ENTRIES} tokens.
 */
public final class TokenCache {

    /** How long before its expiry a token stops being handed out. */
    public static final Duration EXPIRY_MARGIN = Duration.ofSeconds(10);
    /** The most tokens kept; beyond this, expired and then arbitrary entries are dropped. */
    public static final int MAX_ENTRIES = 1024;

    /**
     * What a token was issued for.
     *
     * @param realm   the token endpoint URL from the challenge
     * @param service the {@code service} parameter; null means {@code ""}
     * @param scope   the scope string requested, canonically {@link Scope#format}; null means {@code ""}
     */
    public record Key(String realm, String service, String scope) {
        /**
         * Fills null service and scope with {@code ""}.
         *
         * @param realm the token endpoint URL; not null
         * @param service the service, or null
         * @param scope the scope string, or null
         */
        public Key {
            Objects.requireNonNull(realm, "realm");
            service = service == null ? "" : service;
            scope = scope == null ? "" : scope;
        }
    }

    private final Clock clock;
    private final ConcurrentMap<Key, TokenResponse> entries = new ConcurrentHashMap<>();

    /** A cache on the system clock. */
    public TokenCache() {
        this(Clock.systemUTC());
    }

    /**
     * A cache on the given clock; parse tokens with the same clock ({@link TokenResponse#parse(byte[], Clock)}).
     *
     * @param clock judges expiry; not null
     */
    public TokenCache(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** {@return the clock this cache judges expiry by} */
    public Clock clock() {
        return clock;
    }

    /**
     * {@return the cached token for the key, if there is one that is not about to expire}
     *
     * @param key what the token was issued for
     */
    public Optional<TokenResponse> get(Key key) {
        TokenResponse t = entries.get(key);
        if (t == null) {
            return Optional.empty();
        }
        if (isFresh(t, clock.instant())) {
            return Optional.of(t);
        }
        entries.remove(key, t);
        return Optional.empty();
    }

    /**
     * Stores a token, replacing any other for the key. A token that is already about to expire is not kept.
     *
     * @param key what the token was issued for; not null
     * @param token the token; not null
     */
    public void put(Key key, TokenResponse token) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(token, "token");
        Instant now = clock.instant();
        if (!isFresh(token, now)) {
            entries.remove(key);
            return;
        }
        if (entries.size() >= MAX_ENTRIES) {
            entries.values().removeIf(t -> !isFresh(t, now));
            var it = entries.keySet().iterator();
            while (entries.size() >= MAX_ENTRIES && it.hasNext()) {
                it.next();
                it.remove();
            }
        }
        entries.put(key, token);
    }

    /**
     * Forgets the token for the key, e.g. after the registry rejected it.
     *
     * @param key what the token was issued for
     */
    public void invalidate(Key key) {
        entries.remove(key);
    }

    /** Forgets all tokens. */
    public void clear() {
        entries.clear();
    }

    /** {@return how many tokens are held, including any that expired but were not yet dropped} */
    public int size() {
        return entries.size();
    }

    private static boolean isFresh(TokenResponse t, Instant now) {
        return now.isBefore(t.expiresAt().minus(EXPIRY_MARGIN));
    }

    @Override
    public String toString() {
        return "TokenCache[" + entries.size() + " tokens]";
    }
}
