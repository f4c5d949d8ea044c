package dev.davit;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Args;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The files of one workspace, from {@link OpenWorkspace#files()}: read and written in /workspace, listed, copied in
 * from the host and out to it, a stopped workspace's disk, and the changes: diff, edit, patch. Each call acts through
 * its handle, so a closed handle refuses it. Thread-safe: a write is atomic, so a reader sees the old content or the
 * new.
 *
 * <pre>{@code
 * ws.files().write("notes.txt", "draft\n");
 * String text = ws.files().read("notes.txt");
 * System.out.println(ws.files().diff().patch());     // what changed since the workspace was made
 * }</pre>
 */
public final class OpenFiles {
    private final OpenWorkspace ws;

    OpenFiles(OpenWorkspace ws) {
        this.ws = ws;
    }

    /**
     * Writes {@code content} (UTF-8) to {@code path} in /workspace (its parents made).
     *
     * @param path    a path relative to /workspace, without {@code ..} or a symbolic link on the way
     * @param content the file's new text, not null
     * @throws DavitException as {@link #write(String, byte[])} does
     */
    public void write(String path, String content) {
        Args.given(content, "OpenWorkspace.files().write", "content", "give \"\" for an empty file");
        write(path, content.getBytes(StandardCharsets.UTF_8));
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
    public void write(String path, byte[] content) {
        Args.given(path, "OpenWorkspace.files().write", "path", "give a path relative to /workspace, e.g. src/main.c");
        Args.given(content, "OpenWorkspace.files().write", "content", "give new byte[0] for an empty file");
        ws.workspaces().files().write(ws.id(), path, new ByteArrayInputStream(content));
    }

    /**
     * The content of {@code path} in /workspace, as UTF-8 text (at most 64 MiB).
     *
     * @param path a path relative to /workspace, without {@code ..} or a symbolic link on the way
     * @return the file's content decoded as UTF-8 (malformed sequences become U+FFFD)
     * @throws DavitException as {@link #readBytes} does
     */
    public String read(String path) {
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
        Args.given(path, "OpenWorkspace.files().readBytes", "path", "give a path relative to /workspace, e.g. src/main.c");
        return ws.workspaces().files().read(ws.id(), path, 0).bytes();
    }

    /**
     * Up to {@code maxBytes} bytes of {@code path} in /workspace from {@code offset}, for a file too large to read
     * whole or read page by page.
     *
     * @param path     a regular file, relative to /workspace
     * @param offset   where to start, in bytes; 0 or more
     * @param maxBytes the most bytes to read; 0: all from {@code offset} (refused above 64 MiB)
     * @return the bytes read, the file's size, and whether more follows ({@link WorkspaceFiles.FileContent#end})
     * @throws DavitException as {@link #readBytes} does
     */
    public WorkspaceFiles.FileContent read(String path, long offset, long maxBytes) {
        Args.given(path, "OpenWorkspace.files().read", "path", "give a path relative to /workspace, e.g. src/main.c");
        return ws.workspaces().files().read(ws.id(), path, offset, maxBytes);
    }

    /**
     * Writes what {@code data} holds (read to its end, not closed) to {@code path} in /workspace, as
     * {@link #write(String, byte[])} does, without holding it in memory.
     *
     * @param path a path relative to /workspace, without {@code ..} or a symbolic link on the way
     * @param data the new content, not null
     * @return how many bytes were written
     * @throws DavitException as {@link #write(String, byte[])} does
     */
    public long write(String path, InputStream data) {
        Args.given(path, "OpenWorkspace.files().write", "path", "give a path relative to /workspace, e.g. src/main.c");
        Args.given(data, "OpenWorkspace.files().write", "data", "give an InputStream of the file's content");
        return ws.workspaces().files().write(ws.id(), path, data);
    }

    /**
     * The entries of directory {@code path} in /workspace (all below it with {@code recursive}), by path.
     *
     * @param path      a directory (or file) relative to /workspace; {@code ""} or {@code .}: /workspace
     * @param recursive whether to list everything below it, not only its own entries
     * @return the entries, their paths relative to /workspace; the file itself when {@code path} is not a directory
     * @throws DavitException NOT_FOUND when there is no such path (or the workspace was removed); USAGE for an
     *                        absolute path, one with {@code ..} or through a symbolic link, or a closed handle
     */
    public List<WorkspaceFiles.FileInfo> list(String path, boolean recursive) {
        return ws.workspaces().files().list(ws.id(), path, recursive);
    }

    /**
     * Copies host file or directory {@code hostPath} to {@code dest} in /workspace, replacing what is there (see
     * {@link WorkspaceFiles#push}).
     *
     * @param hostPath the host file or directory to copy in
     * @param dest     where it goes, relative to /workspace; null: {@code hostPath}'s own name at the top
     * @return what was copied
     * @throws DavitException USAGE for a missing host path, a device, fifo or socket, a bad destination or a closed
     *                        handle; NOT_FOUND when the workspace was removed; STORE when it cannot be copied
     */
    public WorkspaceFiles.Copied push(Path hostPath, String dest) {
        Args.given(hostPath, "OpenWorkspace.files().push", "hostPath", "give the host file or directory to copy in");
        return ws.workspaces().files().push(ws.id(), hostPath, dest);
    }

    /**
     * Copies /workspace (or {@code path} in it) to the host: into directory {@code hostDest}, which must not exist or
     * be empty, or into a tar file when it ends in {@code .tar} (see {@link WorkspaceFiles#export}). Links are copied as
     * links; devices, fifos and sockets are left out.
     *
     * @param hostDest a host directory that does not exist or is empty (its parent must exist), or a {@code .tar}
     *                 file that does not exist
     * @param path     what to export, relative to /workspace; null or {@code ""}: all of it
     * @return what was copied, and what was left out
     * @throws DavitException NOT_FOUND when there is no such path (or the workspace was removed); USAGE for a bad
     *                        path or destination, or a closed handle; STORE when the host side cannot be written
     */
    public WorkspaceFiles.Copied export(Path hostDest, String path) {
        Args.given(hostDest, "OpenWorkspace.files().export", "hostDest", "give a new host directory or a .tar file");
        return ws.workspaces().files().export(ws.id(), hostDest, path);
    }

    /**
     * {@link #export(Path, String)}, telling {@code progress} about once a second how many entries and bytes it
     * copied so far.
     *
     * @param hostDest a host directory that does not exist or is empty, or a {@code .tar} file that does not exist
     * @param path     what to export, relative to /workspace; null or {@code ""}: all of it
     * @param progress told the entries and bytes copied so far; not null
     * @return what was copied, and what was left out
     * @throws DavitException as {@link #export(Path, String)} does
     */
    public WorkspaceFiles.Copied export(Path hostDest, String path, WorkspaceFiles.Progress progress) {
        Args.given(hostDest, "OpenWorkspace.files().export", "hostDest", "give a new host directory or a .tar file");
        Args.given(progress, "OpenWorkspace.files().export", "progress", "call export(hostDest, path) for none");
        return ws.workspaces().files().export(ws.id(), hostDest, path, progress);
    }

    /**
     * The entries of directory {@code path} of the workspace while it is {@link OpenWorkspace#stop stopped}, read from its disk
     * without starting it (see {@link WorkspaceFiles#diskList}); a running workspace is refused.
     *
     * @param path      a directory (or file) relative to /workspace; {@code ""}: /workspace
     * @param recursive whether to list everything below it
     * @return the entries, their paths relative to /workspace
     * @throws DavitException USAGE when the workspace is running, for a bad path or a closed handle; NOT_FOUND when
     *                        there is no such path (or the workspace was removed)
     */
    public List<WorkspaceFiles.FileInfo> diskList(String path, boolean recursive) {
        return ws.workspaces().files().diskList(ws.id(), path, recursive);
    }

    /**
     * Up to {@code maxBytes} of regular file {@code path} of the workspace while it is stopped, read from its disk
     * without starting it; see {@link #diskList}.
     *
     * @param path     a regular file, relative to /workspace
     * @param maxBytes the most bytes to read; 0: all (refused above 64 MiB)
     * @return the bytes read, the file's size and whether it was cut
     * @throws DavitException as {@link #diskList} does; USAGE for a path that is not a regular file
     */
    public WorkspaceFiles.FileContent diskRead(String path, long maxBytes) {
        Args.given(path, "OpenWorkspace.files().diskRead", "path", "give a path relative to /workspace, e.g. src/main.c");
        return ws.workspaces().files().diskRead(ws.id(), path, maxBytes);
    }

    /**
     * {@link #export(Path, String)} of the workspace while it is stopped, read from its disk without starting it;
     * see {@link #diskList}.
     *
     * @param hostDest a host directory that does not exist or is empty, or a {@code .tar} file that does not exist
     * @param path     what to export, relative to /workspace; null or {@code ""}: all of it
     * @return what was copied
     * @throws DavitException as {@link #diskList} does; USAGE for a bad destination
     */
    public WorkspaceFiles.Copied diskExport(Path hostDest, String path) {
        Args.given(hostDest, "OpenWorkspace.files().diskExport", "hostDest", "give a new host directory or a .tar file");
        return ws.workspaces().files().diskExport(ws.id(), hostDest, path);
    }

    /**
     * What changed in /workspace since it was created (its baseline: the empty directory).
     *
     * @return one change per path that differs, and a unified diff of the text files among them
     * @throws DavitException USAGE for a closed handle; NOT_FOUND when the workspace was removed
     */
    public WorkspaceDiff diff() {
        return ws.workspaces().files().diff(ws.id());
    }

    /**
     * What changed in /workspace since snapshot {@code snapshot} (null: the baseline), of some paths only (each path
     * given and what is below it), saying whether what is below ignored directories is listed
     * ({@link WorkspaceFiles#diff(String, String, List, boolean)}).
     *
     * <pre>{@code
     * ws.files().diff("draft", List.of(), false).patch(); // every change since snapshot "draft"
     * }</pre>
     *
     * @param snapshot       the snapshot to compare with; null: the baseline
     * @param paths          paths relative to /workspace; empty: every path
     * @param includeIgnored list and diff what is below ignored directories (node_modules, .gitignore's) too
     * @return one change per path that differs, a unified diff of the text files among them, and the collapsed
     *         directories
     * @throws DavitException NOT_FOUND when there is no such snapshot (or the workspace was removed); USAGE for a
     *                        malformed snapshot name, an absolute path or one with {@code ..}, or a closed handle
     */
    public WorkspaceDiff diff(String snapshot, List<String> paths, boolean includeIgnored) {
        Args.given(paths, "OpenWorkspace.files().diff", "paths", "give List.of() for every path");
        return ws.workspaces().files().diff(ws.id(), snapshot, paths, includeIgnored);
    }

    /**
     * Replaces text {@code oldText} of file {@code path} of /workspace by {@code newText} ({@link WorkspaceFiles#edit}).
     *
     * @param path    the file, relative to /workspace
     * @param oldText the text to replace: once in the file (or, with {@code replaceAll}, at least once)
     * @param newText what to put in its place
     * @param replaceAll replace every occurrence
     * @return what it did
     * @throws DavitException as {@link WorkspaceFiles#edit}; USAGE for a closed handle
     */
    public WorkspaceFiles.Edited edit(String path, String oldText, String newText, boolean replaceAll) {
        return ws.workspaces().files().edit(ws.id(), path, oldText, newText, replaceAll);
    }

    /**
     * Applies unified diff {@code patch} ({@code git diff} or {@code diff -u} output) in /workspace, all or nothing
     * (see {@link WorkspaceFiles#patch}).
     *
     * @param patch the unified diff; its paths (after an {@code a/} or {@code b/} prefix) relative to /workspace
     * @return changed path to {@code added}, {@code modified} or {@code deleted}, in the patch's order
     * @throws DavitException STATE when a hunk does not apply (nothing is changed then); USAGE when the patch does
     *                        not parse or the handle is closed; NOT_FOUND when the workspace was removed
     */
    public Map<String, String> patch(String patch) {
        return applyPatch(patch).changes();
    }

    /**
     * {@link #patch}, with what the caller should know ({@link WorkspaceFiles#applyPatch}: hunks whose headers miscount
     * their lines, recounted).
     *
     * @param patch the unified diff
     * @return the changes and the notes
     * @throws DavitException as {@link #patch}
     */
    public WorkspaceFiles.Patched applyPatch(String patch) {
        Args.given(patch, "OpenWorkspace.files().patch", "patch", "give the text of a unified diff");
        return ws.workspaces().files().applyPatch(ws.id(), patch.getBytes(StandardCharsets.UTF_8));
    }
}
