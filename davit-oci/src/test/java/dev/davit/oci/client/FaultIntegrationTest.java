package dev.davit.oci.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.auth.Credentials;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.registry.RegistryOptions;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.testkit.Fault;
import dev.davit.oci.testkit.FaultProxy;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Faults a real registry will not produce, injected by an in-process proxy in front of one. */
class FaultIntegrationTest {
    static final long SIZE = 4 << 20;
    static TestRegistry registry;
    static PushedImage big;
    FaultProxy proxy;

    @TempDir
    Path dir;

    @BeforeAll
    static void startRegistry() {
        registry = TestRegistry.start();
        big = Fixtures.pushLargeImage(registry, "fault/big", "1", SIZE, 21);
    }

    @AfterAll
    static void stopRegistry() {
        if (registry != null) {
            registry.close();
        }
    }

    @BeforeEach
    void startProxy() {
        proxy = FaultProxy.start(registry);
    }

    @AfterEach
    void stopProxy() {
        proxy.close();
    }

    DavitClient client() {
        RegistryOptions fast = RegistryOptions.builder().initialBackoff(Duration.ofMillis(20))
                .maxBackoff(Duration.ofSeconds(5)).build();
        return DavitClient.create(ClientOptions.anonymous(dir.resolve("store")).withRegistry(fast));
    }

    String viaProxy(PushedImage img) {
        return proxy.hostPort() + "/" + img.repository() + ":" + img.tag();
    }

    String layer() {
        return big.layerDigests().get(0);
    }

    @Test
    void aFlippedByteFailsThePullAndCachesNothing() throws Exception {
        proxy.add(Fault.flipByte(1000).onBlob(layer()));
        try (DavitClient davit = client()) {
            assertThatThrownBy(() -> davit.pull(viaProxy(big), PlatformSelector.host(), ProgressListener.NONE))
                    .isInstanceOf(DavitException.class)
                    .matches(e -> ((DavitException) e).kind() == DavitException.Kind.VERIFICATION)
                    .hasMessageContaining(layer()).hasMessageContaining("nothing was cached");
            OciStore store = davit.store();
            assertThat(store.hasBlob(Digest.parse(layer()))).isFalse();
            assertThat(store.entries()).isEmpty();
            try (var partials = Files.list(dir.resolve("store/.davit/ingest"))) {
                assertThat(partials.filter(p -> p.toString().endsWith(".partial"))).isEmpty();
            }
            assertThat(store.fsck(false).clean()).isTrue();
            // without the fault the next pull succeeds
            PullResult r = davit.pull(viaProxy(big), PlatformSelector.host(), ProgressListener.NONE);
            assertThat(r.target().digest().toString()).isEqualTo(big.manifestDigest());
        }
    }

    @Test
    void aConnectionCutMidBlobResumesWithARangeRequest() {
        long cut = 1_500_000;
        proxy.add(Fault.cutAfter(cut).onBlob(layer()));
        List<ProgressEvent> events = new CopyOnWriteArrayList<>();
        try (DavitClient davit = client()) {
            PullResult r = davit.pull(viaProxy(big), PlatformSelector.host(), events::add);
            assertThat(r.target().digest().toString()).isEqualTo(big.manifestDigest());
            assertThat(davit.fsck(false).clean()).isTrue();
        }
        List<FaultProxy.Request> gets = proxy.requests("GET", "/v2/.+/blobs/" + layer());
        assertThat(gets).hasSize(2);
        assertThat(gets.get(0).range()).isNull();
        long size = java.nio.file.Path.of(registry.blobDataPath(layer()).toString()).toFile().length();
        assertThat(gets.get(1).range()).matches("bytes=[1-9][0-9]*-" + (size - 1));
        long resumedAt = Long.parseLong(gets.get(1).range().replaceAll("bytes=([0-9]+)-.*", "$1"));
        assertThat(resumedAt).isLessThanOrEqualTo(cut).isGreaterThan(0);
        assertThat(gets.get(1).status()).isEqualTo(206);
        assertThat(events).anyMatch(e -> e instanceof ProgressEvent.Retry rt && rt.message().contains("resuming at byte"));
    }

    /**
     * A 48 MiB layer through the default hasher (libcrypto on Java 22+): cut at ~30 MB and resumed, the stored blob
     * is what the JDK's own SHA-256 says it should be; a byte flipped at ~40 MB, past many 1 MiB hashing chunks
     * and read buffers, is refused and nothing is cached.
     */
    @Test
    void aLargeBlobIsVerifiedByTheDefaultHasherAcrossAResumeAndACorruptOneIsRefused() throws Exception {
        PushedImage large = Fixtures.pushLargeImage(registry, "fault/large", "1", 48L << 20, 22);
        String layer = large.layerDigests().get(0);
        String ref = proxy.hostPort() + "/" + large.repository() + ":" + large.tag();
        if (Runtime.version().feature() >= 22) {
            // surefire grants native access as davit.jar's manifest does: the default is libcrypto's
            assertThat(Digest.Algorithm.SHA256.newMessageDigest().getClass().getSimpleName()).isEqualTo("OpenSslSha256");
        }
        proxy.add(Fault.flipByte(40_000_000).onBlob(layer));
        try (DavitClient davit = client()) {
            assertThatThrownBy(() -> davit.pull(ref, PlatformSelector.host(), ProgressListener.NONE))
                    .isInstanceOf(DavitException.class)
                    .matches(e -> ((DavitException) e).kind() == DavitException.Kind.VERIFICATION)
                    .hasMessageContaining(layer).hasMessageContaining("nothing was cached");
            assertThat(davit.store().hasBlob(Digest.parse(layer))).isFalse();
            assertThat(davit.store().entries()).isEmpty();
        }
        proxy.add(Fault.cutAfter(30_000_000).onBlob(layer));
        try (DavitClient davit = client()) {
            PullResult r = davit.pull(ref, PlatformSelector.host(), ProgressListener.NONE);
            assertThat(r.target().digest().toString()).isEqualTo(large.manifestDigest());
            Path blob = dir.resolve("store/blobs/sha256/" + layer.substring("sha256:".length()));
            java.security.MessageDigest jdk = java.security.MessageDigest.getInstance("SHA-256", "SUN");
            try (var in = Files.newInputStream(blob)) {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    jdk.update(buf, 0, n);
                }
            }
            assertThat("sha256:" + java.util.HexFormat.of().formatHex(jdk.digest())).isEqualTo(layer);
            assertThat(Files.size(blob)).isGreaterThan(40_000_000L);
        }
        List<FaultProxy.Request> gets = proxy.requests("GET", "/v2/.+/blobs/" + layer);
        assertThat(gets).hasSize(3);
        assertThat(gets.get(2).range()).startsWith("bytes=");
        assertThat(gets.get(2).status()).isEqualTo(206);
    }

    @Test
    void aServerThatIgnoresRangeGetsAFullDownload() {
        proxy.add(Fault.cutAfter(1_000_000).onBlob(layer()));
        proxy.add(Fault.ignoreRange().onBlob(layer()).always());
        try (DavitClient davit = client()) {
            PullResult r = davit.pull(viaProxy(big), PlatformSelector.host(), ProgressListener.NONE);
            assertThat(r.target().digest().toString()).isEqualTo(big.manifestDigest());
            assertThat(davit.fsck(false).clean()).isTrue();
        }
        List<FaultProxy.Request> gets = proxy.requests("GET", "/v2/.+/blobs/" + layer());
        assertThat(gets).hasSize(2);
        assertThat(gets.get(1).range()).startsWith("bytes=");
        assertThat(gets.get(1).status()).isEqualTo(200);
    }

    @Test
    void a503IsRetried() {
        proxy.add(Fault.serviceUnavailable().onManifestGet());
        proxy.add(Fault.serviceUnavailable().onBlob(layer()));
        try (DavitClient davit = client()) {
            PullResult r = davit.pull(viaProxy(big), PlatformSelector.host(), ProgressListener.NONE);
            assertThat(r.target().digest().toString()).isEqualTo(big.manifestDigest());
        }
        assertThat(proxy.requests("GET", Fault.MANIFEST_PATH)).extracting(FaultProxy.Request::status)
                .containsExactly(503, 200);
        assertThat(proxy.requests("GET", "/v2/.+/blobs/" + layer())).extracting(FaultProxy.Request::status)
                .containsExactly(503, 200);
    }

    @Test
    void a429HonoursRetryAfter() {
        proxy.add(Fault.tooManyRequests(1).onManifestGet());
        List<ProgressEvent> events = new CopyOnWriteArrayList<>();
        try (DavitClient davit = client()) {
            long t0 = System.nanoTime();
            davit.pull(viaProxy(big), PlatformSelector.host(), events::add);
            // Retry-After: 1 is a lower bound on the wait, whatever the backoff would have been (20 ms)
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(1000));
        }
        assertThat(events).anyMatch(e -> e instanceof ProgressEvent.Retry rt && rt.message().contains("HTTP 429")
                && rt.message().contains("1000 ms"));
        assertThat(proxy.requests("GET", Fault.MANIFEST_PATH)).extracting(FaultProxy.Request::status)
                .containsExactly(429, 200);
    }

    @Test
    void aRedirectToAnotherHostCarriesNoAuthorization() {
        try (TestRegistry secured = TestRegistry.builder().tokenAuth().start();
             FaultProxy p = FaultProxy.start(secured)) {
            PushedImage img = Fixtures.pushImage(secured, "fault/redirect", "1");
            p.add(Fault.redirectToOtherHost().onBlobGet().always());
            RegistryOptions opts = RegistryOptions.defaults();
            try (DavitClient davit = DavitClient.create(new ClientOptions(dir.resolve("s2"), opts,
                    r -> Credentials.basic(secured.username(), secured.password())))) {
                PullResult r = davit.pull(p.hostPort() + "/fault/redirect:1", PlatformSelector.host(),
                        ProgressListener.NONE);
                assertThat(r.target().digest().toString()).isEqualTo(img.manifestDigest());
                assertThat(davit.fsck(false).clean()).isTrue();
            }
            List<FaultProxy.Request> toOther = p.requests().stream().filter(FaultProxy.Request::otherHost).toList();
            assertThat(toOther).isNotEmpty().noneMatch(FaultProxy.Request::authorization);
            List<FaultProxy.Request> toRegistry = p.requests("GET", Fault.BLOB_PATH).stream()
                    .filter(q -> !q.otherHost()).toList();
            assertThat(toRegistry).isNotEmpty().allMatch(FaultProxy.Request::authorization);
        }
    }
}
