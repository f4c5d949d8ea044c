package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Images}, the facade's door to the store and registries, against a real registry on loopback: what each call
 * returns is what the store and the registry then hold.
 */
class ImagesTest {
    private static final String LOCAL = "localhost/test/tiny:1";

    @TempDir
    Path tmp;

    private Davit open(Path home) {
        return Davit.builder().home(home).clientOptions(ClientOptions.anonymous(tmp.resolve("ignored"))).build();
    }

    @Test
    void imagesMoveBetweenTheStoreARegistryAndABundle() throws Exception {
        Path home = tmp.resolve("home");
        Path rootfs = Files.createDirectories(tmp.resolve("src/etc"));
        Files.writeString(rootfs.resolve("motd"), "tiny\n");
        try (TestRegistry registry = TestRegistry.start(); Davit davit = open(home)) {
            Images images = davit.images();
            Images.Image local = images.build(tmp.resolve("src"), LOCAL);
            assertThat(images.find(LOCAL)).contains(local);
            // the same tree, the same image; checked against davit's own client, which the CLI uses
            try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("other")))) {
                c.build(tmp.resolve("src"), LOCAL, BuildOptions.defaults(), ProgressListener.NONE);
                assertThat(c.find(LOCAL).orElseThrow().descriptor().digest().toString()).isEqualTo(local.digest());
            }
            assertThat(local.digest()).startsWith("sha256:");
            assertThat(images.list()).extracting(Images.Image::reference).contains(LOCAL);

            String remote = registry.hostPort() + "/team/tiny:1";
            Images.Image pushed = images.push(LOCAL, remote);
            assertThat(pushed.digest()).isEqualTo(local.digest());
            assertThat(pushed.reference()).isEqualTo(remote);

            Images.Image copied = images.copy(remote, registry.hostPort() + "/team/copy:1");
            assertThat(copied.digest()).isEqualTo(local.digest());

            assertThat(images.remove(LOCAL)).isTrue();
            assertThat(images.remove(LOCAL)).isFalse();
            assertThat(images.find(LOCAL)).isEmpty();
            Images.Image pulled = images.pull(registry.hostPort() + "/team/copy:1");
            assertThat(pulled.digest()).isEqualTo(local.digest());
            assertThat(images.find(registry.hostPort() + "/team/copy:1")).contains(pulled);

            Path notes = Files.writeString(tmp.resolve("notes.txt"), "hello\n");
            String artifact = registry.hostPort() + "/team/notes:1";
            Images.Image a = images.pushArtifact(artifact, "application/vnd.example.notes", List.of(notes));
            assertThat(a.digest()).startsWith("sha256:");
            List<Path> files = images.pullArtifact(artifact, tmp.resolve("out"));
            assertThat(files).hasSize(1);
            assertThat(files.get(0)).hasFileName("notes.txt").hasContent("hello");

            Path bundle = tmp.resolve("tiny.tar");
            images.exportBundle(bundle, List.of(registry.hostPort() + "/team/copy:1"));
            try (Davit elsewhere = open(tmp.resolve("other-home"))) {
                List<Images.Image> imported = elsewhere.images().importBundle(bundle);
                assertThat(imported).extracting(Images.Image::digest).containsExactly(local.digest());
                assertThat(elsewhere.images().list()).extracting(Images.Image::digest).contains(local.digest());
            }
        }
    }

    @Test
    void badCallsAreOneLineErrors() {
        Path home = tmp.resolve("home");
        Images images;
        try (Davit davit = open(home)) {
            images = davit.images();
            assertThatThrownBy(() -> davit.images().pull("Not A Reference"))
                    .isInstanceOf(DavitException.class).hasMessageContaining("invalid reference 'Not A Reference'");
            assertThatThrownBy(() -> davit.images().pull(null))
                    .isInstanceOf(NullPointerException.class).hasMessageContaining("Images.pull: reference is null");
            assertThatThrownBy(() -> davit.images().pushArtifact("localhost/x/y:1", "a/b", List.of()))
                    .isInstanceOf(DavitException.class).hasMessage("an artifact needs at least one file");
            assertThatThrownBy(() -> davit.images().exportBundle(tmp.resolve("b.tar"), List.of()))
                    .isInstanceOf(DavitException.class).hasMessage("nothing to export; name at least one reference in the store");
        }
        assertThatThrownBy(images::list).isInstanceOf(DavitException.class).hasMessageContaining("closed");
    }

    @Test
    void aReferencesRegistryIsNamedAsAnAllowListNamesIt() {
        assertThat(Images.registry("alpine:3.20")).isEqualTo("docker.io");
        assertThat(Images.registry("docker.io/library/alpine:3.20")).isEqualTo("docker.io");
        assertThat(Images.registry("localhost:5000/team/app:1")).isEqualTo("localhost:5000");
        assertThat(Images.registry("ghcr.io/org/tool@sha256:" + "a".repeat(64))).isEqualTo("ghcr.io");
        assertThatThrownBy(() -> Images.registry("Not A Reference")).isInstanceOf(DavitException.class)
                .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE);
    }
}
