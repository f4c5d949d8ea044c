package dev.davit.sandbox.network;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A tiny name server on a loopback address, UDP and TCP on the same port, answering as its handler says (a test
 * fixture: what is under test is the resolver asking it).
 */
final class DnsFixture implements AutoCloseable {
    /** What to send back to a query (nothing: stay silent). */
    @FunctionalInterface
    interface Handler {
        List<byte[]> answer(DnsServer.Question q, byte[] query, InetSocketAddress client, boolean tcp)
                throws IOException;
    }

    final InetSocketAddress address;
    final AtomicInteger udpQueries = new AtomicInteger();
    final AtomicInteger tcpQueries = new AtomicInteger();
    /** When positive, the TCP answers are written one byte per this many milliseconds. */
    volatile int trickleMillis;
    private final DatagramChannel udp;
    private final ServerSocketChannel tcp;
    private final Handler handler;

    private DnsFixture(DatagramChannel udp, ServerSocketChannel tcp, Handler handler) throws IOException {
        this.udp = udp;
        this.tcp = tcp;
        this.handler = handler;
        this.address = (InetSocketAddress) udp.getLocalAddress();
        Thread u = new Thread(this::serveUdp, "dns-fixture-udp");
        u.setDaemon(true);
        u.start();
        Thread t = new Thread(this::serveTcp, "dns-fixture-tcp");
        t.setDaemon(true);
        t.start();
    }

    /** A server on 127.0.0.1 on a free port. */
    static DnsFixture start(Handler handler) throws IOException {
        for (int i = 0;; i++) {
            DatagramChannel u = DatagramChannel.open(StandardProtocolFamily.INET);
            u.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try {
                return start(u, ((InetSocketAddress) u.getLocalAddress()).getPort(), handler);
            } catch (BindException e) {
                if (i == 20) {
                    throw e;
                }
            }
        }
    }

    /** A server on {@code address} (its port given). */
    static DnsFixture start(InetSocketAddress address, Handler handler) throws IOException {
        DatagramChannel u = DatagramChannel.open(StandardProtocolFamily.INET);
        try {
            u.bind(address);
        } catch (IOException e) {
            u.close();
            throw e;
        }
        return start(u, address.getPort(), handler);
    }

    private static DnsFixture start(DatagramChannel u, int port, Handler handler) throws IOException {
        ServerSocketChannel t = ServerSocketChannel.open();
        try {
            t.bind(new InetSocketAddress(((InetSocketAddress) u.getLocalAddress()).getAddress(), port));
        } catch (IOException e) {
            t.close();
            u.close();
            throw e;
        }
        return new DnsFixture(u, t, handler);
    }

    /** The answer with these A records (the question's name as owner) and this TTL. */
    static byte[] answer(DnsServer.Question q, byte[] query, long ttl, int... lastOctets) {
        DnsBytes m = DnsBytes.header(q.id(), 0x8180, 1, lastOctets.length, 0, 0)
                .bytes(Arrays.copyOfRange(query, 12, q.questionEnd()));
        for (int o : lastOctets) {
            m.pointer(12).a(ttl, 192, 0, 2, o);
        }
        return m.toBytes();
    }

    private void serveUdp() {
        ByteBuffer in = ByteBuffer.allocate(4096);
        while (true) {
            try {
                in.clear();
                InetSocketAddress from = (InetSocketAddress) udp.receive(in);
                byte[] q = Arrays.copyOf(in.array(), in.position());
                DnsServer.Question question = DnsServer.parseQuery(q, q.length);
                if (question == null) {
                    continue;
                }
                udpQueries.incrementAndGet();
                for (byte[] r : handler.answer(question, q, from, false)) {
                    udp.send(ByteBuffer.wrap(r), from);
                }
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                // a client gone: go on
            }
        }
    }

    private void serveTcp() {
        while (true) {
            try (SocketChannel c = tcp.accept()) {
                Socket s = c.socket();
                s.setSoTimeout(5000);
                InputStream in = s.getInputStream();
                byte[] len = in.readNBytes(2);
                byte[] q = in.readNBytes(DnsMessage.tcpFrameLength(len, 0, len.length));
                DnsServer.Question question = DnsServer.parseQuery(q, q.length);
                if (question == null) {
                    continue;
                }
                tcpQueries.incrementAndGet();
                OutputStream out = s.getOutputStream();
                for (byte[] r : handler.answer(question, q, (InetSocketAddress) c.getRemoteAddress(), true)) {
                    byte[] frame = DnsMessage.tcpFrame(r);
                    for (int i = 0; i < frame.length && trickleMillis > 0; i++) {
                        out.write(frame[i]);
                        out.flush();
                        Thread.sleep(trickleMillis);
                    }
                    if (trickleMillis <= 0) {
                        out.write(frame);
                    }
                }
                out.flush();
            } catch (ClosedChannelException e) {
                return;
            } catch (InterruptedException e) {
                return;
            } catch (IOException | RuntimeException e) {
                // a client gone or a bad frame: go on
            }
        }
    }

    @Override
    public void close() throws IOException {
        udp.close();
        tcp.close();
    }
}
