package dev.davit.oci.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.testkit.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sigstore simple-signing signatures checked against OpenSSL, an independent implementation of the cryptography
 * (Debian's skopeo 1.9 is built with sigstore disabled: "Debian-local change: sigstore disabled"): a payload davit
 * signs verifies with {@code openssl dgst -verify} under the PEM public key davit writes, and one OpenSSL signs with
 * its own key verifies with davit; another key, another identity, a tampered payload and a wrong passphrase do not;
 * the encrypted private key file opens only with its passphrase.
 */
class SigstoreOpensslTest {
    @TempDir
    Path tmp;

    @Test
    void davitAndOpensslVerifyEachOthersSignatures() throws Exception {
        Tools.assumeAvailable("openssl");
        KeyPair pair = SigstoreKeys.generate();
        String encrypted = SigstoreKeys.encryptPrivate(pair.getPrivate(), "s3cret".toCharArray());
        assertThat(encrypted).startsWith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n");
        assertThat(SigstoreKeys.decryptPrivate(encrypted.getBytes(StandardCharsets.US_ASCII), "s3cret".toCharArray(),
                "key.private").getEncoded()).isEqualTo(pair.getPrivate().getEncoded());
        assertThatThrownBy(() -> SigstoreKeys.decryptPrivate(encrypted.getBytes(StandardCharsets.US_ASCII),
                "wrong".toCharArray(), "key.private")).isInstanceOf(DavitException.class)
                .hasMessage("the passphrase does not open key.private");

        Digest manifest = Digest.sha256("manifest".getBytes(StandardCharsets.UTF_8));
        String ref = "registry.example.com/app:1";
        // davit signs, OpenSSL verifies
        byte[] payload = SigstoreSignature.payload(ref, manifest);
        Path payloadFile = Files.write(tmp.resolve("payload.json"), payload);
        Path sig = Files.write(tmp.resolve("sig.der"), Base64.getDecoder().decode(
                SigstoreSignature.sign(pair.getPrivate(), payload)));
        Path pub = Files.writeString(tmp.resolve("key.pub"), SigstoreKeys.publicPem(pair.getPublic()));
        assertThat(Tools.run("openssl", "dgst", "-sha256", "-verify", pub.toString(), "-signature", sig.toString(),
                payloadFile.toString())).contains("Verified OK");

        // OpenSSL signs with a key of its own, davit verifies
        Path osslKey = tmp.resolve("ossl.pem");
        Tools.run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                osslKey.toString());
        Path osslPub = tmp.resolve("ossl.pub");
        Tools.run("openssl", "pkey", "-in", osslKey.toString(), "-pubout", "-out", osslPub.toString());
        Path osslSig = tmp.resolve("ossl.sig");
        Tools.run("openssl", "dgst", "-sha256", "-sign", osslKey.toString(), "-out", osslSig.toString(),
                payloadFile.toString());
        PublicKey theirs = SigstoreKeys.readPublic(Files.readAllBytes(osslPub), "ossl.pub");
        String theirSig = Base64.getEncoder().encodeToString(Files.readAllBytes(osslSig));
        SigstoreSignature.Claims claims = SigstoreSignature.verify(payload, theirSig, theirs);
        assertThat(claims).isEqualTo(new SigstoreSignature.Claims(ref, manifest));
        SignaturePolicy.SignedIdentity rule = SignaturePolicy.SignedIdentity.DEFAULT;
        assertThat(SigstoreSignature.mismatch(claims, manifest, Reference.parse(ref), rule)).isNull();
        assertThat(SigstoreSignature.mismatch(claims, manifest, Reference.parse("registry.example.com/app@"
                + manifest), rule)).isNull();
        assertThat(SigstoreSignature.mismatch(claims, manifest, Reference.parse("registry.example.com/app:2"),
                rule)).contains("which matchRepoDigestOrExact does not match");
        assertThat(SigstoreSignature.mismatch(claims, Digest.sha256(new byte[1]), Reference.parse(ref), rule))
                .startsWith("it signs another manifest");
        // another key, a tampered payload
        assertThatThrownBy(() -> SigstoreSignature.verify(payload, theirSig, pair.getPublic()))
                .hasMessage("it is not signed by the key");
        byte[] tampered = new String(payload, StandardCharsets.UTF_8).replace(ref, "registry.example.com/evil:1")
                .getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> SigstoreSignature.verify(tampered, theirSig, theirs))
                .hasMessage("it is not signed by the key");
    }

    @Test
    void aPayloadIsReadStrictly() throws Exception {
        KeyPair pair = SigstoreKeys.generate();
        for (List<String> c : List.of(
                List.of("{\"critical\": {\"type\": \"cosign container image signature\", \"image\":"
                        + " {\"docker-manifest-digest\": \"sha256:" + "a".repeat(64) + "\"}, \"identity\":"
                        + " {\"docker-reference\": \"x.io/a:1\"}, \"extra\": 1}}", "has the unknown field \"extra\""),
                List.of("{\"critical\": {\"type\": \"other\", \"image\": {\"docker-manifest-digest\": \"sha256:"
                        + "a".repeat(64) + "\"}, \"identity\": {\"docker-reference\": \"x.io/a:1\"}}}",
                        "type is not"),
                List.of("{\"critical\": {\"type\": \"cosign container image signature\", \"image\": {},"
                        + " \"identity\": {\"docker-reference\": \"x.io/a:1\"}}}", "has no \"docker-manifest-digest\""),
                List.of("[]", "not a JSON object"),
                // a key given twice: refused, never "the last one wins" (containers/image's parser refuses it too)
                List.of("{\"critical\": {\"type\": \"cosign container image signature\", \"image\":"
                        + " {\"docker-manifest-digest\": \"sha256:" + "a".repeat(64) + "\"}, \"identity\":"
                        + " {\"docker-reference\": \"x.io/a:1\", \"docker-reference\": \"x.io/b:1\"}}}",
                        "not JSON"))) {
            byte[] p = c.get(0).getBytes(StandardCharsets.UTF_8);
            String sig = SigstoreSignature.sign(pair.getPrivate(), p);
            assertThatThrownBy(() -> SigstoreSignature.verify(p, sig, pair.getPublic())).as(c.get(0))
                    .hasMessageContaining(c.get(1));
        }
    }
}
