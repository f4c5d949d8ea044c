package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.workspace.WorkspaceFiles.Copied;
import dev.davit.sandbox.workspace.WorkspaceFiles.Progress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Copies between the host and /workspace: push (a host file or directory in) and export (out, to a directory or a
 * tar file, bounded by what the workspace may write to the host: {@link Export}). Behind {@link WorkspaceFiles},
 * whose methods of the same names document them.
 */
class WorkspaceCopies extends WorkspaceState {
    WorkspaceCopies(WorkspaceState state) {
        super(state);
    }

    /** {@code c} with every secret value in its path and the names it skipped redacted (its files are the host's). */
    private static Copied redacted(Copied c, Redactor r) {
        return r.isEmpty() ? c : new Copied(r.redact(c.path()), c.files(), c.bytes(), r.redact(c.skipped()));
    }

    Copied diskExport(String id, Path hostDest, String path) {
        return shown(id, (w, r) -> locked(id, wid -> redacted(bounded(get(wid), hostDest,
                a -> disk(wid).export(hostDest, path, a)), r)));
    }

    Copied push(String id, Path hostPath, String dest) {
        Workspace w = get(id);
        if (!Files.exists(hostPath)) {
            throw new DavitException(Kind.USAGE, "no " + hostPath + " to push; give a host file or directory");
        }
        Path name = hostPath.toAbsolutePath().normalize().getFileName();
        String rel = WorkspacePath.normalise(dest == null ? name == null ? "" : name.toString() : dest);
        if (rel.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a destination inside /workspace for " + hostPath);
        }
        Path stage = stateDir.resolve(w.id()).resolve(".push-" + dev.davit.oci.internal.RandomHex.of(4));
        try {
            Path top = stage.resolve(rel);
            Files.createDirectories(top.getParent());
            if (Files.isDirectory(hostPath)) {
                Files.createDirectory(top);
                Tree.copy(hostPath, top);
            } else if (Files.isRegularFile(hostPath)) {
                Files.copy(hostPath, top);
                Files.setPosixFilePermissions(top, Files.getPosixFilePermissions(hostPath));
            } else {
                throw new DavitException(Kind.USAGE, hostPath + " is a device, fifo or socket; push a file or a"
                        + " directory");
            }
            long files = 1;
            long bytes = Files.size(top);
            if (Files.isDirectory(top, LinkOption.NOFOLLOW_LINKS)) {
                Map<String, Tree.Entry> entries = Tree.walk(top);
                files += entries.size();
                bytes = entries.values().stream().mapToLong(Tree.Entry::size).sum();
            }
            area(w).apply(stage, List.of(rel), List.of());
            return new Copied(rel, files, bytes, List.of());
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot push " + hostPath + ": " + e.getMessage());
        } finally {
            delete(stage);
        }
    }

    Copied export(String id, Path hostDest, String path, Progress progress) {
        return shown(id, (w, r) -> {
            String rel = WorkspacePath.normalise(path);
            return redacted(bounded(w, hostDest, a -> {
                try (WorkspaceArea.View v = area(w).view(); Dir ws = v.open()) {
                    return Export.to(ws, rel, hostDest, progress == null ? null : progress::at, a);
                } catch (IOException e) {
                    throw ContainerArea.fileError(e, rel, "export");
                }
            }), r);
        });
    }

    /**
     * Runs {@code export} of workspace {@code w} to {@code hostDest} within what it may write (see
     * {@link Export#allowance}), one export of the workspace at a time, and counts what it wrote.
     */
    private Copied bounded(Workspace w, Path hostDest, java.util.function.Function<Export.Allowance, Copied> export) {
        Path state = stateDir.resolve(w.id());
        try {
            return dev.davit.sandbox.backend.FileLocks.holding(state.resolve(Export.LOCK), () -> {
                Export.Allowance a = Export.allowance(state, sandbox(w.id()).spec().limits().diskMiB(), hostDest);
                Copied c = export.apply(a);
                Export.record(state, a.used()[0]);
                return c;
            });
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot lock " + state.resolve(Export.LOCK) + ": " + e.getMessage());
        }
    }
}
