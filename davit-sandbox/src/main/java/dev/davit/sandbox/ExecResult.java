package dev.davit.sandbox;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Json;

/**
 * What one {@link Sandboxes#run} did.
 *
 * @param sandboxId the sandbox's id (also the name of its state directory while it runs)
 * @param backend   the backend that ran it ({@code container} or {@code vm})
 * @param runtime   what ran it: {@code bwrap}, {@code crun}, {@code runc} or {@code qemu}
 * @param exitCode  the command's exit code; 124 when it timed out, 127 when the command was not found, 126 when
 *                  it could not be executed, 128+N when killed by signal N
 * @param stdout    everything the command wrote to stdout
 * @param stderr    everything the command wrote to stderr
 * @param timedOut  whether the timeout killed it
 * @param timings   how long each phase took
 */
public record ExecResult(String sandboxId, String backend, String runtime, int exitCode, byte[] stdout, byte[] stderr,
                         boolean timedOut, Timings timings) {
    /** The exit code of a command killed by the timeout, as timeout(1) reports it. */
    public static final int TIMEOUT_EXIT_CODE = 124;

    /**
     * Milliseconds per phase: create (checks, state directory, arguments), start (process start), exec (until the
     * command exited or was killed), delete (reaping, output drained, state directory removed).
     */
    public record Timings(long createMs, long startMs, long execMs, long deleteMs) {
        public long totalMs() {
            return createMs + startMs + execMs + deleteMs;
        }

        public ObjectNode toJson() {
            ObjectNode o = Json.object();
            o.put("create", createMs);
            o.put("start", startMs);
            o.put("exec", execMs);
            o.put("delete", deleteMs);
            o.put("total", totalMs());
            return o;
        }
    }

    public String stdoutText() {
        return new String(stdout, java.nio.charset.StandardCharsets.UTF_8);
    }

    public String stderrText() {
        return new String(stderr, java.nio.charset.StandardCharsets.UTF_8);
    }
}
