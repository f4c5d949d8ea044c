package dev.davit.oci.build;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Images davit builds, read by independent tools: umoci unpacks them straight from the store (which is an OCI
 * layout), skopeo inspects and copies them, GNU tar extracts a layer; and a build on top of a base pulled from a
 * real registry.
 */
class BuildInteropTest {
    static final String NAME = "127.0.0.1:5000/interop/app:1";

    static TestRegistry registry;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        Tools.assumeAvailable(Tools.UMOCI, Tools.SKOPEO, "tar");
        registry = TestRegistry.start();
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
    }

    DavitClient client() {
        return DavitClient.create(ClientOptions.anonymous(tmp.resolve("store")));
    }

    static BuildOptions options(Compression c) {
        return BuildOptions.builder().compression(c).cmd(List.of("/bin/run.sh", "serve")).env("MODE=prod")
                .label("org.example.built-by", "davit").workdir("/srv").build();
    }

    /**
     * What a tree holds, comparable across copies: path to {@code d MODE}, {@code f MODE DIGEST} or
     * {@code l TARGET}, with modes as octal permission bits.
     */
    static Map<String, String> describe(Path root) {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(p -> !p.equals(root)).toList()) {
                String rel = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    out.put(rel, "l " + Files.readSymbolicLink(p));
                    continue;
                }
                int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.put(rel, "d " + Integer.toOctalString(mode));
                } else {
                    out.put(rel, "f " + Integer.toOctalString(mode) + " " + HexFormat.of().formatHex(
                            Digest.Algorithm.SHA256.newMessageDigest().digest(Files.readAllBytes(p))));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    static Object inode(Path p) throws IOException {
        return Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS);
    }

    static JsonNode json(String text) {
        try {
            return Json.read(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Compression.class, names = {"GZIP", "NONE"})
    void umociUnpacksTheStoreAndGetsTheSameTree(Compression c) throws Exception {
        Path src = LayerFiles.sampleTree(tmp.resolve("src"), tmp.resolve("outside"));
        BuildResult r;
        try (DavitClient davit = client()) {
            r = davit.build(src, NAME, options(c), ProgressListener.NONE);
        }
        Path store = tmp.resolve("store");
        Path bundle = tmp.resolve("bundle");
        Tools.run(Tools.UMOCI, "unpack", "--rootless", "--image", store + ":" + NAME, bundle.toString());
        Path rootfs = bundle.resolve("rootfs");
        assertThat(describe(rootfs)).isEqualTo(describe(src));
        assertThat(inode(rootfs.resolve("data/b.bin"))).as("hardlink").isEqualTo(inode(rootfs.resolve("data/a.bin")));
        assertThat(Files.getLastModifiedTime(rootfs.resolve("hello.txt")).toMillis()).isZero();
        JsonNode runtime = json(Files.readString(bundle.resolve("config.json")));
        assertThat(runtime.at("/process/args").toString()).isEqualTo("[\"/bin/run.sh\",\"serve\"]");
        assertThat(runtime.at("/process/cwd").asText()).isEqualTo("/srv");
        assertThat(runtime.at("/process/env").toString()).contains("MODE=prod");

        JsonNode inspect = json(Tools.run(Tools.SKOPEO, "inspect", "oci:" + store + ":" + NAME));
        assertThat(inspect.get("Digest").asText()).isEqualTo(r.manifest().digest().toString());
        assertThat(inspect.at("/Labels/org.example.built-by").asText()).isEqualTo("davit");
        assertThat(inspect.at("/Env").toString()).isEqualTo("[\"MODE=prod\"]");
        assertThat(inspect.at("/Layers/0").asText()).isEqualTo(r.layer().descriptor().digest().toString());
        JsonNode config = json(Tools.run(Tools.SKOPEO, "inspect", "--config", "oci:" + store + ":" + NAME));
        assertThat(config.at("/config/Cmd").toString()).isEqualTo("[\"/bin/run.sh\",\"serve\"]");
        assertThat(config.at("/rootfs/diff_ids/0").asText()).isEqualTo(r.layer().diffId().toString());
    }

    @Test
    void skopeoCopiesItAndReadsZstd() throws Exception {
        Path src = LayerFiles.sampleTree(tmp.resolve("src"), tmp.resolve("outside"));
        try (DavitClient davit = client()) {
            davit.build(src, NAME, options(Compression.ZSTD), ProgressListener.NONE);
        }
        // umoci 0.4 cannot read zstd layers: skopeo decompresses ours and writes gzip into another layout
        Path other = tmp.resolve("other");
        Tools.run(Tools.SKOPEO, "--insecure-policy", "copy", "--quiet", "--dest-compress-format", "gzip",
                "--dest-compress", "oci:" + tmp.resolve("store") + ":" + NAME, "oci:" + other + ":copied");
        Path bundle = tmp.resolve("bundle");
        Tools.run(Tools.UMOCI, "unpack", "--rootless", "--image", other + ":copied", bundle.toString());
        assertThat(describe(bundle.resolve("rootfs"))).isEqualTo(describe(src));
    }

    @Test
    void gnuTarExtractsTheLayer() throws Exception {
        Path src = LayerFiles.sampleTree(tmp.resolve("src"), tmp.resolve("outside"));
        BuildResult r;
        try (DavitClient davit = client()) {
            r = davit.build(src, NAME, options(Compression.GZIP), ProgressListener.NONE);
        }
        Path out = Files.createDirectories(tmp.resolve("extracted"));
        Tools.run("tar", "-xzpf", tmp.resolve("store").resolve("blobs/sha256")
                .resolve(r.layer().descriptor().digest().hex()).toString(), "-C", out.toString());
        assertThat(describe(out)).isEqualTo(describe(src));
        assertThat(inode(out.resolve("data/b.bin"))).isEqualTo(inode(out.resolve("data/a.bin")));
    }

    @Test
    void buildsOnABasePulledFromARegistry() throws Exception {
        PushedImage base = Fixtures.pushImage(registry, "build/base", "1");
        Path src = LayerFiles.sampleTree(tmp.resolve("src"), tmp.resolve("outside"));
        BuildResult r;
        dev.davit.oci.manifest.ImageConfiguration baseConfig;
        try (DavitClient davit = client()) {
            davit.pull(base.reference(), PlatformSelector.host(), ProgressListener.NONE);
            baseConfig = davit.inspectLocal(base.reference()).config();
            r = davit.build(src, NAME, options(Compression.GZIP).toBuilder().base(base.reference())
                    .env("DAVIT_FIXTURE=overridden").build(), ProgressListener.NONE);
            OciStore store = davit.store();
            assertThat(store.fsck(false).clean()).isTrue();
            ImageManifest m = (ImageManifest) store.readManifest(r.manifest());
            assertThat(m.layers().stream().map(d -> d.digest().toString()).toList())
                    .containsExactlyElementsOf(concat(base.layerDigests(), r.layer().descriptor().digest().toString()));
        }
        assertThat(r.layers().stream().map(Descriptor::digest).map(Digest::toString).toList())
                .containsExactlyElementsOf(concat(base.layerDigests(), r.layer().descriptor().digest().toString()));
        List<String> baseDiffIds = baseConfig.diffIds();
        assertThat(r.diffIds().stream().map(Digest::toString).toList())
                .containsExactlyElementsOf(concat(baseDiffIds, r.layer().diffId().toString()));
        assertThat(baseDiffIds).hasSize(3);
        assertThat(r.baseManifest().digest().toString()).isEqualTo(base.manifestDigest());

        Path store = tmp.resolve("store");
        JsonNode config = json(Tools.run(Tools.SKOPEO, "inspect", "--config", "oci:" + store + ":" + NAME));
        assertThat(baseConfig.defaults().env()).contains("DAVIT_FIXTURE=image");
        assertThat(config.at("/config/Env").toString()).contains("\"DAVIT_FIXTURE=overridden\"", "\"MODE=prod\"")
                .doesNotContain("DAVIT_FIXTURE=image");
        assertThat(config.at("/history").size()).isEqualTo(baseConfig.history().size() + 1);

        Path bundle = tmp.resolve("bundle");
        Tools.run(Tools.UMOCI, "unpack", "--rootless", "--image", store + ":" + NAME, bundle.toString());
        Path rootfs = bundle.resolve("rootfs");
        assertThat(Files.readString(rootfs.resolve(Fixtures.HELLO_PATH))).as("our layer wins").isEqualTo("hello\n");
        assertThat(Files.readAllBytes(rootfs.resolve(Fixtures.DATA_PATH)))
                .isEqualTo(Fixtures.randomBytes(Fixtures.DATA_SIZE, Fixtures.DATA_SEED));
        assertThat(rootfs.resolve(Fixtures.REMOVED_PATH)).doesNotExist();
        assertThat(Files.readString(rootfs.resolve("etc/app.conf"))).isEqualTo("key=value\n");
        assertThat(Files.readSymbolicLink(rootfs.resolve("etc/link.conf")).toString()).isEqualTo("app.conf");
    }

    static List<String> concat(List<String> first, String last) {
        return Stream.concat(first.stream(), Stream.of(last)).toList();
    }
}
