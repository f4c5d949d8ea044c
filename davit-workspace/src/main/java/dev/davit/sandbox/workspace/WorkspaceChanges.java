package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.fs.Budget;
import dev.davit.sandbox.fs.Dir;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Diff and patch: what changed in /workspace since the baseline or a snapshot ({@link WorkspaceDiff}), and a unified
 * diff applied to it all or nothing ({@link UnifiedPatch}). Behind {@link WorkspaceFiles}, whose methods of the
 * same names document them.
 */
class WorkspaceChanges extends WorkspaceState {
    WorkspaceChanges(WorkspaceState state) {
        super(state);
    }

    WorkspaceFiles.Patched patch(String id, byte[] patch) {
        return shown(id, (w, r) -> {
            List<String> notes = new ArrayList<>();
            Map<String, String> kinds = patchUnredacted(w, id, patch, notes);
            Map<String, String> shown = new java.util.LinkedHashMap<>();
            kinds.forEach((p, k) -> shown.put(r.redact(p), k));
            return new WorkspaceFiles.Patched(shown, r.redact(notes));
        });
    }

    private Map<String, String> patchUnredacted(Workspace w, String id, byte[] patch, List<String> notes) {
        WorkspaceArea area = area(w);
        List<UnifiedPatch.FilePatch> files = UnifiedPatch.parse(patch, notes);
        Map<String, byte[]> result = new java.util.LinkedHashMap<>();
        Map<String, Boolean> existed = new java.util.HashMap<>();
        Map<String, Integer> modes = new java.util.HashMap<>();
        try (WorkspaceArea.View v = area.view(); Dir ws = v.open()) {
            for (UnifiedPatch.FilePatch fp : files) {
                String rel = fp.path();
                byte[] before = result.containsKey(rel) ? result.get(rel) : current(ws, rel, modes);
                existed.putIfAbsent(rel, before != null);
                result.put(rel, fp.apply(before));
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read /workspace of workspace " + id + ": " + e.getMessage());
        }
        Map<String, String> kinds = new java.util.LinkedHashMap<>();
        result.forEach((rel, after) -> {
            if (after != null || existed.get(rel)) {
                kinds.put(rel, after == null ? "deleted" : existed.get(rel) ? "modified" : "added");
            }
        });
        write(w, area, kinds, result, modes);
        return kinds;
    }

    /**
     * Writes {@code kinds}' files into /workspace together: their new content ({@code result}, with their
     * {@code modes}) staged beside the workspace's state first, then applied by its area; deleted ones removed.
     */
    private void write(Workspace w, WorkspaceArea area, Map<String, String> kinds, Map<String, byte[]> result,
                       Map<String, Integer> modes) {
        Path stage = stateDir.resolve(w.id()).resolve(".patch-" + dev.davit.oci.internal.RandomHex.of(4));
        List<String> changes = new ArrayList<>();
        List<String> deletions = new ArrayList<>();
        try {
            for (Map.Entry<String, String> k : kinds.entrySet()) {
                if (k.getValue().equals("deleted")) {
                    deletions.add(k.getKey());
                    continue;
                }
                Path f = stage.resolve(k.getKey());
                Files.createDirectories(f.getParent());
                Files.write(f, result.get(k.getKey()));
                Files.setPosixFilePermissions(f, Tree.perms(modes.getOrDefault(k.getKey(), 0644)));
                changes.add(k.getKey());
            }
            area.apply(stage, changes, deletions);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot stage the change: " + e.getMessage());
        } finally {
            delete(stage);
        }
    }

    /**
     * Replaces {@code oldText} by {@code newText} in file {@code path} of /workspace (see {@link WorkspaceFiles#edit}).
     */
    WorkspaceFiles.Edited edit(String id, String path, String oldText, String newText, boolean all) {
        String rel = WorkspacePath.normalise(path);
        if (rel.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give the path of a file in /workspace to edit");
        }
        if (oldText == null || oldText.isEmpty()) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("give the text to replace (",
                    dev.davit.oci.Input.EDIT_OLD, "): it may not be empty; to write a whole file, write it"));
        }
        if (newText == null) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("give the text to put in its place (",
                    dev.davit.oci.Input.EDIT_NEW, "; empty to delete it)"));
        }
        if (oldText.equals(newText)) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("the text to replace (",
                    dev.davit.oci.Input.EDIT_OLD, ") and its replacement (", dev.davit.oci.Input.EDIT_NEW,
                    ") are the same; nothing to change"));
        }
        return shown(id, (w, r) -> {
            WorkspaceArea area = area(w);
            Map<String, Integer> modes = new java.util.HashMap<>();
            byte[] before;
            try (WorkspaceArea.View v = area.view(); Dir ws = v.open()) {
                before = current(ws, rel, modes);
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot read /workspace of workspace " + id + ": "
                        + e.getMessage());
            }
            if (before == null) {
                throw new DavitException(Kind.NOT_FOUND, "no file " + r.redact(rel) + " in /workspace; write it"
                        + " first, or give the path of one that exists");
            }
            String text;
            try {
                text = java.nio.charset.StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(before))
                        .toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new DavitException(Kind.USAGE, r.redact(rel) + " is not UTF-8 text; edit it with a patch or"
                        + " write it whole");
            }
            String after = TextEdit.apply(text, oldText, newText, all, r.redact(rel));
            write(w, area, Map.of(rel, "modified"), Map.of(rel, after.getBytes(java.nio.charset.StandardCharsets
                    .UTF_8)), modes);
            return new WorkspaceFiles.Edited(r.redact(rel), TextEdit.count(text, oldText),
                    TextEdit.line(text, text.indexOf(oldText)));
        });
    }

    /** The content of regular file {@code rel} under {@code root} (null when missing); records its mode. */
    private static byte[] current(Dir ws, String rel, Map<String, Integer> modes) {
        try (Dir.Opened f = ws.openFile(rel)) {
            if (f.stat().size() > ContainerArea.MAX_READ) {
                throw new DavitException(Kind.USAGE, "the change is to " + rel + ", which holds more than "
                        + (ContainerArea.MAX_READ >> 20) + " MiB; nothing was changed");
            }
            modes.put(rel, f.stat().permissions() & 0777);
            try (java.nio.channels.FileChannel c = f.read()) {
                return java.nio.channels.Channels.newInputStream(c).readNBytes((int) ContainerArea.MAX_READ);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        } catch (Dir.NotRegularFile e) {
            throw new DavitException(Kind.USAGE, "the change is to " + rel + ", which is not a regular file in"
                    + " /workspace; nothing was changed");
        } catch (IOException e) {
            throw ContainerArea.fileError(e, rel, "read");
        }
    }

    WorkspaceDiff diff(String id, String snapshot, List<String> paths, boolean includeIgnored) {
        List<String> only = paths.stream().map(WorkspacePath::normalise).toList();
        return shown(id, (w, r) -> {
            Path from = snapshot == null ? stateDir.resolve(w.id()).resolve("baseline") : snapshotTree(id, snapshot);
            try (WorkspaceArea.View v = area(w).view(); Dir now = v.open();
                 Dir before = Dir.open(from, "the baseline")) {
                return WorkspaceDiff.compute(before, now, Budget.of("the diff of /workspace"), r, only,
                        includeIgnored);
            } catch (IOException e) {
                throw ContainerArea.treeError(e, "the diff");
            }
        });
    }
}
