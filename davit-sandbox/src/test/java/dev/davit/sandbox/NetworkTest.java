package dev.davit.sandbox;

import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.backend.Nat;
import dev.davit.sandbox.container.Overlay;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.DavitException;
import dev.davit.oci.testkit.Tools;
import dev.davit.oci.testkit.Unprivileged;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(state));
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

    /**
     * slirp4netns parses every packet a sandbox sends: as an attacker who took it over would find it, it runs as an
     * unprivileged uid of davit's network range in a user namespace of its own, with no_new_privs, its seccomp filter,
     * at most CAP_NET_BIND_SERVICE over its own user namespace and a root holding only /etc and /run. The sandbox's
     * root listens on port 80 of its namespace, and cannot remove the link-local route nor take its loopback down.
     */
    @ParameterizedTest
    @ValueSource(strings = {"bwrap", "crun", "runc"})
    void slirp4netnsIsConfinedAndTheSandboxServesOnPort80(String runtime) throws Exception {
        Tools.assumeAvailable(runtime);
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(tmp.resolve("state")));
        String script = "echo served > /tmp/i; busybox httpd -p 80 -h /tmp && busybox wget -q -O - http://127.0.0.1/i;"
                + " busybox ip route del 169.254.0.0/16 && echo removed; busybox ip link set lo down && echo down;"
                + " busybox ip route | busybox grep 169.254; read x; true";
        PipedOutputStream input = new PipedOutputStream();
        PipedInputStream stdin = new PipedInputStream(input);
        CompletableFuture<ExecResult> run = onThread(() -> sandboxes.run(RunSpec.builder(rootfs).runtime(runtime)
                .network(Network.NAT).command("sh", "-c", script).timeout(Duration.ofSeconds(60)).build(), stdin, null,
                null));
        try {
            assertConfined(awaitSlirp(tmp, run), true);
        } finally {
            input.close();
        }
        ExecResult r = run.get(60, TimeUnit.SECONDS);
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo("served\nunreachable 169.254.0.0/16 \n");
        assertThat(slirps()).isEmpty();
    }

    /** A NAT run (bubblewrap) of {@code sh -c SCRIPT} with this process's input, by an unprivileged user. */
    public static final class RootlessRun {
        public static void main(String[] args) {
            try {
                ExecResult r = new Sandboxes(SandboxOptions.of(Path.of(args[0]))).run(RunSpec
                        .builder(Path.of(args[1])).runtime("bwrap").limits(Limits.NONE).network(Network.NAT)
                        .command("sh", "-c", args[2]).build(), System.in, null, null);
                System.out.print("exit " + r.exitCode() + "\n" + r.stdoutText() + r.stderrText());
            } catch (DavitException e) {
                System.out.println("error " + e.kind() + ": " + e.getMessage());
            }
        }
    }

    /**
     * Without root slirp4netns runs as the user, in the user namespace of the sandbox's network, with its own
     * sandbox and filter too. The host's /dev/net/tun may be root's only (this CI host's is): the user gets a node
     * open to all in a mount namespace of its own, as a Debian host has by default.
     */
    @Test
    void withoutRootSlirp4netnsIsConfinedToo() throws Exception {
        Tools.assumeAvailable("setpriv", "useradd", "unshare", "mknod");
        try (Unprivileged.Session u = Unprivileged.Session.open("davit-nat-confined-");
             Server out = new Server(OUTSIDE)) {
            Path rootfs = BusyboxRootfs.createFor(u.dir().resolve("rootfs"));
            Tools.run("chown", "-R", u.ids()[0] + ":" + u.ids()[1], rootfs.toString()); // as the user unpacked it
            List<String> cmd = new java.util.ArrayList<>(List.of("unshare", "--mount", "--propagation", "private",
                    "--", "sh", "-c", "mount -t tmpfs -o mode=0755 tun /dev/net && mknod -m 0666 /dev/net/tun c 10 200"
                            + " && exec \"$@\"", "sh"));
            cmd.addAll(Unprivileged.javaAs(u.ids(), u.home(), u.classpath(), List.of(), RootlessRun.class.getName(),
                    u.home().resolve("sandboxes").toString(), rootfs.toString(), "nc -w 3 " + OUTSIDE + " "
                            + out.port() + " </dev/null; read x; true"));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            try {
                ProcessHandle slirp = awaitSlirp(u.dir(), p.onExit());
                assertConfined(slirp, false);
                assertThat(Files.readString(Path.of("/proc", Long.toString(slirp.pid()), "status")))
                        .contains("\nUid:\t" + u.ids()[0] + "\t");
            } finally {
                p.getOutputStream().close();
            }
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(output).isEqualTo("exit 0\nhi\n");
            assertThat(out.accepted.get()).isEqualTo(1);
            assertThat(slirpsLoggingUnder(u.dir())).isEmpty();
        }
    }

    /** {@code run} on a thread of its own (the common pool may have a single thread, and it busy). */
    static <T> CompletableFuture<T> onThread(java.util.function.Supplier<T> run) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(run.get());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** The first confined slirp4netns logging under {@code dir} while {@code run} runs (20 s at most). */
    static ProcessHandle awaitSlirp(Path dir, CompletableFuture<?> run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        String last = "none";
        while (System.nanoTime() < deadline && !run.isDone()) {
            for (ProcessHandle h : slirpsLoggingUnder(dir)) {
                try {
                    last = Files.readString(Path.of("/proc", Long.toString(h.pid()), "status"));
                    if (last.contains("\nSeccomp:\t2\n")) {
                        return h;
                    }
                } catch (IOException e) {
                    // gone meanwhile
                }
            }
            Thread.sleep(5);
        }
        if (run.isDone()) {
            run.get(); // its failure, if it failed
        }
        throw new AssertionError("no slirp4netns under " + dir + " loaded a seccomp filter; the last seen: " + last);
    }

    /**
     * What an attacker who took slirp4netns over would have: {@code root}: an unprivileged uid of davit's network
     * range (else davit's user), in a user namespace of its own, no_new_privs, its seccomp filter, at most
     * CAP_NET_BIND_SERVICE over its own user namespace, and a root of its own holding only /etc and /run.
     */
    static void assertConfined(ProcessHandle slirp, boolean root) throws IOException {
        Path proc = Path.of("/proc", Long.toString(slirp.pid()));
        Map<String, String> f = new java.util.HashMap<>();
        Files.readString(proc.resolve("status")).lines().forEach(l -> f.put(l.substring(0, l.indexOf(':')),
                l.substring(l.indexOf(':') + 1).strip()));
        String[] uids = f.get("Uid").split("\\s+");
        long uid = Long.parseLong(uids[0]);
        assertThat(uids).as(f.toString()).containsOnly(uids[0]);
        if (root) {
            dev.davit.sandbox.jail.IdRange net = dev.davit.sandbox.jail.IdRange.forNet();
            assertThat(uid).as(f.toString()).isBetween(net.uid(), net.uid() + net.count() - 1);
            assertThat(f.get("Gid").split("\\s+")).containsOnly(Long.toString(net.gid() + uid - net.uid()));
            assertThat(f.get("Groups")).isEmpty();
            assertThat(Files.readSymbolicLink(proc.resolve("ns/user")))
                    .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/user")));
        }
        assertThat(uid).isNotZero();
        assertThat(f.get("NoNewPrivs")).isEqualTo("1");
        assertThat(f.get("Seccomp")).isEqualTo("2");
        assertThat(f.get("CapEff")).isIn("0000000000000000", "0000000000000400");
        assertThat(f.get("CapBnd")).isIn("0000000000000000", "0000000000000400");
        try (java.util.stream.Stream<Path> s = Files.list(proc.resolve("root"))) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("etc", "run");
        }
    }

    /**
     * As root the wrapper goes on once slirp4netns configured the namespace, a moment before it is confined: a short
     * command may be done before {@link Nat#attach} sees it in the namespace (a loaded host), which is its run's end,
     * not a failed network. Here it ended before the attach began.
     */
    @Test
    void aCommandDoneBeforeItsAttachIsNoError() throws Exception {
        assumeTrue(dev.davit.sandbox.jail.Jail.AS_ROOT, "as root (CI runs as root)");
        Nat.Tools t = Nat.tools(SandboxOptions.of(tmp.resolve("state")));
        Path dir = Files.createDirectories(tmp.resolve("sb-done"));
        Process p = new ProcessBuilder(Nat.wrap(t, dir, List.of("/bin/sh", "-c", "echo done"))).redirectErrorStream(true)
                .start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(out).isZero();
            assertThat(out).isEqualTo("done\n");
            Nat.attach(t, p.pid(), dir, false, List.of());
        } finally {
            Nat.stop(dir);
        }
        assertThat(slirps()).isEmpty();
    }

    /** As root, a holder of the namespace that ends before the sandbox joined it is named, with how it ended. */
    @Test
    void aHolderThatEndedEarlyIsNamed() throws Exception {
        assumeTrue(dev.davit.sandbox.jail.Jail.AS_ROOT, "as root (CI runs as root)");
        Nat.Tools t = Nat.tools(SandboxOptions.of(tmp.resolve("state")));
        Path dir = Files.createDirectories(tmp.resolve("sb-holder"));
        List<String> cmd = Nat.wrap(t, dir, List.of("/bin/true"));
        Process p = null;
        try {
            // nsenter --net=/proc/HOLDER/ns/net: ended once slirp4netns is in its namespaces (confined)
            long holder = Long.parseLong(cmd.get(1).replaceAll("\\D", ""));
            long slirp = Long.parseLong(Files.readString(dir.resolve(Nat.PID_FILE)).split(" ")[0]);
            Path status = Path.of("/proc", Long.toString(slirp), "status");
            for (int i = 0; i < 20_000 && !Files.readString(status).contains("\nSeccomp:\t2\n"); i++) {
                Thread.sleep(1);
            }
            ProcessHandle h = ProcessHandle.of(holder).orElseThrow();
            h.destroyForcibly();
            h.onExit().get();
            p = new ProcessBuilder(cmd).start();
            long pid = p.pid();
            assertThatThrownBy(() -> Nat.attach(t, pid, dir, false, List.of()))
                    .isInstanceOf(DavitException.class).hasMessageStartingWith("the holder of the sandbox's network"
                            + " namespace (pid " + holder + ") ended before the sandbox joined it: exited with 137");
        } finally {
            if (p != null) {
                p.destroyForcibly().waitFor();
            }
            Nat.stop(dir);
        }
        assertThat(slirps()).isEmpty();
    }

    @Test
    void doctorSaysNatWorks() {
        Doctor.Backend n = new Sandboxes(SandboxOptions.of(tmp.resolve("doctor"))).doctor().backends()
                .stream().filter(b -> b.name().equals(Doctor.NETWORK)).findFirst().orElseThrow();
        assertThat(n.available()).as(n.detail()).isTrue(); // CI runs as root with slirp4netns installed
        assertThat(n.facts()).containsKeys("slirp4netns", "tun");
    }

    @Test
    void aPublishedPortOfALongLivedSandboxServesTheHostsLoopback() throws IOException {
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        Files.createSymbolicLink(rootfs.resolve("bin/httpd"), Path.of("busybox"));
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(tmp.resolve("state")));
        int hostPort;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            hostPort = free.getLocalPort();
        }
        Sandbox s = sandboxes.start(sandboxes.create(CreateSpec.builder(rootfs).network(Network.NAT)
                .publish(List.of(PortMapping.parse(hostPort + ":80"))).limits(Limits.NONE).build()).id());
        try {
            assertConfined(ProcessHandle.of(Long.parseLong(Files.readString(tmp.resolve("state").resolve(s.id())
                    .resolve(Nat.PID_FILE)).split(" ")[0])).orElseThrow(), true);
            // sandbox root serves on port 80 of its namespace (nothing of the host's)
            ExecResult serve = sandboxes.exec(s.id(), List.of("sh", "-c", "echo served > /tmp/index.html;"
                    + " httpd -p 80 -h /tmp"), null, null, Duration.ofSeconds(30));
            assertThat(serve.exitCode()).as(serve.stderrText()).isZero();
            assertThat(get(hostPort)).contains("served");
            ExecResult routes = sandboxes.exec(s.id(), List.of("sh", "-c", "busybox ip route del 169.254.0.0/16"
                    + " && echo removed; busybox ip link set lo down && echo down; busybox ip route"), null, null,
                    Duration.ofSeconds(30));
            assertThat(routes.stdoutText()).doesNotContain("removed", "down").contains("unreachable 169.254.0.0/16");
            // stopped and started again: a new namespace, slirp4netns confined again, the port published again
            sandboxes.stop(s.id());
            sandboxes.start(s.id());
            assertConfined(ProcessHandle.of(Long.parseLong(Files.readString(tmp.resolve("state").resolve(s.id())
                    .resolve(Nat.PID_FILE)).split(" ")[0])).orElseThrow(), true);
            assertThat(sandboxes.exec(s.id(), List.of("sh", "-c", "echo again > /tmp/index.html; httpd -p 80 -h /tmp"),
                    null, null, Duration.ofSeconds(30)).exitCode()).isZero();
            assertThat(get(hostPort)).contains("again");
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

    /**
     * A host port another process holds fails at once, in davit's words (the port and the fix), before anything
     * starts: at create, and at a later start when it was taken meanwhile; no slirp4netns is left behind.
     */
    @Test
    void aTakenHostPortFailsAtOnceNamingThePortAndTheFix() throws IOException {
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        Sandboxes sandboxes = new Sandboxes(SandboxOptions.of(tmp.resolve("state")));
        java.util.function.IntFunction<CreateSpec> publishing = port -> CreateSpec.builder(rootfs).network(Network.NAT)
                .publish(List.of(PortMapping.parse(port + ":80"))).limits(Limits.NONE).build();
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            long t0 = System.nanoTime();
            DavitException e = org.junit.jupiter.api.Assertions.assertThrows(DavitException.class,
                    () -> sandboxes.create(publishing.apply(port)));
            System.out.println("a taken host port refused in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            assertThat(e.kind()).isEqualTo(DavitException.Kind.USAGE);
            assertThat(e.getMessage()).isEqualTo("cannot publish 127.0.0.1:" + port + ":80: host port " + port
                    + " is in use on 127.0.0.1; choose a free host port, or 0 for any free one"
                    + " (CreateSpec.Builder.publish)");
            assertThat(sandboxes.list()).isEmpty();
        }
        int later;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            later = free.getLocalPort();
        }
        Sandbox s = sandboxes.create(publishing.apply(later));
        try (ServerSocket taken = new ServerSocket(later, 1, InetAddress.getLoopbackAddress())) {
            DavitException e = org.junit.jupiter.api.Assertions.assertThrows(DavitException.class,
                    () -> sandboxes.start(s.id()));
            assertThat(e.getMessage()).contains("host port " + later + " is in use", "or 0 for any free one");
            assertThat(slirps()).isEmpty();
        } finally {
            sandboxes.rm(s.id());
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

    /**
     * slirp4netns processes of this test's sandboxes (davit's children, or detached): their log, standard output, is
     * under tmp (their working directory is their own root's / once they are confined).
     */
    private List<ProcessHandle> slirps() {
        return slirpsLoggingUnder(tmp);
    }

    static List<ProcessHandle> slirpsLoggingUnder(Path dir) {
        return ProcessHandle.allProcesses().filter(h -> h.info().command().orElse("").endsWith("slirp4netns")
                && h.info().arguments().map(List::of).orElse(List.of()).stream().anyMatch(a -> a.equals("tap0"))
                && logsUnder(h, dir)).toList();
    }

    private static boolean logsUnder(ProcessHandle h, Path dir) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(h.pid()), "fd", "1")).startsWith(dir);
        } catch (IOException e) {
            return false;
        }
    }
}
