package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** davit env list/inspect/pull/prune/resolve against a real registry and a catalog file. */
class EnvCommandsTest {
    static TestRegistry registry;
    static PushedImage image;
    static String vmRef;

    @TempDir
    Path home;

    @BeforeAll
    static void start(@TempDir Path tmp) throws Exception {
        registry = TestRegistry.start();
        image = Fixtures.pushImage(registry, "envs/debian", "12");
        Path kernel = Files.write(tmp.resolve("vmlinux"), new byte[] {7, 7, 7});
        Path rootfs = Files.write(tmp.resolve("rootfs.ext4"), new byte[4096]);
        vmRef = registry.hostPort() + "/envs/debian-vm:12";
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("pushstore")))) {
            c.artifacts().push(vmRef, "application/vnd.davit.microvm.v1",
                    List.of(Artifacts.FileSpec.parse(kernel.toString()), Artifacts.FileSpec.parse(rootfs.toString())),
                    Map.of(), ProgressListener.NONE);
        }
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
    }

    Path catalog(String version) throws Exception {
        String json = """
                {"schemaVersion":1,"version":"test-1","environments":[
                 {"name":"debian:12","version":"%s","kind":"container","description":"test container",
                  "distribution":"debian","distributionVersion":"12","platform":"linux/amd64",
                  "source":{"reference":"%s"}},
                 {"name":"debian:12-vm","version":"1","kind":"microvm","description":"test vm",
                  "distribution":"debian","distributionVersion":"12","platform":"linux/amd64",
                  "source":{"reference":"%s"}}]}
                """.formatted(version, image.reference(), vmRef);
        Path f = home.resolve("catalog-" + version + ".json");
        Files.writeString(f, json);
        return f;
    }

    Cli cli() {
        return new Cli(home);
    }

    @Test
    void listPullInspectPruneResolve() throws Exception {
        Path cat = catalog("1");
        Cli.Result list = cli().run("--json", "env", "list", "--catalog", cat.toString());
        assertThat(list.rc()).as(list.toString()).isZero();
        assertThat(list.json().at("/catalog/origin").asText()).isEqualTo("file");
        assertThat(list.json().get("environments")).extracting(n -> n.get("installed").asBoolean()).containsOnly(false);
        assertThat(list.json().get("environments")).extracting(n -> n.get("action").asText()).containsOnly("pull");

        Cli.Result pull = cli().run("--json", "env", "pull", "debian:12", "--catalog", cat.toString());
        assertThat(pull.rc()).as(pull.toString()).isZero();
        assertThat(pull.json().get("origin").asText()).isEqualTo("oci");
        Path installed = Path.of(pull.json().get("path").asText());
        assertThat(installed.resolve("rootfs").resolve(Fixtures.HELLO_PATH)).hasContent(Fixtures.HELLO_TEXT.strip());
        assertThat(installed.resolve("environment.json")).exists();
        Cli.Result again = cli().run("--json", "env", "pull", "debian:12", "--catalog", cat.toString());
        assertThat(again.json().get("origin").asText()).isEqualTo("existing");

        Cli.Result vm = cli().run("env", "pull", "debian:12-vm", "--catalog", cat.toString());
        assertThat(vm.rc()).as(vm.toString()).isZero();
        assertThat(vm.stderr()).contains("==> installing debian:12-vm 1").contains("==> done");

        JsonNode inspect = cli().run("--json", "env", "inspect", "debian:12", "--catalog", cat.toString()).json();
        assertThat(inspect.at("/install/installed").asBoolean()).isTrue();
        assertThat(inspect.at("/freshness/status").asText()).isEqualTo("up_to_date");
        assertThat(inspect.at("/freshness/remote_digest").asText()).isEqualTo(image.manifestDigest());
        assertThat(inspect.at("/source/signed_by").isNull()).isTrue();
        assertThat(cli().run("env", "inspect", "debian:12", "--catalog", cat.toString()).stdout())
                .contains("  signed by: not required (the catalog names no signer)\n");

        JsonNode checked = cli().run("--json", "env", "list", "--check", "--catalog", cat.toString()).json();
        assertThat(checked.get("environments")).allMatch(n -> n.at("/freshness/status").asText().equals("up_to_date"));

        JsonNode resolve = cli().run("--json", "env", "resolve", "debian:12", "--catalog", cat.toString()).json();
        assertThat(resolve.get("kind").asText()).isEqualTo("catalog_environment");
        assertThat(resolve.get("action").asText()).isEqualTo("installed");
        assertThat(cli().run("--json", "env", "list", "--catalog", cat.toString()).json().get("environments"))
                .filteredOn(n -> n.get("name").asText().equals("debian:12"))
                .singleElement().satisfies(n -> assertThat(n.get("action").asText()).isEqualTo("installed"));
        JsonNode img = cli().run("--json", "env", "resolve", "alpine:3.20", "--catalog", cat.toString()).json();
        assertThat(img.get("kind").asText()).isEqualTo("registry_image");
        assertThat(img.get("action").asText()).isEqualTo("pull");

        // a new catalog version makes the old install stale: prune deletes it, and only it
        Path cat2 = catalog("2");
        Cli.Result prune = cli().run("--json", "env", "prune", "--catalog", cat2.toString());
        assertThat(prune.rc()).as(prune.toString()).isZero();
        List<String> keys = new ArrayList<>();
        prune.json().fieldNames().forEachRemaining(keys::add);
        assertThat(keys).containsExactly("deleted_environment_dirs", "count");
        assertThat(prune.json().get("count").asInt()).isEqualTo(1);
        assertThat(prune.json().at("/deleted_environment_dirs/0").asText()).endsWith("debian_12-1");
        assertThat(installed).doesNotExist();
    }

    @Test
    void anIncompatibleEnvironmentIsRefused() throws Exception {
        Path f = home.resolve("future.json");
        Files.writeString(f, """
                {"schemaVersion":1,"version":"f","environments":[
                 {"name":"future","version":"1","kind":"container","platform":"linux/amd64","davit":">=99.0.0",
                  "source":{"reference":"%s"}}]}
                """.formatted(image.reference()));
        JsonNode list = cli().run("--json", "env", "list", "--catalog", f.toString()).json();
        assertThat(list.at("/environments/0/compatible").asBoolean()).isFalse();
        Cli.Result pull = cli().run("-q", "env", "pull", "future", "--catalog", f.toString());
        assertThat(pull.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(pull, "needs davit >=99.0.0");
    }

    @Test
    void errorsAreOneLine() throws Exception {
        Cli.Result unknown = cli().run("-q", "env", "inspect", "nope", "--catalog", catalog("1").toString());
        assertThat(unknown.rc()).isEqualTo(3);
        UsageTest.assertOneErrorLine(unknown, "unknown environment 'nope'; expected one of: debian:12, debian:12-vm");
        Cli.Result missing = cli().run("-q", "env", "list", "--catalog", home.resolve("nope.json").toString());
        assertThat(missing.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(missing, "catalog path " + home.resolve("nope.json") + " does not exist");
        Cli.Result offline = cli().run("-q", "env", "list", "--offline", "--catalog",
                "oci://" + registry.hostPort() + "/envs/catalog:1");
        assertThat(offline.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(offline, "--offline");
    }
}
