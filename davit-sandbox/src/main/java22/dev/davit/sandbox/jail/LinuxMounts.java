package dev.davit.sandbox.jail;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * {@link Mounts} by the kernel's system calls, through the FFM API (Java 22): {@code unshare}, {@code mount},
 * {@code open_tree} + {@code mount_setattr(MOUNT_ATTR_IDMAP)} + {@code move_mount} for idmapped mounts, and
 * {@code keyctl(KEYCTL_JOIN_SESSION_KEYRING)}. x86-64 and aarch64 share the numbers of the new mount calls.
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
    private static final long SYS_OPEN_TREE = 428;
    private static final long SYS_MOVE_MOUNT = 429;
    private static final long SYS_MOUNT_SETATTR = 442;
    private static final long KEYCTL_JOIN_SESSION_KEYRING = 1;
    private static final int O_RDONLY_CLOEXEC = 02000000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout ERRNO = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO_VALUE = ERRNO.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
    private static final MethodHandle UNSHARE;
    private static final MethodHandle MOUNT;
    private static final MethodHandle OPEN;
    private static final MethodHandle CLOSE;
    private static final MethodHandle SYSCALL5;
    private static final MethodHandle STRERROR;

    static {
        SymbolLookup libc = LINKER.defaultLookup();
        UNSHARE = LINKER.downcallHandle(libc.find("unshare").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), CAPTURE);
        MOUNT = LINKER.downcallHandle(libc.find("mount").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), CAPTURE);
        OPEN = LINKER.downcallHandle(libc.find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                CAPTURE, Linker.Option.firstVariadicArg(2));
        CLOSE = LINKER.downcallHandle(libc.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        // long syscall(long nr, ...): every argument passed as a long (the kernel reads whole registers)
        SYSCALL5 = LINKER.downcallHandle(libc.find("syscall").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                CAPTURE, Linker.Option.firstVariadicArg(1));
        STRERROR = LINKER.downcallHandle(libc.find("strerror").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS.withTargetLayout(
                        MemoryLayout.sequenceLayout(256, ValueLayout.JAVA_BYTE)), ValueLayout.JAVA_INT));
    }

    public LinuxMounts() {
    }

    @Override
    public void unshareMountNamespace() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(ERRNO);
            check((int) UNSHARE.invokeExact(st, (int) CLONE_NEWNS), st, "unshare(CLONE_NEWNS)");
            check((int) MOUNT.invokeExact(st, MemorySegment.NULL, a.allocateFrom("/"), MemorySegment.NULL,
                    MS_REC | MS_PRIVATE, MemorySegment.NULL), st, "making every mount private");
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
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
            MemorySegment st = a.allocate(ERRNO);
            int ns = (int) OPEN.invokeExact(st, a.allocateFrom(userns.toString()), O_RDONLY_CLOEXEC);
            check(ns, st, "opening the user namespace " + userns);
            long tree = -1;
            try {
                tree = (long) SYSCALL5.invokeExact(st, SYS_OPEN_TREE, AT_FDCWD, a.allocateFrom(source.toString())
                        .address(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC, 0L, 0L);
                check(tree, st, "open_tree(" + source + ")");
                // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; }
                MemorySegment attr = a.allocate(32, 8);
                attr.set(ValueLayout.JAVA_LONG, 0, MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY);
                attr.set(ValueLayout.JAVA_LONG, 24, ns);
                check((long) SYSCALL5.invokeExact(st, SYS_MOUNT_SETATTR, tree, a.allocateFrom("").address(),
                        AT_EMPTY_PATH, attr.address(), 32L), st, "an idmapped mount of " + source
                        + " (mount_setattr; the filesystem must support idmapped mounts)");
                check((long) SYSCALL5.invokeExact(st, SYS_MOVE_MOUNT, tree, a.allocateFrom("").address(), AT_FDCWD,
                        a.allocateFrom(target.toString()).address(), MOVE_MOUNT_F_EMPTY_PATH), st,
                        "move_mount to " + target);
            } finally {
                if (tree >= 0) {
                    int ignored = (int) CLOSE.invokeExact((int) tree);
                }
                int ignored = (int) CLOSE.invokeExact(ns);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    @Override
    public void joinSessionKeyring() throws IOException {
        long nr = switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> 250;
            case "aarch64" -> 219;
            default -> -1;
        };
        if (nr < 0) {
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(ERRNO);
            check((long) SYSCALL5.invokeExact(st, nr, KEYCTL_JOIN_SESSION_KEYRING, 0L, 0L, 0L, 0L), st,
                    "keyctl(KEYCTL_JOIN_SESSION_KEYRING)");
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    private static void mount(String source, String target, String type, long flags, String data, String what)
            throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(ERRNO);
            // locals, not conditional expressions: a signature-polymorphic call would type those as Object
            MemorySegment src = source == null ? MemorySegment.NULL : a.allocateFrom(source);
            MemorySegment tgt = a.allocateFrom(target);
            MemorySegment fs = type == null ? MemorySegment.NULL : a.allocateFrom(type);
            MemorySegment opts = data == null ? MemorySegment.NULL : a.allocateFrom(data);
            check((int) MOUNT.invokeExact(st, src, tgt, fs, flags, opts), st, what);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    private static void check(long rc, MemorySegment state, String what) throws IOException {
        if (rc >= 0) {
            return;
        }
        int errno = (int) ERRNO_VALUE.get(state, 0L);
        String text;
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            text = s.getString(0);
        } catch (Throwable t) {
            text = "errno " + errno;
        }
        throw new IOException(what + " failed: " + text);
    }
}
