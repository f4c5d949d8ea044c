package dev.davit.sandbox.vm;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
        send(request, deadline);
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
        }
    }

    private void send(String request, long deadline) {
        ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
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
