package dev.davit.sandbox.vm;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.Sandbox;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A long-lived VM's memory and device state saved to a file and brought back: what pause and resume are. Saving:
 * QMP {@code stop} (the guest's vCPUs halt), then {@code migrate} to a unix socket davit listens on, whose stream davit
 * writes to {@value Machine#VM_STATE} in the state directory (davit's, not the VMM's directory); QEMU is then killed,
 * which frees its CPU and memory. Resuming: QEMU started with the same devices and {@code -incoming} on a socket it
 * listens on, davit streams the file to it, then {@code cont}: the guest's processes, shells and services go on where
 * they were. The stream comes from QEMU, which davit does not trust: it is bounded ({@link #maxBytes}) and only ever
 * read by another jailed QEMU; the disk is not part of it (the overlay stays as QEMU flushed it), so the file is only
 * good with that disk, and every path that changes the disk of a stopped VM drops it ({@link #drop}).
 */
final class VmMemory {
    /** How long a save or a restore may take. */
    static final Duration TIMEOUT = Duration.ofSeconds(Long.getLong("davit.vm.pauseTimeoutSeconds", 300));

    private VmMemory() {
    }

    /** Whether the VM of state directory {@code dir} is paused: its memory is saved. */
    static boolean saved(Path dir) {
        return Files.isRegularFile(dir.resolve(Machine.VM_STATE), LinkOption.NOFOLLOW_LINKS);
    }

    /** Forgets a paused VM's memory (its disk is about to change, or its restore failed): the next start boots. */
    static void drop(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(Machine.VM_STATE));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot remove " + dir.resolve(Machine.VM_STATE) + ": "
                    + e.getMessage());
        }
    }

    /** The most bytes a VM of {@code memoryMiB} may send: its memory, and 256 MiB for devices and framing. */
    static long maxBytes(int memoryMiB) {
        return ((long) memoryMiB + 256) << 20;
    }

    /**
     * Saves running VM {@code s}'s memory and device state into {@code dir}/{@value Machine#VM_STATE}; the VM is left
     * stopped (its vCPUs halted) for the caller to kill. {@code seen}: the state directory as QEMU sees it.
     */
    static void save(Sandbox s, Path dir, Path seen, long[] vmmIds) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        Path sock = dir.resolve(Machine.MIGRATE_SOCKET);
        Path tmp = dir.resolve(Machine.VM_STATE + ".tmp");
        try (Qmp q = Qmp.connect(dir.resolve(Machine.QMP_SOCKET), System.nanoTime() + TimeUnit.SECONDS.toNanos(10));
             ServerSocketChannel server = listen(sock, vmmIds)) {
            q.execute("stop", null, deadline);
            try {
                // QEMU's default rate (32 MiB/s) would make a save of 1 GiB take half a minute: a local file has none
                q.execute("migrate-set-parameters", Json.object().put("max-bandwidth", 1L << 40), deadline);
                q.execute("migrate", Json.object().put("uri", "unix:" + seen.resolve(Machine.MIGRATE_SOCKET)),
                        deadline);
                try (SocketChannel from = accept(server, deadline)) {
                    Peers.check(from, sock);
                    Files.deleteIfExists(tmp);
                    try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.WRITE)) {
                        copy(from, out, maxBytes(s.spec().memoryMiB()), deadline);
                        out.force(false);
                    }
                }
                awaitMigration(q, deadline);
                Files.move(tmp, dir.resolve(Machine.VM_STATE), StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                // not saved: the VM goes on as it was, running (best effort: a QEMU that does not answer is killed
                // by the next call that needs it)
                long soon = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                try {
                    q.execute("migrate_cancel", null, soon);
                } catch (IOException ignored) {
                    // none under way
                }
                try {
                    q.execute("cont", null, soon);
                } catch (IOException ignored) {
                    // gone, or running already
                }
                throw e;
            }
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot save the memory of the microVM of sandbox " + s.id() + ": "
                    + e.getMessage());
        } finally {
            try {
                Files.deleteIfExists(tmp);
                Files.deleteIfExists(sock);
            } catch (IOException ignored) {
                // leftovers the next pause replaces
            }
        }
    }

    /**
     * Streams the saved state of {@code dir} to the QEMU that was just started with {@code -incoming}, then lets
     * its guest go on ({@code cont}). {@code alive}: whether that QEMU still runs.
     */
    static void restore(Path dir, java.util.function.BooleanSupplier alive) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        Path sock = dir.resolve(Machine.INCOMING_SOCKET);
        try (FileChannel in = FileChannel.open(dir.resolve(Machine.VM_STATE), StandardOpenOption.READ,
                LinkOption.NOFOLLOW_LINKS)) {
            // good once: dropped as the restore starts (read from the open file), so that a davit killed after the
            // guest went on never restores it again onto a disk that moved on
            drop(dir);
            try (Qmp q = Qmp.connect(dir.resolve(Machine.QMP_SOCKET), System.nanoTime()
                    + TimeUnit.SECONDS.toNanos(30))) {
                try (SocketChannel to = connect(sock, deadline, alive);
                     java.nio.channels.Selector writable = java.nio.channels.Selector.open()) {
                    Peers.check(to, sock); // the new QEMU's socket, not one a link there leads to
                    to.configureBlocking(false);
                    to.register(writable, java.nio.channels.SelectionKey.OP_WRITE);
                    long size = in.size();
                    for (long at = 0; at < size; ) {
                        long n = in.transferTo(at, size - at, to);
                        if (n == 0) { // its buffer is full: wait until it takes more, within the deadline
                            if (System.nanoTime() > deadline || !alive.getAsBoolean()) {
                                throw new IOException("QEMU did not take the saved state in time");
                            }
                            writable.select(100);
                            writable.selectedKeys().clear();
                        }
                        at += n;
                    }
                }
            while (true) {
                String status = q.execute("query-status", null, deadline).path("status").asText();
                if (status.equals("running")) {
                    break;
                }
                if (status.equals("paused") || status.equals("postmigrate") || status.equals("prelaunch")) {
                    q.execute("cont", null, deadline);
                    continue;
                }
                if (!status.equals("inmigrate") && !status.equals("restore-vm")) {
                    throw new IOException("QEMU is " + status + " after taking the saved state");
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("QEMU did not finish taking the saved state in time");
                }
                TimeUnit.MILLISECONDS.sleep(10);
            }
            }
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot restore the microVM's memory: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while the microVM's memory was restored");
        }
    }

    private static ServerSocketChannel listen(Path sock, long[] vmmIds) throws IOException {
        Files.deleteIfExists(sock);
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.bind(UnixDomainSocketAddress.of(sock));
            s.configureBlocking(false);
            if (vmmIds != null) { // the VMM's uid connects to it
                Files.setAttribute(sock, "unix:gid", (int) vmmIds[1], LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(sock, "unix:uid", (int) vmmIds[0], LinkOption.NOFOLLOW_LINKS);
            }
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    private static SocketChannel accept(ServerSocketChannel server, long deadline) throws IOException {
        while (true) {
            SocketChannel c = server.accept();
            if (c != null) {
                c.configureBlocking(false);
                return c;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("QEMU did not send its state in time");
            }
            Qmp.sleep(5);
        }
    }

    private static SocketChannel connect(Path sock, long deadline, java.util.function.BooleanSupplier alive)
            throws IOException {
        while (true) {
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                c.connect(UnixDomainSocketAddress.of(sock));
                return c;
            } catch (IOException e) {
                c.close();
                if (!alive.getAsBoolean()) {
                    throw new IOException("QEMU exited before it took the saved state");
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("QEMU did not listen for the saved state in time");
                }
                Qmp.sleep(5);
            }
        }
    }

    /** Copies what {@code from} sends until it closes, at most {@code max} bytes. */
    private static void copy(SocketChannel from, FileChannel out, long max, long deadline) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
        long total = 0;
        while (true) {
            b.clear();
            int n = from.read(b);
            if (n < 0) {
                return;
            }
            if (n == 0) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("QEMU did not finish sending its state in time");
                }
                Qmp.sleep(1);
                continue;
            }
            total += n;
            if (total > max) {
                throw new IOException("QEMU sent more than " + (max >> 20) + " MiB, more than its memory and"
                        + " devices hold");
            }
            b.flip();
            while (b.hasRemaining()) {
                out.write(b);
            }
        }
    }

    private static void awaitMigration(Qmp q, long deadline) throws IOException {
        while (true) {
            String status = q.execute("query-migrate", null, deadline).path("status").asText();
            if (status.equals("completed")) {
                return;
            }
            if (status.equals("failed") || status.equals("cancelled")) {
                throw new IOException("QEMU's migration " + status);
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("QEMU's migration did not complete in time");
            }
            Qmp.sleep(5);
        }
    }
}
