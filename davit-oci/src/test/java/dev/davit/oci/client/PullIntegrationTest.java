package dev.davit.oci.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.registry.RegistryOptions;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedArtifact;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.PushedIndex;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pulls from a real docker-registry filled by umoci and skopeo, and checks the store with skopeo. */
class PullIntegrationTest {
    static TestRegistry registry;

    @TempDir
    Path dir;

    @BeforeAll
    static void startRegistry() {
        registry = TestRegistry.start();
    }

    @AfterAll
    static void stopRegistry() {
        if (registry != null) {
            registry.close();
        }
    }

    DavitClient client() {
        return DavitClient.create(ClientOptions.anonymous(dir.resolve("store")));
    }

    @Test
    void pullsAnOciImageByteForByteAndSkopeoReadsTheStore() throws Exception {
        PushedImage img = Fixtures.pushImage(registry, "pull/oci", "1");
        List<ProgressEvent> events = new CopyOnWriteArrayList<>();
        try (DavitClient davit = client()) {
            PullResult r = davit.pull(img.reference(), PlatformSelector.host(), events::add);
            assertThat(r.target().digest().toString()).isEqualTo(img.manifestDigest());
            assertThat(r.resolvedDigest().toString()).isEqualTo(img.manifestDigest());
            assertThat(r.blobs()).extracting(b -> b.descriptor().digest().toString())
                    .containsExactlyInAnyOrderElementsOf(concat(img.configDigest(), img.layerDigests()));
            assertThat(r.blobs()).noneMatch(PullResult.BlobResult::cached);
            OciStore store = davit.store();
            assertThat(Files.readAllBytes(store.blobPath(r.target().digest()))).isEqualTo(img.manifest());
            for (String layer : img.layerDigests()) {
                assertThat(Files.readAllBytes(store.blobPath(Digest.parse(layer))))
                        .isEqualTo(Files.readAllBytes(registry.blobDataPath(layer)));
            }
            StoreEntry e = store.entry(img.reference()).orElseThrow();
            assertThat(e.descriptor().annotation(OciStore.REF_NAME)).isEqualTo(img.reference());
            assertThat(e.resolvedAt()).isNotNull();
            assertThat(store.fsck(false).clean()).isTrue();
            assertThat(events).filteredOn(ev -> ev instanceof ProgressEvent.Phase)
                    .extracting(ev -> ((ProgressEvent.Phase) ev).name())
                    .containsExactly("resolving", "fetching manifest", "fetching blobs", "verifying", "done");
        }
        String out = run("skopeo", "inspect", "oci:" + dir.resolve("store") + ":" + img.reference());
        assertThat(out).contains("\"Digest\": \"" + img.manifestDigest() + "\"");
    }

    @Test
    void pullsADockerSchema2ImageWithoutConvertingIt() throws Exception {
        PushedImage img = Fixtures.pushImage(registry, "pull/v2s2", "1", Fixtures.Format.DOCKER_V2S2);
        try (DavitClient davit = client()) {
            PullResult r = davit.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE);
            assertThat(r.target().mediaType()).isEqualTo(MediaTypes.DOCKER_MANIFEST);
            assertThat(r.target().digest().toString()).isEqualTo(img.manifestDigest());
            assertThat(Files.readAllBytes(davit.store().blobPath(r.target().digest()))).isEqualTo(img.manifest());
            assertThat(davit.fsck(false).clean()).isTrue();
        }
    }

    @Test
    void aSecondPullDownloadsNothing() {
        PushedImage img = Fixtures.pushImage(registry, "pull/again", "1");
        try (DavitClient davit = client()) {
            davit.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE);
            PullResult again = davit.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE);
            assertThat(again.downloadedBytes()).isZero();
            assertThat(again.blobs()).allMatch(PullResult.BlobResult::cached);
        }
    }

    @Test
    void picksOnePlatformFromAnIndexAndKeepsTheIndexBlob() throws Exception {
        PushedIndex idx = Fixtures.pushMultiArch(registry, "pull/multi", "1");
        PushedIndex.PlatformImage arm64 = idx.images().stream()
                .filter(p -> p.architecture().equals("arm64")).findFirst().orElseThrow();
        try (DavitClient davit = client()) {
            PullResult r = davit.pull(idx.reference(), PlatformSelector.of(Platform.parse("linux/arm64")),
                    ProgressListener.NONE);
            assertThat(r.target().digest().toString()).isEqualTo(arm64.image().manifestDigest());
            assertThat(r.resolvedDigest().toString()).isEqualTo(idx.indexDigest());
            assertThat(r.platform()).isEqualTo("linux/arm64/v8");
            OciStore store = davit.store();
            assertThat(Files.readAllBytes(store.blobPath(Digest.parse(idx.indexDigest())))).isEqualTo(idx.index());
            StoreEntry e = store.entry(idx.reference()).orElseThrow();
            assertThat(e.platform()).isEqualTo("linux/arm64/v8");
            assertThat(e.resolvedDigest().toString()).isEqualTo(idx.indexDigest());
            assertThat(store.fsck(false).clean()).isTrue();
            // the index blob survives gc: it is what the reference resolved to
            store.gc();
            assertThat(store.hasBlob(Digest.parse(idx.indexDigest()))).isTrue();
            assertThat(store.fsck(false).clean()).isTrue();
        }
        String out = run("skopeo", "inspect", "oci:" + dir.resolve("store") + ":" + idx.reference());
        assertThat(out).contains("\"Architecture\": \"arm64\"");
    }

    @Test
    void anUnavailablePlatformListsTheAvailableOnes() {
        PushedIndex idx = Fixtures.pushMultiArch(registry, "pull/multi-missing", "1");
        try (DavitClient davit = client()) {
            assertThatThrownBy(() -> davit.pull(idx.reference(), PlatformSelector.of(Platform.parse("linux/s390x")),
                    ProgressListener.NONE))
                    .isInstanceOf(DavitException.class)
                    .hasMessageContaining("no image for platform linux/s390x")
                    .hasMessageContaining("linux/amd64").hasMessageContaining("linux/arm64/v8")
                    .hasMessageContaining("linux/arm/v7").hasMessageContaining("PlatformSelector.of(platform)");
            assertThat(davit.images()).isEmpty();
        }
    }

    @Test
    void pullsAllPlatforms() {
        PushedIndex idx = Fixtures.pushMultiArch(registry, "pull/multi-all", "1");
        try (DavitClient davit = client()) {
            PullResult r = davit.pull(idx.reference(), PlatformSelector.allPlatforms(), ProgressListener.NONE);
            assertThat(r.target().digest().toString()).isEqualTo(idx.indexDigest());
            assertThat(r.platform()).isNull();
            assertThat(r.manifests()).hasSize(1 + idx.images().size());
            ImageIndex stored = (ImageIndex) davit.store().readManifest(r.target());
            assertThat(stored.platforms()).hasSize(3);
            for (PushedIndex.PlatformImage p : idx.images()) {
                assertThat(davit.store().hasBlob(Digest.parse(p.image().manifestDigest()))).isTrue();
            }
            assertThat(davit.fsck(false).clean()).isTrue();
        }
    }

    @Test
    void pullsAnArtifactWithItsTypeAndSubject() {
        PushedImage subject = Fixtures.pushImage(registry, "pull/artifact", "base");
        PushedArtifact art = Fixtures.pushArtifact(registry, "pull/artifact", "sig", subject);
        try (DavitClient davit = client()) {
            PullResult r = davit.pull(art.reference(), PlatformSelector.host(), ProgressListener.NONE);
            ImageManifest m = (ImageManifest) davit.store().readManifest(r.target());
            assertThat(m.artifactType()).isEqualTo(Fixtures.ARTIFACT_TYPE);
            assertThat(m.subject()).isNotNull();
            assertThat(m.subject().digest().toString()).isEqualTo(subject.manifestDigest());
            assertThat(m.layers()).allMatch(l -> davit.store().hasBlob(l.digest()));
            assertThat(m.layers()).extracting(l -> l.annotation("org.opencontainers.image.title"))
                    .contains("README.md", "data.bin");
        }
    }

    @Test
    void pullsByDigestAndNamesTheEntryWithTheDigest() {
        PushedImage img = Fixtures.pushImage(registry, "pull/bydigest", "1");
        try (DavitClient davit = client()) {
            PullResult r = davit.pull(img.digestReference(), PlatformSelector.host(), ProgressListener.NONE);
            assertThat(r.reference().toString()).isEqualTo(img.digestReference());
            assertThat(davit.images()).extracting(StoreEntry::name).containsExactly(img.digestReference());
        }
    }

    @Test
    void aDigestAlreadyInTheStoreIsPulledOffline() {
        PushedImage img = Fixtures.pushImage(registry, "pull/offline", "1");
        PushedIndex idx = Fixtures.pushMultiArch(registry, "pull/offline-multi", "1");
        try (DavitClient davit = client()) {
            davit.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE);
            davit.pull(idx.reference(), PlatformSelector.allPlatforms(), ProgressListener.NONE);
            // port 1 refuses connections: these can only succeed from the store
            String offline = "127.0.0.1:1/pull/offline@" + img.manifestDigest();
            PullResult r = davit.pull(offline, PlatformSelector.host(), ProgressListener.NONE);
            assertThat(r.target().digest().toString()).isEqualTo(img.manifestDigest());
            assertThat(r.downloadedBytes()).isZero();
            assertThat(r.blobs()).hasSize(1 + img.layerDigests().size()).allMatch(PullResult.BlobResult::cached);
            String offlineIdx = "127.0.0.1:1/pull/offline-multi@" + idx.indexDigest();
            PullResult arm = davit.pull(offlineIdx, PlatformSelector.of(Platform.parse("linux/arm/v7")),
                    ProgressListener.NONE);
            assertThat(arm.target().digest().toString()).isEqualTo(idx.image("linux/arm/v7").image().manifestDigest());
            assertThat(arm.platform()).isEqualTo("linux/arm/v7");
            assertThat(davit.images()).extracting(StoreEntry::name).contains(offline, offlineIdx);
            assertThat(davit.fsck(false).clean()).isTrue();
        }
        // a digest that is not in the store still needs the registry
        try (DavitClient davit = DavitClient.create(ClientOptions.anonymous(dir.resolve("store"))
                .withRegistry(RegistryOptions.builder().maxRetries(0).build()))) {
            assertThatThrownBy(() -> davit.pull("127.0.0.1:1/pull/offline@sha256:" + "0".repeat(64),
                    PlatformSelector.host(), ProgressListener.NONE))
                    .isInstanceOf(DavitException.class)
                    .matches(e -> ((DavitException) e).kind() == DavitException.Kind.NETWORK);
        }
    }

    @Test
    void remoteDigestTagsAndRemoteInspectNeedNoPull() {
        PushedImage img = Fixtures.pushImage(registry, "pull/remote", "7");
        Fixtures.pushImage(registry, "pull/remote", "8");
        try (DavitClient davit = client()) {
            assertThat(davit.remoteDigest(img.reference()).digest().toString()).isEqualTo(img.manifestDigest());
            assertThat(davit.tags(registry.hostPort() + "/pull/remote")).contains("7", "8");
            DavitClient.Inspection in = davit.inspectRemote(img.reference(), PlatformSelector.host());
            assertThat(in.manifest().digest().toString()).isEqualTo(img.manifestDigest());
            assertThat(in.config().json()).contains("\"layers\"");
            assertThat(in.config().diffIds()).hasSize(img.layerDigests().size());
            assertThat(in.config().platform()).isNotNull();
            assertThat(davit.images()).isEmpty();
        }
    }

    @Test
    void unknownTagsAndRepositoriesAreNotFound() {
        Fixtures.pushImage(registry, "pull/known", "1");
        try (DavitClient davit = client()) {
            assertThatThrownBy(() -> davit.pull(registry.hostPort() + "/pull/known:nope", PlatformSelector.host(),
                    ProgressListener.NONE))
                    .isInstanceOf(DavitException.class)
                    .matches(e -> ((DavitException) e).kind() == DavitException.Kind.NOT_FOUND)
                    .hasMessageContaining("not found").hasMessageNotContaining("\n");
            assertThatThrownBy(() -> davit.remoteDigest(registry.hostPort() + "/no/such:1"))
                    .isInstanceOf(DavitException.class)
                    .matches(e -> ((DavitException) e).kind() == DavitException.Kind.NOT_FOUND);
        }
    }

    @Test
    void anUnreachableRegistryIsANetworkErrorAfterRetries() {
        RegistryOptions fast = RegistryOptions.builder().maxRetries(1)
                .initialBackoff(java.time.Duration.ofMillis(10)).maxBackoff(java.time.Duration.ofMillis(20)).build();
        try (DavitClient davit = DavitClient.create(ClientOptions.anonymous(dir.resolve("s"))
                .withRegistry(fast))) {
            assertThatThrownBy(() -> davit.pull("127.0.0.1:1/x/y:1", PlatformSelector.host(), ProgressListener.NONE))
                    .isInstanceOf(DavitException.class)
                    .matches(e -> ((DavitException) e).kind() == DavitException.Kind.NETWORK)
                    .hasMessageContaining("127.0.0.1:1");
        }
    }

    static List<String> concat(String first, List<String> rest) {
        List<String> all = new java.util.ArrayList<>();
        all.add(first);
        all.addAll(rest);
        return all;
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
