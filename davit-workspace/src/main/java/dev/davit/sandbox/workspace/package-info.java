/**
 * Workspaces: long-lived sandboxes (container or microVM) with a {@code /workspace} directory seeded from the host
 * and recorded as a baseline, worked in through execs, files, services and shells, and compared with the baseline
 * (or a snapshot) as a diff; their state lives on the host, so a later davit finds them again.
 *
 * <ul>
 *   <li>{@link dev.davit.sandbox.workspace.Workspaces} — the API: create (from a
 *       {@link dev.davit.sandbox.CreateSpec}), start, stop, exec ({@link dev.davit.sandbox.workspace.ExecRequest}),
 *       read, write, push, export and patch files, diff ({@link dev.davit.sandbox.workspace.WorkspaceDiff}),
 *       snapshots, reset, reap;</li>
 *   <li>{@link dev.davit.sandbox.workspace.Workspace} — one workspace as recorded: id, name, sandbox, ttl, labels,
 *       secrets' names;</li>
 *   <li>{@link dev.davit.sandbox.workspace.Services} and {@link dev.davit.sandbox.workspace.Shells} — a workspace's
 *       detached long-running commands and interactive terminals;</li>
 *   <li>{@link dev.davit.sandbox.workspace.Secrets} — values put into the sandbox and redacted from everything davit
 *       shows of it;</li>
 *   <li>{@link dev.davit.sandbox.workspace.ExecOutput} — the whole output of an exec whose excerpt was cut, read in
 *       pages;</li>
 *   <li>{@link dev.davit.sandbox.workspace.WarmPool} — started sandboxes kept ready so that a create is fast: davit's
 *   doors give one to their {@code Workspaces} (the MCP server's {@code --warm}); it leaves the API with the rest of
 *   the machinery.</li>
 * </ul>
 *
 * <p>Errors are {@link dev.davit.oci.DavitException}s whose kind says what went wrong: {@code NOT_FOUND} for an
 * unknown workspace, {@code STATE} for one that is not running, {@code USAGE} for a bad argument. See
 * docs/reference/WORKSPACES.md.
 */
package dev.davit.sandbox.workspace;
