package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class UnitsTest {
    @Test
    void bytes() {
        assertThat(Units.bytes(0)).isEqualTo("0 B");
        assertThat(Units.bytes(999)).isEqualTo("999 B");
        assertThat(Units.bytes(1000)).isEqualTo("1.0 kB");
        assertThat(Units.bytes(12_400_000)).isEqualTo("12.4 MB");
        assertThat(Units.bytes(999_960)).isEqualTo("1.0 MB");
        assertThat(Units.bytes(Long.MAX_VALUE)).endsWith(" PB");
    }

    @Test
    void rateNeedsSomeTime() {
        assertThat(Units.rate(1000, 1_000_000)).isEmpty();
        assertThat(Units.rate(5_000_000, 1_000_000_000)).isEqualTo("5.0 MB/s");
    }

    @Test
    void durationAndAgo() {
        assertThat(Units.duration(Duration.ofMillis(250))).isEqualTo("250ms");
        assertThat(Units.duration(Duration.ofMillis(1234))).isEqualTo("1.2s");
        assertThat(Units.duration(Duration.ofSeconds(125))).isEqualTo("2m05s");
        Instant now = Instant.parse("2024-05-10T00:00:00Z");
        assertThat(Units.ago(now.minusSeconds(5), now)).isEqualTo("just now");
        assertThat(Units.ago(now.minusSeconds(60), now)).isEqualTo("1 minute ago");
        assertThat(Units.ago(now.minusSeconds(7200), now)).isEqualTo("2 hours ago");
        assertThat(Units.ago(now.minusSeconds(3 * 86400), now)).isEqualTo("3 days ago");
        assertThat(Units.ago(null, now)).isEqualTo("-");
    }
}
