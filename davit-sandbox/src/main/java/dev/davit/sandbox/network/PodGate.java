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
 * <p>It runs in its directory (the working directory: an emptyDir only its container mounts), given at start what
 * davit gives a gate on one host as files, as environment variables (none of them secret: secrets come later,
 * through the control socket): {@value #POLICY_ENV} (the policy file's text), and optionally
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
            write(dir.resolve(Gate.POLICY), policy);
            Path resolv = given(env, RESOLV_ENV, dir.resolve("resolv.conf"), Path.of("/etc/resolv.conf"));
            Path hosts = given(env, HOSTS_ENV, dir.resolve("hosts"), Path.of("/etc/hosts"));
            Path trust = given(env, TRUST_ENV, dir.resolve("trust.pem"), null);
            GateSys sys = GateSys.load();
            Gate g = new Gate(sys, dir, new HostResolver(hosts, resolv));
            g.policy.set(GatePolicyFile.read(dir.resolve(Gate.POLICY)));
            g.trustFile = trust;
            InetAddress lo = InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
            int tcp = sys.listen(new InetSocketAddress(lo, TCP_PORT), 1024);
            DatagramChannel udp = DatagramChannel.open(StandardProtocolFamily.INET);
            udp.bind(new InetSocketAddress(lo, DNS_PORT));
            g.serveOn(new Gate.Sockets(tcp, udp));
        } catch (Exception e) {
            Gate.fail(e.toString());
        }
    }

    /** The file {@code to} with the text of variable {@code name}, or {@code otherwise} when it is not set. */
    private static Path given(Map<String, String> env, String name, Path to, Path otherwise) throws IOException {
        String text = env.get(name);
        if (text == null) {
            return otherwise;
        }
        write(to, text);
        return to;
    }

    private static void write(Path to, String text) throws IOException {
        Path tmp = to.resolveSibling(to.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
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
