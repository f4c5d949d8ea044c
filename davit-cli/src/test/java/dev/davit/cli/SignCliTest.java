package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.policy.SigstoreKeys;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.GpgKeyring;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code davit sign}: a sigstore key signs an image at its registry and a pull held to a policy requiring that key
 * (the home's policy.json and registries.d) takes it, while a policy requiring another key refuses it; a GPG key signs
 * into the lookaside store and skopeo, an independent verifier, accepts the image under a policy requiring it; a
 * wrong passphrase and a missing key are exit 2.
 */
class SignCliTest {
    @TempDir
    Path home;

    @Test
    void davitSignsAndAPolicyOrSkopeoAcceptsOnlyThatKey() throws Exception {
        Tools.assumeAvailable("skopeo");
        try (TestRegistry registry = TestRegistry.start();
             GpgKeyring gpg = GpgKeyring.create(home.resolve("gnupg"), "signer")) {
            String host = registry.hostPort();
            PushedImage image = Fixtures.pushImage(registry, "signed/app", "1");
            Path pass = Files.writeString(home.resolve("pass"), "pw\n");
            Cli keys = new Cli(home.resolve("davit-home"));
            Cli.Result made = keys.run("--json", "sign", "--generate-key", home.resolve("cosign").toString(),
                    "--passphrase-file", pass.toString());
            assertThat(made.rc()).as(made.toString()).isZero();
            Path key = home.resolve("cosign.key");
            Path pub = home.resolve("cosign.pub");
            assertThat(made.json().get("public_key").asText()).isEqualTo(pub.toString());
            assertThat(Files.getPosixFilePermissions(key)).containsExactlyInAnyOrder(
                    java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                    java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
            assertThat(keys.run("sign", "--generate-key", home.resolve("cosign").toString(), "--passphrase-file",
                    pass.toString()).rc()).isEqualTo(2); // never overwritten
            Path otherPub = Files.writeString(home.resolve("other.pub"), SigstoreKeys.publicPem(
                    SigstoreKeys.generate().getPublic()));
            Path look = Files.createDirectories(home.resolve("lookaside"));
            Path rd = Files.createDirectories(home.resolve("davit-home/registries.d"));
            Files.writeString(rd.resolve("test.yaml"), "docker:\n  " + host + ":\n    use-sigstore-attachments: true\n"
                    + "    lookaside: file://" + look + "\n");
            Cli cli = new Cli(home.resolve("davit-home"));

            Cli.Result wrong = cli.run("sign", "--key", key.toString(), "--passphrase-file",
                    Files.writeString(home.resolve("bad"), "nope").toString(), image.reference());
            assertThat(wrong.rc()).isEqualTo(2);
            assertThat(wrong.stderr()).contains("the passphrase does not open " + key);
            Cli.Result none = cli.run("sign", image.reference());
            assertThat(none.rc()).isEqualTo(2);
            assertThat(none.stderr()).contains("give --key FILE");

            Cli.Result signed = cli.run("--json", "sign", "--key", key.toString(), "--passphrase-file",
                    pass.toString(), image.reference());
            assertThat(signed.rc()).as(signed.toString()).isZero();
            assertThat(signed.json().get("signature").asText()).isEqualTo(host + "/signed/app:sha256-"
                    + image.manifestDigest().substring(7) + ".sig");
            String policy = "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"%s\"}]}";
            Files.writeString(home.resolve("davit-home/policy.json"), policy.formatted(pub));
            Cli.Result pulled = cli.run("pull", image.reference());
            assertThat(pulled.rc()).as(pulled.toString()).isZero();
            Path other = Files.writeString(home.resolve("other.json"), policy.formatted(otherPub));
            Cli.Result refused = cli.run("--signature-policy", other.toString(), "pull", image.reference());
            assertThat(refused.rc()).isEqualTo(6);
            assertThat(refused.stderr()).contains("it is not signed by the key");

            // GPG: davit signs into the lookaside store; skopeo verifies it under a policy requiring the key
            Path secret = gpg.export(home.resolve("signer.sec"), true);
            Path gpgPub = gpg.export(home.resolve("signer.gpg"), false);
            String gpgRef = host + "/signed/app:gpg";
            Tools.run("skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://"
                    + image.reference(), "docker://" + gpgRef);
            Cli.Result gpgSigned = cli.run("sign", "--sign-by", gpg.fingerprint(), "--gpg-keyring", secret.toString(),
                    gpgRef);
            assertThat(gpgSigned.rc()).as(gpgSigned.toString()).isZero();
            assertThat(look.resolve("signed/app@sha256=" + image.manifestDigest().substring(7)).resolve("signature-1"))
                    .isRegularFile();
            Path skopeoPolicy = Files.writeString(home.resolve("skopeo.json"), "{\"default\": [{\"type\": \"signedBy\","
                    + " \"keyType\": \"GPGKeys\", \"keyPath\": \"" + gpgPub + "\"}]}");
            Tools.run("skopeo", "--policy", skopeoPolicy.toString(), "--registries.d", rd.toString(), "copy",
                    "--src-tls-verify=false", "docker://" + gpgRef, "dir:" + home.resolve("out"));
            assertThat(home.resolve("out/manifest.json")).isRegularFile();
        }
    }
}
