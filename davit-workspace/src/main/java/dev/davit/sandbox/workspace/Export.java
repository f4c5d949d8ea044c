package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.fs.Budget;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.fs.Stat;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * A workspace tree (or one entry of it) copied to a host directory or a tar file: links as links (never followed),
 * permission bits only (no setuid, setgid or sticky bit) without group and other write (a directory the sandbox
 * made world-writable is not the host's other users' to write in), devices, fifos and sockets left out, everything
 * written under a temp sibling of the destination and renamed into place last.
 *
 * <p>What an export may write is bounded ({@link #allowance}): by {@link Budget#MAX_BYTES} per call, by what the
 * target's filesystem can spare (its free space less a reserve, looked at before the export; every file is counted
 * before it is written), and by what is left of the workspace's export bound ({@link #BOUND_PER_DISK} times its disk
 * limit, {@link #BOUND_WITHOUT_DISK} without one) over its life. A directory export keeps a sparse file's holes and
 * counts only its data; a tar holds the holes as zeros, so there a file counts with its full size.
 */
final class Export {
    /** The lock file in a workspace's state directory that lets one export of it run at a time. */
    static final String LOCK = "export.lock";
    /** The file in a workspace's state directory that counts the bytes its exports wrote. */
    static final String EXPORTED = "exported";
    /** A workspace's exports together write at most this many times its disk limit. */
    static final long BOUND_PER_DISK = 4;
    /** ... or this much, without a disk limit: 32 GiB. */
    static final long BOUND_WITHOUT_DISK = 4 * Budget.MAX_BYTES;
    /** What an export leaves free on the target's filesystem: 1 GiB, or a 20th of a smaller filesystem. */
    static final long RESERVE = 1L << 30;

    /** What one export may write, why not more (for its error), and (once it ran) what it wrote in {@code used[0]}. */
    record Allowance(long bytes, String why, long[] used) {
        Allowance(long bytes, String why) {
            this(bytes, why, new long[1]);
        }
    }

    private Export() {
    }

    /**
     * What an export of the workspace whose state directory is {@code state} and disk limit {@code diskMiB} (0:
     * none) to {@code hostDest} may write: the least of {@link Budget#MAX_BYTES}, the free space of the target's
     * filesystem less {@link #RESERVE}, and what is left of the workspace's export bound.
     */
    static Allowance allowance(Path state, long diskMiB, Path hostDest) {
        return hostSide(diskMiB, exported(state), "export", "exports",
                hostDest.toAbsolutePath().normalize().getParent());
    }

    /**
     * What davit may write on the host for a workspace with disk limit {@code diskMiB} (0: none) that already holds
     * {@code used} bytes of one kind there (its exports' bytes, its snapshots' bytes), into directory {@code dir}: the
     * least of {@link Budget#MAX_BYTES} (one call), what is left of the kind's bound ({@link #BOUND_PER_DISK} times
     * the disk limit, {@link #BOUND_WITHOUT_DISK} without one; {@code one} and {@code all} name the kind in the
     * error: "export", "exports"), and the free space of {@code dir}'s filesystem less {@link #RESERVE} (or a 20th
     * of a smaller one).
     */
    static Allowance hostSide(long diskMiB, long used, String one, String all, Path dir) {
        long most = diskMiB > 0 ? BOUND_PER_DISK * (diskMiB << 20) : BOUND_WITHOUT_DISK;
        long left = Math.max(0, most - used);
        Allowance a = new Allowance(Budget.MAX_BYTES, "the limit of one " + one);
        if (left < a.bytes()) {
            a = new Allowance(left, "what is left of the workspace's " + one + " bound (" + (most >> 20)
                    + " MiB for all its " + all + ": " + (diskMiB > 0 ? BOUND_PER_DISK + " times its disk limit)"
                    : "it has no disk limit)"));
        }
        try {
            java.nio.file.FileStore fs = Files.getFileStore(dir);
            long spare = Math.max(0, fs.getUsableSpace() - Math.min(RESERVE, fs.getTotalSpace() / 20));
            if (spare < a.bytes()) {
                a = new Allowance(spare, "what the filesystem of " + dir + " can spare (its free space less "
                        + Math.min(RESERVE, fs.getTotalSpace() / 20) / (1 << 20) + " MiB)");
            }
        } catch (IOException e) {
            // no such directory: the caller says so
        }
        return a;
    }

    /** The bytes the exports of the workspace whose state directory is {@code state} wrote so far. */
    static long exported(Path state) {
        return count(state.resolve(EXPORTED));
    }

    /** Adds {@code bytes} to what the workspace's exports wrote (see {@link #exported}). */
    static void record(Path state, long bytes) {
        add(state.resolve(EXPORTED), bytes);
    }

    /** The number in counter file {@code f} (a workspace's bytes of one kind on the host); 0 when there is none. */
    static long count(Path f) {
        try {
            return Long.parseLong(Files.readString(f).strip());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** Adds {@code n} (less than 0: takes it off, down to 0) to counter file {@code f}, replaced atomically. */
    static void add(Path f, long n) {
        try {
            Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
            Files.writeString(tmp, Long.toString(Math.max(0, count(f) + n)));
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + f + ": " + e.getMessage());
        }
    }

    /**
     * Copies {@code rel} of workspace tree {@code ws} (no link on the way or at the end) to {@code hostDest}, writing
     * at most {@code allowance} (see {@link #allowance}), telling {@code progress} (null: none) how far it
     * got about once a second; see {@link WorkspaceFiles#export}.
     */
    static WorkspaceFiles.Copied to(Dir ws, String rel, Path hostDest, Budget.Progress progress, Allowance allowance)
            throws IOException {
        Path dest = hostDest.toAbsolutePath().normalize();
        Path parent = dest.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new DavitException(Kind.USAGE, "no directory " + parent + " to export into; create it first");
        }
        boolean tar = dest.getFileName().toString().endsWith(".tar");
        if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS) && (tar || !emptyDir(dest))) {
            throw new DavitException(Kind.USAGE, dest + " already exists" + (tar ? "" : " and is not an empty"
                    + " directory") + "; give a new " + (tar ? ".tar file" : "or empty directory"));
        }
        Stat top = rel.isEmpty() ? null : ws.stat(rel);
        if (!rel.isEmpty() && top == null) {
            throw new java.nio.file.NoSuchFileException(rel);
        }
        if (top != null && top.isSymbolicLink()) {
            throw new dev.davit.sandbox.fs.ErrnoException(rel + " is a symbolic link; exporting it",
                    dev.davit.sandbox.fs.Errno.ELOOP);
        }
        int slash = rel.lastIndexOf('/');
        String name = top == null || top.isDirectory() ? null : rel.substring(slash + 1);
        String what = "the export of /workspace" + (rel.isEmpty() ? "" : "/" + rel);
        Budget budget = new Budget(what, allowance.bytes(), Budget.MAX_ENTRIES, Budget.DEADLINE);
        if (progress != null) {
            budget.reporting(progress);
        }
        Path tmp = parent.resolve("." + dest.getFileName() + ".davit-" + dev.davit.oci.internal.RandomHex.of(4));
        try (Dir src = ws.dir(name == null ? rel : slash < 0 ? "" : rel.substring(0, slash))) {
            List<String> skipped = new ArrayList<>();
            long[] counted;
            if (tar) {
                counted = writeTar(src, name, tmp, skipped, budget);
            } else {
                Files.createDirectory(tmp);
                try (Dir to = Dir.open(tmp, tmp.toString())) {
                    Tree.Options o = new Tree.Options(skipped, null, null, budget);
                    if (name == null) {
                        Tree.copy(src, to, "", o);
                    } else {
                        Tree.copyEntry(src, name, to, name, name, o);
                        to.chmod("", 0755);
                    }
                }
                noGroupOtherWrite(tmp);
                Map<String, Tree.Entry> entries = Tree.walk(tmp);
                counted = new long[] {entries.size(), entries.values().stream().mapToLong(Tree.Entry::size).sum()};
            }
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE); // rename(2) replaces an empty directory
            Fs.fsyncDir(parent);
            allowance.used()[0] = budget.bytesCounted(); // data written: a directory's holes are not
            return new WorkspaceFiles.Copied(rel, counted[0], counted[1], List.copyOf(skipped));
        } catch (DavitException e) {
            if (budget.bytesCounted() > allowance.bytes()) {
                throw new DavitException(Kind.USAGE, what + " would write more than " + allowance.bytes() / (1 << 20)
                        + " MiB, " + allowance.why() + (tar ? " (a tar holds a sparse file's holes as zeros: export"
                        + " to a directory to keep them)" : "") + "; export a part of the tree");
            }
            throw e;
        } finally {
            try {
                Fs.deleteTree(tmp);
            } catch (IOException ignored) {
                // best effort: a leftover temp sibling
            }
        }
    }

    /** Takes group and other write off every file and directory of {@code tree} (davit's new copy; not links). */
    private static void noGroupOtherWrite(Path tree) throws IOException {
        try (Stream<Path> all = Files.walk(tree)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                if (Files.isSymbolicLink(p)) {
                    continue;
                }
                int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                if ((mode & 022) != 0) {
                    Files.setAttribute(p, "unix:mode", mode & 07755, LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
    }

    private static boolean emptyDir(Path p) {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * A tar of {@code src} (or only its entry {@code name}), paths relative to {@code src}, owners 0, in path order,
     * synced; devices, fifos and sockets are left out (added to {@code skipped}). Returns {entries, bytes}.
     */
    private static long[] writeTar(Dir src, String name, Path file, List<String> skipped, Budget budget)
            throws IOException {
        long[] counted = new long[2];
        try (OutputStream raw = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
             TarArchiveOutputStream out = new TarArchiveOutputStream(raw)) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            if (name == null) {
                for (String n : src.names(budget)) {
                    addTar(out, src, n, n, skipped, budget, counted);
                }
            } else {
                addTar(out, src, name, name, skipped, budget, counted);
            }
            out.finish();
        }
        Fs.fsync(file);
        return counted;
    }

    /** Entry {@code n} of {@code d} (path {@code rel} in the tar) and, for a directory, all it holds. */
    private static void addTar(TarArchiveOutputStream out, Dir d, String n, String rel, List<String> skipped,
                               Budget budget, long[] counted) throws IOException {
        budget.check();
        budget.depth(Tree.depth(rel));
        Stat st = d.stat(n);
        if (st == null) {
            return; // gone while this ran
        }
        TarArchiveEntry t;
        if (st.isDirectory()) {
            t = new TarArchiveEntry(rel + "/");
        } else if (st.isSymbolicLink()) {
            t = new TarArchiveEntry(rel, TarConstants.LF_SYMLINK);
            t.setLinkName(d.readLink(n));
        } else if (st.isRegularFile()) {
            t = new TarArchiveEntry(rel);
        } else {
            skipped.add(rel);
            return;
        }
        t.setMode((st.mode() & Stat.S_IFMT) | (st.permissions() & (st.isSymbolicLink() ? 0777 : 0755)));
        t.setIds(0, 0);
        t.setModTime(st.modified());
        counted[0]++;
        if (st.isRegularFile()) {
            try (Dir.Opened f = d.openFile(n); FileChannel c = f.read()) {
                long size = f.stat().size();
                budget.bytes(size); // a tar holds a sparse file's holes as zeros: they count
                t.setSize(size);
                t.setModTime(f.stat().modified());
                t.setMode(Stat.S_IFREG | (f.stat().permissions() & 0755));
                out.putArchiveEntry(t);
                InputStream in = java.nio.channels.Channels.newInputStream(c);
                byte[] buf = new byte[64 << 10];
                long left = size;
                while (left > 0) {
                    budget.check();
                    int r = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (r < 0) {
                        throw new IOException(rel + " shrank while it was exported");
                    }
                    out.write(buf, 0, r);
                    left -= r;
                }
                counted[1] += size;
            }
            out.closeArchiveEntry();
            return;
        }
        out.putArchiveEntry(t);
        out.closeArchiveEntry();
        if (st.isDirectory()) {
            try (Dir sub = d.dir(n)) {
                for (String c : sub.names(budget)) {
                    addTar(out, sub, c, rel + "/" + c, skipped, budget, counted);
                }
            }
        }
    }
}
