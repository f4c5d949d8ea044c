package dev.davit.oci.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.client.SignatureClient;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signatures travel with a copy: an image davit signed is copied to a second registry with its sigstore signature
 * manifest, and a pull from there under a policy that remaps the mirror's names to the signed ones admits it; a copy
 * with the signatures removed has none, and the same policy refuses it.
 */
class SignaturesTravelTest {
    @TempDir
    Path tmp;

    @Test
    void aCopyCarriesTheSignatureUnlessToldNotTo() throws Exception {
        try (TestRegistry origin = TestRegistry.start(); TestRegistry mirror = TestRegistry.start();
             DavitClient plain = DavitClient.create(ClientOptions.anonymous(tmp.resolve("s0")))) {
            PushedImage image = Fixtures.pushImage(origin, "signed/app", "1");
            KeyPair pair = SigstoreKeys.generate();
            SignatureClient.SignResult signed = plain.signatures().signSigstore(image.reference(), pair.getPrivate(),
                    null);
            Digest digest = Digest.parse(image.manifestDigest());
            assertThat(signed.digest()).isEqualTo(digest);
            // a second signature is added beside the first
            plain.signatures().signSigstore(image.reference(), SigstoreKeys.generate().getPrivate(), null);

            String copied = mirror.hostPort() + "/mirror/app:1";
            plain.copy(image.reference(), copied, PlatformSelector.host(), ProgressListener.NONE);
            plain.copy(image.reference(), mirror.hostPort() + "/bare/app:1", PlatformSelector.host(),
                    ProgressListener.NONE, true);
            assertThat(plain.tags(mirror.hostPort() + "/mirror/app")).contains(SigstoreSignature.tag(digest));
            assertThat(plain.tags(mirror.hostPort() + "/bare/app")).doesNotContain(SigstoreSignature.tag(digest));

            Path pub = Files.writeString(tmp.resolve("k.pub"), SigstoreKeys.publicPem(pair.getPublic()));
            Path rd = Files.createDirectories(tmp.resolve("registries.d"));
            Files.writeString(rd.resolve("m.yaml"), "docker:\n  " + mirror.hostPort()
                    + ":\n    use-sigstore-attachments: true\n");
            String policy = "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {\"%s\": [{\"type\":"
                    + " \"sigstoreSigned\", \"keyPath\": \"" + pub + "\", \"signedIdentity\": {\"type\":"
                    + " \"remapIdentity\", \"prefix\": \"%s\", \"signedPrefix\": \"" + origin.hostPort()
                    + "/signed\"}}]}}}";
            Trust mirrorTrust = new Trust(SignaturePolicy.parse(policy.formatted(mirror.hostPort(), mirror.hostPort()
                    + "/mirror").getBytes(java.nio.charset.StandardCharsets.UTF_8), "mirror.json"),
                    RegistriesD.read(rd));
            try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("s1")).withTrust(mirrorTrust))) {
                c.pull(copied);
                assertThat(c.find(copied)).isPresent();
                assertThatThrownBy(() -> c.pull(mirror.hostPort() + "/bare/app:1"))
                        .hasMessageContaining("it has no sigstore signature");
            }
        }
    }

    /**
     * The air gap: an image pulled under a sigstore policy keeps its signature manifest in the store, an export
     * carries it, and another machine imports and verifies it with the registry gone; a bundle without it is refused
     * there; a cached image is admitted again from the store's signature when the policy changes, offline.
     */
    @Test
    void aBundleCarriesTheSignatureAndVerifiesWithNoRegistry() throws Exception {
        TestRegistry registry = TestRegistry.start();
        String host = registry.hostPort();
        PushedImage image = Fixtures.pushImage(registry, "signed/app", "1");
        KeyPair pair = SigstoreKeys.generate();
        Path pub = Files.writeString(tmp.resolve("k.pub"), SigstoreKeys.publicPem(pair.getPublic()));
        Path rd = Files.createDirectories(tmp.resolve("registries.d"));
        Files.writeString(rd.resolve("r.yaml"), "docker:\n  " + host + ":\n    use-sigstore-attachments: true\n");
        String policy = "{\"default\": [{\"type\": \"sigstoreSigned\", \"keyPath\": \"" + pub + "\"}]}";
        Trust trust = new Trust(SignaturePolicy.parse(policy.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                "p.json"), RegistriesD.read(rd));
        Trust changed = new Trust(SignaturePolicy.parse((policy + " ").getBytes(
                java.nio.charset.StandardCharsets.UTF_8), "p2.json"), RegistriesD.read(rd));
        Digest digest = Digest.parse(image.manifestDigest());
        String sigRef = host + "/signed/app:" + SigstoreSignature.tag(digest);
        Path bundle = tmp.resolve("signed.tar");
        Path unsigned = tmp.resolve("unsigned.tar");
        try {
            try (DavitClient plain = DavitClient.create(ClientOptions.anonymous(tmp.resolve("s0")))) {
                plain.signatures().signSigstore(image.reference(), pair.getPrivate(), null);
                plain.pull(image.reference());
                plain.bundles().export(java.util.List.of(image.reference()), unsigned,
                        dev.davit.oci.bundle.ExportOptions.defaults(), null);
            }
            try (DavitClient online = DavitClient.create(ClientOptions.anonymous(tmp.resolve("s1")).withTrust(trust))) {
                online.pull(image.reference());
                assertThat(online.find(sigRef)).isPresent(); // kept beside the image
                online.bundles().export(java.util.List.of(image.reference()), bundle,
                        dev.davit.oci.bundle.ExportOptions.defaults(), null);
            }
        } finally {
            registry.close();
        }
        // no registry from here on
        try (DavitClient airGapped = DavitClient.create(ClientOptions.anonymous(tmp.resolve("s2")).withTrust(trust))) {
            airGapped.bundles().importBundle(bundle, dev.davit.oci.bundle.ImportOptions.defaults());
            assertThat(airGapped.find(image.reference())).isPresent();
            // and pushed on to a registry of the air-gapped side, its signature goes along
            try (TestRegistry inside = TestRegistry.start()) {
                String there = inside.hostPort() + "/inside/app:1";
                airGapped.push(image.reference(), there);
                assertThat(airGapped.tags(inside.hostPort() + "/inside/app")).contains(SigstoreSignature.tag(digest));
            }
            assertThatThrownBy(() -> DavitClient.create(ClientOptions.anonymous(tmp.resolve("s3")).withTrust(trust))
                    .bundles().importBundle(unsigned, dev.davit.oci.bundle.ImportOptions.defaults()))
                    .hasMessageContaining("it has no sigstore signature");
        }
        // a bundle cannot say what admitted its image: a forged trust record in its index is dropped on import
        Path x = Files.createDirectories(tmp.resolve("forged"));
        dev.davit.oci.testkit.Tools.run("tar", "-xf", unsigned.toString(), "-C", x.toString());
        String index = Files.readString(x.resolve("index.json"));
        Files.writeString(x.resolve("index.json"), index.replaceFirst("\"annotations\":\\{", "\"annotations\":{\""
                + Trust.ADMITTED_BY + "\":\"" + trust.fingerprint() + "\","));
        assertThat(Files.readString(x.resolve("index.json"))).contains(trust.fingerprint());
        Path forged = tmp.resolve("forged.tar");
        dev.davit.oci.testkit.Tools.run("tar", "-cf", forged.toString(), "-C", x.toString(), ".");
        try (DavitClient lax = DavitClient.create(ClientOptions.anonymous(tmp.resolve("s4")))) {
            lax.bundles().importBundle(forged, dev.davit.oci.bundle.ImportOptions.defaults());
            assertThat(lax.find(image.reference()).orElseThrow().descriptor().annotation(Trust.ADMITTED_BY)).isNull();
        }
        try (DavitClient strict = DavitClient.create(ClientOptions.anonymous(tmp.resolve("s4")).withTrust(trust))) {
            assertThatThrownBy(() -> strict.signatures().checkTrust(image.reference())).hasMessageContaining(
                    "no sigstore signature");
        }
        // nor can it pass an image off as a signature by its name: named sha256-<hex>.sig, it is still admitted
        Files.writeString(x.resolve("index.json"), index.replace("\"" + image.reference() + "\"", "\"" + sigRef
                + "\""));
        Path disguised = tmp.resolve("disguised.tar");
        dev.davit.oci.testkit.Tools.run("tar", "-cf", disguised.toString(), "-C", x.toString(), ".");
        try (DavitClient strict = DavitClient.create(ClientOptions.anonymous(tmp.resolve("s5")).withTrust(trust))) {
            assertThatThrownBy(() -> strict.bundles().importBundle(disguised,
                    dev.davit.oci.bundle.ImportOptions.defaults()))
                    .hasMessageContaining(sigRef + " is refused by the signature policy");
            assertThat(strict.images()).isEmpty();
        }
        try (DavitClient later = DavitClient.create(ClientOptions.anonymous(tmp.resolve("s2")).withTrust(changed))) {
            later.signatures().checkTrust(
                    image.reference()); // another policy: admitted again from the store's signature
            assertThat(later.find(image.reference()).orElseThrow().descriptor().annotation(Trust.ADMITTED_BY))
                    .isEqualTo(changed.fingerprint());
        }
    }
}
