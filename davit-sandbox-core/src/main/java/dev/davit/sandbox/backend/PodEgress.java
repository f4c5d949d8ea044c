package dev.davit.sandbox.backend;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.network.GatePolicyFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a backend that runs the egress gate as its sandbox's sidecar (the k8s backend, in a pod) needs of it: the
 * gate's commands ({@code davit-agent gate pod} and the modes davit speaks to it with over the pod's exec: the agent's
 * gate/pod.rs), the environment it starts from and the netfilter rules of the pod. The gate is the same program as on
 * one host, in an image that holds it alone.
 */
public final class PodEgress {
    /** The gate's program in its image. */
    public static final String PROGRAM = "/davit-agent";
    /**
     * The TCP port the pod's connections are redirected to (on its 127.0.0.1; unprivileged: the gate has no
     * capability).
     */
    public static final int TCP_PORT = 15001;
    /** The port of its DNS socket on the pod's 127.0.0.1. */
    public static final int DNS_PORT = 15053;
    /** The gate's denials files, the rotated one first. */
    public static final List<String> DENIALS = List.of("denials.jsonl.1", "denials.jsonl");
    /** The most of each denials file read (its end). */
    public static final long DENIALS_READ_MAX = Egress.DENIALS_READ_MAX;
    static final String POLICY_ENV = "DAVIT_GATE_POLICY";
    static final String RESOLV_ENV = "DAVIT_GATE_RESOLV_CONF";
    static final String HOSTS_ENV = "DAVIT_GATE_HOSTS";
    static final String TRUST_ENV = "DAVIT_GATE_TRUST";

    private PodEgress() {
    }

    /** The gate's command in its container (its directory: {@code /gate}, an emptyDir only it mounts). */
    public static List<String> command() {
        return List.of(PROGRAM, "gate", "pod");
    }

    /** Its startup probe: succeeds once it serves. */
    public static List<String> ready() {
        return List.of(PROGRAM, "gate", "ready");
    }

    /**
     * The command that sends one control request of {@code bytes} bytes (its standard input) and prints the answer.
     */
    public static List<String> ask(int bytes) {
        return List.of(PROGRAM, "gate", "ask", Integer.toString(bytes));
    }

    /**
     * The command that gives the gate a new policy of {@code bytes} bytes (its standard input) and prints its answer.
     */
    public static List<String> policy(int bytes) {
        return List.of(PROGRAM, "gate", "policy", Integer.toString(bytes));
    }

    /**
     * The command that prints the last {@link #DENIALS_READ_MAX} bytes of denials file {@code file} (of {@link
     * #DENIALS}).
     */
    public static List<String> tail(String file) {
        return List.of(PROGRAM, "gate", "tail", file, Long.toString(DENIALS_READ_MAX));
    }

    /**
     * The gate's environment at start: the policy, and with {@link SandboxOptions#egressDns} the resolv.conf, hosts
     * and CA certificates found there.
     *
     * @throws DavitException USAGE when a file of egressDns cannot be read
     */
    public static Map<String, String> environment(EgressPolicy policy, SandboxOptions options) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put(POLICY_ENV, GatePolicyFile.text(policy));
        Path dns = options.egressDns();
        if (dns != null) {
            env.put(RESOLV_ENV, read(dns.resolve("resolv.conf")));
            env.put(HOSTS_ENV, read(dns.resolve("hosts")));
            if (Files.isRegularFile(dns.resolve(Egress.TRUST))) {
                env.put(TRUST_ENV, read(dns.resolve(Egress.TRUST)));
            }
        }
        for (Map.Entry<String, String> e : env.entrySet()) {
            int size = e.getKey().length() + 1 + e.getValue().getBytes(StandardCharsets.UTF_8).length;
            if (size >= ENV_MAX) {
                // the kernel's bound on one environment string: the gate's container would never start
                throw new DavitException(Kind.USAGE, "the egress gate's " + (e.getKey().equals(POLICY_ENV)
                        ? "policy" : e.getKey().equals(TRUST_ENV) ? "CA certificates (" + Egress.TRUST + ")"
                        : "name resolution files") + " take " + size + " bytes, more than the " + ENV_MAX
                        + " a pod's environment variable may hold: give fewer entries or certificates");
            }
        }
        return env;
    }

    /** The most one environment string may take (the kernel's MAX_ARG_STRLEN, 32 pages). */
    static final int ENV_MAX = 128 << 10;

    private static String read(Path f) {
        try {
            return Files.readString(f, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DavitException(Kind.USAGE, "cannot read " + f + " (the egress gate's name resolution): "
                    + e.getMessage());
        }
    }

    /**
     * The uid and gid the image's user ({@code User} of its config: a number, a name of its /etc/passwd, with a
     * group or not) is in {@code rootfs}; {0, 0} for none.
     *
     * @throws DavitException USAGE when a name is not in the image's files or a number is not a uid
     */
    public static long[] imageIds(Path rootfs, String user) {
        int[] ids;
        try {
            ids = dev.davit.sandbox.backend.Users.resolve(rootfs, user);
        } catch (NumberFormatException e) {
            throw new DavitException(Kind.USAGE, "the image's user '" + dev.davit.oci.internal.Text.printable(user)
                    + "' is not a uid (0 to 2147483647) nor a name of its /etc/passwd");
        }
        return ids == null ? new long[] {0, 0} : new long[] {ids[0], ids[1]};
    }

    /**
     * The pod's IPv4 rules (iptables-restore): the gate's user {@code uid} goes out, the rest of the pod's TCP and DNS
     * goes to the gate, everything else out is rejected; loopback stays the pod's.
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

    /** The pod's IPv6 rules (ip6tables-restore): only loopback (the gate reaches IPv4 only). */
    public static String rules6() {
        return "*filter\n"
                + ":OUTPUT ACCEPT [0:0]\n"
                + "-A OUTPUT -o lo -j ACCEPT\n"
                + "-A OUTPUT -j REJECT\n"
                + "COMMIT\n";
    }

    /** The policy file's text. */
    public static String policyText(EgressPolicy policy) {
        return GatePolicyFile.text(policy);
    }

    /**
     * What a one-shot run's gate refused (its denials' lines), the newest {@link
     * dev.davit.sandbox.EgressDenial#MAX_IN_RESULT}.
     */
    public static List<dev.davit.sandbox.EgressDenial> denied(List<String> lines) {
        return dev.davit.sandbox.EgressDenial.newest(dev.davit.sandbox.internal.SandboxJson.denials(lines));
    }

    /** The control request that gives the gate the secrets it adds (replacing those it had). */
    public static String inject(List<String> lines) {
        return "inject\n" + String.join("\n", lines) + "\nend\n";
    }
}
