package dev.davit.sandbox.network;

import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.fs.ErrnoException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Semaphore;

/**
 * The sandbox's TCP connections, each redirected to the gate's listener: where it was going is read from the
 * kernel ({@code SO_ORIGINAL_DST}), then its first bytes (up to {@value #PEEK_BYTES}) for a name: a TLS
 * ClientHello's SNI or an HTTP request's Host. A client that sends nothing for {@value #PEEK_MILLIS} ms waits for
 * the server (no name); one that began a ClientHello or a request head has {@value #HEAD_MILLIS} ms to complete it,
 * however it splits it, or it is refused (its name is never skipped by sending it slowly). Then:
 * <ul>
 *   <li>a name the policy denies, or that is not in it while no address entry allows the address: refused;</li>
 *   <li>an allowed name: only to an address that name resolved to for this sandbox (or resolves to now), or one
 *       an address entry allows, so an allowed address cannot carry a denied name and a denied name cannot be
 *       reached by its address;</li>
 *   <li>no name (another protocol, or a client that waits for the server to speak first): allowed when an address
 *       entry allows the address and port, or when a name the sandbox resolved to that address is allowed at that
 *       port;</li>
 *   <li>port 53: DNS over TCP, answered by the gate as over UDP, whatever the address.</li>
 * </ul>
 * A refused connection is reset at once (a plain HTTP request gets a 403 saying why first) and recorded. An allowed
 * one is connected from the host's namespace and relayed both ways until both ends are done; a policy change does
 * not touch it. A TLS connection to port 443 of a host the gate adds a secret's header for is served by
 * {@link InjectingRelay} instead.
 */
final class GateRelay {
    static final int PEEK_BYTES = 16 * 1024;
    static final int PEEK_MILLIS = 1000;
    static final int HEAD_MILLIS = 10_000;
    private static final int CONNECT_MILLIS = 10_000;
    /** How often a connection where neither side has spoken looks at the server's side. */
    private static final int SPEAK_POLL_MILLIS = 50;
    private static final int BUFFER = 64 * 1024;
    private final Gate gate;
    private final GateDns dns;
    private final Semaphore slots = new Semaphore(Gate.MAX_CONNECTIONS);

    private final InjectingRelay injecting;

    GateRelay(Gate gate, GateDns dns) {
        this.gate = gate;
        this.dns = dns;
        this.injecting = new InjectingRelay(gate);
    }

    void acceptLoop(int listener) {
        while (true) {
            int fd;
            try {
                fd = gate.sys.accept(listener);
            } catch (ErrnoException e) {
                if (e.errno() == 9 || e.errno() == 22 || e.errno() == 88) { // EBADF, EINVAL, ENOTSOCK: no listener
                    return;
                }
                // ECONNABORTED (a client that reset before its accept), EMFILE or ENFILE (let some close), ...: the
                // next one; the sandbox must not be able to stop the gate from accepting
                sleep(e.errno() == 24 || e.errno() == 23 ? 50 : 1);
                continue;
            }
            if (!slots.tryAcquire()) {
                InetSocketAddress dst = gate.sys.originalDestination(fd);
                gate.denials.record("connect", null, dst == null ? null : dst.getAddress(),
                        dst == null ? 0 : dst.getPort(), null, "more than " + Gate.MAX_CONNECTIONS
                                + " connections at once");
                gate.sys.close(fd, true);
                continue;
            }
            try {
                Thread.ofPlatform().name("gate-conn").daemon(true).stackSize(256 * 1024).start(() -> {
                    try {
                        handle(fd);
                    } catch (RuntimeException | Error e) {
                        // this connection's only (its descriptor may be closed already: never closed twice)
                    } finally {
                        slots.release();
                    }
                });
            } catch (RuntimeException | Error e) { // no thread could be made (memory): this one is reset
                slots.release();
                gate.sys.close(fd, true);
            }
        }
    }

    private void handle(int fd) {
        InetSocketAddress dst = gate.sys.originalDestination(fd);
        if (dst == null) {
            gate.sys.close(fd, true); // made to the gate's own port, not redirected
            return;
        }
        InetAddress ip = dst.getAddress();
        int port = dst.getPort();
        if (port == 53) {
            serveDnsOverTcp(fd);
            return;
        }
        EgressPolicy p = gate.policy.get();
        EgressPolicy.Verdict byAddress = p.address(ip, port);
        if (!byAddress.allowed() && byAddress.rule() != null) {
            refuse(fd, null, ip, port, byAddress.rule().toString(), byAddress.reason(), false);
            return;
        }
        ByteBuffer first = ByteBuffer.allocateDirect(PEEK_BYTES);
        Peeked pk;
        SocketChannel up = null;
        try {
            // where no address entry allows the address, a name hidden in what follows matters: read on for it
            boolean readOn = !byAddress.allowed();
            pk = peek(fd, first, readOn);
            if (pk.silent()) {
                // no name (yet): allowed as for any nameless connection, the server is asked to speak first; a
                // client that speaks first after all is judged by what it sends, as if it had not waited
                Refusal nameless = judge(ip, port, byAddress, pk);
                if (nameless != null) {
                    refuse(fd, null, ip, port, nameless.rule(), nameless.reason(), false);
                    return;
                }
                up = connect(new InetSocketAddress(ip, port));
                if (up == null) {
                    gate.sys.close(fd, true);
                    return;
                }
                ByteBuffer spoke = whoSpeaksFirst(fd, up);
                if (spoke == null) { // the server closed before anyone spoke: so does the gate, in order
                    closeQuietly(up);
                    gate.sys.shutdownOutput(fd);
                    gate.sys.close(fd, false);
                    return;
                }
                if (spoke.hasRemaining()) { // the server: what it said goes to the client, then both ways
                    ByteBuffer out = ByteBuffer.allocateDirect(spoke.remaining()).put(spoke).flip();
                    gate.sys.writeFully(fd, out);
                    relay(fd, up, first.flip());
                    return;
                }
                pk = peek(fd, first.clear(), readOn);
                if (pk.silent()) { // the client closed without a byte
                    relay(fd, up, first.flip());
                    return;
                }
            }
            if (pk.incomplete() != null) {
                closeQuietly(up);
                refuse(fd, null, ip, port, null, pk.incomplete(), pk.http());
                return;
            }
        } catch (IOException e) {
            closeQuietly(up);
            gate.sys.close(fd, true);
            return;
        }
        String name = pk.name();
        boolean http = pk.http();
        Refusal refused = judge(ip, port, byAddress, pk);
        if (refused != null) {
            closeQuietly(up);
            refuse(fd, name, ip, port, refused.rule(), refused.reason(), http);
            return;
        }
        Injections inj = gate.injections;
        Injections.Rule rule = name == null || http || port != 443 ? null : inj.rule(name);
        if (rule != null) {
            closeQuietly(up); // the injecting relay makes a TLS connection of its own
            injecting.serve(fd, new InetSocketAddress(ip, port), first.flip(), name, inj, rule);
            return;
        }
        if (up == null) {
            up = connect(new InetSocketAddress(ip, port));
            if (up == null) {
                gate.sys.close(fd, true); // refused or unreachable out there: the same to the sandbox
                return;
            }
        }
        relay(fd, up, first.flip());
    }

    /**
     * Why a connection to {@code ip:port} whose first flight is {@code pk} is refused, or null: a name the policy
     * denies (or does not list while no address entry allows the address), an allowed name at an address it never
     * resolved to, no name while neither an address entry nor a name the sandbox resolved allows the address, a
     * hidden name at an address only a name opened, or an address the sandbox may not reach.
     */
    private Refusal judge(InetAddress ip, int port, EgressPolicy.Verdict byAddress, Peeked pk) {
        EgressPolicy p = gate.policy.get();
        String name = pk.name();
        if (name != null) {
            EgressPolicy.Verdict v = p.name(name, port);
            if (!v.allowed() && (v.rule() != null || !byAddress.allowed())) {
                return new Refusal(v.rule() == null ? null : v.rule().toString(), v.reason());
            }
            if (v.allowed() && !byAddress.allowed() && !resolvesTo(name, ip)) {
                return new Refusal(null, "the address " + ip.getHostAddress() + " is not one " + name
                        + " resolved to for this sandbox");
            }
        } else if (!byAddress.allowed() && !resolvedNameAllows(p, ip, port)) {
            return new Refusal(null, byAddress.reason());
        } else if (!byAddress.allowed() && pk.hidden() != null) {
            // opened only by a name that resolved to it: what hides another name may not use it
            return new Refusal(null, pk.hidden() + " to an address only a name opened");
        }
        return gate.reachable(ip, port) ? null : new Refusal(null, "the address " + ip.getHostAddress() + " is "
                + EgressPolicy.specialWords(ip, gate.hostAddresses()));
    }

    /** Why a connection is refused: the policy's rule that did (or null) and the reason. */
    private record Refusal(String rule, String reason) {
    }

    /** A connection from the host's namespace to {@code to}, or null when it cannot be made. */
    private static SocketChannel connect(InetSocketAddress to) {
        try {
            SocketChannel up = SocketChannel.open();
            try {
                up.socket().connect(to, CONNECT_MILLIS);
                up.socket().setTcpNoDelay(true);
                return up;
            } catch (IOException e) {
                up.close();
                return null;
            }
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Waits until the client or the server {@code up} sends first: the server's first bytes (a buffer with bytes),
     * an empty buffer when the client's come first (or it closed), or null when the server closed first. The client
     * is looked at first (what it sends is judged); the wait between looks at the server grows from
     * {@value #SPEAK_POLL_MILLIS} ms to a second, so a connection where neither speaks costs next to nothing.
     */
    private ByteBuffer whoSpeaksFirst(int fd, SocketChannel up) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(BUFFER);
        up.configureBlocking(false);
        try {
            for (int wait = SPEAK_POLL_MILLIS; ; wait = Math.min(1000, wait * 2)) {
                if (gate.sys.awaitReadable(fd, 0)) {
                    return b.flip();
                }
                int n = up.read(b);
                if (n < 0) {
                    return null;
                }
                if (n > 0) {
                    return b.flip();
                }
                if (gate.sys.awaitReadable(fd, wait)) {
                    return b.flip();
                }
            }
        } finally {
            up.configureBlocking(true);
        }
    }

    /** A name (or none), whether it came of HTTP, or why the first bytes are refused (an unfinished head). */
    private record Peeked(String name, boolean http, String incomplete, String hidden, boolean silent) {
        /** Nothing came within the peek's first wait, or the client closed without a byte. */
        static final Peeked SILENT = new Peeked(null, false, null, null, true);

        Peeked(String name, boolean http) {
            this(name, http, null, null, false);
        }

        Peeked(String name, boolean http, String incomplete) {
            this(name, http, incomplete, null, false);
        }

        Peeked(String name, boolean http, String incomplete, String hidden) {
            this(name, http, incomplete, hidden, false);
        }
    }

    /**
     * Why a first flight that gave no name still looks like one that carries a name the gate cannot read, or null:
     * a TLS handshake record without a readable SNI (none, or one the reader refuses), an SSLv2-compatible
     * ClientHello (which has no SNI), or a first line a lenient HTTP server may take as a request (after any number
     * of empty lines or white space, which servers skip: a token of any length, white space and a target; or any
     * {@code HTTP/} version, HTTP/2's preface among them). Such a connection is not let through as "no name" to an
     * address that only an allowed name's resolution opened: the server behind it may read a name from it that the
     * gate did not check.
     */
    static String hidesName(byte[] b, int len) {
        if (len >= 2 && b[0] == 22 && b[1] == 3) {
            return "a TLS handshake without a server name (SNI) the gate can read";
        }
        if (len >= 3 && (b[0] & 0x80) != 0 && b[2] == 1) {
            return "an SSLv2-compatible TLS ClientHello (it has no server name)";
        }
        int start = 0;
        while (start < len && blank(b[start])) {
            start++;
        }
        int end = start;
        while (end < len && b[end] != '\n') {
            end++;
        }
        String line = new String(b, start, end - start, StandardCharsets.ISO_8859_1);
        if (REQUEST_LINE.matcher(line).lookingAt() || HTTP_VERSION.matcher(line).find()) {
            return "an HTTP request the gate does not read (its form, method or version)";
        }
        return null;
    }

    /**
     * Whether {@code b[0..len)} may still grow into a request line that {@link #hidesName} would refuse: nothing but
     * blank bytes so far, or a first line of printable bytes whose line feed has not come yet. Then the gate reads on
     * (within the head's time) rather than judge a prefix.
     */
    static boolean mayBecomeRequestLine(byte[] b, int len) {
        int i = 0;
        while (i < len && blank(b[i])) {
            i++;
        }
        for (; i < len; i++) {
            int c = b[i] & 0xff;
            if (c == '\n') {
                return false; // the line is whole: judged as it is
            }
            if (c != ' ' && c != '\t' && c != '\r' && (c < 0x21 || c > 0x7e)) {
                return false; // no request line holds that byte
            }
        }
        return true;
    }

    private static boolean blank(byte c) {
        return c == '\r' || c == '\n' || c == ' ' || c == '\t';
    }

    /** The start of a request line a lenient server may take: a token, white space, an origin, absolute or * target. */
    private static final java.util.regex.Pattern REQUEST_LINE = java.util.regex.Pattern.compile(
            "[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \\t\\x0b\\f]+(/|\\*|[A-Za-z][A-Za-z0-9+.-]{0,16}://)");

    /** An HTTP version anywhere in the first line. */
    private static final java.util.regex.Pattern HTTP_VERSION = java.util.regex.Pattern.compile(
            "HTTP/[0-9]", java.util.regex.Pattern.CASE_INSENSITIVE);

    /**
     * Reads the connection's first bytes into {@code buf} until they give a name, or say there is none: nothing
     * within {@value #PEEK_MILLIS} ms is a client that waits for the server; a ClientHello or request head begun
     * but not complete within {@value #HEAD_MILLIS} ms (or {@value #PEEK_BYTES} bytes) is refused; with
     * {@code readOn}, so is a first line that may still become a request line ({@link #mayBecomeRequestLine}).
     */
    private Peeked peek(int fd, ByteBuffer buf, boolean readOn) throws ErrnoException {
        long start = System.nanoTime();
        byte[] copy = new byte[PEEK_BYTES];
        boolean tlsPossible = true;
        boolean httpPossible = true;
        while (buf.hasRemaining()) {
            long left = (start + (buf.position() == 0 ? PEEK_MILLIS : HEAD_MILLIS) * 1_000_000L - System.nanoTime())
                    / 1_000_000L;
            if (left <= 0 || !gate.sys.awaitReadable(fd, (int) left)) {
                return buf.position() == 0 ? Peeked.SILENT // the client waits for the server: no name yet
                        : unfinished(tlsPossible, httpPossible, "within " + HEAD_MILLIS / 1000 + " s");
            }
            int n = gate.sys.read(fd, buf);
            if (n == 0) {
                return buf.position() == 0 ? Peeked.SILENT
                        : unfinished(tlsPossible, httpPossible, "before the client closed");
            }
            int len = buf.position();
            buf.duplicate().flip().get(copy, 0, len);
            if (tlsPossible) {
                TlsClientHello.Result r = TlsClientHello.sni(copy, len);
                if (r instanceof TlsClientHello.Sni s) {
                    return new Peeked(s.name(), false);
                }
                if (!(r instanceof TlsClientHello.NeedMore)) {
                    tlsPossible = false;
                    if (r instanceof TlsClientHello.Invalid bad) { // TLS whose name the gate cannot take
                        return new Peeked(null, false, null, "a TLS ClientHello whose name the gate cannot check ("
                                + bad.reason() + ")");
                    }
                    if (!(r instanceof TlsClientHello.NotTls)) {
                        return new Peeked(null, false, null, hidesName(copy, len)); // TLS without a name
                    }
                }
            }
            if (httpPossible) {
                HttpRequestHead.Result r = HttpRequestHead.host(copy, len);
                if (r instanceof HttpRequestHead.Host h) {
                    return new Peeked(h.name(), true);
                }
                if (!(r instanceof HttpRequestHead.NeedMore)) {
                    httpPossible = false;
                    if (!(r instanceof HttpRequestHead.NotHttp)) {
                        // an HTTP request without a usable Host (none, two, or one that contradicts its target)
                        return new Peeked("", true);
                    }
                }
            }
            if (!tlsPossible && !httpPossible) {
                String hidden = hidesName(copy, len);
                if (hidden != null || !readOn || !mayBecomeRequestLine(copy, len)) {
                    return new Peeked(null, false, null, hidden);
                }
                // a prefix of what may yet be a request line: read on, within the head's time
            }
        }
        return unfinished(tlsPossible, httpPossible, "within " + PEEK_BYTES + " bytes");
    }

    /** A head that could still be a ClientHello or a request head, cut short {@code how}: refused. */
    private static Peeked unfinished(boolean tls, boolean http, String how) {
        return new Peeked(null, http && !tls, (tls ? "a TLS ClientHello" : "an HTTP request head")
                + " not complete " + how);
    }

    private boolean resolvesTo(String name, InetAddress ip) {
        if (gate.resolutions.resolvedTo(name, ip)) {
            return true;
        }
        HostResolver.Result r = gate.resolver.resolve(name);
        return r.addresses().contains(ip) && gate.reachable(r.addresses()).contains(ip);
    }

    private boolean resolvedNameAllows(EgressPolicy p, InetAddress ip, int port) {
        for (String n : gate.resolutions.namesOf(ip)) {
            if (p.name(n, port).allowed()) {
                return true;
            }
        }
        return false;
    }

    private void refuse(int fd, String name, InetAddress ip, int port, String rule, String reason, boolean http) {
        String shown = name == null || name.isEmpty() ? null : name;
        String why = name != null && name.isEmpty() ? "an HTTP request without one clear Host" : reason;
        gate.denials.record("connect", shown, ip, port, rule, why);
        if (http) {
            byte[] r = denied(403, "egress denied: " + (shown == null ? ip.getHostAddress() : shown) + ":" + port
                    + ": " + why);
            ByteBuffer out = ByteBuffer.allocateDirect(r.length).put(r).flip();
            try {
                gate.sys.writeFully(fd, out);
                gate.sys.shutdownOutput(fd);
                gate.sys.close(fd, false);
                return;
            } catch (ErrnoException e) {
                // reset below
            }
        }
        gate.sys.close(fd, true);
    }

    /**
     * The gate's own HTTP response to a request it does not send on: {@code status} (403, 400 or 502) with a
     * one-line plain-text body {@code davit: WHY}, marked {@code X-Davit-Egress: denied}, closing the connection.
     */
    static byte[] denied(int status, String why) {
        byte[] body = ("davit: " + why + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] head = ("HTTP/1.1 " + status + (status == 403 ? " Forbidden" : status == 400 ? " Bad Request"
                : " Bad Gateway") + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\nX-Davit-Egress: denied\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] all = java.util.Arrays.copyOf(head, head.length + body.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    /** Sends {@code first} to {@code up} (connected from the host's namespace), then copies both ways. */
    private void relay(int fd, SocketChannel up, ByteBuffer first) {
        try {
            while (first.hasRemaining()) {
                up.write(first);
            }
        } catch (IOException e) {
            closeQuietly(up);
            gate.sys.close(fd, true);
            return;
        }
        Thread back;
        try {
            back = Thread.ofPlatform().name("gate-down").daemon(true).stackSize(256 * 1024).unstarted(
                    () -> copyDown(fd, up));
            back.start();
        } catch (RuntimeException | Error e) { // no thread could be made (memory): this connection is reset
            closeQuietly(up);
            gate.sys.close(fd, true);
            return;
        }
        relayUp(fd, up, first, back);
    }

    /** The server's bytes to the client, until the server's end; then the client's side is shut for writing. */
    private void copyDown(int fd, SocketChannel up) {
        ByteBuffer b = ByteBuffer.allocateDirect(BUFFER);
        try {
            while (up.read(b.clear()) >= 0) {
                b.flip();
                gate.sys.writeFully(fd, b);
            }
            gate.sys.shutdownOutput(fd);
        } catch (IOException e) {
            gate.sys.shutdown(fd);
            closeQuietly(up);
        }
    }

    /** The client's bytes to the server (its buffer {@code first} reused), until the client's end; then closes both. */
    private void relayUp(int fd, SocketChannel up, ByteBuffer first, Thread back) {
        ByteBuffer b = first.clear();
        try {
            while (gate.sys.read(fd, b.clear()) > 0) {
                b.flip();
                while (b.hasRemaining()) {
                    up.write(b);
                }
            }
            up.shutdownOutput();
        } catch (IOException e) {
            closeQuietly(up);
            gate.sys.shutdown(fd);
        }
        try {
            back.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly(up);
        gate.sys.close(fd, false);
    }

    /** DNS over TCP on a redirected connection to port 53: length-prefixed queries, answered by {@link GateDns}. */
    private void serveDnsOverTcp(int fd) {
        ByteBuffer len = ByteBuffer.allocateDirect(2);
        try {
            while (true) {
                if (!readFully(fd, len.clear())) {
                    break;
                }
                int n = Short.toUnsignedInt(len.flip().getShort());
                ByteBuffer q = ByteBuffer.allocateDirect(Math.max(n, 1));
                if (n == 0 || !readFully(fd, q.limit(n))) {
                    break;
                }
                byte[] msg = new byte[n];
                q.flip().get(msg);
                byte[] a = dns.answer(msg, n);
                if (a == null) {
                    break;
                }
                byte[] framed = DnsMessage.tcpFrame(a);
                ByteBuffer out = ByteBuffer.allocateDirect(framed.length).put(framed).flip();
                gate.sys.writeFully(fd, out);
            }
        } catch (ErrnoException e) {
            // the client is gone
        }
        gate.sys.close(fd, false);
    }

    private boolean readFully(int fd, ByteBuffer b) throws ErrnoException {
        while (b.hasRemaining()) {
            if (!gate.sys.awaitReadable(fd, 30_000) || gate.sys.read(fd, b) == 0) {
                return false;
            }
        }
        return true;
    }

    private static void closeQuietly(SocketChannel c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException e) {
            // closed
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
