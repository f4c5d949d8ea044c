package dev.davit.oci.unpack;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.internal.manifest.ManifestJson;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.store.OciStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/** Writes images made of given layer tars straight into a store, as a pull would leave them. */
final class StoreImages {
    /** How a layer is stored. */
    enum Codec { TAR, GZIP, ZSTD }

    private final OciStore store;
    private final List<Descriptor> layers = new ArrayList<>();
    private final List<String> diffIds = new ArrayList<>();
    private String platform = "linux/amd64";
    private String configType = MediaTypes.OCI_CONFIG;
    private String manifestType = MediaTypes.OCI_MANIFEST;

    private StoreImages(OciStore store) {
        this.store = store;
    }

    static StoreImages image(OciStore store) {
        return new StoreImages(store);
    }

    /** A gzip layer with the OCI media type. */
    StoreImages layer(byte[] tar) {
        return layer(tar, Codec.GZIP);
    }

    StoreImages layer(byte[] tar, Codec codec) {
        String type = switch (codec) {
            case TAR -> MediaTypes.OCI_LAYER;
            case GZIP -> MediaTypes.OCI_LAYER_GZIP;
            case ZSTD -> MediaTypes.OCI_LAYER_ZSTD;
        };
        return layer(tar, codec, type);
    }

    StoreImages layer(byte[] tar, Codec codec, String mediaType) {
        byte[] blob = compress(tar, codec);
        Descriptor d = new Descriptor(mediaType, Digest.sha256(blob), blob.length);
        store.putBlob(d, blob);
        layers.add(d);
        diffIds.add(Digest.sha256(tar).toString());
        return this;
    }

    /** Replaces the diff_id of layer {@code i} (0-based) in the config. */
    StoreImages diffId(int i, String digest) {
        diffIds.set(i, digest);
        return this;
    }

    StoreImages platform(String p) {
        this.platform = p;
        return this;
    }

    StoreImages docker() {
        configType = MediaTypes.DOCKER_CONFIG;
        manifestType = MediaTypes.DOCKER_MANIFEST;
        return this;
    }

    StoreImages configType(String t) {
        configType = t;
        return this;
    }

    /** Stores config and manifest; returns the manifest's descriptor. */
    Descriptor manifest() {
        Platform p = Platform.parse(platform);
        ObjectNode config = Json.object();
        config.put("architecture", p.architecture());
        config.put("os", p.os());
        if (p.variant() != null) {
            config.put("variant", p.variant());
        }
        ObjectNode rootfs = config.putObject("rootfs");
        rootfs.put("type", "layers");
        ArrayNode ids = rootfs.putArray("diff_ids");
        diffIds.forEach(ids::add);
        byte[] configBytes = Json.bytes(config);
        Descriptor c = new Descriptor(configType, Digest.sha256(configBytes), configBytes.length);
        store.putBlob(c, configBytes);
        ObjectNode m = Json.object();
        m.put("schemaVersion", 2);
        m.put("mediaType", manifestType);
        m.set("config", ManifestJson.toJson(c));
        ArrayNode ls = m.putArray("layers");
        layers.forEach(l -> ls.add(ManifestJson.toJson(l)));
        byte[] manifest = Json.bytes(m);
        Descriptor md = new Descriptor(manifestType, Digest.sha256(manifest), manifest.length);
        store.putBlob(md, manifest);
        return md;
    }

    /** Stores the image and names it {@code name} in the store; returns the entry's descriptor. */
    Descriptor put(String name) {
        return store.setEntry(name, manifest(), Map.of()).descriptor();
    }

    /** Stores an OCI index over {@code manifests} (with their platforms) and names it. */
    static Descriptor index(OciStore store, String name, List<Descriptor> manifests) {
        ObjectNode idx = Json.object();
        idx.put("schemaVersion", 2);
        idx.put("mediaType", MediaTypes.OCI_INDEX);
        ArrayNode ms = idx.putArray("manifests");
        manifests.forEach(d -> ms.add(ManifestJson.toJson(d)));
        byte[] bytes = Json.bytes(idx);
        Descriptor d = new Descriptor(MediaTypes.OCI_INDEX, Digest.sha256(bytes), bytes.length);
        store.putBlob(d, bytes);
        return store.setEntry(name, d, Map.of()).descriptor();
    }

    static byte[] compress(byte[] tar, Codec codec) {
        try {
            return switch (codec) {
                case TAR -> tar;
                case GZIP -> {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
                        gz.write(tar);
                    }
                    yield out.toByteArray();
                }
                case ZSTD -> com.github.luben.zstd.Zstd.compress(tar);
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
