package dev.davit.sandbox.network;

import dev.davit.sandbox.fs.ErrnoException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * The system calls the egress gate makes on the sandbox's side, which the JDK has no API for: entering the sandbox's
 * network namespace on one thread only ({@code setns}), a listening socket there, and the address a redirected
 * connection was meant for ({@code SO_ORIGINAL_DST}). The sandbox side of every connection is a file descriptor read
 * and written here; the outside side is an ordinary JDK channel of the host's namespace. The implementation
 * ({@code LinuxGateSys}) calls the kernel through the FFM API, final in Java 22 (a multi-release class); on Java 21
 * there is none and an egress policy is refused in one line.
 */
interface GateSys {
    /** Opens {@code path} read-only (a namespace file such as {@code /proc/PID/ns/net}); a descriptor. */
    int openReadOnly(String path) throws ErrnoException;

    /** Moves the CALLING THREAD (only) into the network namespace of the descriptor {@code nsfd}. */
    void enterNetworkNamespace(int nsfd) throws ErrnoException;

    /**
     * A TCP socket of the calling thread's network namespace, bound to {@code address} (IPv4) with SO_REUSEADDR,
     * listening.
     */
    int listen(InetSocketAddress address, int backlog) throws ErrnoException;

    /** A TCP socket of the calling thread's network namespace, with SO_REUSEADDR, not bound yet. */
    int tcpSocket() throws ErrnoException;

    /** Binds the TCP socket {@code fd} to {@code address} (IPv4) and makes it listen. */
    void bindAndListen(int fd, InetSocketAddress address, int backlog) throws ErrnoException;

    /**
     * Drops every capability of the whole process (effective, permitted, inheritable), in every user namespace:
     * called once the sockets in the sandbox's namespace exist, the only thing the gate needed them for.
     */
    void dropCapabilities() throws ErrnoException;

    /**
     * Links what {@link #become} calls, ahead of time (a spare gate does it while it waits, so that its hand-over
     * spends no time on it).
     */
    void prepareBecome() throws ErrnoException;

    /** Changes the process's working directory to {@code path} (a spare gate's, to the sandbox's gate directory). */
    void chdir(String path) throws ErrnoException;

    /**
     * Makes EVERY thread of the process (libc's {@code setresgid} and {@code setresuid}, which the C library applies
     * to all of its threads) group {@code gid} and user {@code uid}, from root: the kernel then clears every
     * thread's capabilities, the JVM's own threads' too; a spare gate's way out of the root it was started as.
     */
    void become(int uid, int gid) throws ErrnoException;

    /** Accepts one connection (blocking); its descriptor. */
    int accept(int listener) throws ErrnoException;

    /** Where a connection redirected by the namespace's netfilter rules was going, or null when it was not. */
    InetSocketAddress originalDestination(int fd);

    /** The peer of a connected socket, or null. */
    InetSocketAddress peer(int fd);

    /**
     * Waits up to {@code millis} for {@code fd} to be readable (or at its end); true when it is.
     */
    boolean awaitReadable(int fd, int millis) throws ErrnoException;

    /** Reads into {@code buf} (a direct buffer) from its position; the count, 0 at the end of the stream. */
    int read(int fd, ByteBuffer buf) throws ErrnoException;

    /** Writes all of {@code buf} (a direct buffer) from its position. */
    void writeFully(int fd, ByteBuffer buf) throws ErrnoException;

    /** Half-closes a connection: no more writes from here. */
    void shutdownOutput(int fd);

    /** Shuts a connection down both ways (wakes a thread blocked reading it). */
    void shutdown(int fd);

    /** Closes {@code fd}; with {@code reset} the peer gets a TCP RST (SO_LINGER 0), not an orderly end. */
    void close(int fd, boolean reset);

    /** The implementation, or an exception that says why there is none. */
    static GateSys load() throws Exception {
        if (Runtime.version().feature() < 22) {
            throw new UnsupportedOperationException("Java " + Runtime.version().feature() + " has no final FFM API");
        }
        return (GateSys) Class.forName("dev.davit.sandbox.network.LinuxGateSys").getDeclaredConstructor()
                .newInstance();
    }
}
