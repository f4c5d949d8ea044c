package dev.davit.sandbox.workspace;

import java.time.Instant;
import java.util.List;

/**
 * One exec in a workspace's history ({@link WorkspaceExecs#logs}), as it was recorded when it ended.
 *
 * @param command    the argv (in a workspace with secrets, each value redacted)
 * @param workdir    the working directory in the sandbox
 * @param startedAt  when it started
 * @param durationMs how long it ran, in milliseconds
 * @param exitCode   its exit code (124 when its timeout killed it)
 * @param timedOut   whether its timeout killed it
 * @param execId     the exec's id, for an exec run with a bound on the output held in memory: under it
 *                   {@link WorkspaceExecs#output} reads its whole output while that is kept (the newest cut outputs);
 *                   else null
 * @param stdout     the start and end of its stdout
 * @param stderr     the start and end of its stderr
 */
public record ExecEntry(List<String> command, String workdir, Instant startedAt, long durationMs, int exitCode,
                        boolean timedOut, String execId, Stream stdout, Stream stderr) {
    /** Copies the command. */
    public ExecEntry {
        command = List.copyOf(command);
    }

    /**
     * What the history keeps of one output stream.
     *
     * @param bytes how many bytes the stream had in all
     * @param head  its first 2 KiB, as UTF-8 text
     * @param tail  its last 2 KiB, as UTF-8 text; null when the head holds all of it
     */
    public record Stream(long bytes, String head, String tail) {
    }
}
