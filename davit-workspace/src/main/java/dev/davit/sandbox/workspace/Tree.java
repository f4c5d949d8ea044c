package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.fs.Budget;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.fs.Stat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Walking, comparing and copying directory trees through {@link Dir}s: no link is ever followed, no path resolved
 * by the host, no special file opened; copies keep holes (a sparse file stays sparse) and belong to the caller
 * unless an owner is given. Every operation counts what it does against a {@link Budget}.
 */
final class Tree {
    private Tree() {
    }

    /**
     * One entry of a tree.
     *
     * @param path   relative to the tree's top, {@code /}-separated
     * @param type   {@code file}, {@code dir}, {@code symlink} or {@code other}
     * @param mode   permission bits
     * @param target a link's target, else null
     */
    record Entry(String path, String type, long size, int mode, String target) {
    }

    /** Every entry under host directory {@code top} (davit's own), by path; see {@link #walk(Dir, Budget)}. */
    static Map<String, Entry> walk(Path top) throws IOException {
        try (Dir d = Dir.open(top, top.toString())) {
            return walk(d, Budget.of("reading " + top));
        }
    }

    /** Every entry under {@code top} (not {@code top} itself), by path; links are listed, never followed. */
    static Map<String, Entry> walk(Dir top, Budget budget) throws IOException {
        Map<String, Entry> out = new TreeMap<>();
        walk(top, "", out, budget);
        return out;
    }

    private static void walk(Dir d, String prefix, Map<String, Entry> out, Budget budget) throws IOException {
        budget.depth(depth(prefix));
        for (String n : d.names(budget)) {
            String rel = prefix.isEmpty() ? n : prefix + "/" + n;
            budget.path(rel);
            Entry e = entry(d, n, rel);
            if (e == null) {
                continue; // gone while this ran
            }
            if (e.type().equals("dir")) {
                Dir sub;
                try {
                    sub = d.dir(n);
                } catch (IOException x) {
                    if (!swapped(x)) {
                        throw x;
                    }
                    e = entry(d, n, rel); // swapped for a link or file while this ran: list what is there now
                    if (e != null && !e.type().equals("dir")) {
                        out.put(rel, e);
                    }
                    continue;
                }
                out.put(rel, e);
                try (sub) {
                    walk(sub, rel, out, budget);
                }
            } else {
                out.put(rel, e);
            }
        }
    }

    /** Entry {@code name} of {@code d} as {@code rel}, or null when it is gone. */
    static Entry entry(Dir d, String name, String rel) throws IOException {
        Stat st = d.stat(name);
        if (st == null) {
            return null;
        }
        String target = null;
        if (st.isSymbolicLink()) {
            try {
                target = d.readLink(name);
            } catch (IOException e) {
                target = ""; // swapped between the two calls: a link whose target is unknown
            }
        }
        return new Entry(rel, st.type(), st.isRegularFile() ? st.size() : 0, st.permissions() & 0777, target);
    }

    /**
     * Files a {@link #copy} may take from another tree instead of copying them: a regular file at the same path
     * with the same permission bits and the same bytes is hard-linked into the copy. Writing a copy of 100 MB costs
     * seconds on a busy disk; comparing it with a twin costs reads from the page cache.
     *
     * @param dir  the tree (resolved as any untrusted tree: a link there is never taken)
     * @param live whether {@code dir} is the tree the copy will replace (a reset): then only files with no other
     *             link are taken, so that no two paths of the copy share an inode, and the caller deletes
     *             {@code dir} once the copy is in its place; otherwise {@code dir} is a tree nothing writes to
     *             (the baseline, a snapshot) and its files are shared as they are
     */
    record Reuse(Dir dir, boolean live) {
        /** The twin of {@code source} at {@code rel}, open, when it may be linked; else null. */
        Dir.Opened take(Dir.Opened source, String rel, Budget budget) throws IOException {
            Dir.Opened twin;
            try {
                twin = dir.openFile(rel);
            } catch (IOException e) {
                return null; // missing, a link on the way, not a regular file: copy
            }
            boolean same = false;
            try {
                Stat t = twin.stat();
                Stat s = source.stat();
                same = t.size() == s.size() && t.permissions() == s.permissions() && (!live || t.nlink() == 1)
                        && sameContent(source, twin, budget);
            } finally {
                if (!same) {
                    twin.close();
                }
            }
            return twin;
        }
    }

    /** Whether two open regular files hold the same bytes (compared as they are read; counted against budget). */
    static boolean sameContent(Dir.Opened a, Dir.Opened b, Budget budget) throws IOException {
        if (a.stat().size() != b.stat().size()) {
            return false;
        }
        try (FileChannel x = a.read(); FileChannel y = b.read()) {
            ByteBuffer bx = ByteBuffer.allocate(64 << 10);
            ByteBuffer by = ByteBuffer.allocate(64 << 10);
            for (;;) {
                budget.check();
                bx.clear();
                by.clear();
                int nx = fill(x, bx);
                int ny = fill(y, by);
                if (nx != ny || !bx.flip().equals(by.flip())) {
                    return false;
                }
                if (nx <= 0) {
                    return true;
                }
            }
        }
    }

    private static int fill(FileChannel c, ByteBuffer b) throws IOException {
        int total = 0;
        while (b.hasRemaining()) {
            int n = c.read(b);
            if (n < 0) {
                return total == 0 ? -1 : total;
            }
            total += n;
        }
        return total;
    }

    /**
     * How a {@link #copy} treats what it meets.
     *
     * @param skipped when not null, a device, fifo or socket is left out (its path added here) instead of refused
     * @param reuse   a tree to link unchanged files from, or null
     * @param owner   the host {uid, gid} every entry the copy creates gets, or null (the caller's)
     * @param budget  what the copy may cost
     */
    record Options(List<String> skipped, Reuse reuse, int[] owner, Budget budget, boolean durable) {
        /** A durable copy: each file forced to disk (davit's own records: baselines, snapshots, exports). */
        Options(List<String> skipped, Reuse reuse, int[] owner, Budget budget) {
            this(skipped, reuse, owner, budget, true);
        }

        static Options of(Budget budget) {
            return new Options(null, null, null, budget);
        }

        /**
         * This copy without forcing files to disk: for what goes into a sandbox's tree, which is as durable as what the
         * sandbox writes itself (nothing there is forced), not a record of davit's.
         */
        Options intoSandbox() {
            return new Options(skipped, reuse, owner, budget, false);
        }
    }

    /** Copies the tree under host directory {@code from} into the existing directory {@code to} (both davit's). */
    static void copy(Path from, Path to) throws IOException {
        try (Dir f = Dir.open(from, from.toString()); Dir t = Dir.open(to, to.toString())) {
            copy(f, t, "", Options.of(Budget.of("copying " + from)));
        }
    }

    /**
     * Copies the tree under {@code from} into the existing directory {@code to}: directories, regular files (mode
     * and modification time kept, holes kept) and links (as they are). A device, fifo or socket is refused (or
     * skipped, see {@link Options}). {@code rel} is where {@code from} is in its tree (for reuse and messages).
     */
    static void copy(Dir from, Dir to, String rel, Options o) throws IOException {
        o.budget().depth(depth(rel));
        for (String n : from.names(o.budget())) {
            copyEntry(from, n, to, n, rel.isEmpty() ? n : rel + "/" + n, o);
        }
    }

    /**
     * Copies entry {@code name} of {@code from} (a file, link or whole directory) to the new entry {@code as} of
     * {@code to}; {@code rel} is its path in its tree.
     */
    static void copyEntry(Dir from, String name, Dir to, String as, String rel, Options o) throws IOException {
        o.budget().check();
        for (int attempt = 0; attempt < SWAPS; attempt++) {
            if (copyOnce(from, name, to, as, rel, o)) {
                return;
            }
        }
        throw new DavitException(Kind.USAGE, rel + " kept changing while davit copied it; stop what changes it and"
                + " try again");
    }

    /** How often an entry swapped while it is read is looked at again. */
    private static final int SWAPS = 10;

    /** One try of {@link #copyEntry}: false when the entry changed type under it (look again). */
    private static boolean copyOnce(Dir from, String name, Dir to, String as, String rel, Options o)
            throws IOException {
        Stat st = from.stat(name);
        if (st == null) {
            return true; // gone while this ran
        }
        if (st.isSymbolicLink()) {
            String target;
            try {
                target = from.readLink(name);
            } catch (IOException e) {
                return false; // swapped between the two calls
            }
            to.symlink(as, target);
            own(to, as, o);
        } else if (st.isDirectory()) {
            Dir sub;
            try {
                sub = from.dir(name);
            } catch (IOException e) {
                if (swapped(e)) {
                    return false;
                }
                throw e;
            }
            try (sub) {
                to.mkdir(as);
                own(to, as, o);
                try (Dir dest = to.dir(as)) {
                    copy(sub, dest, rel, o);
                }
                to.chmod(as, st.permissions() & 0777); // last, so that a read-only directory does not stop its copy
            }
        } else if (st.isRegularFile()) {
            Dir.Opened src;
            try {
                src = from.openFile(name);
            } catch (IOException e) {
                if (swapped(e)) {
                    return false;
                }
                throw e;
            }
            try (src) {
                Dir.Opened twin = o.reuse() == null ? null : o.reuse().take(src, rel, o.budget());
                if (twin != null) {
                    try (twin) {
                        to.link(twin, as);
                        return true;
                    } catch (IOException e) {
                        // another file system, or links not allowed: copy it
                    }
                }
                try (FileChannel out = to.create(as)) {
                    copyData(src, out, o.budget());
                    if (o.durable()) {
                        out.force(false);
                    }
                }
                to.chmod(as, src.stat().permissions() & 0777);
                to.setModified(as, src.stat().modified());
                own(to, as, o);
            }
        } else if (o.skipped() != null) {
            o.skipped().add(rel);
        } else {
            throw new DavitException(Kind.USAGE, rel + " is a device, fifo or socket; a workspace holds only files,"
                    + " directories and links: leave it out");
        }
        return true;
    }

    /** Whether {@code e} says the entry is no longer what a stat just said (gone, a link, another type). */
    static boolean swapped(IOException e) {
        return Dir.ledOut(e) || e instanceof Dir.NotRegularFile || e instanceof java.nio.file.NoSuchFileException
                || e instanceof dev.davit.sandbox.fs.ErrnoException x && x.errno() == dev.davit.sandbox.fs.Errno.ENOTDIR;
    }

    /** How many directories {@code rel} is below its tree's top. */
    static int depth(String rel) {
        if (rel.isEmpty()) {
            return 0;
        }
        int n = 1;
        for (int i = 0; i < rel.length(); i++) {
            if (rel.charAt(i) == '/') {
                n++;
            }
        }
        return n;
    }

    private static void own(Dir d, String entry, Options o) throws IOException {
        if (o.owner() != null) {
            d.chown(entry, o.owner()[0], o.owner()[1]);
        }
    }

    /**
     * Copies the content of {@code src} into the empty {@code out}, extent by extent: holes stay holes. Counts the
     * data bytes against {@code budget} before each extent is written.
     */
    static void copyData(Dir.Opened src, FileChannel out, Budget budget) throws IOException {
        long size = src.stat().size();
        long end = 0;
        try (FileChannel in = src.read()) {
            for (long[] x : src.dataExtents()) {
                budget.bytes(x[1] - x[0]);
                long pos = x[0];
                while (pos < x[1]) {
                    budget.check();
                    long n = in.transferTo(pos, Math.min(x[1] - pos, 8L << 20), out.position(pos));
                    if (n <= 0) {
                        break; // the file shrank while this ran
                    }
                    pos += n;
                }
                end = pos;
            }
        }
        if (end < size) {
            out.write(ByteBuffer.allocate(1), size - 1); // a hole at the end: the size without writing it
        }
    }

    static int bits(Set<PosixFilePermission> perms) {
        int m = 0;
        for (PosixFilePermission p : perms) {
            m |= 1 << (8 - p.ordinal());
        }
        return m;
    }

    static Set<PosixFilePermission> perms(int mode) {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        for (PosixFilePermission p : PosixFilePermission.values()) {
            if ((mode & (1 << (8 - p.ordinal()))) != 0) {
                s.add(p);
            }
        }
        return s;
    }
}
