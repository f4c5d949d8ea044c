package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The files of workspaces, from {@link Workspaces#files()}: listed, read and written in /workspace, copied in from
 * the host and out to it, edited, patched and compared with the baseline or a snapshot; a stopped microVM's disk read
 * offline. Every host-side access is race-free against the sandbox's own changes (no link it plants is followed out
 * of /workspace), and in a workspace with secrets what is read is redacted. Thread-safe, as its {@code Workspaces} is.
 *
 * <pre>{@code
 * workspaces.files().write("review", "notes.txt", new ByteArrayInputStream("hi".getBytes()));
 * WorkspaceFiles.FileContent c = workspaces.files().read("review", "notes.txt", 65536);
 * }</pre>
 */
public final class WorkspaceFiles {
    private final FileAccess access;
    private final WorkspaceCopies copies;
    private final WorkspaceChanges changes;

    WorkspaceFiles(FileAccess access, WorkspaceCopies copies, WorkspaceChanges changes) {
        this.access = access;
        this.copies = copies;
        this.changes = changes;
    }

    /**
     * One file of a workspace.
     *
     * @param path relative to /workspace
     * @param type {@code file}, {@code dir}, {@code symlink} or {@code other}
     * @param size the size in bytes of a regular file; 0 for anything else
     * @param mode permission bits
     * @param target a link's target, else null
     */
    public record FileInfo(String path, String type, long size, int mode, String target) {
    }

    /**
     * The entries of directory {@code path} (all below it with {@code recursive}), by path.
     *
     * @param id        the workspace's id ({@code ws-...}) or name
     * @param path      a directory (or file) relative to /workspace; null, {@code ""} or {@code .}: /workspace
     * @param recursive whether to list everything below it, not only its own entries
     * @return the entries, their paths relative to /workspace; the file itself when {@code path} is not a directory
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or path; {@link Kind#USAGE} for
     *                        an absolute path, one with {@code ..}, or one through a symbolic link
     */
    public List<FileInfo> list(String id, String path, boolean recursive) {
        return access.listFiles(id, path, recursive);
    }

    /**
     * The entries of directory {@code path} of stopped workspace {@code id} (all below it with {@code recursive}),
     * read offline without starting it ({@link DiskReader}: a container's own layer, a microVM's disk image through
     * debugfs); a running workspace is refused. Shapes as {@link #list}.
     *
     * @param id        the workspace's id ({@code ws-...}) or name
     * @param path      a directory (or file) relative to /workspace; null or {@code ""}: /workspace
     * @param recursive whether to list everything below it, not only its own entries
     * @return the entries, their paths relative to /workspace
     * @throws DavitException {@link Kind#USAGE} when the workspace is running (or its sandbox failed), or for a bad
     *                        path; {@link Kind#NOT_FOUND} when there is no such workspace or path
     */
    public List<FileInfo> diskList(String id, String path, boolean recursive) {
        return access.diskList(id, path, recursive);
    }

    /**
     * The bytes of regular file {@code path} of stopped workspace {@code id}, read offline; see {@link #diskList}.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param path     a regular file, relative to /workspace
     * @param maxBytes the most bytes to read; 0: all (refused above 64 MiB)
     * @return the bytes read, the file's size and whether it was cut
     * @throws DavitException {@link Kind#USAGE} when the workspace is running, or for a bad path, not a regular
     *                        file, or a file too large to read whole; {@link Kind#NOT_FOUND} when there is no such
     *                        workspace or file
     */
    public FileContent diskRead(String id, String path, long maxBytes) {
        return access.diskRead(id, path, maxBytes);
    }

    /**
     * {@link #export} of stopped workspace {@code id}, read offline; see {@link #diskList}.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param hostDest a host directory that does not exist or is empty, or a {@code .tar} file that does not exist
     * @param path     what to export, relative to /workspace; null or {@code ""}: all of it
     * @return what was copied
     * @throws DavitException {@link Kind#USAGE} when the workspace is running, or for a bad path or destination;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace or path
     */
    public Copied diskExport(String id, Path hostDest, String path) {
        return copies.diskExport(id, hostDest, path);
    }

    /**
     * What {@link #read} read.
     *
     * @param bytes     the bytes read from {@code offset}; in a workspace with secrets, each value in them
     *                  replaced with {@code [REDACTED:NAME]} (and a value cut short by {@code maxBytes} or by the
     *                  offset masked)
     * @param size      the file's size, in bytes (the file's even when {@code bytes} were redacted)
     * @param truncated whether more of the file follows what was read (read on from {@code end})
     * @param redacted  whether a secret value was redacted from {@code bytes}, which then are not the file's
     * @param offset    where in the file {@code bytes} start
     * @param end       where in the file what was read ends: the offset of the next page (the file's bytes read,
     *                  whatever redaction made of them)
     */
    public record FileContent(byte[] bytes, long size, boolean truncated, boolean redacted, long offset, long end) {
        /**
         * What was read from the file's start.
         *
         * @param bytes     the bytes read from the file's start
         * @param size      the file's size, in bytes
         * @param truncated whether only the first {@code maxBytes} were read
         * @param redacted  whether a secret value was redacted from {@code bytes}
         */
        public FileContent(byte[] bytes, long size, boolean truncated, boolean redacted) {
            this(bytes, size, truncated, redacted, 0, bytes.length);
        }

        /**
         * What was read from the file's start, with nothing redacted.
         *
         * @param bytes     the bytes read from the file's start
         * @param size      the file's size, in bytes
         * @param truncated whether only the first {@code maxBytes} were read
         */
        public FileContent(byte[] bytes, long size, boolean truncated) {
            this(bytes, size, truncated, false);
        }
    }

    /**
     * The bytes of regular file {@code path}, at most {@code maxBytes} (0: all). In a workspace with secrets every
     * value in them is {@code [REDACTED:NAME]} ({@link FileContent#redacted} says so), as in every result here.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param path     a regular file, relative to /workspace
     * @param maxBytes the most bytes to read; 0: all (a container workspace refuses that for more than 64 MiB)
     * @return the bytes read, the file's size and whether it was cut
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or path; {@link Kind#USAGE} for an
     *                        absolute path, one with {@code ..}, or one through a symbolic link, not a regular file, or
     *                        a file too large to read whole
     */
    public FileContent read(String id, String path, long maxBytes) {
        return read(id, path, 0, maxBytes);
    }

    /**
     * The bytes of regular file {@code path} from byte {@code offset}, at most {@code maxBytes} (0: the rest): a page
     * of a large file; {@link FileContent#end} is where the next one starts, {@link FileContent#truncated} whether
     * there is one. Redacted as {@link #read(String, String, long)} (a value the offset cuts is masked too).
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param path     a regular file, relative to /workspace
     * @param offset   where to start, in bytes (past the end: nothing is read)
     * @param maxBytes the most bytes to read; 0: the rest (a container workspace refuses more than 64 MiB)
     * @return the bytes read, the file's size, whether more follows and where the next page starts
     * @throws DavitException as {@link #read(String, String, long)}; {@link Kind#USAGE} for a negative offset,
     *                        and in a microVM workspace for a page that ends past the file's first 64 MiB
     */
    public FileContent read(String id, String path, long offset, long maxBytes) {
        return access.readFile(id, path, offset, maxBytes);
    }

    /**
     * Writes {@code data} to {@code path} atomically (a temp file in the same directory, synced, renamed over it;
     * a link there is replaced, never followed), creating missing parent directories (0755). Keeps an existing
     * file's mode, else 0644. Returns the bytes written.
     *
     * @param id   the workspace's id ({@code ws-...}) or name
     * @param path the file, relative to /workspace
     * @param data the new content, read to its end (not closed)
     * @return how many bytes were written
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad path,
     *                        a directory at it, or a path through a symbolic link; {@link Kind#STORE} when it cannot
     *                        be written
     */
    public long write(String id, String path, InputStream data) {
        return access.writeFile(id, path, data);
    }

    /** Hears how far a long copy ({@link #export(String, Path, String, Progress)}) got. */
    @FunctionalInterface
    public interface Progress {
        /**
         * How far it got.
         *
         * @param entries the entries copied so far
         * @param bytes   the bytes copied so far
         */
        void at(long entries, long bytes);
    }

    /**
     * What {@link #push} or {@link #export} copied.
     *
     * @param path    where, relative to /workspace ({@code ""}: /workspace itself)
     * @param files   how many entries (files, directories, links), the top included
     * @param bytes   the size of the regular files together
     * @param skipped entries left out (devices, fifos, sockets), relative to the top
     */
    public record Copied(String path, long files, long bytes, List<String> skipped) {
    }

    /**
     * Copies host file or directory {@code hostPath} to {@code dest} in /workspace (null: its own name at the top),
     * replacing what is there; missing parent directories are created. Links inside a directory are copied as they
     * are; a device, fifo or socket is refused.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param hostPath the host file or directory to copy in
     * @param dest     where it goes, relative to /workspace; null: {@code hostPath}'s own name at the top
     * @return what was copied ({@code skipped} is always empty: nothing is left out)
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name, for a missing host path, a device, fifo or socket, or a bad
     *                        destination; {@link Kind#STORE} when it cannot be copied
     */
    public Copied push(String id, Path hostPath, String dest) {
        return copies.push(id, hostPath, dest);
    }

    /**
     * Copies /workspace (or {@code path} in it) to the host: into directory {@code hostDest} (which must not exist
     * or be empty; a file {@code path} lands under its own name), or into a tar file when {@code hostDest} ends in
     * {@code .tar}. Links are copied as links, never followed; devices, fifos and sockets are left out; modes keep
     * only the permission bits (no setuid, setgid or sticky). Written to a temp sibling and renamed last.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param hostDest a host directory that does not exist or is empty (its parent must exist), or a {@code .tar}
     *                 file that does not exist
     * @param path     what to export, relative to /workspace; null or {@code ""}: all of it
     * @return what was copied, and what was left out
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or path; {@link Kind#USAGE} for a
     *                        bad path or destination; {@link Kind#STORE} when the host side cannot be written
     */
    public Copied export(String id, Path hostDest, String path) {
        return export(id, hostDest, path, null);
    }

    /**
     * {@link #export(String, Path, String)}, telling {@code progress} (null: none) about once a second how many
     * entries and bytes it copied so far.
     *
     * @param id       the workspace's id ({@code ws-...}) or name
     * @param hostDest a host directory that does not exist or is empty (its parent must exist), or a {@code .tar}
     *                 file that does not exist
     * @param path     what to export, relative to /workspace; null or {@code ""}: all of it
     * @param progress told the entries and bytes copied so far, about once a second; null: nobody
     * @return what was copied, and what was left out
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or path; {@link Kind#USAGE} for a
     *                        bad path or destination; {@link Kind#STORE} when the host side cannot be written
     */
    public Copied export(String id, Path hostDest, String path, Progress progress) {
        return copies.export(id, hostDest, path, progress);
    }

    /**
     * Applies unified diff {@code patch} ({@code git diff} or {@code diff -u} output) inside /workspace, all or
     * nothing: every hunk is applied in memory against the current content first (exact context, the first match
     * nearest the hunk's line); if one fails nothing is written and the error names its file and hunk; otherwise
     * the results are written together. Returns the paths changed, with {@code added}, {@code modified} or
     * {@code deleted}.
     *
     * @param id    the workspace's id ({@code ws-...}) or name
     * @param patch the unified diff's bytes; its paths (after an {@code a/} or {@code b/} prefix) relative to
     *              /workspace
     * @return changed path (relative to /workspace) to {@code added}, {@code modified} or {@code deleted}, in the
     *         patch's order
     * @throws DavitException {@link Kind#STATE} when a hunk does not apply; {@link Kind#USAGE} when the patch does
     *                        not parse, or changes a path that is not a regular file or holds more than 64 MiB;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace. Nothing is changed then
     */
    public Map<String, String> patch(String id, byte[] patch) {
        return applyPatch(id, patch).changes();
    }

    /**
     * What {@link #applyPatch} did.
     *
     * @param changes changed path (relative to /workspace) to {@code added}, {@code modified} or {@code deleted}, in
     *                the patch's order
     * @param notes   what the caller should know: each hunk whose header miscounted its lines, taken as
     *                {@code git apply --recount} takes it
     */
    public record Patched(Map<String, String> changes, List<String> notes) {
        /** Copies both. */
        public Patched {
            changes = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(changes));
            notes = List.copyOf(notes);
        }
    }

    /**
     * {@link #patch}, saying what the caller should know: a hunk whose header miscounts its lines (as a hand-written
     * one may) is taken as {@code git apply --recount} takes it, as the lines up to the next hunk or file, and said
     * so; its context must still match exactly.
     *
     * @param id    the workspace's id ({@code ws-...}) or name
     * @param patch the unified diff's bytes
     * @return the changes and the notes
     * @throws DavitException as {@link #patch}
     */
    public Patched applyPatch(String id, byte[] patch) {
        return changes.patch(id, patch);
    }

    /**
     * What {@link #edit} did.
     *
     * @param path         the file, relative to /workspace
     * @param replacements how many occurrences it replaced
     * @param line         the line (from 1) of the first, before the edit
     */
    public record Edited(String path, int replacements, int line) {
    }

    /**
     * Replaces text {@code oldText} of file {@code path} of /workspace by {@code newText}, as models are trained to
     * edit: the text must be in the file exactly once (or, with {@code all}, at least once: every occurrence is
     * replaced). Found nowhere or more than once, the edit is refused saying how many times and on which lines (and,
     * when it is there only without its leading and trailing white space, that too); nothing is changed then. The
     * file (UTF-8 text, at most 64 MiB) keeps its mode; it is written whole, as a patch writes.
     *
     * <pre>{@code
     * workspaces.files().edit("proj", "src/app.js", "return a - b;", "return a + b;", false);
     * }</pre>
     *
     * @param id      the workspace's id ({@code ws-...}) or name
     * @param path    the file, relative to /workspace
     * @param oldText the text to replace: not empty
     * @param newText what to put in its place (empty: remove it)
     * @param all     replace every occurrence rather than the one
     * @return the file, how many it replaced and where the first was
     * @throws DavitException {@link Kind#STATE} when the text is not there, or there more than once without
     *                        {@code all}; {@link Kind#NOT_FOUND} when there is no such workspace or file;
     *                        {@link Kind#USAGE} for a bad path, an empty {@code oldText}, the same text twice, or a file
     *                        that is not UTF-8 text or not a regular file. Nothing is changed then
     */
    public Edited edit(String id, String path, String oldText, String newText, boolean all) {
        return changes.edit(id, path, oldText, newText, all);
    }

    /**
     * What changed in /workspace since the baseline: {@link #diff(String, String, List, boolean)} of every path,
     * ignored directories collapsed.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return the changed paths, a unified diff of the text files among them, and the collapsed directories
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} when what
     *                        the sandbox did keeps the tree from being read (a name that is not UTF-8, a change during
     *                        the diff); {@link Kind#STORE} when it cannot be read
     */
    public WorkspaceDiff diff(String id) {
        return changes.diff(id, null, List.of(), false);
    }

    /**
     * What changed in /workspace since snapshot {@code snapshot} (null: the baseline), of some paths only or of all.
     * In a workspace with secrets both sides are redacted before they are compared (see {@link WorkspaceDiff}).
     * With {@code paths}, each path given and what is below it (a directory's whole tree) is compared, the others
     * left out of the changes and the patch. Without {@code includeIgnored} the changes below a directory the
     * workspace's {@code .gitignore} files ignore (or, with none, a usual dependency or build directory such as
     * {@code node_modules}, {@code target}, {@code __pycache__}; {@code .git} always) are counted per such directory
     * ({@link WorkspaceDiff#collapsed}) instead of listed and diffed, so what the caller wrote is not lost among them;
     * a caller that names paths usually wants them listed, so passes {@code true}.
     *
     * @param id             the workspace's id ({@code ws-...}) or name
     * @param snapshot       the snapshot to compare with; null: the baseline
     * @param paths          paths relative to /workspace; empty: every path
     * @param includeIgnored list and diff what is below ignored directories too
     * @return the changed paths, a unified diff of the text files among them, and the collapsed directories
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or snapshot; {@link Kind#USAGE}
     *                        for a malformed snapshot name, an absolute path or one with {@code ..}, or when what the
     *                        sandbox did keeps the tree from being read (a name that is not UTF-8, a change during
     *                        the diff); {@link Kind#STORE} when it cannot be read
     */
    public WorkspaceDiff diff(String id, String snapshot, List<String> paths, boolean includeIgnored) {
        return changes.diff(id, snapshot, paths, includeIgnored);
    }
}
