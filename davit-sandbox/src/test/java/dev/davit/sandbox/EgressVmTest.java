package dev.davit.sandbox;

import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.container.Overlay;
import dev.davit.sandbox.testnet.TestInternet;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An egress policy from a microVM (real QEMU, TCG here, over the busybox test environment) against the test
 * Internet: the guest resolves through QEMU's 10.0.2.3, which QEMU asks from the sandbox's namespace, where the gate
 * answers; its connections leave QEMU from that namespace and meet the gate as a container's do. An allowed name
 * works (busybox nc; the guest's busybox wget crashes here, whatever the network), a denied one does not resolve
 * and its address is refused, and the gate is confined and ends with the run as for a container.
 */
class EgressVmTest {
    private static TestInternet net;
    private static Path env;
    private static Path dns;

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    @BeforeAll
    static void internet() throws IOException {
        TestInternet.assumeAvailable();
        Tools.assumeAvailable("iptables-restore");
        assumeTrue(Overlay.ROOT, "the test Internet needs root");
        assumeTrue(Runtime.version().feature() >= 22, "as root, the sandbox's FFM calls need Java 22");
        env = VmTestEnvironment.get();
        net = TestInternet.start();
        dns = EgressAttackTest.dnsFiles(net, shared.resolve("dns"));
    }

    @AfterAll
    static void down() {
        if (net != null) {
            net.close();
        }
    }

    @Test
    void aMicroVmReachesOnlyWhatThePolicyAllows() throws Exception {
        String d = net.deniedAddress();
        net.clearRecords();
        String bb = "/.davit/busybox ";
        String script = bb + "nslookup allowed.test 10.0.2.3 >/dev/null 2>&1; echo \"allowed-dns=$?\"\n"
                + bb + "nslookup denied.test 10.0.2.3 >/dev/null 2>&1; echo \"denied-dns=$?\"\n"
                + "printf 'GET /vm-nc HTTP/1.0\\r\\nHost: allowed.test\\r\\n\\r\\n' | " + bb
                + "nc -w 10 allowed.test 80;"
                + " echo\n"
                + "printf 'GET /vm-denied-name HTTP/1.0\\r\\nHost: denied.test\\r\\n\\r\\n' | " + bb
                + "nc -w 10 denied.test 80; echo \"denied-name=$?\"\n"
                + "printf 'GET /vm-denied HTTP/1.0\\r\\nHost: " + d + "\\r\\n\\r\\n' | " + bb + "nc -w 10 " + d
                + " 80; echo\n"
                + "printf 'hello\\n' | " + bb + "nc -w 5 " + d + " 7; echo \"echo=$?\"\n";
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(tmp.resolve("state")).withEgressDns(dns));
        var run = NetworkTest.onThread(() -> sandboxes.run(RunSpec.builder(env).backend("vm").memoryMiB(256)
                .network(Network.policy(EgressAttackTest.allow("allowed.test"))).command("sh", "-c", script)
                .timeout(Duration.ofSeconds(120)).build()));
        ProcessHandle gate = null;
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (gate == null && !run.isDone() && System.nanoTime() < deadline) {
            List<ProcessHandle> g = EgressAttackTest.gates(tmp);
            gate = g.isEmpty() ? null : g.get(0);
            Thread.sleep(20);
        }
        assertThat(gate).as("the VM's gate").isNotNull();
        // found as it may still be starting (setpriv, nsenter: the steps before its JVM): judged once it serves
        EgressAttackTest.awaitServing(gate);
        EgressAttackTest.assertGateConfined(gate, dev.davit.sandbox.jail.IdRange.forNet(), true);
        ExecResult r = run.join();
        String out = r.stdoutText();
        System.out.println(out);
        assertThat(out).as(r.stderrText()).contains("allowed-dns=0").doesNotContain("denied-dns=0")
                .contains("\"path\":\"/vm-nc\"")
                .doesNotContain("denied-name=0").contains("davit: egress denied: " + d + ":80")
                .doesNotContain("hello");
        assertThat(net.httpRequests()).extracting(TestInternet.HttpRequest::path).contains("/vm-nc")
                .doesNotContain("/vm-denied", "/vm-denied-name");
        assertThat(net.connections()).noneMatch(c -> c.server().equals(d));
        assertThat(EgressAttackTest.gates(tmp)).isEmpty();
    }

    /** A long-lived microVM sandbox: its gate serves it, ends with stop, comes back with start and ends with rm. */
    @Test
    void aLongLivedMicroVmsGateEndsWithStopAndRm() throws Exception {
        Sandboxes sb = new Sandboxes(SandboxOptions.of(tmp.resolve("state")).withEgressDns(dns));
        Sandbox s = sb.create(CreateSpec.builder(env).backend("vm").memoryMiB(256)
                .network(Network.policy(EgressAttackTest.allow("allowed.test"))).ttl(Duration.ofMinutes(10)).build());
        try {
            sb.start(s.id());
            assertThat(EgressAttackTest.gates(tmp)).hasSize(1);
            ExecResult r = sb.exec(s.id(), List.of("sh", "-c", "printf 'GET /vm-long HTTP/1.0\\r\\nHost:"
                    + " allowed.test\\r\\n\\r\\n' | /.davit/busybox nc -w 10 allowed.test 80"), Map.of(), "/",
                    Duration.ofSeconds(60));
            assertThat(r.stdoutText()).as(r.stderrText()).contains("\"path\":\"/vm-long\"");
            sb.stop(s.id());
            assertThat(EgressAttackTest.gates(tmp)).isEmpty();
            sb.start(s.id());
            assertThat(EgressAttackTest.gates(tmp)).hasSize(1);
        } finally {
            sb.rm(s.id());
        }
        assertThat(EgressAttackTest.gates(tmp)).isEmpty();
    }
    /**
     * A microVM workspace's injected secret: the guest holds the placeholder and trusts the workspace's CA (in its
     * trust store), and its HTTPS connection to the host is served by the gate's injecting relay: busybox's wget
     * (the guest's only TLS client; it checks no certificate, and under TCG takes over a second to compute its
     * ClientHello) either fetches, and the host got the header, or fails the handshake with the gate's certificate
     * (busybox speaks TLS 1.2 only, the gate's end 1.3), which the gate records as the handshake of its certificate
     * for that host; never a plain relay to the host (which the first version of the gate made of a client that took
     * over a second to speak).
     */
    @Test
    void aMicroVmWorkspacesInjectedSecretGoesThroughTheGate() {
        String value = "vm-injected-4be19d07aa";
        dev.davit.sandbox.workspace.Workspaces ws = dev.davit.sandbox.workspace.Workspaces.under(tmp.resolve("home"),
                SandboxOptions.under(tmp.resolve("home")).withEgressDns(dns));
        dev.davit.sandbox.workspace.Workspace w = ws.create(WorkspaceSpec.builder(CreateSpec.builder(env).backend("vm")
                .memoryMiB(256)
                .network(Network.policy(EgressAttackTest.allow("allowed.test"))).build())
                .secrets(dev.davit.sandbox.workspace.Secrets.of(Map.of("TOKEN",
                value.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .inject("TOKEN", "allowed.test", "X-Api-Key", "{}"))
                .build());
        try {
            net.clearRecords();
            String bb = "/.davit/busybox ";
            String out;
            try (var x = ws.execs().runSpooled(w.id(), List.of("sh", "-c", "cat /run/secrets/TOKEN; echo; " + bb
                    + "grep -c 'davit egress CA' /etc/ssl/certs/ca-certificates.crt; " + bb + "wget -q -O /dev/null"
                    + " https://allowed.test/vm-bytes/1 && echo fetched"), null, null, null, Duration.ofSeconds(90),
                    65536, null, null, null)) {
                out = x.result().stdoutText();
                assertThat(out).as(x.result().stderrText()).contains("davit-injected:TOKEN\n", "1\n")
                        .doesNotContain(value);
            }
            if (out.contains("fetched")) {
                assertThat(net.httpRequests()).filteredOn(r -> r.path().equals("/vm-bytes/1")).singleElement()
                        .satisfies(r -> assertThat(r.header("x-api-key")).isEqualTo(value));
            } else {
                assertThat(ws.egressDenials(w.id())).anySatisfy(d -> {
                    assertThat(d.name()).isEqualTo("allowed.test");
                    assertThat(d.reason()).contains("TLS handshake with davit's certificate for allowed.test");
                });
                assertThat(net.httpRequests()).extracting(TestInternet.HttpRequest::path).doesNotContain("/vm-bytes/1");
            }
        } finally {
            ws.rm(w.id());
        }
    }
}
