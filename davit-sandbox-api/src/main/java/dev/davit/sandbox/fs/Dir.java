package dev.davit.sandbox.fs;

import static dev.davit.sandbox.fs.DirErrors.failed;
import static dev.davit.sandbox.fs.DirErrors.notFound;
import static dev.davit.sandbox.fs.DirNames.checkName;
import static dev.davit.sandbox.fs.DirNames.join;
import static dev.davit.sandbox.fs.DirNames.utf8;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * An open directory of a tree that something the host does not trust can change while the host works in it: a
 * sandbox's root, its /workspace, its upper layer. The one way davit's host side touches such a tree: every path is
 * resolved by the kernel from this directory's descriptor with {@code openat2(2)}, so that no link, {@code ..} or
 * mount point leads out of it and no component can be swapped between a check and the use; everything after that
 * works on descriptors or on one name in a directory held open ({@link #at}), never on a path the host resolves.
 *
 * <ul>
 *   <li>{@link #dir}, {@link #stat}, {@link #openFile} and {@link #chmod} refuse any symbolic link on the way or at
 *       the end ({@code RESOLVE_NO_SYMLINKS}), stay beneath this directory ({@code RESOLVE_BENEATH}) and on its
 *       mount ({@code RESOLVE_NO_XDEV}). {@link #inRoot} follows links as a process whose root is this directory
 *       would ({@code RESOLVE_IN_ROOT}), never magic links.</li>
 *   <li>A file's content is read only after its descriptor says it is a regular file: a fifo, device or socket is
 *       never opened for reading or writing (a fifo cannot hang the host).</li>
 *   <li>New entries are made with {@code O_CREAT|O_EXCL}, {@code mkdir}, {@code symlink}: none follows a link.</li>
 * </ul>
 *
 * The system calls the JDK lacks go through the FFM API (Java 22 or later); on Java 21 davit's static helper makes
 * them ({@link #fallBackTo}), and without it {@link #open} refuses with a one-line error rather than take an unsafe
 * way. Not thread-safe; close it (its descriptor) when done.
 *
 * <p>Its parts in this package: {@link DirSys} chooses the calls, {@link DirNames} checks and reads names,
 * {@link DirChanges} makes a change on a descriptor or through the acting broker, {@link DirDelete} deletes a tree,
 * {@link DirErrors} reports a failed call as the JDK would.
 */
public final class Dir implements AutoCloseable {
    /**
     * Where this JVM cannot make the system calls itself (Java 21), has {@code helper} (davit's static helper, null
     * when this build has none) make them: see {@link BrokerSys}. Asked at the first {@link #open} that needs it.
     */
    public static void fallBackTo(java.util.function.Supplier<Path> helper) {
        DirSys.fallBackTo(helper);
    }

    // not private: DirNames, DirChanges and DirDelete read them
    final Sys sys;
    /** The broker that makes every change and reads every byte, or null: this JVM does them through {@link #at}. */
    final BrokerSys acting;
    final int fd;
    final String name;
    private boolean closed;

    private Dir(Sys sys, int fd, String name) {
        this.sys = sys;
        this.acting = sys instanceof BrokerSys b && b.acting() ? b : null;
        this.fd = fd;
        this.name = name;
    }

    /** A directory of the same calls as this one. */
    private Dir child(int f, String childName) {
        return new Dir(sys, f, childName);
    }

    /**
     * Makes the calls through {@code helper} ({@link BrokerSys}, the Java 21 way) until the returned handle is
     * closed, whatever this JVM can do itself: for tests of that way on a newer JVM. No {@link Dir} may be open.
     */
    public static synchronized AutoCloseable throughHelper(Path helper) throws IOException {
        return DirSys.through(new BrokerSys(helper));
    }

    /**
     * {@link #throughHelper}, the helper acting for this JVM: it makes every change and reads every byte, as it does
     * for a rootless user's sandbox that maps subordinate ids ({@link Broker}); here in this JVM's own namespace.
     */
    public static synchronized AutoCloseable throughActingHelper(Path helper) throws IOException {
        return DirSys.through(new BrokerSys(List.of(helper.toString(), "files"), IdMap.identity(), null));
    }

    /** Whether this JVM and kernel can give {@link Dir}s (else {@link #open} refuses). */
    public static boolean available() {
        return DirSys.sys() != null;
    }

    /**
     * Opens host directory {@code dir}, whose path davit trusts (its own state, or {@code /proc/PID/root} of a
     * sandbox's process: links in it are followed), as the top of a tree it does not trust.
     *
     * @param name how errors name it (e.g. {@code /workspace})
     */
    public static Dir open(Path dir, String name) throws IOException {
        if (DirSys.sys() == null) {
            throw new DavitException(Kind.USAGE, "reading or writing a sandbox's files from the host needs Java 22 or"
                    + " later, or davit's helper davit-exec (davit resolves their paths with openat2; here: "
                    + DirSys.missing() + "); run davit with a JDK 22 or later (JAVA_HOME)");
        }
        return open(DirSys.current(), dir, name);
    }

    /** {@link #open(Path, String)} through {@code sys}. */
    static Dir open(Sys sys, Path dir, String name) throws IOException {
        try {
            return new Dir(sys, sys.openat2(-100, dir.toString(), Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_CLOEXEC, 0),
                    name);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENOSYS) {
                throw new DavitException(Kind.USAGE, "this kernel has no openat2 (Linux 5.6 or later), which davit"
                        + " needs to read or write a sandbox's files safely; upgrade the kernel");
            }
            throw notFound(e, dir.toString());
        }
    }

    /**
     * Host directory {@code dir} (trusted, as for {@link #open(Path, String)}) through the same calls as this one:
     * what {@link #rename} and {@link #link} between the two need.
     */
    public Dir openBeside(Path dir, String dirName) throws IOException {
        return open(sys, dir, dirName);
    }

    /** The name errors give this directory. */
    public String name() {
        return name;
    }

    /** The descriptor's {@code /proc/PID/fd} path: opening it (or a name in it) starts at this very directory. */
    public Path self() {
        return sys.fdPath(fd);
    }

    /**
     * Entry {@code entry} of this directory as a path the JDK may use with {@link LinkOption#NOFOLLOW_LINKS}-style
     * operations that act on the last component itself (lstat, unlink, rmdir, mkdir, symlink, rename, readlink,
     * lchown, {@code CREATE_NEW}): the kernel resolves {@code /proc/PID/fd/N} to this directory and never follows
     * the last component. Never for anything that follows it (chmod, open for reading, times).
     */
    public Path at(String entry) {
        checkName(entry);
        if (acting != null) {
            throw new UnsupportedOperationException("a directory reached through an acting broker has no path to"
                    + " act on");
        }
        return self().resolve(entry);
    }

    /** The directory {@code rel} below this one, with no link on the way or at the end; "" is this one again. */
    public Dir dir(String rel) throws IOException {
        return child(open(rel, Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_CLOEXEC, Sys.STRICT), join(name, rel));
    }

    /**
     * The directory {@code rel} (absolute or not) resolved as a process whose root is this directory resolves it:
     * links followed, but never out of this directory.
     */
    public Dir inRoot(String rel) throws IOException {
        return child(open(rel.isEmpty() ? "." : rel, Sys.O_PATH | Sys.O_DIRECTORY | Sys.O_CLOEXEC,
                Sys.RESOLVE_IN_ROOT | Sys.RESOLVE_NO_MAGICLINKS), join(name, rel));
    }

    /**
     * What {@code rel} (absolute or not) names, resolved as a process whose root is this directory resolves it
     * (links followed, never out of this directory), or null when it does not exist there.
     */
    public Stat statInRoot(String rel) throws IOException {
        return statOf(rel, Sys.O_PATH | Sys.O_CLOEXEC, Sys.RESOLVE_IN_ROOT | Sys.RESOLVE_NO_MAGICLINKS);
    }

    /** What {@code rel} is (a link itself, never what it names), or null when it does not exist. */
    public Stat stat(String rel) throws IOException {
        if (!rel.isEmpty() && rel.indexOf('/') < 0 && !rel.equals(".") && !rel.equals("..")
                && rel.indexOf('\0') < 0) {
            try {
                return sys.statAt(fd, rel); // one name: one call, nothing on the way to follow
            } catch (ErrnoException e) {
                throw notFound(e, join(name, rel));
            }
        }
        return statOf(rel, Sys.O_PATH | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, Sys.STRICT);
    }

    private Stat statOf(String rel, long flags, long resolve) throws IOException {
        int f;
        try {
            f = open(rel, flags, resolve);
        } catch (NoSuchFileException e) {
            return null;
        }
        try {
            return sys.stat(f);
        } finally {
            sys.close(f);
        }
    }

    /**
     * The value of extended attribute {@code attr} (e.g. {@code trusted.overlay.opaque}) of entry {@code entry} of
     * this directory (one name; a link itself, never what it names), or null when it has none (or its file system
     * keeps none); empty when it is longer than 4 KiB.
     */
    public byte[] xattr(String entry, String attr) throws IOException {
        checkName(entry);
        try {
            return sys.xattr(fd, entry, attr);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENODATA || e.errno() == Errno.ENOTSUP) {
                return null;
            }
            if (e.errno() == Errno.ERANGE) {
                return new byte[0]; // longer than davit reads: no value it looks for
            }
            throw notFound(e, join(name, entry));
        }
    }

    /**
     * Sets extended attribute {@code attr} of entry {@code entry} of this directory (one name; a link itself, never
     * what it names) to {@code value}.
     */
    public void setXattr(String entry, String attr, byte[] value) throws IOException {
        checkName(entry);
        try {
            sys.setXattr(fd, entry, attr, value);
        } catch (ErrnoException e) {
            throw failed(e, join(name, entry));
        }
    }

    /** The target of link {@code entry} of this directory. */
    public String readLink(String entry) throws IOException {
        if (acting != null) {
            checkName(entry);
            try {
                return utf8(acting.readLink(fd, entry), join(name, entry) + "'s target");
            } catch (ErrnoException e) {
                throw failed(e, join(name, entry));
            }
        }
        return Files.readSymbolicLink(at(entry)).toString();
    }

    /**
     * The names in this directory, sorted. A name that is not UTF-8 (a name may hold any byte but / and NUL) is
     * refused with {@link NotUtf8}: davit's operations name entries as text and would miss it silently.
     */
    public List<String> names() throws IOException {
        return names(null);
    }

    /** {@link #names()}, counting each name against {@code budget} (if not null) as it is read. */
    public List<String> names(Budget budget) throws IOException {
        return DirNames.names(this, budget);
    }

    /** Thrown when a process in the sandbox holds a lease on a file davit would read. */
    public static final class Leased extends IOException {
        Leased(String path) {
            super(path + " is held by a lease of a process in the sandbox; try again when it lets go");
        }
    }

    /** Thrown for a name that is not UTF-8. */
    public static final class NotUtf8 extends IOException {
        NotUtf8(String path) {
            super(path + " has a name that is not UTF-8; rename it (davit names files as UTF-8 text)");
        }
    }

    /**
     * Regular file {@code rel} opened for reading; anything else (a link, fifo, device, socket, directory) is refused
     * with {@link NotRegularFile} before it is opened for reading.
     */
    public Opened openFile(String rel) throws IOException {
        int f = open(rel, Sys.O_PATH | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, Sys.STRICT);
        try {
            Stat st = sys.stat(f);
            if (!st.isRegularFile()) {
                throw new NotRegularFile(join(name, rel), st);
            }
            Opened o = new Opened(sys, acting, f, st, join(name, rel));
            f = -1;
            return o;
        } finally {
            if (f >= 0) {
                sys.close(f);
            }
        }
    }

    /** Thrown when a path is not a regular file; {@link #stat()} says what it is. */
    public static final class NotRegularFile extends IOException {
        private final transient Stat stat;

        NotRegularFile(String path, Stat stat) {
            super(path + " is not a regular file (" + stat.type() + ")");
            this.stat = stat;
        }

        public Stat stat() {
            return stat;
        }
    }

    /** A regular file held open (by an {@code O_PATH} descriptor), checked to be one. */
    public static final class Opened implements AutoCloseable {
        private final Sys sys;
        private final BrokerSys acting;
        private final int fd;
        private final Stat stat;
        private final String name;
        private int raw = -1;
        private boolean closed;

        private Opened(Sys sys, BrokerSys acting, int fd, Stat stat, String name) {
            this.sys = sys;
            this.acting = acting;
            this.fd = fd;
            this.stat = stat;
            this.name = name;
        }

        /**
         * A descriptor open for reading, made without waiting ({@code O_NONBLOCK}): a write lease the sandbox holds
         * on the file (which would make an open wait for the lease break time, 45 s) refuses it at once; once it is
         * open, no such lease can be taken, so the reads through it and through {@link #read()} never wait.
         */
        private int raw() throws IOException {
            if (raw < 0) {
                try {
                    raw = sys.openat2(-100, "/proc/self/fd/" + fd, Sys.O_RDONLY | Sys.O_NONBLOCK | Sys.O_CLOEXEC
                            | Sys.O_NOCTTY, 0);
                } catch (ErrnoException e) {
                    if (e.errno() == Errno.EAGAIN) {
                        throw new Leased(name);
                    }
                    throw e;
                }
            }
            return raw;
        }

        public Stat stat() {
            return stat;
        }

        /** A new channel reading this very file (through its descriptor). */
        public FileChannel read() throws IOException {
            if (acting != null) {
                return new ActingChannel(acting, raw(), name);
            }
            return FileChannel.open(sys.fdPath(raw()), StandardOpenOption.READ);
        }

        /**
         * A path that opens this very file (its {@code /proc/PID/fd} entry), for a host program davit starts while
         * this is open (e.g. {@code diff}).
         */
        public Path path() {
            if (acting != null) {
                throw new UnsupportedOperationException("a file reached through an acting broker has no path");
            }
            return sys.fdPath(fd);
        }

        /**
         * The extents of the file that hold data, as {start, end} pairs in order ({@code SEEK_DATA} /
         * {@code SEEK_HOLE}); the rest are holes. A file system without hole reporting gives one extent.
         */
        public List<long[]> dataExtents() throws IOException {
            List<long[]> out = new ArrayList<>();
            int r = raw();
            long pos = 0;
            long size = stat.size();
            while (pos < size) {
                long data = sys.seek(r, pos, 3); // SEEK_DATA
                if (data < 0 || data >= size) {
                    break;
                }
                long hole = sys.seek(r, data, 4); // SEEK_HOLE
                long end = hole < 0 || hole > size ? size : hole;
                out.add(new long[] {data, end});
                pos = end;
            }
            return out;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                sys.close(fd);
                if (raw >= 0) {
                    sys.close(raw);
                }
            }
        }
    }

    /** A new regular file {@code entry} (mode 0600 until {@link #chmod}), open for writing; never over anything. */
    public FileChannel create(String entry) throws IOException {
        if (acting != null) {
            return DirChanges.actingCreate(this, entry);
        }
        return FileChannel.open(at(entry), Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    }

    /** A new directory {@code entry} (mode 0700 until {@link #chmod}). */
    public void mkdir(String entry) throws IOException {
        if (acting != null) {
            checkName(entry);
            DirChanges.act(this, () -> acting.mkdir(fd, entry, 0700), entry);
            return;
        }
        Files.createDirectory(at(entry), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
    }

    /** A new symbolic link {@code entry} to {@code target} (never resolved by the host). */
    public void symlink(String entry, String target) throws IOException {
        if (acting != null) {
            checkName(entry);
            if (target.isEmpty() || target.indexOf('\0') >= 0) {
                throw new IOException("not a link target: " + target);
            }
            DirChanges.act(this, () -> acting.symlink(fd, entry, target), entry);
            return;
        }
        Files.createSymbolicLink(at(entry), Path.of(target));
    }

    /** Hard-links {@code file} as new entry {@code entry} of this directory. */
    public void link(Opened file, String entry) throws IOException {
        checkName(entry);
        if (file.sys != sys) {
            throw new ErrnoException(join(name, entry) + ": linking a file reached another way", Errno.EXDEV);
        }
        sys.link(file.fd, fd, entry);
    }

    /**
     * Sets the permission bits (with setuid, setgid, sticky) of {@code rel}, which must not be a link (a link's
     * own mode means nothing; chmod would follow it).
     */
    public void chmod(String rel, int mode) throws IOException {
        DirChanges.withDescriptor(this, rel, f -> acting.chmod(f, mode),
                p -> Files.setAttribute(p, "unix:mode", mode));
    }

    /** Sets the modification time of {@code rel}, which must not be a link. */
    public void setModified(String rel, FileTime time) throws IOException {
        DirChanges.withDescriptor(this, rel,
                f -> acting.setModified(f, time.to(java.util.concurrent.TimeUnit.NANOSECONDS)),
                p -> Files.setLastModifiedTime(p, time));
    }

    /** Gives entry {@code entry} (a link itself, never what it names) owner {@code uid:gid}. */
    public void chown(String entry, int uid, int gid) throws IOException {
        if (acting != null) {
            checkName(entry);
            DirChanges.act(this, () -> acting.chown(fd, entry, uid, gid), entry);
            return;
        }
        Path p = at(entry);
        Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Renames entry {@code entry} to entry {@code toEntry} of directory {@code to} (rename(2): an existing file or
     * empty directory there is replaced).
     */
    public void rename(String entry, Dir to, String toEntry) throws IOException {
        if (acting != null || to.acting != null) {
            checkName(entry);
            checkName(toEntry);
            if (to.sys != sys) {
                throw new ErrnoException(join(name, entry) + ": renaming into a directory reached another way",
                        Errno.EXDEV);
            }
            DirChanges.act(this, () -> acting.rename(fd, entry, to.fd, toEntry), entry);
            return;
        }
        Files.move(at(entry), to.at(toEntry), StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Deletes entry {@code entry} and, when it is a directory, all it holds, through descriptors and single names: a
     * link is removed, never followed. No recursion and no long path: each directory met is renamed into this
     * directory under a temp name and emptied there (names that are not UTF-8 included). Nothing when it does not
     * exist. A sandbox that keeps filling what is being deleted stops it after {@link Budget#MAX_ENTRIES} entries.
     */
    public void delete(String entry) throws IOException {
        checkName(entry);
        if (acting != null) {
            new DirDelete(this).actingDelete(entry);
            return;
        }
        new DirDelete(this).delete(entry);
    }

    /** Flushes this directory's entries to disk. */
    public void fsync() throws IOException {
        if (acting != null) {
            DirChanges.act(this, () -> acting.fsync(fd), ".");
            return;
        }
        try (FileChannel c = FileChannel.open(self(), StandardOpenOption.READ)) {
            c.force(true);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            sys.close(fd);
        }
    }

    /**
     * The descriptor of {@code rel} below this directory, opened with {@code flags} and resolved with
     * {@code resolve} ({@code openat2}); a path longer than {@link #LONG} a directory at a time.
     */
    int open(String rel, long flags, long resolve) throws IOException {
        if (rel.indexOf('\0') >= 0) {
            throw new IOException("a path with a NUL byte");
        }
        int cut = rel.length() > LONG ? rel.lastIndexOf('/', LONG) : -1;
        if (cut > 0 && resolve == Sys.STRICT) {
            // past PATH_MAX's reach: a directory at a time (the same resolution, as no link is followed anyway)
            try (Dir mid = dir(rel.substring(0, cut))) {
                return mid.open(rel.substring(cut + 1), flags, resolve);
            }
        }
        try {
            return sys.openat2(fd, rel.isEmpty() ? "." : rel, flags, resolve);
        } catch (ErrnoException e) {
            throw notFound(e, join(name, rel));
        }
    }

    /** Paths longer than this (in chars; a char is at most 3 UTF-8 bytes here) are opened in steps. */
    private static final int LONG = 1000;

    /** Whether {@code e} says a link, a mount point or {@code ..} was on the way (the kernel refused to follow). */
    public static boolean ledOut(IOException e) {
        return e instanceof ErrnoException x && (x.errno() == Errno.ELOOP || x.errno() == Errno.EXDEV);
    }
}
