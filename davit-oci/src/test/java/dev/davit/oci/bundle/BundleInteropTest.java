package dev.davit.oci.bundle;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.Copier;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.internal.Json;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.PushedIndex;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bundles and other tools: skopeo reads davit's bundles ({@code oci-archive:FILE:REF}, with the full reference
 * as REF, plain, gzip and zstd), davit imports archives written by skopeo (by their own name when it is a
 * reference, {@code imported/tiny:2}) and tarred umoci layouts, and the
 * {@link OciLayoutSource} copies from layout directories.
 */
class BundleInteropTest {
    static TestRegistry registry;
    static PushedImage image;
    static PushedIndex multi;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        registry = TestRegistry.start();
        image = Fixtures.pushImage(registry, "interop/app", "1");
        multi = Fixtures.pushMultiArch(registry, "interop/multi", "2");
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
    }

    private DavitClient client(String store) {
        return DavitClient.create(ClientOptions.anonymous(dir.resolve(store)));
    }

    private static String skopeo(String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of(Tools.SKOPEO, "--insecure-policy"));
        cmd.addAll(List.of(args));
        return Tools.run(null, cmd);
    }

    private static JsonNode json(String s) throws IOException {
        return Json.read(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void skopeoReadsDavitBundlesByTheirFullReference() throws IOException {
        try (DavitClient davit = client("store")) {
            davit.pull(image.reference(), PlatformSelector.host(), ProgressListener.NONE);
            davit.pull(multi.reference(), PlatformSelector.allPlatforms(), ProgressListener.NONE);
            for (String name : List.of("b.tar", "b.tar.gz", "b.tar.zst")) {
                Path file = dir.resolve(name);
                davit.bundles().export(List.of(image.reference(), multi.reference()), file, ExportOptions.defaults());
                JsonNode inspected = json(skopeo("inspect", "oci-archive:" + file + ":" + image.reference()));
                assertThat(inspected.path("Digest").asText()).as(name).isEqualTo(image.manifestDigest());
                assertThat(inspected.path("Layers")).hasSize(3);
                JsonNode raw = json(skopeo("inspect", "--raw", "oci-archive:" + file + ":" + multi.reference()));
                assertThat(raw.path("manifests")).hasSize(3);
            }
            Path out = dir.resolve("layout");
            skopeo("copy", "--all", "oci-archive:" + dir.resolve("b.tar") + ":" + multi.reference(),
                    "oci:" + out + ":copied");
            JsonNode index = json(Files.readString(out.resolve("index.json")));
            assertThat(index.path("manifests").get(0).path("digest").asText()).isEqualTo(multi.indexDigest());
        }
    }

    @Test
    void importsAnArchiveWrittenBySkopeo() {
        Path single = dir.resolve("skopeo-image.tar");
        skopeo("copy", "--src-tls-verify=false", "docker://" + image.reference(), "oci-archive:" + single + ":latest");
        Path all = dir.resolve("skopeo-multi.tar");
        skopeo("copy", "--all", "--src-tls-verify=false", "docker://" + multi.reference(),
                "oci-archive:" + all + ":multi");
        try (DavitClient davit = client("store")) {
            BundleInfo info = davit.bundles().inspect(single);
            assertThat(info.refs()).singleElement().satisfies(r -> {
                assertThat(r.name()).isEqualTo("latest");
                assertThat(r.reference()).isNull();
                assertThat(r.complete()).isTrue();
                assertThat(r.platforms()).containsExactly("linux/amd64");
            });
            ImportResult r = davit.bundles().importBundle(single,
                    ImportOptions.defaults().withAs("registry.example/app:1"),
                    ProgressListener.NONE);
            assertThat(r.refs().get(0).descriptor().digest().toString()).isEqualTo(image.manifestDigest());
            ImportResult m = davit.bundles().importBundle(all, ImportOptions.defaults().withMap(
                    Map.of("multi", "registry.example/multi:2")), ProgressListener.NONE);
            assertThat(m.refs().get(0).descriptor().digest().toString()).isEqualTo(multi.indexDigest());
            assertThat(davit.find("registry.example/multi:2")).isPresent();
            assertThat(davit.bundles().inspect(all).refs().get(0).platforms()).containsExactlyElementsOf(
                    Fixtures.PLATFORMS);
            assertThat(davit.fsck(false).problems()).isEmpty();
        }
    }

    @Test
    void importsASkopeoArchiveByItsName() throws IOException {
        Path named = dir.resolve("skopeo-named.tar");
        skopeo("copy", "--src-tls-verify=false", "docker://" + image.reference(),
                "oci-archive:" + named + ":imported/tiny:2");
        Path tagged = dir.resolve("skopeo-tagged.tar");
        skopeo("copy", "--src-tls-verify=false", "docker://" + image.reference(), "oci-archive:" + tagged + ":2");
        String tiny = "docker.io/imported/tiny:2";
        try (DavitClient davit = client("store")) {
            assertThat(davit.bundles().inspect(named).refs()).singleElement().satisfies(r -> {
                assertThat(r.name()).isEqualTo("imported/tiny:2");
                assertThat(r.reference()).isEqualTo(tiny);
            });
            ImportResult r = davit.bundles().importBundle(named, ImportOptions.defaults(), ProgressListener.NONE);
            assertThat(r.refs()).singleElement().satisfies(ref -> {
                assertThat(ref.bundleName()).isEqualTo("imported/tiny:2");
                assertThat(ref.reference().toString()).isEqualTo(tiny);
                assertThat(ref.previous()).isNull();
            });
            StoreEntry e = davit.find(tiny).orElseThrow();
            assertThat(e.descriptor().digest().toString()).isEqualTo(image.manifestDigest());
            assertThat(davit.store().entries()).extracting(StoreEntry::name).containsExactly(tiny);
            OciStore.FsckReport fsck = davit.fsck(false);
            assertThat(fsck.problems()).isEmpty();
            assertThat(fsck.blobsChecked()).isEqualTo(r.blobs()).isEqualTo(5);

            // a bare tag names no repository: refused, with every fix named; --repo completes it
            assertThat(davit.bundles().inspect(tagged).refs().get(0).reference()).isNull();
            dev.davit.oci.ErrorAssert.assertDavitError(() -> davit.bundles().importBundle(tagged,
                    ImportOptions.defaults(),
                    ProgressListener.NONE), dev.davit.oci.DavitException.Kind.USAGE,
                    "entry '2' is not a reference: a bare tag names no repository", "ImportOptions.withAs(REF)",
                    "ImportOptions.withMap('2'=REF)", "ImportOptions.withRepository(REPO)");
            ImportResult again = davit.bundles().importBundle(tagged,
                    ImportOptions.defaults().withRepository("imported/tiny"),
                    ProgressListener.NONE);
            assertThat(again.refs().get(0).reference().toString()).isEqualTo(tiny);
            assertThat(again.refs().get(0).previous().toString()).isEqualTo(image.manifestDigest());
            assertThat(again.storedBlobs()).isZero();

            // and skopeo finds the normalised name in the store
            JsonNode inspected = json(skopeo("inspect", "oci:" + davit.store().root() + ":" + tiny));
            assertThat(inspected.path("Digest").asText()).isEqualTo(image.manifestDigest());
        }
    }

    @Test
    void importsATarredUmociLayoutWithARepository() throws IOException {
        Path tar = dir.resolve("umoci.tar");
        Tools.run(multi.layoutDir(), List.of("tar", "-cf", tar.toString(), "oci-layout", "index.json", "blobs"));
        Path tgz = dir.resolve("umoci.tar.gz");
        Tools.run(image.layoutDir(), List.of("tar", "-czf", tgz.toString(), "./oci-layout", "./index.json",
                "./blobs"));
        try (DavitClient davit = client("store")) {
            ImportResult r = davit.bundles().importBundle(tar,
                    ImportOptions.defaults().withRepository("registry.example/umoci"),
                    ProgressListener.NONE);
            JsonNode layoutIndex = json(Files.readString(multi.layoutDir().resolve("index.json")));
            assertThat(r.refs()).hasSize(layoutIndex.path("manifests").size());
            StoreEntry idx = davit.find("registry.example/umoci:" + multi.layoutTag()).orElseThrow();
            assertThat(idx.descriptor().digest().toString()).isEqualTo(multi.indexDigest());
            ImportResult one = davit.bundles().importBundle(tgz,
                    ImportOptions.defaults().withAs("registry.example/img:1"),
                    ProgressListener.NONE);
            assertThat(one.compression()).isEqualTo(Compression.GZIP);
            assertThat(one.refs().get(0).bundleName()).isEqualTo(image.layoutTag());
            assertThat(davit.fsck(false).problems()).isEmpty();
            // and skopeo reads the store afterwards
            JsonNode inspected = json(skopeo("inspect", "oci:" + davit.store().root() + ":registry.example/img:1"));
            assertThat(inspected.path("Layers")).hasSize(3);
        }
    }

    @Test
    void copiesFromLayoutDirectoriesWithTheCopier() {
        OciStore store = OciStore.open(dir.resolve("store"));
        OciLayoutSource layout = OciLayoutSource.open(image.layoutDir());
        Reference ref = Reference.parse("registry.example/from-layout:1");
        PullResult r = new Copier(store).copy(layout, image.layoutTag(), ref, ref.toString(), PlatformSelector.allPlatforms(),
                ProgressListener.NONE);
        assertThat(r.blobs()).hasSize(4).noneMatch(PullResult.BlobResult::cached);
        assertThat(store.entry(ref.toString()).orElseThrow().descriptor().digest())
                .isEqualTo(layout.find(image.layoutTag()).digest());

        OciLayoutSource multiLayout = OciLayoutSource.open(multi.layoutDir());
        Reference arm = Reference.parse("registry.example/from-layout:arm");
        PullResult one = new Copier(store).copy(multiLayout, multi.layoutTag(), arm, arm.toString(),
                PlatformSelector.of(dev.davit.oci.manifest.Platform.parse("linux/arm64")), ProgressListener.NONE);
        assertThat(one.platform()).isEqualTo("linux/arm64/v8");
        assertThat(one.target().digest().toString()).isEqualTo(multi.image("linux/arm64/v8").image().manifestDigest());
        assertThat(store.fsck(false).problems()).isEmpty();

        // davit's own store is a layout too: copy an entry of one store into another by its full name
        OciStore other = OciStore.open(dir.resolve("other"));
        new Copier(other).copy(OciLayoutSource.open(store.root()), ref.toString(), ref, ref.toString(),
                PlatformSelector.allPlatforms(),
                ProgressListener.NONE);
        assertThat(other.entry(ref.toString())).isPresent();
        assertThat(other.fsck(false).problems()).isEmpty();
    }

    @Test
    void layoutSourceErrors() throws IOException {
        dev.davit.oci.ErrorAssert.assertDavitError(() -> OciLayoutSource.open(dir.resolve("none")),
                dev.davit.oci.DavitException.Kind.NOT_FOUND, "does not exist");
        Path empty = Files.createDirectories(dir.resolve("empty"));
        dev.davit.oci.ErrorAssert.assertDavitError(() -> OciLayoutSource.open(empty),
                dev.davit.oci.DavitException.Kind.VERIFICATION, "has no oci-layout file");
        OciLayoutSource layout = OciLayoutSource.open(multi.layoutDir());
        dev.davit.oci.ErrorAssert.assertDavitError(() -> layout.find("nope"),
                dev.davit.oci.DavitException.Kind.NOT_FOUND, "no image named 'nope'", multi.layoutTag());
        dev.davit.oci.ErrorAssert.assertDavitError(() -> layout.find(null),
                dev.davit.oci.DavitException.Kind.USAGE, "entries; name one of");
    }
}
