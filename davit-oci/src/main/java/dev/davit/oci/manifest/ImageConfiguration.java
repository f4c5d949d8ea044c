package dev.davit.oci.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An image's config document (the OCI image-spec's "image configuration"; Docker's has the same shape): the
 * platform it was built for, its run defaults, the uncompressed digests of its layers and its history, read
 * leniently (a field that is missing or of another type is null or empty), and the document itself as stored.
 *
 * @param os           the operating system ({@code os}), or null
 * @param architecture the CPU architecture ({@code architecture}), or null
 * @param variant      the CPU variant ({@code variant}), or null
 * @param created      when the image was made ({@code created}), or null when absent or not an RFC 3339 date
 * @param author       who made it ({@code author}), or null
 * @param defaults     the run defaults ({@code config}); all empty when the document has none
 * @param diffIds      the digests of the uncompressed layers, in order ({@code rootfs.diff_ids}), as written
 * @param history      one entry per build step ({@code history}), in order
 * @param json         the document exactly as stored: UTF-8 JSON text, whose digest is the config's
 */
public record ImageConfiguration(String os, String architecture, String variant, Instant created, String author,
                                 RunDefaults defaults, List<String> diffIds, List<History> history, String json) {
    /**
     * Copies the lists; a null {@code defaults} becomes {@link RunDefaults#NONE}, null lists empty.
     *
     * @throws NullPointerException when {@code json} is null
     */
    public ImageConfiguration {
        defaults = defaults == null ? RunDefaults.NONE : defaults;
        diffIds = diffIds == null ? List.of() : List.copyOf(diffIds);
        history = history == null ? List.of() : List.copyOf(history);
        java.util.Objects.requireNonNull(json, "json");
    }

    /**
     * The run defaults of an image ({@code config}): what a container of it runs, as whom and where.
     *
     * @param user         the user commands run as ({@code User}: a name or uid, optionally {@code :group}), or
     *                     null for root
     * @param env          the variables as {@code NAME=value} strings ({@code Env}), in order
     * @param entrypoint   the argv put in front of every command ({@code Entrypoint})
     * @param cmd          the default command ({@code Cmd})
     * @param workingDir   the working directory ({@code WorkingDir}), or null
     * @param labels       the labels ({@code Labels}), in the document's order
     * @param exposedPorts the ports it serves ({@code ExposedPorts}: {@code 80/tcp}...)
     * @param volumes      its volumes ({@code Volumes}: paths)
     * @param stopSignal   the signal that stops it ({@code StopSignal}), or null
     */
    public record RunDefaults(String user, List<String> env, List<String> entrypoint, List<String> cmd,
                              String workingDir, Map<String, String> labels, List<String> exposedPorts,
                              List<String> volumes, String stopSignal) {
        /** No defaults. */
        public static final RunDefaults NONE = new RunDefaults(null, null, null, null, null, null, null, null, null);

        /** Null lists and maps become empty; blank strings null. */
        public RunDefaults {
            user = blankToNull(user);
            env = env == null ? List.of() : List.copyOf(env);
            entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
            cmd = cmd == null ? List.of() : List.copyOf(cmd);
            workingDir = blankToNull(workingDir);
            labels = labels == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(labels));
            exposedPorts = exposedPorts == null ? List.of() : List.copyOf(exposedPorts);
            volumes = volumes == null ? List.of() : List.copyOf(volumes);
            stopSignal = blankToNull(stopSignal);
        }
    }

    /**
     * One build step of the image.
     *
     * @param created    when ({@code created}), or null
     * @param createdBy  the command that made it ({@code created_by}), or null
     * @param comment    its comment ({@code comment}), or null
     * @param emptyLayer whether it made no layer ({@code empty_layer})
     */
    public record History(Instant created, String createdBy, String comment, boolean emptyLayer) {
    }

    /**
     * Reads a config document.
     *
     * @param document the config blob's bytes
     * @return its fields (none for JSON that is no object), and the document as text
     * @throws DavitException {@link Kind#VERIFICATION} when it is not valid JSON
     */
    public static ImageConfiguration parse(byte[] document) {
        JsonNode d;
        try {
            d = Json.read(document);
        } catch (IOException | RuntimeException e) {
            throw new DavitException(Kind.VERIFICATION, "the image config is not valid JSON: " + e.getMessage());
        }
        if (d == null) {
            d = Json.object(); // JSON, but no object (an artifact's config may be anything): no fields
        }
        JsonNode c = d.path("config");
        RunDefaults defaults = !c.isObject() ? RunDefaults.NONE : new RunDefaults(text(c, "User"),
                strings(c.path("Env")), strings(c.path("Entrypoint")), strings(c.path("Cmd")),
                text(c, "WorkingDir"), labels(c.path("Labels")), keys(c.path("ExposedPorts")),
                keys(c.path("Volumes")), text(c, "StopSignal"));
        List<History> history = new ArrayList<>();
        if (d.path("history").isArray()) {
            for (JsonNode h : d.get("history")) {
                history.add(new History(instant(text(h, "created")), text(h, "created_by"), text(h, "comment"),
                        h.path("empty_layer").asBoolean(false)));
            }
        }
        return new ImageConfiguration(text(d, "os"), text(d, "architecture"), text(d, "variant"),
                instant(text(d, "created")), text(d, "author"), defaults, strings(d.path("rootfs").path("diff_ids")),
                history, new String(document, StandardCharsets.UTF_8));
    }

    /**
     * The platform the image was built for.
     *
     * @return {@code os/architecture[/variant]} as the document says it (not normalised), or null when it lacks
     *         the os or the architecture
     */
    public Platform platform() {
        return os == null || architecture == null ? null : new Platform(os, architecture, variant);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static String text(JsonNode o, String field) {
        JsonNode n = o.path(field);
        return n.isTextual() ? blankToNull(n.asText()) : null;
    }

    private static List<String> strings(JsonNode n) {
        List<String> out = new ArrayList<>();
        if (n.isArray()) {
            n.forEach(e -> {
                if (e.isValueNode() && !e.isNull()) { // a number or boolean as its text, as a runtime would
                    out.add(e.asText());
                }
            });
        }
        return out;
    }

    private static List<String> keys(JsonNode n) {
        List<String> out = new ArrayList<>();
        if (n.isObject()) {
            n.fieldNames().forEachRemaining(out::add);
        }
        return out;
    }

    private static Map<String, String> labels(JsonNode n) {
        Map<String, String> out = new LinkedHashMap<>();
        if (n.isObject()) {
            n.fields().forEachRemaining(e -> {
                if (e.getValue().isTextual()) {
                    out.put(e.getKey(), e.getValue().asText());
                }
            });
        }
        return out;
    }

    private static Instant instant(String s) {
        if (s == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
