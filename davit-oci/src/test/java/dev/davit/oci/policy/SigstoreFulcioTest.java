package dev.davit.oci.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.FulcioPki;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keyless (Fulcio) sigstore signatures with Rekor signed entry timestamps, as cosign attaches them
 * ({@code dev.sigstore.cosign/certificate}, {@code /chain}, {@code /bundle}), made by OpenSSL standing in for Fulcio,
 * the signer and Rekor ({@link FulcioPki}). A policy naming that CA, issuer and email and the Rekor key admits the
 * image; another email, issuer, CA or Rekor key refuses it; a timestamp outside the certificate's life, a tampered
 * log entry and an entry for another signature, key or payload refuse it.
 */
class SigstoreFulcioTest {
    private static final String ISSUER = "https://issuer.example";
    private static final String EMAIL = "dev@example.com";

    @TempDir
    Path tmp;

    private FulcioPki pki;

    @BeforeEach
    void pki() {
        pki = FulcioPki.create(tmp.resolve("pki"), ISSUER, EMAIL);
    }

    @Test
    void aFulcioCertificateWithARekorTimestampAdmitsWhatItsIdentitySigned() throws Exception {
        Tools.assumeAvailable("docker-registry");
        try (TestRegistry registry = TestRegistry.start()) {
            String host = registry.hostPort();
            PushedImage image = Fixtures.pushImage(registry, "keyless/app", "1");
            Digest manifest = Digest.parse(image.manifestDigest());
            byte[] payload = SigstoreSignature.payload(image.reference(), manifest);
            Fixtures.pushSigstoreSignature(registry, "keyless/app", manifest.toString(), payload, pki.signed(payload));
            Path rd = Files.createDirectories(tmp.resolve("registries.d"));
            Files.writeString(rd.resolve("test.yaml"), "docker:\n  " + host + ":\n    use-sigstore-attachments: true\n");
            String policy = "{\"default\": [{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caPath\": \"%s\","
                    + " \"oidcIssuer\": \"%s\", \"subjectEmail\": \"%s\"}, \"rekorPublicKeyPath\": \"%s\"}]}";
            Path rootCa = pki.root();
            Path rekorPub = pki.rekorPublic();

            try (DavitClient c = client("ok", policy.formatted(rootCa, ISSUER, EMAIL, rekorPub), rd)) {
                c.pull(image.reference());
                assertThat(c.find(image.reference()).orElseThrow().descriptor().annotation(Trust.SIGNERS))
                        .isEqualTo("sigstore Fulcio " + EMAIL + " (" + ISSUER + ")");
            }
            Path otherRoot = pki.ca("other-root", null);
            Path otherRekor = pki.publicKey(pki.key("other-rekor"));
            for (List<String> refused : List.of(
                    List.of(policy.formatted(rootCa, ISSUER, "other@example.com", rekorPub),
                            "its certificate is for " + EMAIL + ", not other@example.com"),
                    List.of(policy.formatted(rootCa, "https://other.example", EMAIL, rekorPub),
                            "its certificate's OIDC issuer is \"" + ISSUER + "\", not \"https://other.example\""),
                    List.of(policy.formatted(otherRoot, ISSUER, EMAIL, rekorPub),
                            "its certificate does not chain to the policy's Fulcio CA"),
                    List.of(policy.formatted(rootCa, ISSUER, EMAIL, otherRekor),
                            "its Rekor SET is not signed by the policy's Rekor key"))) {
                try (DavitClient c = client("refused", refused.get(0), rd)) {
                    assertThatThrownBy(() -> c.pull(image.reference())).isInstanceOf(DavitException.class)
                            .hasMessageContaining("is refused by the signature policy")
                            .hasMessageContaining("sigstoreSigned (fulcio)")
                            .hasMessageContaining(refused.get(1));
                    assertThat(c.images()).isEmpty();
                }
            }
        }
    }

    @Test
    void keysWithARekorKeyNeedTheLogsTimestampAndAnyOfSeveralKeysMaySign() throws Exception {
        Tools.assumeAvailable("docker-registry");
        try (TestRegistry registry = TestRegistry.start()) {
            String host = registry.hostPort();
            Path signerKey = pki.key("signer");
            Path signerPub = pki.publicKey(signerKey);
            Path otherPub = pki.publicKey(pki.key("other"));
            Path thirdPub = pki.publicKey(pki.key("third"));
            // one image signed and logged, one signed only (cosign sign --tlog-upload=false)
            PushedImage logged = Fixtures.pushImage(registry, "keyed/logged", "1");
            PushedImage unlogged = Fixtures.pushImage(registry, "keyed/unlogged", "1");
            for (PushedImage image : List.of(logged, unlogged)) {
                byte[] payload = SigstoreSignature.payload(image.reference(), Digest.parse(image.manifestDigest()));
                Map<String, String> a = new java.util.HashMap<>(pki.signed(payload, signerKey, signerPub,
                        pki.rekorKey(), Instant.now().getEpochSecond(), payload));
                a.keySet().retainAll(image == logged ? List.of(SigstoreSignature.SIGNATURE_ANNOTATION,
                        RekorSet.ANNOTATION) : List.of(SigstoreSignature.SIGNATURE_ANNOTATION));
                Fixtures.pushSigstoreSignature(registry, image.repository(), image.manifestDigest(), payload, a);
            }
            Path rd = Files.createDirectories(tmp.resolve("registries.d"));
            Files.writeString(rd.resolve("test.yaml"), "docker:\n  " + host + ":\n    use-sigstore-attachments: true\n");
            String withRekor = "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"" + signerPub
                    + "\", \"rekorPublicKeyPath\": \"" + pki.rekorPublic() + "\"}]}";
            try (DavitClient c = client("rekor", withRekor, rd)) {
                c.pull(logged.reference());
                assertThatThrownBy(() -> c.pull(unlogged.reference())).hasMessageContaining(
                        "it has no Rekor bundle (dev.sigstore.cosign/bundle), which the policy's Rekor key requires");
            }
            // a Rekor entry that logs another key of the list than the one that signed: no key meets both
            PushedImage mixed = Fixtures.pushImage(registry, "keyed/mixed", "1");
            byte[] mixedPayload = SigstoreSignature.payload(mixed.reference(), Digest.parse(mixed.manifestDigest()));
            Map<String, String> m = new java.util.HashMap<>(pki.signed(mixedPayload, signerKey, otherPub,
                    pki.rekorKey(), Instant.now().getEpochSecond(), mixedPayload));
            m.keySet().retainAll(List.of(SigstoreSignature.SIGNATURE_ANNOTATION, RekorSet.ANNOTATION));
            Fixtures.pushSigstoreSignature(registry, mixed.repository(), mixed.manifestDigest(), mixedPayload, m);
            try (DavitClient c = client("mixed", "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPaths\": [\""
                    + signerPub + "\", \"" + otherPub + "\"], \"rekorPublicKeyPath\": \"" + pki.rekorPublic() + "\"}]}",
                    rd)) {
                assertThatThrownBy(() -> c.pull(mixed.reference())).hasMessageContaining(
                        "it is not signed by any of the 2 keys");
                assertThat(c.images()).isEmpty();
            }
            // keyPaths (and keyDatas): any of the keys
            String keyPaths = "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPaths\": [\"" + otherPub + "\", \""
                    + signerPub + "\"]}]}";
            try (DavitClient c = client("keys", keyPaths, rd)) {
                c.pull(unlogged.reference());
                assertThat(c.find(unlogged.reference()).orElseThrow().descriptor().annotation(Trust.SIGNERS))
                        .isEqualTo("sigstore key sha256:" + Digest.sha256(SigstoreKeys.readPublic(Files.readAllBytes(
                                signerPub), "signer").getEncoded()).hex().substring(0, 16));
            }
            String keyDatas = "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyDatas\": [\""
                    + java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(otherPub)) + "\", \""
                    + java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(thirdPub)) + "\"]}]}";
            try (DavitClient c = client("others", keyDatas, rd)) {
                assertThatThrownBy(() -> c.pull(unlogged.reference())).hasMessageContaining("sigstoreSigned (keyDatas)")
                        .hasMessageContaining("it is not signed by any of the 2 keys");
                assertThat(c.images()).isEmpty();
            }
        }
    }

    @Test
    void aRekorEntryVouchesOnlyForItsSignatureKeyPayloadAndTime() throws Exception {
        byte[] payload = SigstoreSignature.payload("registry.example.com/app:1", Digest.sha256(new byte[] {1}));
        long now = Instant.now().getEpochSecond();
        var rekor = SigstoreKeys.readPublic(Files.readAllBytes(pki.rekorPublic()), "rekor.pub");
        var roots = FulcioCertificate.roots(Files.readAllBytes(pki.root()), "root.pem");
        byte[] leafPem = Files.readAllBytes(pki.leaf());
        byte[] chain = pki.chain().getBytes(StandardCharsets.US_ASCII);
        String sig = SigstoreSignature.SIGNATURE_ANNOTATION;

        Map<String, String> good = pki.signed(payload, pki.leafKey(), pki.leaf(), pki.rekorKey(), now, payload);
        Instant logged = RekorSet.verify(rekor, good.get(RekorSet.ANNOTATION), leafPem, good.get(sig), payload);
        assertThat(logged).isEqualTo(Instant.ofEpochSecond(now));
        var key = FulcioCertificate.verify(roots, ISSUER, EMAIL, logged, leafPem, chain);
        assertThat(SigstoreSignature.verify(payload, good.get(sig), key).dockerReference())
                .isEqualTo("registry.example.com/app:1");
        // without the chain annotation the intermediate is not known: nothing chains to the root
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, logged, leafPem, null))
                .hasMessageContaining("does not chain");
        // the certificate lives a day: a log time three days on, or a day before, is outside its life
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, logged.plusSeconds(3 * 86400),
                leafPem, chain)).hasMessageContaining("its certificate was not valid at " + logged.plusSeconds(3 * 86400)
                + " (when Rekor logged it): it is valid from");
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, logged.minusSeconds(86400),
                leafPem, chain)).hasMessageContaining("its certificate was not valid at");

        // the SET is over the entry as logged: a changed log index breaks it
        String tampered = good.get(RekorSet.ANNOTATION).replace("\"logIndex\": 7", "\"logIndex\": 8");
        assertThat(tampered).isNotEqualTo(good.get(RekorSet.ANNOTATION));
        assertThatThrownBy(() -> RekorSet.verify(rekor, tampered, leafPem, good.get(sig), payload))
                .hasMessage("its Rekor SET is not signed by the policy's Rekor key");
        // an entry logged for another payload, another signature, another certificate
        Map<String, String> otherPayload = pki.signed(payload, pki.leafKey(), pki.leaf(), pki.rekorKey(), now,
                "other".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> RekorSet.verify(rekor, otherPayload.get(RekorSet.ANNOTATION), leafPem,
                otherPayload.get(sig), payload)).hasMessage("its Rekor entry logs another payload");
        // ECDSA signatures are randomised: the second signature of the same payload differs from the first
        assertThat(otherPayload.get(sig)).isNotEqualTo(good.get(sig));
        assertThatThrownBy(() -> RekorSet.verify(rekor, good.get(RekorSet.ANNOTATION), leafPem,
                otherPayload.get(sig), payload)).hasMessage("its Rekor entry logs another signature");
        assertThatThrownBy(() -> RekorSet.verify(rekor, good.get(RekorSet.ANNOTATION),
                Files.readAllBytes(pki.intermediate()), good.get(sig), payload))
                .hasMessage("its Rekor entry logs another key or certificate");
        // a bundle with a field more, or a time that is not an integer
        assertThatThrownBy(() -> RekorSet.verify(rekor, good.get(RekorSet.ANNOTATION).replace("\"logIndex\": 7",
                "\"logIndex\": 7, \"extra\": 1"), leafPem, good.get(sig), payload))
                .hasMessageContaining("has the unknown field \"extra\"");
        assertThatThrownBy(() -> RekorSet.verify(rekor, good.get(RekorSet.ANNOTATION).replace("\"integratedTime\": "
                + now, "\"integratedTime\": \"" + now + "\""), leafPem, good.get(sig), payload))
                .hasMessageContaining("is not an integer");

        // a key signature with a Rekor timestamp: the entry names the key (as its PEM public key)
        Path signerKey = pki.key("signer");
        Path signerPub = pki.publicKey(signerKey);
        Map<String, String> byKey = pki.signed(payload, signerKey, signerPub, pki.rekorKey(), now, payload);
        RekorSet.verify(rekor, byKey.get(RekorSet.ANNOTATION), SigstoreKeys.publicPem(SigstoreKeys.readPublic(
                Files.readAllBytes(signerPub), "signer.pub")).getBytes(StandardCharsets.US_ASCII), byKey.get(sig),
                payload);
    }

    @Test
    void theCertificateMustBeForCodeSigningAndNameItsIssuerOnce() throws Exception {
        var roots = FulcioCertificate.roots(Files.readAllBytes(pki.root()), "root.pem");
        byte[] chain = pki.chain().getBytes(StandardCharsets.US_ASCII);
        Instant at = Instant.now().plusSeconds(60); // the certificates below are made after now
        String raw = FulcioPki.rawIssuer(ISSUER);
        // the older raw issuer extension alone is enough
        Path v1Only = pki.certificate("v1", pki.leafKey(), pki.intermediate(), List.of("subjectAltName=email:"
                + EMAIL, "extendedKeyUsage=codeSigning", raw), 1);
        assertThat(FulcioCertificate.verify(roots, ISSUER, EMAIL, at, Files.readAllBytes(v1Only), chain)).isNotNull();
        for (List<String> c : List.of(
                List.of("no-issuer", "subjectAltName=email:" + EMAIL, "extendedKeyUsage=codeSigning",
                        "its certificate has no Fulcio OIDC issuer extension"),
                List.of("no-codesigning", "subjectAltName=email:" + EMAIL, "extendedKeyUsage=serverAuth\n" + raw,
                        "its certificate chain is not for code signing"),
                List.of("two-issuers", "subjectAltName=email:" + EMAIL, "extendedKeyUsage=codeSigning\n" + raw
                        + "\n1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:https://other.example",
                        "its certificate names two OIDC issuers"))) {
            Path cert = pki.certificate(c.get(0), pki.leafKey(), pki.intermediate(), List.of(c.get(1), c.get(2)), 1);
            assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, at, Files.readAllBytes(cert),
                    chain)).as(c.get(0)).hasMessage(c.get(3));
        }
        // a signer's own CAs, its root last in the chain as cosign writes it: only the policy's roots are trusted
        Path theirRoot = pki.ca("their-root", null);
        Path theirs = pki.ca("their-intermediate", theirRoot);
        Path theirLeaf = pki.certificate("their-leaf", pki.leafKey(), theirs, List.of("subjectAltName=email:" + EMAIL,
                "extendedKeyUsage=codeSigning", raw), 1);
        byte[] theirChain = (Files.readString(theirs) + Files.readString(theirRoot)).getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, at, Files.readAllBytes(theirLeaf),
                theirChain)).hasMessageContaining("does not chain to the policy's Fulcio CA");
        // an intermediate that is not a CA issues nothing
        Path notCa = pki.certificate("not-a-ca", pki.key("not-a-ca"), pki.root(), List.of(
                "basicConstraints=critical,CA:FALSE", "extendedKeyUsage=codeSigning"), 30);
        Path underNotCa = pki.certificate("under-not-a-ca", pki.leafKey(), notCa, List.of("subjectAltName=email:"
                + EMAIL, "extendedKeyUsage=codeSigning", raw), 1);
        byte[] notCaChain = (Files.readString(notCa) + Files.readString(pki.root())).getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, at, Files.readAllBytes(underNotCa),
                notCaChain)).hasMessageContaining("does not chain to the policy's Fulcio CA");
        // the policy's root must itself be valid at the log's time (the JDK alone does not check a root's dates)
        Path shortRoot = pki.ca("short-root", null, 1);
        Path underShort = pki.certificate("under-short", pki.leafKey(), shortRoot, List.of("subjectAltName=email:"
                + EMAIL, "extendedKeyUsage=codeSigning", raw), 5);
        var shortRoots = FulcioCertificate.roots(Files.readAllBytes(shortRoot), "short-root.pem");
        byte[] shortChain = Files.readAllBytes(shortRoot);
        assertThat(FulcioCertificate.verify(shortRoots, ISSUER, EMAIL, at, Files.readAllBytes(underShort),
                shortChain)).isNotNull();
        assertThatThrownBy(() -> FulcioCertificate.verify(shortRoots, ISSUER, EMAIL, at.plusSeconds(3 * 86400),
                Files.readAllBytes(underShort), shortChain)).hasMessage("the policy's Fulcio CA certificate was not"
                + " valid at " + at.plusSeconds(3 * 86400) + " (when Rekor logged it)");
        // a chain too long to be a Fulcio chain, and more certificates than are read at all: refused before any
        // path is looked at
        String inter = Files.readString(pki.intermediate());
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, at, Files.readAllBytes(pki.leaf()),
                inter.repeat(9).getBytes(StandardCharsets.US_ASCII))).hasMessage(
                "its certificate chain has 9 certificates, over 8");
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, at, Files.readAllBytes(pki.leaf()),
                inter.repeat(1000).getBytes(StandardCharsets.US_ASCII))).hasMessage("it has over 16 certificates");
        // two certificates where one is expected
        byte[] two = (Files.readString(pki.leaf()) + Files.readString(pki.leaf())).getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, at, two, chain))
                .hasMessageContaining("has 2 certificates, not one");
    }

    private DavitClient client(String store, String policy, Path registriesD) throws Exception {
        Path p = Files.writeString(tmp.resolve("policy-" + System.nanoTime() + ".json"), policy);
        return DavitClient.create(ClientOptions.anonymous(tmp.resolve(store + "-" + System.nanoTime()))
                .withTrust(new Trust(SignaturePolicy.read(p), RegistriesD.read(registriesD))));
    }
}
