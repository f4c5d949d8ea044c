package dev.davit.sandbox.network;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The egress gate as a Kubernetes pod's sidecar ({@code Gate --pod}): the same gate, in the pod's network namespace
 * beside the sandbox's container instead of outside it. The pod's init container (with NET_ADMIN, before either
 * starts) loaded {@link #rules}: every TCP connection and DNS query of the pod is redirected to the gate's sockets on
 * 127.0.0.1 ({@value #TCP_PORT}, {@value #DNS_PORT}), every other packet out is rejected, except what the gate's
 * own user sends, which leaves as usual. The sandbox's container runs as another user with no capability, so it
 * can neither change the rules nor become the gate's user.
 *
 * <p>It runs in its directory (the working directory: an emptyDir only its container mounts), given at its first
 * start what davit gives a gate on one host as files, as environment variables (none of them secret: secrets come
 * later, through the control socket), and keeps there what it was given since, for a restart of its container: {@value #POLICY_ENV} (the policy file's text), and optionally
 * {@value #RESOLV_ENV}, {@value #HOSTS_ENV} and {@value #TRUST_ENV} (resolv.conf, hosts, CA certificates; by
 * default the container's own resolv.conf and hosts and the runtime's CA certificates). davit reaches its control
 * socket through the pod's exec, with {@code Gate --ask} ({@link #ask}).
 */
public final class PodGate {
    /** The port of the gate's TCP listener on the pod's 127.0.0.1 (unprivileged: the gate has no capability). */
    public static final int TCP_PORT = 15001;
    /** The port of its DNS socket on the pod's 127.0.0.1. */
    public static final int DNS_PORT = 15053;
    public static final String POLICY_ENV = "DAVIT_GATE_POLICY";
    public static final String RESOLV_ENV = "DAVIT_GATE_RESOLV_CONF";
    public static final String HOSTS_ENV = "DAVIT_GATE_HOSTS";
    public static final String TRUST_ENV = "DAVIT_GATE_TRUST";

    private PodGate() {
    }

    /**
     * The pod's netfilter rules, for iptables-restore: the gate's user {@code uid} goes out, the rest of the pod's
     * TCP and DNS goes to the gate, everything else out is rejected; loopback stays the pod's.
     */
    public static String rules(long uid) {
        return "*nat\n"
                + ":OUTPUT ACCEPT [0:0]\n"
                + "-A OUTPUT -m owner --uid-owner " + uid + " -j RETURN\n"
                + "-A OUTPUT -p udp --dport 53 -j REDIRECT --to-ports " + DNS_PORT + "\n"
                + "-A OUTPUT -p tcp --dport 53 -j REDIRECT --to-ports " + TCP_PORT + "\n"
                + "-A OUTPUT -d 127.0.0.0/8 -j RETURN\n"
                + "-A OUTPUT -p tcp -j REDIRECT --to-ports " + TCP_PORT + "\n"
                + "COMMIT\n"
                + "*filter\n"
                + ":OUTPUT ACCEPT [0:0]\n"
                // a redirected packet's destination is 127.0.0.1 here, though it was routed out of eth0
                + "-A OUTPUT -d 127.0.0.0/8 -j ACCEPT\n"
                + "-A OUTPUT -o lo -j ACCEPT\n"
                + "-A OUTPUT -m owner --uid-owner " + uid + " -j ACCEPT\n"
                + "-A OUTPUT -j REJECT --reject-with icmp-port-unreachable\n"
                + "COMMIT\n";
    }

    /** The pod's IPv6 rules: only loopback (the gate reaches IPv4 only). */
    public static String rules6() {
        return "*filter\n"
                + ":OUTPUT ACCEPT [0:0]\n"
                + "-A OUTPUT -o lo -j ACCEPT\n"
                + "-A OUTPUT -j REJECT\n"
                + "COMMIT\n";
    }

    static void serve() {
        try {
            Map<String, String> env = System.getenv();
            String policy = env.get(POLICY_ENV);
            if (policy == null) {
                Gate.fail("--pod needs the policy in " + POLICY_ENV);
            }
            Path dir = Path.of("");
            // a restart (its container's: the pod and its sandbox go on) serves only once it serves again
            Files.deleteIfExists(dir.resolve(Gate.READY));
            // what the pod's spec says is the first start's; a restart keeps what davit gave it since
            first(dir.resolve(Gate.POLICY), policy);
            // the gate's own copies, made at its first start, before the sandbox's container starts: the pod's
            // /etc/hosts and /etc/resolv.conf are the same files in every container of the pod, and the sandbox's
            // root may write them (an allowed name would then resolve where it says)
            Path resolv = dir.resolve("resolv.conf");
            first(resolv, env.containsKey(RESOLV_ENV) ? env.get(RESOLV_ENV) : read(Path.of("/etc/resolv.conf")));
            Path hosts = dir.resolve("hosts");
            first(hosts, env.containsKey(HOSTS_ENV) ? env.get(HOSTS_ENV) : read(Path.of("/etc/hosts")));
            Path trust = null;
            if (env.containsKey(TRUST_ENV)) {
                trust = dir.resolve("trust.pem");
                first(trust, env.get(TRUST_ENV));
            }
            GateSys sys = GateSys.load();
            Gate g = new Gate(sys, dir, new HostResolver(hosts, resolv));
            g.policy.set(GatePolicyFile.read(dir.resolve(Gate.POLICY)));
            g.trustFile = trust;
            g.keepInjections = true;
            Path kept = dir.resolve(INJECTIONS);
            if (Files.isRegularFile(kept, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                g.injections = Injections.parse(Files.readAllLines(kept, StandardCharsets.UTF_8));
            }
            InetAddress lo = InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
            int tcp = sys.listen(new InetSocketAddress(lo, TCP_PORT), 1024);
            DatagramChannel udp = DatagramChannel.open(StandardProtocolFamily.INET);
            udp.bind(new InetSocketAddress(lo, DNS_PORT));
            g.serveOn(new Gate.Sockets(tcp, udp));
        } catch (Exception e) {
            Gate.fail(e.toString());
        }
    }

    /** The file of the gate's directory where the secrets it adds are kept (in memory: its emptyDir's medium). */
    static final String INJECTIONS = "injections";

    /** Writes {@code to} with {@code text} unless it exists (from an earlier start of the gate's container). */
    private static void first(Path to, String text) throws IOException {
        if (!Files.exists(to, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            write(to, text, false);
        }
    }

    private static String read(Path f) throws IOException {
        return Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
    }

    private static void write(Path to, String text, boolean secret) throws IOException {
        Path tmp = to.resolveSibling(to.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--")));
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Keeps the injections' lines in the gate's directory (mode 0600, the gate's own: an in-memory emptyDir that only
     * its container mounts, as the gate's memory is), so that a restart of its container adds them still.
     */
    static void keep(Path dir, java.util.List<String> lines) {
        try {
            write(dir.resolve(INJECTIONS), String.join("\n", lines) + "\n", true);
        } catch (IOException e) {
            System.err.println("davit-gate: cannot keep the secrets for a restart: " + e.getClass().getSimpleName());
        }
    }

    /**
     * {@code Gate --ask}: sends its standard input (one control request, at most {@link Gate#MAX_CONTROL} bytes) to
     * the control socket of the gate whose directory is the working directory and prints the one-line answer; exits
     * 0 when it is {@code ok}, 1 otherwise, 70 when the gate cannot be reached.
     */
    static void ask() {
        try {
            byte[] request = System.in.readNBytes(Gate.MAX_CONTROL + 1);
            if (request.length > Gate.MAX_CONTROL) {
                Gate.fail("the request is more than " + Gate.MAX_CONTROL + " bytes");
            }
            String reply;
            try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(Path.of(Gate.CONTROL)))) {
                c.write(ByteBuffer.wrap(request));
                c.shutdownOutput();
                ByteBuffer in = ByteBuffer.allocate(4096);
                while (in.hasRemaining() && c.read(in) > 0) {
                    // to its end
                }
                reply = new String(in.array(), 0, in.position(), StandardCharsets.UTF_8).strip();
            }
            System.out.println(reply);
            System.exit(reply.equals("ok") ? 0 : 1);
        } catch (IOException e) {
            Gate.fail("cannot reach the gate: " + e.getMessage());
        }
    }
}
