package dev.davit.oci.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keyless (Fulcio) sigstore signatures with Rekor signed entry timestamps, as cosign attaches them
 * ({@code dev.sigstore.cosign/certificate}, {@code /chain}, {@code /bundle}): OpenSSL stands in for Fulcio (a root
 * and an intermediate CA issuing a short-lived code-signing certificate with Fulcio's OIDC issuer extensions and an
 * email SAN), for the signer (the certificate's key signs the payload) and for Rekor (its key signs the entry's
 * canonical JSON). A policy naming that CA, issuer and email and the Rekor key admits the image; another email,
 * issuer, CA or Rekor key refuses it; a timestamp outside the certificate's life, a tampered log entry and an entry
 * for another signature, key or payload refuse it.
 */
class SigstoreFulcioTest {
    private static final String ISSUER = "https://issuer.example";
    private static final String EMAIL = "dev@example.com";

    @TempDir
    Path tmp;

    private Path rootCa;
    private Path intermediate;
    private Path leafKey;
    private Path leaf;
    private Path rekorKey;
    private Path rekorPub;

    @BeforeEach
    void pki() throws Exception {
        Tools.assumeAvailable("openssl");
        rootCa = ca("root", null);
        intermediate = ca("intermediate", rootCa);
        leafKey = key("leaf");
        leaf = certificate("leaf", leafKey, intermediate, List.of("subjectAltName=critical,email:" + EMAIL,
                "keyUsage=critical,digitalSignature", "extendedKeyUsage=codeSigning",
                "1.3.6.1.4.1.57264.1.1=DER:" + HexFormat.of().formatHex(ISSUER.getBytes(StandardCharsets.UTF_8)),
                "1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:" + ISSUER), 1);
        rekorKey = key("rekor");
        rekorPub = publicKey(rekorKey);
    }

    @Test
    void aFulcioCertificateWithARekorTimestampAdmitsWhatItsIdentitySigned() throws Exception {
        Tools.assumeAvailable("docker-registry");
        try (TestRegistry registry = TestRegistry.start()) {
            String host = registry.hostPort();
            PushedImage image = Fixtures.pushImage(registry, "keyless/app", "1");
            Digest manifest = Digest.parse(image.manifestDigest());
            byte[] payload = SigstoreSignature.payload(image.reference(), manifest);
            Fixtures.pushSigstoreSignature(registry, "keyless/app", manifest.toString(), payload,
                    signed(payload, leafKey, leaf, rekorKey, Instant.now().getEpochSecond(), payload));
            Path rd = Files.createDirectories(tmp.resolve("registries.d"));
            Files.writeString(rd.resolve("test.yaml"), "docker:\n  " + host + ":\n    use-sigstore-attachments: true\n");
            String policy = "{\"default\": [{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caPath\": \"%s\","
                    + " \"oidcIssuer\": \"%s\", \"subjectEmail\": \"%s\"}, \"rekorPublicKeyPath\": \"%s\"}]}";

            try (DavitClient c = client("ok", policy.formatted(rootCa, ISSUER, EMAIL, rekorPub), rd)) {
                c.pull(image.reference());
                assertThat(c.find(image.reference()).orElseThrow().descriptor().annotation(Trust.SIGNERS))
                        .isEqualTo("sigstore Fulcio " + EMAIL + " (" + ISSUER + ")");
            }
            Path otherRoot = ca("other-root", null);
            Path otherRekor = publicKey(key("other-rekor"));
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
    void aRekorEntryVouchesOnlyForItsSignatureKeyPayloadAndTime() throws Exception {
        byte[] payload = SigstoreSignature.payload("registry.example.com/app:1", Digest.sha256(new byte[] {1}));
        long now = Instant.now().getEpochSecond();
        var rekor = SigstoreKeys.readPublic(Files.readAllBytes(rekorPub), "rekor.pub");
        var roots = FulcioCertificate.roots(Files.readAllBytes(rootCa), "root.pem");
        byte[] leafPem = Files.readAllBytes(leaf);
        byte[] chain = (Files.readString(intermediate) + Files.readString(rootCa)).getBytes(StandardCharsets.US_ASCII);

        Map<String, String> good = signed(payload, leafKey, leaf, rekorKey, now, payload);
        Instant logged = RekorSet.verify(rekor, good.get(RekorSet.ANNOTATION), leafPem,
                good.get(SigstoreSignature.SIGNATURE_ANNOTATION), payload);
        assertThat(logged).isEqualTo(Instant.ofEpochSecond(now));
        var key = FulcioCertificate.verify(roots, ISSUER, EMAIL, logged, leafPem, chain);
        assertThat(SigstoreSignature.verify(payload, good.get(SigstoreSignature.SIGNATURE_ANNOTATION), key)
                .dockerReference()).isEqualTo("registry.example.com/app:1");
        // without the chain annotation the intermediate is not known: nothing chains to the root
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, logged, leafPem, null))
                .hasMessageContaining("does not chain");
        // the certificate lives a day: a log time three days on (or a day before it) is outside its life
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, logged.plusSeconds(3 * 86400),
                leafPem, chain)).hasMessageContaining("its certificate was not valid at " + logged.plusSeconds(3 * 86400)
                + " (when Rekor logged it): it is valid from");
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, logged.minusSeconds(86400),
                leafPem, chain)).hasMessageContaining("its certificate was not valid at");

        // the SET is over the entry as logged: a changed log index breaks it
        String tampered = good.get(RekorSet.ANNOTATION).replace("\"logIndex\": 7", "\"logIndex\": 8");
        assertThat(tampered).isNotEqualTo(good.get(RekorSet.ANNOTATION));
        assertThatThrownBy(() -> RekorSet.verify(rekor, tampered, leafPem,
                good.get(SigstoreSignature.SIGNATURE_ANNOTATION), payload))
                .hasMessage("its Rekor SET is not signed by the policy's Rekor key");
        // an entry logged for another payload, another signature, another certificate
        Map<String, String> otherPayload = signed(payload, leafKey, leaf, rekorKey, now, "other".getBytes(
                StandardCharsets.UTF_8));
        assertThatThrownBy(() -> RekorSet.verify(rekor, otherPayload.get(RekorSet.ANNOTATION), leafPem,
                otherPayload.get(SigstoreSignature.SIGNATURE_ANNOTATION), payload))
                .hasMessage("its Rekor entry logs another payload");
        assertThatThrownBy(() -> RekorSet.verify(rekor, good.get(RekorSet.ANNOTATION), leafPem,
                otherPayload.get(SigstoreSignature.SIGNATURE_ANNOTATION).equals(
                        good.get(SigstoreSignature.SIGNATURE_ANNOTATION)) ? "AAAA"
                        : otherPayload.get(SigstoreSignature.SIGNATURE_ANNOTATION), payload))
                .hasMessage("its Rekor entry logs another signature");
        assertThatThrownBy(() -> RekorSet.verify(rekor, good.get(RekorSet.ANNOTATION),
                Files.readAllBytes(intermediate), good.get(SigstoreSignature.SIGNATURE_ANNOTATION), payload))
                .hasMessage("its Rekor entry logs another key or certificate");
        // a bundle with a field more, or a time that is not an integer
        assertThatThrownBy(() -> RekorSet.verify(rekor, good.get(RekorSet.ANNOTATION).replace("\"logIndex\": 7",
                "\"logIndex\": 7, \"extra\": 1"), leafPem, good.get(SigstoreSignature.SIGNATURE_ANNOTATION),
                payload)).hasMessageContaining("has the unknown field \"extra\"");
        assertThatThrownBy(() -> RekorSet.verify(rekor, good.get(RekorSet.ANNOTATION).replace("\"integratedTime\": "
                + now, "\"integratedTime\": \"" + now + "\""), leafPem,
                good.get(SigstoreSignature.SIGNATURE_ANNOTATION), payload)).hasMessageContaining("is not an integer");

        // a key signature with a Rekor timestamp: the entry names the key
        Path signerKey = key("signer");
        Path signerPub = publicKey(signerKey);
        Map<String, String> byKey = signed(payload, signerKey, signerPub, rekorKey, now, payload);
        RekorSet.verify(rekor, byKey.get(RekorSet.ANNOTATION), SigstoreKeys.publicPem(SigstoreKeys.readPublic(
                Files.readAllBytes(signerPub), "signer.pub")).getBytes(StandardCharsets.US_ASCII),
                byKey.get(SigstoreSignature.SIGNATURE_ANNOTATION), payload);
    }

    @Test
    void theCertificateMustBeForCodeSigningAndNameItsIssuerOnce() throws Exception {
        var roots = FulcioCertificate.roots(Files.readAllBytes(rootCa), "root.pem");
        // as cosign writes it: the intermediates, then the root (which is not trusted for being there)
        byte[] chain = (Files.readString(intermediate) + Files.readString(rootCa)).getBytes(StandardCharsets.US_ASCII);
        Instant at = Instant.now().plusSeconds(60); // the certificates below are made after now
        String raw = "1.3.6.1.4.1.57264.1.1=DER:" + HexFormat.of().formatHex(ISSUER.getBytes(StandardCharsets.UTF_8));
        // the older raw issuer extension alone is enough
        Path v1Only = certificate("v1", leafKey, intermediate, List.of("subjectAltName=email:" + EMAIL,
                "extendedKeyUsage=codeSigning", raw), 1);
        assertThat(FulcioCertificate.verify(roots, ISSUER, EMAIL, at, Files.readAllBytes(v1Only), chain)).isNotNull();
        for (List<String> c : List.of(
                List.of("no-issuer", "subjectAltName=email:" + EMAIL, "extendedKeyUsage=codeSigning",
                        "its certificate has no Fulcio OIDC issuer extension"),
                List.of("no-codesigning", "subjectAltName=email:" + EMAIL, "extendedKeyUsage=serverAuth\n" + raw,
                        "its certificate chain is not for code signing"),
                List.of("two-issuers", "subjectAltName=email:" + EMAIL, "extendedKeyUsage=codeSigning\n" + raw
                        + "\n1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:https://other.example",
                        "its certificate names two OIDC issuers"))) {
            Path cert = certificate(c.get(0), leafKey, intermediate, List.of(c.get(1), c.get(2)), 1);
            assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, at, Files.readAllBytes(cert),
                    chain)).as(c.get(0)).hasMessage(c.get(3));
        }
        // two certificates where one is expected
        byte[] two = (Files.readString(leaf) + Files.readString(leaf)).getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> FulcioCertificate.verify(roots, ISSUER, EMAIL, at, two, chain))
                .hasMessageContaining("has 2 certificates, not one");
    }

    /**
     * The annotations cosign attaches for a keyless signature of {@code payload}: the signature by {@code key}, the
     * certificate (or public key) {@code cert}, the chain, and a Rekor bundle signed with {@code rekor} logging
     * {@code logged}'s hash at {@code time}; the bundle's payload written in another order and spacing than the
     * canonical form its SET signs.
     */
    private Map<String, String> signed(byte[] payload, Path key, Path cert, Path rekor, long time, byte[] logged)
            throws Exception {
        Path payloadFile = Files.write(tmp.resolve("payload-" + System.nanoTime()), payload);
        Path sig = tmp.resolve("sig-" + System.nanoTime());
        Tools.run("openssl", "dgst", "-sha256", "-sign", key.toString(), "-out", sig.toString(), payloadFile.toString());
        String sigB64 = Base64.getEncoder().encodeToString(Files.readAllBytes(sig));
        String certPem = Files.readString(cert);
        String body = "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{\"data\":{\"hash\":{\"algorithm\":"
                + "\"sha256\",\"value\":\"" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(logged)) + "\"}},\"signature\":{\"content\":\"" + sigB64 + "\",\"publicKey\":{\"content\":\""
                + Base64.getEncoder().encodeToString(certPem.getBytes(StandardCharsets.US_ASCII)) + "\"}}}}";
        String bodyB64 = Base64.getEncoder().encodeToString(body.getBytes(StandardCharsets.UTF_8));
        String logId = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d";
        Path canonical = Files.writeString(tmp.resolve("set-" + System.nanoTime()), "{\"body\":\"" + bodyB64
                + "\",\"integratedTime\":" + time + ",\"logID\":\"" + logId + "\",\"logIndex\":7}");
        Path set = tmp.resolve("set-sig-" + System.nanoTime());
        Tools.run("openssl", "dgst", "-sha256", "-sign", rekor.toString(), "-out", set.toString(),
                canonical.toString());
        String bundle = "{\"SignedEntryTimestamp\": \"" + Base64.getEncoder().encodeToString(Files.readAllBytes(set))
                + "\", \"Payload\": {\"logIndex\": 7, \"body\": \"" + bodyB64 + "\", \"integratedTime\": " + time
                + ", \"logID\": \"" + logId + "\"}}";
        Map<String, String> a = new LinkedHashMap<>();
        a.put(SigstoreSignature.SIGNATURE_ANNOTATION, sigB64);
        a.put(FulcioCertificate.ANNOTATION, certPem);
        a.put(FulcioCertificate.CHAIN_ANNOTATION, Files.readString(intermediate) + Files.readString(rootCa));
        a.put(RekorSet.ANNOTATION, bundle);
        return a;
    }

    private DavitClient client(String store, String policy, Path registriesD) throws Exception {
        Path p = Files.writeString(tmp.resolve("policy-" + System.nanoTime() + ".json"), policy);
        return DavitClient.create(ClientOptions.anonymous(tmp.resolve(store + "-" + System.nanoTime()))
                .withTrust(new Trust(SignaturePolicy.read(p), RegistriesD.read(registriesD))));
    }

    private Path key(String name) {
        Path k = tmp.resolve(name + ".key");
        Tools.run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                k.toString());
        return k;
    }

    private Path publicKey(Path key) {
        Path p = tmp.resolve(key.getFileName() + ".pub");
        Tools.run("openssl", "pkey", "-in", key.toString(), "-pubout", "-out", p.toString());
        return p;
    }

    /** A CA certificate: self-signed when {@code issuer} is null, else issued by it (its key beside it). */
    private Path ca(String name, Path issuer) throws Exception {
        Path k = key(name);
        if (issuer == null) {
            Path c = tmp.resolve(name + ".pem");
            Tools.run("openssl", "req", "-x509", "-new", "-key", k.toString(), "-subj", "/O=davit-test/CN=" + name,
                    "-days", "3650", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign", "-out", c.toString());
            return c;
        }
        return certificate(name, k, issuer, List.of("basicConstraints=critical,CA:TRUE,pathlen:0",
                "keyUsage=critical,keyCertSign,cRLSign", "extendedKeyUsage=codeSigning"), 3650);
    }

    /** A certificate for {@code key}'s public key issued by {@code issuer} with the extensions given. */
    private Path certificate(String name, Path key, Path issuer, List<String> extensions, int days) throws Exception {
        Path csr = tmp.resolve(name + ".csr");
        Tools.run("openssl", "req", "-new", "-key", key.toString(), "-subj", "/O=davit-test/CN=" + name, "-out",
                csr.toString());
        Path ext = Files.writeString(tmp.resolve(name + ".ext"), String.join("\n", extensions) + "\n");
        Path c = tmp.resolve(name + ".pem");
        Path issuerKey = issuer.resolveSibling(issuer.getFileName().toString().replace(".pem", ".key"));
        Tools.run("openssl", "x509", "-req", "-in", csr.toString(), "-CA", issuer.toString(), "-CAkey",
                issuerKey.toString(), "-set_serial", String.valueOf(System.nanoTime()), "-days",
                String.valueOf(days), "-extfile", ext.toString(), "-out", c.toString());
        return c;
    }
}
