package dev.davit.sandbox.workspace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One exec in a workspace's history ({@link Workspaces#logs}), as it was recorded when it ended.
 *
 * @param command    the argv (in a workspace with secrets, each value redacted)
 * @param cwd        the working directory in the sandbox
 * @param startedAt  when it started
 * @param durationMs how long it ran, in milliseconds
 * @param exitCode   its exit code (124 when its timeout killed it)
 * @param timedOut   whether its timeout killed it
 * @param execId     the exec's id, for an exec run with a bound on the output held in memory: under it
 *                   {@link Workspaces#output} reads its whole output while that is kept (the newest cut outputs);
 *                   else null
 * @param stdout     the start and end of its stdout
 * @param stderr     the start and end of its stderr
 */
public record ExecEntry(List<String> command, String cwd, Instant startedAt, long durationMs, int exitCode,
                        boolean timedOut, String execId, Stream stdout, Stream stderr) {
    /** Copies the command. */
    public ExecEntry {
        command = List.copyOf(command);
    }

    /**
     * The entry as {@code logs.jsonl} holds it and the CLI's {@code --json} shows it.
     *
     * @return {@code command}, {@code cwd}, {@code started_at}, {@code duration_ms}, {@code exit_code},
     *         {@code timed_out}, {@code stdout} and {@code stderr} ({@code bytes}, {@code head}, {@code tail}), then
     *         {@code exec_id} when there is one
     */
    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        command.forEach(o.putArray("command")::add);
        o.put("cwd", cwd);
        o.put("started_at", startedAt.toString());
        o.put("duration_ms", durationMs);
        o.put("exit_code", exitCode);
        o.put("timed_out", timedOut);
        o.set("stdout", stdout.toJson());
        o.set("stderr", stderr.toJson());
        if (execId != null) {
            o.put("exec_id", execId);
        }
        return o;
    }

    /** An entry as {@link #toJson} wrote it; throws when {@code o} is not one. */
    static ExecEntry fromJson(JsonNode o) {
        if (!o.path("command").isArray() || !o.path("started_at").isTextual()) {
            throw new IllegalArgumentException("not an exec entry");
        }
        List<String> argv = new ArrayList<>();
        o.get("command").forEach(a -> argv.add(a.asText()));
        return new ExecEntry(argv, o.path("cwd").asText(null), Instant.parse(o.get("started_at").asText()),
                o.path("duration_ms").asLong(), o.path("exit_code").asInt(), o.path("timed_out").asBoolean(),
                o.path("exec_id").isTextual() ? o.get("exec_id").asText() : null, Stream.fromJson(o.path("stdout")),
                Stream.fromJson(o.path("stderr")));
    }

    /**
     * What the history keeps of one output stream.
     *
     * @param bytes how many bytes the stream had in all
     * @param head  its first 2 KiB, as UTF-8 text
     * @param tail  its last 2 KiB, as UTF-8 text; null when the head holds all of it
     */
    public record Stream(long bytes, String head, String tail) {
        ObjectNode toJson() {
            return Json.object().put("bytes", bytes).put("head", head).put("tail", tail);
        }

        static Stream fromJson(JsonNode s) {
            return new Stream(s.path("bytes").asLong(), s.path("head").asText(""),
                    s.path("tail").isTextual() ? s.get("tail").asText() : null);
        }
    }
}
