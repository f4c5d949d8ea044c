package dev.davit.sandbox;

import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.container.Overlay;
import dev.davit.sandbox.jail.IdRange;
import dev.davit.sandbox.testnet.TestInternet;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SNIHostName;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The egress gate and the sandbox's network as an attacker tests them, as root (see {@link EgressTest} for the
 * policy's own checks, {@link EgressRootlessTest} without root, {@link EgressVmTest} from a microVM): sandbox root
 * cannot change its network (netfilter rules, routes, links, addresses, sysctls) and a denied address stays refused
 * after it tried; the gate's process, read from {@code /proc} only, runs as the sandbox's network uid with no groups,
 * no_new_privs, no capability on its serving threads, in the host's network namespace and another user namespace;
 * floods of connections and DNS queries leave it serving; a client that speaks last is relayed, a ClientHello in
 * tiny pieces is still read for its name, an HTTP request with two Host headers is refused; and the gate ends with
 * its sandbox, however that ends.
 */
class EgressAttackTest {
    /** davit-agent's gate mode on a gate's command line. */
    static final String GATE = "\0gate\0--netns\0";
    /**
     * CAP_SYS_ADMIN (21), CAP_SYS_PTRACE (19) and CAP_NET_BIND_SERVICE (10), over the user namespace of the sandbox's
     * network only: the most a thread of the gate holds.
     */
    static final long GATE_CAPABILITIES = (1L << 21) | (1L << 19) | (1L << 10);
    private static TestInternet net;
    private static Path rootfs;
    private static Path dns;

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    @BeforeAll
    static void internet() throws IOException {
        TestInternet.assumeAvailable();
        Tools.assumeAvailable("bwrap", "iptables-restore", "iptables", "ip");
        assumeTrue(Overlay.ROOT, "the test Internet needs root");
        assumeTrue(Runtime.version().feature() >= 22, "as root, the sandbox's FFM calls need Java 22");
        net = TestInternet.start();
        rootfs = attackerRootfs(shared.resolve("rootfs"));
        dns = dnsFiles(net, shared.resolve("dns"));
    }

    /**
     * {@code dir} with the test Internet's resolv.conf and hosts (what the gate resolves with) and its CA (what the
     * gate trusts for the hosts it injects secrets for).
     */
    static Path dnsFiles(TestInternet net, Path dir) throws IOException {
        return dev.davit.sandbox.testnet.CurlRootfs.dns(dir, net);
    }

    @AfterAll
    static void down() {
        if (net != null) {
            net.close();
        }
    }

    /**
     * A busybox root with the host's {@code ip}, {@code iptables} and {@code iptables-restore} (and their
     * libraries): what sandbox root would use against its network.
     */
    static Path attackerRootfs(Path at) throws IOException {
        Path root = BusyboxRootfs.create(at);
        for (String a : List.of("nslookup", "printf", "timeout", "wc", "grep", "seq", "mkfifo", "head", "cat",
                "id", "sleep", "kill", "ps", "killall", "sed")) {
            Path l = root.resolve("bin").resolve(a);
            if (!Files.exists(l, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(l, Path.of("busybox"));
            }
        }
        for (String p : List.of("ip", "iptables", "iptables-restore")) {
            Path host = Path.of(Tools.run("sh", "-c", "command -v " + p).strip());
            Path to = root.resolve("host").resolve(p);
            EgressTest.addProgram(root, host);
            Files.createDirectories(to.getParent());
            Files.deleteIfExists(to);
            Files.copy(host.toRealPath(), to); // under its own name (xtables is a multi-call binary)
            Files.setAttribute(to, "unix:mode", 0755);
        }
        return root;
    }

    private Sandboxes sandboxes() {
        return new Sandboxes(SandboxOptions.of(tmp.resolve("state")).withEgressDns(dns));
    }

    static EgressPolicy allow(String... hosts) {
        return EgressPolicy.parse(List.of(hosts), List.of(), List.of(), List.of(), List.of());
    }

    /**
     * Everything sandbox root would try against its network namespace, each printed as {@code [what]=status}, then
     * a plain HTTP request for denied.test to its own address (its answer printed) and {@code uid=N}.
     */
    static String probes(String deniedAddress) {
        // by path: busybox's sh prefers its own applets (its ip) to a program of the same name on PATH
        return "ip=/host/ip iptables=/host/iptables\n"
                + "for c in '$iptables -t nat -F' '$iptables -F' '$iptables -t nat -I OUTPUT -j ACCEPT'"
                + " '$iptables -I OUTPUT -j ACCEPT' '$iptables -P OUTPUT ACCEPT' '$ip route del default'"
                + " '$ip route add 198.18.0.0/15 via 10.0.2.2' '$ip link add x type dummy'"
                + " '$ip addr add 10.0.2.200/24 dev eth0' '$ip link set eth0 down' '$ip link set lo down'; do\n"
                + "  eval $c >/dev/null 2>/tmp/err; s=$?; echo \"[$c]=$s $(head -n 1 /tmp/err)\"\n"
                + "done\n"
                + "printf '*filter\\n:OUTPUT ACCEPT [0:0]\\nCOMMIT\\n*nat\\n:OUTPUT ACCEPT [0:0]\\nCOMMIT\\n'"
                + " | /host/iptables-restore >/dev/null 2>/tmp/err; s=$?;"
                + " echo \"[iptables-restore]=$s $(head -n 1 /tmp/err)\"\n"
                + "(echo 1 > /proc/sys/net/ipv4/ip_forward) 2>/dev/null; echo \"[ip_forward]=$?\"\n"
                + "(echo 1024 > /proc/sys/net/ipv4/ip_unprivileged_port_start) 2>/dev/null;"
                + " echo \"[port_start]=$?\"\n"
                + "printf 'GET /after-probes HTTP/1.0\\r\\nHost: denied.test\\r\\n\\r\\n' | nc -w 10 " + deniedAddress
                + " 80; echo\n"
                + "echo \"uid=$(id -u)\"\n";
    }

    /** What {@link #probes} printed: every probe failed, the denied address stayed refused, it ran as root. */
    static void assertProbesFailed(String out, String stderr, List<TestInternet.HttpRequest> requests) {
        assertThat(out).as(stderr).contains("uid=0").contains("[$iptables -t nat -F]=4 iptables")
                .contains("[ip_forward]=")
                .contains("[$ip link add x type dummy]=2 RTNETLINK answers: Operation not permitted");
        assertThat(out.lines().filter(l -> l.startsWith("[")).toList()).hasSize(14)
                .allSatisfy(l -> assertThat(l).doesNotContain("]=0"));
        assertThat(out).contains("davit: egress denied: denied.test:80");
        assertThat(requests).extracting(TestInternet.HttpRequest::path).doesNotContain("/after-probes");
    }

    /** As root in the sandbox (one-shot): every change to its network fails and denied.test stays refused. */
    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void sandboxRootCannotChangeItsNetwork(String runtime) {
        Tools.assumeAvailable(runtime);
        net.clearRecords();
        ExecResult r = sandboxes().run(RunSpec.builder(rootfs).runtime(runtime).network(Network.policy(
                allow("allowed.test"))).command("sh", "-c", probes(net.deniedAddress()))
                .timeout(Duration.ofSeconds(90)).build());
        System.out.println(runtime + " probes:\n" + r.stdoutText());
        assertProbesFailed(r.stdoutText(), r.stderrText(), net.httpRequests());
    }

    /**
     * The gate of a long-lived sandbox, while it relays a connection, read from /proc: every thread runs as the
     * sandbox's network uid with no groups and no_new_privs; the threads that read what the sandbox sends have no
     * capability; it is in the host's network namespace and in another user namespace; its class path is handed
     * over as open files.
     */
    @Test
    void theGateIsConfinedAndServesFromTheHostsNamespace() throws Exception {
        Sandboxes sb = sandboxes();
        Sandbox s = sb.create(CreateSpec.builder(rootfs).network(Network.policy(allow("allowed.test")))
                .ttl(Duration.ofMinutes(10)).build());
        try {
            sb.start(s.id());
            ProcessHandle gate = onlyGate(tmp);
            // a connection held open: its relay threads exist while the test reads /proc
            Machinery.of(sb).spawn(s.id(), List.of("sh", "-c", "(echo hi; sleep 60) | nc allowed.test 7"), Map.of(),
                    "/", tmp.resolve("spawn"), false);
            awaitRelaying(gate);
            assertGateConfined(gate, IdRange.forNet(), true);
        } finally {
            sb.rm(s.id());
            // the spawned command's exit is written once it ended (with the sandbox): not while @TempDir goes
            for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); Files.isDirectory(tmp.resolve(
                    "spawn")) && !Files.exists(tmp.resolve("spawn").resolve(Spawned.EXIT))
                    && System.nanoTime() < until; ) {
                Thread.sleep(20);
            }
        }
        assertThat(gates(tmp)).isEmpty();
    }

    private static String get(String host, String path) {
        return "printf 'GET " + path + " HTTP/1.0\\r\\nHost: " + host + "\\r\\n\\r\\n' | nc -w 10 " + host
                + " 80 | grep .";
    }

    /**
     * Asserts what /proc says of davit-agent's gate once it serves: two threads (its namespace's thread ended: the one
     * that serves and its denials' writer), each with a uid and gid of {@code range} (without root the user's), no
     * groups, no_new_privs, no capability at all and a bounding set of at most {@link #GATE_CAPABILITIES}, a seccomp
     * filter; the host's network namespace, another user namespace; as root the program run as a file davit opened
     * for it.
     */
    static void assertGateConfined(ProcessHandle gate, IdRange range, boolean root) throws IOException {
        Path proc = Path.of("/proc", Long.toString(gate.pid()));
        long[] ids = idsWithin(proc, range);
        long uid = ids[0];
        long gid = ids[1];
        List<String> threads = threads(proc);
        assertThat(threads).as("one thread serves, one writes its denials").hasSize(2);
        for (String st : threads) {
            String name = assertIds(st, uid, gid);
            for (String set : List.of("CapEff", "CapPrm", "CapInh", "CapAmb")) {
                assertThat(field(st, set)).as(name + " " + set).isEqualTo("0000000000000000");
            }
            assertThat(Long.parseUnsignedLong(field(st, "CapBnd"), 16) & ~GATE_CAPABILITIES).as(name).isZero();
            assertThat(field(st, "Seccomp")).as(name + ": its own seccomp filter").isEqualTo("2");
        }
        assertThat(Files.readSymbolicLink(proc.resolve("ns/net")))
                .isEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/net")));
        assertThat(Files.readSymbolicLink(proc.resolve("ns/user")))
                .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/user")));
        if (root) {
            assertThat(Files.readString(proc.resolve("cmdline"))).startsWith("/proc/self/fd/3\0gate\0");
        }
    }

    /** The uid and gid of the process at {@code proc}, asserted to be of {@code range}. */
    static long[] idsWithin(Path proc, IdRange range) throws IOException {
        String status = Files.readString(proc.resolve("status"));
        long uid = Long.parseLong(field(status, "Uid").split("\\s+")[0]);
        long gid = Long.parseLong(field(status, "Gid").split("\\s+")[0]);
        assertThat(uid).isBetween(range.uid(), range.uid() + range.count() - 1);
        assertThat(gid).isBetween(range.gid(), range.gid() + range.count() - 1);
        return new long[] {uid, gid};
    }

    /** The /proc status of each thread of the process at {@code proc} (those that ended meanwhile left out). */
    static List<String> threads(Path proc) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(proc.resolve("task"))) {
            for (Path t : tasks.toList()) {
                try {
                    out.add(Files.readString(t.resolve("status")));
                } catch (IOException e) {
                    // ended meanwhile
                }
            }
        }
        return out;
    }

    /** Asserts a gate thread's ids (uid and gid, all four), no groups and no_new_privs; its name. */
    static String assertIds(String st, long uid, long gid) {
        String name = field(st, "Name");
        assertThat(field(st, "Uid")).as(name).isEqualTo(uid + "\t" + uid + "\t" + uid + "\t" + uid);
        assertThat(field(st, "Gid")).as(name).isEqualTo(gid + "\t" + gid + "\t" + gid + "\t" + gid);
        assertThat(field(st, "Groups")).as(name).isEmpty();
        assertThat(field(st, "NoNewPrivs")).as(name).isEqualTo("1");
        return name;
    }

    /**
     * Floods from the sandbox: 10,000 connections as fast as a program makes them (up to 4,096 held at once; those
     * beyond the gate's 512 are reset and recorded), 2,000 DNS queries; meanwhile a neighbour sandbox's gate serves
     * it; then the flooded gate still answers names and relays an allowed connection, its peak memory under its bound.
     */
    @Test
    void floodsOfConnectionsAndQueriesLeaveTheGateServing() throws Exception {
        Tools.assumeAvailable("gcc");
        Path src = tmp.resolve("connflood.c");
        try (java.io.InputStream in = EgressAttackTest.class.getResourceAsStream("connflood.c")) {
            Files.write(src, in.readAllBytes());
        }
        Tools.run("gcc", "-static", "-O2", "-o", rootfs.resolve("bin/connflood").toString(), src.toString());
        Sandboxes sb = sandboxes();
        Sandbox s = sb.create(CreateSpec.builder(rootfs).network(Network.policy(allow("allowed.test")))
                .limits(new Limits(1024, 0, 4096, Limits.DEFAULT_DISK_MIB)).ttl(Duration.ofMinutes(10)).build());
        Sandbox neighbour = sb.create(CreateSpec.builder(rootfs).network(Network.policy(allow("allowed.test")))
                .ttl(Duration.ofMinutes(10)).build());
        try {
            sb.start(s.id());
            sb.start(neighbour.id());
            ProcessHandle gate = gateOf(s.id());
            String a = net.allowedAddress();
            long began = System.nanoTime();
            var flooding = java.util.concurrent.CompletableFuture.supplyAsync(() -> sb.exec(s.id(), List.of("sh",
                    "-c", "nslookup allowed.test >/dev/null || exit 9\nconnflood " + a + " 7 10000 5000"), Map.of(),
                    "/", Duration.ofMinutes(3)));
            // the neighbour's gate serves it meanwhile
            int served = 0;
            while (!flooding.isDone()) {
                ExecResult n = sb.exec(neighbour.id(), List.of("sh", "-c", "printf 'GET /neighbour HTTP/1.0\\r\\n"
                        + "Host: allowed.test\\r\\n\\r\\n' | nc -w 10 allowed.test 80"), Map.of(), "/",
                        Duration.ofSeconds(30));
                assertThat(n.stdoutText()).as(n.stderrText()).contains("\"path\":\"/neighbour\"");
                served++;
            }
            ExecResult flood = flooding.get();
            System.out.println("10,000 connections: " + flood.stdoutText().strip() + " in "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began) + " ms; the neighbour served "
                    + served + " requests meanwhile");
            assertThat(flood.stdoutText()).as(flood.stderrText()).contains("opened=10000");
            assertThat(served).isPositive();
            List<EgressDenial> denials = sb.egressDenials(s.id());
            long overflow = denials.stream().filter(d -> d.reason().contains("more than 512 connections")).count();
            System.out.println("refused beyond 512 slots: " + overflow + " of " + denials.size() + " denials");
            assertThat(overflow).isGreaterThanOrEqualTo(1);
            began = System.nanoTime();
            ExecResult queries = sb.exec(s.id(), List.of("sh", "-c", "i=0; while [ $i -lt 2000 ]; do"
                    + " nslookup allowed.test >/dev/null 2>&1 & i=$((i+1));"
                    + " if [ $((i % 200)) = 0 ]; then wait; fi; done; wait; echo queried"), Map.of(), "/",
                    Duration.ofMinutes(5));
            System.out.println("2000 DNS queries in " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began)
                    + " ms");
            assertThat(queries.stdoutText()).contains("queried");
            net.clearRecords();
            ExecResult after = sb.exec(s.id(), List.of("sh", "-c", "nslookup allowed.test | grep -c " + a
                    + "; printf 'GET /after-flood HTTP/1.0\\r\\nHost: allowed.test\\r\\n\\r\\n' | nc -w 10"
                    + " allowed.test 80"), Map.of(), "/", Duration.ofSeconds(60));
            assertThat(after.stdoutText()).as(after.stderrText()).startsWith("1\n")
                    .contains("\"path\":\"/after-flood\"");
            assertThat(gate.isAlive()).isTrue();
            assertThat(gateOf(s.id()).pid()).isEqualTo(gate.pid());
            String status = Files.readString(Path.of("/proc", Long.toString(gate.pid()), "status"));
            System.out.println("the gate's peak resident memory: " + field(status, "VmHWM") + ", now "
                    + field(status, "VmRSS"));
            // 512 connections' buffers and 64 queries' at most, whatever the sandbox sends
            assertThat(Long.parseLong(field(status, "VmHWM").split(" ")[0])).isLessThan(32 * 1024);
        } finally {
            sb.rm(s.id());
            sb.rm(neighbour.id());
        }
    }

    /**
     * A client that waits for the server to speak is relayed once the gate's peek gives up; a ClientHello sent in
     * 8-byte pieces over some seconds is still read for its name (a denied SNI to the allowed address is refused,
     * the allowed one relayed); an HTTP request with two Host headers is refused, and so are a TLS handshake without
     * SNI and HTTP requests the gate cannot read for their Host (an empty line first, bare LFs) to the address only the
     * allowed name's resolution opened.
     */
    @Test
    void slowSilentSplitAndDoubledRequestsAreJudgedByTheirNames() throws Exception {
        Path root = tmp.resolve("root");
        Tools.run("cp", "-a", rootfs.toString(), root.toString());
        for (String sni : List.of("denied.test", "allowed.test")) {
            byte[] hello = clientHello(sni);
            Path dir = Files.createDirectories(root.resolve("hello-" + sni));
            for (int i = 0; i * 8 < hello.length; i++) {
                Files.write(dir.resolve(String.format("%04d", i)), java.util.Arrays.copyOfRange(hello, i * 8,
                        Math.min(hello.length, i * 8 + 8)));
            }
        }
        Files.write(root.resolve("hello-no-sni"), clientHello(null));
        String a = net.allowedAddress();
        net.clearRecords();
        String split = "(for f in /hello-%1$s/*; do cat $f; sleep 0.05; done; sleep 3) | nc -w 5 " + a
                + " 443 | wc -c | sed 's/^/%1$s=/'\n";
        String script = "nslookup allowed.test >/dev/null || exit 9\n"
                + "(sleep 2; echo speaks-last; sleep 2) | nc -w 5 allowed.test 7\n"
                + String.format(split, "denied.test") + String.format(split, "allowed.test")
                + "printf 'GET /two-hosts HTTP/1.1\\r\\nHost: allowed.test\\r\\nHost: denied.test\\r\\n\\r\\n'"
                + " | nc -w 10 " + a + " 80\n"
                // names hidden from the gate, to the address only allowed.test's resolution opened: TLS without SNI
                // (as clients send to an address), an empty line before the request (servers skip it), an HTTP/1.1
                // request with bare LFs
                + "(cat /hello-no-sni; sleep 3) | nc -w 5 " + a + " 443 | wc -c | sed 's/^/no-sni=/'\n"
                + "printf '\\r\\nGET /crlf-first HTTP/1.1\\r\\nHost: denied.test\\r\\n\\r\\n' | nc -w 5 " + a + " 80\n"
                // a client that says nothing for more than the peek's second, then fronts: judged all the same
                + "(sleep 1.5; printf 'GET /after-silence HTTP/1.1\\r\\nHost: denied.test\\r\\n\\r\\n'; sleep 2) | nc -w 5 "
                + a + " 80\n"
                // an empty line alone first, the request a moment later: read on, never judged on the prefix
                + "(printf '\\r\\n'; sleep 0.3; printf 'GET /prefix HTTP/1.1\\r\\nHost: denied.test\\r\\n\\r\\n'; sleep 2)"
                + " | nc -w 5 " + a + " 80\n"
                + "printf 'GET /bare-lf HTTP/1.1\\nHost: denied.test\\n\\n' | nc -w 5 " + a + " 80\n";
        ExecResult r = sandboxes().run(RunSpec.builder(root).network(Network.policy(allow("allowed.test")))
                .command("sh", "-c", script).timeout(Duration.ofSeconds(90)).build());
        String out = r.stdoutText();
        System.out.println(out);
        assertThat(out).as(r.stderrText()).contains("speaks-last\n").contains("denied.test=0\n")
                .contains("davit: egress denied: denied.test:80: not in the allow-list")
                .doesNotContain("allowed.test=0\n").contains("allowed.test=")
                .contains("davit: egress denied: " + a + ":80: an HTTP request without one clear Host");
        assertThat(out).contains("no-sni=0\n");
        assertThat(r.networkDenied()).extracting(EgressDenial::reason).anyMatch(x -> x.contains("TLS"))
                .anyMatch(x -> x.contains("an HTTP request the gate does not read"));
        assertThat(net.httpRequests()).extracting(TestInternet.HttpRequest::path)
                .doesNotContain("/two-hosts", "/no-sni", "/crlf-first", "/bare-lf", "/after-silence", "/prefix");
        assertThat(net.connections()).filteredOn(c -> c.port() == 443).hasSize(1);
    }

    /** A TLS ClientHello for {@code sni} (or with no SNI, for null), as the JDK's client sends it. */
    static byte[] clientHello(String sni) throws Exception {
        SSLEngine e = sni == null ? SSLContext.getDefault().createSSLEngine()
                : SSLContext.getDefault().createSSLEngine(sni, 443);
        e.setUseClientMode(true);
        if (sni != null) {
            SSLParameters p = e.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(sni)));
            e.setSSLParameters(p);
        }
        ByteBuffer out = ByteBuffer.allocate(e.getSession().getPacketBufferSize());
        e.beginHandshake();
        e.wrap(ByteBuffer.allocate(0), out);
        byte[] b = new byte[out.flip().remaining()];
        out.get(b);
        return b;
    }

    /** No gate is left after a one-shot run (bwrap, crun, runc), a long-lived sandbox's stop, or its rm. */
    @Test
    void theGateEndsWithItsSandbox() throws Exception {
        Sandboxes sb = sandboxes();
        for (String rt : List.of("bwrap", "crun", "runc")) {
            if (Tools.which(rt).isEmpty()) {
                continue;
            }
            ExecResult r = sb.run(RunSpec.builder(rootfs).runtime(rt).network(Network.policy(allow("allowed.test")))
                    .command("sh", "-c", "nslookup allowed.test >/dev/null && echo resolved").build());
            assertThat(r.stdoutText()).as(rt + r.stderrText()).isEqualTo("resolved\n");
            assertThat(gates(tmp)).as(rt).isEmpty();
        }
        Sandbox s = sb.create(CreateSpec.builder(rootfs).network(Network.policy(allow("allowed.test")))
                .ttl(Duration.ofMinutes(10)).build());
        try {
            sb.start(s.id());
            assertThat(gates(tmp)).hasSize(1);
            sb.stop(s.id());
            assertThat(gates(tmp)).isEmpty();
            sb.start(s.id());
            assertThat(gates(tmp)).hasSize(1);
        } finally {
            sb.rm(s.id());
        }
        assertThat(gates(tmp)).isEmpty();
    }

    /** The davit that gets killed: one bwrap run with a policy, of sleep 600. */
    public static final class Killed {
        public static void main(String[] args) {
            new Sandboxes(SandboxOptions.of(Path.of(args[0])).withEgressDns(Path.of(args[2])))
                    .run(RunSpec.builder(Path.of(args[1])).network(Network.policy(allow("allowed.test")))
                            .command("sleep", "600").build());
        }
    }

    /**
     * A killed davit's gate outlives it (detached) until {@link Sandboxes#reapOrphans} ends it. That davit's classes
     * are in a directory of mode 0700 (as under /root/.m2): its gate, of another uid, runs davit-agent all the same
     * (opened for it as root, {@code /proc/self/fd/3}).
     */
    @Test
    void aKilledDavitsGateIsReaped() throws Exception {
        Path state = tmp.resolve("state");
        Path closed = Files.createDirectories(tmp.resolve("closed"));
        String cp = dev.davit.oci.testkit.Unprivileged.readableClasspath(closed.resolve("cp"));
        Files.setAttribute(closed, "unix:mode", 0700);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process davit = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", cp, Killed.class.getName(), state.toString(), rootfs.toString(), dns.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (davit.descendants().noneMatch(h -> h.info().commandLine().orElse("").endsWith(" 600"))
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(gates(tmp)).as(Files.readString(tmp.resolve("child.log"))).hasSize(1);
        // a process found as it starts may show an empty cmdline for a moment (it is still being exec'd): read again
        Path cmdline = Path.of("/proc", Long.toString(onlyGate(tmp).pid()), "cmdline");
        String gateCommand = Files.readString(cmdline);
        for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); gateCommand.isEmpty()
                && System.nanoTime() < until; gateCommand = Files.readString(cmdline)) {
            Thread.sleep(50);
        }
        assertThat(gateCommand).contains("/proc/self/fd/");
        davit.destroyForcibly();
        davit.waitFor();
        assertThat(gates(tmp)).as("detached: it outlives a killed davit").hasSize(1);
        assertThat(new Sandboxes(SandboxOptions.of(state)).reapOrphans()).hasSize(1);
        assertThat(gates(tmp)).as("ended by the reap (not a moment later by anything else)").isEmpty();
    }

    /** The live gate processes whose working directory is under {@code dir}. */
    static List<ProcessHandle> gates(Path dir) {
        String under = dir.toAbsolutePath().toString();
        return ProcessHandle.allProcesses().filter(h -> {
            try {
                Path p = Path.of("/proc", Long.toString(h.pid()));
                String cwd = Files.readSymbolicLink(p.resolve("cwd")).toString();
                String cmd = Files.readString(p.resolve("cmdline"));
                return cmd.contains(GATE) && cwd.startsWith(under)
                        && ProcessHandle.of(h.pid()).map(dev.davit.sandbox.host.Host::running).orElse(false);
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }).toList();
    }

    /** The gate of sandbox {@code id} (its working directory is in the sandbox's state directory). */
    ProcessHandle gateOf(String id) {
        List<ProcessHandle> g = gates(tmp).stream().filter(h -> {
            try {
                return Files.readSymbolicLink(Path.of("/proc", Long.toString(h.pid()), "cwd")).toString()
                        .contains(id);
            } catch (IOException e) {
                return false;
            }
        }).toList();
        assertThat(g).hasSize(1);
        return g.get(0);
    }

    static ProcessHandle onlyGate(Path dir) {
        List<ProcessHandle> g = gates(dir);
        assertThat(g).hasSize(1);
        return g.get(0);
    }

    /**
     * Waits (20 s at most) until {@code gate} relays a connection: its sockets for both its ends (beside its listener,
     * DNS and control sockets).
     */
    static void awaitRelaying(ProcessHandle gate) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (sockets(gate) >= 5) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the gate relays no connection (" + sockets(gate) + " sockets)");
    }

    /**
     * Waits (20 s at most) until {@code gate}, maybe found as it starts, serves: its {@code ready} in its directory
     * (written once its capabilities are gone).
     */
    static void awaitServing(ProcessHandle gate) throws Exception {
        Path ready = Path.of("/proc", Long.toString(gate.pid()), "cwd", "ready");
        for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); !Files.exists(ready); ) {
            if (System.nanoTime() > until) {
                throw new AssertionError("the gate does not serve");
            }
            Thread.sleep(5);
        }
    }

    /** How many sockets {@code gate} holds. */
    static long sockets(ProcessHandle gate) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(gate.pid()), "fd"))) {
            return fds.filter(f -> {
                try {
                    return Files.readSymbolicLink(f).toString().startsWith("socket:");
                } catch (IOException e) {
                    return false;
                }
            }).count();
        }
    }

    /** The value of {@code key} in a /proc status file ({@code Key:\tvalue}), or null. */
    static String field(String status, String key) {
        return status.lines().filter(l -> l.startsWith(key + ":")).map(l -> l.substring(key.length() + 1).strip())
                .findFirst().orElse(null);
    }
}
