package dev.davit.env.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.env.Catalog;
import dev.davit.env.Environment;
import dev.davit.env.catalog.CatalogParser;
import dev.davit.oci.DavitException;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.policy.SigstoreKeys;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A catalog that requires a signer ({@code source.signedBy}): the environment whose image its key signed installs;
 * one signed by another key is refused before anything is pulled, and nothing of it is installed or stored; a
 * catalog's signedBy that is not a key, or has no reference, is invalid.
 */
class CatalogSignerTest {
    @TempDir
    Path home;

    @Test
    void onlyTheCatalogsSignerIsInstalled() throws Exception {
        try (EnvFixtures fx = new EnvFixtures(home.resolve("fx"));
             DavitClient publisher = DavitClient.create(ClientOptions.anonymous(home.resolve("publisher")))) {
            PushedImage other = Fixtures.pushImage(fx.registry, "env/other", "1");
            KeyPair key = SigstoreKeys.generate();
            publisher.signSigstore(fx.image.reference(), key.getPrivate(), null);
            publisher.signSigstore(other.reference(), SigstoreKeys.generate().getPrivate(), null); // another key
            String pem = SigstoreKeys.publicPem(key.getPublic()).replace("\n", "\\n");
            String yaml = """
                    {"schemaVersion": 1, "version": "2026.11", "environments": [
                      {"name": "signed", "version": "1", "kind": "container", "platform": "linux/amd64",
                       "source": {"reference": "%s", "signedBy": {"sigstoreKey": "%s"}}},
                      {"name": "forged", "version": "1", "kind": "container", "platform": "linux/amd64",
                       "source": {"reference": "%s", "signedBy": {"sigstoreKey": "%s"}}}]}
                    """.formatted(fx.image.reference(), pem, other.reference(), pem);
            Catalog catalog = CatalogParser.parse(yaml.getBytes(StandardCharsets.UTF_8), "test-catalog");
            Environment signed = catalog.find("signed").orElseThrow();
            assertThat(signed.source().signedBy().kind()).isEqualTo("sigstore");
            try (DavitClient client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
                Installer installer = new Installer(home.resolve("home"), client);
                installer.install(catalog, signed);
                InstallStatus st = installer.status(signed);
                assertThat(st.installed()).isTrue();
                // who signed what is installed, as env inspect shows it
                assertThat(st.toJson().get("signed_by").asText()).isEqualTo("sigstore key sha256:"
                        + dev.davit.oci.digest.Digest.sha256(key.getPublic().getEncoded()).hex().substring(0, 16));
                Environment forged = catalog.find("forged").orElseThrow();
                assertThatThrownBy(() -> installer.install(catalog, forged)).isInstanceOf(DavitException.class)
                        .hasMessageContaining("the catalog's signedBy of forged 1")
                        .hasMessageContaining("it is not signed by the key")
                        .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.VERIFICATION);
                assertThat(installer.status(forged).installed()).isFalse();
                assertThat(client.images()).extracting(e -> e.name()).noneMatch(n -> n.contains("env/other"));
                assertThat(installer.installDir(forged)).doesNotExist();
                // the store's copy is held to the signer too: with the image in the store and its registry gone,
                // the install is still refused
                client.pull(other.reference());
                fx.registry.close();
                assertThatThrownBy(() -> installer.install(catalog, forged)).isInstanceOf(DavitException.class)
                        .hasMessageContaining("the catalog's signedBy of forged 1");
                assertThat(installer.installDir(forged)).doesNotExist();
            }
        }
        for (String bad : new String[] {"{\"sigstoreKey\": \"not a key\"}", "{}",
            "{\"sigstoreKey\": \"-----BEGIN PUBLIC KEY-----\", \"gpgKey\": \"-----BEGIN PGP PUBLIC KEY BLOCK-----\"}"}) {
            String y = "{\"schemaVersion\": 1, \"version\": \"1\", \"environments\": [{\"name\": \"x\","
                    + " \"version\": \"1\", \"kind\": \"container\", \"platform\": \"linux/amd64\", \"source\":"
                    + " {\"reference\": \"r.example/x:1\", \"signedBy\": " + bad + "}}]}";
            assertThatThrownBy(() -> CatalogParser.parse(y.getBytes(StandardCharsets.UTF_8), "c")).as(bad)
                    .hasMessageContaining("signedBy");
        }
    }
}
