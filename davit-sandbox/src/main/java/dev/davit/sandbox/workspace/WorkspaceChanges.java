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
 * diff applied to it all or nothing ({@link UnifiedPatch}). Behind {@link Workspaces}, whose methods of the same
 * names document them.
 */
class WorkspaceChanges extends WorkspaceState {
    WorkspaceChanges(WorkspaceState state) {
        super(state);
    }

    Map<String, String> patch(String id, byte[] patch) {
        return shown(id, (w, r) -> {
            Map<String, String> kinds = patchUnredacted(w, id, patch);
            Map<String, String> shown = new java.util.LinkedHashMap<>();
            kinds.forEach((p, k) -> shown.put(r.redact(p), k));
            return shown;
        });
    }

    private Map<String, String> patchUnredacted(Workspace w, String id, byte[] patch) {
        WorkspaceArea area = area(w);
        List<UnifiedPatch.FilePatch> files = UnifiedPatch.parse(patch);
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
            throw new DavitException(Kind.STORE, "cannot stage the patch: " + e.getMessage());
        } finally {
            delete(stage);
        }
        return kinds;
    }

    /** The content of regular file {@code rel} under {@code root} (null when missing); records its mode. */
    private static byte[] current(Dir ws, String rel, Map<String, Integer> modes) {
        try (Dir.Opened f = ws.openFile(rel)) {
            if (f.stat().size() > ContainerArea.MAX_READ) {
                throw new DavitException(Kind.USAGE, "the patch changes " + rel + ", which holds more than "
                        + (ContainerArea.MAX_READ >> 20) + " MiB; nothing was changed");
            }
            modes.put(rel, f.stat().permissions() & 0777);
            try (java.nio.channels.FileChannel c = f.read()) {
                return java.nio.channels.Channels.newInputStream(c).readNBytes((int) ContainerArea.MAX_READ);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        } catch (Dir.NotRegularFile e) {
            throw new DavitException(Kind.USAGE, "the patch changes " + rel + ", which is not a regular file in"
                    + " /workspace; nothing was changed");
        } catch (IOException e) {
            throw ContainerArea.fileError(e, rel, "read");
        }
    }

    WorkspaceDiff diff(String id, String snapshot, List<String> paths) {
        List<String> only = paths.stream().map(WorkspacePath::normalise).toList();
        return shown(id, (w, r) -> {
            Path from = snapshot == null ? stateDir.resolve(w.id()).resolve("baseline") : snapshotTree(id, snapshot);
            try (WorkspaceArea.View v = area(w).view(); Dir now = v.open();
                 Dir before = Dir.open(from, "the baseline")) {
                return WorkspaceDiff.compute(before, now, Budget.of("the diff of /workspace"), r, only);
            } catch (IOException e) {
                throw ContainerArea.treeError(e, "the diff");
            }
        });
    }
}
