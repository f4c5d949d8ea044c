package dev.davit.oci.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fixtures are what they claim, as seen by independent tools (skopeo, umoci) and plain HTTP. */
class FixturesTest {
    static TestRegistry registry;

    @BeforeAll
    static void up() {
        registry = TestRegistry.start();
    }

    @AfterAll
    static void down() {
        if (registry != null) {
            registry.close();
        }
    }

    static JsonNode skopeoInspect(String reference, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Tools.SKOPEO, "--insecure-policy"));
        cmd.addAll(List.of(extra));
        cmd.addAll(List.of("inspect", "--tls-verify=false", "docker://" + reference));
        return Json.read(Tools.run(null, cmd).getBytes(StandardCharsets.UTF_8));
    }

    static byte[] skopeoRaw(String reference) {
        return Tools.run(null, List.of(Tools.SKOPEO, "--insecure-policy", "inspect", "--raw", "--tls-verify=false",
                "docker://" + reference)).getBytes(StandardCharsets.UTF_8);
    }

    /** Regular files of a directory tree: relative path to digest. */
    static Map<String, String> files(Path root) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(root.relativize(p).toString(), FileTree.digest(p));
            }
        }
        return out;
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void ociImageIsSeenBySkopeoAndUnpacksToTheClaimedFiles(@TempDir Path tmp) throws Exception {
        PushedImage image = Fixtures.pushImage(registry, "library/hello", "v1");
        assertThat(image.reference()).isEqualTo(registry.hostPort() + "/library/hello:v1");
        assertThat(image.manifestMediaType()).isEqualTo("application/vnd.oci.image.manifest.v1+json");
        assertThat(image.layerDigests()).hasSize(3);

        JsonNode inspect = skopeoInspect(image.reference());
        assertThat(inspect.path("Digest").asText()).isEqualTo(image.manifestDigest());
        assertThat(strings(inspect.path("Layers"))).isEqualTo(image.layerDigests());
        assertThat(inspect.path("Architecture").asText()).isEqualTo("amd64");
        assertThat(skopeoRaw(image.digestReference())).isEqualTo(image.manifest());
        assertThat(FileTree.digest(image.manifest())).isEqualTo(image.manifestDigest());
        assertThat(Json.read(image.manifest()).path("config").path("digest").asText()).isEqualTo(image.configDigest());

        // the layout it came from holds the same manifest, and unpacks to exactly the claimed files
        JsonNode layoutIndex = Json.read(Files.readAllBytes(image.layoutDir().resolve("index.json")));
        assertThat(layoutIndex.findValuesAsText("digest")).contains(image.manifestDigest());
        Path bundle = tmp.resolve("bundle");
        Tools.run(null, List.of(Tools.UMOCI, "unpack", "--rootless", "--image",
                image.layoutDir() + ":" + image.layoutTag(), bundle.toString()));
        Path rootfs = bundle.resolve("rootfs");
        assertThat(files(rootfs)).isEqualTo(new TreeMap<>(image.fileDigests()));
        assertThat(rootfs.resolve(Fixtures.HELLO_PATH)).hasContent(Fixtures.HELLO_TEXT.strip());
        assertThat(rootfs.resolve(Fixtures.DATA_PATH))
                .hasBinaryContent(Fixtures.randomBytes(Fixtures.DATA_SIZE, Fixtures.DATA_SEED));
        assertThat(rootfs.resolve(Fixtures.REMOVED_PATH)).doesNotExist();
    }

    @Test
    void dockerSchema2VariantHasTheSameLayers() throws Exception {
        PushedImage oci = Fixtures.pushImage(registry, "conv", "oci");
        PushedImage docker = Fixtures.pushImage(registry, "conv", "docker", Fixtures.Format.DOCKER_V2S2);
        assertThat(docker.manifestMediaType()).isEqualTo("application/vnd.docker.distribution.manifest.v2+json");
        assertThat(Json.read(docker.manifest()).path("mediaType").asText()).isEqualTo(docker.manifestMediaType());
        assertThat(docker.layerDigests()).isEqualTo(oci.layerDigests());
        assertThat(docker.manifestDigest()).isNotEqualTo(oci.manifestDigest());
        assertThat(docker.fileDigests()).isEqualTo(oci.fileDigests());
        JsonNode inspect = skopeoInspect(docker.reference());
        assertThat(inspect.path("Digest").asText()).isEqualTo(docker.manifestDigest());
        assertThat(skopeoRaw(docker.reference())).isEqualTo(docker.manifest());
    }

    @Test
    void multiArchIndexHasThreePlatformsSkopeoCanSelect() throws Exception {
        PushedIndex index = Fixtures.pushMultiArch(registry, "multi", "v1");
        assertThat(index.mediaType()).isEqualTo("application/vnd.oci.image.index.v1+json");
        assertThat(index.images()).extracting(PushedIndex.PlatformImage::platform)
                .containsExactlyElementsOf(Fixtures.PLATFORMS);
        assertThat(skopeoRaw(index.reference())).isEqualTo(index.index());
        assertThat(FileTree.digest(index.index())).isEqualTo(index.indexDigest());

        PushedIndex.PlatformImage arm64 = index.image("linux/arm64/v8");
        assertThat(arm64.variant()).isEqualTo("v8");
        JsonNode inspect = skopeoInspect(index.reference(), "--override-arch", "arm64", "--override-variant", "v8");
        // skopeo reports the index's digest as Digest, and the selected image's layers
        assertThat(inspect.path("Digest").asText()).isEqualTo(index.indexDigest());
        assertThat(strings(inspect.path("Layers"))).isEqualTo(arm64.image().layerDigests());
        assertThat(inspect.path("Architecture").asText()).isEqualTo("arm64");

        RawPush raw = new RawPush(registry, "multi");
        for (PushedIndex.PlatformImage p : index.images()) {
            assertThat(p.image().tag()).isNull();
            assertThat(p.image().reference()).isEqualTo(p.image().digestReference());
            JsonNode config = Json.read(raw.getBlob(p.image().configDigest()).orElseThrow());
            assertThat(config.path("architecture").asText()).isEqualTo(p.architecture());
            assertThat(config.path("os").asText()).isEqualTo("linux");
            assertThat(p.image().fileDigests()).containsEntry(Fixtures.ARCH_PATH,
                    FileTree.digest((p.platform() + "\n").getBytes(StandardCharsets.UTF_8)));
            // the platform's own layer holds arch.txt (a small gzip tar); the base layer is shared
            assertThat(p.image().layerDigests()).hasSize(2);
            assertThat(p.image().layerDigests().getFirst())
                    .isEqualTo(index.images().getFirst().image().layerDigests().getFirst());
        }
    }

    @Test
    void artifactKeepsItsTypeLayersAndSubject() throws Exception {
        PushedImage subject = Fixtures.pushImage(registry, "withref", "v1");
        PushedArtifact artifact = Fixtures.pushArtifact(registry, "withref", "sbom", subject);
        RawPush raw = new RawPush(registry, "withref");
        RawPush.FetchedManifest served = raw.getManifest("sbom").orElseThrow();
        assertThat(served.body()).isEqualTo(artifact.manifest());
        assertThat(served.digest()).isEqualTo(artifact.manifestDigest());

        JsonNode m = Json.read(served.body());
        assertThat(m.path("artifactType").asText()).isEqualTo(Fixtures.ARTIFACT_TYPE);
        assertThat(m.path("config").path("mediaType").asText()).isEqualTo(Fixtures.EMPTY_CONFIG_TYPE);
        assertThat(raw.getBlob(Fixtures.EMPTY_CONFIG_DIGEST)).hasValue("{}".getBytes(StandardCharsets.UTF_8));
        assertThat(m.path("subject").path("digest").asText()).isEqualTo(subject.manifestDigest());
        assertThat(artifact.subjectDigest()).isEqualTo(subject.manifestDigest());
        assertThat(artifact.files()).extracting(PushedArtifact.File::title).containsExactly("README.md", "data.bin");
        for (int i = 0; i < artifact.files().size(); i++) {
            PushedArtifact.File f = artifact.files().get(i);
            JsonNode layer = m.path("layers").get(i);
            assertThat(layer.path("mediaType").asText()).isEqualTo(f.mediaType()).startsWith("application/vnd.davit.");
            assertThat(layer.path("annotations").path("org.opencontainers.image.title").asText()).isEqualTo(f.title());
            assertThat(raw.getBlob(f.digest())).hasValue(f.content());
        }
        assertThat(skopeoRaw(artifact.reference())).isEqualTo(artifact.manifest());
        assertThat(FileTree.blobPath(artifact.layoutDir(), artifact.manifestDigest())).hasBinaryContent(
                artifact.manifest());

        PushedArtifact lone = Fixtures.pushArtifact(registry, "lone", "v1", null);
        assertThat(Json.read(lone.manifest()).has("subject")).isFalse();
        assertThat(lone.subjectDigest()).isNull();
    }

    @Test
    void largeImageIsDeterministicAndHoldsTheSeededBytes() throws Exception {
        int size = 100_000;
        PushedImage a = Fixtures.pushLargeImage(registry, "large-a", "v1", size, 3);
        PushedImage b = Fixtures.pushLargeImage(registry, "large-b", "v1", size, 3);
        PushedImage c = Fixtures.pushLargeImage(registry, "large-c", "v1", size, 4);
        assertThat(b.manifestDigest()).isEqualTo(a.manifestDigest());
        assertThat(c.layerDigests()).isNotEqualTo(a.layerDigests());
        assertThat(skopeoInspect(a.reference()).path("Digest").asText()).isEqualTo(a.manifestDigest());

        byte[] layer = new RawPush(registry, "large-a").getBlob(a.layerDigests().getFirst()).orElseThrow();
        assertThat(layer.length).isEqualTo(512 + 100_352 + 1024);
        assertThat(new String(layer, 0, 9, StandardCharsets.US_ASCII)).isEqualTo(Fixtures.LARGE_PATH);
        byte[] expected = Fixtures.randomBytes(size, 3);
        assertThat(java.util.Arrays.copyOfRange(layer, 512, 512 + size)).isEqualTo(expected);
        assertThat(a.fileDigests()).containsExactly(Map.entry(Fixtures.LARGE_PATH, FileTree.digest(expected)));

        // a real tar: umoci unpacks the layout to the one file
        Path bundle = Files.createTempDirectory("davit-large-");
        try {
            Tools.run(null, List.of(Tools.UMOCI, "unpack", "--rootless", "--image",
                    a.layoutDir() + ":" + a.layoutTag(), bundle.resolve("b").toString()));
            assertThat(files(bundle.resolve("b/rootfs"))).isEqualTo(a.fileDigests());
        } finally {
            FileTree.deleteQuietly(bundle);
        }
    }

    @Test
    void randomBytesAreAPrefixStableStream() {
        byte[] small = Fixtures.randomBytes(1000, 9);
        byte[] big = Fixtures.randomBytes(200_000, 9);
        assertThat(java.util.Arrays.copyOf(big, 1000)).isEqualTo(small);
        assertThat(Fixtures.randomBytes(1000, 10)).isNotEqualTo(small);
    }

    @Test
    void fixturesPushToAuthenticatedRegistries() throws Exception {
        try (TestRegistry basic = TestRegistry.builder().basicAuth().start();
                TestRegistry token = TestRegistry.builder().tokenAuth().start()) {
            for (TestRegistry r : List.of(basic, token)) {
                PushedImage image = Fixtures.pushImage(r, "private/app", "v1");
                PushedImage large = Fixtures.pushLargeImage(r, "private/big", "v1", 10_000, 1);
                PushedArtifact artifact = Fixtures.pushArtifact(r, "private/app", "art", image);
                // skopeo pushed the image with the credentials, RawPush the others; each was read back with them
                assertThat(large.fileDigests()).containsKey(Fixtures.LARGE_PATH);
                byte[] raw = Tools.run(null, List.of(Tools.SKOPEO, "--insecure-policy", "inspect", "--raw",
                        "--tls-verify=false", "--creds", r.credentials(), "docker://" + artifact.reference()))
                        .getBytes(StandardCharsets.UTF_8);
                assertThat(raw).isEqualTo(artifact.manifest());
            }
            assertThat(token.tokenServer().tokenRequests()).isPositive();
        }
    }
}
