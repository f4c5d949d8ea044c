package dev.davit.oci.internal.manifest;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.Platform;

/**
 * The JSON form of the descriptors davit writes ({@code index.json}, built manifests, bundles): Jackson's trees stay
 * out of the API. Reading is {@link dev.davit.oci.manifest.ManifestParser}'s.
 */
public final class ManifestJson {
    private ManifestJson() {
    }

    /**
     * Serialises a descriptor as the OCI spec lays it out (used for {@code index.json}).
     *
     * @param d the descriptor to write
     * @return a new JSON object; optional fields appear only when set, annotations sorted by key
     */
    public static ObjectNode toJson(Descriptor d) {
        ObjectNode o = Json.object();
        o.put("mediaType", d.mediaType());
        o.put("digest", d.digest().toString());
        o.put("size", d.size());
        if (d.artifactType() != null) {
            o.put("artifactType", d.artifactType());
        }
        if (!d.urls().isEmpty()) {
            ArrayNode a = o.putArray("urls");
            d.urls().forEach(a::add);
        }
        if (!d.annotations().isEmpty()) {
            ObjectNode a = o.putObject("annotations");
            new java.util.TreeMap<>(d.annotations()).forEach(a::put);
        }
        if (d.platform() != null) {
            Platform p = d.platform();
            ObjectNode po = o.putObject("platform");
            po.put("architecture", p.architecture());
            po.put("os", p.os());
            if (p.osVersion() != null) {
                po.put("os.version", p.osVersion());
            }
            if (!p.osFeatures().isEmpty()) {
                ArrayNode a = po.putArray("os.features");
                p.osFeatures().forEach(a::add);
            }
            if (p.variant() != null) {
                po.put("variant", p.variant());
            }
        }
        return o;
    }
}
