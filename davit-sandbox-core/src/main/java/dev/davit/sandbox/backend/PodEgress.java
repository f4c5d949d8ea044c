package dev.davit.sandbox.backend;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.network.Gate;
import dev.davit.sandbox.network.GatePolicyFile;
import dev.davit.sandbox.network.PodGate;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a backend that runs the egress gate as its sandbox's sidecar (the k8s backend, in a pod) needs of it: the
 * gate's class path and JVM options, its command, the environment it starts from, the netfilter rules of the pod and
 * the messages of its control socket. The gate is the same code as on one host ({@code Gate --pod}).
 */
public final class PodEgress {
    /** The TCP port the pod's connections are redirected to (on its 127.0.0.1). */
    public static final int TCP_PORT = PodGate.TCP_PORT;
    /** The file, in the gate's directory, that exists once it serves. */
    public static final String READY = Gate.READY;
    /** The gate's denials files, the rotated one first. */
    public static final List<String> DENIALS = List.of("denials.jsonl.1", "denials.jsonl");
    /** The most of each denials file read (its end). */
    public static final long DENIALS_READ_MAX = Egress.DENIALS_READ_MAX;

    private PodEgress() {
    }

    /** The class path entries (jars or class directories) the gate's classes come from, on this host. */
    public static List<String> classPath() {
        return Egress.classPath();
    }

    /**
     * The gate's command in its container: {@code java} (at {@code java}), the gate's JVM options, the class path
     * {@code cp} (as the container sees it) and {@code Gate --pod}.
     */
    public static List<String> command(String java, List<String> cp) {
        List<String> a = new ArrayList<>(List.of(java));
        a.addAll(Egress.JVM_OPTIONS);
        a.addAll(List.of("-Xshare:auto", "-cp", String.join(":", cp), Gate.class.getName(), "--pod"));
        return a;
    }

    /** The command that sends one control request (its standard input) to the gate and prints the answer. */
    public static List<String> ask(String java, List<String> cp) {
        List<String> a = new ArrayList<>(List.of(java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx32m",
                "-XX:-UsePerfData", "-Xshare:auto", "-cp", String.join(":", cp), Gate.class.getName(), "--ask"));
        return a;
    }

    /**
     * The gate's environment at start: the policy, and with {@link SandboxOptions#egressDns} the resolv.conf, hosts
     * and CA certificates found there.
     *
     * @throws DavitException USAGE when a file of egressDns cannot be read
     */
    public static Map<String, String> environment(EgressPolicy policy, SandboxOptions options) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put(PodGate.POLICY_ENV, GatePolicyFile.text(policy));
        Path dns = options.egressDns();
        if (dns != null) {
            env.put(PodGate.RESOLV_ENV, read(dns.resolve("resolv.conf")));
            env.put(PodGate.HOSTS_ENV, read(dns.resolve("hosts")));
            if (Files.isRegularFile(dns.resolve(Egress.TRUST))) {
                env.put(PodGate.TRUST_ENV, read(dns.resolve(Egress.TRUST)));
            }
        }
        return env;
    }

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

    /** The pod's IPv4 rules (iptables-restore): the gate's user {@code uid} goes out, the rest through the gate. */
    public static String rules(long uid) {
        return PodGate.rules(uid);
    }

    /** The pod's IPv6 rules (ip6tables-restore): loopback only. */
    public static String rules6() {
        return PodGate.rules6();
    }

    /** The policy file's text. */
    public static String policyText(EgressPolicy policy) {
        return GatePolicyFile.text(policy);
    }

    /** The file name of the policy in the gate's directory. */
    public static String policyFile() {
        return Gate.POLICY;
    }

    /** The control request that makes the gate read its policy file again. */
    public static String reload() {
        return "reload\n";
    }

    /** The control request that gives the gate the secrets it adds (replacing those it had). */
    public static String inject(List<String> lines) {
        return "inject\n" + String.join("\n", lines) + "\nend\n";
    }
}
