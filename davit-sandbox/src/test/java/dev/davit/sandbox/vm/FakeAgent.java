package dev.davit.sandbox.vm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A guest agent that lies, without a VM: a unix socket server that reads one request line, then sends a script of
 * bytes in which {@code @@} stands for the request's id, then (unless told to keep going) closes. What the host
 * receives is exactly what a replaced agent in a guest could send through QEMU's socket.
 */
final class FakeAgent implements AutoCloseable {
    /** What the agent sends after the script: nothing (it closes), or bytes without end. */
    interface Tail {
        /** Writes more bytes; returns false to stop (and close). */
        boolean more(SocketChannel ch) throws IOException, InterruptedException;
    }

    private final ServerSocketChannel server;
    private final Path socket;
    private final Thread thread;
    private volatile String request;
    private volatile long sent;

    private FakeAgent(Path socket, byte[] script, Tail tail) throws IOException {
        this.socket = socket;
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Peers.SERVED_HERE.add(socket.toAbsolutePath().normalize()); // it stands for the VMM
        thread = Thread.ofPlatform().daemon().name("fake-agent").start(() -> serve(script, tail));
    }

    /** Serves {@code script} (with {@code @@} as the request's id), then closes. */
    static FakeAgent start(Path socket, byte[] script) throws IOException {
        return new FakeAgent(socket, script, null);
    }

    /** Serves {@code script}, then what {@code tail} writes until it says stop. */
    static FakeAgent start(Path socket, String script, Tail tail) throws IOException {
        return new FakeAgent(socket, script.getBytes(StandardCharsets.ISO_8859_1), tail);
    }

    /** A client connected to this agent. */
    AgentClient connect() {
        return AgentClient.connect(socket, System.nanoTime() + 5_000_000_000L, () -> true);
    }

    /** The request line it read (null before). */
    String request() {
        return request;
    }

    /** How many bytes it sent. */
    long sent() {
        return sent;
    }

    private void serve(byte[] script, Tail tail) {
        try (SocketChannel ch = server.accept()) {
            StringBuilder line = new StringBuilder();
            ByteBuffer one = ByteBuffer.allocate(1);
            while (true) {
                one.clear();
                if (ch.read(one) < 0) {
                    return;
                }
                char c = (char) one.get(0);
                if (c == '\n') {
                    break;
                }
                line.append(c);
            }
            request = line.toString();
            String[] f = request.split(" ");
            byte[] id = (f.length > 1 ? f[1] : "").getBytes(StandardCharsets.US_ASCII);
            ByteBuffer out = ByteBuffer.wrap(substitute(script, id));
            while (out.hasRemaining()) {
                sent += ch.write(out);
            }
            if (tail != null) {
                while (tail.more(ch)) {
                    // the tail counts nothing; sent is the script's
                }
            }
        } catch (IOException | InterruptedException e) {
            // the client went away
        }
    }

    /** {@code script} with every {@code @@} replaced by {@code id}. */
    static byte[] substitute(byte[] script, byte[] id) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream(script.length + 64);
        for (int i = 0; i < script.length; i++) {
            if (script[i] == '@' && i + 1 < script.length && script[i + 1] == '@') {
                b.write(id, 0, id.length);
                i++;
            } else {
                b.write(script[i]);
            }
        }
        return b.toByteArray();
    }

    @Override
    public void close() {
        try {
            server.close();
            thread.interrupt();
            thread.join(5000);
            java.nio.file.Files.deleteIfExists(socket);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
