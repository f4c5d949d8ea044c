package dev.davit.sandbox.network;

import dev.davit.sandbox.fs.ErrnoException;
import dev.davit.sandbox.fs.Syscall;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/**
 * {@link GateSys} through libc's {@code syscall(2)} (see {@link Syscall}). Each thread keeps its own errno room, so
 * a relay's reads and writes allocate nothing.
 */
final class LinuxGateSys implements GateSys {
    private static final long SYS_READ = Syscall.nr(0, 63);
    private static final long SYS_WRITE = Syscall.nr(1, 64);
    private static final long SYS_CLOSE = Syscall.nr(3, 57);
    private static final long SYS_SOCKET = Syscall.nr(41, 198);
    private static final long SYS_SHUTDOWN = Syscall.nr(48, 210);
    private static final long SYS_BIND = Syscall.nr(49, 200);
    private static final long SYS_LISTEN = Syscall.nr(50, 201);
    private static final long SYS_GETPEERNAME = Syscall.nr(52, 205);
    private static final long SYS_SETSOCKOPT = Syscall.nr(54, 208);
    private static final long SYS_GETSOCKOPT = Syscall.nr(55, 209);
    private static final long SYS_OPENAT = Syscall.nr(257, 56);
    private static final long SYS_PPOLL = Syscall.nr(271, 73);
    private static final long SYS_ACCEPT4 = Syscall.nr(288, 242);
    private static final long SYS_SETNS = Syscall.nr(308, 268);
    private static final long SYS_CAPSET = Syscall.nr(126, 91);
    private static final long SYS_CHDIR = Syscall.nr(80, 49);
    private static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;

    private static final long AT_FDCWD = -100;
    private static final long O_RDONLY_CLOEXEC = 0x80000;
    private static final long CLONE_NEWNET = 0x40000000L;
    private static final long AF_INET = 2;
    private static final long SOCK_STREAM_CLOEXEC = 1 | 0x80000;
    private static final long SOCK_CLOEXEC = 0x80000;
    private static final long SOL_SOCKET = 1;
    private static final long SO_REUSEADDR = 2;
    private static final long SO_LINGER = 13;
    private static final long SOL_IP = 0;
    private static final long SO_ORIGINAL_DST = 80;
    private static final short POLLIN = 1;
    private static final long IPPROTO_TCP = 6;
    private static final long TCP_NODELAY = 1;

    /** Per thread: errno room and a sockaddr_in, a length and a pollfd/timespec/linger scratch area. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        final Arena arena = Arena.ofAuto();
        final MemorySegment st = Syscall.state(arena);
        final MemorySegment sockaddr = arena.allocate(16, 8);
        final MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
        final MemorySegment scratch = arena.allocate(32, 8);
    }

    LinuxGateSys() {
    }

    @Override
    public int openReadOnly(String path) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            return (int) Syscall.call(a, "open " + path, SYS_OPENAT, AT_FDCWD, Syscall.str(a, path),
                    O_RDONLY_CLOEXEC, 0, 0);
        }
    }

    @Override
    public void enterNetworkNamespace(int nsfd) throws ErrnoException {
        Syscall.call(SCRATCH.get().st, "setns", SYS_SETNS, nsfd, CLONE_NEWNET, 0, 0, 0);
    }

    @Override
    public int listen(InetSocketAddress address, int backlog) throws ErrnoException {
        int fd = tcpSocket();
        try {
            bindAndListen(fd, address, backlog);
            return fd;
        } catch (ErrnoException e) {
            close(fd, false);
            throw e;
        }
    }

    @Override
    public int tcpSocket() throws ErrnoException {
        Scratch s = SCRATCH.get();
        int fd = (int) Syscall.call(s.st, "socket", SYS_SOCKET, AF_INET, SOCK_STREAM_CLOEXEC, 0, 0, 0);
        try {
            s.scratch.set(ValueLayout.JAVA_INT, 0, 1);
            Syscall.call(s.st, "setsockopt SO_REUSEADDR", SYS_SETSOCKOPT, fd, SOL_SOCKET, SO_REUSEADDR,
                    s.scratch.address(), 4);
            return fd;
        } catch (ErrnoException e) {
            close(fd, false);
            throw e;
        }
    }

    @Override
    public void bindAndListen(int fd, InetSocketAddress address, int backlog) throws ErrnoException {
        Scratch s = SCRATCH.get();
        writeSockaddr(s.sockaddr, address);
        Syscall.call(s.st, "bind " + address, SYS_BIND, fd, s.sockaddr.address(), 16, 0, 0);
        Syscall.call(s.st, "listen", SYS_LISTEN, fd, backlog, 0, 0, 0);
    }

    @Override
    public void dropCapabilities() throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment header = a.allocate(8, 4); // struct __user_cap_header_struct { u32 version; int pid; }
            header.set(ValueLayout.JAVA_INT, 0, LINUX_CAPABILITY_VERSION_3);
            header.set(ValueLayout.JAVA_INT, 4, 0); // this process... capset acts on the calling thread
            MemorySegment data = a.allocate(24, 4); // two struct __user_cap_data_struct, all zero
            data.fill((byte) 0);
            Syscall.call(a, "capset", SYS_CAPSET, header.address(), data.address(), 0, 0, 0);
        }
    }

    /** libc's setresgid and setresuid (not the system calls: libc applies them to every thread), made once. */
    private static final class SetIds {
        static final StructLayout ERRNO = Linker.Option.captureStateLayout();
        static final VarHandle ERRNO_VALUE = ERRNO.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        static final MethodHandle SETRESGID;
        static final MethodHandle SETRESUID;

        static {
            Linker linker = Linker.nativeLinker();
            FunctionDescriptor f = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
            SETRESGID = linker.downcallHandle(linker.defaultLookup().find("setresgid").orElseThrow(), f,
                    Linker.Option.captureCallState("errno"));
            SETRESUID = linker.downcallHandle(linker.defaultLookup().find("setresuid").orElseThrow(), f,
                    Linker.Option.captureCallState("errno"));
        }

        static void call(MethodHandle h, String what, int id) throws ErrnoException {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment st = a.allocate(ERRNO);
                int r;
                try {
                    r = (int) h.invokeExact(st, id, id, id);
                } catch (Throwable t) {
                    throw new IllegalStateException(what + ": " + t, t);
                }
                if (r != 0) {
                    throw new ErrnoException(what, (int) ERRNO_VALUE.get(st, 0L));
                }
            }
        }
    }

    @Override
    public void prepareBecome() {
        SetIds.SETRESUID.type(); // initialises the class: both handles made
    }

    @Override
    public void chdir(String path) throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            Syscall.call(a, "chdir " + path, SYS_CHDIR, Syscall.str(a, path), 0, 0, 0, 0);
        }
    }

    @Override
    public void become(int uid, int gid) throws ErrnoException {
        if (uid <= 0 || gid <= 0) {
            throw new IllegalArgumentException("not an unprivileged user and group: " + uid + ":" + gid);
        }
        SetIds.call(SetIds.SETRESGID, "setresgid " + gid, gid);
        SetIds.call(SetIds.SETRESUID, "setresuid " + uid, uid);
    }

    @Override
    public int accept(int listener) throws ErrnoException {
        Scratch s = SCRATCH.get();
        int fd = (int) Syscall.call(s.st, "accept", SYS_ACCEPT4, listener, 0, 0, SOCK_CLOEXEC, 0);
        // what the relay writes it writes at once: Nagle's wait for an ACK the sandbox delays would cost each
        // small write of a TLS handshake tens of milliseconds
        s.scratch.set(ValueLayout.JAVA_INT, 0, 1);
        try {
            Syscall.call(s.st, "setsockopt TCP_NODELAY", SYS_SETSOCKOPT, fd, IPPROTO_TCP, TCP_NODELAY,
                    s.scratch.address(), 4);
        } catch (ErrnoException e) {
            // slower, not wrong
        }
        return fd;
    }

    @Override
    public InetSocketAddress originalDestination(int fd) {
        Scratch s = SCRATCH.get();
        s.len.set(ValueLayout.JAVA_INT, 0, 16);
        try {
            Syscall.call(s.st, "getsockopt SO_ORIGINAL_DST", SYS_GETSOCKOPT, fd, SOL_IP, SO_ORIGINAL_DST,
                    s.sockaddr.address(), s.len.address());
        } catch (ErrnoException e) {
            return null; // ENOENT: not redirected (a connection made to the gate's own port)
        }
        return readSockaddr(s.sockaddr);
    }

    @Override
    public InetSocketAddress peer(int fd) {
        Scratch s = SCRATCH.get();
        s.len.set(ValueLayout.JAVA_INT, 0, 16);
        try {
            Syscall.call(s.st, "getpeername", SYS_GETPEERNAME, fd, s.sockaddr.address(), s.len.address(), 0, 0);
        } catch (ErrnoException e) {
            return null;
        }
        return readSockaddr(s.sockaddr);
    }

    @Override
    public boolean awaitReadable(int fd, int millis) throws ErrnoException {
        Scratch s = SCRATCH.get();
        MemorySegment m = s.scratch;
        m.set(ValueLayout.JAVA_INT, 0, fd); // struct pollfd { int fd; short events; short revents; }
        m.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
        m.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
        m.set(ValueLayout.JAVA_LONG, 8, millis / 1000); // struct timespec at 8
        m.set(ValueLayout.JAVA_LONG, 16, (millis % 1000) * 1_000_000L);
        long n = Syscall.call(s.st, "ppoll", SYS_PPOLL, m.address(), 1, m.address() + 8, 0, 8);
        return n > 0;
    }

    @Override
    public int read(int fd, ByteBuffer buf) throws ErrnoException {
        MemorySegment seg = MemorySegment.ofBuffer(buf);
        int n = (int) Syscall.call(SCRATCH.get().st, "read", SYS_READ, fd, seg.address(), buf.remaining(), 0, 0);
        buf.position(buf.position() + n);
        return n;
    }

    @Override
    public void writeFully(int fd, ByteBuffer buf) throws ErrnoException {
        MemorySegment st = SCRATCH.get().st;
        while (buf.hasRemaining()) {
            MemorySegment seg = MemorySegment.ofBuffer(buf);
            int n = (int) Syscall.call(st, "write", SYS_WRITE, fd, seg.address(), buf.remaining(), 0, 0);
            buf.position(buf.position() + n);
        }
    }

    @Override
    public void shutdownOutput(int fd) {
        try {
            Syscall.call(SCRATCH.get().st, "shutdown", SYS_SHUTDOWN, fd, 1, 0, 0, 0); // SHUT_WR
        } catch (ErrnoException e) {
            // the peer is gone already
        }
    }

    @Override
    public void shutdown(int fd) {
        try {
            Syscall.call(SCRATCH.get().st, "shutdown", SYS_SHUTDOWN, fd, 2, 0, 0, 0); // SHUT_RDWR
        } catch (ErrnoException e) {
            // the peer is gone already
        }
    }

    @Override
    public void close(int fd, boolean reset) {
        Scratch s = SCRATCH.get();
        if (reset) {
            s.scratch.set(ValueLayout.JAVA_INT, 0, 1); // struct linger { int l_onoff = 1; int l_linger = 0; }
            s.scratch.set(ValueLayout.JAVA_INT, 4, 0);
            try {
                Syscall.call(s.st, "setsockopt SO_LINGER", SYS_SETSOCKOPT, fd, SOL_SOCKET, SO_LINGER,
                        s.scratch.address(), 8);
            } catch (ErrnoException e) {
                // closed the orderly way then
            }
        }
        try {
            Syscall.call(s.st, "close", SYS_CLOSE, fd, 0, 0, 0, 0);
        } catch (ErrnoException e) {
            // nothing to do: the descriptor is released either way
        }
    }

    /** struct sockaddr_in: family (host order), port and address (network order), 8 bytes of zero. */
    private static void writeSockaddr(MemorySegment m, InetSocketAddress a) {
        m.fill((byte) 0);
        m.set(ValueLayout.JAVA_SHORT, 0, (short) AF_INET);
        m.set(ValueLayout.JAVA_BYTE, 2, (byte) (a.getPort() >> 8));
        m.set(ValueLayout.JAVA_BYTE, 3, (byte) a.getPort());
        byte[] ip = a.getAddress().getAddress();
        if (ip.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: " + a);
        }
        MemorySegment.copy(ip, 0, m, ValueLayout.JAVA_BYTE, 4, 4);
    }

    private static InetSocketAddress readSockaddr(MemorySegment m) {
        if (m.get(ValueLayout.JAVA_SHORT, 0) != AF_INET) {
            return null;
        }
        int port = (Byte.toUnsignedInt(m.get(ValueLayout.JAVA_BYTE, 2)) << 8)
                | Byte.toUnsignedInt(m.get(ValueLayout.JAVA_BYTE, 3));
        byte[] ip = new byte[4];
        MemorySegment.copy(m, ValueLayout.JAVA_BYTE, 4, ip, 0, 4);
        try {
            return new InetSocketAddress((Inet4Address) InetAddress.getByAddress(ip), port);
        } catch (UnknownHostException e) {
            return null; // four bytes are always an address
        }
    }
}
