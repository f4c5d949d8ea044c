package dev.davit.sandbox.fs;

import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;

/**
 * What one file is, as statx(2) tells it.
 *
 * @param mode   the type and permission bits ({@code st_mode})
 * @param blocks 512-byte blocks allocated (a sparse file has fewer than its size needs)
 * @param mtime  modification time, nanoseconds since the epoch
 * @param rdev   a device node's device number (major in the high 32 bits, minor in the low), 0 for other files
 */
public record Stat(int mode, long size, long blocks, int nlink, int uid, int gid, long ino, long dev, long mtime,
                   long rdev) {
    public static final int S_IFMT = 0170000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFCHR = 0020000;

    /** What one file is, not a device node. */
    public Stat(int mode, long size, long blocks, int nlink, int uid, int gid, long ino, long dev, long mtime) {
        this(mode, size, blocks, nlink, uid, gid, ino, dev, mtime, 0);
    }

    /** Whether this is an overlay whiteout: a character device numbered 0/0. */
    public boolean isWhiteout() {
        return (mode & S_IFMT) == S_IFCHR && rdev == 0;
    }

    public boolean isDirectory() {
        return (mode & S_IFMT) == S_IFDIR;
    }

    public boolean isRegularFile() {
        return (mode & S_IFMT) == S_IFREG;
    }

    public boolean isSymbolicLink() {
        return (mode & S_IFMT) == S_IFLNK;
    }

    /** The permission bits with setuid, setgid and sticky. */
    public int permissions() {
        return mode & 07777;
    }

    /** {@code file}, {@code dir}, {@code symlink} or {@code other} (a device, fifo or socket). */
    public String type() {
        return isRegularFile() ? "file" : isDirectory() ? "dir" : isSymbolicLink() ? "symlink" : "other";
    }

    public FileTime modified() {
        return FileTime.from(mtime, TimeUnit.NANOSECONDS);
    }
}
