package dev.davit.oci.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.davit.oci.DavitException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Fuzz tests for the parsers of untrusted auth input. Without JAZZER_FUZZ they run in regression mode over
 * the seeds in {@code src/test/resources/dev/davit/oci/auth/AuthFuzzTestInputs/<method>/}.
 */
class AuthFuzzTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2024-05-01T12:00:00Z"), ZoneOffset.UTC);

    /** Input: header values separated by newlines, as ISO-8859-1 (how HTTP header bytes map to chars). */
    @FuzzTest
    void challengeParse(byte[] data) {
        List<String> values = Arrays.asList(new String(data, StandardCharsets.ISO_8859_1).split("\n", -1));
        List<Challenge> cs = Challenge.parse(values);
        for (Challenge c : cs) {
            assertThat(c.scheme()).isNotEmpty().isEqualTo(c.scheme().toLowerCase(Locale.ROOT));
            c.params().keySet().forEach(k -> assertThat(k).isNotEmpty().isEqualTo(k.toLowerCase(Locale.ROOT)));
            // what we print parses back to the same challenge
            if (c.token68().isEmpty() && c.params().values().stream().noneMatch(AuthFuzzTest::hasControl)) {
                assertThat(Challenge.parse(c.toString())).containsExactly(c);
            }
        }
        Challenge.preferred(cs);
        for (Challenge c : cs) {
            c.scope().ifPresent(s -> {
                try {
                    Scope.parseAll(s);
                } catch (DavitException e) {
                    // fine: scopes from a server may be malformed
                }
            });
        }
    }

    /** Input: a token endpoint response body. */
    @FuzzTest
    void tokenResponseParse(byte[] data) {
        try {
            TokenResponse t = TokenResponse.parse(data, CLOCK);
            assertThat(t.token()).isNotEmpty();
            assertThat(t.expiresIn()).isBetween(TokenResponse.MIN_EXPIRES_IN, TokenResponse.MAX_EXPIRES_IN);
            assertThat(t.issuedAt()).isBeforeOrEqualTo(CLOCK.instant());
            assertThat(t.expiresAt()).isAfter(t.issuedAt());
            if (t.token().length() >= 8) {
                assertThat(t.toString()).doesNotContain(t.token());
            }
        } catch (DavitException e) {
            assertThat(e.kind()).isEqualTo(DavitException.Kind.AUTH);
            assertThat(e.getMessage()).doesNotContain("\n");
            assertThat(e.getCause()).isNull();
        }
    }

    private static boolean hasControl(String s) {
        return s.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0));
    }
}
