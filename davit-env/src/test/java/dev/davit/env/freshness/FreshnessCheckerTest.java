package dev.davit.env.freshness;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.registry.RegistryOptions;
import dev.davit.oci.testkit.Fault;
import dev.davit.oci.testkit.FaultProxy;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Freshness against a real registry behind a proxy that counts requests. */
class FreshnessCheckerTest {
    @TempDir
    Path dir;

    static final class MutableClock extends Clock {
        Instant now = Instant.parse("2026-11-21T10:00:00Z");

        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        public Clock withZone(java.time.ZoneId z) {
            return this;
        }

        public Instant instant() {
            return now;
        }
    }

    @Test
    void asksOncePerDayAndReportsUpdates() {
        try (TestRegistry reg = TestRegistry.start(); FaultProxy proxy = FaultProxy.start(reg);
             DavitClient davit = DavitClient.create(ClientOptions.anonymous(dir.resolve("store"))
                     .withRegistry(RegistryOptions.builder().maxRetries(0).build()))) {
            PushedImage v1 = Fixtures.pushImage(reg, "env/fresh", "1");
            String ref = proxy.hostPort() + "/env/fresh:1";
            MutableClock clock = new MutableClock();
            FreshnessChecker checker = new FreshnessChecker(r -> davit.remoteDigest(r).digest().toString(),
                    dir.resolve("freshness.json"), clock, FreshnessChecker.DEFAULT_TTL);

            Freshness first = checker.check(ref, v1.manifestDigest());
            assertThat(first.status()).isEqualTo(Freshness.Status.UP_TO_DATE);
            assertThat(first.cached()).isFalse();
            int heads = proxy.requests("HEAD", Fault.MANIFEST_PATH).size();
            assertThat(heads).isEqualTo(1);

            clock.now = clock.now.plus(Duration.ofHours(23));
            Freshness again = checker.check(ref, "sha256:" + "a".repeat(64));
            assertThat(again.cached()).isTrue();
            assertThat(again.status()).isEqualTo(Freshness.Status.UPDATE_AVAILABLE);
            assertThat(proxy.requests("HEAD", Fault.MANIFEST_PATH)).hasSize(heads);

            clock.now = clock.now.plus(Duration.ofHours(2));
            assertThat(checker.check(ref, v1.manifestDigest()).cached()).isFalse();
            assertThat(proxy.requests("HEAD", Fault.MANIFEST_PATH)).hasSize(heads + 1);
            assertThat(Files.exists(dir.resolve("freshness.json"))).isTrue();

            assertThat(checker.check(ref, null).status()).isEqualTo(Freshness.Status.UNKNOWN);
        }
    }

    @Test
    void anUnreachableRegistryNeverFails() {
        try (DavitClient davit = DavitClient.create(ClientOptions.anonymous(dir.resolve("store"))
                .withRegistry(RegistryOptions.builder().maxRetries(0).build()))) {
            FreshnessChecker checker = new FreshnessChecker(r -> davit.remoteDigest(r).digest().toString(),
                    dir.resolve("f.json"), Clock.systemUTC(), FreshnessChecker.DEFAULT_TTL);
            Freshness f = checker.check("127.0.0.1:1/env/x:1", "sha256:" + "b".repeat(64));
            assertThat(f.status()).isEqualTo(Freshness.Status.UNKNOWN);
            assertThat(f.error().toString()).contains("127.0.0.1:1");
            assertThat(dir.resolve("f.json")).doesNotExist();
        }
    }

    @Test
    void aDamagedCacheIsIgnored() throws Exception {
        Files.writeString(dir.resolve("bad.json"), "{not json");
        FreshnessChecker checker = new FreshnessChecker(r -> "sha256:" + "c".repeat(64), dir.resolve("bad.json"),
                Clock.systemUTC(), FreshnessChecker.DEFAULT_TTL);
        Freshness f = checker.check("example.com/x:1", "sha256:" + "c".repeat(64));
        assertThat(f.status()).isEqualTo(Freshness.Status.UP_TO_DATE);
        assertThat(Files.readString(dir.resolve("bad.json"))).contains("example.com/x:1");
    }
}
