package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** images, inspect, rm, gc and fsck against a store populated without a registry. */
class StoreCommandsTest {
    static final String NAME = "registry.example/team/app:1.0";

    @TempDir
    Path home;

    Path storeDir;
    OciStore store;
    TestImages.Image image;
    Cli cli;

    @BeforeEach
    void setUp() {
        storeDir = home.resolve("store");
        store = OciStore.open(storeDir);
        image = TestImages.put(store, NAME, "layer content of app");
        cli = new Cli(home);
    }

    private static List<String> keys(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void imagesJson() {
        TestImages.put(store, "registry.example/team/other:2", "another layer");
        Cli.Result r = cli.run("--json", "images");
        assertThat(r.rc()).as(r.toString()).isZero();
        JsonNode doc = r.json();
        assertThat(keys(doc)).containsExactly("images");
        assertThat(doc.get("images")).hasSize(2);
        JsonNode app = doc.get("images").get(0);
        assertThat(keys(app)).containsExactly("name", "digest", "media_type", "platform", "size", "resolved_digest",
                "resolved_at");
        assertThat(app.get("name").asText()).isEqualTo(NAME);
        assertThat(app.get("digest").asText()).isEqualTo(image.manifest().digest().toString());
        assertThat(app.get("platform").asText()).isEqualTo("linux/arm64/v8");
        assertThat(app.get("size").asLong()).isEqualTo(image.graphSize());
        assertThat(app.get("resolved_at").asText()).isEqualTo("2024-05-01T10:00:00Z");
        assertThat(r.stderr()).isEmpty();
    }

    @Test
    void imagesTableForHumans() {
        Cli.Result r = cli.run("images");
        assertThat(r.rc()).isZero();
        List<String> lines = r.stdout().lines().toList();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).startsWith("NAME").contains("DIGEST", "PLATFORM", "SIZE", "RESOLVED");
        assertThat(lines.get(1)).contains(NAME, image.manifest().digest().shortHex(), "linux/arm64/v8", "ago")
                .doesNotContain(image.manifest().digest().hex());
        assertThat(cli.run("images", "--no-trunc").stdout()).contains(image.manifest().digest().hex());
    }

    @Test
    void storeOptionOverridesDavitHome() {
        Path other = home.resolve("elsewhere");
        Cli.Result r = cli.run("images", "--store", other.toString(), "--json");
        assertThat(r.json().get("images")).isEmpty();
        assertThat(Files.exists(other.resolve("oci-layout"))).isTrue();
    }

    @Test
    void inspectFromTheStore() {
        Cli.Result r = cli.run("inspect", "--json", NAME);
        assertThat(r.rc()).as(r.toString()).isZero();
        JsonNode doc = r.json();
        assertThat(keys(doc)).containsExactly("reference", "name", "source", "digest", "media_type", "size",
                "platform", "resolved_digest", "resolved_at", "manifest", "config", "annotations");
        assertThat(doc.get("source").asText()).isEqualTo("store");
        assertThat(doc.get("digest").asText()).isEqualTo(image.manifest().digest().toString());
        assertThat(doc.get("size").asLong()).isEqualTo(image.manifest().size());
        assertThat(doc.at("/manifest/layers/0/digest").asText()).isEqualTo(image.layer().digest().toString());
        assertThat(doc.at("/config/architecture").asText()).isEqualTo("arm64");
        assertThat(doc.at("/annotations/org.opencontainers.image.title").asText()).isEqualTo("test " + NAME);

        Cli.Result human = cli.run("inspect", NAME);
        assertThat(human.stdout()).contains("digest:", image.manifest().digest().toString(), "manifest:", "config:",
                "linux/arm64/v8");
    }

    @Test
    void inspectRawPrintsTheManifestBytesExactly() {
        Cli.Result r = cli.run("inspect", "--raw", NAME);
        assertThat(r.rc()).isZero();
        assertThat(r.stdoutBytes()).isEqualTo(image.manifestBytes());
    }

    @Test
    void inspectOfSomethingNotPulled() {
        Cli.Result r = cli.run("inspect", "alpine:3.20");
        assertThat(r.rc()).isEqualTo(3);
        UsageTest.assertOneErrorLine(r, "not in the store");
        Cli.Result j = cli.run("inspect", "alpine:3.20", "--json");
        assertThat(j.rc()).isEqualTo(3);
        JsonNode e = j.json().get("error");
        assertThat(keys(e)).containsExactly("kind", "message", "exit_code");
        assertThat(e.get("kind").asText()).isEqualTo("not_found");
        assertThat(e.get("exit_code").asInt()).isEqualTo(3);
        assertThat(e.get("message").asText()).contains("docker.io/library/alpine:3.20");
    }

    @Test
    void rmThenGc() {
        Cli.Result rm = cli.run("--json", "rm", NAME);
        assertThat(rm.rc()).as(rm.toString()).isZero();
        assertThat(keys(rm.json())).containsExactly("reference", "name", "removed");
        assertThat(rm.json().get("removed").asBoolean()).isTrue();
        assertThat(store.entries()).isEmpty();

        Cli.Result again = cli.run("rm", NAME);
        assertThat(again.rc()).isEqualTo(3);
        UsageTest.assertOneErrorLine(again, "not in the store");
        Cli.Result forced = cli.run("rm", "-f", "--json", NAME);
        assertThat(forced.rc()).isZero();
        assertThat(forced.json().get("removed").asBoolean()).isFalse();

        Cli.Result gc = cli.run("gc", "--json");
        assertThat(gc.rc()).isZero();
        assertThat(keys(gc.json())).containsExactly("removed_blobs", "freed_bytes", "removed_temp_files",
                "removed_unpacked", "unpacked_freed_bytes");
        assertThat(gc.json().get("removed_blobs").asInt()).isEqualTo(3);
        assertThat(gc.json().get("freed_bytes").asLong()).isEqualTo(image.graphSize());
        assertThat(store.hasBlob(image.layer().digest())).isFalse();

        Cli.Result human = cli.run("gc");
        assertThat(human.stdout()).contains("removed 0 blobs");
    }

    @Test
    void rmForHumansHintsAtGc() {
        Cli.Result r = cli.run("rm", NAME);
        assertThat(r.stdout()).isEqualTo("removed " + NAME + System.lineSeparator());
        assertThat(r.stderr()).contains("davit gc");
        Cli.Result quiet = cli.run("rm", "-f", "-q", NAME);
        assertThat(quiet.stderr()).isEmpty();
    }

    @Test
    void gcKeepsWhatIsReferenced() {
        Cli.Result gc = cli.run("--json", "gc");
        assertThat(gc.json().get("removed_blobs").asInt()).isZero();
        assertThat(store.hasBlob(image.layer().digest())).isTrue();
    }

    @Test
    void fsckOfACleanStore() {
        Cli.Result r = cli.run("fsck", "--json");
        assertThat(r.rc()).as(r.toString()).isZero();
        JsonNode doc = r.json();
        assertThat(keys(doc)).containsExactly("blobs_checked", "entries_checked", "clean", "problems", "repaired");
        assertThat(doc.get("clean").asBoolean()).isTrue();
        assertThat(doc.get("blobs_checked").asInt()).isEqualTo(3);
        assertThat(doc.get("entries_checked").asInt()).isEqualTo(1);
        assertThat(cli.run("fsck").stdout()).contains("clean");
    }

    @Test
    void fsckFindsAndRepairsACorruptBlob() throws IOException {
        Files.writeString(store.blobPath(image.layer().digest()), "tampered", StandardCharsets.UTF_8);

        Cli.Result r = cli.run("--json", "fsck");
        assertThat(r.rc()).isEqualTo(6);
        JsonNode doc = r.json();
        assertThat(doc.get("clean").asBoolean()).isFalse();
        JsonNode p = doc.get("problems").get(0);
        assertThat(keys(p)).containsExactly("kind", "subject", "message");
        assertThat(p.get("kind").asText()).isEqualTo("corrupt-blob");
        assertThat(p.get("subject").asText()).isEqualTo(image.layer().digest().toString());
        UsageTest.assertOneErrorLine(r, "fsck found");

        Cli.Result human = cli.run("fsck");
        assertThat(human.rc()).isEqualTo(6);
        assertThat(human.stdout()).contains("corrupt-blob");

        Cli.Result repair = cli.run("fsck", "--repair", "--json");
        assertThat(repair.rc()).isEqualTo(6);
        assertThat(repair.json().get("repaired").asInt()).isEqualTo(1);
        assertThat(store.hasBlob(image.layer().digest())).isFalse();

        Cli.Result after = cli.run("fsck", "--json");
        assertThat(after.rc()).isEqualTo(6);
        assertThat(after.json().get("problems").get(0).get("kind").asText()).isEqualTo("missing-blob");
    }

    @Test
    void storeThatIsAFileIsAStoreError() throws IOException {
        Path file = Files.writeString(home.resolve("not-a-dir"), "x");
        Cli.Result r = cli.run("images", "--store", file.toString());
        assertThat(r.rc()).isEqualTo(7);
        UsageTest.assertOneErrorLine(r, "not a directory");
        Cli.Result j = cli.run("images", "--store", file.toString(), "--json");
        assertThat(j.json().at("/error/kind").asText()).isEqualTo("store");
        assertThat(j.json().at("/error/exit_code").asInt()).isEqualTo(7);
    }

    @Test
    void debugPrintsTheStackTrace() throws IOException {
        Path file = Files.writeString(home.resolve("not-a-dir"), "x");
        Cli.Result r = cli.run("images", "--store", file.toString(), "--debug");
        assertThat(r.rc()).isEqualTo(7);
        assertThat(r.stderr()).startsWith("davit: error: ").contains("\tat dev.davit.");
    }
}
