package dev.davit.sandbox.container;

import dev.davit.oci.build.LayerWriter;
import dev.davit.sandbox.Changes;
import dev.davit.sandbox.fs.Budget;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.fs.Stat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntToLongFunction;

/**
 * A container sandbox's own layer (the overlay's upper directory) written as an OCI layer: what the sandbox changed
 * in its image, as a change set. The overlay's whiteouts (character devices 0/0) become {@code .wh.NAME} entries, an
 * opaque directory ({@code trusted.overlay.opaque} or, in a user namespace, {@code user.overlay.opaque} = y) gets
 * {@code .wh..wh..opq}, files that share an inode become tar hard links, and owners are the ids the sandbox saw
 * (host ids mapped back through its user namespace; one it does not map is 65534, as inside).
 *
 * <p>The layer is read through {@link Dir}: no link is ever followed and nothing the sandbox renames meanwhile leads
 * the walk out of the layer. The mount points davit made (an empty {@code /proc}, {@code /dev}, ... missing from the
 * image, and an empty {@code /etc/resolv.conf}) are left out; fifos, sockets and device nodes are skipped and listed.
 */
final class UpperChanges {
    /** What davit mounts over; an empty one the image lacks is davit's, not the sandbox's. */
    private static final Set<String> MOUNT_POINTS = Set.of("proc", "dev", "sys", "tmp", "run", "var/tmp",
            "run/secrets", "etc/resolv.conf", "etc/hosts", "etc/hostname");
    /** The overlay's opaque mark as root, and in a user namespace ({@code userxattr}). */
    private static final String OPAQUE_ROOT = "trusted.overlay.opaque";
    private static final String OPAQUE_USER = "user.overlay.opaque";
    /** The names the OCI layer format reserves: a sandbox's file of such a name is skipped, never a whiteout. */
    private static final String RESERVED = LayerWriter.WHITEOUT;
    /** The id the sandbox sees for a host id its namespace does not map. */
    static final int OVERFLOW = 65534;
    /** The largest file a rewrite is given (a bigger one is written as it is). */
    private static final long MAX_REWRITE = 16L << 20;

    private final Path lower;
    private final IntToLongFunction uid;
    private final IntToLongFunction gid;
    private final LayerWriter out;
    private final Budget budget;
    private final Changes.Rewrite rewrite;
    private final String opaque;
    private final Map<List<Long>, String> inodes = new HashMap<>();
    /** What davit mounts over in this sandbox: {@link #MOUNT_POINTS} and its own mounts' targets. */
    private final Set<String> mountPoints = new java.util.HashSet<>(MOUNT_POINTS);
    private final List<String> skipped = new ArrayList<>();
    private long files;
    private long bytes;
    private long whiteouts;
    private long entries;
    private long newest;

    /**
     * @param lower the image's root filesystem below the layer (to tell davit's mount points from the sandbox's)
     * @param uid   a host uid as the sandbox sees it
     * @param gid   a host gid as the sandbox sees it
     */
    private UpperChanges(Path lower, IntToLongFunction uid, IntToLongFunction gid, LayerWriter out, Budget budget,
                         Changes.Rewrite rewrite, boolean userxattr) {
        this.rewrite = rewrite;
        this.opaque = userxattr ? OPAQUE_USER : OPAQUE_ROOT;
        this.lower = lower;
        this.uid = uid;
        this.gid = gid;
        this.out = out;
        this.budget = budget;
    }

    /**
     * Writes the changes of layer {@code upper} over {@code lower} to {@code out}.
     *
     * @param upper     the open upper directory
     * @param lower     the image's root filesystem
     * @param uid       host uid to the sandbox's
     * @param gid       host gid to the sandbox's
     * @param out       the layer being written
     * @param rewrite   what becomes of some files' bytes
     * @param userxattr whether the overlay keeps its marks in {@code user.overlay.*} (mounted with {@code userxattr},
     *                  in a user namespace), else {@code trusted.overlay.*} (as root)
     * @param maxBytes  the most bytes of file content the layer may hold (a sparse file counts its size)
     * @return what was written
     * @throws IOException when the layer cannot be read (or it changed while read: {@link LayerWriter.Changed})
     */
    static Changes write(Dir upper, Path lower, IntToLongFunction uid, IntToLongFunction gid, LayerWriter out,
                         Changes.Rewrite rewrite, boolean userxattr, long maxBytes) throws IOException {
        return write(upper, lower, uid, gid, out, rewrite, userxattr, maxBytes, List.of());
    }

    /**
     * {@link #write(Dir, Path, IntToLongFunction, IntToLongFunction, LayerWriter, Changes.Rewrite, boolean, long)},
     * {@code mounts} (paths relative to the root: the sandbox's {@link dev.davit.sandbox.Mount}s) left out as davit's
     * mount points too, at any depth.
     */
    static Changes write(Dir upper, Path lower, IntToLongFunction uid, IntToLongFunction gid, LayerWriter out,
                         Changes.Rewrite rewrite, boolean userxattr, long maxBytes, List<String> mounts)
            throws IOException {
        UpperChanges c = new UpperChanges(lower, uid, gid, out, new Budget("the sandbox's changes", maxBytes,
                Budget.MAX_ENTRIES, Budget.DEADLINE), rewrite, userxattr);
        c.mountPoints.addAll(mounts);
        // a file with several names in the image whose mode or owner alone the sandbox changed keeps them all
        try (HardLinks links = new HardLinks(lower)) {
            out.watch(links.watcher());
            try {
                c.walk(upper, "", 0);
            } finally {
                out.watch(null);
            }
            links.add(out, upper, c.rewrite::leaves, c.budget::check);
        }
        return new Changes(c.entries, c.files, c.bytes, c.whiteouts, c.newest, c.skipped);
    }

    /** How many skipped paths are listed (the rest only counted). */
    static final int MAX_LISTED = 1000;

    /** Maps host ids with {@code first} as the sandbox's 0 and {@code count} ids from it; others are 65534. */
    static IntToLongFunction range(long first, long count) {
        return host -> {
            long h = Integer.toUnsignedLong(host);
            return h >= first && h < first + count ? h - first : OVERFLOW;
        };
    }

    private void walk(Dir d, String prefix, int depth) throws IOException {
        budget.depth(depth);
        for (String name : d.names(budget)) {
            String rel = prefix.isEmpty() ? name : prefix + "/" + name;
            budget.path(rel);
            Stat st = d.stat(name);
            if (st == null) {
                continue; // gone since the listing: a change of a running sandbox, not in this moment's layer
            }
            if (name.startsWith(RESERVED)) {
                skip(rel); // would read as a whiteout or an opaque mark in the image
                continue;
            }
            if ((depth <= 1 || mountPoints.size() > MOUNT_POINTS.size() && below(rel)) && davits(d, name, rel, st)
                    || rewrite.leaves(rel)) {
                continue;
            }
            long mtime = Math.floorDiv(st.mtime(), 1_000_000_000L);
            newest = Math.max(newest, mtime);
            long u = uid.applyAsLong(st.uid());
            long g = gid.applyAsLong(st.gid());
            if (st.isWhiteout()) {
                out.whiteout(rel, mtime);
                whiteouts++;
            } else if (st.isDirectory()) {
                out.directory(rel, st.permissions(), u, g, mtime);
                if (opaque(d, name)) {
                    out.opaque(rel, mtime);
                }
                try (Dir sub = d.dir(name)) {
                    walk(sub, rel, depth + 1);
                }
            } else if (st.isSymbolicLink()) {
                out.symlink(rel, d.readLink(name), u, g, mtime);
            } else if (st.isRegularFile()) {
                if (!file(d, name, rel, st, u, g, mtime)) {
                    continue;
                }
            } else {
                skip(rel);
                continue;
            }
            entries++;
        }
    }

    private void skip(String rel) {
        if (skipped.size() < MAX_LISTED) {
            skipped.add(rel);
        }
    }

    /** Writes file {@code rel}; false when a rewrite left nothing of it. */
    private boolean file(Dir d, String name, String rel, Stat st, long u, long g, long mtime) throws IOException {
        boolean rewritten = rewrite.wants(rel);
        if (st.nlink() > 1 && !rewritten) {
            String first = inodes.putIfAbsent(List.of(st.dev(), st.ino()), rel);
            if (first != null) {
                out.hardlink(rel, first, st.permissions(), u, g, mtime);
                return true;
            }
        }
        budget.bytes(st.size()); // before a byte is read: a sparse giant is refused at once
        long size = st.size();
        try (Dir.Opened f = d.openFile(name)) {
            Stat now = f.stat();
            if (now.ino() != st.ino() || now.size() != st.size()) {
                throw new LayerWriter.Changed(rel);
            }
            if (rewritten) {
                // buffered under the rewrite: it may read byte by byte, and the deadline is checked per chunk
                try (FileChannel c = f.read(); InputStream in = rewrite.apply(new java.io.BufferedInputStream(
                        watched(Channels.newInputStream(c)), 1 << 16))) {
                    size = in.transferTo(OutputStream.nullOutputStream());
                }
                if (size == 0) {
                    return false;
                }
            }
            try (FileChannel c = f.read(); InputStream raw = watched(Channels.newInputStream(c));
                 InputStream in = rewritten ? rewrite.apply(new java.io.BufferedInputStream(raw, 1 << 16)) : raw) {
                out.file(rel, st.permissions(), u, g, mtime, size, in);
            }
        }
        files++;
        bytes += size;
        return true;
    }

    /** {@code in}, which checks the deadline and the calling thread's interrupt at every read. */
    private InputStream watched(InputStream in) {
        return new java.io.FilterInputStream(in) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                budget.check();
                return super.read(b, off, len);
            }
        };
    }

    /** Whether {@code d}'s entry {@code name} is an opaque directory: the overlay's own mark, "y". */
    private boolean opaque(Dir d, String name) throws IOException {
        byte[] v = d.xattr(name, opaque);
        return v != null && new String(v, StandardCharsets.US_ASCII).equals("y");
    }

    /**
     * Whether entry {@code rel} is davit's: missing from the image, and a mount point davit made (an empty file, or a
     * directory holding only such), or a directory made only to hold them (e.g. {@code var} for {@code var/tmp}).
     */
    private boolean davits(Dir d, String name, String rel, Stat st) throws IOException {
        if (!below(rel) || inLower(rel)) {
            return false;
        }
        if (st.isRegularFile()) {
            return mountPoints.contains(rel) && st.size() == 0;
        }
        if (!st.isDirectory()) {
            return false;
        }
        try (Dir sub = d.dir(name)) {
            for (String n : sub.names(budget)) {
                Stat c = sub.stat(n);
                if (c != null && !davits(sub, n, rel + "/" + n, c)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Whether {@code rel} is one of davit's mount points, or on the way to one. */
    private boolean below(String rel) {
        return mountPoints.contains(rel) || mountPoints.stream().anyMatch(m -> m.startsWith(rel + "/"));
    }

    /** Whether the image has {@code rel} (a link itself, never followed, as no part on the way is). */
    private boolean inLower(String rel) throws IOException {
        try (Dir root = Dir.open(lower, "the image")) {
            return root.stat(rel) != null;
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            if (Dir.ledOut(e)) {
                return true; // through a link of the image: not davit's mount point
            }
            throw e;
        }
    }
}
