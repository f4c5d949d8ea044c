package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code davit build}: human and JSON output, options, SOURCE_DATE_EPOCH, usage errors, a base from a registry. */
class BuildCommandTest {
    @TempDir
    Path home;

    Path src;
    Cli cli;

    @BeforeEach
    void setUp() throws IOException {
        src = home.resolve("src");
        Files.createDirectories(src.resolve("bin"));
        Files.writeString(src.resolve("hello.txt"), "hello\n");
        Files.writeString(src.resolve("bin/run.sh"), "#!/bin/sh\necho hi\n");
        cli = new Cli(home);
    }

    private String realSrc() {
        try {
            return src.toRealPath().toString();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> keys(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void buildPrintsPhasesAndTheResultAndInspectShowsTheConfig() {
        Cli.Result r = cli.run("build", src.toString(), "my/app:1", "--cmd", "/bin/run.sh", "--cmd", "-x",
                "--env", "A=1", "--env", "B=2", "--label", "team=core", "--workdir", "/srv", "--user", "1000",
                "--expose", "8080");
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.stdout()).startsWith("built docker.io/my/app:1\n").contains("  digest:   sha256:",
                "  platform: linux/", "  layer:    sha256:", "(gzip, ", "3 entries", "  size:     ", "(1 layer)");
        assertThat(r.stderr()).contains("building layer " + realSrc() + " (gzip)",
                "writing config and manifest", "done");

        JsonNode inspect = cli.run("--json", "inspect", "my/app:1").json();
        assertThat(inspect.at("/config/config/Cmd").toString()).isEqualTo("[\"/bin/run.sh\",\"-x\"]");
        assertThat(inspect.at("/config/config/Env").toString()).isEqualTo("[\"A=1\",\"B=2\"]");
        assertThat(inspect.at("/config/config/Labels/team").asText()).isEqualTo("core");
        assertThat(inspect.at("/config/config/WorkingDir").asText()).isEqualTo("/srv");
        assertThat(inspect.at("/config/config/User").asText()).isEqualTo("1000");
        assertThat(inspect.at("/config/config/ExposedPorts").toString()).isEqualTo("{\"8080/tcp\":{}}");
        assertThat(inspect.at("/config").has("created")).isFalse();
        assertThat(cli.run("images").stdout()).contains("docker.io/my/app:1", "linux/");
        assertThat(cli.run("fsck").rc()).isZero();
    }

    @Test
    void jsonIsOneDocumentAndARebuildIsIdentical() {
        Cli.Result r = cli.run("--json", "build", src.toString(), "my/app:1", "--compression", "zstd",
                "--cmd", "[\"sh\",\"-c\",\"echo hi\"]");
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.stderr()).isEmpty();
        JsonNode doc = r.json();
        assertThat(keys(doc)).containsExactly("reference", "name", "digest", "media_type", "platform", "size", "base",
                "base_digest", "base_pulled", "config", "layer", "layers", "elapsed_ms");
        assertThat(doc.get("reference").asText()).isEqualTo("my/app:1");
        assertThat(doc.get("name").asText()).isEqualTo("docker.io/my/app:1");
        assertThat(doc.get("media_type").asText()).isEqualTo("application/vnd.oci.image.manifest.v1+json");
        assertThat(doc.get("base").isNull()).isTrue();
        assertThat(doc.get("base_pulled").asBoolean()).isFalse();
        assertThat(keys(doc.get("config"))).containsExactly("digest", "media_type", "size");
        JsonNode layer = doc.get("layer");
        assertThat(keys(layer)).containsExactly("digest", "media_type", "size", "diff_id", "compression", "tar_size",
                "entries", "cached", "skipped");
        assertThat(layer.get("media_type").asText()).isEqualTo("application/vnd.oci.image.layer.v1.tar+zstd");
        assertThat(layer.get("compression").asText()).isEqualTo("zstd");
        assertThat(layer.get("entries").asInt()).isEqualTo(3);
        assertThat(layer.get("cached").asBoolean()).isFalse();
        assertThat(doc.get("layers")).hasSize(1);
        assertThat(doc.at("/layers/0/diff_id").asText()).isEqualTo(layer.get("diff_id").asText());
        assertThat(doc.get("size").asLong()).isEqualTo(doc.at("/config/size").asLong() + layer.get("size").asLong()
                + sizeOfManifest(doc));

        JsonNode again = cli.run("--json", "build", src.toString(), "my/app:1", "--compression", "zstd",
                "--cmd", "[\"sh\",\"-c\",\"echo hi\"]").json();
        assertThat(again.get("digest")).isEqualTo(doc.get("digest"));
        assertThat(again.at("/layer/cached").asBoolean()).isTrue();
        assertThat(cli.run("--json", "inspect", "my/app:1").json().at("/config/config/Cmd").toString())
                .isEqualTo("[\"sh\",\"-c\",\"echo hi\"]");
    }

    private long sizeOfManifest(JsonNode doc) {
        return cli.run("--json", "inspect", doc.get("name").asText()).json().get("size").asLong();
    }

    @Test
    void sourceDateEpochFixesTimesAndRecordsCreated() {
        JsonNode plain = cli.run("--json", "build", src.toString(), "my/app:1").json();
        Cli.Result r = new Cli(home).env("SOURCE_DATE_EPOCH", "1700000000")
                .run("--json", "build", src.toString(), "my/app:2");
        assertThat(r.rc()).as(r.toString()).isZero();
        JsonNode epoch = r.json();
        assertThat(epoch.at("/layer/digest")).isNotEqualTo(plain.at("/layer/digest"));
        JsonNode config = cli.run("--json", "inspect", "my/app:2").json().get("config");
        assertThat(config.get("created").asText()).isEqualTo("2023-11-14T22:13:20Z");
        JsonNode same = new Cli(home).env("SOURCE_DATE_EPOCH", "1700000000")
                .run("--json", "build", src.toString(), "my/app:3").json();
        assertThat(same.get("digest")).isEqualTo(epoch.get("digest"));
        JsonNode explicit = cli.run("--json", "build", src.toString(), "my/app:4", "--created",
                "2023-11-14T22:13:20Z").json();
        assertThat(explicit.at("/layer/digest")).as("--created leaves file times at 0")
                .isEqualTo(plain.at("/layer/digest"));
        assertThat(cli.run("--json", "inspect", "my/app:4").json().at("/config/created").asText())
                .isEqualTo("2023-11-14T22:13:20Z");
        Cli.Result bad = new Cli(home).env("SOURCE_DATE_EPOCH", "soon").run("build", src.toString(), "my/app:5");
        assertThat(bad.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(bad, "SOURCE_DATE_EPOCH");
    }

    @Test
    void usageErrors() {
        Cli.Result noDir = cli.run("build");
        assertThat(noDir.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(noDir, "Missing required parameters: 'DIR', 'REF'");
        assertThat(noDir.stdout()).isEmpty();

        Cli.Result missing = cli.run("build", home.resolve("nope").toString(), "my/app:1");
        assertThat(missing.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(missing, "directory " + home.resolve("nope") + " does not exist");
        Cli.Result json = cli.run("--json", "build", home.resolve("nope").toString(), "my/app:1");
        assertThat(json.rc()).isEqualTo(2);
        assertThat(json.json().at("/error/kind").asText()).isEqualTo("usage");

        String[][] bad = {
            {"--compression", "none", "--compression-level", "3"},
            {"--compression", "brotli"},
            {"--env", "NOVALUE"},
            {"--cmd", "[\"sh\", 1]"},
            {"--workdir", "relative"},
            {"--platform", "linux/"},
            {"--created", "yesterday"},
            {"--expose", "http"},
        };
        for (String[] opts : bad) {
            List<String> args = new ArrayList<>(List.of("build", src.toString(), "my/app:1"));
            args.addAll(List.of(opts));
            Cli.Result r = cli.run(args.toArray(String[]::new));
            assertThat(r.rc()).as(String.join(" ", opts) + ": " + r).isEqualTo(2);
            UsageTest.assertOneErrorLine(r, "");
        }
        Cli.Result digest = cli.run("build", src.toString(), "my/app@sha256:" + "a".repeat(64));
        assertThat(digest.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(digest, "by digest");
        assertThat(cli.run("--json", "images").json().get("images")).isEmpty();
    }

    @Test
    void specialFilesAreSkippedWithANotice() {
        Tools.run("mkfifo", src.resolve("pipe").toString());
        Cli.Result r = cli.run("build", src.toString(), "my/app:1");
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.stderr()).contains("davit: skipped special file pipe (device nodes, fifos and sockets");
        JsonNode doc = cli.run("--json", "build", src.toString(), "my/app:1").json();
        assertThat(doc.at("/layer/skipped").toString()).isEqualTo("[\"pipe\"]");
    }

    @Test
    void pullsTheBaseWhenItIsNotInTheStore() {
        try (TestRegistry registry = TestRegistry.start()) {
            PushedImage base = Fixtures.pushImage(registry, "cli/base", "1");
            Cli.Result r = cli.run("--json", "build", src.toString(), "my/app:1", "--base", base.reference(),
                    "--env", "DAVIT_FIXTURE=mine");
            assertThat(r.rc()).as(r.toString()).isZero();
            JsonNode doc = r.json();
            assertThat(doc.get("base").asText()).isEqualTo(base.reference());
            assertThat(doc.get("base_digest").asText()).isEqualTo(base.manifestDigest());
            assertThat(doc.get("base_pulled").asBoolean()).isTrue();
            assertThat(doc.get("layers")).hasSize(4);
            for (int i = 0; i < 3; i++) {
                assertThat(doc.at("/layers/" + i + "/digest").asText()).isEqualTo(base.layerDigests().get(i));
            }
            assertThat(doc.at("/layers/3/digest")).isEqualTo(doc.at("/layer/digest"));

            Cli.Result human = cli.run("build", src.toString(), "my/app:1", "--base", base.reference());
            assertThat(human.rc()).as(human.toString()).isZero();
            assertThat(human.stdout()).contains("  base:     " + base.reference() + " (")
                    .doesNotContain("pulled").contains("(4 layers)");
            assertThat(human.stderr()).doesNotContain("resolving");
            assertThat(cli.run("images").stdout()).contains(base.reference(), "docker.io/my/app:1");
        }
    }
}
