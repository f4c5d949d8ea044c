package dev.davit.sandbox.network;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLSocket;

/**
 * A sandbox's HTTPS connection to a host the gate adds a secret's header for ({@link Injections}): TLS ended here
 * with the host's certificate from the workspace's CA (TLS 1.3 only: no renegotiation), its one request head read
 * and rewritten ({@link InjectedRequest}), a TLS connection of the gate's own to the real host for that request
 * alone, its body sent on as its head frames it, and the response copied back until the server ends it; then the
 * connection ends (the rewritten request said {@code Connection: close}, so the client expects that). A request the
 * gate does not send on gets an HTTP error response naming why, is recorded as a denial, and ends the connection.
 * At most {@value #MAX_AT_ONCE} such connections at once (each holds TLS state and buffers in the gate's small heap);
 * more are reset and recorded.
 */
final class InjectingRelay {
    static final int MAX_AT_ONCE = 64;
    private static final int BUFFER = 16 * 1024;
    private static final int MAX_LINE = 4096;
    private static final int HANDSHAKE_MILLIS = 10_000;
    /** How long the server may stay silent while it answers (a long poll's wait included). */
    private static final int IDLE_MILLIS = 120_000;
    private final Gate gate;
    private final java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(MAX_AT_ONCE);

    InjectingRelay(Gate gate) {
        this.gate = gate;
    }

    /**
     * Serves {@code fd} (whose first bytes, the ClientHello for {@code host}, are {@code first}) to {@code to}; closes
     * it.
     */
    void serve(int fd, InetSocketAddress to, ByteBuffer first, String host, Injections inj, Injections.Rule rule) {
        if (!slots.tryAcquire()) {
            gate.denials.record("connect", host, to.getAddress(), to.getPort(), null, "more than " + MAX_AT_ONCE
                    + " connections at once to hosts whose secrets the gate adds");
            gate.sys.close(fd, true);
            return;
        }
        try {
            serveHeld(fd, to, first, host, inj, rule);
        } finally {
            slots.release();
        }
    }

    private void serveHeld(int fd, InetSocketAddress to, ByteBuffer first, String host, Injections inj,
                           Injections.Rule rule) {
        InetAddress ip = to.getAddress();
        int port = to.getPort();
        FdTls client;
        try {
            client = new FdTls(gate.sys, fd, inj.serverEngine(), first);
            client.handshake(HANDSHAKE_MILLIS);
        } catch (IOException | RuntimeException e) {
            gate.denials.record("connect", host, ip, port, null, "the TLS handshake with davit's certificate for "
                    + host + " failed (the sandbox's program must trust the workspace's CA, in its trust store, and"
                    + " speak TLS 1.3)");
            gate.sys.close(fd, true);
            return;
        }
        InjectedRequest.Result r;
        BufferedInputStream in = new BufferedInputStream(client.in(), BUFFER);
        try {
            byte[] head = head(in);
            if (head == null) {
                client.closeOutput();
                gate.sys.close(fd, false);
                return;
            }
            r = InjectedRequest.rewrite(head, host, rule.header(), rule.value());
        } catch (IOException | RuntimeException e) {
            gate.sys.close(fd, true);
            return;
        }
        if (r instanceof InjectedRequest.Refused no) {
            gate.denials.record("request", host, ip, port, null, no.reason());
            respond(client, no.status(), no.reason());
            gate.sys.close(fd, false);
            return;
        }
        InjectedRequest.Rewritten w = (InjectedRequest.Rewritten) r;
        SSLSocket up = null;
        Thread back;
        try {
            up = Injections.connect(gate.upstreamTrust(), to, host, HANDSHAKE_MILLIS);
            up.setSoTimeout(IDLE_MILLIS);
            SSLSocket server = up;
            back = Thread.ofPlatform().name("gate-down").daemon(true).stackSize(256 * 1024).start(() -> {
                byte[] b = new byte[BUFFER];
                try (InputStream fromServer = server.getInputStream()) {
                    OutputStream out = client.out();
                    int n;
                    while ((n = fromServer.read(b)) >= 0) {
                        out.write(b, 0, n);
                    }
                    client.closeOutput(); // the whole answer: the client closes, which ends a body still awaited
                } catch (IOException e) {
                    close(server); // wakes the sender, should it be blocked writing to the server
                    gate.sys.shutdown(fd); // the server is gone, or silent too long: so is the client's connection
                }
            });
        } catch (Exception | Error e) {
            if (up != null) {
                close(up);
            }
            gate.denials.record("connect", host, ip, port, null, "the gate could not make a trusted TLS connection to "
                    + host + " for its secret: " + e.getClass().getSimpleName());
            respond(client, 502, "the gate could not make a trusted TLS connection to " + host);
            gate.sys.close(fd, false);
            return;
        }
        try {
            OutputStream out = up.getOutputStream();
            out.write(w.head());
            if (w.contentLength() >= 0) {
                copy(in, out, w.contentLength());
            } else {
                chunked(in, out);
            }
            out.flush();
            // nothing more goes to the server: whatever else the client sends is not read
        } catch (IOException e) {
            close(up);
            gate.sys.shutdown(fd);
        }
        try {
            back.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close(up);
        client.closeOutput();
        gate.sys.close(fd, false);
    }

    /** The next request head (to its empty line), or null at the end of the stream; too long is an error. */
    private static byte[] head(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(1024);
        int c;
        int tail = 0; // the last four bytes
        while ((c = in.read()) >= 0) {
            b.write(c);
            tail = (tail << 8) | c;
            if (tail == 0x0d0a0d0a) {
                return b.toByteArray();
            }
            if (b.size() >= InjectedRequest.MAX_HEAD) {
                return b.toByteArray(); // refused as no head by the parser
            }
        }
        if (b.size() > 0) {
            throw new IOException("the client ended within a request head");
        }
        return null;
    }

    private static void copy(InputStream in, OutputStream out, long n) throws IOException {
        byte[] b = new byte[(int) Math.min(BUFFER, Math.max(1, n))];
        while (n > 0) {
            int r = in.read(b, 0, (int) Math.min(b.length, n));
            if (r < 0) {
                throw new IOException("the client ended within a request body");
            }
            out.write(b, 0, r);
            n -= r;
        }
    }

    /** Copies a chunked body: each size line and its data, then the trailer up to its empty line. */
    private static void chunked(InputStream in, OutputStream out) throws IOException {
        while (true) {
            String line = line(in);
            out.write((line + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            int semi = line.indexOf(';');
            String hex = (semi < 0 ? line : line.substring(0, semi)).strip();
            long size;
            if (hex.isEmpty() || hex.length() > 15 || !hex.chars().allMatch(ch -> Character.digit(ch, 16) >= 0)) {
                throw new IOException("a bad chunk size");
            }
            size = Long.parseLong(hex, 16);
            if (size == 0) {
                String t;
                do {
                    t = line(in);
                    out.write((t + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                } while (!t.isEmpty());
                return;
            }
            copy(in, out, size);
            if (!line(in).isEmpty()) {
                throw new IOException("a chunk without its CRLF");
            }
            out.write(new byte[] {'\r', '\n'});
        }
    }

    /** A CRLF-ended line, without its CRLF; a bare LF or CR, or a line over {@value #MAX_LINE} bytes, is an error. */
    private static String line(InputStream in) throws IOException {
        StringBuilder s = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("the client ended within a chunked body");
            }
            if (c == '\r') {
                if (in.read() != '\n') {
                    throw new IOException("a bare CR");
                }
                return s.toString();
            }
            if (c == '\n' || s.length() >= MAX_LINE) {
                throw new IOException("a bad line in a chunked body");
            }
            s.append((char) c);
        }
    }

    private static void respond(FdTls client, int status, String why) {
        try {
            client.out().write(GateRelay.denied(status, why));
            client.closeOutput();
        } catch (IOException e) {
            // the client is gone
        }
    }

    private static void close(SSLSocket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closed
        }
    }
}
