package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.PushedIndex;
import dev.davit.oci.testkit.TestRegistry;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every network command of the CLI against a real docker-registry, human and JSON output, exit codes. */
class RegistryCommandsTest {
    static TestRegistry registry;
    static PushedImage image;
    static PushedIndex multi;

    @TempDir
    Path home;

    @BeforeAll
    static void start() {
        registry = TestRegistry.start();
        image = Fixtures.pushImage(registry, "cli/app", "1.0");
        multi = Fixtures.pushMultiArch(registry, "cli/multi", "2");
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
    }

    Cli cli() {
        return new Cli(home);
    }

    @Test
    void pullPrintsPhaseLinesAndTheResult() {
        Cli.Result r = cli().run("pull", image.reference());
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.stderr()).contains("resolving " + image.reference()).contains("fetching manifest")
                .containsPattern("fetching 4 blobs").contains("verifying").contains("done");
        assertThat(r.stdout()).contains("pulled " + image.reference()).contains(image.manifestDigest());
        assertThat(home.resolve("store/index.json")).exists();
    }

    @Test
    void pullJsonIsOneDocumentAndAgainIsCached() {
        Cli.Result r = cli().run("--json", "pull", image.reference());
        assertThat(r.rc()).as(r.toString()).isZero();
        JsonNode doc = r.json();
        assertThat(doc.get("digest").asText()).isEqualTo(image.manifestDigest());
        assertThat(doc.get("name").asText()).isEqualTo(image.reference());
        assertThat(doc.get("fetched_blobs").asInt()).isEqualTo(4);
        assertThat(r.stderr()).isEmpty();
        JsonNode again = cli().run("--json", "pull", image.reference()).json();
        assertThat(again.get("cached_blobs").asInt()).isEqualTo(4);
        assertThat(again.get("downloaded_bytes").asLong()).isZero();
    }

    @Test
    void pullOnePlatformAndListIt() {
        Cli.Result r = cli().run("--json", "pull", "--platform", "linux/arm/v7", multi.reference());
        assertThat(r.rc()).as(r.toString()).isZero();
        assertThat(r.json().get("platform").asText()).isEqualTo("linux/arm/v7");
        assertThat(r.json().get("resolved_digest").asText()).isEqualTo(multi.indexDigest());
        Cli.Result images = cli().run("images");
        assertThat(images.stdout()).contains(multi.reference()).contains("linux/arm/v7");
        Cli.Result none = cli().run("-q", "pull", "--platform", "linux/s390x", multi.reference());
        assertThat(none.rc()).isEqualTo(3);
        assertThat(none.stderr().strip()).startsWith("davit: error: no image for platform linux/s390x")
                .contains("available: linux/amd64, linux/arm64/v8, linux/arm/v7").doesNotContain("\n");
    }

    @Test
    void digestTagsAndRemoteInspect() {
        Cli.Result d = cli().run("digest", image.reference());
        assertThat(d.rc()).as(d.toString()).isZero();
        assertThat(d.stdout().strip()).isEqualTo(image.manifestDigest());
        JsonNode dj = cli().run("--json", "digest", image.reference()).json();
        assertThat(dj.get("digest").asText()).isEqualTo(image.manifestDigest());
        JsonNode tags = cli().run("--json", "tags", registry.hostPort() + "/cli/app").json();
        assertThat(tags.get("tags")).extracting(JsonNode::asText).contains("1.0");
        JsonNode in = cli().run("--json", "inspect", "--remote", image.reference()).json();
        assertThat(in.get("digest").asText()).isEqualTo(image.manifestDigest());
        assertThat(in.at("/config/rootfs/type").asText()).isEqualTo("layers");
        assertThat(home.resolve("store/index.json")).doesNotExist();
    }

    @Test
    void localInspectRawIsTheServedBytes() {
        assertThat(cli().run("pull", "-q", image.reference()).rc()).isZero();
        Cli.Result raw = cli().run("inspect", "--raw", image.reference());
        assertThat(raw.rc()).isZero();
        assertThat(raw.stdoutBytes()).isEqualTo(image.manifest());
        Cli.Result fsck = cli().run("--json", "fsck");
        assertThat(fsck.json().get("clean").asBoolean()).isTrue();
        assertThat(cli().run("rm", image.reference()).rc()).isZero();
        JsonNode gc = cli().run("--json", "gc").json();
        assertThat(gc.get("removed_blobs").asInt()).isEqualTo(5);
    }

    @Test
    void pushAndCopy() throws Exception {
        assertThat(cli().run("-q", "pull", image.reference()).rc()).isZero();
        String target = registry.hostPort() + "/cli/pushed:1";
        Cli.Result push = cli().run("--json", "push", image.reference(), target);
        assertThat(push.rc()).as(push.toString()).isZero();
        assertThat(push.json().get("digest").asText()).isEqualTo(image.manifestDigest());
        assertThat(push.json().get("blobs")).extracting(b -> b.get("how").asText()).containsOnly("mounted");
        Path layout = home.resolve("layout");
        Cli.Result toLayout = cli().run("--json", "copy", target, "oci:" + layout + ":v1");
        assertThat(toLayout.rc()).as(toLayout.toString()).isZero();
        assertThat(toLayout.json().get("digest").asText()).isEqualTo(image.manifestDigest());
        Cli.Result back = cli().run("copy", "oci:" + layout + ":v1", registry.hostPort() + "/cli/back:1");
        assertThat(back.rc()).as(back.toString()).isZero();
        assertThat(back.stdout()).contains("copied to " + registry.hostPort() + "/cli/back:1");
        Cli.Result noLayout = cli().run("copy", "oci:" + home.resolve("missing"), target);
        assertThat(noLayout.rc()).isEqualTo(3);
        UsageTest.assertOneErrorLine(noLayout, "is not an OCI image layout");
        Cli.Result notStored = cli().run("push", registry.hostPort() + "/cli/never:1");
        assertThat(notStored.rc()).isEqualTo(3);
        UsageTest.assertOneErrorLine(notStored, "is not in the store");
    }

    @Test
    void artifactPushAndPull() throws Exception {
        Path kernel = Files.write(home.resolve("vmlinux"), new byte[] {1, 2, 3});
        Path catalog = Files.writeString(home.resolve("catalog.json"), "{}");
        String ref = registry.hostPort() + "/cli/artifact:1";
        Cli.Result push = cli().run("--json", "artifact", "push", ref, kernel + ":application/vnd.davit.kernel",
                catalog.toString(), "--artifact-type", "application/vnd.davit.test.v1", "--annotation", "k=v");
        assertThat(push.rc()).as(push.toString()).isZero();
        assertThat(push.json().get("artifact_type").asText()).isEqualTo("application/vnd.davit.test.v1");
        Path out = home.resolve("out");
        Cli.Result pull = cli().run("--json", "artifact", "pull", ref, out.toString(), "--media-type",
                "application/vnd.davit.kernel");
        assertThat(pull.rc()).as(pull.toString()).isZero();
        assertThat(pull.json().get("files")).extracting(f -> f.get("title").asText()).containsExactly("vmlinux");
        assertThat(Files.readAllBytes(out.resolve("vmlinux"))).isEqualTo(new byte[] {1, 2, 3});
        Cli.Result noType = cli().run("artifact", "push", ref, kernel.toString());
        assertThat(noType.rc()).isEqualTo(2);
        Cli.Result missing = cli().run("-q", "artifact", "push", ref, home.resolve("nope").toString(),
                "--artifact-type", "application/vnd.x");
        assertThat(missing.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(missing, "does not exist");
    }

    @Test
    void buildAndPush() throws Exception {
        Path src = home.resolve("src");
        Files.createDirectories(src.resolve("etc"));
        Files.writeString(src.resolve("etc/greeting"), "hello from a build\n");
        String ref = registry.hostPort() + "/cli/built:1";
        Cli.Result b = cli().run("--json", "build", src.toString(), ref, "--base", image.reference(),
                "--cmd", "/bin/sh", "--push");
        assertThat(b.rc()).as(b.toString()).isZero();
        String digest = b.json().at("/push/digest").asText();
        assertThat(digest).startsWith("sha256:");
        assertThat(b.json().at("/push/blobs")).extracting(n -> n.get("how").asText()).contains("uploaded", "mounted");
        Cli.Result d = cli().run("digest", ref);
        assertThat(d.stdout().strip()).isEqualTo(digest);
    }

    @Test
    void exitCodesForNotFoundNetworkAndBadInput() {
        Cli.Result nf = cli().run("-q", "pull", registry.hostPort() + "/cli/app:nope");
        assertThat(nf.rc()).isEqualTo(3);
        UsageTest.assertOneErrorLine(nf, "not found");
        Cli.Result net = cli().run("--json", "digest", "127.0.0.1:1/x/y:1");
        assertThat(net.rc()).isEqualTo(5);
        assertThat(net.json().at("/error/kind").asText()).isEqualTo("network");
        Cli.Result bad = cli().run("pull", "docker.io/Library/Alpine");
        assertThat(bad.rc()).isEqualTo(2);
        UsageTest.assertOneErrorLine(bad, "repository names must be lower-case");
    }

    @Test
    void loginChecksCredentialsThenCommandsUseThem() throws Exception {
        try (TestRegistry secured = TestRegistry.builder().basicAuth().start()) {
            PushedImage img = Fixtures.pushImage(secured, "cli/private", "1");
            Path config = home.resolve("davit-config.json");
            Cli.Result anon = cli().run("pull", "--quiet", img.reference());
            assertThat(anon.rc()).isEqualTo(4);
            UsageTest.assertOneErrorLine(anon, "davit login " + secured.hostPort());

            Cli.Result wrong = withStdin("wrong-password\n", () -> cli().env("DAVIT_CONFIG", config.toString())
                    .run("login", secured.hostPort(), "-u", secured.username(), "--password-stdin"));
            assertThat(wrong.rc()).isEqualTo(4);
            assertThat(wrong.stderr() + wrong.stdout()).doesNotContain("wrong-password");
            assertThat(config).doesNotExist();

            Cli.Result flags = withStdin(secured.password(), () -> cli()
                    .run("--json", "pull", img.reference(), "-u", secured.username(), "--password-stdin"));
            assertThat(flags.rc()).as(flags.toString()).isZero();
            assertThat(flags.stdout() + flags.stderr()).doesNotContain(secured.password());
        }
    }

    interface Run {
        Cli.Result run();
    }

    static Cli.Result withStdin(String text, Run run) {
        InputStream old = System.in;
        System.setIn(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
        try {
            return run.run();
        } finally {
            System.setIn(old);
        }
    }

    static String read(Path p) throws Exception {
        return Files.readString(p);
    }
}
