package dev.davit.sandbox.workspace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.Sandbox;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * One workspace as recorded in {@code <stateDir>/<id>/workspace.json}.
 *
 * @param id            its id ({@code ws-} and 12 hex digits)
 * @param name          the name given at creation, or null
 * @param sandboxId     the long-lived sandbox it works in
 * @param createdAt     when it was created
 * @param ttl           how long after creation the sandbox's reap may remove its sandbox; null means never
 * @param seed          the host directory or archive /workspace was seeded from, or null (empty)
 * @param baselineFiles how many entries (files, directories, links) the baseline holds, /workspace excluded
 * @param baselineBytes the size of the baseline's regular files together
 * @param labels        its labels (see {@link WorkspaceLabels}), sorted by key; never null
 * @param secrets       its secrets' names and sizes (never their values: see {@link Secrets}), in the order given
 */
public record Workspace(String id, String name, String sandboxId, Instant createdAt, Duration ttl, String seed,
                        long baselineFiles, long baselineBytes, Map<String, String> labels,
                        java.util.List<SecretInfo> secrets) {
    /**
     * What a workspace's state shows of one secret: its name and how many bytes its value holds.
     *
     * @param name  the secret's name (as an environment variable's; its file is /run/secrets/NAME)
     * @param bytes the size of its value, in bytes
     */
    public record SecretInfo(String name, long bytes) {
    }

    /** Copies the labels (sorted by key) and secrets; null ones become empty. */
    public Workspace {
        labels = labels == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(labels));
        secrets = secrets == null ? java.util.List.of() : java.util.List.copyOf(secrets);
    }

    /**
     * A workspace without labels or secrets.
     *
     * @param id            its id ({@code ws-} and 12 hex digits)
     * @param name          its name, or null
     * @param sandboxId     the id of the long-lived sandbox it works in
     * @param createdAt     when it was created
     * @param ttl           how long after creation a reap may remove it; null: never
     * @param seed          the host directory or archive /workspace was seeded from, or null (empty)
     * @param baselineFiles how many entries the baseline holds, /workspace excluded
     * @param baselineBytes the size of the baseline's regular files together, in bytes
     */
    public Workspace(String id, String name, String sandboxId, Instant createdAt, Duration ttl, String seed,
                     long baselineFiles, long baselineBytes) {
        this(id, name, sandboxId, createdAt, ttl, seed, baselineFiles, baselineBytes, Map.of(), java.util.List.of());
    }

    /**
     * A workspace without secrets.
     *
     * @param id            its id ({@code ws-} and 12 hex digits)
     * @param name          its name, or null
     * @param sandboxId     the id of the long-lived sandbox it works in
     * @param createdAt     when it was created
     * @param ttl           how long after creation a reap may remove it; null: never
     * @param seed          the host directory or archive /workspace was seeded from, or null (empty)
     * @param baselineFiles how many entries the baseline holds, /workspace excluded
     * @param baselineBytes the size of the baseline's regular files together, in bytes
     * @param labels        its labels (see {@link WorkspaceLabels}); null: none
     */
    public Workspace(String id, String name, String sandboxId, Instant createdAt, Duration ttl, String seed,
                     long baselineFiles, long baselineBytes, Map<String, String> labels) {
        this(id, name, sandboxId, createdAt, ttl, seed, baselineFiles, baselineBytes, labels, java.util.List.of());
    }

    /**
     * A workspace without labels.
     *
     * @param id            its id ({@code ws-} and 12 hex digits)
     * @param name          its name, or null
     * @param sandboxId     the id of the long-lived sandbox it works in
     * @param createdAt     when it was created
     * @param ttl           how long after creation a reap may remove it; null: never
     * @param seed          the host directory or archive /workspace was seeded from, or null (empty)
     * @param baselineFiles how many entries the baseline holds, /workspace excluded
     * @param baselineBytes the size of the baseline's regular files together, in bytes
     * @param secrets       its secrets' names and sizes; null: none
     */
    public Workspace(String id, String name, String sandboxId, Instant createdAt, Duration ttl, String seed,
                     long baselineFiles, long baselineBytes, java.util.List<SecretInfo> secrets) {
        this(id, name, sandboxId, createdAt, ttl, seed, baselineFiles, baselineBytes, Map.of(), secrets);
    }

    /**
     * This workspace with another name, labels and ttl; nothing is checked or saved (see {@link Workspaces#update}).
     *
     * @param newName   the name; null: none
     * @param newLabels the labels, replacing all of them; null: none
     * @param newTtl    the ttl, counted from {@link #createdAt}; null: never expires
     * @return a new record, the other components as they are
     */
    public Workspace with(String newName, Map<String, String> newLabels, Duration newTtl) {
        return new Workspace(id, newName, sandboxId, createdAt, newTtl, seed, baselineFiles, baselineBytes,
                newLabels, secrets);
    }

    /**
     * The state file's document.
     *
     * @return {@code id}, {@code name}, {@code sandbox}, {@code created_at}, {@code ttl_seconds} (null: never),
     *         {@code baseline} ({@code seed}, {@code files}, {@code bytes}), {@code labels} and {@code secrets}
     *         (names and sizes)
     */
    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("id", id);
        o.put("name", name);
        o.put("sandbox", sandboxId);
        o.put("created_at", createdAt.toString());
        if (ttl != null) {
            o.put("ttl_seconds", ttl.toMillis() / 1000.0);
        } else {
            o.putNull("ttl_seconds");
        }
        ObjectNode b = o.putObject("baseline");
        b.put("seed", seed);
        b.put("files", baselineFiles);
        b.put("bytes", baselineBytes);
        ObjectNode l = o.putObject("labels");
        labels.forEach(l::put);
        com.fasterxml.jackson.databind.node.ArrayNode a = o.putArray("secrets");
        secrets.forEach(i -> a.addObject().put("name", i.name()).put("bytes", i.bytes()));
        return o;
    }

    /**
     * The state file's document with the sandbox's backend and status (the CLI's {@code --json} shape).
     *
     * @param s this workspace's sandbox, with its status ({@link Workspaces#sandbox})
     * @return {@link #toJson()} with {@code backend}, {@code status} and {@code ports} (see {@link #ports})
     */
    public ObjectNode toJson(Sandbox s) {
        ObjectNode o = toJson();
        o.put("backend", s.backend());
        o.put("status", s.status().label());
        ports(o, s);
        return o;
    }

    /**
     * Adds {@code ports} to {@code o}: per port {@code s} publishes on the host, {@code container_port},
     * {@code host_address}, {@code host_port} and {@code address} (host:port, where the host reaches it).
     *
     * @param o the JSON object to add the {@code ports} array to (changed in place)
     * @param s the sandbox whose published ports to show (none: an empty array)
     * @return {@code o}
     */
    public static ObjectNode ports(ObjectNode o, Sandbox s) {
        ArrayNode ports = o.putArray("ports");
        for (PortMapping m : s.spec().publish()) {
            ports.addObject().put("container_port", m.port()).put("host_address", m.hostAddress())
                    .put("host_port", m.hostPort()).put("address", m.hostAddress() + ":" + m.hostPort());
        }
        return o;
    }

    static Workspace fromJson(JsonNode o) {
        JsonNode ttl = o.path("ttl_seconds");
        JsonNode b = o.path("baseline");
        return new Workspace(o.path("id").asText(), text(o.path("name")), o.path("sandbox").asText(),
                Instant.parse(o.path("created_at").asText()),
                ttl.isNumber() ? Duration.ofMillis(Math.round(ttl.asDouble() * 1000)) : null, text(b.path("seed")),
                b.path("files").asLong(), b.path("bytes").asLong(), labels(o.path("labels")),
                secrets(o.path("secrets")));
    }

    private static java.util.List<SecretInfo> secrets(JsonNode a) {
        java.util.List<SecretInfo> out = new java.util.ArrayList<>();
        a.forEach(i -> out.add(new SecretInfo(i.path("name").asText(), i.path("bytes").asLong())));
        return java.util.List.copyOf(out);
    }

    private static Map<String, String> labels(JsonNode o) {
        Map<String, String> out = new TreeMap<>();
        o.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }

    private static String text(JsonNode n) {
        return n.isTextual() ? n.asText() : null;
    }
}
