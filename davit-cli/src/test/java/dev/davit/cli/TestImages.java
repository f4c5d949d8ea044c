package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.store.OciStore;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

/** Writes small images straight into a store (no registry), as a pull would leave them. */
final class TestImages {
    private TestImages() {
    }

    /** What was written. */
    record Image(String name, Descriptor manifest, byte[] manifestBytes, Descriptor config, Descriptor layer) {
        long graphSize() {
            return manifest.size() + config.size() + layer.size();
        }
    }

    static Image put(OciStore store, String name, String layerText) {
        byte[] config = ("{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
                + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}").getBytes(StandardCharsets.UTF_8);
        byte[] layer = layerText.getBytes(StandardCharsets.UTF_8);
        Descriptor c = new Descriptor(MediaTypes.OCI_CONFIG, Digest.sha256(config), config.length);
        Descriptor l = new Descriptor(MediaTypes.OCI_LAYER, Digest.sha256(layer), layer.length);
        ObjectNode m = Json.object();
        m.put("schemaVersion", 2);
        m.put("mediaType", MediaTypes.OCI_MANIFEST);
        m.set("config", ManifestJson.toJson(c));
        m.putArray("layers").add(ManifestJson.toJson(l));
        m.putObject("annotations").put("org.opencontainers.image.title", "test " + name);
        byte[] manifest = Json.bytes(m);
        Descriptor md = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(manifest), manifest.length);
        store.putBlob(c, config);
        store.putBlob(l, layer);
        store.putBlob(md, manifest);
        store.setEntry(name, md, Map.of(OciStore.RESOLVED_DIGEST, md.digest().toString(),
                OciStore.RESOLVED_AT, Instant.parse("2024-05-01T10:00:00Z").toString()));
        return new Image(name, md, manifest, c, l);
    }
}
