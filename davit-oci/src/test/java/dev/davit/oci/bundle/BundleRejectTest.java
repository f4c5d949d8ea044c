package dev.davit.oci.bundle;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Broken and hostile bundles, crafted entry by entry: each is refused with a one-line error naming the cause, and
 * the store is unchanged (same index.json bytes, fsck clean, no partial or temp files; after gc the same blobs).
 */
class BundleRejectTest {
    static final String NAME = "registry.example/team/app:1";

    @TempDir
    Path dir;

    OciStore store;
    SmallImage image;
    byte[] indexBefore;
    List<String> blobsBefore;

    @BeforeEach
    void setUp() throws IOException {
        store = OciStore.open(dir.resolve("store"));
        SmallImage.of("already in the store").put(store, "registry.example/team/existing:1");
        image = SmallImage.of("layer of the bundled image");
        indexBefore = Files.readAllBytes(store.root().resolve("index.json"));
        blobsBefore = files(store.root().resolve("blobs"));
    }

    private static List<String> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).map(p -> root.relativize(p).toString()).sorted().toList();
        }
    }

    private static String js(Descriptor d) {
        return new String(dev.davit.oci.internal.Json.bytes(dev.davit.oci.internal.manifest.ManifestJson.toJson(d)),
                StandardCharsets.UTF_8);
    }

    private Path file(String name) {
        return dir.resolve(name);
    }

    private void refused(Path bundle, Kind kind, String... fragments) throws IOException {
        refused(bundle, ImportOptions.defaults(), kind, fragments);
    }

    private void refused(Path bundle, ImportOptions options, Kind kind, String... fragments) throws IOException {
        assertDavitError(() -> new BundleImporter(store).importBundle(bundle, options, ProgressListener.NONE), kind,
                fragments);
        assertUnchanged();
    }

    private void assertUnchanged() throws IOException {
        assertThat(Files.readAllBytes(store.root().resolve("index.json"))).isEqualTo(indexBefore);
        assertThat(files(store.root().resolve(".davit/ingest"))).allMatch(n -> n.endsWith(".lock"));
        assertThat(files(store.root().resolve(".davit/tmp"))).isEmpty();
        assertThat(store.fsck(false).problems()).isEmpty();
        store.gc();
        assertThat(files(store.root().resolve("blobs"))).isEqualTo(blobsBefore);
    }

    @Test
    void theValidBundleImports() {
        var r = new BundleImporter(store).importBundle(image.bundle(NAME).write(file("ok.tar")),
                ImportOptions.defaults(), ProgressListener.NONE);
        assertThat(r.refs()).singleElement().satisfies(ref -> {
            assertThat(ref.reference().toString()).isEqualTo(NAME);
            assertThat(ref.descriptor().digest()).isEqualTo(image.manifestDesc().digest());
        });
        assertThat(store.entry(NAME)).isPresent();
        assertThat(store.fsck(false).clean()).isTrue();
    }

    @Test
    void absolutePath() throws IOException {
        refused(image.bundle(NAME).file("/etc/cron.d/evil", "x".getBytes()).write(file("abs.tar")),
                Kind.VERIFICATION, "entry '/etc/cron.d/evil' has an absolute path", "refusing the bundle");
    }

    @Test
    void dotDot() throws IOException {
        refused(image.bundle(NAME).file("../evil", "x".getBytes()).write(file("up.tar")),
                Kind.VERIFICATION, "entry '../evil' leaves the layout");
        refused(new TarBuilder().file("blobs/sha256/../../../evil", "x".getBytes()).write(file("up2.tar")),
                Kind.VERIFICATION, "leaves the layout");
    }

    @Test
    void symlink() throws IOException {
        refused(image.bundle(NAME).symlink(SmallImage.path(image.layerDesc()) + "x", "/etc/passwd")
                .write(file("sym.tar")), Kind.VERIFICATION, "is a symbolic link");
        refused(new TarBuilder().symlink("index.json", "/etc/passwd").write(file("sym2.tar")), Kind.VERIFICATION,
                "entry 'index.json' is a symbolic link");
    }

    @Test
    void hardlink() throws IOException {
        String other = "blobs/sha256/" + Digest.sha256("other".getBytes()).hex();
        refused(image.bundle(NAME).hardlink(other, SmallImage.path(image.layerDesc())).write(file("hard.tar")),
                Kind.VERIFICATION, "is a hard link");
    }

    @Test
    void deviceAndFifo() throws IOException {
        refused(image.bundle(NAME).charDevice("blobs/sha256/" + Digest.sha256("d".getBytes()).hex())
                .write(file("dev.tar")), Kind.VERIFICATION, "is a device");
        refused(image.bundle(NAME).fifo("index.json").write(file("fifo.tar")), Kind.VERIFICATION, "is a FIFO");
    }

    @Test
    void filesOutsideTheLayout() throws IOException {
        refused(image.bundle(NAME).file("README.md", "hi".getBytes()).write(file("extra.tar")), Kind.VERIFICATION,
                "entry 'README.md' is not part of an OCI image layout");
        refused(image.bundle(NAME).file("blobs/sha256/not-a-digest", "hi".getBytes()).write(file("name.tar")),
                Kind.VERIFICATION, "is not named by a valid sha256 digest");
        refused(image.bundle(NAME).file("blobs/md5/0123", "hi".getBytes()).write(file("alg.tar")),
                Kind.VERIFICATION, "unsupported digest algorithm");
        refused(image.bundle(NAME).dir("index.json/").write(file("dirfile.tar")), Kind.VERIFICATION,
                "is a directory, not a regular file");
    }

    @Test
    void blobWhoseContentDoesNotMatchItsName() throws IOException {
        byte[] wrong = "not the layer".getBytes(StandardCharsets.UTF_8);
        Path bundle = new TarBuilder().file("oci-layout", SmallImage.layout())
                .file("index.json", SmallImage.index(image.manifestDesc(), NAME))
                .file(SmallImage.path(image.manifestDesc()), image.manifest())
                .file(SmallImage.path(image.configDesc()), image.config())
                .file(SmallImage.path(image.layerDesc()), wrong).write(file("corrupt.tar"));
        refused(bundle, Kind.VERIFICATION, "the content of blob " + image.layerDesc().digest(), "does not match");
    }

    @Test
    void corruptBlobIsReportedEvenWhenTheStoreHasIt() throws IOException {
        store.putBlob(image.layerDesc(), image.layer());
        indexBefore = Files.readAllBytes(store.root().resolve("index.json"));
        byte[] wrong = image.layer().clone();
        wrong[0] ^= 1;
        Path bundle = new TarBuilder().file("oci-layout", SmallImage.layout())
                .file("index.json", SmallImage.index(image.manifestDesc(), NAME))
                .file(SmallImage.path(image.layerDesc()), wrong).write(file("corrupt2.tar"));
        assertDavitError(() -> new BundleImporter(store).importBundle(bundle, ImportOptions.defaults(),
                ProgressListener.NONE), Kind.VERIFICATION, "does not match its digest");
        assertThat(store.readBlob(image.layerDesc().digest(), 1000)).isEqualTo(image.layer());
    }

    @Test
    void missingBlobs() throws IOException {
        Path noLayer = new TarBuilder().file("oci-layout", SmallImage.layout())
                .file("index.json", SmallImage.index(image.manifestDesc(), NAME))
                .file(SmallImage.path(image.manifestDesc()), image.manifest())
                .file(SmallImage.path(image.configDesc()), image.config()).write(file("nolayer.tar"));
        refused(noLayer, Kind.VERIFICATION, "blob " + image.layerDesc().digest(), "of " + NAME,
                "is missing; the bundle is incomplete");
        Path noManifest = new TarBuilder().file("oci-layout", SmallImage.layout())
                .file("index.json", SmallImage.index(image.manifestDesc(), NAME))
                .file(SmallImage.path(image.configDesc()), image.config())
                .file(SmallImage.path(image.layerDesc()), image.layer()).write(file("nomanifest.tar"));
        refused(noManifest, Kind.VERIFICATION, "blob " + image.manifestDesc().digest(), "is missing");
    }

    @Test
    void missingLayoutFiles() throws IOException {
        refused(new TarBuilder().file("oci-layout", SmallImage.layout())
                .file(SmallImage.path(image.layerDesc()), image.layer()).write(file("noindex.tar")),
                Kind.VERIFICATION, "has no index.json");
        refused(new TarBuilder().file("index.json", SmallImage.index(image.manifestDesc(), NAME))
                .file(SmallImage.path(image.manifestDesc()), image.manifest())
                .file(SmallImage.path(image.configDesc()), image.config())
                .file(SmallImage.path(image.layerDesc()), image.layer()).write(file("nolayout.tar")),
                Kind.VERIFICATION, "has no oci-layout file");
        refused(new TarBuilder().write(file("empty.tar")), Kind.VERIFICATION, "has no oci-layout file");
    }

    @Test
    void unsupportedLayoutVersion() throws IOException {
        Path bundle = new TarBuilder().file("oci-layout", "{\"imageLayoutVersion\":\"2.0.0\"}".getBytes())
                .file("index.json", SmallImage.index(image.manifestDesc(), NAME)).write(file("v2.tar"));
        refused(bundle, Kind.VERIFICATION, "unsupported OCI layout version '2.0.0'");
    }

    @Test
    void invalidIndexJson() throws IOException {
        refused(new TarBuilder().file("oci-layout", SmallImage.layout()).file("index.json", "{nope".getBytes())
                .write(file("badjson.tar")), Kind.VERIFICATION, "index.json is invalid", "not valid JSON");
        refused(new TarBuilder().file("oci-layout", SmallImage.layout())
                .file("index.json", "{\"schemaVersion\":2,\"manifests\":[],\"manifests\":[]}".getBytes())
                .write(file("dup.tar")), Kind.VERIFICATION, "index.json is invalid");
        refused(new TarBuilder().file("oci-layout", SmallImage.layout())
                .file("index.json", "{\"schemaVersion\":2,\"manifests\":[]}".getBytes())
                .write(file("none.tar")), Kind.VERIFICATION, "names no references");
        refused(image.bundle(NAME).file("index.json", SmallImage.index(image.manifestDesc(), NAME))
                .write(file("twice.tar")), Kind.VERIFICATION, "entry 'index.json' appears twice");
    }

    @Test
    void oversizedIndexJson() throws IOException {
        byte[] big = new byte[5 * 1024 * 1024];
        java.util.Arrays.fill(big, (byte) ' ');
        refused(new TarBuilder().file("oci-layout", SmallImage.layout()).file("index.json", big)
                .write(file("bigindex.tar")), Kind.VERIFICATION, "index.json is 5242880 bytes, over the 4194304-byte"
                + " limit");
    }

    @Test
    void manifestReferencingAMissingBlobOrWithAWrongSize() throws IOException {
        Descriptor ghost = new Descriptor(MediaTypes.OCI_LAYER, Digest.sha256("ghost".getBytes()), 5);
        byte[] manifest = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"config\":"
                + js(image.configDesc()) + ",\"layers\":["
                + js(ghost) + "]}").getBytes(StandardCharsets.UTF_8);
        Descriptor md = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(manifest), manifest.length);
        refused(new TarBuilder().file("oci-layout", SmallImage.layout()).file("index.json", SmallImage.index(md, NAME))
                .file(SmallImage.path(md), manifest).file(SmallImage.path(image.configDesc()), image.config())
                .write(file("ghost.tar")), Kind.VERIFICATION, "blob " + ghost.digest(), "is missing");

        Descriptor wrongSize = new Descriptor(MediaTypes.OCI_LAYER, image.layerDesc().digest(),
                image.layerDesc().size() + 1);
        byte[] m2 = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_MANIFEST + "\",\"config\":"
                + js(image.configDesc()) + ",\"layers\":["
                + js(wrongSize) + "]}").getBytes(StandardCharsets.UTF_8);
        Descriptor md2 = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(m2), m2.length);
        refused(new TarBuilder().file("oci-layout", SmallImage.layout()).file("index.json", SmallImage.index(md2, NAME))
                .file(SmallImage.path(md2), m2).file(SmallImage.path(image.configDesc()), image.config())
                .file(SmallImage.path(image.layerDesc()), image.layer()).write(file("size.tar")),
                Kind.VERIFICATION, "its descriptor says " + wrongSize.size());

        byte[] notJson = "this is no manifest".getBytes(StandardCharsets.UTF_8);
        Descriptor md3 = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(notJson), notJson.length);
        refused(new TarBuilder().file("oci-layout", SmallImage.layout()).file("index.json", SmallImage.index(md3, NAME))
                .file(SmallImage.path(md3), notJson).write(file("notjson.tar")), Kind.VERIFICATION,
                "manifest " + md3.digest() + " of " + NAME + " is invalid");
    }

    @Test
    void compressionBombStopsAtTheLimit() throws IOException {
        String bomb = "blobs/sha256/" + Digest.sha256("bomb".getBytes()).hex();
        ImportOptions small = ImportOptions.defaults().withMaxTotalBytes(1 << 20);
        Path gz = image.bundle(NAME).zeros(bomb, 64L << 20).write(file("bomb.tar.gz"), Compression.GZIP);
        assertThat(Files.size(gz)).isLessThan(1 << 20);
        refused(gz, small, Kind.VERIFICATION, "expands to more than 1048576 bytes",
                "ImportOptions.withMaxTotalBytes");
        Path zst = image.bundle(NAME).zeros(bomb, 64L << 20).write(file("bomb.tar.zst"), Compression.ZSTD);
        refused(zst, small, Kind.VERIFICATION, "expands to more than 1048576 bytes");
    }

    @Test
    void tooManyEntries() throws IOException {
        refused(image.bundle(NAME).write(file("many.tar")), ImportOptions.defaults().withMaxEntries(4),
                Kind.VERIFICATION, "has more than 4 entries");
    }

    @Test
    void truncatedBundlesLeaveNoPartialFile() throws IOException {
        byte[] big = dev.davit.oci.testkit.Fixtures.randomBytes(300_000, 3);
        Descriptor bigDesc = new Descriptor(MediaTypes.OCI_LAYER, Digest.sha256(big), big.length);
        for (Compression c : Compression.values()) {
            Path p = new TarBuilder().file("oci-layout", SmallImage.layout())
                    .file("index.json", SmallImage.index(image.manifestDesc(), NAME))
                    .file(SmallImage.path(bigDesc), big).write(file("cut-" + c + ".tar"), c);
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.setLength(f.length() * 2 / 3);
            }
            refused(p, Kind.VERIFICATION, "truncated or corrupt");
        }
    }

    @Test
    void notABundleAtAll() throws IOException {
        Path text = Files.writeString(file("notes.txt"), "hello, this is not a tar file at all\n".repeat(30));
        refused(text, Kind.VERIFICATION, "is not a readable tar archive");
        Path empty = Files.write(file("empty"), new byte[0]);
        refused(empty, Kind.VERIFICATION, "is empty");
        refused(file("nowhere.tar"), Kind.NOT_FOUND, "does not exist");
        Path xz = Files.write(file("x.tar.xz"), new byte[] {(byte) 0xfd, '7', 'z', 'X', 'Z', 0, 0, 0});
        refused(xz, Kind.USAGE, "compressed with xz");
    }

    @Test
    void namesThatAreNotReferences() throws IOException {
        Path shortName = image.bundle("latest").write(file("short.tar"));
        refused(shortName, Kind.USAGE, "entry 'latest' is not a reference: a bare tag names no repository",
                "ImportOptions.withAs(REF)", "ImportOptions.withMap('latest'=REF)",
                "ImportOptions.withRepository(REPO)");
        Path unnamed = new TarBuilder().file("oci-layout", SmallImage.layout())
                .file("index.json", SmallImage.index(image.manifestDesc()))
                .file(SmallImage.path(image.manifestDesc()), image.manifest()).write(file("unnamed.tar"));
        refused(unnamed, Kind.USAGE, "has no name", "ImportOptions.withAs(REF)");
        Path two = new TarBuilder().file("oci-layout", SmallImage.layout())
                .file("index.json", SmallImage.index(image.manifestDesc(), "a", "b")).write(file("two.tar"));
        refused(two, ImportOptions.defaults().withAs("registry.example/x:1"), Kind.USAGE,
                "ImportOptions.withAs names one reference", "has 2 entries");
        refused(two, ImportOptions.defaults().withRepository("registry.example/x").withMap(
                java.util.Map.of("a", "registry.example/x:b")), Kind.USAGE, "would name registry.example/x:b twice");
        refused(shortName, ImportOptions.defaults().withMap(java.util.Map.of("nope", "registry.example/x:1")),
                Kind.USAGE, "entry 'latest' is not a reference");
        String wrongDigest = "registry.example/x@" + Digest.sha256("other".getBytes());
        refused(shortName, ImportOptions.defaults().withAs(wrongDigest), Kind.USAGE, "but the bundle entry is "
                + image.manifestDesc().digest());
    }
}
