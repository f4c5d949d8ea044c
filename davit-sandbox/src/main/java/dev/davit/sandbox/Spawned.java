package dev.davit.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Json;

/**
 * A process started detached in a running sandbox by {@link Sandboxes#spawn}: it outlives the davit that started it
 * and a later davit reaches it through this record (kept by the caller, e.g. as JSON). Pids are the host's, each with
 * its start time (field 22 of /proc/PID/stat), so a reused pid is never taken for it.
 *
 * @param holderPid   the host process that waits for the command and writes its exit code (see {@link #EXIT})
 * @param leaderPid   the leader of the command's own session and process group (0: it ended before it was seen)
 */
public record Spawned(long holderPid, long holderStart, long leaderPid, long leaderStart) {
    /** In the spawn's directory: the command's stdout and stderr interleaved (a terminal's output). */
    public static final String OUTPUT = "output";
    /** In the spawn's directory: the exit code, written when the command ends (128+N when killed by signal N). */
    public static final String EXIT = "exit";
    /** In the spawn's directory: a terminal's input, a FIFO (write to it; the holder keeps it open). */
    public static final String INPUT = "input";

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("holder_pid", holderPid);
        o.put("holder_start", holderStart);
        o.put("leader_pid", leaderPid);
        o.put("leader_start", leaderStart);
        return o;
    }

    public static Spawned fromJson(JsonNode o) {
        return new Spawned(o.path("holder_pid").asLong(), o.path("holder_start").asLong(),
                o.path("leader_pid").asLong(), o.path("leader_start").asLong());
    }
}
