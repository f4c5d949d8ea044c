package dev.davit.sandbox.workspace;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * An exec started detached ({@link WorkspaceExecs#start}): it runs on when the call that started it, or the davit
 * that did, has gone; {@link WorkspaceExecs#await} waits for it, {@link WorkspaceExecs#output} pages its output.
 *
 * @param execId      its id ({@code e-} and 12 hex digits)
 * @param command     the argv (in a workspace with secrets, each value redacted)
 * @param workdir     its working directory in the sandbox
 * @param startedAt   when it started
 * @param endedAt     when it ended, or null while it runs
 * @param state       {@code running}, {@code exited} (on its own) or {@code killed} (see {@code killedBy})
 * @param exitCode    its exit code once it ended (128+N when signal N ended it; null when unknown or running)
 * @param killedBy    why davit stopped it: {@code timeout} (its timeout passed), {@code cancel}
 *                    ({@link WorkspaceExecs#kill}), {@code reset} ({@link Workspaces#reset}) or {@code stop} (the
 *                    workspace was stopped); null when it was not
 * @param timeout     its timeout, or null for none
 * @param outputBytes how many bytes of output it wrote (stdout and stderr, interleaved), kept or not
 * @param pid         the pid of its process-group leader (the host's for a container, the guest's for a microVM)
 */
public record DetachedExec(String execId, List<String> command, String workdir, Instant startedAt, Instant endedAt,
                           String state, Integer exitCode, String killedBy, Duration timeout, long outputBytes,
                           long pid) {
    /** Copies the command. */
    public DetachedExec {
        command = List.copyOf(command);
    }
}
