package dev.davit.oci.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TokenResponseTest {
    private static final String SECRET = "eyJhbGciOiJSUzI1NiJ9.SECRET-TOKEN.xyz";
    private static final Instant NOW = Instant.parse("2024-05-01T12:00:00Z");
    private final MutableClock clock = new MutableClock(NOW);

    private TokenResponse parse(String json) {
        return TokenResponse.parse(json.getBytes(StandardCharsets.UTF_8), clock);
    }

    @Test
    void fullResponse() {
        TokenResponse t = parse("{\"token\":\"" + SECRET + "\",\"expires_in\":300,"
                + "\"issued_at\":\"2024-05-01T11:59:00Z\",\"refresh_token\":\"R-" + SECRET + "\"}");
        assertThat(t.token()).isEqualTo(SECRET);
        assertThat(t.bearerHeaderValue()).isEqualTo("Bearer " + SECRET);
        assertThat(t.expiresIn()).isEqualTo(Duration.ofSeconds(300));
        assertThat(t.issuedAt()).isEqualTo(Instant.parse("2024-05-01T11:59:00Z"));
        assertThat(t.expiresAt()).isEqualTo(Instant.parse("2024-05-01T12:04:00Z"));
        assertThat(t.refreshToken()).contains("R-" + SECRET);
    }

    @Test
    void accessTokenAlone() {
        TokenResponse t = parse("{\"access_token\":\"" + SECRET + "\"}");
        assertThat(t.token()).isEqualTo(SECRET);
        assertThat(t.refreshToken()).isEmpty();
    }

    @Test
    void tokenPreferredOverAccessToken() {
        assertThat(parse("{\"access_token\":\"a\",\"token\":\"t\"}").token()).isEqualTo("t");
        assertThat(parse("{\"token\":\"\",\"access_token\":\"a\"}").token()).isEqualTo("a");
        assertThat(parse("{\"token\":5,\"access_token\":\"a\"}").token()).isEqualTo("a");
    }

    @Test
    void expiresInDefaultsToSixtySeconds() {
        assertThat(parse("{\"token\":\"t\"}").expiresIn()).isEqualTo(Duration.ofSeconds(60));
        assertThat(parse("{\"token\":\"t\",\"expires_in\":10}").expiresIn()).isEqualTo(Duration.ofSeconds(60));
        assertThat(parse("{\"token\":\"t\",\"expires_in\":-5}").expiresIn()).isEqualTo(Duration.ofSeconds(60));
        assertThat(parse("{\"token\":\"t\",\"expires_in\":\"300\"}").expiresIn()).isEqualTo(Duration.ofSeconds(60));
        assertThat(parse("{\"token\":\"t\",\"expires_in\":null}").expiresIn()).isEqualTo(Duration.ofSeconds(60));
        assertThat(parse("{\"token\":\"t\",\"expires_in\":60}").expiresIn()).isEqualTo(Duration.ofSeconds(60));
        assertThat(parse("{\"token\":\"t\",\"expires_in\":61}").expiresIn()).isEqualTo(Duration.ofSeconds(61));
        assertThat(parse("{\"token\":\"t\",\"expires_in\":3600.9}").expiresIn()).isEqualTo(Duration.ofSeconds(3600));
    }

    @Test
    void hugeExpiresInIsCapped() {
        for (String v : new String[] {"99999999999999999999999", "1e400", "9223372036854775807"}) {
            TokenResponse t = parse("{\"token\":\"t\",\"expires_in\":" + v + "}");
            assertThat(t.expiresIn()).isEqualTo(TokenResponse.MAX_EXPIRES_IN);
            assertThat(t.expiresAt()).isEqualTo(NOW.plus(TokenResponse.MAX_EXPIRES_IN));
        }
    }

    @Test
    void issuedAtFallsBackToNow() {
        assertThat(parse("{\"token\":\"t\"}").issuedAt()).isEqualTo(NOW);
        assertThat(parse("{\"token\":\"t\",\"issued_at\":\"yesterday\"}").issuedAt()).isEqualTo(NOW);
        assertThat(parse("{\"token\":\"t\",\"issued_at\":12}").issuedAt()).isEqualTo(NOW);
        assertThat(parse("{\"token\":\"t\",\"expires_in\":120}").expiresAt()).isEqualTo(NOW.plusSeconds(120));
    }

    @Test
    void issuedAtFormats() {
        assertThat(parse("{\"token\":\"t\",\"issued_at\":\"2024-05-01T13:30:00.123456789+02:00\"}").issuedAt())
                .isEqualTo(Instant.parse("2024-05-01T11:30:00.123456789Z"));
        assertThat(parse("{\"token\":\"t\",\"issued_at\":\"2024-05-01t11:00:00z\"}").issuedAt())
                .isEqualTo(Instant.parse("2024-05-01T11:00:00Z"));
    }

    @Test
    void issuedAtInTheFutureCannotLengthenTheToken() {
        TokenResponse t = parse("{\"token\":\"t\",\"expires_in\":300,\"issued_at\":\"2024-05-01T13:00:00Z\"}");
        assertThat(t.issuedAt()).isEqualTo(NOW);
        assertThat(t.expiresAt()).isEqualTo(NOW.plusSeconds(300));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "null", "[]", "\"" + SECRET + "\"", "{}", "{\"token\":\"\"}",
            "{\"token\":null}", "{\"token\":[\"" + SECRET + "\"]}", "{\"access_token\":{}}", "{\"token\":\"" + SECRET,
            "{\"token\":\"" + SECRET + "\",\"token\":\"" + SECRET + "\"}", "{\"token\":\"" + SECRET + "\"} x",
            "{\"token\":'" + SECRET + "'}", "{\"token\":\"a b\"}", "{\"token\":\"a\\nb\"}",
            "{\"token\":\"\u00e9\"}", "{\"refresh_token\":\"" + SECRET + "\"}"})
    void malformedBodiesGiveAuthErrorsWithoutEchoingTheBody(String body) {
        assertThatThrownBy(() -> parse(body)).isInstanceOf(DavitException.class)
                .satisfies(e -> {
                    DavitException d = (DavitException) e;
                    assertThat(d.kind()).isEqualTo(DavitException.Kind.AUTH);
                    assertThat(d.getMessage()).doesNotContain(SECRET).doesNotContain("\n");
                    assertThat(d.getCause()).isNull();
                });
    }

    @Test
    void nullAndOversizedBodies() {
        assertThatThrownBy(() -> TokenResponse.parse(null, clock)).isInstanceOf(DavitException.class);
        byte[] big = new byte[TokenResponse.MAX_BODY_BYTES + 1];
        assertThatThrownBy(() -> TokenResponse.parse(big, clock)).isInstanceOf(DavitException.class)
                .hasMessageContaining("bytes");
    }

    @Test
    void toStringRedacts() {
        TokenResponse t = parse("{\"token\":\"" + SECRET + "\",\"refresh_token\":\"R-" + SECRET + "\"}");
        assertThat(t.toString()).doesNotContain(SECRET).contains("<redacted>").contains("refreshToken");
    }

    @Test
    void of() {
        TokenResponse t = TokenResponse.of("t", Duration.ofSeconds(5), null, null, clock);
        assertThat(t.expiresIn()).isEqualTo(Duration.ofSeconds(60));
        assertThat(t.issuedAt()).isEqualTo(NOW);
        assertThat(t.refreshToken()).isEmpty();
        assertThatThrownBy(() -> TokenResponse.of(null, null, null, null, clock)).isInstanceOf(DavitException.class);
    }

    @Test
    void systemClockOverload() {
        Instant before = Instant.now();
        assertThat(TokenResponse.parse("{\"token\":\"t\"}".getBytes(StandardCharsets.UTF_8)).issuedAt())
                .isAfterOrEqualTo(before.minusSeconds(1));
    }
}
