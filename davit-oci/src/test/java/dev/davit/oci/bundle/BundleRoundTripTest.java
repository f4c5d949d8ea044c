package dev.davit.oci.bundle;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedArtifact;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.PushedIndex;
import dev.davit.oci.testkit.TestRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images, a multi-platform index (all platforms, and one platform picked) and an artifact pulled from a real
 * registry, exported and imported into a fresh store: same entries, same digests, same annotations, fsck clean.
 */
class BundleRoundTripTest {
    static TestRegistry registry;
    static PushedImage image;
    static PushedIndex multi;
    static PushedIndex single;
    static PushedArtifact artifact;
    static List<String> refs;

    @TempDir
    static Path shared;

    static DavitClient source;

    @TempDir
    Path dir;

    static final BundleMetadata META = BundleMetadata.NONE.withName("base-env").withKind("environment")
            .withParent("sha256:" + "ab".repeat(32)).withCreated(Instant.parse("2024-06-01T12:00:00Z"))
            .withRecipe("{\"steps\":[\"pull\"]}");

    @BeforeAll
    static void start() {
        registry = TestRegistry.start();
        image = Fixtures.pushImage(registry, "bundle/app", "1");
        multi = Fixtures.pushMultiArch(registry, "bundle/multi", "2");
        single = Fixtures.pushMultiArch(registry, "bundle/one", "3");
        artifact = Fixtures.pushArtifact(registry, "bundle/app", "art", image);
        source = DavitClient.create(ClientOptions.anonymous(shared.resolve("source")));
        source.pull(image.reference(), PlatformSelector.host(), ProgressListener.NONE);
        source.pull(multi.reference(), PlatformSelector.allPlatforms(), ProgressListener.NONE);
        source.pull(single.reference(), PlatformSelector.of(Platform.parse("linux/arm/v7")), ProgressListener.NONE);
        source.pull(artifact.reference(), PlatformSelector.host(), ProgressListener.NONE);
        refs = List.of(image.reference(), multi.reference(), single.reference(), artifact.reference());
    }

    @AfterAll
    static void stop() {
        if (source != null) {
            source.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    private static Set<String> blobFiles(Path store) throws IOException {
        Set<String> out = new HashSet<>();
        try (Stream<Path> s = Files.walk(store.resolve("blobs"))) {
            s.filter(Files::isRegularFile).forEach(p -> out.add(store.resolve("blobs").relativize(p).toString()));
        }
        return out;
    }

    @Test
    void roundTripInEveryCompression() throws IOException {
        for (Compression c : Compression.values()) {
            Path file = dir.resolve("env-" + c + ".bundle");
            List<ProgressEvent> events = new CopyOnWriteArrayList<>();
            ExportResult ex = source.bundles().export(refs, file,
                    ExportOptions.defaults().withCompression(c).withMetadata(META),
                    events::add);
            assertThat(ex.file()).isEqualTo(file.toAbsolutePath());
            assertThat(ex.compression()).isEqualTo(c);
            assertThat(ex.size()).isEqualTo(Files.size(file));
            assertThat(ex.digest()).isEqualTo(Digest.sha256(Files.readAllBytes(file)));
            assertThat(ex.verified()).isTrue();
            assertThat(ex.refs()).extracting(BundleRef::name).containsExactlyElementsOf(refs);
            assertThat(events).filteredOn(e -> e instanceof ProgressEvent.Phase).extracting(e ->
                    ((ProgressEvent.Phase) e).name()).containsExactly("writing bundle", "verifying", "done");
            assertThat(dir).isDirectoryNotContaining("glob:**.davit-tmp");

            try (DavitClient fresh = DavitClient.create(ClientOptions.anonymous(dir.resolve("store-" + c)))) {
                ImportResult im = fresh.bundles().importBundle(file, ImportOptions.defaults(), ProgressListener.NONE);
                assertThat(im.compression()).isEqualTo(c);
                assertThat(im.metadata()).isEqualTo(META);
                assertThat(im.blobs()).isEqualTo(ex.blobs());
                assertThat(im.storedBlobs()).isEqualTo(ex.blobs());
                assertThat(im.refs()).extracting(r -> r.reference().toString()).containsExactlyElementsOf(refs);
                assertThat(im.refs()).allMatch(r -> r.previous() == null);
                for (String ref : refs) {
                    StoreEntry want = source.find(ref).orElseThrow();
                    StoreEntry got = fresh.find(ref).orElseThrow();
                    assertThat(got.descriptor()).as(ref).isEqualTo(want.descriptor());
                }
                assertThat(fresh.fsck(false).problems()).isEmpty();
                assertThat(fresh.gc().removedBlobs()).isZero();
                assertThat(blobFiles(fresh.store().root())).isEqualTo(blobFiles(source.store().root()));

                // importing again changes nothing and stores nothing
                ImportResult again = fresh.bundles().importBundle(file, ImportOptions.defaults(),
                        ProgressListener.NONE);
                assertThat(again.storedBlobs()).isZero();
                assertThat(again.refs()).allSatisfy(r -> assertThat(r.previous()).isEqualTo(r.descriptor().digest()));
            }
        }
    }

    @Test
    void theSinglePlatformEntryKeepsItsIndexBlobAndAnnotations() {
        Path file = dir.resolve("one.tar");
        source.bundles().export(List.of(single.reference()), file, ExportOptions.defaults());
        try (DavitClient fresh = DavitClient.create(ClientOptions.anonymous(dir.resolve("store")))) {
            fresh.bundles().importBundle(file, ImportOptions.defaults(), ProgressListener.NONE);
            StoreEntry e = fresh.find(single.reference()).orElseThrow();
            assertThat(e.platform()).isEqualTo("linux/arm/v7");
            assertThat(e.resolvedDigest().toString()).isEqualTo(single.indexDigest());
            assertThat(e.resolvedAt()).isEqualTo(source.find(single.reference()).orElseThrow().resolvedAt());
            fresh.gc();
            assertThat(fresh.store().hasBlob(Digest.parse(single.indexDigest()))).isTrue();
            // pinned by the index digest, the other platforms are not there: the graph copy would need the registry
            assertThat(fresh.fsck(false).clean()).isTrue();
        }
    }

    @Test
    void exportsAreDeterministicAndSurviveAnImportExportCycle() throws IOException {
        ExportOptions opts = ExportOptions.defaults().withMetadata(META).withCompression(Compression.GZIP);
        Path a = dir.resolve("a.tgz");
        Path b = dir.resolve("b.tgz");
        source.bundles().export(refs, a, opts);
        source.bundles().export(refs, b, opts);
        assertThat(Files.readAllBytes(a)).isEqualTo(Files.readAllBytes(b));
        try (DavitClient fresh = DavitClient.create(ClientOptions.anonymous(dir.resolve("store")))) {
            fresh.bundles().importBundle(a, ImportOptions.defaults(), ProgressListener.NONE);
            Path c = dir.resolve("c.tgz");
            fresh.bundles().export(refs, c, opts);
            assertThat(Files.readAllBytes(c)).isEqualTo(Files.readAllBytes(a));
        }
    }

    @Test
    void inspectShowsMetadataAndReferencesWithoutAStore() {
        for (Compression c : Compression.values()) {
            Path file = dir.resolve("inspect-" + c);
            ExportResult ex = source.bundles().export(refs, file, ExportOptions.defaults().withCompression(c)
                    .withMetadata(META));
            BundleInfo info = source.bundles().inspect(file);
            assertThat(info.compression()).isEqualTo(c);
            assertThat(info.size()).isEqualTo(ex.size());
            assertThat(info.layoutVersion()).isEqualTo("1.0.0");
            assertThat(info.metadata()).isEqualTo(META);
            assertThat(info.annotations()).containsEntry(BundleMetadata.NAME, "base-env");
            assertThat(info.blobs()).isEqualTo(ex.blobs());
            assertThat(info.blobBytes()).isEqualTo(ex.contentBytes());
            assertThat(info.complete()).isTrue();
            assertThat(info.refs()).isEqualTo(ex.refs());
            BundleRef img = info.refs().get(0);
            assertThat(img.reference()).isEqualTo(image.reference());
            assertThat(img.descriptor().digest().toString()).isEqualTo(image.manifestDigest());
            assertThat(img.platforms()).containsExactly("linux/amd64");
            assertThat(img.size()).isEqualTo(source.store().graph(source.find(image.reference()).orElseThrow()
                    .descriptor()).stream().mapToLong(Descriptor::size).sum());
            BundleRef all = info.refs().get(1);
            assertThat(all.descriptor().mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
            assertThat(all.platforms()).containsExactlyElementsOf(Fixtures.PLATFORMS);
            assertThat(info.refs().get(2).platforms()).containsExactly("linux/arm/v7");
            assertThat(info.refs().get(3).platforms()).isEmpty();
            assertThat(info.refs().get(3).descriptor().artifactType()).isEqualTo(Fixtures.ARTIFACT_TYPE);
        }
    }

    @Test
    void exportErrorsLeaveNoFile() throws IOException {
        Path file = dir.resolve("x.tar");
        assertDavitError(() -> source.bundles().export(List.of("registry.example/none:1"), file,
                ExportOptions.defaults()),
                Kind.NOT_FOUND, "registry.example/none:1 is not in the store");
        assertDavitError(() -> source.bundles().export(List.of(), file, ExportOptions.defaults()), Kind.USAGE,
                "nothing to export");
        assertDavitError(() -> source.bundles().export(refs, dir.resolve("missing/x.tar"), ExportOptions.defaults()),
                Kind.USAGE, "does not exist");
        assertDavitError(() -> source.bundles().export(refs, dir, ExportOptions.defaults()), Kind.USAGE,
                "is a directory");
        assertDavitError(() -> source.bundles().export(refs, file, ExportOptions.defaults().withMetadata(
                BundleMetadata.NONE.withName("two\nlines"))), Kind.USAGE, "invalid bundle name");
        assertThat(file).doesNotExist();

        // a store whose blob went bad (or missing) is never exported
        try (DavitClient copy = DavitClient.create(ClientOptions.anonymous(dir.resolve("store")))) {
            copy.bundles().importBundle(writeAll(), ImportOptions.defaults(), ProgressListener.NONE);
            OciStore s = copy.store();
            Path layer = s.blobPath(Digest.parse(image.layerDigests().get(0)));
            byte[] bytes = Files.readAllBytes(layer);
            bytes[bytes.length / 2] ^= 1;
            Files.write(layer, bytes);
            Files.writeString(file, "old content");
            assertDavitError(() -> copy.bundles().export(List.of(image.reference()), file, ExportOptions.defaults()),
                    Kind.VERIFICATION, "in the store is corrupt", "DavitClient.fsck(true)");
            assertThat(Files.readString(file)).isEqualTo("old content");
            Files.delete(layer);
            assertDavitError(() -> copy.bundles().export(List.of(image.reference()), file, ExportOptions.defaults()),
                    Kind.STORE, image.reference() + " is incomplete in the store");
            assertThat(Files.readString(file)).isEqualTo("old content");
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".davit-tmp"));
        }
    }

    private Path writeAll() {
        Path file = dir.resolve("all.tar");
        source.bundles().export(refs, file, ExportOptions.defaults());
        return file;
    }

    @Test
    void importNamesEntriesAsAsked() {
        Path file = dir.resolve("img.tar.zst");
        ExportResult ex = source.bundles().export(List.of(image.reference()), file, ExportOptions.defaults());
        assertThat(ex.compression()).isEqualTo(Compression.ZSTD);
        try (DavitClient fresh = DavitClient.create(ClientOptions.anonymous(dir.resolve("store")))) {
            ImportResult r = fresh.bundles().importBundle(file,
                    ImportOptions.defaults().withAs("registry.example/copy:7"),
                    ProgressListener.NONE);
            assertThat(r.refs()).singleElement().satisfies(x -> {
                assertThat(x.bundleName()).isEqualTo(image.reference());
                assertThat(x.reference().toString()).isEqualTo("registry.example/copy:7");
            });
            assertThat(fresh.images()).extracting(StoreEntry::name).containsExactly("registry.example/copy:7");
            fresh.bundles().importBundle(file, ImportOptions.defaults().withMap(java.util.Map.of(image.reference(),
                    "registry.example/other@" + image.manifestDigest())), ProgressListener.NONE);
            assertThat(fresh.find("registry.example/other@" + image.manifestDigest())).isPresent();
            assertThat(fresh.fsck(false).clean()).isTrue();
        }
    }
}
