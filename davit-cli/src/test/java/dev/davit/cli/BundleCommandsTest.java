package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.store.OciStore;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** export, import and bundle inspect, in-process, human and JSON output, exit codes. */
class BundleCommandsTest {
    static final String NAME = "registry.example/team/app:1.0";
    static final String OTHER = "registry.example/team/other:2";

    @TempDir
    Path home;

    @TempDir
    Path otherHome;

    OciStore store;
    TestImages.Image image;
    Cli cli;
    Cli fresh;

    @BeforeEach
    void setUp() {
        store = OciStore.open(home.resolve("store"));
        image = TestImages.put(store, NAME, "layer content of app");
        TestImages.put(store, OTHER, "another layer");
        cli = new Cli(home);
        fresh = new Cli(otherHome);
    }

    private static List<String> keys(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void exportJson() throws IOException {
        Path file = home.resolve("env.tar.gz");
        Cli.Result r = cli.run("--json", "export", NAME, OTHER, file.toString(), "--name", "base-env", "--kind",
                "environment", "--parent", "sha256:" + "0".repeat(64), "--created", "2024-06-01T12:00:00Z",
                "--recipe", "pull app\npull other");
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.stderr()).isEmpty();
        JsonNode doc = r.json();
        assertThat(keys(doc)).containsExactly("file", "compression", "size", "digest", "blobs", "content_size",
                "verified", "elapsed_ms", "metadata", "references");
        assertThat(doc.get("file").asText()).isEqualTo(file.toString());
        assertThat(doc.get("compression").asText()).isEqualTo("gzip");
        assertThat(doc.get("size").asLong()).isEqualTo(Files.size(file));
        assertThat(doc.get("blobs").asInt()).isEqualTo(5); // two manifests, one shared config, two layers
        assertThat(doc.get("verified").asBoolean()).isTrue();
        assertThat(keys(doc.get("metadata"))).containsExactly("name", "kind", "parent", "created", "recipe");
        assertThat(doc.at("/metadata/created").asText()).isEqualTo("2024-06-01T12:00:00Z");
        assertThat(doc.at("/metadata/recipe").asText()).isEqualTo("pull app\npull other");
        JsonNode ref = doc.get("references").get(0);
        assertThat(keys(ref)).containsExactly("name", "reference", "digest", "media_type", "artifact_type",
                "platforms", "size", "complete", "annotations");
        assertThat(ref.get("name").asText()).isEqualTo(NAME);
        assertThat(ref.get("reference").asText()).isEqualTo(NAME);
        assertThat(ref.get("digest").asText()).isEqualTo(image.manifest().digest().toString());
        assertThat(ref.get("platforms")).hasSize(1);
        assertThat(ref.get("platforms").get(0).asText()).isEqualTo("linux/arm64/v8");
        assertThat(ref.get("size").asLong()).isEqualTo(image.graphSize());
        assertThat(ref.at("/annotations/org.opencontainers.image.ref.name").asText()).isEqualTo(NAME);
    }

    @Test
    void exportImportInspectForHumans() {
        Path file = home.resolve("app.tar");
        Cli.Result ex = cli.run("export", NAME, file.toString(), "--name", "app-bundle");
        assertThat(ex.rc()).as(ex.toString()).isZero();
        assertThat(ex.stdout()).contains("exported 1 reference to " + file, "none;", "verified", "name:", "app-bundle",
                NAME, image.manifest().digest().shortHex(), "linux/arm64/v8");
        assertThat(ex.stderr()).contains("writing bundle", "verifying", "done");

        Cli.Result in = fresh.run("import", file.toString());
        assertThat(in.rc()).as(in.toString()).isZero();
        assertThat(in.stdout()).contains("imported 1 reference from " + file, "3 verified (3 new", NAME, "added");
        assertThat(in.stderr()).contains("reading bundle", "verifying", "done");
        assertThat(fresh.run("images").stdout()).contains(NAME);
        assertThat(fresh.run("fsck").rc()).isZero();
        assertThat(fresh.run("import", file.toString()).stdout()).contains("unchanged");

        Cli.Result info = fresh.run("bundle", "inspect", file.toString());
        assertThat(info.rc()).as(info.toString()).isZero();
        assertThat(info.stdout()).contains("bundle " + file, "OCI layout 1.0.0, none", "app-bundle", "NAME", "DIGEST",
                "PLATFORMS", NAME, "linux/arm64/v8");
    }

    @Test
    void importsAnArchiveBySkopeoByItsNormalisedName() {
        Tools.assumeAvailable(Tools.SKOPEO);
        Path file = home.resolve("app.tar");
        assertThat(cli.run("-q", "export", NAME, file.toString()).rc()).isZero();
        Path named = home.resolve("named.tar");
        Path tagged = home.resolve("tagged.tar");
        Tools.run(Tools.SKOPEO, "--insecure-policy", "copy", "oci-archive:" + file + ":" + NAME,
                "oci-archive:" + named + ":imported/tiny:2");
        Tools.run(Tools.SKOPEO, "--insecure-policy", "copy", "oci-archive:" + file + ":" + NAME,
                "oci-archive:" + tagged + ":latest");

        Cli.Result info = fresh.run("bundle", "inspect", named.toString());
        assertThat(info.rc()).as(info.toString()).isZero();
        assertThat(info.stdout()).contains("imported/tiny:2 (docker.io/imported/tiny:2)");
        Cli.Result in = fresh.run("import", named.toString());
        assertThat(in.rc()).as(in.toString()).isZero();
        assertThat(in.stdout()).contains("docker.io/imported/tiny:2", "added", "(from 'imported/tiny:2')");
        assertThat(fresh.run("images").stdout()).contains("docker.io/imported/tiny");

        Cli.Result bare = fresh.run("-q", "import", tagged.toString());
        assertThat(bare.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(bare, "entry 'latest' is not a reference: a bare tag names no repository;"
                + " import it with --as REF (one-entry bundles), --map 'latest'=REF or --repo REPO");
        Cli.Result repo = fresh.run("import", tagged.toString(), "--repo", "registry.example/tiny");
        assertThat(repo.rc()).as(repo.toString()).isZero();
        assertThat(repo.stdout()).contains("registry.example/tiny:latest", "added");
    }

    @Test
    void importAndInspectJson() {
        Path file = home.resolve("app.tar.zst");
        assertThat(cli.run("-q", "export", NAME, file.toString()).rc()).isZero();
        Cli.Result r = fresh.run("--json", "import", file.toString(), "--as", "registry.example/copy:9");
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.stderr()).isEmpty();
        JsonNode doc = r.json();
        assertThat(keys(doc)).containsExactly("file", "compression", "blobs", "stored_blobs", "cached_blobs",
                "content_size", "elapsed_ms", "metadata", "references");
        assertThat(doc.get("compression").asText()).isEqualTo("zstd");
        assertThat(doc.get("blobs").asInt()).isEqualTo(3);
        assertThat(doc.get("stored_blobs").asInt()).isEqualTo(3);
        assertThat(doc.get("metadata").get("name").isNull()).isTrue();
        JsonNode ref = doc.get("references").get(0);
        assertThat(keys(ref)).containsExactly("name", "bundle_name", "digest", "media_type", "previous_digest",
                "status");
        assertThat(ref.get("name").asText()).isEqualTo("registry.example/copy:9");
        assertThat(ref.get("bundle_name").asText()).isEqualTo(NAME);
        assertThat(ref.get("previous_digest").isNull()).isTrue();
        assertThat(ref.get("status").asText()).isEqualTo("added");

        Cli.Result i = cli.run("--json", "bundle", "inspect", file.toString());
        assertThat(i.rc()).as(i.toString()).isZero();
        JsonNode info = i.json();
        assertThat(keys(info)).containsExactly("file", "compression", "size", "layout_version", "metadata",
                "annotations", "blobs", "content_size", "complete", "references");
        assertThat(info.get("complete").asBoolean()).isTrue();
        assertThat(info.get("references").get(0).get("digest").asText()).isEqualTo(image.manifest().digest().toString());
    }

    @Test
    void errorsAreOneLineWithTheDocumentedExitCodes() throws IOException {
        Cli.Result missing = cli.run("export", "registry.example/none:1", home.resolve("x.tar").toString());
        assertThat(missing.rc()).isEqualTo(3);
        UsageTest.assertOneErrorLine(missing, "registry.example/none:1 is not in the store");

        Cli.Result oneArg = cli.run("export", NAME);
        assertThat(oneArg.rc()).isEqualTo(2);

        Path broken = Files.write(home.resolve("broken.tar"), "not a tar archive at all".repeat(40).getBytes());
        byte[] indexBefore = Files.readAllBytes(home.resolve("store/index.json"));
        Cli.Result bad = cli.run("-q", "import", broken.toString());
        assertThat(bad.rc()).isEqualTo(6);
        UsageTest.assertOneErrorLine(bad, "is not a readable tar archive");
        assertThat(Files.readAllBytes(home.resolve("store/index.json"))).isEqualTo(indexBefore);

        Cli.Result badJson = cli.run("--json", "import", broken.toString());
        assertThat(badJson.json().at("/error/kind").asText()).isEqualTo("verification");
        assertThat(badJson.json().at("/error/exit_code").asInt()).isEqualTo(6);

        Cli.Result noFile = cli.run("bundle", "inspect", home.resolve("nowhere.tar").toString());
        assertThat(noFile.rc()).isEqualTo(3);
        UsageTest.assertOneErrorLine(noFile, "does not exist");

        Cli.Result noSub = cli.run("bundle");
        assertThat(noSub.rc()).isEqualTo(2);
        assertThat(noSub.stderr()).contains("no bundle command given", "inspect");

        Path file = home.resolve("ok.tar");
        assertThat(cli.run("-q", "export", NAME, file.toString()).rc()).isZero();
        Cli.Result size = fresh.run("import", file.toString(), "--max-size", "lots");
        assertThat(size.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(size, "invalid size 'lots'");
        Cli.Result limit = fresh.run("-q", "import", file.toString(), "--max-size", "1kB");
        assertThat(limit.rc()).isEqualTo(6);
        UsageTest.assertOneErrorLine(limit, "expands to more than 1000 bytes");
        Cli.Result compress = cli.run("export", NAME, file.toString(), "--compress", "lz4");
        assertThat(compress.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(compress, "unknown compression 'lz4'");
        Cli.Result twoNames = fresh.run("import", file.toString(), "--as", "registry.example/a:1", "--repo",
                "registry.example/b");
        assertThat(twoNames.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(twoNames, "cannot be combined");
    }

    @Test
    void sizes() {
        assertThat(ImportCommand.parseSize("123")).isEqualTo(123);
        assertThat(ImportCommand.parseSize("500MB")).isEqualTo(500_000_000L);
        assertThat(ImportCommand.parseSize("1.5g")).isEqualTo(1_500_000_000L);
        assertThat(ImportCommand.parseSize("8GiB")).isEqualTo(8L << 30);
    }
}
