package dev.davit.sandbox.vm;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.BooleanSupplier;

/**
 * davit's end of the guest agent's port: a connection to the unix socket QEMU serves for the virtio-serial port
 * {@code davit.agent} (see {@link Protocol}). One request at a time; answers to other ids (left over from an
 * abandoned connection) are skipped. Every wait has a deadline and watches whether the VM is still alive.
 */
public final class AgentClient implements AutoCloseable {
    private static final long POLL_MS = 100;

    /** The VM is gone (QEMU exited, or the socket closed). */
    static final class GoneException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        GoneException(String message) {
            super(message, null, false, false);
        }
    }

    /** The deadline passed without an answer. */
    public static final class TimeoutException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TimeoutException(String message) {
            super(message, null, false, false);
        }
    }

    private final SocketChannel channel;
    private final Selector selector;
    private final BooleanSupplier alive;
    /** Bytes read but not yet returned as a line: data[0..len); data[0..scanned) holds no newline. */
    private byte[] data = new byte[1 << 16];
    private int len;
    private int scanned;

    private AgentClient(SocketChannel channel, Selector selector, BooleanSupplier alive) {
        this.channel = channel;
        this.selector = selector;
        this.alive = alive;
    }

    /**
     * Connects to {@code socket}, retrying while QEMU has not created it yet, until {@code deadline}
     * ({@link System#nanoTime()}) or until {@code alive} says the VM is gone.
     */
    public static AgentClient connect(Path socket, long deadline, BooleanSupplier alive) {
        while (true) {
            if (!alive.getAsBoolean()) {
                throw new GoneException("QEMU exited");
            }
            if (Files.exists(socket)) {
                SocketChannel ch = null;
                try {
                    ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    ch.connect(UnixDomainSocketAddress.of(socket));
                    ch.configureBlocking(false);
                    Selector sel = Selector.open();
                    return new AgentClient(ch, sel, alive);
                } catch (IOException e) {
                    closeQuietly(ch);
                    // not listening yet
                }
            }
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("QEMU did not open the agent socket " + socket);
            }
            sleep(10);
        }
    }

    /** Sends {@code request} and waits until {@code deadline} (Long.MAX_VALUE: none) for the answer to {@code id}. */
    public Protocol.Answer call(String request, String id, long deadline) {
        return call(request, null, id, deadline);
    }

    /**
     * Like {@link #call(String, String, long)}, sending the raw bytes of file {@code body} (null: none) after the
     * request line. When the answer is a {@link Protocol.Data}, its bytes are next: read them with
     * {@link #readBody}. The bytes of a data answer to another id are skipped.
     */
    public Protocol.Answer call(String request, Path body, String id, long deadline) {
        send(ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII)), deadline);
        if (body != null) {
            try (FileChannel in = FileChannel.open(body, StandardOpenOption.READ)) {
                ByteBuffer buf = ByteBuffer.allocateDirect(1 << 16);
                while (in.read(buf.clear()) > 0) {
                    send(buf.flip(), deadline);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        while (true) {
            String line = readLine(deadline);
            Protocol.Answer a;
            try {
                a = Protocol.parse(line);
            } catch (IllegalArgumentException e) {
                continue; // not ours to understand (e.g. a truncated line of an abandoned connection)
            }
            if (a.id().equals(id)) {
                return a;
            }
            if (a instanceof Protocol.Data d) {
                readBody(d.size(), OutputStream.nullOutputStream(), deadline);
            }
        }
    }

    /** Copies the next {@code size} raw bytes of the connection (those of a data answer) to {@code out}. */
    public void readBody(long size, OutputStream out, long deadline) {
        long left = size;
        try {
            int buffered = (int) Math.min(left, len);
            out.write(data, 0, buffered);
            System.arraycopy(data, buffered, data, 0, len - buffered);
            len -= buffered;
            scanned = 0;
            left -= buffered;
            if (left == 0) {
                return;
            }
            SelectionKey key = channel.register(selector, SelectionKey.OP_READ);
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            while (left > 0) {
                buf.clear().limit((int) Math.min(buf.capacity(), left));
                int n = channel.read(buf);
                if (n < 0) {
                    throw new GoneException("the agent connection closed");
                }
                if (n == 0) {
                    await(key, deadline);
                    continue;
                }
                out.write(buf.array(), 0, n);
                left -= n;
            }
            key.interestOps(0);
        } catch (IOException e) {
            throw new GoneException("the agent connection failed: " + e.getMessage());
        }
    }

    private void send(ByteBuffer out, long deadline) {
        try {
            SelectionKey key = channel.register(selector, SelectionKey.OP_WRITE);
            while (out.hasRemaining()) {
                if (channel.write(out) == 0) {
                    await(key, deadline);
                }
            }
            key.interestOps(0);
        } catch (IOException e) {
            throw new GoneException("the agent connection closed: " + e.getMessage());
        }
    }

    private String readLine(long deadline) {
        try {
            SelectionKey key = channel.register(selector, SelectionKey.OP_READ);
            while (true) {
                String line = takeLine();
                if (line != null) {
                    return line;
                }
                if (len == data.length) {
                    data = java.util.Arrays.copyOf(data, data.length * 2);
                }
                int n = channel.read(ByteBuffer.wrap(data, len, data.length - len));
                if (n < 0) {
                    throw new GoneException("the agent connection closed");
                }
                if (n == 0) {
                    await(key, deadline);
                    continue;
                }
                len += n;
            }
        } catch (IOException e) {
            throw new GoneException("the agent connection failed: " + e.getMessage());
        }
    }

    private String takeLine() {
        for (int i = scanned; i < len; i++) {
            if (data[i] == '\n') {
                String line = new String(data, 0, i, StandardCharsets.US_ASCII);
                System.arraycopy(data, i + 1, data, 0, len - i - 1);
                len -= i + 1;
                scanned = 0;
                return line;
            }
        }
        scanned = len;
        return null;
    }

    /** Waits for the key's readiness, checking the VM and the deadline every {@value #POLL_MS} ms. */
    private void await(SelectionKey key, long deadline) throws IOException {
        while (true) {
            long left = deadline == Long.MAX_VALUE ? POLL_MS : (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new TimeoutException("no answer from the guest agent in time");
            }
            int n = selector.select(Math.min(left, POLL_MS));
            if (n > 0) {
                selector.selectedKeys().clear();
                return;
            }
            if (!alive.getAsBoolean()) {
                throw new GoneException("QEMU exited");
            }
        }
    }

    @Override
    public void close() {
        closeQuietly(selector);
        closeQuietly(channel);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                // nothing to do
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GoneException("interrupted");
        }
    }
}
