package dev.davit;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
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

    /** The workspace's id: what {@code davit workspace} commands and {@link Workspaces} take. */
    public String id() {
        return created.id();
    }

    /** The workspace as it was created. */
    public Workspace workspace() {
        return created;
    }

    /** Runs {@code command} in /workspace, for at most {@link Davit#DEFAULT_TIMEOUT}. */
    public ExecResult exec(String... command) {
        return exec(List.of(command), Map.of(), Davit.DEFAULT_TIMEOUT);
    }

    /** Runs {@code command} in /workspace with variables {@code env}, for at most {@code timeout} (then exit 124). */
    public ExecResult exec(List<String> command, Map<String, String> env, Duration timeout) {
        return exec(ExecRequest.builder(command).env(env).timeout(timeout).build());
    }

    /** Runs request {@code r} (working directory, secrets as variables, input, tees: see {@link ExecRequest}). */
    public ExecResult exec(ExecRequest r) {
        return workspaces().exec(id(), r);
    }

    /** Writes {@code content} (UTF-8) to {@code path} in /workspace (its parents made). */
    public void writeFile(String path, String content) {
        writeFile(path, content.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes {@code content} to {@code path} in /workspace (its parents made). */
    public void writeFile(String path, byte[] content) {
        workspaces().writeFile(id(), path, new ByteArrayInputStream(content));
    }

    /** The content of {@code path} in /workspace, as UTF-8 text (at most 64 MiB). */
    public String readFile(String path) {
        return new String(readBytes(path), StandardCharsets.UTF_8);
    }

    /** The content of {@code path} in /workspace (at most 64 MiB). */
    public byte[] readBytes(String path) {
        return workspaces().readFile(id(), path, 0).bytes();
    }

    /** What changed in /workspace since it was created. */
    public WorkspaceDiff diff() {
        return workspaces().diff(id());
    }

    /** Keeps the workspace when this handle (or its {@link Davit}) closes; its ttl, if any, still applies. */
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
