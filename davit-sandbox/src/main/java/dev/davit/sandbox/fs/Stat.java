package dev.davit.sandbox.fs;

import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;

/**
 * What one file is, as statx(2) tells it.
 *
 * @param mode   the type and permission bits ({@code st_mode})
 * @param blocks 512-byte blocks allocated (a sparse file has fewer than its size needs)
 * @param mtime  modification time, nanoseconds since the epoch
 */
public record Stat(int mode, long size, long blocks, int nlink, int uid, int gid, long ino, long dev, long mtime) {
    public static final int S_IFMT = 0170000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFLNK = 0120000;

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
