package dev.davit.oci.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class TokenCacheTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2024-05-01T12:00:00Z"));
    private final TokenCache cache = new TokenCache(clock);
    private final TokenCache.Key key = new TokenCache.Key("https://auth/token", "reg", "repository:a:pull");

    private TokenResponse token(String t, long seconds) {
        return TokenResponse.of(t, Duration.ofSeconds(seconds), null, null, clock);
    }

    @Test
    void returnsTokenUntilTenSecondsBeforeExpiry() {
        cache.put(key, token("t", 300));
        assertThat(cache.get(key)).get().extracting(TokenResponse::token).isEqualTo("t");
        clock.advance(Duration.ofSeconds(289));
        assertThat(cache.get(key)).isPresent();
        clock.advance(Duration.ofSeconds(1));
        assertThat(cache.get(key)).isEmpty();
        assertThat(cache.size()).isZero();
    }

    @Test
    void keysDistinguishRealmServiceAndScope() {
        cache.put(key, token("t", 300));
        assertThat(cache.get(new TokenCache.Key("https://auth/token", "reg", "repository:a:pull"))).isPresent();
        assertThat(cache.get(new TokenCache.Key("https://auth/token", "reg", "repository:a:pull,push"))).isEmpty();
        assertThat(cache.get(new TokenCache.Key("https://auth/token", "other", "repository:a:pull"))).isEmpty();
        assertThat(cache.get(new TokenCache.Key("https://other/token", "reg", "repository:a:pull"))).isEmpty();
        assertThat(new TokenCache.Key("r", null, null)).isEqualTo(new TokenCache.Key("r", "", ""));
    }

    @Test
    void putReplacesAndInvalidateForgets() {
        cache.put(key, token("t1", 300));
        cache.put(key, token("t2", 300));
        assertThat(cache.get(key).orElseThrow().token()).isEqualTo("t2");
        cache.invalidate(key);
        assertThat(cache.get(key)).isEmpty();
        cache.put(key, token("t3", 300));
        cache.clear();
        assertThat(cache.size()).isZero();
    }

    @Test
    void alreadyExpiredTokensAreNotKept() {
        TokenResponse old = TokenResponse.of("old", Duration.ofSeconds(60), clock.instant().minusSeconds(55), null,
                clock);
        cache.put(key, old);
        assertThat(cache.get(key)).isEmpty();
        assertThat(cache.size()).isZero();
    }

    @Test
    void sizeIsBounded() {
        for (int i = 0; i < TokenCache.MAX_ENTRIES + 50; i++) {
            cache.put(new TokenCache.Key("r", "s", "scope" + i), token("t" + i, 300));
        }
        assertThat(cache.size()).isLessThanOrEqualTo(TokenCache.MAX_ENTRIES);
        TokenCache.Key last = new TokenCache.Key("r", "s", "scope" + (TokenCache.MAX_ENTRIES + 49));
        assertThat(cache.get(last)).isPresent();
    }

    @Test
    void concurrentUse() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int n = t;
                fs.add(pool.submit(() -> {
                    for (int i = 0; i < 2000; i++) {
                        TokenCache.Key k = new TokenCache.Key("r", "s", "scope" + (i % 50));
                        cache.put(k, token("t" + n, 300));
                        // another thread may have invalidated it meanwhile
                        cache.get(k).ifPresent(tok -> assertThat(tok.token()).matches("t[0-3]"));
                        if (i % 7 == 0) {
                            cache.invalidate(k);
                        }
                    }
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(cache.size()).isLessThanOrEqualTo(50);
    }

    @Test
    void toStringHasNoTokens() {
        cache.put(key, token("SECRET-TOKEN", 300));
        assertThat(cache.toString()).doesNotContain("SECRET-TOKEN");
    }
}
