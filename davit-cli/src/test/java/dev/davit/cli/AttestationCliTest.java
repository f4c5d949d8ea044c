package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attestations that travel with an environment: {@code davit artifact attach} puts an SBOM beside an image in a real
 * registry (docker-registry 2.8 has no referrers API: through the {@code sha256-<hex>} tag index), {@code davit
 * referrers} lists it, {@code davit artifact pull REPO@DIGEST} gets the file back, and a {@code davit copy} to a second
 * registry carries it along.
 */
class AttestationCliTest {
    @TempDir
    Path home;

    @Test
    void anSbomIsAttachedListedPulledAndCopied() throws Exception {
        try (TestRegistry registry = TestRegistry.start(); TestRegistry mirror = TestRegistry.start()) {
            PushedImage image = Fixtures.pushImage(registry, "att/app", "1");
            Path sbom = Files.writeString(home.resolve("sbom.json"), "{\"spdxVersion\": \"SPDX-2.3\", \"name\":"
                    + " \"app\"}\n");
            Cli cli = new Cli(home.resolve("h"));
            Cli.Result attached = cli.run("--json", "artifact", "attach", "--subject", image.reference(), "--type",
                    "application/spdx+json", "--annotation", "org.example.tool=test", sbom + ":application/spdx+json");
            assertThat(attached.rc()).as(attached.toString()).isZero();
            JsonNode a = attached.json();
            assertThat(a.get("subject_digest").asText()).isEqualTo(image.manifestDigest());
            assertThat(a.get("referrers_tag").asBoolean()).isTrue();
            String digest = a.get("digest").asText();

            Cli.Result listed = cli.run("--json", "referrers", image.reference());
            assertThat(listed.rc()).as(listed.toString()).isZero();
            JsonNode r = listed.json().get("referrers");
            assertThat(r).hasSize(1);
            assertThat(r.get(0).get("digest").asText()).isEqualTo(digest);
            assertThat(r.get(0).get("artifact_type").asText()).isEqualTo("application/spdx+json");
            assertThat(r.get(0).get("annotations").get("org.example.tool").asText()).isEqualTo("test");

            Cli.Result pulled = cli.run("artifact", "pull", a.get("reference").asText(), home.resolve("out").toString());
            assertThat(pulled.rc()).as(pulled.toString()).isZero();
            assertThat(home.resolve("out/sbom.json")).hasSameTextualContentAs(sbom);

            String copied = mirror.hostPort() + "/att/app:1";
            assertThat(cli.run("copy", image.reference(), copied).rc()).isZero();
            Cli.Result there = cli.run("--json", "referrers", copied);
            assertThat(there.json().get("referrers").get(0).get("digest").asText()).isEqualTo(digest);
            assertThat(cli.run("artifact", "pull", mirror.hostPort() + "/att/app@" + digest,
                    home.resolve("out2").toString()).rc()).isZero();
            assertThat(home.resolve("out2/sbom.json")).hasSameTextualContentAs(sbom);
        }
    }
}
