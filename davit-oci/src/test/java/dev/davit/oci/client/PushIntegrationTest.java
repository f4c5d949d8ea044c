package dev.davit.oci.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.registry.RegistryOptions;
import dev.davit.oci.registry.Uploads;
import dev.davit.oci.testkit.Fault;
import dev.davit.oci.testkit.FaultProxy;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.PushedIndex;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Push and copy against real registries; skopeo checks what davit wrote. */
class PushIntegrationTest {
    static TestRegistry source;
    static TestRegistry other;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        source = TestRegistry.start();
        other = TestRegistry.start();
    }

    @AfterAll
    static void stop() {
        if (source != null) {
            source.close();
        }
        if (other != null) {
            other.close();
        }
    }

    DavitClient client(Uploads.PushOptions push) {
        return DavitClient.create(ClientOptions.anonymous(dir.resolve("store")).withPush(push)
                .withRegistry(RegistryOptions.builder().initialBackoff(Duration.ofMillis(20)).build()));
    }

    DavitClient client() {
        return client(Uploads.PushOptions.defaults());
    }

    @Test
    void pushToAnotherRepositoryOfTheSameRegistryMountsEveryBlob() throws Exception {
        PushedImage img = Fixtures.pushImage(source, "push/src", "1");
        String target = source.hostPort() + "/push/dst:copied";
        try (DavitClient davit = client()) {
            davit.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE);
            PushResult r = davit.push(img.reference(), target, ProgressListener.NONE);
            assertThat(r.top().digest().toString()).isEqualTo(img.manifestDigest());
            assertThat(r.blobs()).extracting(PushResult.BlobPush::how).containsOnly(PushResult.How.MOUNTED);
            assertThat(r.uploadedBytes()).isZero();
        }
        assertThat(run("skopeo", "inspect", "--tls-verify=false", "--raw", "docker://" + target))
                .isEqualTo(new String(img.manifest(), java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void pushToAnotherRegistryUploadsThenSkipsAndSkopeoCopiesIt() throws Exception {
        PushedImage img = Fixtures.pushImage(source, "push/cross", "1", Fixtures.Format.DOCKER_V2S2);
        String target = other.hostPort() + "/push/cross:1";
        try (DavitClient davit = client()) {
            davit.pull(img.reference(), PlatformSelector.host(), ProgressListener.NONE);
            PushResult r = davit.push(img.reference(), target, ProgressListener.NONE);
            assertThat(r.blobs()).extracting(PushResult.BlobPush::how).containsOnly(PushResult.How.UPLOADED);
            assertThat(r.top().digest().toString()).isEqualTo(img.manifestDigest());
            PushResult again = davit.push(img.reference(), target, ProgressListener.NONE);
            assertThat(again.blobs()).extracting(PushResult.BlobPush::how).containsOnly(PushResult.How.EXISTED);
        }
        Path out = dir.resolve("skopeo-out");
        run("skopeo", "copy", "--src-tls-verify=false", "docker://" + target, "oci:" + out + ":t");
        assertThat(out.resolve("index.json")).exists();
    }

    @Test
    void anIndexIsPushedChildrenFirstAndSharedBlobsOnce() throws Exception {
        PushedIndex idx = Fixtures.pushMultiArch(source, "push/multi", "1");
        try (FaultProxy proxy = FaultProxy.start(other); DavitClient davit = client()) {
            davit.pull(idx.reference(), PlatformSelector.allPlatforms(), ProgressListener.NONE);
            String target = proxy.hostPort() + "/push/multi:1";
            PushResult r = davit.push(idx.reference(), target, ProgressListener.NONE);
            assertThat(r.top().digest().toString()).isEqualTo(idx.indexDigest());
            assertThat(r.manifests()).hasSize(4);
            assertThat(r.manifests().get(3).digest().toString()).isEqualTo(idx.indexDigest());
            Map<String, Long> putsPerDigest = proxy.requests("PUT", Fault.UPLOAD_PATH).stream()
                    .collect(Collectors.groupingBy(q -> q.query() == null ? "" : q.query().replaceAll(".*digest=", ""),
                            Collectors.counting()));
            assertThat(putsPerDigest.values()).allMatch(n -> n == 1);
            assertThat(putsPerDigest).hasSize(r.blobs().size());
            assertThat(run("skopeo", "inspect", "--tls-verify=false", "--raw", "docker://" + other.hostPort()
                    + "/push/multi:1")).isEqualTo(new String(idx.index(), java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    @Test
    void aFailedChunkResumesFromTheRegistrysRange() {
        PushedImage big = Fixtures.pushLargeImage(source, "push/range", "1", 5 << 20, 33);
        List<ProgressEvent> events = new CopyOnWriteArrayList<>();
        try (FaultProxy proxy = FaultProxy.start(other);
             DavitClient davit = client(new Uploads.PushOptions(1 << 20, 1 << 20))) {
            davit.pull(big.reference(), PlatformSelector.host(), ProgressListener.NONE);
            // the third chunk fails before the registry sees it; the session stands at 2 MiB
            proxy.add(Fault.serviceUnavailable().on("PATCH", Fault.UPLOAD_PATH).afterFirst(2).times(1));
            PushResult r = davit.push(big.reference(), proxy.hostPort() + "/push/range:1", events::add);
            assertThat(r.top().digest().toString()).isEqualTo(big.manifestDigest());
            assertThat(proxy.requests("GET", Fault.UPLOAD_PATH)).isNotEmpty();
            assertThat(events).anyMatch(e -> e instanceof ProgressEvent.Retry rt
                    && rt.message().contains("resuming the upload at byte " + (2 << 20) + " (the registry's Range)"));
            assertThat(events).noneMatch(e -> e instanceof ProgressEvent.Retry rt && rt.message().contains("restarting"));
        }
    }

    @Test
    void largeBlobsGoInChunksAndAnInterruptedChunkResumes() {
        PushedImage big = Fixtures.pushLargeImage(source, "push/big", "1", 5 << 20, 31);
        List<ProgressEvent> events = new CopyOnWriteArrayList<>();
        try (FaultProxy proxy = FaultProxy.start(other);
             DavitClient davit = client(new Uploads.PushOptions(1 << 20, 1 << 20))) {
            davit.pull(big.reference(), PlatformSelector.host(), ProgressListener.NONE);
            // the registry takes the second chunk, but the client never hears back
            proxy.add(Fault.dropResponse().on("PATCH", Fault.UPLOAD_PATH).times(1));
            PushResult r = davit.push(big.reference(), proxy.hostPort() + "/push/big:1", events::add);
            assertThat(r.top().digest().toString()).isEqualTo(big.manifestDigest());
            List<FaultProxy.Request> patches = proxy.requests("PATCH", Fault.UPLOAD_PATH);
            assertThat(patches.size()).isGreaterThanOrEqualTo(6);
            assertThat(proxy.requests("GET", Fault.UPLOAD_PATH)).as("upload status asked after the lost chunk")
                    .isNotEmpty();
            assertThat(events).anyMatch(e -> e instanceof ProgressEvent.Retry rt
                    && (rt.message().contains("resuming the upload") || rt.message().contains("restarting")));
        }
        try (DavitClient check = DavitClient.create(ClientOptions.anonymous(dir.resolve("check")))) {
            var pulled = check.pull(other.hostPort() + "/push/big:1", PlatformSelector.host(), ProgressListener.NONE);
            assertThat(pulled.target().digest().toString()).isEqualTo(big.manifestDigest());
            assertThat(check.fsck(false).clean()).isTrue();
        }
    }

    @Test
    void aRegistryThatRefusesChunksGetsOneRequest() {
        PushedImage big = Fixtures.pushLargeImage(source, "push/nochunks", "1", 3 << 20, 32);
        List<ProgressEvent> events = new CopyOnWriteArrayList<>();
        try (FaultProxy proxy = FaultProxy.start(other);
             DavitClient davit = client(new Uploads.PushOptions(1 << 20, 1 << 20))) {
            davit.pull(big.reference(), PlatformSelector.host(), ProgressListener.NONE);
            proxy.add(Fault.status(405).on("PATCH", Fault.UPLOAD_PATH).always());
            PushResult r = davit.push(big.reference(), proxy.hostPort() + "/push/nochunks:1", events::add);
            assertThat(r.top().digest().toString()).isEqualTo(big.manifestDigest());
            assertThat(events).anyMatch(e -> e instanceof ProgressEvent.Retry rt && rt.message().contains("refused chunked"));
        }
    }

    @Test
    void copyBetweenRegistriesAndLayouts() throws Exception {
        PushedIndex idx = Fixtures.pushMultiArch(source, "copy/multi", "1");
        try (DavitClient davit = client()) {
            // registry -> registry, all platforms, streamed
            var all = davit.copy(idx.reference(), other.hostPort() + "/copy/multi:all", PlatformSelector.allPlatforms(),
                    ProgressListener.NONE);
            assertThat(all.pushed().top().digest().toString()).isEqualTo(idx.indexDigest());
            // one platform
            var arm = davit.copy(idx.reference(), other.hostPort() + "/copy/multi:arm64",
                    PlatformSelector.of(dev.davit.oci.manifest.Platform.parse("linux/arm64")), ProgressListener.NONE);
            assertThat(arm.pushed().top().digest().toString()).isEqualTo(idx.image("linux/arm64/v8").image().manifestDigest());
            // registry -> OCI layout, read by skopeo
            Path layout = dir.resolve("layout");
            var toLayout = davit.copy(idx.reference(), "oci:" + layout + ":v1", PlatformSelector.allPlatforms(),
                    ProgressListener.NONE);
            assertThat(toLayout.pulled().target().digest().toString()).isEqualTo(idx.indexDigest());
            assertThat(run("skopeo", "inspect", "--raw", "oci:" + layout + ":v1"))
                    .isEqualTo(new String(idx.index(), java.nio.charset.StandardCharsets.UTF_8));
            // OCI layout (written by umoci) -> registry
            PushedImage img = Fixtures.pushImage(source, "copy/fromlayout", "1");
            var fromLayout = davit.copy("oci:" + img.layoutDir() + ":" + img.layoutTag(),
                    other.hostPort() + "/copy/fromlayout:1", PlatformSelector.host(), ProgressListener.NONE);
            assertThat(run("skopeo", "inspect", "--tls-verify=false", "docker://" + other.hostPort()
                    + "/copy/fromlayout:1")).contains(fromLayout.pushed().top().digest().toString());
            assertThatThrownBy(() -> davit.copy("oci:" + dir.resolve("nope"), other.hostPort() + "/x:1",
                    PlatformSelector.host(), ProgressListener.NONE))
                    .isInstanceOf(DavitException.class).hasMessageContaining("is not an OCI image layout");
        }
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes());
        String err = new String(p.getErrorStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(err).isZero();
        return out;
    }

    static boolean exists(Path p) {
        return Files.exists(p);
    }
}
