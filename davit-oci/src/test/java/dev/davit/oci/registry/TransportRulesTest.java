package dev.davit.oci.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Set;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** The transport's rules that need no server: plain HTTP, retry decisions, Retry-After, backoff, redaction. */
class TransportRulesTest {

    @Test
    void plainHttpOnlyForLoopbackAndInsecureRegistries() {
        RegistryOptions o = RegistryOptions.builder().insecureRegistries(Set.of("reg.lan:5000", "Other.LAN")).build();
        assertThat(o.isPlainHttp("127.0.0.1:5000")).isTrue();
        assertThat(o.isPlainHttp("127.255.3.4")).isTrue();
        assertThat(o.isPlainHttp("localhost:5000")).isTrue();
        assertThat(o.isPlainHttp("[::1]:5000")).isTrue();
        assertThat(o.isPlainHttp("reg.lan:5000")).isTrue();
        assertThat(o.isPlainHttp("other.lan:443")).isTrue();
        assertThat(o.isPlainHttp("reg.lan:5001")).isFalse();
        assertThat(o.isPlainHttp("128.0.0.1")).isFalse();
        assertThat(o.isPlainHttp("127.0.0.1.nip.io")).isFalse();
        assertThat(o.isPlainHttp("localhost.example.com")).isFalse();
        assertThat(o.isPlainHttp("127.0.0.256")).isFalse();
        assertThat(o.isPlainHttp("ghcr.io")).isFalse();
        Transport t = new Transport(o, Authenticator.ANONYMOUS, null);
        assertThat(t.baseUri("ghcr.io")).isEqualTo(URI.create("https://ghcr.io"));
        assertThat(t.baseUri("127.0.0.1:5000")).isEqualTo(URI.create("http://127.0.0.1:5000"));
    }

    @Test
    void optionsAreValidatedWhenBuilt() {
        assertThatThrownBy(() -> RegistryOptions.builder().maxConcurrentRequests(0).build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RegistryOptions.builder().initialBackoff(Duration.ofSeconds(5))
                .maxBackoff(Duration.ofSeconds(1)).build()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RegistryOptions.builder().idleTimeout(Duration.ZERO).build())
                .isInstanceOf(IllegalArgumentException.class);
        RegistryOptions o = RegistryOptions.builder().maxRetries(2).userAgent("x").build();
        assertThat(o.toBuilder().build()).isEqualTo(o);
    }

    @Test
    void retryDecisions() {
        assertThat(Transport.isRetryable(new ConnectException("refused"))).isTrue();
        assertThat(Transport.isRetryable(new SocketTimeoutException("read timed out"))).isTrue();
        assertThat(Transport.isRetryable(new IOException("connection reset"))).isTrue();
        assertThat(Transport.isRetryable(new SSLHandshakeException("bad certificate"))).isFalse();
        assertThat(Transport.isRetryable(new java.io.InterruptedIOException("interrupted"))).isFalse();
    }

    @Test
    void retryAfterInSecondsOrAsADateIsCappedByMaxBackoff() {
        Transport t = new Transport(RegistryOptions.builder().maxBackoff(Duration.ofSeconds(10)).build(),
                Authenticator.ANONYMOUS, null);
        assertThat(t.retryAfter("3")).contains(Duration.ofSeconds(3));
        assertThat(t.retryAfter(" 0 ")).contains(Duration.ZERO);
        assertThat(t.retryAfter("3600")).contains(Duration.ofSeconds(10));
        assertThat(t.retryAfter("-5")).contains(Duration.ZERO);
        String inFive = ZonedDateTime.now().plusSeconds(5).format(DateTimeFormatter.RFC_1123_DATE_TIME);
        assertThat(t.retryAfter(inFive).orElseThrow()).isBetween(Duration.ofSeconds(3), Duration.ofSeconds(5));
        assertThat(t.retryAfter("soon")).isEmpty();
        assertThat(t.retryAfter(null)).isEmpty();
    }

    @Test
    void backoffGrowsWithJitterAndStaysBounded() {
        Transport t = new Transport(RegistryOptions.builder().initialBackoff(Duration.ofMillis(100))
                .maxBackoff(Duration.ofSeconds(2)).build(), Authenticator.ANONYMOUS, null);
        for (int i = 0; i < 50; i++) {
            assertThat(t.backoff(0)).isBetween(Duration.ofMillis(50), Duration.ofMillis(100));
            assertThat(t.backoff(3)).isBetween(Duration.ofMillis(400), Duration.ofMillis(800));
            assertThat(t.backoff(30)).isBetween(Duration.ofSeconds(1), Duration.ofSeconds(2));
        }
    }

    @Test
    void loggedUrlsDropQueryStrings() {
        assertThat(Transport.redact(URI.create("https://blobs.example/x/y?X-Amz-Signature=secret&b=1")))
                .isEqualTo("https://blobs.example/x/y?...").doesNotContain("secret");
        assertThat(Transport.redact(URI.create("http://127.0.0.1:5000/v2/"))).isEqualTo("http://127.0.0.1:5000/v2/");
    }
}
