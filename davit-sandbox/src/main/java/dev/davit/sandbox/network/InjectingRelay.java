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
 * with the host's certificate from the workspace's CA, a TLS connection of the gate's own to the real host, and each
 * request head rewritten ({@link InjectedRequest}) on its way; the responses are copied back as they come. A request
 * the gate does not send on gets an HTTP error response naming why, is recorded as a denial, and ends the connection.
 */
final class InjectingRelay {
    private static final int BUFFER = 64 * 1024;
    private static final int MAX_LINE = 4096;
    private final Gate gate;

    InjectingRelay(Gate gate) {
        this.gate = gate;
    }

    /**
     * Serves {@code fd} (whose first bytes, the ClientHello for {@code host}, are {@code first}) to {@code to}; closes
     * it.
     */
    void serve(int fd, InetSocketAddress to, ByteBuffer first, String host, Injections inj, Injections.Rule rule) {
        InetAddress ip = to.getAddress();
        int port = to.getPort();
        FdTls client = new FdTls(gate.sys, fd, inj.serverEngine(), first);
        try {
            client.handshake();
        } catch (IOException | RuntimeException e) {
            gate.denials.record("connect", host, ip, port, null, "the TLS handshake with davit's certificate for "
                    + host + " failed (the sandbox's program must trust the workspace's CA, in its trust store)");
            gate.sys.close(fd, true);
            return;
        }
        SSLSocket up;
        try {
            up = Injections.connect(gate.upstreamTrust(), to, host);
        } catch (Exception e) {
            gate.denials.record("connect", host, ip, port, null, "the gate could not make a trusted TLS connection to "
                    + host + " for its secret: " + e.getClass().getSimpleName());
            respond(client, 502, "the gate could not make a trusted TLS connection to " + host);
            gate.sys.close(fd, true);
            return;
        }
        java.util.concurrent.atomic.AtomicBoolean refusing = new java.util.concurrent.atomic.AtomicBoolean();
        Thread back = Thread.ofPlatform().name("gate-down").daemon(true).stackSize(256 * 1024).start(() -> {
            byte[] b = new byte[BUFFER];
            try (InputStream in = up.getInputStream()) {
                OutputStream out = client.out();
                int n;
                while ((n = in.read(b)) >= 0) {
                    out.write(b, 0, n);
                }
            } catch (IOException e) {
                if (!refusing.get()) {
                    gate.sys.shutdown(fd); // wakes the reader of the client: the server is gone
                }
            }
        });
        InjectedRequest.Refused refused = null;
        try {
            BufferedInputStream in = new BufferedInputStream(client.in(), BUFFER);
            OutputStream out = up.getOutputStream();
            while (true) {
                byte[] head = head(in);
                if (head == null) {
                    break;
                }
                InjectedRequest.Result r = InjectedRequest.rewrite(head, host, rule.header(), rule.value());
                if (r instanceof InjectedRequest.Refused no) {
                    gate.denials.record("request", host, ip, port, null, no.reason());
                    refused = no;
                    refusing.set(true);
                    close(up); // what the server still had to answer is dropped: the client gets the refusal
                    break;
                }
                InjectedRequest.Rewritten w = (InjectedRequest.Rewritten) r;
                out.write(w.head());
                if (w.upgrade()) {
                    in.transferTo(out); // after a switch of protocols the bytes are no longer requests
                    break;
                }
                if (w.contentLength() >= 0) {
                    copy(in, out, w.contentLength());
                } else {
                    chunked(in, out);
                }
                out.flush();
            }
            if (refused == null) {
                up.shutdownOutput();
                up.setSoTimeout(30_000); // the answers to what was sent go back; a server that keeps it open ends
            }
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
        if (refused != null) {
            respond(client, refused.status(), refused.reason());
        } else {
            client.closeOutput();
        }
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
        byte[] body = ("davit: " + why + "\n").getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + status + (status == 403 ? " Forbidden" : status == 400 ? " Bad Request"
                : " Bad Gateway") + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\nX-Davit-Egress: denied\r\n\r\n";
        try {
            OutputStream out = client.out();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(body);
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
