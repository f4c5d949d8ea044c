package dev.davit.oci.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.ImageIndex;
import dev.davit.oci.manifest.ImageManifest;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.manifest.MediaTypes;
import dev.davit.oci.manifest.Platform;
import dev.davit.oci.store.OciStore;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Summaries of an entry's graph, shared by export and inspect. */
final class Graphs {
    private Graphs() {
    }

    /** The largest image config read to find a platform. */
    static final int MAX_CONFIG_BYTES = 1024 * 1024;

    /** Where manifests and configs come from; null answers mean "not available". */
    interface Lookup {
        /** Whether the blob is there (with the descriptor's size). */
        boolean has(Descriptor d);

        /** The parsed manifest, or null. */
        Manifest manifest(Descriptor d);

        /** The bytes of a small config blob, or null. */
        byte[] config(Descriptor d);
    }

    /** Summarises an {@code index.json} entry. */
    static BundleRef summarize(Descriptor entry, Lookup lookup) {
        String name = entry.annotation(OciStore.REF_NAME);
        Set<Digest> seen = new HashSet<>();
        Deque<Descriptor> todo = new ArrayDeque<>();
        todo.add(entry);
        long size = 0;
        boolean complete = true;
        Manifest top = null;
        while (!todo.isEmpty()) {
            Descriptor d = todo.poll();
            if (!seen.add(d.digest())) {
                continue;
            }
            size += d.size();
            if (!lookup.has(d)) {
                complete = false;
                continue;
            }
            if (MediaTypes.isManifest(d.mediaType())) {
                Manifest m = lookup.manifest(d);
                if (m == null) {
                    complete = false;
                    continue;
                }
                if (top == null) {
                    top = m;
                }
                todo.addAll(m.children());
            }
        }
        return new BundleRef(name, RefNames.normalized(name), entry, platforms(entry, top, lookup), size, complete);
    }

    static List<String> platforms(Descriptor entry, Manifest top, Lookup lookup) {
        String recorded = entry.annotation(OciStore.PLATFORM);
        if (recorded != null) {
            return List.of(recorded);
        }
        if (entry.platform() != null) {
            return List.of(Platform.normalize(entry.platform()).toString());
        }
        if (top instanceof ImageIndex idx) {
            Set<String> out = new LinkedHashSet<>();
            for (Descriptor m : idx.manifests()) {
                if (m.platform() != null && !"unknown".equals(m.platform().os())) {
                    out.add(Platform.normalize(m.platform()).toString());
                }
            }
            return new ArrayList<>(out);
        }
        if (top instanceof ImageManifest im && (im.config().mediaType().equals(MediaTypes.OCI_CONFIG)
                || im.config().mediaType().equals(MediaTypes.DOCKER_CONFIG))
                && im.config().size() <= MAX_CONFIG_BYTES) {
            byte[] config = lookup.config(im.config());
            if (config != null) {
                try {
                    JsonNode c = Json.read(config);
                    if (c.path("os").isTextual() && c.path("architecture").isTextual()
                            && !c.get("os").asText().isEmpty() && !c.get("architecture").asText().isEmpty()) {
                        String variant = c.path("variant").isTextual() ? c.get("variant").asText() : null;
                        return List.of(Platform.normalize(new Platform(c.get("os").asText(),
                                c.get("architecture").asText(), variant)).toString());
                    }
                } catch (IOException | RuntimeException e) {
                    // no platform to show
                }
            }
        }
        return List.of();
    }

    /** Whether a descriptor is an image config davit reads platforms from. */
    static boolean isImageConfig(Descriptor d) {
        return (d.mediaType().equals(MediaTypes.OCI_CONFIG) || d.mediaType().equals(MediaTypes.DOCKER_CONFIG))
                && d.size() <= MAX_CONFIG_BYTES;
    }
}
