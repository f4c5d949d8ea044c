package dev.davit.oci.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.digest.Digest;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.GpgKeyring;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPG simple signing between davit and skopeo (Debian's 1.9 with gpg, a throwaway keyring): skopeo signs
 * ({@code --sign-by}) into a file lookaside store and davit verifies the signature with the exported public key;
 * another key, a tampered message and another identity do not verify; davit signs with the exported secret key and
 * skopeo accepts the image under a policy requiring that key, and refuses it under a policy requiring another.
 */
class SimpleSigningGpgTest {
    @TempDir
    Path tmp;

    @Test
    void skopeoSignsAndDavitVerifiesAndTheOtherWayRound() throws Exception {
        Tools.assumeAvailable("skopeo", "gpg", "gpgconf");
        try (GpgKeyring signer = GpgKeyring.create(tmp.resolve("gnupg"), "signer");
             GpgKeyring other = GpgKeyring.create(tmp.resolve("gnupg-other"), "other")) {
            run(signer, other);
        }
    }

    private void run(GpgKeyring signer, GpgKeyring other) throws Exception {
        Path home = signer.home();
        String fpr = signer.fingerprint();
        byte[] pub = Files.readAllBytes(signer.export(tmp.resolve("signer.pub"), false));
        byte[] otherPub = Files.readAllBytes(other.export(tmp.resolve("other.pub"), false));
        try (TestRegistry registry = TestRegistry.start()) {
            PushedImage image = Fixtures.pushImage(registry, "signed/app", "1");
            Path look = Files.createDirectories(tmp.resolve("lookaside"));
            Path registriesD = Files.createDirectories(tmp.resolve("registries.d"));
            Files.writeString(registriesD.resolve("test.yaml"), "docker:\n  " + registry.hostPort()
                    + ":\n    lookaside: file://" + look + "\n    lookaside-staging: file://" + look + "\n");
            String signedRef = registry.hostPort() + "/signed/app:signed";
            Tools.run("env", "GNUPGHOME=" + home, "skopeo", "--registries.d", registriesD.toString(), "copy",
                    "--src-tls-verify=false", "--dest-tls-verify=false", "--sign-by", fpr, "docker://"
                    + image.reference(), "docker://" + signedRef);
            Digest manifest = Digest.parse(image.manifestDigest());
            Path sigFile = look.resolve("signed/app@sha256=" + manifest.hex()).resolve("signature-1");
            byte[] message = Files.readAllBytes(sigFile);

            SimpleSigning.Verified v = SimpleSigning.verify(message, List.of(otherPub, pub));
            assertThat(v.fingerprint()).isEqualTo(fpr);
            assertThat(v.claims()).isEqualTo(new SigstoreSignature.Claims(signedRef, manifest));
            assertThat(SigstoreSignature.mismatch(v.claims(), manifest, Reference.parse(signedRef),
                    SignaturePolicy.SignedIdentity.DEFAULT)).isNull();
            assertThatThrownBy(() -> SimpleSigning.verify(message, List.of(otherPub)))
                    .hasMessageContaining("which the policy does not trust");
            byte[] flipped = message.clone();
            flipped[flipped.length - 40] ^= 0x01;
            assertThatThrownBy(() -> SimpleSigning.verify(flipped, List.of(pub)))
                    .isInstanceOf(SigstoreSignature.Invalid.class);

            // davit signs another tag's identity with the exported secret key; skopeo verifies it under a policy
            byte[] secret = Files.readAllBytes(signer.export(tmp.resolve("signer.sec"), true));
            String mine = registry.hostPort() + "/signed/app:mine";
            Tools.run("skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://"
                    + image.reference(), "docker://" + mine);
            byte[] davitSig = SimpleSigning.sign(secret, fpr, new char[0], mine, manifest);
            assertThat(SimpleSigning.verify(davitSig, List.of(pub)).claims().dockerReference()).isEqualTo(mine);
            Files.write(sigFile, davitSig); // the lookaside's signature-1 is davit's now
            Path keyFile = Files.write(tmp.resolve("trusted.gpg"), pub);
            Path otherKeyFile = Files.write(tmp.resolve("other.gpg"), otherPub);
            String policy = "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {\""
                    + registry.hostPort() + "/signed\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\","
                    + " \"keyPath\": \"%s\"}]}}}";
            Path good = Files.writeString(tmp.resolve("policy-good.json"), policy.formatted(keyFile));
            Path bad = Files.writeString(tmp.resolve("policy-bad.json"), policy.formatted(otherKeyFile));
            Tools.run("skopeo", "--policy", good.toString(), "--registries.d", registriesD.toString(), "copy",
                    "--src-tls-verify=false", "docker://" + mine, "dir:" + tmp.resolve("out-good"));
            assertThatThrownBy(() -> Tools.run("skopeo", "--policy", bad.toString(), "--registries.d",
                    registriesD.toString(), "copy", "--src-tls-verify=false", "docker://" + mine, "dir:"
                    + tmp.resolve("out-bad"))).hasMessageContaining("Source image rejected");
            // and skopeo refuses davit's signature for the tag it does not name
            assertThatThrownBy(() -> Tools.run("skopeo", "--policy", good.toString(), "--registries.d",
                    registriesD.toString(), "copy", "--src-tls-verify=false", "docker://" + signedRef, "dir:"
                    + tmp.resolve("out-other"))).hasMessageContaining("Source image rejected");
        }
    }

    @Test
    void aSigningSubkeyCountsOnlyWhenItsPrimaryKeyBindsIt() throws Exception {
        Tools.assumeAvailable("gpg", "gpgconf");
        try (GpgKeyring signer = GpgKeyring.create(tmp.resolve("gnupg-sub"), "subsigner")) {
            String home = signer.home().toString();
            // a signing subkey (gpg writes its binding and back signatures); gpg signs with it from now on
            Tools.run("gpg", "--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
                    "--quick-add-key", signer.fingerprint(), "ed25519", "sign", "1y");
            Digest manifest = Digest.sha256("m".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            Path payload = Files.write(tmp.resolve("payload.json"), SimpleSigning.payload("reg.example/app:1",
                    manifest));
            Path sig = tmp.resolve("payload.sig");
            Tools.run("gpg", "--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
                    "--output", sig.toString(), "--sign", payload.toString());
            byte[] message = Files.readAllBytes(sig);
            byte[] pub = Files.readAllBytes(signer.export(tmp.resolve("sub.pub"), false));
            SimpleSigning.Verified v = SimpleSigning.verify(message, List.of(pub));
            assertThat(v.fingerprint()).as("signed by the subkey").isNotEqualTo(signer.fingerprint());
            assertThat(v.claims().dockerReference()).isEqualTo("reg.example/app:1");

            // the same keyring with the subkey's binding signatures taken out: the subkey is nobody's
            var ring = new org.bouncycastle.openpgp.PGPPublicKeyRing(org.bouncycastle.openpgp.PGPUtil.getDecoderStream(
                    new java.io.ByteArrayInputStream(pub)), new org.bouncycastle.openpgp.operator.bc
                    .BcKeyFingerprintCalculator());
            org.bouncycastle.openpgp.PGPPublicKey sub = null;
            for (var k : ring) {
                if (!k.isMasterKey() && SimpleSigning.fingerprint(k).equals(v.fingerprint())) {
                    sub = k;
                }
            }
            assertThat(sub).isNotNull();
            org.bouncycastle.openpgp.PGPPublicKey unbound = sub;
            for (var it = sub.getSignaturesOfType(org.bouncycastle.openpgp.PGPSignature.SUBKEY_BINDING);
                 it.hasNext(); ) {
                unbound = org.bouncycastle.openpgp.PGPPublicKey.removeCertification(unbound, it.next());
            }
            byte[] stripped = org.bouncycastle.openpgp.PGPPublicKeyRing.insertPublicKey(ring, unbound).getEncoded();
            assertThatThrownBy(() -> SimpleSigning.verify(message, List.of(stripped))).hasMessage("its key "
                    + v.fingerprint() + " is a subkey its primary key " + signer.fingerprint()
                    + " does not bind for signing");
        }
    }
}
