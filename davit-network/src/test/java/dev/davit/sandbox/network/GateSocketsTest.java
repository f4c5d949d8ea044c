package dev.davit.sandbox.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.testkit.Tools;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gate's sockets in a sandbox's network namespace are made only once the namespace's wrapper says it is set up.
 * In a new namespace with no address yet, the kernel binds 127.0.0.1 as a broadcast address, with no source
 * address: the DNS socket's answers to queries redirected from eth0's address then leave from that address, which
 * the asker drops (seen as DNS over UDP that never answered for a gate's whole life, when a gate started faster
 * than its wrapper set the namespace up). The test makes such a namespace (a holder process of its own), starts the
 * gate's socket making, sees nothing bound there while the namespace is bare, then sets it up as the wrapper does
 * and sees the DNS socket answer a query redirected from another address of the namespace from the address asked.
 */
class GateSocketsTest {
    @TempDir
    Path tmp;

    @Test
    void theSocketsWaitForTheNamespaceAndAnswerFromTheAddressAsked() throws Exception {
        assumeTrue(Runtime.version().feature() >= 22, "the gate needs Java 22");
        assumeTrue("root".equals(System.getProperty("user.name")), "making a network namespace here needs root");
        Tools.assumeAvailable("unshare", "nsenter", "ip", "iptables-restore", "python3");
        Process holder = new ProcessBuilder("unshare", "--net", "--", "sleep", "120").start();
        try {
            String netns = "/proc/" + holder.pid() + "/ns/net";
            awaitNamespace(holder);
            GateSys sys = GateSys.load();
            Path up = tmp.resolve(Gate.NETNS_UP);
            CompletableFuture<Gate.Sockets> made = CompletableFuture.supplyAsync(() -> {
                try {
                    return Gate.sockets(sys, netns, up);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(500);
            assertThat(made).isNotDone();
            assertThat(in(holder, "ss -Hlun; ss -Hltn")).as("nothing bound in the bare namespace").isBlank();
            // the wrapper's set-up: an address, lo up, the redirect of DNS to the gate's socket
            String setUp = in(holder, "ip link add eth0 type veth peer name gate0 && ip addr add 10.0.2.100/24 dev eth0 && ip link set lo up"
                    + " && ip link set eth0 up && printf '*nat\\n:OUTPUT ACCEPT [0:0]\\n-A OUTPUT -p udp --dport 53"
                    + " -j REDIRECT --to-ports 53\\nCOMMIT\\n' | iptables-restore && echo set-up");
            assertThat(setUp).contains("set-up");
            Files.createFile(up);
            Gate.Sockets s = made.get(20, TimeUnit.SECONDS);
            try {
                assertThat(in(holder, "ss -Hlun")).contains("127.0.0.1:53");
                // answers what it receives, from the socket the gate serves DNS on
                Thread echo = Thread.ofPlatform().start(() -> {
                    try {
                        ByteBuffer b = ByteBuffer.allocate(512);
                        var from = s.udp().receive(b);
                        b.flip();
                        s.udp().send(b, from);
                    } catch (java.io.IOException e) {
                        // the test fails below
                    }
                });
                String asked = in(holder, "python3 -c \"import socket; s=socket.socket(socket.AF_INET,"
                        + " socket.SOCK_DGRAM); s.settimeout(5); s.connect(('10.0.2.3', 53)); s.send(b'q');"
                        + " print('answered', s.recv(10))\" 2>&1");
                echo.join(10_000);
                assertThat(asked).contains("answered b'q'");
            } finally {
                sys.close(s.tcp(), false);
                s.udp().close();
            }
        } finally {
            holder.destroyForcibly();
        }
    }

    private static void awaitNamespace(Process holder) throws Exception {
        Path self = Path.of("/proc/self/ns/net");
        for (int i = 0; i < 500; i++) {
            if (!Files.readSymbolicLink(Path.of("/proc/" + holder.pid() + "/ns/net"))
                    .equals(Files.readSymbolicLink(self))) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the holder made no network namespace");
    }

    /** Runs {@code script} in the holder's network namespace; its output. */
    private static String in(Process holder, String script) throws Exception {
        Process p = new ProcessBuilder("nsenter", "--net=/proc/" + holder.pid() + "/ns/net", "--", "sh", "-c", script)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
