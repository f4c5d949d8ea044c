package dev.davit.oci.registry;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Immutable transport settings, built once with {@link #builder()}. Conflicting or out-of-range values are
 * rejected when built.
 *
 * @param insecureRegistries registries (host[:port]) reached over plain HTTP besides loopback ones
 * @param maxConcurrentRequests how many blob requests may be in flight at once
 * @param connectTimeout TCP/TLS connect timeout
 * @param idleTimeout how long a response body may stall before the read is abandoned (and retried)
 * @param maxRetries retries per request on connection errors, 408, 429 and 5xx
 * @param initialBackoff first retry delay; doubles per retry, with jitter
 * @param maxBackoff upper bound of a retry delay, including a server's Retry-After
 * @param userAgent the User-Agent header
 */
public record RegistryOptions(Set<String> insecureRegistries, int maxConcurrentRequests, Duration connectTimeout,
                              Duration idleTimeout, int maxRetries, Duration initialBackoff, Duration maxBackoff,
                              String userAgent) {

    public RegistryOptions {
        insecureRegistries = Set.copyOf(insecureRegistries.stream().map(s -> s.toLowerCase(Locale.ROOT)).toList());
        Objects.requireNonNull(connectTimeout);
        Objects.requireNonNull(idleTimeout);
        Objects.requireNonNull(initialBackoff);
        Objects.requireNonNull(maxBackoff);
        if (maxConcurrentRequests < 1 || maxConcurrentRequests > 64) {
            throw new IllegalArgumentException("maxConcurrentRequests must be 1..64");
        }
        if (maxRetries < 0 || maxRetries > 20) {
            throw new IllegalArgumentException("maxRetries must be 0..20");
        }
        if (connectTimeout.isNegative() || connectTimeout.isZero() || idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("timeouts must be positive");
        }
        if (initialBackoff.compareTo(maxBackoff) > 0) {
            throw new IllegalArgumentException("initialBackoff must not exceed maxBackoff");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these settings, to change some of them. */
    public Builder toBuilder() {
        return new Builder().insecureRegistries(insecureRegistries).maxConcurrentRequests(maxConcurrentRequests)
                .connectTimeout(connectTimeout).idleTimeout(idleTimeout).maxRetries(maxRetries)
                .initialBackoff(initialBackoff).maxBackoff(maxBackoff).userAgent(userAgent);
    }

    /** Defaults: 6 concurrent requests, 10 s connect, 30 s idle, 5 retries from 200 ms up to 30 s. */
    public static RegistryOptions defaults() {
        return builder().build();
    }

    /** True when {@code registry} (host[:port]) is reached over plain HTTP. */
    public boolean isPlainHttp(String registry) {
        return isLoopback(registry) || insecureRegistries.contains(registry.toLowerCase(Locale.ROOT))
                || insecureRegistries.contains(hostOnly(registry).toLowerCase(Locale.ROOT));
    }

    /** 127.0.0.0/8, localhost and [::1], with or without a port. No DNS lookup is made. */
    public static boolean isLoopback(String registry) {
        String host = hostOnly(registry).toLowerCase(Locale.ROOT);
        if (host.equals("localhost") || host.equals("[::1]") || host.equals("::1")) {
            return true;
        }
        String[] parts = host.split("\\.", -1);
        if (parts.length != 4 || !parts[0].equals("127")) {
            return false;
        }
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit) || Integer.parseInt(p) > 255) {
                return false;
            }
        }
        return true;
    }

    static String hostOnly(String registry) {
        if (registry.startsWith("[")) {
            int close = registry.indexOf(']');
            return close < 0 ? registry : registry.substring(0, close + 1);
        }
        int colon = registry.lastIndexOf(':');
        return colon < 0 ? registry : registry.substring(0, colon);
    }

    /** Builder of {@link RegistryOptions}. */
    public static final class Builder {
        private Set<String> insecure = Set.of();
        private int maxConcurrent = 6;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration idleTimeout = Duration.ofSeconds(30);
        private int maxRetries = 5;
        private Duration initialBackoff = Duration.ofMillis(200);
        private Duration maxBackoff = Duration.ofSeconds(30);
        private String userAgent = "davit";

        private Builder() {
        }

        public Builder insecureRegistries(Set<String> v) {
            insecure = v;
            return this;
        }

        public Builder maxConcurrentRequests(int v) {
            maxConcurrent = v;
            return this;
        }

        public Builder connectTimeout(Duration v) {
            connectTimeout = v;
            return this;
        }

        public Builder idleTimeout(Duration v) {
            idleTimeout = v;
            return this;
        }

        public Builder maxRetries(int v) {
            maxRetries = v;
            return this;
        }

        public Builder initialBackoff(Duration v) {
            initialBackoff = v;
            return this;
        }

        public Builder maxBackoff(Duration v) {
            maxBackoff = v;
            return this;
        }

        public Builder userAgent(String v) {
            userAgent = v;
            return this;
        }

        public RegistryOptions build() {
            return new RegistryOptions(insecure, maxConcurrent, connectTimeout, idleTimeout, maxRetries,
                    initialBackoff, maxBackoff, userAgent);
        }
    }
}
