package dev.davit.oci.build;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.ManifestParser;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageBuilderTest {
    static final String NAME = "registry.example/team/app:1";
    static final String BASE = "registry.example/base/os:3";

    @TempDir
    Path tmp;
    OciStore store;
    Path src;

    @BeforeEach
    void setUp() {
        store = OciStore.open(tmp.resolve("store"));
        src = LayerFiles.sampleTree(tmp.resolve("src"), tmp.resolve("outside"));
    }

    BuildResult build(BuildOptions o) {
        return build(store, src, o);
    }

    static BuildResult build(OciStore store, Path dir, BuildOptions o) {
        return new ImageBuilder(store).build(dir, Reference.parse(NAME), o, ProgressListener.NONE);
    }

    JsonNode json(Descriptor d) {
        try {
            return Json.read(store.readBlob(d.digest(), 1 << 20));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void assertKeysSorted(JsonNode n) {
        if (n.isObject()) {
            List<String> keys = new ArrayList<>();
            for (Iterator<String> it = n.fieldNames(); it.hasNext();) {
                keys.add(it.next());
            }
            assertThat(keys).isSorted();
        }
        n.forEach(ImageBuilderTest::assertKeysSorted);
    }

    @Test
    void buildsAnOciImageAndNamesIt() {
        List<String> phases = new ArrayList<>();
        BuildOptions o = BuildOptions.builder().cmd(List.of("/bin/run.sh", "--flag")).env("A=1").workdir("/srv")
                .user("1000:1000").label("org.example.team", "core").exposedPort("8080").build();
        BuildResult r = new ImageBuilder(store).build(src, Reference.parse(NAME), o, e -> {
            if (e instanceof ProgressEvent.Phase p) {
                phases.add(p.name());
            }
        });
        assertThat(phases).containsExactly("building layer", "writing config and manifest", "done");
        assertThat(r.reference().toString()).isEqualTo(NAME);
        assertThat(r.layers()).containsExactly(r.layer().descriptor());
        assertThat(r.diffIds()).containsExactly(r.layer().diffId());
        assertThat(r.platform()).isEqualTo(Platform.host().toString());
        assertThat(r.base()).isNull();

        byte[] manifestBytes = store.readBlob(r.manifest().digest(), 1 << 20);
        ImageManifest m = (ImageManifest) ManifestParser.parse(manifestBytes, null);
        assertThat(m.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
        assertThat(m.config()).isEqualTo(r.config());
        assertThat(m.config().mediaType()).isEqualTo(MediaTypes.OCI_CONFIG);
        assertThat(m.layers()).containsExactly(r.layer().descriptor());
        assertThat(m.annotations()).isEmpty();
        assertThat(r.manifest().size()).isEqualTo(manifestBytes.length);

        JsonNode c = json(r.config());
        assertKeysSorted(c);
        assertKeysSorted(json(r.manifest()));
        assertThat(c.has("created")).isFalse();
        assertThat(c.get("os").asText()).isEqualTo("linux");
        assertThat(c.get("architecture").asText()).isEqualTo(Platform.host().architecture());
        assertThat(c.at("/config/Cmd").toString()).isEqualTo("[\"/bin/run.sh\",\"--flag\"]");
        assertThat(c.at("/config/Env").toString()).isEqualTo("[\"A=1\"]");
        assertThat(c.at("/config/WorkingDir").asText()).isEqualTo("/srv");
        assertThat(c.at("/config/User").asText()).isEqualTo("1000:1000");
        assertThat(c.at("/config/Labels/org.example.team").asText()).isEqualTo("core");
        assertThat(c.at("/config/ExposedPorts").toString()).isEqualTo("{\"8080/tcp\":{}}");
        assertThat(c.at("/config").has("Entrypoint")).isFalse();
        assertThat(c.at("/rootfs/type").asText()).isEqualTo("layers");
        assertThat(c.at("/rootfs/diff_ids").toString()).isEqualTo("[\"" + r.layer().diffId() + "\"]");
        assertThat(c.at("/history").toString()).isEqualTo("[{\"created_by\":\"davit build\"}]");

        StoreEntry e = store.entry(NAME).orElseThrow();
        assertThat(e.descriptor().digest()).isEqualTo(r.manifest().digest());
        assertThat(e.descriptor().platform()).isEqualTo(Platform.host());
        assertThat(store.fsck(false).clean()).isTrue();
        assertThat(store.isComplete(e.descriptor())).isTrue();
    }

    @Test
    void sameInputsGiveTheSameManifestDigest() throws Exception {
        BuildOptions o = BuildOptions.builder().cmd(List.of("sh")).env("A=1").label("b", "2").label("a", "1").build();
        BuildResult first = build(o);
        BuildResult again = build(o);
        assertThat(again.manifest()).isEqualTo(first.manifest());
        assertThat(again.layer().cached()).isTrue();

        OciStore other = OciStore.open(tmp.resolve("other-store"));
        LayerFiles.touchAll(src, Instant.parse("2035-05-05T05:05:05Z"));
        BuildResult elsewhere = build(other, src, o);
        assertThat(elsewhere.manifest()).isEqualTo(first.manifest());
        assertThat(elsewhere.config()).isEqualTo(first.config());
        assertThat(elsewhere.layer().cached()).isFalse();
        assertThat(other.readBlob(elsewhere.manifest().digest(), 1 << 20))
                .isEqualTo(store.readBlob(first.manifest().digest(), 1 << 20));

        Files.writeString(src.resolve("etc/app.conf"), "key=other\n");
        BuildResult changed = build(o);
        assertThat(changed.layer().descriptor().digest()).isNotEqualTo(first.layer().descriptor().digest());
        assertThat(changed.manifest().digest()).isNotEqualTo(first.manifest().digest());
        assertThat(store.entry(NAME).orElseThrow().descriptor().digest()).isEqualTo(changed.manifest().digest());

        BuildResult otherCmd = build(o.toBuilder().cmd(List.of("bash")).build());
        assertThat(otherCmd.layer().descriptor()).isEqualTo(changed.layer().descriptor());
        assertThat(otherCmd.config().digest()).isNotEqualTo(changed.config().digest());
    }

    @Test
    void createdIsRecordedOnlyWhenAsked() {
        Instant t = Instant.parse("2024-02-03T04:05:06Z");
        BuildResult r = build(BuildOptions.builder().created(t).build());
        JsonNode c = json(r.config());
        assertThat(c.get("created").asText()).isEqualTo("2024-02-03T04:05:06Z");
        assertThat(c.at("/history/0/created").asText()).isEqualTo("2024-02-03T04:05:06Z");
        assertThat(json(r.manifest()).at("/annotations/org.opencontainers.image.created").asText())
                .isEqualTo("2024-02-03T04:05:06Z");
        assertThat(build(BuildOptions.builder().created(t.plusSeconds(1)).build()).manifest().digest())
                .isNotEqualTo(r.manifest().digest());
    }

    @Test
    void platformWithoutBase() {
        BuildResult r = build(BuildOptions.builder().platform(Platform.parse("linux/arm64")).build());
        JsonNode c = json(r.config());
        assertThat(c.get("architecture").asText()).isEqualTo("arm64");
        assertThat(c.get("variant").asText()).isEqualTo("v8");
        assertThat(r.platform()).isEqualTo("linux/arm64/v8");
    }

    // ---------------------------------------------------------------- bases

    /** A base image written straight into the store: one layer built from {@code dir}, the given config fields. */
    Descriptor putBase(String name, ObjectNode config, Path dir, boolean docker) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LayerBuilder.Layer layer = new LayerBuilder(BuildOptions.defaults()).write(dir, out);
        String layerType = docker ? MediaTypes.DOCKER_LAYER_GZIP : MediaTypes.OCI_LAYER_GZIP;
        Descriptor l = new Descriptor(layerType, layer.descriptor().digest(), layer.descriptor().size());
        store.putBlob(l, out.toByteArray());
        config.putObject("rootfs").put("type", "layers").putArray("diff_ids").add(layer.diffId().toString());
        byte[] cb = Json.bytes(config);
        Descriptor c = new Descriptor(docker ? MediaTypes.DOCKER_CONFIG : MediaTypes.OCI_CONFIG, Digest.sha256(cb),
                cb.length);
        store.putBlob(c, cb);
        ObjectNode m = Json.object();
        m.put("schemaVersion", 2);
        m.put("mediaType", docker ? MediaTypes.DOCKER_MANIFEST : MediaTypes.OCI_MANIFEST);
        m.set("config", ManifestJson.toJson(c));
        m.putArray("layers").add(ManifestJson.toJson(l));
        byte[] mb = Json.bytes(m);
        Descriptor md = new Descriptor(m.get("mediaType").asText(), Digest.sha256(mb), mb.length);
        store.putBlob(md, mb);
        store.setEntry(name, md, Map.of());
        return md;
    }

    ObjectNode baseConfig(String arch) {
        ObjectNode c = Json.object();
        c.put("architecture", arch);
        c.put("os", "linux");
        c.put("created", "2020-01-01T00:00:00Z");
        ObjectNode cc = c.putObject("config");
        cc.putArray("Env").add("PATH=/usr/bin:/bin").add("A=base").add("KEEP=1");
        cc.putArray("Cmd").add("/bin/sh");
        cc.put("WorkingDir", "/");
        ObjectNode labels = cc.putObject("Labels");
        labels.put("a", "base-a");
        labels.put("b", "base-b");
        c.putArray("history").addObject().put("created", "2020-01-01T00:00:00Z").put("created_by", "base layer");
        return c;
    }

    Path baseTree() throws IOException {
        Path d = tmp.resolve("base-src");
        LayerFiles.write(d.resolve("etc/os-release"), "ID=test\n");
        return d;
    }

    @Test
    void buildsOnABaseMergingEnvAndLabels() throws Exception {
        Descriptor base = putBase(BASE, baseConfig(Platform.host().architecture()), baseTree(), false);
        ImageManifest bm = (ImageManifest) store.readManifest(base);
        JsonNode bc = json(bm.config());
        BuildResult r = build(BuildOptions.builder().base(BASE).env("A=ours").env("B=new").label("b", "ours-b")
                .label("c", "ours-c").build());

        assertThat(r.base().toString()).isEqualTo(BASE);
        assertThat(r.baseManifest()).isEqualTo(base);
        assertThat(r.layers()).hasSize(2);
        assertThat(r.layers().get(0)).isEqualTo(bm.layers().get(0));
        assertThat(r.layers().get(1)).isEqualTo(r.layer().descriptor());
        assertThat(r.diffIds().get(0).toString()).isEqualTo(bc.at("/rootfs/diff_ids/0").asText());
        assertThat(r.diffIds().get(1)).isEqualTo(r.layer().diffId());

        JsonNode c = json(r.config());
        assertThat(c.at("/config/Env").toString())
                .isEqualTo("[\"PATH=/usr/bin:/bin\",\"A=ours\",\"KEEP=1\",\"B=new\"]");
        assertThat(c.at("/config/Labels").toString())
                .isEqualTo("{\"a\":\"base-a\",\"b\":\"ours-b\",\"c\":\"ours-c\"}");
        assertThat(c.at("/config/Cmd").toString()).isEqualTo("[\"/bin/sh\"]");
        assertThat(c.at("/config/WorkingDir").asText()).isEqualTo("/");
        assertThat(c.has("created")).as("the base's created is dropped").isFalse();
        assertThat(c.at("/history").size()).isEqualTo(2);
        assertThat(c.at("/history/0/created_by").asText()).isEqualTo("base layer");
        assertThat(c.at("/history/1").toString()).isEqualTo("{\"created_by\":\"davit build\"}");
        assertThat(c.at("/rootfs/diff_ids").size()).isEqualTo(2);

        JsonNode m = json(r.manifest());
        assertThat(m.at("/annotations/org.opencontainers.image.base.name").asText()).isEqualTo(BASE);
        assertThat(m.at("/annotations/org.opencontainers.image.base.digest").asText())
                .isEqualTo(base.digest().toString());
        assertThat(store.fsck(false).clean()).isTrue();
    }

    @Test
    void entrypointClearsTheBaseCommandUnlessACommandIsGiven() throws Exception {
        putBase(BASE, baseConfig(Platform.host().architecture()), baseTree(), false);
        JsonNode c = json(build(BuildOptions.builder().base(BASE).entrypoint(List.of("/app")).build()).config());
        assertThat(c.at("/config/Entrypoint").toString()).isEqualTo("[\"/app\"]");
        assertThat(c.at("/config").has("Cmd")).isFalse();
        JsonNode both = json(build(BuildOptions.builder().base(BASE).entrypoint(List.of("/app"))
                .cmd(List.of("--serve")).build()).config());
        assertThat(both.at("/config/Cmd").toString()).isEqualTo("[\"--serve\"]");
        JsonNode cleared = json(build(BuildOptions.builder().base(BASE).cmd(List.of()).build()).config());
        assertThat(cleared.at("/config").has("Cmd")).isFalse();
    }

    @Test
    void dockerBaseLayersBecomeOciMediaTypes() throws Exception {
        Descriptor base = putBase(BASE, baseConfig(Platform.host().architecture()), baseTree(), true);
        ImageManifest bm = (ImageManifest) store.readManifest(base);
        BuildResult r = build(BuildOptions.builder().base(BASE).build());
        ImageManifest m = (ImageManifest) store.readManifest(r.manifest());
        assertThat(m.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
        assertThat(m.config().mediaType()).isEqualTo(MediaTypes.OCI_CONFIG);
        assertThat(m.layers().get(0).mediaType()).isEqualTo(MediaTypes.OCI_LAYER_GZIP);
        assertThat(m.layers().get(0).digest()).isEqualTo(bm.layers().get(0).digest());
    }

    @Test
    void picksThePlatformFromABaseIndex() throws Exception {
        Path tree = baseTree();
        Descriptor amd = putBase("tmp/amd:1", baseConfig("amd64"), tree, false);
        Descriptor arm = putBase("tmp/arm:1", baseConfig("arm64").put("variant", "v8"), tree, false);
        ObjectNode idx = Json.object();
        idx.put("schemaVersion", 2);
        idx.put("mediaType", MediaTypes.OCI_INDEX);
        ArrayNode ms = idx.putArray("manifests");
        ms.add(ManifestJson.toJson(amd.withPlatform(Platform.parse("linux/amd64"))));
        ms.add(ManifestJson.toJson(arm.withPlatform(Platform.parse("linux/arm64"))));
        byte[] ib = Json.bytes(idx);
        Descriptor id = new Descriptor(MediaTypes.OCI_INDEX, Digest.sha256(ib), ib.length);
        store.putBlob(id, ib);
        store.setEntry(BASE, id, Map.of());

        BuildResult r = build(BuildOptions.builder().base(BASE).platform(Platform.parse("linux/arm64")).build());
        assertThat(r.baseManifest().digest()).isEqualTo(arm.digest());
        assertThat(r.platform()).isEqualTo("linux/arm64/v8");
        assertThat(json(r.config()).get("architecture").asText()).isEqualTo("arm64");
        assertDavitError(() -> build(BuildOptions.builder().base(BASE).platform(Platform.parse("linux/s390x")).build()),
                Kind.NOT_FOUND, "linux/s390x", "available: linux/amd64, linux/arm64/v8");
    }

    @Test
    void errors() throws Exception {
        assertDavitError(() -> new ImageBuilder(store).build(src, Reference.parse("app@sha256:" + "a".repeat(64)),
                BuildOptions.defaults(), ProgressListener.NONE), Kind.USAGE, "by digest");
        assertDavitError(() -> build(BuildOptions.builder().base("not/pulled:1").build()), Kind.NOT_FOUND,
                "docker.io/not/pulled:1 is not in the store", "pull it first");
        putBase(BASE, baseConfig("amd64"), baseTree(), false);
        assertDavitError(() -> build(BuildOptions.builder().base(BASE).platform(Platform.parse("linux/arm64")).build()),
                Kind.USAGE, "is linux/amd64, not linux/arm64/v8");
        assertDavitError(() -> build(store, tmp.resolve("nope"), BuildOptions.defaults()), Kind.USAGE,
                "does not exist");
        assertThat(store.entry(NAME)).isEmpty();
    }
}
