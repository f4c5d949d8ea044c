package dev.davit.oci.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.Json;
import dev.davit.oci.testkit.RawPush;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Artifacts (arbitrary files) pushed to and pulled from a real registry. */
class ArtifactIntegrationTest {
    static TestRegistry registry;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        registry = TestRegistry.start();
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
    }

    DavitClient client(String store) {
        return DavitClient.create(ClientOptions.anonymous(dir.resolve(store)));
    }

    @Test
    void pushThenPullFilesByTitle() throws Exception {
        Path kernel = Files.write(dir.resolve("vmlinux"), new byte[] {1, 2, 3, 4, 5});
        Path catalog = Files.writeString(dir.resolve("catalog.json"), "{\"environments\":[]}");
        String ref = registry.hostPort() + "/art/microvm:1";
        try (DavitClient davit = client("a")) {
            PushResult r = davit.artifacts().push(ref, "application/vnd.davit.microvm.v1",
                    List.of(Artifacts.FileSpec.parse(kernel + ":application/vnd.davit.kernel"),
                            Artifacts.FileSpec.parse(catalog.toString())),
                    Map.of("org.opencontainers.image.description", "test vm"), ProgressListener.NONE);
            assertThat(r.blobs()).hasSize(3);
        }
        JsonNode m = Json.read(run("skopeo", "inspect", "--tls-verify=false", "--raw", "docker://" + ref)
                .getBytes(StandardCharsets.UTF_8));
        assertThat(m.get("artifactType").asText()).isEqualTo("application/vnd.davit.microvm.v1");
        assertThat(m.at("/config/mediaType").asText()).isEqualTo("application/vnd.oci.empty.v1+json");
        assertThat(m.at("/layers/0/annotations/org.opencontainers.image.title").asText()).isEqualTo("vmlinux");
        assertThat(m.at("/layers/0/mediaType").asText()).isEqualTo("application/vnd.davit.kernel");
        assertThat(m.at("/annotations/org.opencontainers.image.description").asText()).isEqualTo("test vm");

        try (DavitClient other = client("b")) {
            Path out = dir.resolve("out");
            var pulled = other.artifacts().pull(ref, out, Set.of(), ProgressListener.NONE);
            assertThat(pulled.files()).extracting(Artifacts.Extracted::title).containsExactly("vmlinux", "catalog.json");
            assertThat(Files.readAllBytes(out.resolve("vmlinux"))).isEqualTo(new byte[] {1, 2, 3, 4, 5});
            assertThat(Files.readString(out.resolve("catalog.json"))).isEqualTo("{\"environments\":[]}");
            Path only = dir.resolve("only");
            var one = other.artifacts().pull(ref, only, Set.of("application/vnd.davit.kernel"), ProgressListener.NONE);
            assertThat(one.files()).extracting(Artifacts.Extracted::title).containsExactly("vmlinux");
            try (var listing = Files.list(only)) {
                assertThat(listing.map(p -> p.getFileName().toString())).containsExactly("vmlinux");
            }
        }
    }

    @Test
    void namesThatEscapeTheDirectoryAreRefused() throws Exception {
        RawPush raw = new RawPush(registry, "art/evil");
        byte[] payload = "pwned".getBytes(StandardCharsets.UTF_8);
        String blob = raw.pushBlob(payload);
        String empty = raw.pushBlob("{}".getBytes(StandardCharsets.UTF_8));
        for (String name : new String[] {"../escape", "/etc/evil", "a/b", ".."}) {
            String manifest = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                    + "\"artifactType\":\"application/vnd.x\",\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\","
                    + "\"digest\":\"" + empty + "\",\"size\":2},\"layers\":[{\"mediaType\":\"text/plain\",\"digest\":\""
                    + blob + "\",\"size\":5,\"annotations\":{\"org.opencontainers.image.title\":"
                    + Json.mapper().writeValueAsString(name) + "}}]}";
            String tag = "t" + Math.abs(name.hashCode());
            raw.pushManifest(tag, "application/vnd.oci.image.manifest.v1+json", manifest.getBytes(StandardCharsets.UTF_8));
            Path out = dir.resolve("jail").resolve(tag);
            try (DavitClient davit = client("s")) {
                assertThatThrownBy(() -> davit.artifacts().pull(registry.hostPort() + "/art/evil:" + tag, out, Set.of(),
                        ProgressListener.NONE))
                        .isInstanceOf(DavitException.class)
                        .hasMessageContaining("would escape the target directory");
            }
            assertThat(out).doesNotExist();
        }
        assertThat(dir.resolve("escape")).doesNotExist();
        assertThat(Digest.isValid(blob)).isTrue();
    }

    @Test
    void badInputIsAUsageError() {
        try (DavitClient davit = client("c")) {
            assertThatThrownBy(() -> davit.artifacts().push(registry.hostPort() + "/art/x:1", "application/vnd.x",
                    List.of(Artifacts.FileSpec.parse(dir.resolve("missing").toString())), Map.of(), ProgressListener.NONE))
                    .isInstanceOf(DavitException.class).hasMessageContaining("does not exist");
            assertThatThrownBy(() -> davit.artifacts().push(registry.hostPort() + "/art/x:1", "notatype",
                    List.of(), Map.of(), ProgressListener.NONE))
                    .isInstanceOf(DavitException.class).hasMessageContaining(
                            "the artifactType of Images.pushArtifact");
            assertThat(davit.images()).isEmpty();
        }
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(err).isZero();
        return out;
    }
}
