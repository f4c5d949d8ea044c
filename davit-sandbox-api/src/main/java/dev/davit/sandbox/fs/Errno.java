package dev.davit.sandbox.fs;

import java.util.Map;

/** Names of the errno values davit's own system calls give (the jail's, the file access's), for one-line errors. */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int EAGAIN = 11;
    public static final int EACCES = 13;
    public static final int EEXIST = 17;
    public static final int EXDEV = 18;
    public static final int ENOTDIR = 20;
    public static final int EISDIR = 21;
    public static final int ENOSYS = 38;
    public static final int ENOTEMPTY = 39;
    public static final int ELOOP = 40;
    public static final int ERANGE = 34;
    public static final int ENODATA = 61;
    public static final int ENOTSUP = 95;

    private static final Map<Integer, String> NAMES = Map.ofEntries(Map.entry(EPERM, "EPERM (operation not permitted)"),
            Map.entry(ENOENT, "ENOENT (no such file or directory)"),
            Map.entry(EIO, "EIO (input/output error)"), Map.entry(ENXIO, "ENXIO (no such device)"),
            Map.entry(9, "EBADF (bad file descriptor)"), Map.entry(EAGAIN, "EAGAIN (try again)"),
            Map.entry(12, "ENOMEM (out of memory)"), Map.entry(EACCES, "EACCES (permission denied)"),
            Map.entry(16, "EBUSY (device or resource busy)"), Map.entry(EEXIST, "EEXIST (file exists)"),
            Map.entry(EXDEV, "EXDEV (crosses a mount or leads out)"), Map.entry(ENOTDIR, "ENOTDIR (not a directory)"),
            Map.entry(EISDIR, "EISDIR (is a directory)"), Map.entry(22, "EINVAL (invalid argument)"),
            Map.entry(28, "ENOSPC (no space left on device)"), Map.entry(30, "EROFS (read-only file system)"),
            Map.entry(ENOSYS, "ENOSYS (function not implemented)"),
            Map.entry(ENOTEMPTY, "ENOTEMPTY (directory not empty)"),
            Map.entry(ELOOP, "ELOOP (a symbolic link on the way)"),
            Map.entry(ENODATA, "ENODATA (no such attribute)"), Map.entry(ENOTSUP, "EOPNOTSUPP (operation not supported)"));

    private Errno() {
    }

    public static String describe(int errno) {
        return NAMES.getOrDefault(errno, "errno " + errno);
    }
}
