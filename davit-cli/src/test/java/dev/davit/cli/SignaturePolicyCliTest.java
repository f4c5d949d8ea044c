package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The signature policy at the CLI: {@code --signature-policy FILE}, else the home's {@code policy.json}; a refused
 * pull is exit 6 with one line naming the scope and rule, and the image is not stored; a policy that is not valid is
 * exit 2 naming where; what the policy accepts pulls as before; {@code run}, {@code workspace create}, {@code build}'s
 * {@code FROM} and {@code copy} of a refused image are refused the same way, and leave nothing.
 */
class SignaturePolicyCliTest {
    @TempDir
    Path home;

    @Test
    void aRefusedPullIsExitSixAndStoresNothing() throws Exception {
        try (TestRegistry registry = TestRegistry.start()) {
            String host = registry.hostPort();
            PushedImage image = Fixtures.pushImage(registry, "policy/app", "1");
            PushedImage open = Fixtures.pushImage(registry, "open/app", "1");
            Path policy = Files.writeString(home.resolve("given.json"), "{\"default\": [{\"type\": \"reject\"}],"
                    + " \"transports\": {\"docker\": {\"" + host + "/open\": [{\"type\": \"insecureAcceptAnything\"}]}}}");
            Cli cli = new Cli(home);
            Cli.Result refused = cli.run("--signature-policy", policy.toString(), "pull", image.reference());
            assertThat(refused.rc()).as(refused.toString()).isEqualTo(6);
            assertThat(refused.stderr().strip().lines().toList().getLast()).isEqualTo("davit: error: "
                    + image.reference() + " is refused by the signature policy " + policy + ", the policy's default"
                    + " (reject): the policy rejects it");
            Cli.Result json = cli.run("--json", "--signature-policy", policy.toString(), "pull", image.reference());
            assertThat(json.rc()).isEqualTo(6);
            assertThat(json.json().get("error").get("kind").asText()).isEqualTo("verification");
            assertThat(cli.run("--signature-policy", policy.toString(), "pull", open.reference()).rc()).isZero();
            Cli.Result images = cli.run("--json", "images");
            assertThat(images.stdout()).contains(open.reference()).doesNotContain(image.reference());

            // the home's policy.json applies without the flag; the flag wins over it
            Files.writeString(home.resolve("policy.json"), "{\"default\": [{\"type\": \"reject\"}]}");
            assertThat(cli.run("pull", image.reference()).rc()).isEqualTo(6);
            Path accept = Files.writeString(home.resolve("accept.json"), "{\"default\": [{\"type\":"
                    + " \"insecureAcceptAnything\"}]}");
            assertThat(cli.run("--signature-policy", accept.toString(), "pull", image.reference()).rc()).isZero();

            Path broken = Files.writeString(home.resolve("broken.json"), "{\"default\": [{\"type\": \"trustme\"}]}");
            Cli.Result bad = cli.run("--signature-policy", broken.toString(), "pull", image.reference());
            assertThat(bad.rc()).isEqualTo(2);
            assertThat(bad.stderr().strip()).isEqualTo("davit: error: the signature policy " + broken
                    + ": default[0] has an unknown type \"trustme\" (insecureAcceptAnything, reject, signedBy,"
                    + " sigstoreSigned)");
        }
    }

    @Test
    void everyCommandThatTakesAnImageFromARegistryIsHeldToThePolicy() throws Exception {
        try (TestRegistry registry = TestRegistry.start()) {
            PushedImage image = Fixtures.pushImage(registry, "policy/app", "1");
            Path policy = Files.writeString(home.resolve("policy.json"), "{\"default\": [{\"type\": \"reject\"}]}");
            Cli cli = new Cli(home);
            Path ctx = Files.createDirectories(home.resolve("ctx"));
            Path file = Files.writeString(ctx.resolve("Containerfile"), "FROM " + image.reference() + "\nRUN true\n");
            String refusal = image.reference() + " is refused by the signature policy " + policy
                    + ", the policy's default (reject): the policy rejects it";
            for (String[] argv : new String[][] {
                {"run", image.reference(), "--", "true"},
                {"workspace", "create", image.reference()},
                {"build", "--file", file.toString(), ctx.toString(), "localhost/test/from-refused:1"},
                {"copy", image.reference(), registry.hostPort() + "/elsewhere/app:1"}}) {
                Cli.Result r = cli.run(argv);
                assertThat(r.rc()).as(String.join(" ", argv) + "\n" + r).isEqualTo(6);
                assertThat(r.stderr()).as(argv[0]).contains(refusal);
            }
            assertThat(cli.run("--json", "images").stdout()).doesNotContain(image.reference())
                    .doesNotContain("from-refused");
            assertThat(cli.run("--json", "workspace", "list").stdout()).doesNotContain("ws-");
        }
    }

    @Test
    void aPolicyPodmanAcceptsIsAcceptedAndAPolicyThatCannotWorkSaysWhy() throws Exception {
        try (TestRegistry registry = TestRegistry.start()) {
            // as a system policy may hold it: a scope that is not canonical and a key named relative to the working
            // directory, both accepted by containers/image; anything else is accepted
            Path text = Files.writeString(home.resolve("notes.txt"), "not a key\n");
            String host = registry.hostPort();
            PushedImage image = Fixtures.pushImage(registry, "open/app", "1");
            PushedImage keyed = Fixtures.pushImage(registry, "keyed/app", "1");
            Path policy = Files.writeString(home.resolve("podman.json"), "{\"default\": [{\"type\":"
                    + " \"insecureAcceptAnything\"}], \"transports\": {\"docker\": {"
                    + "\"docker.io/busybox\": [{\"type\": \"reject\"}],"
                    + " \"quay.io/team\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\":"
                    + " \"keys/team.gpg\"}],"
                    + " \"" + host + "/keyed\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": \""
                    + text + "\"}]}}}");
            Cli cli = new Cli(home);
            Cli.Result pulled = cli.runInJvm("--signature-policy", policy.toString(), "pull", image.reference());
            assertThat(pulled.rc()).as(pulled.toString()).isZero();
            assertThat(pulled.stderr()).contains("the signature policy " + policy + ": transports.docker["
                    + "\"docker.io/busybox\"] is the namespace busybox of docker.io, not its official image"
                    + " docker.io/library/busybox", "transports.docker[\"quay.io/team\"][0].keyPath \"keys/team.gpg\""
                    + " is relative: it is read from the working directory");

            // a key file that holds no key is the policy's mistake, said as such (not a signature by an untrusted key)
            Cli.Result noKey = cli.run("--signature-policy", policy.toString(), "pull", keyed.reference());
            assertThat(noKey.rc()).as(noKey.toString()).isEqualTo(2);
            assertThat(noKey.stderr().strip().lines().toList().getLast()).startsWith("davit: error: the key file "
                    + text + " the signature policy names holds no GPG public key").endsWith(
                    "; give a keyring as gpg --export writes it").doesNotContain("does not trust");

            // a policy file that is not there says so
            Path missing = home.resolve("missing.json");
            Cli.Result none = cli.run("--signature-policy", missing.toString(), "pull", image.reference());
            assertThat(none.rc()).isEqualTo(2);
            assertThat(none.stderr().strip()).isEqualTo("davit: error: cannot read the signature policy " + missing
                    + ": no such file");
        }
    }
}
