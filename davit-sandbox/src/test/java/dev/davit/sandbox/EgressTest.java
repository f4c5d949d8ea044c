package dev.davit.sandbox;

import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.container.Overlay;
import dev.davit.sandbox.testnet.CurlRootfs;
import dev.davit.sandbox.testnet.TestInternet;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Egress policies against a test Internet ({@link TestInternet}: network namespaces and a veth pair the test makes,
 * on 198.18.N.0/24, never the host's LAN), with the real gate, bwrap, crun and runc, curl and busybox's nc and
 * nslookup inside the sandbox. The attacker's view: everything the sandbox tries that the policy does not allow
 * fails at once, and what it allows works however the program connects.
 */
class EgressTest {
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
        Tools.assumeAvailable("bwrap", "iptables-restore", "curl");
        assumeTrue(Overlay.ROOT, "the test Internet needs root");
        assumeTrue(Runtime.version().feature() >= 22, "as root, the sandbox's FFM calls need Java 22");
        net = TestInternet.start();
        rootfs = CurlRootfs.create(shared.resolve("rootfs"), net);
        dns = CurlRootfs.dns(shared.resolve("dns"), net);
    }

    @AfterAll
    static void down() {
        if (net != null) {
            net.close();
        }
    }

    /** Copies a dynamically linked host program into {@code root}, with every library ldd names. */
    static void addProgram(Path root, Path program) throws IOException {
        CurlRootfs.addProgram(root, program);
    }

    private Sandboxes sandboxes() {
        return new Sandboxes(SandboxOptions.of(tmp.resolve("state")).withEgressDns(dns));
    }

    private ExecResult run(String runtime, EgressPolicy policy, String script) {
        return sandboxes().run(RunSpec.builder(rootfs).runtime(runtime).network(Network.policy(policy))
                .command("sh", "-c", script).timeout(Duration.ofSeconds(90)).build());
    }

    private static EgressPolicy allow(String... hosts) {
        return EgressPolicy.parse(List.of(hosts), List.of(), List.of(), List.of(), List.of());
    }

    private static final String CURL = "curl -sS --max-time 20 --cacert /ca.pem ";

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void anAllowedNameWorksHoweverTheProgramConnects(String runtime) {
        Tools.assumeAvailable(runtime);
        String a = net.allowedAddress();
        String script = "export HTTP_PROXY=http://10.9.9.9:3128 HTTPS_PROXY=http://10.9.9.9:3128\n"
                + CURL + "--noproxy '*' http://allowed.test/plain; echo\n"
                + CURL + "--noproxy '*' https://allowed.test/tls; echo\n"
                + CURL + "--noproxy '*' https://cdn.allowed.test/cdn; echo\n"
                // busybox's nc: a static program with raw sockets, to the allowed name's address, no proxy at all
                + "printf 'GET /raw HTTP/1.0\\r\\nHost: allowed.test\\r\\n\\r\\n' | nc -w 10 " + a + " 80 | grep -c '\"path\":\"/raw\"'\n";
        ExecResult r = run(runtime, allow("allowed.test", "*.allowed.test"), script);
        assertThat(r.exitCode()).as(r.stderrText() + r.stdoutText()).isZero();
        String out = r.stdoutText();
        assertThat(out).contains("\"path\":\"/plain\"").contains("\"host\":\"allowed.test\"");
        assertThat(out).contains("\"path\":\"/tls\"").contains("\"sni\":\"allowed.test\"");
        assertThat(out).contains("\"sni\":\"cdn.allowed.test\"");
        assertThat(out.strip()).endsWith("1");
        assertThat(net.httpRequests()).extracting(TestInternet.HttpRequest::path)
                .contains("/plain", "/tls", "/cdn", "/raw");
    }

    @Test
    void deniedNamesAndTheirAddressesFailAtOnceAndSayWhy() {
        String d = net.deniedAddress();
        net.clearRecords();
        String script = CURL + "http://denied.test/x; echo \"name=$?\"\n"
                + CURL + "http://" + d + "/literal; echo \"literal=$?\"\n"
                + CURL + "-k https://" + d + "/literal-tls; echo \"literal-tls=$?\"\n"
                // fronting: the allowed name's address, the denied name as SNI, then as Host
                + CURL + "--resolve denied.test:443:" + net.allowedAddress() + " https://denied.test/sni; echo \"sni=$?\"\n"
                + CURL + "-H 'Host: denied.test' http://allowed.test/host; echo \"host=$?\"\n"
                // an allowed name, but an address it never resolved to
                + CURL + "--resolve allowed.test:443:" + net.otherAddress() + " https://allowed.test/elsewhere; echo \"elsewhere=$?\"\n";
        ExecResult r = run("bwrap", allow("allowed.test"), script);
        String out = r.stdoutText();
        assertThat(out).as(r.stderrText()).contains("name=6"); // could not resolve
        assertThat(out).contains("davit: egress denied: " + d + ":80"); // the 403's body
        assertThat(out).doesNotContain("literal-tls=0").doesNotContain("sni=0").doesNotContain("elsewhere=0");
        assertThat(out).contains("davit: egress denied: denied.test:80");
        // the run's result says what was refused (its state directory, with the gate's record, is gone by now)
        assertThat(r.networkDenied()).extracting(EgressDenial::target).contains("denied.test", d + ":80",
                "denied.test:443", "denied.test:80");
        assertThat(net.httpRequests()).extracting(TestInternet.HttpRequest::path)
                .doesNotContain("/x", "/literal", "/literal-tls", "/sni", "/host", "/elsewhere");
    }

    @Test
    void anAddressThePolicyDeniesIsInNoAnswer() {
        // allowed names, one of whose address a deny rule of every port holds, another's on one port only
        String a = net.allowedAddress();
        String o = net.otherAddress();
        EgressPolicy policy = EgressPolicy.parse(List.of("allowed.test", "other.test"), List.of(), List.of(),
                List.of(), List.of(a + "/32", o + "/32:8443"));
        String script = "nslookup allowed.test > /tmp/a 2>&1; echo \"denied=$?\"; grep -c '" + a + "' /tmp/a\n"
                + "nslookup other.test | grep -c '" + o + "'\n";
        ExecResult r = run("bwrap", policy, script);
        String out = r.stdoutText();
        assertThat(out).as(r.stderrText()).doesNotContain("denied=0");
        assertThat(out.lines().filter(l -> l.matches("\\d+")).toList()).as(out).containsExactly("0", "1");
        assertThat(r.networkDenied()).anySatisfy(d -> {
            assertThat(d.kind()).isEqualTo("dns");
            assertThat(d.name()).isEqualTo("allowed.test");
            assertThat(d.reason()).isEqualTo("resolves to " + a + ", denied by deny-cidr " + a + "/32");
        });
    }

    @Test
    void noOtherDnsServerUdpOrSpecialAddressIsReachable() throws IOException {
        net.clearRecords();
        String other = net.otherAddress();
        // a DNS query over TCP, by hand, to another server: the gate answers it, the server never sees it
        byte[] q = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'a', 'l', 'l', 'o', 'w', 'e', 'd', 4, 't', 'e', 's',
            't', 0, 0, 1, 0, 1};
        byte[] framed = new byte[q.length + 2];
        framed[1] = (byte) q.length;
        System.arraycopy(q, 0, framed, 2, q.length);
        Files.write(tmp.resolve("q.bin"), framed);
        Path root = tmp.resolve("root");
        copyTree(rootfs, root);
        Files.copy(tmp.resolve("q.bin"), root.resolve("q.bin"));
        String script = "nslookup allowed.test " + other + " >/dev/null 2>&1; echo \"udp-dns=$?\"\n"
                + "nc -w 5 " + other + " 53 < /q.bin | wc -c\n"
                + "echo hello | timeout 5 nc -u -w 2 " + other + " 7; echo \"udp=$?\"\n"
                + "for h in loopback.test hostside.test metadata.test private.test; do nslookup $h >/dev/null 2>&1;"
                + " echo \"$h=$?\"; done\n"
                + CURL + "-f http://169.254.169.254/; echo \"metadata=$?\"\n"
                + CURL + "-f http://" + net.hostSideAddress() + "/; echo \"hostside-literal=$?\"\n";
        ExecResult r = sandboxes().run(RunSpec.builder(root).network(Network.policy(allow("allowed.test",
                "loopback.test", "hostside.test", "metadata.test", "private.test"))).command("sh", "-c", script)
                .timeout(Duration.ofSeconds(90)).build());
        String out = r.stdoutText();
        assertThat(out).as(r.stderrText()).contains("udp-dns=0");
        assertThat(out.lines().filter(l -> l.matches("\\d+")).findFirst().orElse("0")).isNotEqualTo("0");
        assertThat(out).doesNotContain("udp=0");
        for (String h : List.of("loopback.test", "hostside.test", "metadata.test", "private.test")) {
            assertThat(out).doesNotContain(h + "=0");
        }
        assertThat(out).doesNotContain("metadata=0").doesNotContain("hostside-literal=0");
        assertThat(net.dnsQueries()).allSatisfy(x -> assertThat(x.server()).isNotEqualTo(other));
        assertThat(net.udpReceived()).isEmpty();
    }

    @Test
    void aRunningSandboxTakesANewPolicyWithoutBreakingADownload() throws Exception {
        Sandboxes sb = sandboxes();
        Sandbox s = sb.create(CreateSpec.builder(rootfs).network(Network.policy(allow("allowed.test")))
                .ttl(Duration.ofMinutes(10)).build());
        try {
            sb.start(s.id());
            Spawned dl = Machinery.of(sb).spawn(s.id(), List.of("sh", "-c", CURL
                    + "-o /tmp/big http://allowed.test/slow/3000000?ms=4000; echo done=$? > /tmp/dl"), java.util.Map.of(),
                    "/", tmp.resolve("spawn"), false);
            Thread.sleep(1000);
            sb.network(s.id(), allow("other.test"));
            ExecResult after = sb.exec(s.id(), List.of("sh", "-c", CURL + "http://allowed.test/new; echo \"allowed=$?\";"
                    + CURL + "http://other.test/other; echo \"other=$?\""), java.util.Map.of(), "/", Duration.ofSeconds(60));
            assertThat(after.stdoutText()).contains("\"path\":\"/other\"").contains("other=0")
                    .doesNotContain("allowed=0");
            long deadline = System.nanoTime() + 30_000_000_000L;
            String done = "";
            while (System.nanoTime() < deadline && !done.contains("done=")) {
                done = sb.exec(s.id(), List.of("sh", "-c", "cat /tmp/dl 2>/dev/null; wc -c < /tmp/big"),
                        java.util.Map.of(), "/", Duration.ofSeconds(30)).stdoutText();
                Thread.sleep(200);
            }
            assertThat(done).contains("done=0").contains("3000000");
            assertThat(sb.egressDenials(s.id())).extracting(EgressDenial::name).contains("allowed.test");
            assertThat(dl).isNotNull();
        } finally {
            sb.rm(s.id());
        }
    }

    private static void copyTree(Path from, Path to) {
        Tools.run("cp", "-a", from.toString(), to.toString());
    }
}
