package dev.davit.oci.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.GpgKeyring;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The signature policy enforced on pull and copy, against real signers and a real registry: a GPG signature skopeo
 * made ({@code --sign-by}, file lookaside, read as a file and over HTTP on loopback) and a sigstore signature attached beside the image ({@code sha256-<hex>.sig},
 * pushed as cosign pushes it) admit the image under policies requiring their keys; an unsigned image, a
 * signature by another key, a signature for another identity, a registries.d that does not say where signatures are,
 * and a {@code reject} scope refuse it, with the scope and rule named, and a refused image is never stored under its
 * name; scopes take precedence as containers/image documents.
 */
class TrustPullTest {
    @TempDir
    Path tmp;

    private DavitClient client(String store, Trust trust) {
        return DavitClient.create(ClientOptions.anonymous(tmp.resolve(store)).withTrust(trust));
    }

    private Path policy(String name, String json) throws Exception {
        return Files.writeString(tmp.resolve(name), json);
    }

    @Test
    void gpgAndSigstoreSignaturesAdmitWhatTheirKeysSignedAndNothingElse() throws Exception {
        Tools.assumeAvailable("skopeo", "gpg", "gpgconf");
        try (GpgKeyring signer = GpgKeyring.create(tmp.resolve("gnupg"), "signer");
             GpgKeyring other = GpgKeyring.create(tmp.resolve("gnupg2"), "other")) {
            run(signer, other);
        }
    }

    private void run(GpgKeyring signer, GpgKeyring otherGpg) throws Exception {
        Path gpg = signer.home();
        String fpr = signer.fingerprint();
        Path gpgPub = signer.export(tmp.resolve("signer.gpg"), false);
        try (TestRegistry registry = TestRegistry.start()) {
            String host = registry.hostPort();
            PushedImage image = Fixtures.pushImage(registry, "signed/app", "1");
            Fixtures.pushImage(registry, "signed/other", "1");
            Digest manifest = Digest.parse(image.manifestDigest());
            Path look = Files.createDirectories(tmp.resolve("lookaside"));
            Path rd = Files.createDirectories(tmp.resolve("registries.d"));
            Files.writeString(rd.resolve("test.yaml"), "docker:\n  " + host + ":\n    lookaside: file://" + look
                    + "\n    use-sigstore-attachments: true\n");
            Path rdNoAttachments = Files.createDirectories(tmp.resolve("registries.d-plain"));
            Files.writeString(rdNoAttachments.resolve("test.yaml"), "docker:\n  " + host + ":\n    lookaside: file://"
                    + look + "\n");

            // GPG: skopeo signs the :gpg tag into the lookaside store
            Tools.run("env", "GNUPGHOME=" + gpg, "skopeo", "--registries.d", rd.toString(), "copy",
                    "--src-tls-verify=false", "--dest-tls-verify=false", "--sign-by", fpr, "docker://"
                    + image.reference(), "docker://" + host + "/signed/app:gpg");
            Trust gpgTrust = new Trust(SignaturePolicy.read(policy("gpg.json", "{\"default\": [{\"type\": \"reject\"}],"
                    + " \"transports\": {\"docker\": {\"" + host + "/signed\": [{\"type\": \"signedBy\", \"keyType\":"
                    + " \"GPGKeys\", \"keyPath\": \"" + gpgPub + "\"}]}}}")), RegistriesD.read(rd));
            try (DavitClient c = client("s1", gpgTrust)) {
                c.pull(host + "/signed/app:gpg");
                assertThat(c.find(host + "/signed/app:gpg")).isPresent();
                // the same manifest under a tag the signature does not name: refused, not stored
                assertThatThrownBy(() -> c.pull(host + "/signed/app:1")).isInstanceOf(DavitException.class)
                        .hasMessageContaining("is refused by the signature policy")
                        .hasMessageContaining("docker scope \"" + host + "/signed\" (signedBy")
                        .hasMessageContaining("which matchRepoDigestOrExact does not match")
                        .satisfies(e -> assertThat(((DavitException) e).kind()).isEqualTo(DavitException.Kind.VERIFICATION));
                assertThat(c.find(host + "/signed/app:1")).isEmpty();
                // by digest, the repository is enough
                c.pull(host + "/signed/app@" + manifest);
                // nothing signed this repository's image; the default rejects other registries
                assertThatThrownBy(() -> c.pull(host + "/signed/other:1")).hasMessageContaining("has no signature in");
                c.bundles().export(List.of(host + "/signed/app:gpg"), tmp.resolve("gpg.tar"),
                        dev.davit.oci.bundle.ExportOptions.defaults(), null);
            }
            // the same lookaside store served over HTTP on loopback (the JDK's file server, as a web server would)
            var server = serve(look);
            try {
                Path rdHttp = httpRegistriesD(host, server);
                try (DavitClient c = client("s1-http", new Trust(gpgTrust.policy(), RegistriesD.read(rdHttp)))) {
                    c.pull(host + "/signed/app:gpg");
                    assertThat(c.find(host + "/signed/app:gpg").orElseThrow().descriptor().annotation(Trust.SIGNERS))
                            .isEqualTo("GPG " + fpr);
                    assertThatThrownBy(() -> c.pull(host + "/signed/other:1")).hasMessageContaining(
                            "has no signature in http://127.0.0.1:");
                }
            } finally {
                server.stop(0);
            }
            // a bundle is held to the policy too: the file lookaside store verifies it with no registry reached
            try (DavitClient offline = client("s6", gpgTrust)) {
                offline.bundles().importBundle(tmp.resolve("gpg.tar"), dev.davit.oci.bundle.ImportOptions.defaults());
                assertThat(offline.find(host + "/signed/app:gpg")).isPresent();
            }
            try (DavitClient strict = client("s7", new Trust(SignaturePolicy.read(policy("reject.json",
                    "{\"default\": [{\"type\": \"reject\"}]}")), RegistriesD.NONE))) {
                assertThatThrownBy(() -> strict.bundles().importBundle(tmp.resolve("gpg.tar"),
                        dev.davit.oci.bundle.ImportOptions.defaults())).hasMessageContaining("the policy rejects it");
                assertThat(strict.images()).isEmpty();
            }
            // a copy takes the GPG signature along into the destination's lookaside store; a mirror policy that maps
            // the copy's name onto the signed one admits it
            try (DavitClient c = client("s1", gpgTrust)) {
                c.copy(host + "/signed/app:gpg", host + "/copied/app:gpg");
            }
            assertThat(look.resolve("copied/app@sha256=" + manifest.hex()).resolve("signature-1")).hasSameBinaryContentAs(
                    look.resolve("signed/app@sha256=" + manifest.hex()).resolve("signature-1"));
            Trust mirrorGpg = new Trust(SignaturePolicy.read(policy("gpg-mirror.json", "{\"default\": [{\"type\":"
                    + " \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": \"" + gpgPub + "\", \"signedIdentity\":"
                    + " {\"type\": \"remapIdentity\", \"prefix\": \"" + host + "/copied\", \"signedPrefix\": \"" + host
                    + "/signed\"}}]}")), RegistriesD.read(rd));
            try (DavitClient c = client("s8", mirrorGpg)) {
                c.pull(host + "/copied/app:gpg");
            }
            // another key
            KeyPair otherPair = SigstoreKeys.generate();
            Path otherGpgPub = otherGpg.export(tmp.resolve("other.gpg"), false);
            Trust wrongGpg = new Trust(SignaturePolicy.read(policy("gpg-other.json", "{\"default\": [{\"type\":"
                    + " \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": \"" + otherGpgPub + "\"}]}")),
                    RegistriesD.read(rd));
            // an image in the store is held to the policy when it is used: the trust that admitted it is recorded,
            // the same trust is a hash away, another one admits it again (here: refuses it)
            try (DavitClient again = client("s1", gpgTrust)) {
                var entry = again.find(host + "/signed/app:gpg").orElseThrow().descriptor();
                assertThat(entry.annotation(Trust.ADMITTED_BY)).isEqualTo(gpgTrust.fingerprint());
                assertThat(entry.annotation(Trust.SIGNERS)).isEqualTo("GPG " + fpr);
                again.signatures().checkTrust(host + "/signed/app:gpg");
            }
            try (DavitClient stricter = client("s1", wrongGpg)) {
                assertThatThrownBy(() -> stricter.signatures().checkTrust(host + "/signed/app:gpg"))
                        .hasMessageContaining("which the policy does not trust");
            }
            try (DavitClient c = client("s2", wrongGpg)) {
                assertThatThrownBy(() -> c.pull(host + "/signed/app:gpg")).hasMessageContaining(
                        "which the policy does not trust").hasMessageContaining("the policy's default");
                assertThat(c.images()).isEmpty();
            }

            // sigstore: davit's signature of the :cosign identity, attached as cosign attaches it
            KeyPair pair = SigstoreKeys.generate();
            Path pub = Files.writeString(tmp.resolve("cosign.pub"), SigstoreKeys.publicPem(pair.getPublic()));
            Path otherPub = Files.writeString(tmp.resolve("other.pub"), SigstoreKeys.publicPem(otherPair.getPublic()));
            Tools.run("skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://"
                    + image.reference(), "docker://" + host + "/signed/app:cosign");
            attach(registry, "signed/app", manifest, host + "/signed/app:cosign", pair);
            String sigstorePolicy = "{\"default\": [{\"type\": \"insecureAcceptAnything\"}], \"transports\":"
                    + " {\"docker\": {\"" + host + "/signed/app\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"%s\"}],"
                    + " \"" + host + "/signed/other\": [{\"type\": \"reject\"}]}}}";
            try (DavitClient c = client("s3", new Trust(SignaturePolicy.read(policy("cosign.json",
                    sigstorePolicy.formatted(pub))), RegistriesD.read(rd)))) {
                c.pull(host + "/signed/app:cosign");
                assertThatThrownBy(() -> c.pull(host + "/signed/app:gpg")).hasMessageContaining("which"
                        + " matchRepoDigestOrExact does not match");
                assertThatThrownBy(() -> c.pull(host + "/signed/other:1")).hasMessageContaining(
                        "docker scope \"" + host + "/signed/other\" (reject): the policy rejects it");
                // a registries.d that does not read attachments cannot admit it
                try (DavitClient plain = client("s4", new Trust(c.options().trust().policy(),
                        RegistriesD.read(rdNoAttachments)))) {
                    assertThatThrownBy(() -> plain.pull(host + "/signed/app:cosign")).hasMessageContaining(
                            "does not set use-sigstore-attachments");
                }
                // copy is held to the policy too: nothing reaches the destination
                assertThatThrownBy(() -> c.copy(host + "/signed/other:1", host + "/copied/other:1"))
                        .hasMessageContaining("the policy rejects it");
                assertThatThrownBy(() -> c.tags(host + "/copied/other")).hasMessageContaining(
                        "repository name not known to registry");
            }
            try (DavitClient c = client("s5", new Trust(SignaturePolicy.read(policy("cosign-other.json",
                    sigstorePolicy.formatted(otherPub))), RegistriesD.read(rd)))) {
                assertThatThrownBy(() -> c.pull(host + "/signed/app:cosign")).hasMessageContaining(
                        "it is not signed by the key");
                assertThat(c.images()).isEmpty();
            }
        }
    }

    @Test
    void aLookasideSignatureThatIsNotOneRefusesTheImageAsSkopeoDoesWhateverItsSize() throws Exception {
        Tools.assumeAvailable("skopeo", "gpg", "gpgconf");
        try (GpgKeyring signer = GpgKeyring.create(tmp.resolve("gnupg"), "signer");
             TestRegistry registry = TestRegistry.start()) {
            String host = registry.hostPort();
            PushedImage image = Fixtures.pushImage(registry, "signed/app", "1");
            Path look = Files.createDirectories(tmp.resolve("lookaside"));
            Path rd = Files.createDirectories(tmp.resolve("registries.d"));
            Files.writeString(rd.resolve("test.yaml"), "docker:\n  " + host + ":\n    lookaside: file://" + look + "\n");
            String ref = host + "/signed/app:gpg";
            Tools.run("env", "GNUPGHOME=" + signer.home(), "skopeo", "--registries.d", rd.toString(), "copy",
                    "--src-tls-verify=false", "--dest-tls-verify=false", "--sign-by", signer.fingerprint(), "docker://"
                    + image.reference(), "docker://" + ref);
            Path dir = look.resolve("signed/app@sha256=" + Digest.parse(image.manifestDigest()).hex());
            byte[] valid = Files.readAllBytes(dir.resolve("signature-1"));
            Path policy = policy("gpg.json", "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\":"
                    + " {\"" + host + "/signed\": [{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": \""
                    + signer.export(tmp.resolve("signer.gpg"), false) + "\"}]}}}");
            Trust trust = new Trust(SignaturePolicy.read(policy), RegistriesD.read(rd));
            byte[] big = new byte[300 << 10];
            java.util.Arrays.fill(big, (byte) 'g');
            byte[] pgpLike = "\u00a3 not OpenPGP at all".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
            // signature-1 is what each case says, signature-2 the valid one; skopeo (containers/image) is the reference
            Map<String, byte[]> refused = new java.util.LinkedHashMap<>();
            refused.put("garbage", "garbage\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            refused.put("garbage over 256 KiB", big);
            refused.put("empty", new byte[0]);
            refused.put("an unknown format", "\0x-other\nbody".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            int n = 0;
            for (Map.Entry<String, byte[]> c : refused.entrySet()) {
                Files.write(dir.resolve("signature-1"), c.getValue());
                Files.write(dir.resolve("signature-2"), valid);
                Path out = tmp.resolve("skopeo-" + ++n);
                assertThatThrownBy(() -> Tools.run("skopeo", "--policy", policy.toString(), "--registries.d",
                        rd.toString(), "copy", "--src-tls-verify=false", "docker://" + ref, "dir:" + out))
                        .as("skopeo, " + c.getKey()).hasMessageContaining("signature");
                try (DavitClient d = client("refused-" + n, trust)) {
                    assertThatThrownBy(() -> d.pull(ref)).as("davit, " + c.getKey())
                            .isInstanceOf(DavitException.class)
                            .hasMessageContaining("is refused by the signature policy")
                            .hasMessageContaining("signature-1 in the lookaside store file://" + look)
                            .hasMessageContaining(c.getValue() == big ? "is over 256 KiB" : "is not a signature")
                            .hasMessageEndingWith("a lookaside store with a signature that cannot be read admits"
                                    + " nothing (as for containers/image)")
                            .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.VERIFICATION);
                    assertThat(d.images()).isEmpty();
                }
            }
            // a signature that is one (an OpenPGP packet first) but does not verify fails only itself: the next admits
            Files.write(dir.resolve("signature-1"), pgpLike);
            Tools.run("skopeo", "--policy", policy.toString(), "--registries.d", rd.toString(), "copy",
                    "--src-tls-verify=false", "docker://" + ref, "dir:" + tmp.resolve("skopeo-admitted"));
            try (DavitClient d = client("admitted", trust)) {
                d.pull(ref);
                assertThat(d.find(ref)).isPresent();
            }
            // containers/image's format prefix on a simple signing signature is read as skopeo reads it
            byte[] prefixed = new byte[valid.length + "simple-signing".length() + 2];
            System.arraycopy("\0simple-signing\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, prefixed,
                    0, 16);
            System.arraycopy(valid, 0, prefixed, 16, valid.length);
            Files.write(dir.resolve("signature-1"), prefixed);
            Files.delete(dir.resolve("signature-2"));
            Tools.run("skopeo", "--policy", policy.toString(), "--registries.d", rd.toString(), "copy",
                    "--src-tls-verify=false", "docker://" + ref, "dir:" + tmp.resolve("skopeo-prefixed"));
            try (DavitClient d = client("prefixed", trust)) {
                d.pull(ref);
            }
            // over HTTP the same: the garbage first refuses
            Files.write(dir.resolve("signature-1"), refused.get("garbage"));
            Files.write(dir.resolve("signature-2"), valid);
            var server = serve(look);
            try {
                Path rdHttp = httpRegistriesD(host, server);
                try (DavitClient d = client("http", new Trust(trust.policy(), RegistriesD.read(rdHttp)))) {
                    assertThatThrownBy(() -> d.pull(ref)).hasMessageContaining("signature-1 in the lookaside store"
                            + " http://127.0.0.1:").hasMessageContaining("is not a signature (its format is unknown:"
                            + " it starts with the byte 0x67, not an OpenPGP packet)");
                }
            } finally {
                server.stop(0);
            }
        }
    }

    /** The lookaside store {@code look} served over HTTP on loopback (the JDK's file server, as a web server would). */
    private static com.sun.net.httpserver.HttpServer serve(Path look) {
        var server = com.sun.net.httpserver.SimpleFileServer.createFileServer(new java.net.InetSocketAddress(
                java.net.InetAddress.getLoopbackAddress(), 0), look, com.sun.net.httpserver.SimpleFileServer
                .OutputLevel.NONE);
        server.start();
        return server;
    }

    /** A registries.d naming {@code server} the lookaside store of {@code host}'s images. */
    private Path httpRegistriesD(String host, com.sun.net.httpserver.HttpServer server) throws Exception {
        Path rdHttp = Files.createDirectories(tmp.resolve("registries.d-http"));
        Files.writeString(rdHttp.resolve("test.yaml"), "docker:\n  " + host + ":\n    lookaside: http://127.0.0.1:"
                + server.getAddress().getPort() + "\n");
        return rdHttp;
    }

    /** Attaches a sigstore signature of {@code manifest} claiming {@code identity}, as cosign does. */
    private static void attach(TestRegistry registry, String repo, Digest manifest, String identity, KeyPair pair) {
        byte[] payload = SigstoreSignature.payload(identity, manifest);
        Fixtures.pushSigstoreSignature(registry, repo, manifest.toString(), payload,
                Map.of(SigstoreSignature.SIGNATURE_ANNOTATION, SigstoreSignature.sign(pair.getPrivate(), payload)));
    }
}
