package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.manifest.Descriptor;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/** Small builders shared by the commands' JSON documents (see docs/reference/JSON.md). */
final class JsonShapes {
    private JsonShapes() {
    }

    /** {@code {"digest","media_type","size"}} of a descriptor. */
    static ObjectNode descriptor(Descriptor d) {
        ObjectNode n = Json.object();
        n.put("digest", d.digest().toString());
        n.put("media_type", d.mediaType());
        n.put("size", d.size());
        return n;
    }

    static ObjectNode annotations(Map<String, String> a) {
        ObjectNode n = Json.object();
        new TreeMap<>(a).forEach(n::put);
        return n;
    }

    static String instant(Instant i) {
        return i == null ? null : i.toString();
    }
}
