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
 * @param rangedBlobBytes blobs at least this large are fetched as several ranges at once; 0: never
 */
public record RegistryOptions(Set<String> insecureRegistries, int maxConcurrentRequests, Duration connectTimeout,
                              Duration idleTimeout, int maxRetries, Duration initialBackoff, Duration maxBackoff,
                              String userAgent, long rangedBlobBytes) {

    /**
     * Checks the settings; {@link #builder()} is the usual way to make them. Registry names are lower-cased.
     *
     * @param insecureRegistries registries (host[:port], or host for every port) reached over plain HTTP; not null
     * @param maxConcurrentRequests blob requests in flight at once, 1 to 64
     * @param connectTimeout connect timeout, positive
     * @param idleTimeout idle-read timeout, positive
     * @param maxRetries retries per request, 0 to 20
     * @param initialBackoff first retry delay, not over {@code maxBackoff}
     * @param maxBackoff largest retry delay
     * @param userAgent the User-Agent header
     * @param rangedBlobBytes blobs at least this large are fetched as several ranges at once: 0 (never) or from
     *     1 MiB
     * @throws IllegalArgumentException if a value is out of range
     * @throws NullPointerException if a set or duration is null
     */
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
        if (rangedBlobBytes != 0 && rangedBlobBytes < (1 << 20)) {
            throw new IllegalArgumentException("rangedBlobBytes must be 0 (never) or at least 1 MiB");
        }
        if (initialBackoff.compareTo(maxBackoff) > 0) {
            throw new IllegalArgumentException("initialBackoff must not exceed maxBackoff");
        }
    }

    /** {@return a builder with the defaults of {@link #defaults()}} */
    public static Builder builder() {
        return new Builder();
    }

    /** {@return a builder holding these settings, to change some of them} */
    public Builder toBuilder() {
        return new Builder().insecureRegistries(insecureRegistries).maxConcurrentRequests(maxConcurrentRequests)
                .connectTimeout(connectTimeout).idleTimeout(idleTimeout).maxRetries(maxRetries)
                .initialBackoff(initialBackoff).maxBackoff(maxBackoff).userAgent(userAgent)
                .rangedBlobBytes(rangedBlobBytes);
    }

    /**
     * {@return the defaults: 6 concurrent requests, 10 s connect, 30 s idle, 5 retries from 200 ms up to 30 s, blobs of
     * 64 MiB or more fetched as ranges}
     * No insecure registries; User-Agent {@code davit}.
     */
    public static RegistryOptions defaults() {
        return builder().build();
    }

    /**
     * {@return true when {@code registry} is reached over plain HTTP} That is a loopback registry or one listed in
     * {@link #insecureRegistries()}, by host[:port] or by host alone.
     *
     * @param registry the registry's host[:port], e.g. {@code localhost:5000}
     */
    public boolean isPlainHttp(String registry) {
        return isLoopback(registry) || insecureRegistries.contains(registry.toLowerCase(Locale.ROOT))
                || insecureRegistries.contains(hostOnly(registry).toLowerCase(Locale.ROOT));
    }

    /**
     * {@return whether {@code registry} is a loopback address: 127.0.0.0/8, localhost and [::1]} With or without a
     * port. No DNS lookup is made.
     *
     * @param registry the registry's host[:port]
     */
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
        private long rangedBlobBytes = 64L << 20;

        private Builder() {
        }

        /**
         * Sets the size from which a blob is fetched as several ranges at once (from 2 to 4, one per half of this
         * size, within {@link #maxConcurrentRequests}); default 64 MiB.
         *
         * @param v bytes: 0 (never) or at least 1 MiB
         * @return this builder
         */
        public Builder rangedBlobBytes(long v) {
            this.rangedBlobBytes = v;
            return this;
        }

        /**
         * Sets the registries reached over plain HTTP besides loopback ones; default none.
         *
         * @param v host[:port] names, or hosts for every port; not null
         * @return this builder
         */
        public Builder insecureRegistries(Set<String> v) {
            insecure = v;
            return this;
        }

        /**
         * Sets how many blob requests may be in flight at once; default 6.
         *
         * @param v 1 to 64
         * @return this builder
         */
        public Builder maxConcurrentRequests(int v) {
            maxConcurrent = v;
            return this;
        }

        /**
         * Sets the TCP/TLS connect timeout; default 10 s.
         *
         * @param v a positive duration
         * @return this builder
         */
        public Builder connectTimeout(Duration v) {
            connectTimeout = v;
            return this;
        }

        /**
         * Sets how long a response may stall before the read is abandoned (and retried); default 30 s.
         *
         * @param v a positive duration
         * @return this builder
         */
        public Builder idleTimeout(Duration v) {
            idleTimeout = v;
            return this;
        }

        /**
         * Sets the retries per request on connection errors, 408, 429 and 5xx; default 5.
         *
         * @param v 0 to 20
         * @return this builder
         */
        public Builder maxRetries(int v) {
            maxRetries = v;
            return this;
        }

        /**
         * Sets the first retry delay, which doubles per retry; default 200 ms.
         *
         * @param v a duration not over the max backoff
         * @return this builder
         */
        public Builder initialBackoff(Duration v) {
            initialBackoff = v;
            return this;
        }

        /**
         * Sets the longest retry delay, also the cap on a server's {@code Retry-After}; default 30 s.
         *
         * @param v a duration not under the initial backoff
         * @return this builder
         */
        public Builder maxBackoff(Duration v) {
            maxBackoff = v;
            return this;
        }

        /**
         * Sets the User-Agent header; default {@code davit}.
         *
         * @param v the header value
         * @return this builder
         */
        public Builder userAgent(String v) {
            userAgent = v;
            return this;
        }

        /**
         * {@return the settings}
         *
         * @throws IllegalArgumentException if a value is out of range or the backoffs conflict
         */
        public RegistryOptions build() {
            return new RegistryOptions(insecure, maxConcurrent, connectTimeout, idleTimeout, maxRetries,
                    initialBackoff, maxBackoff, userAgent, rangedBlobBytes);
        }
    }
}
