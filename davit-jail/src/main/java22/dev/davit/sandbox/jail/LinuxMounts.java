package dev.davit.sandbox.jail;

import dev.davit.sandbox.fs.Syscall;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * {@link Mounts} by the kernel's system calls, through the FFM API (Java 22): {@code unshare}, {@code mount},
 * {@code open_tree} + {@code mount_setattr(MOUNT_ATTR_IDMAP)} + {@code move_mount} for idmapped mounts, and
 * {@code keyctl(KEYCTL_JOIN_SESSION_KEYRING)}. Everything goes through {@link Syscall}.
 */
final class LinuxMounts implements Mounts {
    private static final long CLONE_NEWNS = 0x00020000L;
    private static final long MS_RDONLY = 1;
    private static final long MS_NOSUID = 2;
    private static final long MS_NODEV = 4;
    private static final long MS_REMOUNT = 32;
    private static final long MS_BIND = 4096;
    private static final long MS_REC = 16384;
    private static final long MS_PRIVATE = 1L << 18;
    private static final long OPEN_TREE_CLONE = 1;
    private static final long OPEN_TREE_CLOEXEC = 02000000;
    private static final long AT_EMPTY_PATH = 0x1000;
    private static final long AT_FDCWD = -100;
    private static final long MOUNT_ATTR_RDONLY = 0x1;
    private static final long MOUNT_ATTR_IDMAP = 0x100000;
    private static final long MOVE_MOUNT_F_EMPTY_PATH = 0x4;
    private static final long KEYCTL_JOIN_SESSION_KEYRING = 1;
    private static final long O_RDONLY_CLOEXEC = 02000000;

    /** System call numbers: unshare, mount, openat, close, keyctl (the new mount calls share theirs). */
    private static final long SYS_UNSHARE = Syscall.nr(272, 97);
    private static final long SYS_MOUNT = Syscall.nr(165, 40);
    private static final long SYS_OPENAT = Syscall.nr(257, 56);
    private static final long SYS_CLOSE = Syscall.nr(3, 57);
    private static final long SYS_KEYCTL = Syscall.nr(250, 219);
    private static final long SYS_OPEN_TREE = 428;
    private static final long SYS_MOVE_MOUNT = 429;
    private static final long SYS_MOUNT_SETATTR = 442;

    public LinuxMounts() {
    }

    private static long call(Arena a, String what, long nr, long a1, long a2, long a3, long a4, long a5)
            throws IOException {
        return Syscall.call(a, what, nr, a1, a2, a3, a4, a5);
    }

    private static long str(Arena a, String s) {
        return Syscall.str(a, s);
    }

    @Override
    public void unshareMountNamespace() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            call(a, "unshare(CLONE_NEWNS)", SYS_UNSHARE, CLONE_NEWNS, 0, 0, 0, 0);
            call(a, "making every mount private", SYS_MOUNT, 0, str(a, "/"), 0, MS_REC | MS_PRIVATE, 0);
        }
    }

    @Override
    public void tmpfs(Path target, String options) throws IOException {
        mount("tmpfs", target.toString(), "tmpfs", MS_NOSUID | MS_NODEV, options, "mounting a tmpfs on " + target);
    }

    @Override
    public void bind(Path source, Path target, boolean readOnly) throws IOException {
        mount(source.toString(), target.toString(), null, MS_BIND | MS_REC, null, "binding " + source + " on "
                + target);
        if (readOnly) {
            mount(null, target.toString(), null, MS_BIND | MS_REMOUNT | MS_RDONLY, null,
                    "making " + target + " read-only");
        }
    }

    @Override
    public void overlay(Path lower, Path upper, Path work, Path target) throws IOException {
        mount("overlay", target.toString(), "overlay", 0, "lowerdir=" + lower + ",upperdir=" + upper + ",workdir="
                + work, "mounting the sandbox's overlay on " + target);
    }

    @Override
    public void idmappedBind(Path source, Path target, Path userns) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            long ns = call(a, "opening the user namespace " + userns, SYS_OPENAT, AT_FDCWD, str(a, userns.toString()),
                    O_RDONLY_CLOEXEC, 0, 0);
            long tree = -1;
            try {
                tree = call(a, "open_tree(" + source + ")", SYS_OPEN_TREE, AT_FDCWD, str(a, source.toString()),
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC, 0, 0);
                // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; }
                MemorySegment attr = a.allocate(32, 8);
                attr.set(ValueLayout.JAVA_LONG, 0, MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY);
                attr.set(ValueLayout.JAVA_LONG, 24, ns);
                call(a, "an idmapped mount of " + source + " (mount_setattr; the filesystem must support idmapped"
                        + " mounts)", SYS_MOUNT_SETATTR, tree, str(a, ""), AT_EMPTY_PATH, attr.address(), 32);
                call(a, "move_mount to " + target, SYS_MOVE_MOUNT, tree, str(a, ""), AT_FDCWD,
                        str(a, target.toString()), MOVE_MOUNT_F_EMPTY_PATH);
            } finally {
                if (tree >= 0) {
                    call(a, "close", SYS_CLOSE, tree, 0, 0, 0, 0);
                }
                call(a, "close", SYS_CLOSE, ns, 0, 0, 0, 0);
            }
        }
    }

    @Override
    public void joinSessionKeyring() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            call(a, "keyctl(KEYCTL_JOIN_SESSION_KEYRING)", SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0);
        }
    }

    private static void mount(String source, String target, String type, long flags, String data, String what)
            throws IOException {
        try (Arena a = Arena.ofConfined()) {
            call(a, what, SYS_MOUNT, str(a, source), str(a, target), str(a, type), flags, str(a, data));
        }
    }
}
