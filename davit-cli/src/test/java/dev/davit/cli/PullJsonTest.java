package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.copy.PullResult;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.reference.Reference;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The documented shape of {@code davit pull --json} (the pull itself needs a registry and is tested elsewhere). */
class PullJsonTest {

    private static Descriptor d(String mediaType, String content, long size) {
        return new Descriptor(mediaType, Digest.sha256(content.getBytes(StandardCharsets.UTF_8)), size);
    }

    @Test
    void shape() {
        Descriptor index = d(MediaTypes.OCI_INDEX, "index", 700);
        Descriptor manifest = d(MediaTypes.OCI_MANIFEST, "manifest", 400);
        Descriptor config = d(MediaTypes.OCI_CONFIG, "config", 1000);
        Descriptor layer = d(MediaTypes.OCI_LAYER_GZIP, "layer", 3_000_000);
        PullResult r = new PullResult(Reference.parse("alpine:3.20"), index.digest(),
                Instant.parse("2024-05-01T10:00:00Z"), manifest, "linux/amd64", List.of(manifest),
                List.of(new PullResult.BlobResult(config, true), new PullResult.BlobResult(layer, false)),
                3_000_000, Duration.ofMillis(1234));

        JsonNode doc = PullCommand.toJson("alpine:3.20", r);
        List<String> keys = new ArrayList<>();
        doc.fieldNames().forEachRemaining(keys::add);
        assertThat(keys).containsExactly("reference", "name", "resolved_digest", "resolved_at", "digest", "media_type",
                "platform", "size", "downloaded_bytes", "cached_blobs", "fetched_blobs", "elapsed_ms", "manifests",
                "blobs");
        assertThat(doc.get("reference").asText()).isEqualTo("alpine:3.20");
        assertThat(doc.get("name").asText()).isEqualTo("docker.io/library/alpine:3.20");
        assertThat(doc.get("resolved_digest").asText()).isEqualTo(index.digest().toString());
        assertThat(doc.get("digest").asText()).isEqualTo(manifest.digest().toString());
        assertThat(doc.get("platform").asText()).isEqualTo("linux/amd64");
        assertThat(doc.get("size").asLong()).isEqualTo(400 + 1000 + 3_000_000);
        assertThat(doc.get("cached_blobs").asInt()).isEqualTo(1);
        assertThat(doc.get("fetched_blobs").asInt()).isEqualTo(1);
        assertThat(doc.get("elapsed_ms").asLong()).isEqualTo(1234);
        assertThat(doc.at("/manifests/0/media_type").asText()).isEqualTo(MediaTypes.OCI_MANIFEST);
        JsonNode blob = doc.get("blobs").get(1);
        List<String> blobKeys = new ArrayList<>();
        blob.fieldNames().forEachRemaining(blobKeys::add);
        assertThat(blobKeys).containsExactly("digest", "media_type", "size", "cached");
        assertThat(blob.get("cached").asBoolean()).isFalse();
    }
}
