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

    @Test
    void oneDecimalIsWhatFormatterGives() {
        java.util.Random rnd = new java.util.Random(5);
        java.util.List<Double> values = new java.util.ArrayList<>(java.util.List.of(0.0, 0.05, 0.15, 0.25, 0.35, 0.45,
                1.05, 2.675, 9.95, 99.95, 999.94, 999.95, 123456789.55, 1e17, 4.35, 0.1 + 0.2, -0.0, -0.04, -0.05,
                -1.25, -9.96, 1e-5, 4.9e-324, 0.95, 9.999999e7, 1.7976931348623157e308, 123e20));
        for (int i = 0; i < 20_000; i++) {
            values.add(rnd.nextDouble() * Math.pow(10, rnd.nextInt(8)));
            values.add(-rnd.nextDouble() * Math.pow(10, rnd.nextInt(30) - 10));   // negative, tiny and huge too
            values.add(rnd.nextInt(100_000) / 1000.0); // the duration case: milliseconds as seconds
        }
        for (double v : values) {
            assertThat(Units.oneDecimal(v)).as("%s", v).isEqualTo(String.format(java.util.Locale.ROOT, "%.1f", v));
        }
        assertThat(Units.duration(java.time.Duration.ofSeconds(65))).isEqualTo("1m05s");
        assertThat(Units.duration(java.time.Duration.ofSeconds(3671))).isEqualTo("61m11s");
        assertThat(Units.duration(java.time.Duration.ofMillis(1500))).isEqualTo("1.5s");
    }
}
