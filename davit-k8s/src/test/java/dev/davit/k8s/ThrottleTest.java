package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The client-side rate limit: a burst at once, then the rate; saved tokens at most a burst; its settings. */
class ThrottleTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void aBurstGoesAtOnceThenTheRateHolds() {
        Throttle t = new Throttle(100, 5); // a token every 10 ms
        long now = 1_000_000 * MS;
        for (int i = 0; i < 5; i++) {
            assertThat(t.reserve(now)).as("request %d of the burst", i).isZero();
        }
        assertThat(t.reserve(now)).isEqualTo(10 * MS);
        assertThat(t.reserve(now)).isEqualTo(20 * MS);
        // a thousand more at the same instant: the last waits ten seconds, none is refused
        long last = 0;
        for (int i = 0; i < 1000; i++) {
            last = t.reserve(now);
        }
        assertThat(last).isEqualTo(10_020 * MS);
    }

    @Test
    void anIdleClientSavesAtMostOneBurst() {
        Throttle t = new Throttle(10, 3); // a token every 100 ms
        long now = 5_000_000 * MS;
        for (int i = 0; i < 3; i++) {
            assertThat(t.reserve(now)).isZero();
        }
        now += 60_000 * MS; // a minute idle
        for (int i = 0; i < 3; i++) {
            assertThat(t.reserve(now)).isZero();
        }
        assertThat(t.reserve(now)).isEqualTo(100 * MS);
        now += 50 * MS; // half a token later, the queue is still one token long
        assertThat(t.reserve(now)).isEqualTo(150 * MS);
    }

    @Test
    void afterARefusalRetriesLeaveAtTheRateNotAsABurst() {
        Throttle t = new Throttle(100, 50); // a token every 10 ms, fifty saved
        long now = 9_000_000 * MS;
        assertThat(t.reserve(now)).isZero();
        t.turnedAway(now + 5 * MS);
        // thirty retries after the same one-second Retry-After: one every 10 ms, not thirty at once
        long at = now + 1_005 * MS;
        for (int i = 0; i < 30; i++) {
            assertThat(t.reserve(at)).as("retry %d", i).isEqualTo(i * 10 * MS);
        }
        // a refusal while requests are queued keeps their places: none jumps ahead
        t.turnedAway(at);
        assertThat(t.reserve(at)).isEqualTo(300 * MS);
        // ten seconds after the last refusal the bucket saves tokens again
        long later = at + Throttle.PACED + 2_000 * MS;
        for (int i = 0; i < 50; i++) {
            assertThat(t.reserve(later)).as("request %d of the burst again", i).isZero();
        }
        assertThat(t.reserve(later)).isEqualTo(10 * MS);
    }

    @Test
    void theSettingsAreCheckedAndZeroTurnsItOff() {
        K8sSettings d = K8sSettings.from(Map.of());
        assertThat(d.qps()).isEqualTo(K8sSettings.DEFAULT_QPS);
        assertThat(d.burst()).isEqualTo(K8sSettings.DEFAULT_BURST);
        K8sSettings off = K8sSettings.from(Map.of("DAVIT_K8S_QPS", "0", "DAVIT_K8S_BURST", "7"));
        assertThat(off.qps()).isZero();
        assertThat(off.burst()).isEqualTo(7);
        assertThatThrownBy(() -> K8sSettings.from(Map.of("DAVIT_K8S_QPS", "fast")))
                .isInstanceOf(DavitException.class)
                .hasMessage("DAVIT_K8S_QPS 'fast' is not a whole number from 0 to 100000 (0: no limit)");
        assertThatThrownBy(() -> K8sSettings.from(Map.of("DAVIT_K8S_BURST", "0")))
                .isInstanceOf(DavitException.class)
                .hasMessage("DAVIT_K8S_BURST '0' is not a whole number from 1 to 100000");
    }
}
