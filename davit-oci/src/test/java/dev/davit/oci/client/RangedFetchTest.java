package dev.davit.oci.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.registry.RegistryOptions;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A large blob whose first bytes come slowly has the rest fetched as several ranges at once (here from 1 MiB, so a
 * 4 MiB layer read slowly for its first 256 KiB gets four ranges), against a real registry behind a proxy that
 * injects what a real one will not do: a slow first stream, ranges ignored or refused, wrong bytes for one, one cut.
 */
class RangedFetchTest {
    static final long SIZE = 4 << 20;
    static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d+)");
    static TestRegistry registry;
    static PushedImage img;
    FaultProxy proxy;

    @TempDir
    Path dir;

    @BeforeAll
    static void startRegistry() {
        registry = TestRegistry.start();
        img = Fixtures.pushLargeImage(registry, "ranged/big", "1", SIZE, 31);
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
        RegistryOptions ranged = RegistryOptions.builder().initialBackoff(Duration.ofMillis(20))
                .maxBackoff(Duration.ofSeconds(5)).rangedBlobBytes(1 << 20).build();
        return DavitClient.create(ClientOptions.anonymous(dir.resolve("store")).withRegistry(ranged));
    }

    String ref() {
        return proxy.hostPort() + "/" + img.repository() + ":" + img.tag();
    }

    String layer() {
        return img.layerDigests().get(0);
    }

    long layerSize() {
        return registry.blobDataPath(layer()).toFile().length();
    }

    /** The first GET of the layer crawls: its first bytes decide that the rest comes as ranges. */
    void slowStart() {
        proxy.add(Fault.throttle(1 << 20).onBlob(layer()));
    }

    List<FaultProxy.Request> layerGets() {
        return proxy.requests("GET", "/v2/.+/blobs/" + layer());
    }

    void assertStoredAndClean(DavitClient davit) throws Exception {
        Path blob = dir.resolve("store/blobs/sha256/" + layer().substring("sha256:".length()));
        assertThat(Files.readAllBytes(blob)).isEqualTo(Files.readAllBytes(registry.blobDataPath(layer())));
        assertThat(davit.fsck(false).clean()).isTrue();
        try (var left = Files.list(dir.resolve("store/.davit/ingest"))) {
            assertThat(left.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".lock"))).isEmpty();
        }
    }

    @Test
    void aSlowStreamsRestComesInFourRangesThatCoverItExactly() throws Exception {
        slowStart();
        try (DavitClient davit = client()) {
            PullResult r = davit.pull(ref(), PlatformSelector.host(), ProgressListener.NONE);
            assertThat(r.target().digest().toString()).isEqualTo(img.manifestDigest());
            assertStoredAndClean(davit);
        }
        List<FaultProxy.Request> gets = layerGets();
        assertThat(gets).hasSize(5);
        assertThat(gets.get(0).range()).isNull();
        assertThat(gets.subList(1, 5)).allMatch(g -> g.status() == 206 && g.range() != null);
        List<long[]> ranges = gets.subList(1, 5).stream().map(g -> range(g.range()))
                .sorted((a, b) -> Long.compare(a[0], b[0])).toList();
        long next = ranges.get(0)[0];
        assertThat(next).isGreaterThanOrEqualTo(256 << 10).isLessThan(SIZE / 2);
        for (long[] range : ranges) {
            assertThat(range[0]).isEqualTo(next);
            next = range[1] + 1;
        }
        assertThat(next).isEqualTo(layerSize());
    }

    @Test
    void aRegistryThatIgnoresRangesGetsOneStream() throws Exception {
        slowStart();
        proxy.add(Fault.ignoreRange().onBlob(layer()).always());
        try (DavitClient davit = client()) {
            davit.pull(ref(), PlatformSelector.host(), ProgressListener.NONE);
            assertStoredAndClean(davit);
        }
        // the slow first stream, up to four ranges answered with the whole blob, then the blob in one stream (whose
        // Range, from the bytes the first stream brought, is ignored too: it starts over)
        List<FaultProxy.Request> gets = layerGets();
        assertThat(gets.get(0).range()).isNull();
        assertThat(gets.subList(1, gets.size())).hasSizeBetween(2, 5).allMatch(g -> g.range() != null && g.status() == 200);
        assertThat(proxy.requests("GET", "/v2/.+/blobs/.+")).hasSizeLessThanOrEqualTo(7);
    }

    @Test
    void aRegistryThatRefusesRangesGetsOneStream() throws Exception {
        slowStart();
        proxy.add(Fault.status(416).onBlob(layer()).onlyRanged().always());
        try (DavitClient davit = client()) {
            davit.pull(ref(), PlatformSelector.host(), ProgressListener.NONE);
            assertStoredAndClean(davit);
        }
        // the slow first stream, refused ranges, the rest refused as a range too, then the blob in one stream
        List<FaultProxy.Request> gets = layerGets();
        assertThat(gets.get(0).range()).isNull();
        assertThat(gets.get(gets.size() - 1).range()).isNull();
        assertThat(gets.get(gets.size() - 1).status()).isEqualTo(200);
        assertThat(gets.subList(1, gets.size() - 1)).hasSizeBetween(2, 5).allMatch(g -> g.status() == 416);
    }

    @Test
    void aRangeAnsweredWithWrongBytesFailsThePullAndCachesNothing() throws Exception {
        slowStart();
        proxy.add(Fault.flipByte(1000).onBlob(layer()).onlyRanged());
        try (DavitClient davit = client()) {
            assertThatThrownBy(() -> davit.pull(ref(), PlatformSelector.host(), ProgressListener.NONE))
                    .isInstanceOf(DavitException.class)
                    .matches(e -> ((DavitException) e).kind() == DavitException.Kind.VERIFICATION)
                    .hasMessageContaining(layer()).hasMessageContaining("nothing was cached");
            assertThat(davit.store().hasBlob(Digest.parse(layer()))).isFalse();
            assertThat(davit.store().entries()).isEmpty();
            try (var left = Files.list(dir.resolve("store/.davit/ingest"))) {
                assertThat(left.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".lock"))).isEmpty();
            }
            // without the fault the next pull succeeds
            davit.pull(ref(), PlatformSelector.host(), ProgressListener.NONE);
            assertStoredAndClean(davit);
        }
    }

    @Test
    void aRangeCutShortIsAskedForAgainFromWhereItStopped() throws Exception {
        long cut = 300_000;
        slowStart();
        proxy.add(Fault.cutAfter(cut).onBlob(layer()).onlyRanged());
        List<ProgressEvent> events = new CopyOnWriteArrayList<>();
        try (DavitClient davit = client()) {
            davit.pull(ref(), PlatformSelector.host(), events::add);
            assertStoredAndClean(davit);
        }
        List<FaultProxy.Request> gets = layerGets();
        assertThat(gets).hasSize(6);
        List<long[]> ranges = gets.subList(1, 6).stream().map(g -> range(g.range())).toList();
        // the cut range was asked for again from where it stopped, to the same end
        List<List<long[]>> byEnd = ranges.stream().collect(java.util.stream.Collectors.groupingBy(r -> r[1]))
                .values().stream().filter(l -> l.size() > 1).toList();
        assertThat(byEnd).singleElement().satisfies(again -> {
            long resumedAfter = Math.abs(again.get(1)[0] - again.get(0)[0]);
            assertThat(resumedAfter).isPositive().isLessThanOrEqualTo(cut);
        });
        // only the rest of the cut range was asked for again: less than one range's worth beyond what ranges cover
        long covered = layerSize() - ranges.stream().mapToLong(r -> r[0]).min().orElseThrow();
        long requested = ranges.stream().mapToLong(r -> r[1] - r[0] + 1).sum();
        assertThat(requested - covered).isPositive().isLessThan((covered + 3) / 4);
        assertThat(events).anyMatch(e -> e instanceof ProgressEvent.Retry rt && rt.message().contains("resuming its range"));
    }

    @Test
    void aCancelledFetchEndsItsRangesAndSaysItWasCancelled() throws Exception {
        slowStart();
        // the ranges crawl too: the fetch is surely cancelled while they run
        proxy.add(Fault.throttle(64 << 10).onBlob(layer()).onlyRanged().always());
        RegistryOptions ranged = RegistryOptions.builder().initialBackoff(Duration.ofMillis(20))
                .maxBackoff(Duration.ofSeconds(5)).rangedBlobBytes(1 << 20).build();
        dev.davit.oci.store.OciStore store = dev.davit.oci.store.OciStore.open(dir.resolve("store"));
        dev.davit.oci.manifest.Descriptor d = new dev.davit.oci.manifest.Descriptor(
                dev.davit.oci.manifest.MediaTypes.OCI_LAYER_GZIP, Digest.parse(layer()), layerSize());
        dev.davit.oci.reference.Reference repo = dev.davit.oci.reference.Reference.parse(ref());
        java.util.concurrent.atomic.AtomicReference<Throwable> thrown = new java.util.concurrent.atomic.AtomicReference<>();
        try (dev.davit.oci.registry.RegistryClient client = new dev.davit.oci.registry.RegistryClient(ranged,
                dev.davit.oci.registry.Authenticator.ANONYMOUS, null)) {
            Thread fetching = Thread.ofPlatform().start(() -> {
                try (dev.davit.oci.store.BlobIngest in = store.ingest(d)) {
                    client.fetchBlob(repo, d, in, bytes -> { }, line -> { });
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            long until = System.nanoTime() + 60_000_000_000L;
            while (rangeThreads() == 0 && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertThat(rangeThreads()).as("ranges under way").isPositive();
            fetching.interrupt();
            fetching.join(60_000);
            assertThat(fetching.isAlive()).isFalse();
        }
        assertThat(thrown.get()).isInstanceOf(DavitException.class)
                .matches(e -> ((DavitException) e).kind() == DavitException.Kind.CANCELLED, "cancelled")
                .hasMessageContaining("cancelled");
        assertThat(rangeThreads()).as("no range thread outlives its fetch").isZero();
        // what is left resumes from the bytes hashed: the partial file holds no holes past them
        Path partial = dir.resolve("store/.davit/ingest/sha256-" + layer().substring("sha256:".length()) + ".partial");
        byte[] want = Files.readAllBytes(registry.blobDataPath(layer()));
        byte[] have = Files.readAllBytes(partial);
        assertThat(have.length).isPositive().isLessThan(want.length);
        assertThat(have).isEqualTo(java.util.Arrays.copyOf(want, have.length));
    }

    private static long rangeThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("davit-range-") && t.isAlive()).count();
    }

    static long[] range(String header) {
        Matcher m = RANGE.matcher(header);
        assertThat(m.matches()).as(header).isTrue();
        return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
    }
}
