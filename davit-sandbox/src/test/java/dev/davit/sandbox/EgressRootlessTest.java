package dev.davit.sandbox;

import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.DavitException;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import dev.davit.sandbox.container.Overlay;
import dev.davit.sandbox.jail.IdRange;
import dev.davit.sandbox.testnet.TestInternet;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An egress policy without root, as the unprivileged user {@value Unprivileged#USER}, against the test Internet:
 * the namespace is the wrapper's (its user namespace the user's), the gate runs as the user and needs no TUN device.
 * Allowed works, denied fails, sandbox root's changes to its network fail (bwrap, crun, runc one-shot), and the gate
 * of a long-lived sandbox is confined as root's is and ends with it.
 */
class EgressRootlessTest {
    private static TestInternet net;

    @BeforeAll
    static void internet() throws java.io.IOException {
        TestInternet.assumeAvailable();
        Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox", "nsenter", "iptables-restore", "iptables",
                "ip");
        assumeTrue(Overlay.ROOT, "making the unprivileged user and the test Internet needs root");
        assumeTrue(Runtime.version().feature() >= 22, "as root, the sandbox's FFM calls need Java 22");
        net = TestInternet.start();
    }

    @AfterAll
    static void down() {
        if (net != null) {
            net.close();
        }
    }

    private static SandboxOptions options(String state, String dns) {
        return SandboxOptions.of(Path.of(state)).withEgressDns(Path.of(dns));
    }

    /**
     * As the user: a one-shot run on runtime {@code args[3]} of {@link EgressAttackTest#probes} and an allowed
     * request.
     */
    public static final class OneShot {
        public static void main(String[] args) {
            try {
                ExecResult r = new Sandboxes(options(args[0], args[2])).run(RunSpec.builder(Path.of(args[1]))
                        .runtime(args[3]).limits(Limits.NONE).network(Network.policy(EgressAttackTest.allow(
                                "allowed.test"))).command("sh", "-c", EgressAttackTest.probes(args[4])
                                + "printf 'GET /rootless HTTP/1.0\\r\\nHost: allowed.test\\r\\n\\r\\n'"
                                + " | nc -w 10 allowed.test 80\n").timeout(Duration.ofSeconds(90)).build());
                System.out.print("exit " + r.exitCode() + "\n" + r.stdoutText() + "stderr: " + r.stderrText());
            } catch (DavitException e) {
                System.out.println("error " + e.kind() + ": " + e.getMessage());
            }
        }
    }

    /**
     * As the user: a long-lived sandbox that holds a connection to allowed.test's echo open, says {@code ready},
     * waits for a line, is removed and says {@code removed}.
     */
    public static final class LongLived {
        public static void main(String[] args) throws Exception {
            Sandboxes s = new Sandboxes(options(args[0], args[2]));
            try {
                Sandbox sb = s.start(s.create(CreateSpec.builder(Path.of(args[1])).limits(Limits.NONE)
                        .network(Network.policy(EgressAttackTest.allow("allowed.test"))).build()).id());
                Machinery.of(s).spawn(sb.id(), List.of("sh", "-c", "(echo hi; sleep 60) | nc allowed.test 7"),
                        Map.of(), "/", Path.of(args[0]).resolve("spawn"), false);
                System.out.println("ready");
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
                s.rm(sb.id());
                System.out.println("removed");
            } catch (DavitException e) {
                System.out.println("error " + e.kind() + ": " + e.getMessage());
            }
        }
    }

    private static Path prepare(Unprivileged.Session u) throws Exception {
        Path rootfs = EgressAttackTest.attackerRootfs(u.dir().resolve("rootfs"));
        Path dns = EgressAttackTest.dnsFiles(net, u.dir().resolve("dns"));
        Tools.run("chmod", "-R", "a+rX", dns.toString());
        Tools.run("chown", "-R", u.ids()[0] + ":" + u.ids()[1], rootfs.toString()); // as the user unpacked it
        return rootfs;
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void withoutRootAllowedWorksDeniedFailsAndRootCannotChangeTheNetwork(String runtime) throws Exception {
        Tools.assumeAvailable(runtime, "unshare", "prlimit");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-egress-rootless-")) {
            Path rootfs = prepare(u);
            Path state = u.home().resolve("sandboxes");
            net.clearRecords();
            String out = u.java(List.of(), 3, OneShot.class.getName(), state.toString(), rootfs.toString(),
                    u.dir().resolve("dns").toString(), runtime, net.deniedAddress());
            System.out.println(runtime + " without root:\n" + out);
            assertThat(out).startsWith("exit 0\n").contains("\"path\":\"/rootless\"");
            EgressAttackTest.assertProbesFailed(out, out, net.httpRequests());
            assertThat(net.httpRequests()).extracting(TestInternet.HttpRequest::path).contains("/rootless");
            assertThat(EgressAttackTest.gates(u.dir())).isEmpty();
            assertThat(BusyboxRootfs.entries(state)).isEmpty();
        }
    }

    @Test
    void withoutRootTheGateRunsAsTheUserConfinedAndEndsWithItsSandbox() throws Exception {
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-egress-rootless-gate-")) {
            Path rootfs = prepare(u);
            Path state = u.home().resolve("sandboxes");
            Process p = new ProcessBuilder(Unprivileged.javaAs(u.ids(), u.home(), u.classpath(), List.of(),
                    LongLived.class.getName(), state.toString(), rootfs.toString(), u.dir().resolve("dns").toString()))
                    .redirectErrorStream(true).start();
            BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            try {
                String first = in.readLine();
                assertThat(first).isEqualTo("ready");
                ProcessHandle gate = EgressAttackTest.onlyGate(u.dir());
                EgressAttackTest.awaitRelaying(gate);
                EgressAttackTest.assertGateConfined(gate, new IdRange(u.ids()[0], u.ids()[1], 1), false);
                p.getOutputStream().write('\n');
                p.getOutputStream().flush();
                assertThat(in.readLine()).isEqualTo("removed");
            } finally {
                p.getOutputStream().close();
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
            assertThat(EgressAttackTest.gates(u.dir())).isEmpty();
        }
    }
}
