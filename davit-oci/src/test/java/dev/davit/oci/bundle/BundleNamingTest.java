package dev.davit.oci.bundle;

import static dev.davit.oci.ErrorAssert.assertDavitError;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.store.StoreEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How an import names a bundle's entries: a ref name that is a reference is normalised as everywhere in davit
 * ({@code imported/tiny:2} is {@code docker.io/imported/tiny:2}); a bare tag or an invalid name needs {@code --as},
 * {@code --map} or {@code --repo}, which also override names that are references.
 */
class BundleNamingTest {
    static final String TINY = "docker.io/imported/tiny:2";

    @TempDir
    Path dir;

    OciStore store;
    SmallImage image = SmallImage.of("a layer named by other tools");

    @BeforeEach
    void open() {
        store = OciStore.open(dir.resolve("store"));
    }

    private ImportResult importBundle(Path bundle, ImportOptions options) {
        return new BundleImporter(store).importBundle(bundle, options, ProgressListener.NONE);
    }

    private Path bundle(String file, String... names) {
        return image.bundle(names).write(dir.resolve(file));
    }

    @Test
    void namesThatAreReferencesAreNormalised() {
        Digest d = image.manifestDesc().digest();
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("imported/tiny:2", TINY);
        cases.put("imported/tiny", "docker.io/imported/tiny:latest");
        cases.put("alpine:3.20", "docker.io/library/alpine:3.20");
        cases.put("index.docker.io/imported/tiny:2", TINY);
        cases.put("reg.lan:5000/team/app", "reg.lan:5000/team/app:latest");
        cases.put("127.0.0.1:5000/team/app:1", "127.0.0.1:5000/team/app:1");
        cases.put("imported/tiny@" + d, "docker.io/imported/tiny@" + d);
        cases.put("imported/tiny:2@" + d, "docker.io/imported/tiny:2@" + d);
        cases.forEach((name, normalized) -> assertThat(RefNames.normalized(name)).as(name).isEqualTo(normalized));
    }

    @Test
    void bareTagsDigestsAndInvalidNamesAreNoReferences() {
        Digest d = image.manifestDesc().digest();
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("latest", "a bare tag names no repository");
        cases.put("alpine", "a bare tag names no repository");
        cases.put("v1.0-rc1", "a bare tag names no repository");
        cases.put(".hidden", "neither a tag nor a reference");
        cases.put(d.toString(), "a digest names no repository");
        cases.put("Imported/Tiny:2", "lower-case");
        cases.put("imported/tiny:-2", "the tag '-2'");
        cases.put("imported/tiny:", "the tag ''");
        cases.put("a:b:c", "repository path components");
        cases.put("imported//tiny:2", "repository path components");
        cases.put("bad_host.example/tiny:2", "'bad_host.example' is not a valid registry");
        cases.forEach((name, why) -> {
            assertThat(RefNames.reference(name)).as(name).isNull();
            assertThat(RefNames.problem(name)).as(name).contains(why).doesNotContain("invalid reference");
        });
        assertThat(RefNames.reference(null)).isNull();
        assertThat(RefNames.problem("imported/tiny:2")).isNull();
        assertThat(RefNames.isTag("latest")).isTrue();
        assertThat(RefNames.isTag("imported/tiny")).isFalse();
    }

    @Test
    void importsAnEntryUnderItsNormalisedName() {
        Path b = bundle("tiny.tar", "imported/tiny:2");
        assertThat(new BundleInspector().inspect(b).refs()).singleElement().satisfies(r -> {
            assertThat(r.name()).isEqualTo("imported/tiny:2");
            assertThat(r.reference()).isEqualTo(TINY);
        });
        ImportResult r = importBundle(b, ImportOptions.defaults());
        assertThat(r.refs()).singleElement().satisfies(ref -> {
            assertThat(ref.bundleName()).isEqualTo("imported/tiny:2");
            assertThat(ref.reference().toString()).isEqualTo(TINY);
        });
        StoreEntry e = store.entry(TINY).orElseThrow();
        assertThat(e.descriptor().digest()).isEqualTo(image.manifestDesc().digest());
        assertThat(e.descriptor().annotation(OciStore.REF_NAME)).isEqualTo(TINY);
        assertThat(store.entries()).hasSize(1);
        assertThat(store.fsck(false).problems()).isEmpty();
    }

    @Test
    void asAndMapOverrideANameThatIsAReference() {
        Path b = bundle("tiny.tar", "imported/tiny:2");
        importBundle(b, ImportOptions.defaults().withAs("registry.example/by-as:1"));
        importBundle(b, ImportOptions.defaults().withMap(Map.of("imported/tiny:2", "registry.example/as-written:1")));
        importBundle(b, ImportOptions.defaults().withMap(Map.of(TINY, "registry.example/normalised:1")));
        importBundle(b, ImportOptions.defaults().withMap(Map.of(image.manifestDesc().digest().toString(),
                "registry.example/by-digest:1")));
        assertThat(store.entries()).extracting(StoreEntry::name).containsExactlyInAnyOrder(
                "registry.example/by-as:1", "registry.example/as-written:1", "registry.example/normalised:1",
                "registry.example/by-digest:1");
        assertDavitError(() -> importBundle(b, ImportOptions.defaults().withMap(Map.of("tiny:2", "registry.example/x:1"))),
                Kind.USAGE, "ImportOptions.withMap(tiny:2=...)", "has no entry named so");
    }

    @Test
    void aNameWithADigestMustMatchTheEntry() {
        Digest d = image.manifestDesc().digest();
        importBundle(bundle("pinned.tar", "imported/tiny@" + d), ImportOptions.defaults());
        assertThat(store.entry("docker.io/imported/tiny@" + d)).isPresent();
        Digest other = Digest.sha256("other".getBytes());
        assertDavitError(() -> importBundle(bundle("wrong.tar", "imported/tiny@" + other), ImportOptions.defaults()),
                Kind.VERIFICATION, "docker.io/imported/tiny@" + other + " names digest", "but the bundle entry is " + d);
    }

    @Test
    void aBareTagNeedsTheUserAndTheErrorNamesEveryFix() throws IOException {
        Path mixed = bundle("mixed.tar", "imported/tiny:2", "latest");
        byte[] before = Files.readAllBytes(store.root().resolve("index.json"));
        assertDavitError(() -> importBundle(mixed, ImportOptions.defaults()), Kind.USAGE,
                "entry 'latest' is not a reference: a bare tag names no repository",
                "ImportOptions.withAs(REF)", "ImportOptions.withMap('latest'=REF)",
                "ImportOptions.withRepository(REPO) (as REPO:latest)");
        assertThat(Files.readAllBytes(store.root().resolve("index.json"))).as("no reference added").isEqualTo(before);

        ImportResult r = importBundle(mixed, ImportOptions.defaults().withRepository("registry.example/team/tiny"));
        assertThat(r.refs()).extracting(x -> x.reference().toString())
                .containsExactly(TINY, "registry.example/team/tiny:latest");

        Path invalid = bundle("invalid.tar", "Imported/Tiny:2");
        assertDavitError(() -> importBundle(invalid, ImportOptions.defaults().withRepository("registry.example/r")),
                Kind.USAGE, "entry 'Imported/Tiny:2' is not a reference: repository names must be lower-case",
                "ImportOptions.withAs(REF)", "ImportOptions.withMap('Imported/Tiny:2'=REF)");
        assertThat(importBundle(invalid, ImportOptions.defaults().withMap(Map.of("Imported/Tiny:2",
                "registry.example/fixed:2"))).refs().get(0).reference().toString()).isEqualTo("registry.example/fixed:2");
        String digestName = image.manifestDesc().digest().toString();
        var e = assertDavitError(() -> importBundle(bundle("digest.tar", digestName), ImportOptions.defaults()),
                Kind.USAGE, "a digest names no repository", "ImportOptions.withAs(REF)");
        assertThat(e.getMessage()).doesNotContain("ImportOptions.withRepository");
    }

    @Test
    void twoNamesForTheSameReferenceAreRefused() {
        Path b = bundle("twice.tar", "imported/tiny:2", TINY);
        assertDavitError(() -> importBundle(b, ImportOptions.defaults()), Kind.USAGE,
                "would name " + TINY + " twice", "ImportOptions.withMap(NAME=REF)");
        ImportResult r = importBundle(b, ImportOptions.defaults().withMap(Map.of("imported/tiny:2",
                "registry.example/other:2")));
        assertThat(r.refs()).extracting(x -> x.reference().toString())
                .containsExactly("registry.example/other:2", TINY);
        assertThat(Arrays.asList(r.refs().get(0).bundleName(), r.refs().get(1).bundleName()))
                .containsExactly("imported/tiny:2", TINY);
    }
}
