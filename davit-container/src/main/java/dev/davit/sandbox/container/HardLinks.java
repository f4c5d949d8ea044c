package dev.davit.sandbox.container;

import dev.davit.oci.build.LayerWriter;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.fs.Stat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The hard links a sandbox's layer keeps: a command that changes only the mode or owner of a file with several names
 * changes the one file all of them name, as on any file system; but the overlay copies up only the name the command
 * used, so the layer would split the file in two. Each other name the image gives that file (found in the lower tree
 * by inode: the tree's own links, never another tree's), which the sandbox did not touch, is added as a hard link to
 * the changed name, as buildah's layers keep it. A file is taken as changed only in its mode or owner when its size
 * and time are the lower one's; a change of content in place cannot be told from a new file made under the name (an
 * editor's or {@code sed -i}'s rename) without the overlay's index, and keeps the other names apart.
 *
 * <p>Watch the layer's entries with {@link #watcher} while the changes are written (each regular file is looked up in
 * the lower tree then, and only such files are kept), then {@link #add} before the layer is finished. The lower tree
 * is walked only when there is such a file, through descriptors, no link followed, best effort (what cannot be read
 * is passed over), within the caller's deadline.
 */
final class HardLinks implements AutoCloseable {
    /** The most entries of the lower tree walked. */
    private static final long MAX_WALK = 2_000_000;

    private final Dir lower;
    /** The layer's files changed only in mode or owner, by the lower file's inode: name, then its entry. */
    private final Map<List<Long>, Object[]> changed = new HashMap<>();

    /** Over the lower tree {@code lower}, or none (null: nothing to keep). */
    HardLinks(Path lower) {
        Dir d = null;
        try {
            d = lower == null ? null : Dir.open(lower, "the image");
        } catch (IOException e) {
            // no lower tree to read: nothing is kept
        }
        this.lower = d;
    }

    /** {@return what hears each entry of the layer as it is written} */
    java.util.function.Consumer<LayerWriter.Written> watcher() {
        return w -> {
            if (lower == null || !w.regular() || w.name().endsWith("/")) {
                return;
            }
            String name = w.name();
            int slash = name.lastIndexOf('/');
            if (name.substring(slash + 1).startsWith(LayerWriter.WHITEOUT)) {
                return; // a whiteout or an opaque mark
            }
            try {
                Stat st = lower.stat(name);
                if (st != null && st.isRegularFile() && st.nlink() > 1 && st.size() == w.size()
                        && Math.floorDiv(st.mtime(), 1_000_000_000L) == w.mtime()) {
                    changed.putIfAbsent(List.of(st.dev(), st.ino()), new Object[] {name, w});
                }
            } catch (IOException notThere) {
                // new, or below a link of the image
            }
        };
    }

    /**
     * Adds to {@code out} the other names of each file whose mode or owner alone the layer changes: each name of the
     * lower tree that {@code upper} (the sandbox's layer) does not have, delete or hide, and {@code leaves} does not
     * leave out.
     *
     * @param check called now and then: the caller's deadline and interrupt
     */
    void add(LayerWriter out, Dir upper, Predicate<String> leaves, Runnable check) throws IOException {
        if (changed.isEmpty()) {
            return;
        }
        List<String[]> links = new ArrayList<>();
        walk(lower, "", upper, leaves, links, new long[] {0}, 0, check);
        for (String[] l : links) {
            LayerWriter.Written t = (LayerWriter.Written) changed.get(List.of(Long.parseLong(l[1]),
                    Long.parseLong(l[2])))[1];
            out.hardlink(l[0], t.name(), t.mode(), t.uid(), t.gid(), t.mtime());
        }
    }

    private void walk(Dir d, String prefix, Dir upper, Predicate<String> leaves, List<String[]> links, long[] seen,
                      int depth, Runnable check) {
        if (depth > 256) {
            return;
        }
        List<String> names;
        try {
            names = d.names();
        } catch (IOException e) {
            return; // unreadable: passed over
        }
        for (String name : names) {
            if (++seen[0] > MAX_WALK) {
                return;
            }
            if (seen[0] % 1024 == 0) {
                check.run();
            }
            String rel = prefix.isEmpty() ? name : prefix + "/" + name;
            Stat st;
            try {
                st = d.stat(name);
            } catch (IOException e) {
                continue;
            }
            if (st == null) {
                continue;
            }
            if (st.isDirectory()) {
                try (Dir sub = d.dir(name)) {
                    walk(sub, rel, upper, leaves, links, seen, depth + 1, check);
                } catch (IOException e) {
                    // unreadable: passed over
                }
                continue;
            }
            Object[] target = st.isRegularFile() ? changed.get(List.of(st.dev(), st.ino())) : null;
            if (target != null && !target[0].equals(rel) && !name.startsWith(LayerWriter.WHITEOUT)
                    && !leaves.test(rel) && !touched(upper, rel)) {
                links.add(new String[] {rel, Long.toString(st.dev()), Long.toString(st.ino())});
            }
        }
    }

    /**
     * Whether the sandbox's layer has {@code rel}, deletes it or hides it (a whiteout, a file or link in place of a
     * directory above it, an opaque directory above it): then it is not the image's file any more.
     */
    private static boolean touched(Dir upper, String rel) {
        try {
            if (upper.stat(rel) != null) {
                return true;
            }
            for (int slash = rel.lastIndexOf('/'); slash > 0; slash = rel.lastIndexOf('/', slash - 1)) {
                String above = rel.substring(0, slash);
                Stat a = upper.stat(above);
                if (a != null && (!a.isDirectory() || opaque(upper, above))) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return true; // through a link the layer put there: not the image's path any more
        }
    }

    private static boolean opaque(Dir upper, String dir) throws IOException {
        int slash = dir.lastIndexOf('/');
        try (Dir parent = upper.dir(slash < 0 ? "" : dir.substring(0, slash))) {
            String entry = dir.substring(slash + 1);
            for (String attr : List.of("trusted.overlay.opaque", "user.overlay.opaque")) {
                byte[] v = parent.xattr(entry, attr);
                if (v != null && v.length == 1 && v[0] == 'y') {
                    return true;
                }
            }
            return false;
        }
    }

    @Override
    public void close() {
        if (lower != null) {
            lower.close();
        }
    }
}
