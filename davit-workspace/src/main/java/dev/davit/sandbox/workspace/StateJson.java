package dev.davit.sandbox.workspace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.internal.SandboxJson;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The workspace code's state files, written and read: {@code workspace.json}, {@code snapshot.json} and the lines
 * of {@code logs.jsonl}. The doors show the same fields and more ({@code workspace.json.WorkspaceJson}).
 */
final class StateJson {
    private StateJson() {
    }

    /**
     * A workspace's state file.
     *
     * @param w the workspace
     * @return {@code id}, {@code name}, {@code sandbox}, {@code created_at}, {@code ttl_seconds} (null: never),
     *         {@code baseline} ({@code seed}, {@code files}, {@code bytes}), {@code labels} and {@code secrets}
     *         (names and sizes), {@code owner} (null: the operator's)
     */
    static ObjectNode workspace(Workspace w) {
        ObjectNode o = Json.object();
        o.put("id", w.id());
        o.put("name", w.name());
        o.put("sandbox", w.sandboxId());
        o.put("created_at", w.createdAt().toString());
        if (w.ttl() != null) {
            o.put("ttl_seconds", w.ttl().toMillis() / 1000.0);
        } else {
            o.putNull("ttl_seconds");
        }
        ObjectNode b = o.putObject("baseline");
        b.put("seed", w.seed());
        b.put("files", w.baselineFiles());
        b.put("bytes", w.baselineBytes());
        ObjectNode l = o.putObject("labels");
        w.labels().forEach(l::put);
        ArrayNode a = o.putArray("secrets");
        w.secrets().forEach(i -> a.addObject().put("name", i.name()).put("bytes", i.bytes())
                .put("injected", i.injected()));
        o.put("owner", w.owner());
        return o;
    }

    /**
     * The workspace a state file holds ({@link #workspace(Workspace)}).
     *
     * @param o the state file's document
     * @return the workspace
     */
    static Workspace workspace(JsonNode o) {
        JsonNode ttl = o.path("ttl_seconds");
        JsonNode b = o.path("baseline");
        Map<String, String> labels = new TreeMap<>();
        o.path("labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        List<Workspace.SecretInfo> secrets = new ArrayList<>();
        o.path("secrets").forEach(i -> secrets.add(new Workspace.SecretInfo(i.path("name").asText(),
                i.path("bytes").asLong(), SandboxJson.text(i.path("injected")))));
        return new Workspace(o.path("id").asText(), SandboxJson.text(o.path("name")), o.path("sandbox").asText(),
                Instant.parse(o.path("created_at").asText()),
                ttl.isNumber() ? Duration.ofMillis(Math.round(ttl.asDouble() * 1000)) : null, SandboxJson.text(b.path("seed")),
                b.path("files").asLong(), b.path("bytes").asLong(), labels, List.copyOf(secrets),
                SandboxJson.text(o.path("owner"))); // a state file of before owners: null, the operator's
    }

    /**
     * A snapshot as its {@code snapshot.json} and the CLI's {@code --json} show it.
     *
     * @param s the snapshot
     * @return {@code name}, {@code created_at}, {@code files}, {@code bytes} and {@code all}
     */
    static ObjectNode snapshot(Workspaces.Snapshot s) {
        ObjectNode o = Json.object();
        o.put("name", s.name());
        o.put("created_at", s.createdAt().toString());
        o.put("files", s.files());
        o.put("bytes", s.bytes());
        o.put("all", s.all());
        return o;
    }

    /**
     * The snapshot a {@code snapshot.json} holds ({@link #snapshot(Workspaces.Snapshot)}).
     *
     * @param o the file's document
     * @return the snapshot
     */
    static Workspaces.Snapshot snapshot(JsonNode o) {
        return new Workspaces.Snapshot(o.path("name").asText(), Instant.parse(o.path("created_at").asText()),
                o.path("files").asLong(), o.path("bytes").asLong(), o.path("all").asBoolean(false));
    }

    /**
     * An exec's entry as {@code logs.jsonl} holds it and the CLI's {@code --json} shows it.
     *
     * @param e the entry
     * @return {@code command}, {@code cwd}, {@code started_at}, {@code duration_ms}, {@code exit_code},
     *         {@code timed_out}, {@code stdout} and {@code stderr} ({@code bytes}, {@code head}, {@code tail}), then
     *         {@code exec_id} when there is one
     */
    static ObjectNode execEntry(ExecEntry e) {
        ObjectNode o = Json.object();
        e.command().forEach(o.putArray("command")::add);
        o.put("cwd", e.workdir());
        o.put("started_at", e.startedAt().toString());
        o.put("duration_ms", e.durationMs());
        o.put("exit_code", e.exitCode());
        o.put("timed_out", e.timedOut());
        o.set("stdout", stream(e.stdout()));
        o.set("stderr", stream(e.stderr()));
        if (e.execId() != null) {
            o.put("exec_id", e.execId());
        }
        return o;
    }

    /**
     * An entry as {@link #execEntry(ExecEntry)} wrote it.
     *
     * @param o a line of {@code logs.jsonl}, parsed
     * @return the entry
     * @throws IllegalArgumentException when {@code o} is not one
     */
    static ExecEntry execEntry(JsonNode o) {
        if (!o.path("command").isArray() || !o.path("started_at").isTextual()) {
            throw new IllegalArgumentException("not an exec entry");
        }
        List<String> argv = new ArrayList<>();
        o.get("command").forEach(a -> argv.add(a.asText()));
        return new ExecEntry(argv, o.path("cwd").asText(null), Instant.parse(o.get("started_at").asText()),
                o.path("duration_ms").asLong(), o.path("exit_code").asInt(), o.path("timed_out").asBoolean(),
                o.path("exec_id").isTextual() ? o.get("exec_id").asText() : null, stream(o.path("stdout")),
                stream(o.path("stderr")));
    }

    private static ObjectNode stream(ExecEntry.Stream s) {
        return Json.object().put("bytes", s.bytes()).put("head", s.head()).put("tail", s.tail());
    }

    private static ExecEntry.Stream stream(JsonNode s) {
        return new ExecEntry.Stream(s.path("bytes").asLong(), s.path("head").asText(""),
                SandboxJson.text(s.path("tail")));
    }
}
