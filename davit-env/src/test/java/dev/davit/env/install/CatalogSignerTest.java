package dev.davit.env.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.env.Catalog;
import dev.davit.env.Environment;
import dev.davit.env.catalog.CatalogParser;
import dev.davit.oci.DavitException;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.policy.SigstoreKeys;
import dev.davit.oci.policy.SigstoreSignature;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.FulcioPki;
import dev.davit.oci.testkit.PushedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A catalog that requires a signer ({@code source.signedBy}): the environment whose image its key (or, keyless, its
 * Fulcio identity) signed installs;
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
            publisher.signatures().signSigstore(fx.image.reference(), key.getPrivate(), null);
            publisher.signatures().signSigstore(other.reference(), SigstoreKeys.generate().getPrivate(),
                    null); // another key
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
            "{\"sigstoreKey\": \"-----BEGIN PUBLIC KEY-----\", \"gpgKey\": \"-----BEGIN PGP PUBLIC KEY BLOCK-----\"}",
            // a keyless signer needs the Rekor key that dates its certificate, and certificates for its CA
            "{\"fulcio\": {\"caCertificates\": \"-----BEGIN CERTIFICATE-----\", \"oidcIssuer\": \"i\","
                    + " \"subjectEmail\": \"e\"}}",
            "{\"fulcio\": {\"caCertificates\": \"x\", \"oidcIssuer\": \"i\", \"subjectEmail\": \"e\"},"
                    + " \"rekorKey\": \"-----BEGIN PUBLIC KEY-----\"}",
            "{\"fulcio\": {\"caCertificates\": \"-----BEGIN CERTIFICATE-----\", \"oidcIssuer\": \"i\"},"
                    + " \"rekorKey\": \"-----BEGIN PUBLIC KEY-----\"}"}) {
            String y = "{\"schemaVersion\": 1, \"version\": \"1\", \"environments\": [{\"name\": \"x\","
                    + " \"version\": \"1\", \"kind\": \"container\", \"platform\": \"linux/amd64\", \"source\":"
                    + " {\"reference\": \"r.example/x:1\", \"signedBy\": " + bad + "}}]}";
            assertThatThrownBy(() -> CatalogParser.parse(y.getBytes(StandardCharsets.UTF_8), "c")).as(bad)
                    .hasMessageContaining("signedBy");
        }
    }

    @Test
    void aKeylessSignerIsAnIdentityFromAnIssuer() throws Exception {
        String issuer = "https://issuer.example";
        FulcioPki pki = FulcioPki.create(home.resolve("pki"), issuer, "dev@example.com");
        try (EnvFixtures fx = new EnvFixtures(home.resolve("fx"))) {
            byte[] payload = SigstoreSignature.payload(fx.image.reference(), Digest.parse(fx.image.manifestDigest()));
            Fixtures.pushSigstoreSignature(fx.registry, fx.image.repository(), fx.image.manifestDigest(), payload,
                    pki.signed(payload));
            String entry = """
                    {"name": "%s", "version": "1", "kind": "container", "platform": "linux/amd64",
                     "source": {"reference": "%s", "signedBy": {"fulcio": {"caCertificates": "%s", "oidcIssuer": "%s",
                     "subjectEmail": "%s"}, "rekorKey": "%s"}}}""";
            String ca = Files.readString(pki.root()).replace("\n", "\\n");
            String rekor = Files.readString(pki.rekorPublic()).replace("\n", "\\n");
            String json = "{\"schemaVersion\": 1, \"version\": \"2026.11\", \"environments\": ["
                    + entry.formatted("keyless", fx.image.reference(), ca, issuer, "dev@example.com", rekor) + ", "
                    + entry.formatted("impostor", fx.image.reference(), ca, issuer, "ops@example.com", rekor) + "]}";
            Catalog catalog = CatalogParser.parse(json.getBytes(StandardCharsets.UTF_8), "test-catalog");
            Environment keyless = catalog.find("keyless").orElseThrow();
            assertThat(keyless.source().signedBy().kind()).isEqualTo("fulcio");
            try (DavitClient client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
                Installer installer = new Installer(home.resolve("home"), client);
                Environment impostor = catalog.find("impostor").orElseThrow();
                assertThatThrownBy(() -> installer.install(catalog, impostor)).isInstanceOf(DavitException.class)
                        .hasMessageContaining("the catalog's signedBy of impostor 1")
                        .hasMessageContaining("its certificate is for dev@example.com, not ops@example.com");
                assertThat(installer.installDir(impostor)).doesNotExist();
                assertThat(client.images()).isEmpty();
                installer.install(catalog, keyless);
                assertThat(installer.status(keyless).toJson().get("signed_by").asText())
                        .isEqualTo("sigstore Fulcio dev@example.com (" + issuer + ")");
            }
        }
    }
}
