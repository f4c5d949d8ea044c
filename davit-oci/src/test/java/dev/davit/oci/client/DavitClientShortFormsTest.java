package dev.davit.oci.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.bundle.ExportOptions;
import dev.davit.oci.bundle.ImportOptions;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DavitClient}'s short forms (no progress listener, this machine's platform, default options) do what the
 * long ones do, against a real docker-registry; and a null argument is refused naming the method, the parameter and
 * the fix, never a bare NullPointerException from deep inside.
 */
class DavitClientShortFormsTest {
    @TempDir
    Path tmp;

    @Test
    void theShortFormsBuildPushPullCopyUnpackAndMoveArtifactsAndBundles() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/etc"));
        Files.writeString(src.resolve("greeting"), "hello\n");
        try (TestRegistry registry = TestRegistry.start();
             DavitClient a = DavitClient.create(ClientOptions.anonymous(tmp.resolve("a")));
             DavitClient b = DavitClient.create(ClientOptions.anonymous(tmp.resolve("b")))) {
            String ref = registry.hostPort() + "/short/app:1";
            a.build(tmp.resolve("src"), ref, BuildOptions.defaults());
            assertThat(a.push(ref, null).blobs()).isNotEmpty();

            assertThat(b.pull(ref).downloadedBytes()).isPositive();
            List<Object> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
            assertThat(b.pull(ref, heard::add).reference().toString()).isEqualTo(ref);
            assertThat(heard).isNotEmpty();
            assertThat(b.inspectRemote(ref).descriptor().digest()).isEqualTo(b.find(ref).orElseThrow().descriptor()
                    .digest());
            assertThat(b.copy(ref, "oci:" + tmp.resolve("layout") + ":app").pulled()).isNotNull();
            assertThat(Files.readString(tmp.resolve("layout/index.json"))).contains("app");
            b.unpack(ref, tmp.resolve("rootfs"));
            assertThat(Files.readString(tmp.resolve("rootfs/etc/greeting"))).isEqualTo("hello\n");

            String art = registry.hostPort() + "/short/files:1";
            a.artifacts().push(art, "application/vnd.davit.test.v1",
                    List.of(Artifacts.FileSpec.parse(src.resolve("greeting").toString())));
            assertThat(b.artifacts().pull(art, tmp.resolve("files")).files()).hasSize(1);
            assertThat(Files.readString(tmp.resolve("files/greeting"))).isEqualTo("hello\n");

            Path bundle = tmp.resolve("app.tar");
            a.bundles().export(List.of(ref), bundle, ExportOptions.defaults());
            try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("c")))) {
                assertThat(c.bundles().importBundle(bundle, ImportOptions.defaults()).refs()).hasSize(1);
                assertThat(c.find(ref)).isPresent();
            }
        }
    }

    @Test
    void aNullArgumentIsRefusedNamingTheMethodTheParameterAndTheFix() {
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("s")))) {
            assertThatThrownBy(() -> c.artifacts().pull("127.0.0.1:1/x/y:1", null, Set.of(), ProgressListener.NONE))
                    .isInstanceOf(NullPointerException.class)
                    .hasMessage("DavitClient.artifacts().pull: dir is null; give the directory to write the files"
                            + " into");
            assertThatThrownBy(() -> c.pull(null)).isInstanceOf(NullPointerException.class)
                    .hasMessage("DavitClient.pull: reference is null; give an image reference, e.g. alpine:3.20");
            assertThatThrownBy(() -> c.pull("alpine:3.20", null, ProgressListener.NONE))
                    .hasMessageStartingWith("DavitClient.pull: platforms is null; give PlatformSelector.host()");
            assertThatThrownBy(() -> c.build(tmp, "app:1", null))
                    .hasMessageStartingWith("DavitClient.build: options is null; give BuildOptions.defaults()");
            assertThatThrownBy(() -> c.unpack("app:1", tmp.resolve("r"), PlatformSelector.host(), null))
                    .hasMessageStartingWith("DavitClient.unpack: unpackOptions is null;");
            assertThatThrownBy(() -> c.find(null)).hasMessageStartingWith("DavitClient.find: reference is null;");
            assertThatThrownBy(() -> c.logout(null)).hasMessageStartingWith("DavitClient.logout: registryHost is"
                    + " null;");
            assertThatThrownBy(() -> c.bundles().export(List.of("a:1"), null, ExportOptions.defaults()))
                    .hasMessageStartingWith("DavitClient.bundles().export: file is null;");
            assertThatThrownBy(() -> c.artifacts().push("127.0.0.1:1/x/y:1", "application/x", null, Map.of(), null))
                    .hasMessageStartingWith("DavitClient.artifacts().push: files is null;");
        }
        assertThatThrownBy(() -> DavitClient.create(null)).hasMessageStartingWith("DavitClient.create: options is"
                + " null;");
    }
}
