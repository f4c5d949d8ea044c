package dev.davit.sandbox.network;

import dev.davit.sandbox.EgressPolicy;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The egress gate: one small JVM per sandbox with an egress policy, outside the sandbox, the only way out of its
 * network namespace. See docs/reference/SANDBOX.md, "Egress policy: enforcement".
 *
 * <p>It runs in the HOST's network namespace (as the sandbox's own unprivileged network uid as root, as davit's
 * user without root), inside the user namespace that owns the sandbox's network namespace. One thread of it enters
 * the sandbox's namespace ({@code setns} moves only the calling thread) to make two sockets there: a TCP listener on
 * {@code 127.0.0.1:}{@value #TCP_PORT}, where the namespace's netfilter rules redirect every TCP connection the
 * sandbox makes, and a UDP socket on {@code 127.0.0.1:}{@value #DNS_PORT}, where they redirect every DNS query;
 * every other packet the sandbox sends out is rejected there. Every other thread stays in the host's namespace,
 * so the connections the gate makes after checking the policy are the host's own sockets: nothing carries the
 * sandbox's packets but the kernel and this process.
 *
 * <p>Its directory (its working directory; as root its uid's, 0700) holds {@value #POLICY} (the policy, written by
 * davit; {@link GatePolicyFile}), {@value #READY} (created once both sockets exist), {@link Denials#FILE} and
 * {@value #CONTROL} (a Unix socket: {@code reload} makes it read the policy again, for new connections and names at
 * once; connections already made are left alone).
 */
public final class Gate {
    /** The port of the gate's TCP listener in the sandbox's namespace (on its 127.0.0.1). */
    public static final int TCP_PORT = 1;
    /** The port of the gate's DNS socket in the sandbox's namespace (on its 127.0.0.1). */
    public static final int DNS_PORT = 53;
    /** The policy file in the gate's directory. */
    public static final String POLICY = "policy";
    /** Created in the gate's directory once it serves. */
    public static final String READY = "ready";
    /**
     * Created in the gate's directory by the namespace's wrapper once the namespace is set up (addresses, lo up,
     * rules): the gate makes its sockets only then. Bound earlier, before the namespace had a local address, the
     * kernel takes 127.0.0.1 for a broadcast address and binds it with no source address, and the DNS socket's
     * answers to redirected queries then leave from eth0's address, which the asker drops: no DNS over UDP for
     * the gate's life.
     */
    public static final String NETNS_UP = "netns-up";
    /** The control socket in the gate's directory. */
    public static final String CONTROL = "control.sock";
    /**
     * The password of the key store davit gives the gate with the certificates of the hosts it injects secrets for:
     * a container's, as the store travels in memory between davit and its gate only.
     */
    public static final String STORE_PASSWORD = "davit";
    /** How many connections it relays at once; more are reset (and recorded). */
    static final int MAX_CONNECTIONS = 512;

    final GateSys sys;
    final AtomicReference<EgressPolicy> policy = new AtomicReference<>();
    final Resolutions resolutions = new Resolutions();
    final HostResolver resolver;
    final Denials denials;
    final Path dir;
    /** The secrets it adds to requests ({@link Injections}), as davit last gave them. */
    volatile Injections injections = Injections.NONE;
    /** The PEM file of CA certificates trusted for the real hosts beside the runtime's (null: none). */
    Path trustFile;
    private javax.net.ssl.SSLContext upstreamTrust;

    Gate(GateSys sys, Path dir, HostResolver resolver) {
        this.sys = sys;
        this.dir = dir;
        this.resolver = resolver;
        this.denials = new Denials(dir);
    }

    /**
     * Runs the gate: {@code --netns PATH [--resolv-conf PATH] [--hosts PATH] [--trust PEM]} (the CA certificates it
     * trusts for the hosts it adds secrets for, beside the runtime's), in its directory (the working directory). Exits 0 when told to stop (SIGTERM), 70 when it cannot start (with one line on stderr).
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        if (args.length == 1 && args[0].equals("--train")) {
            train();
            return;
        }
        if (args.length == 1 && args[0].equals("--spare")) {
            spare();
            return;
        }
        String netns = null;
        Path resolvConf = Path.of("/etc/resolv.conf");
        Path hosts = Path.of("/etc/hosts");
        Path trust = Path.of("/etc/ssl/certs/ca-certificates.crt");
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--netns" -> netns = args[i + 1];
                case "--resolv-conf" -> resolvConf = Path.of(args[i + 1]);
                case "--hosts" -> hosts = Path.of(args[i + 1]);
                case "--trust" -> trust = Path.of(args[i + 1]);
                default -> fail("unknown argument " + args[i]);
            }
        }
        if (netns == null) {
            fail("usage: Gate --netns PATH [--resolv-conf PATH] [--hosts PATH] [--trust PEM]");
        }
        try {
            GateSys sys = GateSys.load();
            Path dir = Path.of("");
            Gate g = new Gate(sys, dir, new HostResolver(hosts, resolvConf));
            g.policy.set(GatePolicyFile.read(dir.resolve(POLICY)));
            g.trustFile = trust;
            g.serve(netns);
        } catch (Exception e) {
            fail(e.toString());
        }
    }

    /**
     * The AOT cache's training run (see {@code GateAot}): loads and links what a gate's start does (the FFM system
     * calls, a policy, the parsers, the threads), on sockets of its own namespace's loopback, serving nothing, then
     * exits.
     */
    private static void train() {
        try {
            GateSys sys = GateSys.load();
            int ns = sys.openReadOnly("/proc/self/ns/net");
            sys.close(ns, false);
            int l = sys.listen(new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), 0), 1);
            sys.close(l, true);
            DatagramChannel.open(StandardProtocolFamily.INET).close();
            Path dir = Files.createTempDirectory("davit-gate-train");
            Files.writeString(dir.resolve(POLICY), "allow-host example.test:443\nallow-cidr 203.0.113.0/24\n"
                    + "deny-host *.bad.example.test\n");
            Gate g = new Gate(sys, dir, new HostResolver(dir.resolve("hosts"), dir.resolve("resolv.conf")));
            g.policy.set(GatePolicyFile.read(dir.resolve(POLICY)));
            g.hostAddresses();
            GateDns dns = new GateDns(g);
            byte[] q = DnsMessage.queryA(1, "bad.example.test");
            dns.answer(q, q.length);
            TlsClientHello.sni(new byte[] {22, 3, 1, 0, 4, 1, 0, 0, 0}, 9);
            HttpRequestHead.host("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
                    39);
            new GateRelay(g, dns);
            Thread.ofPlatform().start(() -> { }).join();
            Thread.ofVirtual().start(() -> { }).join();
            try (var s = java.util.stream.Stream.of(dir.resolve(POLICY), dir.resolve(Denials.FILE))) {
                for (Path p : s.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
            System.exit(0);
        } catch (Exception e) {
            fail("training: " + e);
        }
    }

    static void fail(String why) {
        System.err.println("davit-gate: " + why);
        System.exit(70);
    }

    /** Makes the sockets, starts the threads and says it is ready; returns (the threads keep the JVM). */
    void serve(String netns) throws Exception {
        Sockets in = sockets(sys, netns, dir.resolve(NETNS_UP));
        // what it held capabilities for (over the sandbox's namespace only) is done: every thread started from here
        // on, all that read what the sandbox sends, starts without any
        sys.dropCapabilities();
        serveOn(in);
    }

    /** The gate's two sockets in the sandbox's namespace: the TCP listener's descriptor, the DNS socket. */
    record Sockets(int tcp, DatagramChannel udp) {
    }

    /**
     * Makes the two sockets in the network namespace {@code netns} (a path) once the namespace's wrapper says it is
     * set up (the file {@code up}, {@link #NETNS_UP} of the gate's directory).
     */
    static Sockets sockets(GateSys sys, String netns, Path up) throws Exception {
        return new Binder(sys, netns).bind(up);
    }

    /**
     * The gate's two sockets in a sandbox's network namespace, made by a thread of their own that enters it (made
     * here, with the capabilities that takes) and makes them at once but binds them only when {@link #bind} is told
     * the namespace is set up: a spare gate becomes its user and reads its files in the meantime. Bound before the
     * namespace has a local address, the kernel would take 127.0.0.1 for a broadcast address (see
     * {@link #NETNS_UP}). The thread ends once they are bound: no thread of the gate stays in the namespace.
     */
    static final class Binder {
        private final java.util.concurrent.CountDownLatch made = new java.util.concurrent.CountDownLatch(1);
        private final java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        private final Thread inside;
        private volatile int tcp = -1;
        private volatile DatagramChannel udp;
        private volatile Exception failed;

        Binder(GateSys sys, String netns) throws Exception {
            // the JDK's network classes initialised here, in the host's namespace, before one thread leaves it
            DatagramChannel.open(StandardProtocolFamily.INET).close();
            int nsfd = sys.openReadOnly(netns);
            inside = Thread.ofPlatform().name("gate-namespace").unstarted(() -> {
                try {
                    try {
                        sys.enterNetworkNamespace(nsfd);
                    } finally {
                        sys.close(nsfd, false);
                    }
                    tcp = sys.tcpSocket();
                    udp = DatagramChannel.open(StandardProtocolFamily.INET);
                    made.countDown();
                    go.await();
                    InetAddress lo = InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
                    sys.bindAndListen(tcp, new InetSocketAddress(lo, TCP_PORT), 1024);
                    udp.bind(new InetSocketAddress(lo, DNS_PORT));
                } catch (Exception e) {
                    failed = e;
                } finally {
                    made.countDown();
                }
            });
            inside.start();
            // in the namespace, its sockets made, before the caller gives up what that took (a spare: its root)
            made.await();
            if (failed != null) {
                inside.join();
                throw failed;
            }
        }

        /** Waits (20 s at most) for {@code up}, then binds the sockets; them. */
        Sockets bind(Path up) throws Exception {
            long setUp = System.nanoTime() + 20_000_000_000L;
            while (!Files.exists(up)) {
                if (System.nanoTime() > setUp || !inside.isAlive()) {
                    go.countDown();
                    inside.join();
                    throw failed != null ? failed
                            : new IOException("the sandbox's network namespace was not set up within 20 s");
                }
                Thread.sleep(1);
            }
            go.countDown();
            inside.join();
            if (failed != null) {
                throw failed;
            }
            return new Sockets(tcp, udp);
        }
    }

    /** Serves on the sockets {@code in}, with no capability left: the control socket, the threads, "ready". */
    void serveOn(Sockets in) throws Exception {
        hostAddresses();
        ServerSocketChannel control = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        Files.deleteIfExists(dir.resolve(CONTROL));
        control.bind(UnixDomainSocketAddress.of(dir.resolve(CONTROL)));
        GateDns dns = new GateDns(this);
        GateRelay relay = new GateRelay(this, dns);
        daemon("gate-dns", () -> dns.serveUdp(in.udp()));
        daemon("gate-accept", () -> relay.acceptLoop(in.tcp()));
        Thread ctl = Thread.ofPlatform().name("gate-control").unstarted(() -> controlLoop(control));
        ctl.start();
        Path tmp = dir.resolve(READY + ".tmp");
        Files.write(tmp, new byte[0]);
        Files.move(tmp, dir.resolve(READY), StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * A spare gate ({@code --spare}): started before a sandbox needs it, as root with only the capabilities it needs
     * to make its sockets in a namespace and then become its user, in no namespace of a sandbox, its working
     * directory the spares' (davit's, 0700). It links what a gate's start links, then waits for its sandbox on its
     * standard input (ends at once, 0, when that ends first: its davit is gone): lines {@code KEY VALUE} ({@code dir}
     * the gate's directory, {@code netns}, {@code uid}, {@code gid}, optionally {@code resolv-conf}, {@code hosts},
     * {@code trust}, relative to {@code dir}) and a last line {@code go}. It then enters {@code dir}, has a thread
     * enter {@code netns} and make its two sockets there, becomes {@code uid}:{@code gid} (every thread: no
     * capability is left to any, which it checks), and only then reads a file of its directory; once the namespace
     * is set up its sockets are bound (as its user: the set-up makes every port unprivileged there) and it serves.
     */
    /** The packages whose classes a spare may load after it became its user ({@link #preloadFromDirectories}). */
    private static final List<String> PRELOADED = List.of("dev/davit/sandbox/network/", "dev/davit/sandbox/fs/",
            "dev/davit/sandbox/", "dev/davit/oci/", "dev/davit/oci/internal/");

    /**
     * Loads (without initializing) the classes of {@link #PRELOADED} from the class path's directories, while this
     * spare is still root: once it becomes its user it is no longer dumpable, its {@code /proc/self/fd} (the class
     * path entries davit opened for it) is root's, and a directory entry under a directory its user may not reach
     * (a build's {@code target/classes} in a 0700 checkout) can no longer give it a class. A jar, held open, always
     * can: nothing to do for one.
     */
    private static void preloadFromDirectories() {
        ClassLoader loader = Gate.class.getClassLoader();
        for (String entry : System.getProperty("java.class.path", "").split(java.io.File.pathSeparator)) {
            Path root = Path.of(entry);
            if (entry.isEmpty() || !java.nio.file.Files.isDirectory(root)) {
                continue;
            }
            for (String pkg : PRELOADED) {
                Path dir = root.resolve(pkg);
                if (!java.nio.file.Files.isDirectory(dir)) {
                    continue;
                }
                try (var files = java.nio.file.Files.list(dir)) {
                    for (Path f : files.toList()) {
                        String name = f.getFileName().toString();
                        if (name.endsWith(".class") && !name.equals("module-info.class")) {
                            try {
                                Class.forName((pkg + name.substring(0, name.length() - 6)).replace('/', '.'), false,
                                        loader);
                            } catch (ClassNotFoundException | LinkageError e) {
                                // not loadable here (another release's class): not needed
                            }
                        }
                    }
                } catch (java.io.IOException e) {
                    // what cannot be listed is loaded when needed, as before
                }
            }
        }
    }

    private static void spare() {
        GateSys sys = null;
        java.util.Map<String, String> go = null;
        try {
            sys = GateSys.load();
            sys.close(sys.openReadOnly("/proc/self/ns/net"), false); // the system call's downcall made
            sys.prepareBecome();
            DatagramChannel.open(StandardProtocolFamily.INET).close();
            new GateRelay(null, null);
            preloadFromDirectories();
            go = handOver(System.in);
        } catch (Exception e) {
            fail("spare: " + e);
        }
        if (go == null) {
            System.exit(0); // its davit ended before a sandbox needed it
        }
        try {
            for (String k : List.of("dir", "netns", "uid", "gid")) {
                if (!go.containsKey(k)) {
                    fail("spare: no " + k + " was given");
                }
            }
            sys.chdir(go.get("dir"));
            Binder binder = new Binder(sys, go.get("netns"));
            // all it needed root for is done: the rest, while the namespace is set up, as its user
            sys.become(Integer.parseInt(go.get("uid")), Integer.parseInt(go.get("gid")));
            String left = capabilitiesLeft();
            if (left != null) {
                fail("capabilities left after becoming " + go.get("uid") + ": " + left);
            }
            Path dir = Path.of("");
            Gate g = new Gate(sys, dir, new HostResolver(Path.of(go.getOrDefault("hosts", "/etc/hosts")),
                    Path.of(go.getOrDefault("resolv-conf", "/etc/resolv.conf"))));
            g.policy.set(GatePolicyFile.read(dir.resolve(POLICY)));
            g.trustFile = Path.of(go.getOrDefault("trust", "/etc/ssl/certs/ca-certificates.crt"));
            g.hostAddresses();
            // its ports (1, 53) as its user: the namespace's set-up made every port unprivileged there
            g.serveOn(binder.bind(Path.of(NETNS_UP)));
        } catch (Exception e) {
            fail(e.toString());
        }
    }

    /** The spare's orders: {@code KEY VALUE} lines up to {@code go}; null when its input ends first. */
    static java.util.Map<String, String> handOver(java.io.InputStream in) throws IOException {
        java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(in,
                StandardCharsets.UTF_8));
        java.util.Map<String, String> out = new java.util.HashMap<>();
        for (String line; (line = r.readLine()) != null; ) {
            if (line.equals("go")) {
                return out;
            }
            int sp = line.indexOf(' ');
            if (sp <= 0 || out.size() > 16) {
                throw new IOException("bad order '" + line + "'");
            }
            out.put(line.substring(0, sp), line.substring(sp + 1));
        }
        return null;
    }

    /** Which thread still has a capability (its /proc status line), or null when none has one. */
    static String capabilitiesLeft() throws IOException {
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                String status;
                try {
                    status = Files.readString(t.resolve("status"));
                } catch (java.nio.file.NoSuchFileException e) {
                    continue; // ended meanwhile
                }
                for (String l : status.lines().toList()) {
                    if ((l.startsWith("CapEff:") || l.startsWith("CapPrm:") || l.startsWith("CapAmb:")
                            || l.startsWith("CapInh:"))
                            && !l.substring(7).strip().matches("0+")) {
                        return t.getFileName() + " " + l;
                    }
                }
            }
        }
        return null;
    }

    private static void daemon(String name, Runnable r) {
        Thread t = Thread.ofPlatform().name(name).daemon(true).unstarted(r);
        t.start();
    }

    /** The most a control request may hold: a key store and up to 64 secrets' values of up to 64 KiB. */
    static final int MAX_CONTROL = 1 << 20;

    /**
     * One request per connection, its lines ended by the client's end of output or, for the one-line requests, by
     * their line end: {@code reload} (answered {@code ok} or {@code error ...}), {@code ping}, or {@code inject}
     * followed by {@link Injections}' lines and a last line {@code end}.
     */
    private void controlLoop(ServerSocketChannel control) {
        while (true) {
            try (SocketChannel c = control.accept()) {
                ByteBuffer in = ByteBuffer.allocate(MAX_CONTROL);
                while (in.hasRemaining() && c.read(in) > 0 && !complete(in)) {
                    // to its end
                }
                String text = new String(in.array(), 0, in.position(), StandardCharsets.US_ASCII);
                List<String> lines = text.lines().toList();
                String req = lines.isEmpty() ? "" : lines.get(0).strip();
                String reply;
                if (req.equals("reload")) {
                    try {
                        policy.set(GatePolicyFile.read(dir.resolve(POLICY)));
                        reply = "ok";
                    } catch (Exception e) {
                        reply = "error " + e.getMessage();
                    }
                } else if (req.equals("inject") && complete(in)) {
                    try {
                        injections = Injections.parse(lines.subList(1, lines.size() - 1));
                        reply = "ok";
                    } catch (Exception e) {
                        reply = "error " + e.getClass().getSimpleName(); // never a value
                    }
                } else if (req.equals("ping")) {
                    reply = "ok";
                } else {
                    reply = "error unknown or incomplete request";
                }
                c.write(ByteBuffer.wrap((reply.replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8)));
            } catch (IOException e) {
                // that client's problem; the next one
            }
        }
    }

    /** Whether the request read so far is whole: a one-line request's line, or {@code inject}'s last line. */
    private static boolean complete(ByteBuffer in) {
        int n = in.position();
        byte[] a = in.array();
        if (n == 0 || a[n - 1] != '\n') {
            return false;
        }
        boolean inject = n >= 7 && new String(a, 0, 7, StandardCharsets.US_ASCII).equals("inject\n");
        return !inject || n >= 12 && new String(a, n - 5, 5, StandardCharsets.US_ASCII).equals("\nend\n");
    }

    /** What the gate trusts for the real hosts it adds secrets for (made at the first such connection). */
    synchronized javax.net.ssl.SSLContext upstreamTrust() throws Exception {
        if (upstreamTrust == null) {
            upstreamTrust = Injections.trust(trustFile);
        }
        return upstreamTrust;
    }

    /**
     * Whether {@code a} may be reached although a name resolved to it or a connection goes to it: never a special
     * address (loopback, link-local, private, ...: {@link EgressPolicy#isSpecial}) or one of the host's own,
     * unless an address entry of the policy allows it explicitly ({@link EgressPolicy#explicitlyAllows}).
     */
    boolean reachable(InetAddress a, int port) {
        if (!(a instanceof Inet4Address)) {
            return false;
        }
        Set<InetAddress> own = hostAddresses();
        if (EgressPolicy.isSpecial(a) || own.contains(a)) {
            return policy.get().explicitlyAllows(a, port, own);
        }
        return true;
    }

    /** The host's own addresses (of its namespace), looked up again after 5 s. */
    Set<InetAddress> hostAddresses() {
        return EgressPolicy.hostAddresses();
    }

    /** The addresses of {@code all} the sandbox may reach (see {@link #reachable}) at any port. */
    List<Inet4Address> reachable(List<Inet4Address> all) {
        List<Inet4Address> out = new ArrayList<>(all.size());
        for (Inet4Address a : all) {
            if (reachable(a, 0)) {
                out.add(a);
            }
        }
        return out;
    }
}
