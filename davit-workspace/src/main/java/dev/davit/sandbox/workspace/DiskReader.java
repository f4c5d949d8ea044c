package dev.davit.sandbox.workspace;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.backend.OfflineDisk;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.fs.Budget;
import dev.davit.sandbox.fs.Dir;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The files of a stopped workspace, read offline: nothing is started. A container workspace's /workspace is read in
 * its sandbox's own layer (the overlay's upper directory, as {@link ContainerArea} reads it while stopped), through a
 * {@link Dir}; a microVM workspace's from its disk ({@link Ext4Image}: debugfs on a raw copy, never mounted, the VM
 * never booted). Results have the shapes of {@link WorkspaceFiles#list}, {@link WorkspaceFiles#read} and
 * {@link WorkspaceFiles#export}. A running workspace is refused: its tree changes under the reader (a microVM's disk is
 * not even consistent until its guest flushes it), and the live operations serve it.
 */
final class DiskReader {
    private final Sandboxes sandboxes;
    private final Workspace w;
    private final Sandbox sandbox;
    /** The workspace's state directory (temp trees of an export). */
    private final Path scratch;

    DiskReader(Sandboxes sandboxes, Workspace w, Path scratch) {
        this.sandboxes = sandboxes;
        this.w = w;
        this.scratch = scratch;
        this.sandbox = sandboxes.status(w.sandboxId());
        String id = w.name() != null ? w.name() : w.id();
        if (sandbox.status() == SandboxStatus.RUNNING) {
            throw new DavitException(Kind.USAGE, Message.of("workspace " + id + " is running; its disk is read only"
                    + " while it is stopped: use ", Action.READ_FILES.fix(), ", or stop it first")
                    .about(Subject.Type.WORKSPACE, id));
        }
        if (sandbox.status() == SandboxStatus.FAILED && !sandbox.spec().filesInGuest()) {
            throw new DavitException(Kind.USAGE, Message.of("the sandbox of workspace " + id + " has failed; stop it"
                    + " (", Action.STOP_WORKSPACE.fix(id), "), then read its disk").about(Subject.Type.WORKSPACE, id));
        }
    }

    private boolean vm() {
        return sandbox.spec().filesInGuest();
    }

    /** A container's stopped tree: its own layer, never started. */
    private WorkspaceArea.View layer() {
        return new ContainerArea(sandboxes, w.sandboxId(), scratch).view();
    }

    /** See {@link WorkspaceFiles#diskList}. */
    List<WorkspaceFiles.FileInfo> list(String path, boolean recursive) {
        if (!vm()) {
            try (WorkspaceArea.View v = layer(); Dir ws = v.open()) {
                return FileAccess.listIn(ws, path, recursive, w.id());
            } catch (IOException e) {
                throw ContainerArea.fileError(e, path, "list");
            }
        }
        String rel = WorkspacePath.normalise(path);
        try (OfflineDisk disk = Machinery.of(sandboxes).offlineDisk(w.sandboxId())) {
            Ext4Image img = new Ext4Image(disk);
            Ext4Image.Found top = img.resolve(rel);
            if (top == null) {
                throw new DavitException(Kind.NOT_FOUND, "no " + rel + " in workspace " + w.id());
            }
            if (top.node().type().equals("symlink")) {
                throw new DavitException(Kind.USAGE, "'" + path + "' is a symbolic link; give the path it names"
                        + " (inside /workspace)");
            }
            if (!top.node().type().equals("dir")) {
                return List.of(top.info());
            }
            Budget budget = Budget.of("listing /workspace");
            List<Ext4Image.Found> found;
            if (recursive) {
                found = img.walk(top.node(), rel, budget, new ArrayList<>());
            } else {
                found = new ArrayList<>();
                for (Ext4Image.Node n : img.list(List.of(top.node().inode())).get(top.node().inode())) {
                    if (n.name() != null) {
                        budget.entry();
                        found.add(new Ext4Image.Found(Ext4Image.join(rel, n.name()), n));
                    }
                }
                img.withTargets(found);
                found.sort(java.util.Comparator.comparing(Ext4Image.Found::path));
            }
            return found.stream().map(Ext4Image.Found::info).toList();
        }
    }

    /** See {@link WorkspaceFiles#diskRead}. */
    WorkspaceFiles.FileContent read(String path, long maxBytes) {
        if (!vm()) {
            try (WorkspaceArea.View v = layer(); Dir ws = v.open()) {
                return ContainerArea.readIn(ws, path, maxBytes);
            } catch (IOException e) {
                throw ContainerArea.fileError(e, path, "read");
            }
        }
        String rel = WorkspacePath.normalise(path);
        if (rel.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a path inside /workspace, not /workspace itself");
        }
        try (OfflineDisk disk = Machinery.of(sandboxes).offlineDisk(w.sandboxId())) {
            Ext4Image img = new Ext4Image(disk);
            Ext4Image.Found f = img.resolve(rel);
            if (f == null) {
                throw new DavitException(Kind.NOT_FOUND, "no file " + rel + " in /workspace");
            }
            String type = f.node().type();
            if (!type.equals("file")) {
                throw new DavitException(Kind.USAGE, "not a regular file: " + rel + " in /workspace (a " + type + ")");
            }
            long size = f.node().size();
            if (maxBytes <= 0 && size > ContainerArea.MAX_READ) {
                throw new DavitException(Kind.USAGE, rel + " holds " + size + " bytes, more than davit reads at once ("
                        + (ContainerArea.MAX_READ >> 20) + " MiB); read a part of it (a maximum number of bytes) or"
                        + " export it");
            }
            long cap = Math.min(maxBytes > 0 ? maxBytes : ContainerArea.MAX_READ, Integer.MAX_VALUE - 64);
            byte[] b = img.read(f.node(), cap);
            return new WorkspaceFiles.FileContent(b, size, b.length == cap && size > cap);
        }
    }

    /** See {@link WorkspaceFiles#diskExport}. */
    WorkspaceFiles.Copied export(Path hostDest, String path, Export.Allowance allowance) {
        String rel = WorkspacePath.normalise(path);
        if (!vm()) {
            try (WorkspaceArea.View v = layer(); Dir ws = v.open()) {
                return Export.to(ws, rel, hostDest, null, allowance);
            } catch (IOException e) {
                throw ContainerArea.fileError(e, rel, "export");
            }
        }
        Path stageDir = scratch.resolve(".disk-export-" + dev.davit.oci.internal.RandomHex.of(4));
        try (OfflineDisk disk = Machinery.of(sandboxes).offlineDisk(w.sandboxId())) {
            Ext4Image img = new Ext4Image(disk);
            Ext4Image.Found top = img.resolve(rel);
            if (top == null) {
                throw new DavitException(Kind.NOT_FOUND, "no file " + rel + " in /workspace");
            }
            if (top.node().type().equals("symlink")) {
                throw Ext4Image.linkOnTheWay(rel);
            }
            Budget budget = Budget.of("the export of /workspace" + (rel.isEmpty() ? "" : "/" + rel));
            List<String> skipped = new ArrayList<>();
            List<Ext4Image.Found> found = top.node().type().equals("dir")
                    ? img.walk(top.node(), rel, budget, skipped) : List.of();
            Files.createDirectory(stageDir);
            try (Dir stage = Dir.open(stageDir, "the staged export")) {
                img.stage(top, found, stage, budget, skipped);
                WorkspaceFiles.Copied c = Export.to(stage, rel, hostDest, null, allowance);
                List<String> all = new ArrayList<>(skipped.stream().map(s -> relative(rel, s)).toList());
                all.addAll(c.skipped());
                return new WorkspaceFiles.Copied(c.path(), c.files(), c.bytes(), List.copyOf(all));
            }
        } catch (IOException e) {
            throw ContainerArea.fileError(e, rel, "export");
        } finally {
            try (Dir s = Dir.open(scratch, "the workspace's state")) {
                s.delete(stageDir.getFileName().toString());
            } catch (IOException ignored) {
                // best effort: a leftover temp tree starts with '.'
            }
        }
    }

    /** Workspace path {@code p} relative to the exported {@code top} (as {@link WorkspaceFiles.Copied#skipped}). */
    private static String relative(String top, String p) {
        return top.isEmpty() || !p.startsWith(top + "/") ? p : p.substring(top.length() + 1);
    }
}
