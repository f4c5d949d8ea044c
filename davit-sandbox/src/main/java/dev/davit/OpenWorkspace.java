package dev.davit;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Args;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A workspace opened through {@link Davit#workspace}: commands run in its /workspace, files read and written there,
 * its changes since creation ({@link #diff}). Closing it removes the workspace (its sandbox and state) unless it was
 * {@link #keep kept}; {@link Workspaces} does the rest (snapshots, services, shells) by {@link #id}.
 *
 * <p>A handle is thread-safe: several threads may exec, read and write through it at once (commands run side by
 * side; a file write is atomic, so a reader sees the old content or the new). {@link #close} removes the workspace
 * under any call still running in it: close a handle when its threads are done with it.
 */
public final class OpenWorkspace implements AutoCloseable {
    private final Davit davit;
    private final Workspace created;
    private volatile boolean kept;
    private volatile boolean closed;

    OpenWorkspace(Davit davit, Workspace created) {
        this.davit = davit;
        this.created = created;
    }

    /**
     * The workspace's id: what {@code davit workspace} commands and {@link Workspaces} take.
     *
     * @return the id; it stays valid after this handle closes if the workspace was kept
     */
    public String id() {
        return created.id();
    }

    /**
     * The workspace as it was created (for its current state, ask {@link Workspaces#get} with {@link #id}).
     *
     * @return the workspace's record at its creation
     */
    public Workspace workspace() {
        return created;
    }

    /**
     * Runs {@code command} in /workspace, for at most {@link Davit#DEFAULT_TIMEOUT}. A command that fails is no
     * exception: see the result's exit code.
     *
     * @param command the argv, not empty (e.g. {@code "sh", "-c", "make test"})
     * @return the command's exit code and captured output
     * @throws DavitException USAGE for an empty command or a closed handle; STATE when the workspace is not running
     *                        (stopped elsewhere, or its sandbox is gone); NOT_FOUND when it was removed
     */
    public ExecResult exec(String... command) {
        Args.given(command, "OpenWorkspace.exec", "command", "give the argv, e.g. \"sh\", \"-c\", \"make test\"");
        return exec(List.of(command), Map.of(), Davit.DEFAULT_TIMEOUT);
    }

    /**
     * Runs {@code command} in /workspace with variables {@code env}, for at most {@code timeout} (then exit 124).
     *
     * @param command the argv, not empty
     * @param env     variables set on top of the image's, not null (empty for none)
     * @param timeout how long the command may run before it is killed; null for no limit
     * @return the command's exit code and captured output ({@link ExecResult#timedOut} when the timeout killed it)
     * @throws DavitException as {@link #exec(String...)} does
     */
    public ExecResult exec(List<String> command, Map<String, String> env, Duration timeout) {
        Args.given(command, "OpenWorkspace.exec", "command", "give the argv, e.g. List.of(\"make\", \"test\")");
        Args.given(env, "OpenWorkspace.exec", "env", "give Map.of() for no variables");
        return exec(ExecRequest.builder(command).env(env).timeout(timeout).build());
    }

    /**
     * Runs request {@code r} (working directory, secrets as variables, input, tees: see {@link ExecRequest}).
     *
     * @param r what to run and how, from {@link ExecRequest#builder}
     * @return the command's exit code and captured output (secret values redacted)
     * @throws DavitException as {@link #exec(String...)} does
     */
    public ExecResult exec(ExecRequest r) {
        Args.given(r, "OpenWorkspace.exec", "r", "give ExecRequest.builder(\"sh\", \"-c\", \"...\").build()");
        return workspaces().exec(id(), r);
    }

    /**
     * Writes {@code content} (UTF-8) to {@code path} in /workspace (its parents made).
     *
     * @param path    a path relative to /workspace, without {@code ..} or a symbolic link on the way
     * @param content the file's new text, not null
     * @throws DavitException as {@link #writeFile(String, byte[])} does
     */
    public void writeFile(String path, String content) {
        Args.given(content, "OpenWorkspace.writeFile", "content", "give \"\" for an empty file");
        writeFile(path, content.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Writes {@code content} to {@code path} in /workspace, atomically (a temp file renamed over it), making missing
     * parent directories (0755); an existing file keeps its mode, a new one is 0644.
     *
     * @param path    a path relative to /workspace, without {@code ..} or a symbolic link on the way
     * @param content the file's new bytes, not null
     * @throws DavitException USAGE for an absolute path, {@code ..}, a link on the way, a directory at {@code path}
     *                        or a closed handle; NOT_FOUND when the workspace was removed; STORE when it cannot be
     *                        written
     */
    public void writeFile(String path, byte[] content) {
        Args.given(path, "OpenWorkspace.writeFile", "path", "give a path relative to /workspace, e.g. src/main.c");
        Args.given(content, "OpenWorkspace.writeFile", "content", "give new byte[0] for an empty file");
        workspaces().writeFile(id(), path, new ByteArrayInputStream(content));
    }

    /**
     * The content of {@code path} in /workspace, as UTF-8 text (at most 64 MiB).
     *
     * @param path a path relative to /workspace, without {@code ..} or a symbolic link on the way
     * @return the file's content decoded as UTF-8 (malformed sequences become U+FFFD)
     * @throws DavitException as {@link #readBytes} does
     */
    public String readFile(String path) {
        return new String(readBytes(path), StandardCharsets.UTF_8);
    }

    /**
     * The content of {@code path} in /workspace (at most 64 MiB).
     *
     * @param path a path relative to /workspace, without {@code ..} or a symbolic link on the way
     * @return the file's bytes
     * @throws DavitException NOT_FOUND when there is no such file (or the workspace was removed); USAGE when it is
     *                        not a regular file, is larger than 64 MiB, the path is not allowed or the handle is
     *                        closed
     */
    public byte[] readBytes(String path) {
        Args.given(path, "OpenWorkspace.readBytes", "path", "give a path relative to /workspace, e.g. src/main.c");
        return workspaces().readFile(id(), path, 0).bytes();
    }

    /**
     * What changed in /workspace since it was created (its baseline: the empty directory).
     *
     * @return one change per path that differs, and a unified diff of the text files among them
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace was removed
     */
    public WorkspaceDiff diff() {
        return workspaces().diff(id());
    }

    /**
     * Keeps the workspace when this handle (or its {@link Davit}) closes; its ttl, if any, still applies.
     *
     * @return this handle
     */
    public OpenWorkspace keep() {
        kept = true;
        return this;
    }

    private Workspaces workspaces() {
        if (closed) {
            throw new DavitException(Kind.USAGE, "workspace " + id() + " was closed; open another with"
                    + " Davit.workspace(...)");
        }
        return davit.workspaces();
    }

    /** Removes the workspace unless it was {@link #keep kept}; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        davit.forget(this);
        if (!kept) {
            try {
                davit.workspaces().rm(id());
            } catch (DavitException e) {
                if (e.kind() != Kind.NOT_FOUND) {
                    throw e;
                }
            }
        }
    }
}
