package dev.davit.sandbox.build;

import dev.davit.oci.unpack.LayerIndex;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * An image's files as a build step looks them up, without unpacking the image: the base image's root filesystem
 * (unpacked once, as a RUN needs it; none for a stage FROM scratch) under the indexes of the layers the build put
 * on it ({@link LayerIndex}), read from the top layer down with whiteouts and opaque directories applied. Nothing is
 * followed: a path whose parent is a link, or no directory, is not there (a caller walks an image's links itself,
 * reading their text). Immutable; {@link #with} makes the tree one layer higher.
 */
final class ImageTree {
    /** The most read of the base's {@code etc/passwd} or {@code etc/group}. */
    private static final long MAX_LINES_BYTES = 16 << 20;

    /**
     * What a path is.
     *
     * @param kind  a file, directory, link or special file
     * @param mode  its permission bits
     * @param uid   its owner
     * @param gid   its group
     * @param mtime its modification time
     * @param link  a link's text, else null
     */
    record Node(LayerIndex.Kind kind, int mode, long uid, long gid, FileTime mtime, String link) {
        boolean directory() {
            return kind == LayerIndex.Kind.DIRECTORY;
        }

        boolean symlink() {
            return kind == LayerIndex.Kind.SYMLINK;
        }
    }

    private final Path base;
    private final List<Supplier<LayerIndex>> layers;

    private ImageTree(Path base, List<Supplier<LayerIndex>> layers) {
        this.base = base;
        this.layers = layers;
    }

    /**
     * The tree of an unpacked root filesystem.
     *
     * @param base the root filesystem, or null for none (scratch)
     */
    static ImageTree of(Path base) {
        return new ImageTree(base, List.of());
    }

    /** This tree with {@code layer} on top (read when a lookup first needs it, then kept). */
    ImageTree with(Supplier<LayerIndex> layer) {
        List<Supplier<LayerIndex>> l = new ArrayList<>(layers);
        l.add(memo(layer));
        return new ImageTree(base, List.copyOf(l));
    }

    private static Supplier<LayerIndex> memo(Supplier<LayerIndex> s) {
        return new Supplier<>() {
            private LayerIndex value;

            @Override
            public synchronized LayerIndex get() {
                if (value == null) {
                    value = s.get();
                }
                return value;
            }
        };
    }

    /**
     * What {@code rel} is (a path below the root, {@code /}-separated; empty: the root), or null when it is not
     * there, or only through a link or a non-directory.
     */
    Node stat(String rel) {
        String path = clean(rel);
        if (path == null) {
            return null;
        }
        if (path.isEmpty()) {
            Node n = baseStat("");
            return n != null ? n : new Node(LayerIndex.Kind.DIRECTORY, 0755, 0, 0, FileTime.fromMillis(0), null);
        }
        for (int i = layers.size() - 1; i >= 0; i--) {
            LayerIndex idx = layers.get(i).get();
            LayerIndex.Entry e = idx.entry(path);
            if (e != null) {
                return e.kind() == LayerIndex.Kind.WHITEOUT ? null : new Node(e.kind(), e.mode(), e.uid(), e.gid(),
                        FileTime.from(e.mtime(), java.util.concurrent.TimeUnit.SECONDS), e.link());
            }
            // the layer replaced or hid a directory above it: nothing lower shows there
            for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
                String above = path.substring(0, slash);
                LayerIndex.Entry a = idx.entry(above);
                if (a != null && !a.directory() || idx.opaque(above)) {
                    return null;
                }
            }
            if (idx.opaque("")) {
                return null;
            }
        }
        return baseStat(path);
    }

    /** {@code rel} in the base root filesystem, no link followed on the way. */
    private Node baseStat(String path) {
        if (base == null) {
            return null;
        }
        Path p = base;
        try {
            if (!path.isEmpty()) {
                String[] parts = path.split("/");
                for (int k = 0; k < parts.length; k++) {
                    if (k > 0 && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                        return null;
                    }
                    p = p.resolve(parts[k]);
                }
            }
            Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime,isDirectory,"
                    + "isSymbolicLink,isRegularFile", LinkOption.NOFOLLOW_LINKS);
            LayerIndex.Kind kind = (Boolean) a.get("isDirectory") ? LayerIndex.Kind.DIRECTORY
                    : (Boolean) a.get("isSymbolicLink") ? LayerIndex.Kind.SYMLINK
                    : (Boolean) a.get("isRegularFile") ? LayerIndex.Kind.FILE : LayerIndex.Kind.SPECIAL;
            String link = kind == LayerIndex.Kind.SYMLINK ? Files.readSymbolicLink(p).toString() : null;
            return new Node(kind, ((Integer) a.get("mode")) & 07777, ((Integer) a.get("uid")) & 0xffffffffL,
                    ((Integer) a.get("gid")) & 0xffffffffL, (FileTime) a.get("lastModifiedTime"), link);
        } catch (IOException e) {
            return null; // not there (or not readable: not there for the build)
        }
    }

    /**
     * The lines of {@link LayerIndex#PASSWD} or {@link LayerIndex#GROUP}, or null when the image has no such file
     * (or only one too big to read).
     */
    List<String> lines(String file) {
        Node n = stat(file);
        if (n == null || n.kind() != LayerIndex.Kind.FILE) {
            return null;
        }
        for (int i = layers.size() - 1; i >= 0; i--) {
            LayerIndex idx = layers.get(i).get();
            if (idx.entry(file) != null) {
                byte[] b = idx.content(file);
                return b == null ? null : new String(b, StandardCharsets.UTF_8).lines().toList();
            }
        }
        Path f = base.resolve(file);
        try {
            if (Files.size(f) > MAX_LINES_BYTES) {
                return null;
            }
            return Files.readAllLines(f, StandardCharsets.UTF_8);
        } catch (IOException | java.io.UncheckedIOException e) {
            return null;
        }
    }

    /** {@code rel} without empty and {@code .} components; null when it has a {@code ..} (never looked up). */
    private static String clean(String rel) {
        StringBuilder b = new StringBuilder();
        for (String part : rel.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                return null;
            }
            if (b.length() > 0) {
                b.append('/');
            }
            b.append(part);
        }
        return b.toString();
    }
}
