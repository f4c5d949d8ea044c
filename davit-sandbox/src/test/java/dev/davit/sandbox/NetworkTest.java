package dev.davit.sandbox;

import dev.davit.sandbox.container.Overlay;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --network} (NAT through slirp4netns) against the real runtimes: a server on the host's 127.0.0.1 is out of
 * reach (also through the gateway 10.0.2.2), link-local addresses are unreachable, and an "outside" address (on a
 * veth pair this test makes, 10.200.0.1) is reached; {@code --network=host} still reaches the loopback
 * server; a published port of a long-lived sandbox serves the host. Needs root (the veth pair).
 */
class NetworkTest {
    private static final String OUTSIDE = "10.200.0.1";
    private static final String LINK = "dvt" + ProcessHandle.current().pid() % 100000;

    @TempDir
    Path tmp;

    @BeforeAll
    static void outside() {
        Tools.assumeAvailable("bwrap", "slirp4netns", "ip");
        assumeTrue(Overlay.ROOT, "the outside address needs root (a veth pair)");
        // a veth pair whose far end is in a namespace of the test's: 10.200.0.1 is a non-loopback host address
        Tools.run("ip", "netns", "add", LINK);
        Tools.run("ip", "link", "add", LINK, "type", "veth", "peer", "name", LINK + "p", "netns", LINK);
        Tools.run("ip", "addr", "add", OUTSIDE + "/24", "dev", LINK);
        Tools.run("ip", "link", "set", LINK, "up");
    }

    @AfterAll
    static void removeOutside() {
        if (Overlay.ROOT && Files.exists(Path.of("/sys/class/net", LINK))) {
            Tools.run("ip", "link", "del", LINK);
        }
        if (Overlay.ROOT && Files.exists(Path.of("/run/netns", LINK))) {
            Tools.run("ip", "netns", "del", LINK);
        }
    }

    /** A server that answers each connection with "hi" and counts them. */
    private static final class Server implements AutoCloseable {
        final ServerSocket socket;
        final AtomicInteger accepted = new AtomicInteger();

        Server(String address) throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getByName(address));
            Thread t = new Thread(() -> {
                while (!socket.isClosed()) {
                    try (Socket s = socket.accept()) {
                        accepted.incrementAndGet();
                        s.getOutputStream().write("hi\n".getBytes(StandardCharsets.UTF_8));
                    } catch (IOException e) {
                        // closed
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static String probe(String nc, String address, int port) {
        return "if " + nc + " -w 3 " + address + " " + port + " </dev/null; then echo reached; else echo refused; fi";
    }

    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void natReachesTheOutsideButNotTheHostsLoopbackOrLinkLocal(String runtime) throws IOException {
        Tools.assumeAvailable(runtime);
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        Path state = tmp.resolve("state");
        Sandboxes sandboxes = new Sandboxes(new SandboxOptions(state, null, null));
        try (Server loop = new Server("127.0.0.1"); Server out = new Server(OUTSIDE)) {
            String script = probe("nc", "127.0.0.1", loop.port()) + "; " + probe("nc", "10.0.2.2", loop.port())
                    + "; " + probe("nc", "169.254.169.254", 80) + "; " + probe("nc", OUTSIDE, out.port());
            ExecResult r = sandboxes.run(RunSpec.builder(rootfs).runtime(runtime).network(Network.NAT)
                    .command("sh", "-c", script).timeout(Duration.ofSeconds(60)).build());
            assertThat(r.exitCode()).as(r.stderrText()).isZero();
            assertThat(r.stdoutText().lines().filter(l -> l.equals("reached") || l.equals("refused")).toList())
                    .containsExactly("refused", "refused", "refused", "reached");
            assertThat(r.stdoutText()).contains("hi");
            assertThat(loop.accepted.get()).isZero();
            assertThat(out.accepted.get()).isEqualTo(1);

            ExecResult host = sandboxes.run(RunSpec.builder(rootfs).runtime(runtime).network(Network.HOST)
                    .command("sh", "-c", probe("nc", "127.0.0.1", loop.port())).timeout(Duration.ofSeconds(30))
                    .build());
            assertThat(host.stdoutText()).as(host.stderrText()).contains("hi").endsWith("reached\n");
            assertThat(loop.accepted.get()).isEqualTo(1);
        }
        // DNS: NAT gets slirp4netns's forwarder, host the host's resolvers, bound over the image's /etc/resolv.conf
        // (none in this image: the mount point is made in the sandbox's own layer, never in the rootfs)
        ExecResult dns = sandboxes.run(RunSpec.builder(rootfs).runtime(runtime).network(Network.NAT)
                .command("sh", "-c", "cat /etc/resolv.conf; nslookup deb.debian.org >/dev/null && echo resolved")
                .timeout(Duration.ofSeconds(60)).build());
        assertThat(dns.stdoutText()).as(dns.stderrText()).isEqualTo("nameserver 10.0.2.3\nresolved\n");
        ExecResult hostDns = sandboxes.run(RunSpec.builder(rootfs).runtime(runtime).network(Network.HOST)
                .command("cat", "/etc/resolv.conf").build());
        assertThat(hostDns.stdoutText()).isEqualTo(Files.readString(Path.of("/etc/resolv.conf")));
        assertThat(rootfs.resolve("etc/resolv.conf")).doesNotExist();
        assertThat(BusyboxRootfs.entries(state)).isEmpty();
        assertThat(slirps()).isEmpty();
    }

    @Test
    void doctorSaysNatWorks() {
        Doctor.Backend n = new Sandboxes(new SandboxOptions(tmp.resolve("doctor"), null, null)).doctor().backends()
                .stream().filter(b -> b.name().equals(Doctor.NETWORK)).findFirst().orElseThrow();
        assertThat(n.available()).as(n.detail()).isTrue(); // CI runs as root with slirp4netns installed
        assertThat(n.facts()).containsKeys("slirp4netns", "tun");
    }

    @Test
    void aPublishedPortOfALongLivedSandboxServesTheHostsLoopback() throws IOException {
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        Files.createSymbolicLink(rootfs.resolve("bin/httpd"), Path.of("busybox"));
        Sandboxes sandboxes = new Sandboxes(new SandboxOptions(tmp.resolve("state"), null, null));
        int hostPort;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            hostPort = free.getLocalPort();
        }
        Sandbox s = sandboxes.start(sandboxes.create(new CreateSpec(rootfs, Map.of(), null, Network.NAT, null, null,
                null, RunSpec.DEFAULT_VCPUS, RunSpec.DEFAULT_MEMORY_MIB,
                List.of(PortMapping.parse(hostPort + ":8080")), null)).id());
        try {
            ExecResult serve = sandboxes.exec(s.id(), List.of("sh", "-c", "echo served > /tmp/index.html;"
                    + " httpd -p 8080 -h /tmp"), null, null, Duration.ofSeconds(30));
            assertThat(serve.exitCode()).as(serve.stderrText()).isZero();
            assertThat(get(hostPort)).contains("served");
            assertThat(sandboxes.exec(s.id(), List.of("cat", "/etc/resolv.conf"), null, null, Duration.ofSeconds(30))
                    .stdoutText()).isEqualTo("nameserver 10.0.2.3\n");
        } finally {
            sandboxes.rm(s.id());
        }
        assertThat(slirps()).isEmpty();
        try (Socket c = new Socket()) {
            c.connect(new java.net.InetSocketAddress("127.0.0.1", hostPort), 2000);
            throw new AssertionError("the published port outlived its sandbox");
        } catch (IOException expected) {
            // refused: nothing listens any more
        }
    }

    private static String get(int port) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            try (Socket c = new Socket("127.0.0.1", port)) {
                c.setSoTimeout(5000);
                c.getOutputStream().write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.UTF_8));
                InputStream in = c.getInputStream();
                String reply = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                if (!reply.isEmpty() || System.nanoTime() > deadline) {
                    return reply;
                }
            } catch (SocketTimeoutException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
        }
    }

    /** slirp4netns processes of this test's sandboxes (davit's children, or detached, under tmp). */
    private List<ProcessHandle> slirps() {
        return ProcessHandle.allProcesses().filter(h -> h.info().command().orElse("").endsWith("slirp4netns")
                && h.info().arguments().map(List::of).orElse(List.of()).stream().anyMatch(a -> a.equals("tap0"))
                && cwdUnderTmp(h)).toList();
    }

    private boolean cwdUnderTmp(ProcessHandle h) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(h.pid()), "cwd")).startsWith(tmp);
        } catch (IOException e) {
            return false;
        }
    }
}
