package dev.davit.sandbox.network;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Resolves a name to IPv4 addresses as the host's own programs do (glibc's {@code files dns}): first the hosts file,
 * then the name servers of resolv.conf.
 *
 * <ul>
 *   <li>The hosts file: IPv4 entries only (a name with only IPv6 entries goes on to DNS, as an IPv4 lookup does),
 *       {@code #} comments, aliases, names compared case-insensitively; read again when it changes (its modification
 *       time, size or file key). Its answers have a TTL of {@link #HOSTS_TTL} seconds.
 *   <li>resolv.conf: up to three {@code nameserver} lines with an IPv4 address (others are skipped; none means
 *       127.0.0.1, as resolv.conf(5) says), {@code options timeout:N} (seconds per try, default 2, 1 to 30) and
 *       {@code attempts:N} (rounds over the servers, default 2, 1 to 5). {@code search}, {@code domain} and
 *       {@code ndots} are not applied: the names asked are fully qualified. Read again when it changes.
 *   <li>Each try sends a query for the A records over UDP, from a new socket on an ephemeral port, with a random
 *       16-bit ID, to one server in turn; it takes only a reply from that server's address and port whose ID and
 *       question are the query's (anything else is dropped and the wait goes on), and asks again over TCP when the
 *       reply is truncated. NXDOMAIN and NOERROR are final; SERVFAIL, REFUSED, other codes, malformed replies and
 *       timeouts go on to the next server. A resolution takes at most the time per try times the attempts times
 *       the servers, and never more than {@link #MAX_TOTAL_MILLIS}.
 *   <li>A cache: answers with addresses for their TTL (at least 1 s, at most {@link #MAX_TTL} s), NXDOMAIN and empty
 *       answers for {@link #NEGATIVE_TTL} s; failures are not cached. At most 4096 names (then the expired
 *       ones go, and if that is not enough, all). Concurrent calls for one name that is not cached each ask.
 * </ul>
 *
 * <p>Thread-safe; each call blocks its thread while it asks.
 */
public final class HostResolver {
    /** The TTL, in seconds, of an answer from the hosts file. */
    public static final int HOSTS_TTL = 5;
    /** The longest time, in seconds, an answer is cached. */
    public static final int MAX_TTL = 300;
    /** How long, in seconds, a name that does not exist (or has no A record) is cached. */
    public static final int NEGATIVE_TTL = 30;
    /** The longest a resolution takes, whatever resolv.conf says. */
    public static final long MAX_TOTAL_MILLIS = 30_000;
    static final int MAX_CACHE = 4096;
    private static final int MAX_FILE = 1 << 20;
    private static final int DNS_PORT = 53;

    private final Path hostsFile;
    private final Path resolvConf;
    private final Servers fixedServers;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private final Object lock = new Object();
    private FileState hostsState;
    private Map<String, List<Inet4Address>> hosts = Map.of();
    private FileState resolvState;
    private Servers servers;

    /**
     * What a name resolved to.
     *
     * @param addresses its IPv4 addresses (empty when none, or on failure)
     * @param ttlSeconds how long, in seconds, the answer may be kept (0 on failure)
     * @param nxdomain whether the name does not exist
     * @param error null on success (addresses, no addresses or NXDOMAIN), else why there is no answer: for the denial
     *     log and the operator, not for the sandbox (which sees SERVFAIL)
     */
    public record Result(List<Inet4Address> addresses, int ttlSeconds, boolean nxdomain, String error) {
        /** Copies the list. */
        public Result {
            addresses = List.copyOf(addresses);
        }
    }

    /** The name servers and options in effect. */
    record Servers(List<InetSocketAddress> addresses, int timeoutMillis, int attempts) {
    }

    private record Cached(Result result, long expiresNanos) {
    }

    private record FileState(Object key, long mtime, long size) {
    }

    /**
     * A resolver reading the given files (the gate passes {@code /etc/hosts} and {@code /etc/resolv.conf}).
     *
     * @param hostsFile the hosts file (missing: no entries)
     * @param resolvConf the resolver configuration (missing: 127.0.0.1, default options)
     */
    public HostResolver(Path hostsFile, Path resolvConf) {
        this.hostsFile = Objects.requireNonNull(hostsFile);
        this.resolvConf = Objects.requireNonNull(resolvConf);
        this.fixedServers = null;
    }

    /**
     * A resolver asking the given servers, ports included (the test seam: resolv.conf has no port syntax).
     *
     * @param hostsFile the hosts file
     * @param nameservers the servers, in order
     * @param timeoutMillis the time per try
     * @param attempts the rounds over the servers
     */
    HostResolver(Path hostsFile, List<InetSocketAddress> nameservers, int timeoutMillis, int attempts) {
        this.hostsFile = Objects.requireNonNull(hostsFile);
        this.resolvConf = null;
        this.fixedServers = new Servers(List.copyOf(nameservers), timeoutMillis, attempts);
    }

    /**
     * Resolves a name.
     *
     * @param name a fully qualified name (a trailing dot is optional)
     * @return what it resolved to; never null, never an exception
     */
    public Result resolve(String name) {
        String n = DnsMessage.name(name);
        if (n == null) {
            return new Result(List.of(), 0, false, "not a DNS name");
        }
        List<Inet4Address> fromHosts = hostsEntries().get(n);
        if (fromHosts != null) {
            return new Result(fromHosts, HOSTS_TTL, false, null);
        }
        long now = System.nanoTime();
        Cached c = cache.get(n);
        if (c != null) {
            long left = c.expiresNanos() - now;
            if (left > 0) {
                Result r = c.result();
                return new Result(r.addresses(), (int) Math.max(1, left / 1_000_000_000L), r.nxdomain(), null);
            }
            cache.remove(n, c);
        }
        Result r = ask(n, servers());
        if (r.error() == null) {
            int ttl = r.addresses().isEmpty() ? NEGATIVE_TTL : Math.max(1, Math.min(MAX_TTL, r.ttlSeconds()));
            r = new Result(r.addresses(), ttl, r.nxdomain(), null);
            if (cache.size() >= MAX_CACHE) {
                cache.values().removeIf(e -> e.expiresNanos() - now <= 0);
                if (cache.size() >= MAX_CACHE) {
                    cache.clear();
                }
            }
            cache.put(n, new Cached(r, now + ttl * 1_000_000_000L));
        }
        return r;
    }

    private Result ask(String name, Servers s) {
        long deadline = System.nanoTime() + Math.min(MAX_TOTAL_MILLIS,
                (long) s.timeoutMillis() * s.attempts() * s.addresses().size()) * 1_000_000L;
        String error = "no name server";
        for (int attempt = 0; attempt < s.attempts(); attempt++) {
            for (InetSocketAddress server : s.addresses()) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    return new Result(List.of(), 0, false, error);
                }
                int timeout = (int) Math.min(left, s.timeoutMillis());
                String where = server.getAddress().getHostAddress() + ":" + server.getPort();
                try {
                    DnsMessage.Answer a = udp(server, name, timeout);
                    if (a == null) {
                        error = "no answer from " + where + " within " + timeout + " ms";
                        continue;
                    }
                    if (a.truncated()) {
                        timeout = (int) Math.max(1, Math.min(s.timeoutMillis(),
                                (deadline - System.nanoTime()) / 1_000_000L));
                        a = tcp(server, name, timeout);
                        if (a == null) {
                            error = "a malformed answer over TCP from " + where;
                            continue;
                        }
                    }
                    if (a.rcode() == DnsMessage.NOERROR) {
                        return new Result(a.addresses(), a.minTtl(), false, null);
                    }
                    if (a.rcode() == DnsMessage.NXDOMAIN) {
                        return new Result(List.of(), NEGATIVE_TTL, true, null);
                    }
                    error = where + " answered with response code " + a.rcode();
                } catch (SocketTimeoutException e) {
                    error = "no answer over TCP from " + where + " within " + timeout + " ms";
                } catch (IOException e) {
                    error = "cannot ask " + where + ": " + e.getMessage();
                }
            }
        }
        return new Result(List.of(), 0, false, error);
    }

    /** One try over UDP: the valid answer, or null when none came in time. */
    private DnsMessage.Answer udp(InetSocketAddress server, String name, int timeoutMillis) throws IOException {
        int id = random.nextInt(1 << 16);
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        try (DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET); Selector sel = Selector.open()) {
            // connected: the kernel drops datagrams from anyone else, and a closed port fails at once (ICMP)
            ch.connect(server);
            ch.configureBlocking(false);
            ch.register(sel, SelectionKey.OP_READ);
            ch.write(ByteBuffer.wrap(DnsMessage.queryA(id, name)));
            ByteBuffer in = ByteBuffer.allocate(4096);
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    return null;
                }
                sel.select(left);
                sel.selectedKeys().clear();
                // drain what is there: each datagram is checked on its own
                for (int i = 0; i < 64; i++) {
                    in.clear();
                    SocketAddress from = ch.receive(in);
                    if (from == null) {
                        break;
                    }
                    if (!server.equals(from)) {
                        continue; // not from the server asked
                    }
                    DnsMessage.Answer a = DnsMessage.parseAnswer(in.array(), in.position(), id, name);
                    if (a != null) {
                        return a;
                    }
                }
            }
        }
    }

    /** One try over TCP, all of it within {@code timeoutMillis}: the valid answer, or null when the reply is not one. */
    private DnsMessage.Answer tcp(InetSocketAddress server, String name, int timeoutMillis) throws IOException {
        int id = random.nextInt(1 << 16);
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        try (SocketChannel ch = SocketChannel.open()) {
            ch.socket().connect(server, timeoutMillis);
            OutputStream out = ch.socket().getOutputStream();
            out.write(DnsMessage.tcpFrame(DnsMessage.queryA(id, name)));
            out.flush();
            byte[] head = readFully(ch, 2, deadline);
            int n = head == null ? -1 : DnsMessage.tcpFrameLength(head, 0, head.length);
            byte[] msg = n < DnsMessage.HEADER ? null : readFully(ch, n, deadline);
            return msg == null ? null : DnsMessage.parseAnswer(msg, msg.length, id, name);
        }
    }

    /** {@code n} bytes, or null at the end of the stream; a server that trickles them still has only until the deadline. */
    private static byte[] readFully(SocketChannel ch, int n, long deadline) throws IOException {
        byte[] b = new byte[n];
        InputStream in = ch.socket().getInputStream();
        int got = 0;
        while (got < n) {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                throw new SocketTimeoutException("read timed out");
            }
            ch.socket().setSoTimeout((int) left);
            int r = in.read(b, got, n - got);
            if (r < 0) {
                return null;
            }
            got += r;
        }
        return b;
    }

    private Map<String, List<Inet4Address>> hostsEntries() {
        FileState now = state(hostsFile);
        synchronized (lock) {
            if (!Objects.equals(now, hostsState)) {
                hosts = parseHosts(read(hostsFile));
                hostsState = now;
            }
            return hosts;
        }
    }

    Servers servers() {
        if (fixedServers != null) {
            return fixedServers;
        }
        FileState now = state(resolvConf);
        synchronized (lock) {
            if (servers == null || !Objects.equals(now, resolvState)) {
                servers = parseResolvConf(read(resolvConf));
                resolvState = now;
            }
            return servers;
        }
    }

    private static FileState state(Path p) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            return new FileState(a.fileKey(), a.lastModifiedTime().toMillis(), a.size());
        } catch (IOException e) {
            return null;
        }
    }

    /** The file's first {@link #MAX_FILE} bytes as text, or "" when it cannot be read. */
    private static String read(Path p) {
        try (InputStream in = Files.newInputStream(p)) {
            return new String(in.readNBytes(MAX_FILE), StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return "";
        }
    }

    /** The IPv4 entries of a hosts file: each name (lower-case) to its addresses in the file's order. */
    static Map<String, List<Inet4Address>> parseHosts(String text) {
        Map<String, Set<Inet4Address>> m = new HashMap<>();
        for (String line : text.split("\n", -1)) {
            List<String> words = words(line);
            if (words.size() < 2) {
                continue;
            }
            Inet4Address a = ipv4(words.get(0));
            if (a == null) {
                continue;
            }
            for (String w : words.subList(1, words.size())) {
                String n = DnsMessage.name(w);
                if (n != null) {
                    m.computeIfAbsent(n, k -> new LinkedHashSet<>()).add(a);
                }
            }
        }
        Map<String, List<Inet4Address>> out = new HashMap<>();
        m.forEach((k, v) -> out.put(k, List.copyOf(v)));
        return Map.copyOf(out);
    }

    /** The name servers and options of a resolv.conf. */
    static Servers parseResolvConf(String text) {
        List<InetSocketAddress> ns = new ArrayList<>();
        int timeout = 2;
        int attempts = 2;
        for (String line : text.split("\n", -1)) {
            List<String> words = words(line.replace(';', '#'));
            if (words.isEmpty()) {
                continue;
            }
            if (words.get(0).equals("nameserver") && words.size() >= 2 && ns.size() < 3) {
                Inet4Address a = ipv4(words.get(1));
                if (a != null) {
                    ns.add(new InetSocketAddress(a, DNS_PORT));
                }
            } else if (words.get(0).equals("options")) {
                for (String o : words.subList(1, words.size())) {
                    if (o.startsWith("timeout:")) {
                        timeout = option(o.substring(8), timeout, 30);
                    } else if (o.startsWith("attempts:")) {
                        attempts = option(o.substring(9), attempts, 5);
                    }
                }
            }
        }
        if (ns.isEmpty()) {
            ns.add(new InetSocketAddress(InetAddress.getLoopbackAddress(), DNS_PORT));
        }
        return new Servers(List.copyOf(ns), timeout * 1000, attempts);
    }

    private static int option(String v, int fallback, int max) {
        if (v.isEmpty() || v.length() > 4) {
            return fallback;
        }
        int n = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return fallback;
            }
            n = n * 10 + c - '0';
        }
        return Math.max(1, Math.min(max, n));
    }

    /** The white-space separated words of a line before any {@code #}. */
    private static List<String> words(String line) {
        List<String> out = new ArrayList<>();
        int n = line.indexOf('#');
        if (n < 0) {
            n = line.length();
        }
        int i = 0;
        while (i < n) {
            while (i < n && (line.charAt(i) == ' ' || line.charAt(i) == '\t' || line.charAt(i) == '\r')) {
                i++;
            }
            int s = i;
            while (i < n && line.charAt(i) != ' ' && line.charAt(i) != '\t' && line.charAt(i) != '\r') {
                i++;
            }
            if (i > s) {
                out.add(line.substring(s, i));
            }
        }
        return out;
    }

    /** A dotted-quad IPv4 address (four decimal numbers 0 to 255), or null. */
    static Inet4Address ipv4(String s) {
        byte[] b = new byte[4];
        int part = 0;
        int value = 0;
        int digits = 0;
        for (int i = 0; i <= s.length(); i++) {
            char c = i < s.length() ? s.charAt(i) : '.';
            if (c == '.') {
                if (digits == 0 || part > 3) {
                    return null;
                }
                b[part++] = (byte) value;
                value = 0;
                digits = 0;
            } else if (c >= '0' && c <= '9' && digits < 3) {
                value = value * 10 + c - '0';
                digits++;
                if (value > 255) {
                    return null;
                }
            } else {
                return null;
            }
        }
        if (part != 4) {
            return null;
        }
        try {
            return (Inet4Address) InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
