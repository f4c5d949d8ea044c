package dev.davit.sandbox.workspace;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.sandbox.fs.Dir;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * The /workspace tree of one workspace, wherever it lives: in a container sandbox's own layer (reached on the host)
 * or in a microVM's copy-on-write disk (reached through its guest agent). {@link Workspaces} keeps everything else
 * (baseline, snapshots, diff, patch, push, export, history) in host directories and meets the tree only here, so a
 * backend is one implementation of this interface. Paths are relative to /workspace, {@code /}-separated, already
 * checked by {@link WorkspacePath}; {@code ""} is /workspace itself.
 */
interface WorkspaceArea {
    /**
     * Fills the empty /workspace of a sandbox that has not started yet with the content of host directory
     * {@code tree}.
     */
    void seed(Path tree);

    /**
     * A host directory holding the current tree, to read only: the live tree (container) or a fresh copy of it
     * (vm). Close the view when done (a copy is deleted then).
     */
    View view();

    /** A host directory holding the current tree; see {@link #view()}. */
    interface View extends AutoCloseable {
        /** The host directory of a copy (vm); a container's live tree has none: see {@link #open()}. */
        Path dir();

        /**
         * The tree, opened so that nothing in it is followed out (see {@link Dir}); call once, close it (or the
         * view) when done.
         */
        default Dir open() throws java.io.IOException {
            return Dir.open(dir(), Workspaces.MOUNT);
        }

        @Override
        void close();
    }

    /**
     * The bytes of regular file {@code path}, at most {@code maxBytes} (0: all); see
     * {@link WorkspaceFiles.FileContent}.
     */
    WorkspaceFiles.FileContent read(String path, long maxBytes);

    /**
     * The bytes of regular file {@code path} from byte {@code offset}, at most {@code maxBytes} (0: the rest). This
     * one reads the file from its start and keeps the page, within its first {@link ContainerArea#MAX_READ} bytes (a
     * microVM's agent reads from the start); an area that can read from an offset does.
     */
    default WorkspaceFiles.FileContent read(String path, long offset, long maxBytes) {
        if (offset == 0) {
            return read(path, maxBytes);
        }
        if (maxBytes <= 0 || offset > ContainerArea.MAX_READ || maxBytes > ContainerArea.MAX_READ - offset) {
            throw new DavitException(Kind.USAGE, Message.of("a microVM workspace reads pages within a file's first "
                    + (ContainerArea.MAX_READ >> 20) + " MiB (the offset plus the bytes asked for), not up to "
                    + (maxBytes <= 0 ? "its end" : offset + " + " + maxBytes) + "; export it (",
                    Action.EXPORT_WORKSPACE.fix(), ") to read further"));
        }
        WorkspaceFiles.FileContent c = read(path, offset + maxBytes);
        byte[] b = c.bytes();
        int from = (int) Math.min(offset, b.length);
        return new WorkspaceFiles.FileContent(java.util.Arrays.copyOfRange(b, from, b.length), c.size(), c.truncated(),
                false, offset, offset + b.length - from);
    }

    /**
     * Makes each path of {@code changes} in /workspace equal to the entry at that path under host directory
     * {@code staged} (a file, a link, or a directory with all it holds), replacing what is there (a link is
     * replaced, never followed), and removes each path of {@code deletions} (with all it holds); missing parent
     * directories are created (mode 0755). Each file appears whole (temp file + rename); nothing is written outside
     * /workspace.
     */
    void apply(Path staged, List<String> changes, List<String> deletions);

    /**
     * Writes one file, whole or not at all; see {@link #apply}. {@code mode} below 0 keeps an existing file's mode
     * (0644 for a new file). Returns the bytes written.
     */
    long write(String path, InputStream data, int mode);

    /**
     * Replaces the whole tree with the content of host directory {@code tree}, byte for byte and mode for mode; the
     * caller has stopped everything that runs in the workspace. A crash leaves the old tree or the new one, never
     * a mix.
     */
    void replace(Path tree);
}
