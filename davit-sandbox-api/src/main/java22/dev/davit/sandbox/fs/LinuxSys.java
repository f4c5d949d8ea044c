package dev.davit.sandbox.fs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** {@link Sys} through {@link Syscall} (the FFM API, Java 22). */
final class LinuxSys implements Sys {
    private static final long SYS_OPENAT2 = 437;
    private static final long SYS_CLOSE = Syscall.nr(3, 57);
    private static final long SYS_STATX = Syscall.nr(332, 291);
    private static final long SYS_LINKAT = Syscall.nr(265, 37);
    private static final long SYS_LSEEK = Syscall.nr(8, 62);
    private static final long SYS_LGETXATTR = Syscall.nr(192, 9);
    private static final long SYS_LSETXATTR = Syscall.nr(189, 6);
    /** The largest extended attribute value read. */
    private static final int XATTR_MAX = 4096;
    private static final long AT_FDCWD = -100;
    private static final long AT_EMPTY_PATH = 0x1000;
    private static final long AT_SYMLINK_NOFOLLOW = 0x100;
    private static final long AT_SYMLINK_FOLLOW = 0x400;
    private static final long AT_NO_AUTOMOUNT = 0x800;
    /** STATX_TYPE | MODE | NLINK | UID | GID | MTIME | INO | SIZE | BLOCKS. */
    private static final long STATX_BASIC = 0x7ff;
    private static final long PID = ProcessHandle.current().pid();

    public LinuxSys() {
    }

    @Override
    public int openat2(int dirfd, byte[] path, long flags, long resolve) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment how = a.allocate(24, 8); // struct open_how { u64 flags, mode, resolve; }
            how.set(ValueLayout.JAVA_LONG, 0, flags);
            how.set(ValueLayout.JAVA_LONG, 16, resolve);
            for (int tries = 0; ; tries++) {
                try {
                    return (int) Syscall.call(a, "openat2", SYS_OPENAT2, dirfd, cString(a, path), how.address(),
                            24, 0);
                } catch (ErrnoException e) {
                    // EAGAIN: a rename elsewhere raced the resolution of ".."; the kernel asks to try again
                    if (e.errno() != Errno.EAGAIN || tries == 100) {
                        throw e;
                    }
                }
            }
        }
    }

    @Override
    public java.nio.file.Path fdPath(int fd) {
        return java.nio.file.Path.of("/proc/" + PID + "/fd/" + fd);
    }

    private static long cString(Arena a, byte[] b) {
        MemorySegment m = a.allocate(b.length + 1L);
        MemorySegment.copy(b, 0, m, ValueLayout.JAVA_BYTE, 0, b.length);
        m.set(ValueLayout.JAVA_BYTE, b.length, (byte) 0);
        return m.address();
    }

    @Override
    public void close(int fd) {
        try (Arena a = Arena.ofConfined()) {
            Syscall.call(a, "close", SYS_CLOSE, fd, 0, 0, 0, 0);
        } catch (ErrnoException ignored) {
            // the descriptor is released either way
        }
    }

    @Override
    public Stat stat(int fd) throws ErrnoException {
        return statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
    }

    /** One statx of a name in a directory: the name itself (never followed, no automount), one call. */
    @Override
    public Stat statAt(int dirfd, String name) throws ErrnoException {
        try {
            return statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENOENT) {
                return null;
            }
            throw e;
        }
    }

    private Stat statx(int fd, String path, long flags) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment b = a.allocate(256, 8);
            Syscall.call(a, "statx", SYS_STATX, fd, Syscall.str(a, path), flags, STATX_BASIC, b.address());
            long mtime = b.get(ValueLayout.JAVA_LONG, 112) * 1_000_000_000L
                    + Integer.toUnsignedLong(b.get(ValueLayout.JAVA_INT, 120));
            long dev = (Integer.toUnsignedLong(b.get(ValueLayout.JAVA_INT, 136)) << 32)
                    | Integer.toUnsignedLong(b.get(ValueLayout.JAVA_INT, 140));
            long rdev = (Integer.toUnsignedLong(b.get(ValueLayout.JAVA_INT, 128)) << 32)
                    | Integer.toUnsignedLong(b.get(ValueLayout.JAVA_INT, 132));
            return new Stat(Short.toUnsignedInt(b.get(ValueLayout.JAVA_SHORT, 28)), b.get(ValueLayout.JAVA_LONG, 40),
                    b.get(ValueLayout.JAVA_LONG, 48), b.get(ValueLayout.JAVA_INT, 16), b.get(ValueLayout.JAVA_INT, 20),
                    b.get(ValueLayout.JAVA_INT, 24), b.get(ValueLayout.JAVA_LONG, 32), dev, mtime, rdev);
        }
    }

    @Override
    public void link(int fd, int dirfd, String name) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            // through the descriptor's /proc entry (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH)
            Syscall.call(a, "linkat", SYS_LINKAT, AT_FDCWD, Syscall.str(a, "/proc/self/fd/" + fd), dirfd,
                    Syscall.str(a, name), AT_SYMLINK_FOLLOW);
        }
    }

    @Override
    public long seek(int fd, long offset, int whence) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            return Syscall.call(a, "lseek", SYS_LSEEK, fd, offset, whence, 0, 0);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENXIO) {
                return -1;
            }
            throw e;
        }
    }

    /** lgetxattr of the name in the held directory, through its /proc entry: one name, never a link followed. */
    @Override
    public byte[] xattr(int dirfd, String name, String attr) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(XATTR_MAX);
            long n = Syscall.call(a, "lgetxattr", SYS_LGETXATTR, Syscall.str(a, "/proc/self/fd/" + dirfd + "/" + name),
                    Syscall.str(a, attr), v.address(), XATTR_MAX, 0);
            return v.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    @Override
    public void setXattr(int dirfd, String name, String attr, byte[] value) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, v, ValueLayout.JAVA_BYTE, 0, value.length);
            Syscall.call(a, "lsetxattr", SYS_LSETXATTR, Syscall.str(a, "/proc/self/fd/" + dirfd + "/" + name),
                    Syscall.str(a, attr), v.address(), value.length, 0);
        }
    }
}
