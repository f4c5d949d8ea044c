package dev.davit.sandbox.vm;

import java.io.IOException;
import java.io.InputStream;
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
import java.time.Duration;
import java.nio.file.StandardOpenOption;
import java.util.function.BooleanSupplier;

/**
 * davit's end of the guest agent's port: a connection to the unix socket QEMU serves for the virtio-serial port
 * {@code davit.agent} (see {@link Protocol}). One request at a time; answers to other ids (left over from an
 * abandoned connection) are skipped. Every wait has a deadline and watches whether the VM is still alive.
 *
 * <p>What arrives is untrusted (root in the guest can replace the agent): a line is at most {@link #MAX_LINE} bytes,
 * raw bytes are read only as far as the caller asks and into what the caller bounded, and the deadline is checked on
 * every read, not only while nothing arrives, so a guest that trickles bytes forever is cut off at it.
 */
public final class AgentClient implements AutoCloseable {
    private static final long POLL_MS = 100;
    /**
     * The longest line an answer may be: 4 MiB (the agent's answers are short; an agent of an older davit sent a
     * command's output base64-encoded in its {@code exit} line, which this bounds).
     */
    static final int MAX_LINE = 4 << 20;

    /** The VM is gone (QEMU exited, or the socket closed). */
    public static final class GoneException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        GoneException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The agent broke the protocol in a way no honest agent does (an answer over {@link #MAX_LINE}, more bytes than
     * were asked for): the connection is out of step and must be closed.
     */
    public static final class ProtocolException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ProtocolException(String message) {
            super(message, null, false, false);
        }
    }

    /** The deadline passed before the answer and its bytes were in. */
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
     * A client over {@code channel}, a connection made by the caller to an agent it reaches itself (the k8s
     * backend's bridge to a pod's exec stream).
     *
     * @param channel a connected channel; the client owns it
     * @param alive   whether the agent's side is still there
     * @return the client
     * @throws java.io.UncheckedIOException when the channel cannot be made non-blocking
     */
    public static AgentClient of(SocketChannel channel, BooleanSupplier alive) {
        try {
            channel.configureBlocking(false);
            return new AgentClient(channel, Selector.open(), alive);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
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
                    try {
                        Peers.check(ch, socket); // never a byte to a socket a link there led to
                    } catch (IOException e) {
                        closeQuietly(ch);
                        throw new ProtocolException(e.getMessage());
                    }
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

    /** How long the guest agent may take to answer {@link #answers}'s ping. */
    static final Duration PING_WAIT = Duration.ofSeconds(5);

    /**
     * Whether the guest agent (PID 1) answers a ping within {@link #PING_WAIT}: the guest is not hung (a davit-agent
     * that does not answer may have been stopped by the guest's own code).
     *
     * @return whether it answered
     */
    boolean answers() {
        try {
            String id = Protocol.newId();
            return call(Protocol.ping(id), id, System.nanoTime() + PING_WAIT.toNanos()) instanceof Protocol.Pong;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Sends {@code request} and waits until {@code deadline} (Long.MAX_VALUE: none) for the answer to {@code id}. */
    public Protocol.Answer call(String request, String id, long deadline) {
        return call(request, null, id, deadline);
    }

    /**
     * Like {@link #call(String, String, long)}, sending the raw bytes of file {@code body} (null: none) after the
     * request line. When the answer carries raw bytes ({@link Protocol.Data}, {@link Protocol.Ran}), they are next:
     * read them with {@link #body} or {@link #bytes}. Answers to other ids are skipped with their bytes, and so are
     * lines that are not answers (a line too long to be one is skipped without being held), all within the deadline.
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
            String line = readLine(id, deadline);
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
                skip(d.size(), deadline);
            } else if (a instanceof Protocol.Ran r) {
                skip(r.stdoutSize(), deadline);
                skip(r.stderrSize(), deadline);
            }
        }
    }

    /** Reads and drops the next {@code size} raw bytes of the connection. */
    public void skip(long size, long deadline) {
        readBody(size, OutputStream.nullOutputStream(), deadline);
    }

    /** Copies the next {@code size} raw bytes of the connection (those of a data answer) to {@code out}. */
    public void readBody(long size, OutputStream out, long deadline) {
        try (InputStream in = body(size, deadline)) {
            in.transferTo(out);
        } catch (IOException e) {
            throw new GoneException("the agent connection failed: " + e.getMessage());
        }
    }

    /**
     * The next {@code size} raw bytes of the connection, exactly {@code size} of them (end of stream after them),
     * read as the caller asks: nothing is held beyond one buffer. Each read checks {@code deadline}
     * ({@link TimeoutException}) and whether the VM lives ({@link GoneException}), also while bytes keep coming.
     */
    public InputStream body(long size, long deadline) {
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        return new InputStream() {
            long left = size;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int n) throws IOException {
                if (left == 0) {
                    return -1;
                }
                if (n == 0) {
                    return 0;
                }
                int want = (int) Math.min(n, left);
                int got = take(b, off, want, deadline);
                left -= got;
                return got;
            }
        };
    }

    /**
     * The next {@code size} raw bytes in an array of exactly that size. The caller bounds {@code size} before
     * calling; even so the array grows as the bytes arrive (from 64 KiB, doubling), so a length that was announced
     * but not sent costs nothing.
     */
    public byte[] bytes(int size, long deadline) {
        byte[] b = new byte[Math.min(size, 1 << 16)];
        int at = 0;
        while (at < size) {
            if (at == b.length) {
                b = java.util.Arrays.copyOf(b, (int) Math.min(size, 2L * b.length));
            }
            at += take(b, at, b.length - at, deadline);
        }
        return b;
    }

    /** Reads between 1 and {@code n} bytes: buffered ones first, else from the channel once it has some. */
    private int take(byte[] b, int off, int n, long deadline) {
        checkDeadline(deadline);
        if (len > 0) {
            int k = Math.min(n, len);
            System.arraycopy(data, 0, b, off, k);
            System.arraycopy(data, k, data, 0, len - k);
            len -= k;
            scanned = 0;
            return k;
        }
        try {
            while (true) {
                int k = channel.read(ByteBuffer.wrap(b, off, n));
                if (k < 0) {
                    throw new GoneException("the agent connection closed");
                }
                if (k > 0) {
                    return k;
                }
                await(readKey(), deadline);
            }
        } catch (IOException e) {
            throw new GoneException("the agent connection failed: " + e.getMessage());
        }
    }

    private SelectionKey readKey() throws IOException {
        return channel.register(selector, SelectionKey.OP_READ);
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

    /**
     * The next line (without its {@code \n}), at most {@link #MAX_LINE} bytes. A longer one is an error when it
     * starts as an answer to {@code id} (a lying or outdated agent), else it is dropped as it arrives, never held
     * (junk of an abandoned connection), and the next line is read.
     */
    private String readLine(String id, long deadline) {
        boolean dropping = false;
        try {
            SelectionKey key = readKey();
            while (true) {
                checkDeadline(deadline);
                String line = takeLine();
                if (line != null) {
                    if (!dropping) {
                        return line;
                    }
                    dropping = false;
                    continue;
                }
                if (len >= MAX_LINE) {
                    if (!dropping && answersTo(id)) {
                        throw new ProtocolException("the guest agent's answer is longer than " + MAX_LINE
                                + " bytes");
                    }
                    dropping = true;
                    len = 0;
                    scanned = 0;
                }
                if (len == data.length) {
                    data = java.util.Arrays.copyOf(data, Math.min(data.length * 2, MAX_LINE));
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

    /** Whether the buffered bytes start as an answer to {@code id}: a verb, a space, the id and a space. */
    private boolean answersTo(String id) {
        String head = new String(data, 0, Math.min(len, 64), StandardCharsets.US_ASCII);
        int sp = head.indexOf(' ');
        return sp > 0 && head.startsWith(id + " ", sp + 1);
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

    private static void checkDeadline(long deadline) {
        if (deadline != Long.MAX_VALUE && System.nanoTime() - deadline > 0) {
            throw new TimeoutException("did not answer in time");
        }
    }

    /** Waits for the key's readiness, checking the VM and the deadline every {@value #POLL_MS} ms. */
    private void await(SelectionKey key, long deadline) throws IOException {
        while (true) {
            long left = deadline == Long.MAX_VALUE ? POLL_MS : (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new TimeoutException("did not answer in time");
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
