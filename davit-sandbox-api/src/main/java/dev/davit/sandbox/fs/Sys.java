package dev.davit.sandbox.fs;

import java.nio.file.Path;

/**
 * The few system calls {@link Dir} needs that the JDK does not offer: {@code openat2} (Linux 5.6), {@code statx} of
 * a descriptor, {@code linkat} of a descriptor and {@code lseek}'s {@code SEEK_DATA}/{@code SEEK_HOLE}. The
 * implementation ({@code LinuxSys}) calls the kernel through the FFM API, final in Java 22: it is compiled at
 * release 22 and only loaded there. On Java 21, {@link BrokerSys} has davit's static helper make the calls.
 */
interface Sys {
    long O_RDONLY = 0;
    long O_WRONLY = 1;
    long O_CREAT = 0100;
    long O_EXCL = 0200;
    long O_NONBLOCK = 04000;
    long O_NOCTTY = 0400;
    long O_CLOEXEC = 02000000;
    long O_PATH = 010000000;

    /** RESOLVE_* of openat2(2). */
    long RESOLVE_NO_XDEV = 0x01;
    long RESOLVE_NO_MAGICLINKS = 0x02;
    long RESOLVE_NO_SYMLINKS = 0x04;
    long RESOLVE_BENEATH = 0x08;
    long RESOLVE_IN_ROOT = 0x10;
    /** Beneath the directory, no link (symbolic or magic) anywhere, no other mount: what {@link Dir} resolves with. */
    long STRICT = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

    /** O_DIRECTORY and O_NOFOLLOW, whose values differ on aarch64. */
    long O_DIRECTORY = "aarch64".equals(System.getProperty("os.arch")) ? 040000 : 0200000;
    long O_NOFOLLOW = "aarch64".equals(System.getProperty("os.arch")) ? 0100000 : 0400000;

    /**
     * openat2(dirfd, path, {flags, 0, resolve}): a new descriptor (close-on-exec is the caller's flag); the path's
     * bytes as they are (a name need not be UTF-8).
     */
    int openat2(int dirfd, byte[] path, long flags, long resolve) throws ErrnoException;

    /** {@link #openat2(int, byte[], long, long)} of {@code path} in UTF-8. */
    default int openat2(int dirfd, String path, long flags, long resolve) throws ErrnoException {
        return openat2(dirfd, path.getBytes(java.nio.charset.StandardCharsets.UTF_8), flags, resolve);
    }

    void close(int fd);

    /** A path that opens the file of {@code fd} (its {@code /proc/PID/fd} entry), for this JVM and its children. */
    Path fdPath(int fd);

    /** statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW): what {@code fd} is, never what a link names. */
    Stat stat(int fd) throws ErrnoException;

    /**
     * What entry {@code name} (one name, not {@code .} or {@code ..}) of directory {@code dirfd} is, never what a
     * link names; null when it does not exist. By default through {@link #openat2} and {@link #stat}.
     */
    default Stat statAt(int dirfd, String name) throws ErrnoException {
        int f;
        try {
            f = openat2(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, STRICT);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENOENT) {
                return null;
            }
            throw e;
        }
        try {
            return stat(f);
        } finally {
            close(f);
        }
    }

    /** A new name {@code name} in directory {@code dirfd} for the file open as {@code fd} (a hard link). */
    void link(int fd, int dirfd, String name) throws ErrnoException;

    /** lseek(fd, offset, whence); -1 for ENXIO (no data, or no hole, at or after {@code offset}). */
    long seek(int fd, long offset, int whence) throws ErrnoException;

    /**
     * The value of extended attribute {@code attr} of entry {@code name} (one name) of directory {@code dirfd}, never
     * of what a link names (at most 4 KiB: a longer one is ERANGE).
     */
    byte[] xattr(int dirfd, String name, String attr) throws ErrnoException;

    /** Sets extended attribute {@code attr} of entry {@code name} (one name) of {@code dirfd}, never through a link. */
    void setXattr(int dirfd, String name, String attr, byte[] value) throws ErrnoException;

    /** The implementation, or an exception that says why there is none. */
    static Sys load() throws Exception {
        if (Runtime.version().feature() < 22) {
            throw new UnsupportedOperationException("Java " + Runtime.version().feature() + " has no final FFM API");
        }
        return (Sys) Class.forName("dev.davit.sandbox.fs.LinuxSys").getDeclaredConstructor().newInstance();
    }
}
