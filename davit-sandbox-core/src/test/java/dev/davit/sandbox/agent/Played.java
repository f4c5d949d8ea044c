package dev.davit.sandbox.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.agent.AgentWire.Frame;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** Agents a test plays over a real unix socket: each says HELLO, then answers the one request it gets. */
final class Played {
    private static final AtomicInteger SOCKETS = new AtomicInteger();

    private Played() {
    }

    /** How a played agent answers the one request it gets. */
    interface Answer {
        void play(Frame request, InputStream in, OutputStream out) throws Exception;
    }

    /**
     * A socket in {@code dir} whose one connection an agent playing {@code answer} serves; the request it got is
     * added to {@code seen} (when not null).
     */
    static Path agent(Path dir, Answer answer, List<Frame> seen) throws IOException {
        Path socket = dir.resolve("a" + SOCKETS.getAndIncrement() + ".sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread.ofPlatform().daemon().start(() -> {
            try (server; SocketChannel c = server.accept()) {
                InputStream in = Channels.newInputStream(c);
                OutputStream out = Channels.newOutputStream(c);
                AgentWire.write(out, new Frame(AgentWire.HELLO, 0, concat(AgentWire.u32(1), AgentWire.u32(42))));
                Frame request = AgentWire.read(in);
                if (seen != null) {
                    seen.add(request);
                }
                answer.play(request, in, out);
                in.read();
            } catch (Exception e) {
                // the host closed it
            }
        });
        return socket;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    /** {@code t} is a DavitException of one line that says each of {@code says}. */
    static void assertOneLine(Throwable t, String... says) {
        assertThat(t).isInstanceOf(DavitException.class).hasMessageNotContaining("\n");
        for (String s : says) {
            assertThat(t).hasMessageContaining(s);
        }
    }
}
