package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import java.io.File;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@link Network#NAT}: a sandbox in a network namespace of its own whose only way out is slirp4netns, a user-mode
 * TCP/IP stack that opens ordinary sockets on the host for the sandbox's connections.
 *
 * <pre>
 * unshare [--user --map-root-user] --net -- /bin/sh -c 'wait for the default route; ip route add unreachable
 *         169.254.0.0/16; exec "$@"' sh IP SLEEP -- [overlay wrapper] bwrap|crun|runc|qemu ...
 * slirp4netns --configure --mtu=65520 --disable-host-loopback [--api-socket slirp.sock] PID tap0
 * </pre>
 *
 * The wrapper holds the command until slirp4netns has configured {@code tap0} (10.0.2.100/24, default route via
 * 10.0.2.2, DNS at 10.0.2.3), so the command never sees a half-made network. {@code --disable-host-loopback} keeps
 * 10.0.2.2 from leading to the host's 127.0.0.1; the namespace's own 127.0.0.1 is the sandbox's; the unreachable
 * route keeps link-local addresses (cloud metadata at 169.254.169.254) away, and the sandboxed command has no
 * capability over the namespace to remove it. Everything else is reached as the host reaches it, from the host's
 * own address. QEMU run in such a namespace maps its own 10.0.2.2 to the namespace's loopback, where nothing of the
 * host listens.
 */
public final class Nat {
    static final String SLIRP4NETNS = "slirp4netns";
    /** The sandbox's address behind slirp4netns (where published ports are forwarded to). */
    static final String GUEST_ADDRESS = "10.0.2.100";
    /** slirp4netns's pid and start time, in the sandbox's state directory. */
    static final String PID_FILE = "slirp4netns.pid";
    static final String LOG = "slirp4netns.log";
    static final String API_SOCKET = "slirp.sock";
    /** How long the wrapper waits for slirp4netns (in 5 ms steps), and davit for the namespace to exist. */
    private static final int READY_STEPS = 4000;
    private static final long NAMESPACE_WAIT_MS = 20_000;

    private static final String SCRIPT = "ip=$1 sleep=$2\nshift 3\ni=0\n"
            + "until [ -n \"$(\"$ip\" -4 route show default 2>/dev/null)\" ]; do\n"
            + "  i=$((i+1))\n"
            + "  if [ $i -gt " + READY_STEPS + " ]; then echo \"davit: the sandbox's network (slirp4netns) did not"
            + " come up\" >&2; exit 125; fi\n"
            + "  \"$sleep\" 0.005\n"
            + "done\n"
            + "\"$ip\" route add unreachable 169.254.0.0/16 || exit 125\n"
            + "exec \"$@\"\n";

    private Nat() {
    }

    /**
     * The tools NAT needs, found by {@link #tools}.
     *
     * @param unshare     util-linux {@code unshare}, which makes the network namespace
     * @param ip          iproute2 {@code ip}, with which the wrapper waits for the route and blocks link-local
     * @param sleep       coreutils {@code sleep}, for the wrapper's wait
     * @param slirp4netns the user-mode network stack
     */
    public record Tools(Path unshare, Path ip, Path sleep, Path slirp4netns) {
    }

    /**
     * The tools NAT needs, on {@code options}' search path, and a TUN device this user can open.
     *
     * @param options whose search path is looked in
     * @return the tools
     * @throws DavitException NOT_FOUND naming the package of a missing tool; USAGE when {@code /dev/net/tun} is
     *                        missing or this user cannot open it
     */
    public static Tools tools(SandboxOptions options) {
        Path slirp = options.which(SLIRP4NETNS);
        if (slirp == null) {
            throw new DavitException(Kind.NOT_FOUND, "slirp4netns is not installed; Network.NAT needs it: install the"
                    + " slirp4netns package (or use Network.HOST to share the host's network)");
        }
        Path ip = options.which("ip");
        if (ip == null) {
            throw new DavitException(Kind.NOT_FOUND, "ip (iproute2) is not installed; Network.NAT needs it: install"
                    + " the iproute2 package");
        }
        Path unshare = options.which("unshare");
        Path sleep = options.which("sleep");
        if (unshare == null || sleep == null) {
            throw new DavitException(Kind.NOT_FOUND, "unshare or sleep is not installed; Network.NAT needs them:"
                    + " install util-linux and coreutils");
        }
        String tun = tunProblem(TUN);
        if (tun != null) {
            throw new DavitException(Kind.USAGE, tun);
        }
        return new Tools(unshare, ip, sleep, slirp);
    }

    /** The TUN device slirp4netns opens inside the sandbox's namespace. */
    static final Path TUN = Path.of("/dev/net/tun");

    /**
     * Why slirp4netns could not open {@code tun} for this user, or null when it can: without root it opens the device
     * as the user, so a device of mode 0600 (some hosts; Debian's default is 0666) fails, and would only show as a
     * network that never comes up.
     */
    static String tunProblem(Path tun) {
        if (!Files.exists(tun)) {
            return "Network.NAT needs " + tun + ", which this host lacks (load the tun module: modprobe tun), or"
                    + " use Network.HOST to share the host's network";
        }
        if (dev.davit.sandbox.jail.Jail.AS_ROOT || (Files.isReadable(tun) && Files.isWritable(tun))) {
            return null;
        }
        return "Network.NAT needs " + tun + ", which this user cannot open (only root can here; Debian's default mode"
                + " is 0666: 'chmod 0666 " + tun + "' as root restores it), or run as root, or use Network.HOST";
    }

    /**
     * {@code cmd} run in a new network namespace once slirp4netns has connected it (see {@link #attach}); without
     * root, in a new user namespace too (mapping the user to root).
     *
     * @param t   the tools, from {@link #tools}
     * @param cmd the command and its arguments
     * @return the wrapped command
     */
    public static List<String> wrap(Tools t, List<String> cmd) {
        return wrap(t, dev.davit.sandbox.jail.Jail.AS_ROOT ? List.of() : List.of("--user", "--map-root-user"), cmd);
    }

    /**
     * {@link #wrap(Tools, List)} in the user namespace that unshare's options {@code user} make (e.g. one with the
     * user's subordinate ids, {@link dev.davit.sandbox.jail.Subids#unshareOptions}; empty: none).
     *
     * @param t    the tools, from {@link #tools}
     * @param user unshare's options for the user namespace, or empty for none
     * @param cmd  the command and its arguments
     * @return the wrapped command
     */
    public static List<String> wrap(Tools t, List<String> user, List<String> cmd) {
        List<String> a = new ArrayList<>();
        a.add(t.unshare().toString());
        a.addAll(user);
        a.addAll(List.of("--net", "--", "/bin/sh", "-c", SCRIPT, "sh", t.ip().toString(), t.sleep().toString(),
                "--"));
        a.addAll(cmd);
        return a;
    }

    /**
     * Connects the namespace of the wrapper {@code pid} (see {@link #wrap}) to the outside: starts slirp4netns with
     * its state in {@code dir} (pid file, log, API socket) and publishes {@code ports}. {@code detached}: it
     * outlives davit (a long-lived sandbox; {@link #stop} ends it), otherwise it is davit's child.
     *
     * @param t        the tools, from {@link #tools}
     * @param pid      the host pid of the wrapped command (see {@link #wrap})
     * @param dir      the sandbox's state directory, for slirp4netns's pid file, log and API socket
     * @param detached whether slirp4netns outlives davit
     * @param ports    the ports to publish, or empty
     * @throws DavitException INTERNAL when the namespace does not appear or slirp4netns cannot start or answer;
     *                        USAGE when it refuses a port (e.g. one already taken)
     */
    public static void attach(Tools t, long pid, Path dir, boolean detached, List<PortMapping> ports) {
        awaitNamespace(pid);
        List<String> cmd = new ArrayList<>();
        if (detached) {
            Path setsid = Path.of("/usr/bin/setsid");
            cmd.add(Files.isExecutable(setsid) ? setsid.toString() : "setsid");
        }
        cmd.addAll(List.of(t.slirp4netns().toString(), "--configure", "--mtu=65520", "--disable-host-loopback"));
        if (!ports.isEmpty()) {
            cmd.add("--api-socket=" + API_SOCKET);
        }
        cmd.addAll(List.of(Long.toString(pid), "tap0"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.directory(dir.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.redirectOutput(ProcessBuilder.Redirect.to(dir.resolve(LOG).toFile()));
        pb.redirectErrorStream(true);
        Process p;
        try {
            Files.deleteIfExists(dir.resolve(API_SOCKET));
            p = pb.start();
            Fs.writeAtomicallyUntilReboot(dir.resolve(PID_FILE), (p.pid() + " " + Host.startTime(p.pid()) + "\n")
                    .getBytes(StandardCharsets.UTF_8), dir);
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start slirp4netns: " + e.getMessage());
        }
        for (PortMapping m : ports) {
            publish(p, dir, m);
        }
    }

    /** Waits until {@code pid} runs the wrapper's shell in a network namespace other than ours. */
    private static void awaitNamespace(long pid) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NAMESPACE_WAIT_MS);
        Path own = Path.of("/proc/self/ns/net");
        Path theirs = Path.of("/proc", Long.toString(pid), "ns", "net");
        while (System.nanoTime() < deadline) {
            try {
                String comm = Files.readString(Path.of("/proc", Long.toString(pid), "comm")).strip();
                // after exec: unshare(2) is done and (rootless) the user namespace's maps are written
                if (!comm.equals("unshare") && !Files.readSymbolicLink(theirs).equals(Files.readSymbolicLink(own))) {
                    return;
                }
            } catch (IOException e) {
                throw new DavitException(Kind.INTERNAL, "the sandbox exited before its network was set up");
            }
            sleep(1);
        }
        throw new DavitException(Kind.INTERNAL, "the sandbox's network namespace did not appear within "
                + NAMESPACE_WAIT_MS / 1000 + " s");
    }

    /** Asks slirp4netns (through its API socket) to forward {@code m}; a refusal is a one-line error. */
    private static void publish(Process slirp, Path dir, PortMapping m) {
        Path socket = dir.resolve(API_SOCKET);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(socket) && slirp.isAlive() && System.nanoTime() < deadline) {
            sleep(2);
        }
        String request = "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\""
                + m.hostAddress() + "\",\"host_port\":" + m.hostPort() + ",\"guest_addr\":\"" + GUEST_ADDRESS
                + "\",\"guest_port\":" + m.port() + "}}";
        String reply;
        try (SocketChannel ch = connect(slirp, socket, deadline)) {
            ch.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
            ch.shutdownOutput();
            ByteBuffer buf = ByteBuffer.allocate(4096);
            while (buf.hasRemaining() && ch.read(buf) >= 0) {
                // until slirp4netns closes
            }
            reply = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot publish " + m + ": slirp4netns did not answer ("
                    + e.getMessage() + ")");
        }
        if (!reply.contains("\"return\"")) {
            String why = reply.replaceAll(".*\"desc\"\\s*:\\s*\"([^\"]*)\".*", "$1").strip();
            throw new DavitException(Kind.USAGE, "cannot publish " + m + ": " + (why.isEmpty() ? "refused" : why)
                    + "; choose another host port or address");
        }
    }

    /**
     * Connects to slirp4netns's API socket: the socket file appears when slirp4netns binds it, a moment before it
     * listens, so a refused connection is tried again while slirp4netns runs, until {@code deadline}.
     */
    private static SocketChannel connect(Process slirp, Path socket, long deadline) throws IOException {
        while (true) {
            try {
                return SocketChannel.open(UnixDomainSocketAddress.of(socket));
            } catch (java.net.SocketException e) { // refused (bound, not listening yet), or not there yet
                if (!slirp.isAlive() || System.nanoTime() > deadline) {
                    throw e;
                }
                sleep(2);
            }
        }
    }

    /**
     * Ends the slirp4netns recorded in {@code dir}, if it is still the recorded process, and removes its records.
     *
     * @param dir a sandbox's (or run's) state directory; nothing happens when it records none
     */
    public static void stop(Path dir) {
        long[] rec;
        try {
            String[] w = Files.readString(dir.resolve(PID_FILE)).strip().split(" ");
            rec = new long[] {Long.parseLong(w[0]), Long.parseLong(w[1])};
        } catch (IOException | RuntimeException e) {
            return; // none recorded
        }
        if (Host.alive(rec[0], rec[1])) {
            ProcessHandle.of(rec[0]).ifPresent(h -> {
                h.destroyForcibly();
                try {
                    h.onExit().get(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    // best effort: it ends anyway once its namespace is gone
                }
            });
        }
        try {
            Files.deleteIfExists(dir.resolve(PID_FILE));
            Files.deleteIfExists(dir.resolve(API_SOCKET));
        } catch (IOException e) {
            // deleted with the directory
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.INTERNAL, "interrupted while the sandbox's network was set up");
        }
    }
}
