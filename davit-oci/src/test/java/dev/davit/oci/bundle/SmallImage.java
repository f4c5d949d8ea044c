package dev.davit.oci.bundle;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.store.OciStore;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A small image (config, one layer, manifest) built in memory, and layouts made of it. */
record SmallImage(byte[] config, byte[] layer, byte[] manifest, Descriptor configDesc, Descriptor layerDesc,
                  Descriptor manifestDesc) {

    static SmallImage of(String layerText) {
        byte[] config = ("{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\","
                + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}").getBytes(StandardCharsets.UTF_8);
        byte[] layer = layerText.getBytes(StandardCharsets.UTF_8);
        Descriptor c = new Descriptor(MediaTypes.OCI_CONFIG, Digest.sha256(config), config.length);
        Descriptor l = new Descriptor(MediaTypes.OCI_LAYER, Digest.sha256(layer), layer.length);
        ObjectNode m = Json.object();
        m.put("schemaVersion", 2);
        m.put("mediaType", MediaTypes.OCI_MANIFEST);
        m.set("config", ManifestJson.toJson(c));
        m.putArray("layers").add(ManifestJson.toJson(l));
        byte[] manifest = Json.bytes(m);
        Descriptor md = new Descriptor(MediaTypes.OCI_MANIFEST, Digest.sha256(manifest), manifest.length);
        return new SmallImage(config, layer, manifest, c, l, md);
    }

    /** Puts the image into a store under {@code name}. */
    void put(OciStore store, String name) {
        store.putBlob(configDesc, config);
        store.putBlob(layerDesc, layer);
        store.putBlob(manifestDesc, manifest);
        store.setEntry(name, manifestDesc, Map.of(OciStore.RESOLVED_DIGEST, manifestDesc.digest().toString(),
                OciStore.RESOLVED_AT, "2024-05-01T10:00:00Z"));
    }

    static byte[] layout() {
        return "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8);
    }

    /** An {@code index.json} naming {@code manifest} once per name (no name: one unnamed entry). */
    static byte[] index(Descriptor manifest, String... names) {
        ObjectNode idx = Json.object();
        idx.put("schemaVersion", 2);
        idx.put("mediaType", MediaTypes.OCI_INDEX);
        ArrayNode arr = idx.putArray("manifests");
        if (names.length == 0) {
            arr.add(ManifestJson.toJson(manifest));
        }
        for (String n : names) {
            Map<String, String> ann = new LinkedHashMap<>();
            ann.put(OciStore.REF_NAME, n);
            arr.add(ManifestJson.toJson(manifest.withAnnotations(ann)));
        }
        return Json.bytes(idx);
    }

    static String path(Descriptor d) {
        return "blobs/" + d.digest().algorithm().id() + "/" + d.digest().hex();
    }

    /** A valid bundle of this image, one entry per name, as a builder (more tar entries may be added). */
    TarBuilder bundle(String... names) {
        return new TarBuilder().file("oci-layout", layout()).file("index.json", index(manifestDesc, names))
                .dir("blobs/").dir("blobs/sha256/")
                .file(path(manifestDesc), manifest).file(path(configDesc), config).file(path(layerDesc), layer);
    }

    List<Descriptor> all() {
        return new ArrayList<>(List.of(manifestDesc, configDesc, layerDesc));
    }
}
