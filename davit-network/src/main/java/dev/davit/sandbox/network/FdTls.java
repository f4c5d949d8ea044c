package dev.davit.sandbox.network;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;

/**
 * The server end of TLS on a sandbox's connection (a descriptor the gate reads and writes through {@link GateSys}),
 * driven by an {@link SSLEngine}, blocking: one thread may read while another writes. Used only where the gate adds
 * a secret's header ({@link Injections}).
 */
final class FdTls {
    private static final int IDLE_MILLIS = 120_000;
    private final GateSys sys;
    private final int fd;
    private final SSLEngine engine;
    private final Object readLock = new Object();
    private final Object writeLock = new Object();
    private ByteBuffer netIn;
    private ByteBuffer appIn;
    private ByteBuffer netOut;
    private boolean inputDone;
    private volatile long deadline; // while the handshake runs: when it must be done (System.nanoTime)

    /**
     * @param first the bytes the gate already read from {@code fd} (the ClientHello), from its position to its limit
     */
    FdTls(GateSys sys, int fd, SSLEngine engine, ByteBuffer first) {
        this.sys = sys;
        this.fd = fd;
        this.engine = engine;
        int packet = engine.getSession().getPacketBufferSize();
        netIn = ByteBuffer.allocateDirect(Math.max(packet, first.remaining()));
        netIn.put(first);
        appIn = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
        netOut = ByteBuffer.allocateDirect(packet);
    }

    /**
     * Completes the handshake within {@code millis}; an exception when the client fails it (e.g. it does not trust
     * the certificate) or takes longer.
     */
    void handshake(int millis) throws IOException {
        deadline = System.nanoTime() + millis * 1_000_000L;
        try {
            handshake();
        } finally {
            deadline = 0;
        }
    }

    private void handshake() throws IOException {
        engine.beginHandshake();
        HandshakeStatus hs = engine.getHandshakeStatus();
        while (hs != HandshakeStatus.FINISHED && hs != HandshakeStatus.NOT_HANDSHAKING) {
            switch (hs) {
                case NEED_WRAP -> hs = wrap(ByteBuffer.allocate(0));
                case NEED_TASK -> {
                    runTasks();
                    hs = engine.getHandshakeStatus();
                }
                default -> {
                    SSLEngineResult r;
                    synchronized (readLock) {
                        r = unwrap();
                    }
                    if (r == null || r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        throw new SSLException("the client ended the TLS handshake");
                    }
                    hs = r.getHandshakeStatus();
                }
            }
        }
    }

    private void runTasks() {
        Runnable t;
        while ((t = engine.getDelegatedTask()) != null) {
            t.run();
        }
    }

    /** One unwrap, reading from the descriptor while the engine needs more; null at the end of the client's stream. */
    private SSLEngineResult unwrap() throws IOException {
        while (true) {
            netIn.flip();
            SSLEngineResult r;
            try {
                r = engine.unwrap(netIn, appIn);
            } finally {
                netIn.compact();
            }
            switch (r.getStatus()) {
                case BUFFER_UNDERFLOW -> {
                    if (inputDone) {
                        return null;
                    }
                    if (!netIn.hasRemaining()) {
                        netIn = grow(netIn, engine.getSession().getPacketBufferSize(), true);
                    }
                    long d = deadline;
                    int wait = d == 0 ? IDLE_MILLIS
                            : (int) Math.max(1, Math.min(IDLE_MILLIS, (d - System.nanoTime()) / 1_000_000L));
                    if (d != 0 && System.nanoTime() > d) {
                        throw new SSLException("the client's TLS handshake took too long");
                    }
                    if (!sys.awaitReadable(fd, wait)) {
                        if (d != 0) {
                            throw new SSLException("the client's TLS handshake took too long");
                        }
                        inputDone = true;
                        return null;
                    }
                    if (sys.read(fd, netIn) == 0) {
                        inputDone = true;
                        return null;
                    }
                }
                case BUFFER_OVERFLOW -> appIn = grow(appIn, engine.getSession().getApplicationBufferSize(), false);
                default -> {
                    return r;
                }
            }
        }
    }

    private static ByteBuffer grow(ByteBuffer b, int least, boolean direct) {
        int size = Math.max(b.capacity() * 2, b.position() + least);
        ByteBuffer n = direct ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
        b.flip();
        n.put(b);
        return n;
    }

    /** Wraps all of {@code src} and sends it; the handshake status after. */
    private HandshakeStatus wrap(ByteBuffer src) throws IOException {
        synchronized (writeLock) {
            HandshakeStatus hs;
            do {
                netOut.clear();
                SSLEngineResult r = engine.wrap(src, netOut);
                if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                    netOut = ByteBuffer.allocateDirect(netOut.capacity() * 2);
                    hs = HandshakeStatus.NEED_WRAP;
                    continue;
                }
                netOut.flip();
                if (netOut.hasRemaining()) {
                    sys.writeFully(fd, netOut);
                }
                hs = r.getHandshakeStatus();
                if (hs == HandshakeStatus.NEED_TASK) {
                    runTasks();
                    hs = engine.getHandshakeStatus();
                }
                if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    return hs;
                }
            } while (src.hasRemaining() || hs == HandshakeStatus.NEED_WRAP);
            return hs;
        }
    }

    /** The decrypted stream from the client. */
    InputStream in() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                synchronized (readLock) {
                    while (appIn.position() == 0) {
                        SSLEngineResult r = unwrap();
                        if (r == null || r.getStatus() == SSLEngineResult.Status.CLOSED) {
                            return -1;
                        }
                        HandshakeStatus hs = r.getHandshakeStatus();
                        if (hs == HandshakeStatus.NEED_TASK) {
                            runTasks();
                            hs = engine.getHandshakeStatus();
                        }
                        if (hs == HandshakeStatus.NEED_WRAP) {
                            wrap(ByteBuffer.allocate(0)); // e.g. a key update's answer
                        }
                    }
                    appIn.flip();
                    int n = Math.min(len, appIn.remaining());
                    appIn.get(b, off, n);
                    appIn.compact();
                    return n;
                }
            }
        };
    }

    /** The stream to the client, encrypted. */
    OutputStream out() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                wrap(ByteBuffer.wrap(b, off, len));
            }
        };
    }

    /** Sends close_notify, then no more writes (the descriptor's output is shut down). */
    void closeOutput() {
        try {
            engine.closeOutbound();
            wrap(ByteBuffer.allocate(0));
        } catch (IOException e) {
            // the client is gone
        }
        sys.shutdownOutput(fd);
    }
}
