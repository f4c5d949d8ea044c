package dev.davit.sandbox.container;

import dev.davit.oci.build.LayerWriter;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.fs.Stat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The hard links a sandbox's layer keeps: a command that changes only the mode or owner of a file with several names
 * changes the one file all of them name, as on any file system; but the overlay copies up only the name the command
 * used, so the layer would split the file in two. Each other name the image gives that file (found in the lower tree
 * by inode: the tree's own links, never another tree's), which the layer does not otherwise have, is added as a hard
 * link to the changed name, as buildah's layers keep it. A file is taken as changed only in its mode or owner when its
 * size and time are the lower one's; a change of content in place cannot be told from a new file made under the
 * name (an editor's or {@code sed -i}'s rename) without the overlay's index, and keeps the other names apart.
 *
 * <p>Watch the layer's entries with {@link #watcher} while the changes are written, then {@link #add} before the
 * layer is finished. The lower tree is walked only when the layer has such a file, through descriptors, no link
 * followed.
 */
final class HardLinks {
    /** The most entries of the lower tree walked. */
    private static final long MAX_WALK = 2_000_000;

    private final Map<String, LayerWriter.Written> files = new HashMap<>();
    private final Set<String> paths = new HashSet<>();
    /** What the layer deletes, or has as something other than a directory. */
    private final Set<String> notDirs = new HashSet<>();
    private final List<String> opaque = new ArrayList<>();

    /** {@return what hears each entry of the layer as it is written} */
    java.util.function.Consumer<LayerWriter.Written> watcher() {
        return w -> {
            String name = w.name().endsWith("/") ? w.name().substring(0, w.name().length() - 1) : w.name();
            int slash = name.lastIndexOf('/');
            String last = name.substring(slash + 1);
            String dir = slash < 0 ? "" : name.substring(0, slash);
            if (last.equals(LayerWriter.OPAQUE)) {
                opaque.add(dir);
            } else if (last.startsWith(LayerWriter.WHITEOUT)) {
                String deleted = (dir.isEmpty() ? "" : dir + "/") + last.substring(LayerWriter.WHITEOUT.length());
                paths.add(deleted);
                notDirs.add(deleted);
            } else {
                paths.add(name);
                if (!w.name().endsWith("/")) {
                    notDirs.add(name);
                }
                if (w.regular()) {
                    files.put(name, w);
                }
            }
        };
    }

    /** Adds to {@code out} the other names of each file whose mode or owner alone the layer changes. */
    void add(LayerWriter out, Path lower) throws IOException {
        Map<List<Long>, String> changed = new HashMap<>(); // lower inode -> the name the layer has it under
        try (Dir root = Dir.open(lower, "the step's root filesystem")) {
            for (Map.Entry<String, LayerWriter.Written> e : files.entrySet()) {
                Stat st;
                try {
                    st = root.stat(e.getKey());
                } catch (IOException notThere) {
                    continue; // new, or below a link of the image
                }
                LayerWriter.Written w = e.getValue();
                if (st != null && st.isRegularFile() && st.nlink() > 1 && st.size() == w.size()
                        && Math.floorDiv(st.mtime(), 1_000_000_000L) == w.mtime()) {
                    changed.putIfAbsent(List.of(st.dev(), st.ino()), e.getKey());
                }
            }
            if (changed.isEmpty()) {
                return;
            }
            List<String[]> links = new ArrayList<>();
            walk(root, "", changed, links, new long[] {0}, 0);
            for (String[] l : links) {
                LayerWriter.Written t = files.get(l[1]);
                out.hardlink(l[0], l[1], t.mode(), t.uid(), t.gid(), t.mtime());
            }
        }
    }

    private void walk(Dir d, String prefix, Map<List<Long>, String> changed, List<String[]> links, long[] seen,
                      int depth) throws IOException {
        if (depth > 256) {
            return;
        }
        for (String name : d.names()) {
            if (++seen[0] > MAX_WALK) {
                return;
            }
            String rel = prefix.isEmpty() ? name : prefix + "/" + name;
            Stat st = d.stat(name);
            if (st == null) {
                continue;
            }
            if (st.isDirectory()) {
                try (Dir sub = d.dir(name)) {
                    walk(sub, rel, changed, links, seen, depth + 1);
                }
                continue;
            }
            String target = st.isRegularFile() ? changed.get(List.of(st.dev(), st.ino())) : null;
            if (target != null && !target.equals(rel) && !inLayer(rel)) {
                links.add(new String[] {rel, target});
            }
        }
    }

    /** Whether the layer has {@code rel} (or deletes it, or replaces a directory above it). */
    private boolean inLayer(String rel) {
        if (paths.contains(rel)) {
            return true;
        }
        for (int slash = rel.indexOf('/'); slash > 0; slash = rel.indexOf('/', slash + 1)) {
            String above = rel.substring(0, slash);
            if (opaque.contains(above) || notDirs.contains(above)) {
                return true;
            }
        }
        return opaque.contains("");
    }
}
