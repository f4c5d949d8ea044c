package dev.davit.sandbox.backend;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.jail.IdRange;
import dev.davit.sandbox.jail.Jail;
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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@link Network#NAT}: a sandbox in a network namespace of its own whose only way out is slirp4netns, a user-mode
 * TCP/IP stack that opens ordinary sockets on the host for the sandbox's connections.
 *
 * <p>As root:
 * <pre>
 * setpriv --reuid=NET_UID --regid=NET_GID --clear-groups -- unshare --user --map-root-user --net -- cat   (the holder)
 * nsenter --net=/proc/HOLDER/ns/net -- /bin/sh -c 'wait for the default route; ip route add unreachable
 *         169.254.0.0/16; ip_unprivileged_port_start=0; exec "$@"' sh IP SLEEP -- [overlay wrapper]
 *         bwrap|crun|runc|qemu ...
 * setsid unshare --mount -- sh -c 'tmpfs on /dev/net, a tun node of NET_UID's; exec "$@"' sh ... setpriv
 *         --reuid=NET_UID --regid=NET_GID --clear-groups --no-new-privs -- nsenter --user=/proc/HOLDER/ns/user
 *         --preserve-credentials -- slirp4netns --configure --mtu=65520 --disable-host-loopback --enable-sandbox
 *         --enable-seccomp --api-socket /dev/net/api/slirp.sock HOLDER tap0
 * </pre>
 * The network namespace belongs to a user namespace of its own (the holder's, made by {@link #wrap}), owned by an
 * unprivileged uid of the range {@link IdRange#NET_OWNER}, one per sandbox, which maps only that uid (as its root):
 * slirp4netns runs as that uid, joins that user namespace (where it has the capabilities to open and configure
 * {@code tap0}; on the host none), opens a TUN node of its own (the host's may be root's only) in a private mount
 * namespace, then makes its own sandbox (a read-only tmpfs root holding only /etc and /run, pivot_root,
 * no_new_privs, every capability dropped but CAP_NET_BIND_SERVICE over its own user namespace) and loads its
 * seccomp filter before it reads the first packet. The sandbox's command is in neither of those user namespaces:
 * it has no capability over its network namespace (it cannot change an address or a route, nor remove the
 * unreachable route); {@code net.ipv4.ip_unprivileged_port_start} is 0 there, so it may listen on any port (a web
 * server on :80), as Docker's containers may. {@link #wrap} starts the holder and slirp4netns (which needs no more
 * than the holder's namespaces, so it sets up while the sandbox's chain starts); the holder ends once the
 * sandbox's first process is in the namespace and slirp4netns is confined ({@link #attach}).
 *
 * <p>Without root:
 * <pre>
 * unshare --user --map-root-user --net -- /bin/sh -c '...as above...' sh IP SLEEP -- ...
 * slirp4netns --configure --mtu=65520 --disable-host-loopback --enable-sandbox --enable-seccomp
 *         [--api-socket slirp/slirp.sock] PID tap0
 * </pre>
 * slirp4netns runs as the user, joins the namespace's user namespace (davit's user's) for its sandbox, and makes
 * the same sandbox and filter.
 *
 * <p>The wrapper holds the command until slirp4netns has configured {@code tap0} (10.0.2.100/24, default route via
 * 10.0.2.2, DNS at 10.0.2.3), so the command never sees a half-made network; slirp4netns reads no packet before it
 * is confined. {@code --disable-host-loopback} keeps 10.0.2.2 from leading to the host's 127.0.0.1; the namespace's
 * own 127.0.0.1 is the sandbox's; the unreachable route keeps link-local addresses (cloud metadata at
 * 169.254.169.254) away. Everything else is reached as the host reaches it, from the host's own address. QEMU run
 * in such a namespace maps its own 10.0.2.2 to the namespace's loopback, where nothing of the host listens.
 */
public final class Nat {
    static final String SLIRP4NETNS = "slirp4netns";
    /** The sandbox's address behind slirp4netns (where published ports are forwarded to). */
    static final String GUEST_ADDRESS = "10.0.2.100";
    /** slirp4netns's pid and start time, in the sandbox's state directory. */
    public static final String PID_FILE = "slirp4netns.pid";
    static final String LOG = "slirp4netns.log";
    /** The directory of slirp4netns's API socket, its uid's (as root), in the state directory. */
    static final String API_DIR = "slirp";
    private static final String API_NAME = "slirp.sock";
    static final String API_SOCKET = API_DIR + "/" + API_NAME;
    /** Where slirp4netns finds {@link #API_DIR} as root, in its private mount namespace (see {@link #TUN_SCRIPT}). */
    private static final String API_SEEN = "/dev/net/api";
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
            + "echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start || exit 125\n"
            + "exec \"$@\"\n";

    /**
     * As root, the first step of slirp4netns's chain, in a mount namespace of its own: a TUN node that its uid
     * ({@code $1}, uid:gid) may open, on a tmpfs over /dev/net (the host's node may be root's only; the tmpfs must
     * allow devices), and the directory of its API socket ({@code $2}) bound at {@link #API_SEEN} (the state
     * directory's parents may be closed to that uid).
     */
    private static final String TUN_SCRIPT = "owner=$1 api=$2; shift 2\n"
            + "mount -t tmpfs -o mode=0755,size=64k,nosuid,noexec davit-net /dev/net || exit 125\n"
            + "mknod -m 0600 /dev/net/tun c 10 200 && chown \"$owner\" /dev/net/tun || exit 125\n"
            + "mkdir " + API_SEEN + " && mount --bind \"$api\" " + API_SEEN + " || exit 125\n"
            + "exec \"$@\"\n";

    /** slirp4netns's confinement: its own mount namespace and root (see the class comment), and its filter. */
    private static final List<String> CONFINED = List.of("--enable-sandbox", "--enable-seccomp");

    /**
     * As root, each sandbox's holder of its namespaces and its slirp4netns, started by {@link #wrap}, until
     * {@link #attach}.
     */
    private static final Map<Path, Pending> PENDING = new ConcurrentHashMap<>();

    private record Pending(Process holder, Process outside) {
    }

    private Nat() {
    }

    /**
     * The tools NAT needs, found by {@link #tools}.
     *
     * @param unshare     util-linux {@code unshare}, which makes the network namespace
     * @param ip          iproute2 {@code ip}, with which the wrapper waits for the route and blocks link-local
     * @param sleep       coreutils {@code sleep}, for the wrapper's wait
     * @param slirp4netns the user-mode network stack
     * @param nsenter     util-linux {@code nsenter}, with which the sandbox and slirp4netns enter the namespaces
     *                    (as root; null without)
     * @param setpriv     util-linux {@code setpriv}, which gives slirp4netns, the holder and the egress gate their uid
     *                    (as root) and the gate no_new_privs (with a policy also without root; else null without)
     * @param cat         coreutils {@code cat}, the holder of the namespaces until they are joined (as root; null
     *                    without)
     * @param restore     iptables-restore, which sets an egress policy's netfilter rules (null for NAT)
     * @param policy      the egress policy: the namespace's way out is the egress gate ({@link Egress}), not
     *                    slirp4netns (null for NAT)
     * @param egressDns   where the gate resolves names from ({@link SandboxOptions#egressDns}; null: the host's)
     * @param gate        davit-agent, whose {@code gate} mode is the egress gate ({@link Egress#gate}; null for
     *                    NAT)
     */
    public record Tools(Path unshare, Path ip, Path sleep, Path slirp4netns, Path nsenter, Path setpriv, Path cat,
                        Path restore, dev.davit.sandbox.EgressPolicy policy, Path egressDns, Path gate) {
        Tools(Path unshare, Path ip, Path sleep, Path slirp4netns, Path nsenter, Path setpriv, Path cat) {
            this(unshare, ip, sleep, slirp4netns, nsenter, setpriv, cat, null, null, null, null);
        }
    }

    /**
     * The tools a sandbox's own network namespace needs: NAT's ({@link #tools(SandboxOptions)}), or with an egress
     * policy the gate's ({@link Egress}) instead of slirp4netns.
     *
     * @param options whose search path is looked in
     * @param network the sandbox's network, one of a namespace of its own ({@link Network#ownNamespace})
     * @return the tools
     * @throws DavitException HOST_UNSUPPORTED naming what is missing
     */
    public static Tools tools(SandboxOptions options, Network network) {
        if (network.mode() != Network.Mode.POLICY) {
            return tools(options);
        }
        Path restore = Egress.restoreTool(options);
        Path ip = options.which("ip");
        Path unshare = options.which("unshare");
        Path sleep = options.which("sleep");
        Path nsenter = options.which("nsenter");
        if (ip == null || unshare == null || sleep == null || nsenter == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of("ip, unshare, nsenter or sleep is not installed; ",
                    dev.davit.oci.Input.ALLOW_HOST, " needs them: install iproute2, util-linux and coreutils"));
        }
        // setpriv also without root: the gate gets no_new_privs before it runs
        Path setpriv = options.which("setpriv");
        Path cat = Jail.AS_ROOT ? options.which("cat") : null;
        if (setpriv == null || (Jail.AS_ROOT && cat == null)) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of("setpriv or cat is not installed; ",
                    dev.davit.oci.Input.ALLOW_HOST, " needs them to run the egress gate unprivileged: install"
                    + " util-linux and coreutils"));
        }
        return new Tools(unshare, ip, sleep, null, nsenter, setpriv, cat, restore, network.egress(),
                options.egressDns(), Egress.gate(options));
    }

    /**
     * The tools NAT needs, on {@code options}' search path, and a TUN device this user can open.
     *
     * @param options whose search path is looked in
     * @return the tools
     * @throws DavitException HOST_UNSUPPORTED naming the package of a missing tool, or when
     *                        {@code /dev/net/tun} is missing or this user cannot open it
     */
    public static Tools tools(SandboxOptions options) {
        Path slirp = options.which(SLIRP4NETNS);
        if (slirp == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of("slirp4netns is not installed; ", Input.NETWORK,
                    " needs it: install the slirp4netns package (or use ", Input.NETWORK_HOST, " to share the host's"
                    + " network)"));
        }
        Path ip = options.which("ip");
        if (ip == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of("ip (iproute2) is not installed; ", Input.NETWORK,
                    " needs it: install the iproute2 package"));
        }
        Path unshare = options.which("unshare");
        Path sleep = options.which("sleep");
        if (unshare == null || sleep == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of("unshare or sleep is not installed; ", Input.NETWORK,
                    " needs them: install util-linux and coreutils"));
        }
        Message tun = tunProblem(TUN);
        if (tun != null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, tun);
        }
        if (!Jail.AS_ROOT) {
            return new Tools(unshare, ip, sleep, slirp, null, null, null);
        }
        Path nsenter = options.which("nsenter");
        Path setpriv = options.which("setpriv");
        Path cat = options.which("cat");
        if (nsenter == null || setpriv == null || cat == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of("nsenter, setpriv or cat is not installed; ",
                    Input.NETWORK, " needs them to run slirp4netns unprivileged: install util-linux and coreutils"));
        }
        return new Tools(unshare, ip, sleep, slirp, nsenter, setpriv, cat);
    }

    /** The TUN device slirp4netns opens inside the sandbox's namespace. */
    public static final Path TUN = Path.of("/dev/net/tun");

    /**
     * Why slirp4netns could not open {@code tun} for this user, or null when it can: without root it opens the device
     * as the user, so a device of mode 0600 (some hosts; Debian's default is 0666) fails, and would only show as a
     * network that never comes up.
     */
    static Message tunProblem(Path tun) {
        if (!Files.exists(tun)) {
            return Message.of(Input.NETWORK, " needs " + tun + ", which this host lacks (load the tun module: modprobe"
                    + " tun), or use ", Input.NETWORK_HOST, " to share the host's network");
        }
        if (Jail.AS_ROOT || (Files.isReadable(tun) && Files.isWritable(tun))) {
            return null;
        }
        return Message.of(Input.NETWORK, " needs " + tun + ", which this user cannot open (only root can here; Debian's"
                + " default mode is 0666: 'chmod 0666 " + tun + "' as root restores it), or run as root, or use ",
                Input.NETWORK_HOST);
    }

    /**
     * {@code cmd} run in a new network namespace once slirp4netns has connected it (see {@link #attach}). As root
     * the namespace belongs to a user namespace of its own, made here by a holder process that {@link #attach} (or
     * {@link #stop}) ends, and slirp4netns is started here for it (detached, with its API socket; an earlier
     * attempt's in {@code dir} is ended first); without root, the command runs in a new user namespace too (mapping
     * the user to root).
     *
     * @param t   the tools, from {@link #tools}
     * @param dir the sandbox's state directory, named by its id (the holder is the directory's until
     *            {@link #attach})
     * @param cmd the command and its arguments
     * @return the wrapped command
     * @throws DavitException INTERNAL when the namespace cannot be made or slirp4netns cannot start
     */
    public static List<String> wrap(Tools t, Path dir, List<String> cmd) {
        if (!Jail.AS_ROOT) {
            return wrap(t, List.of("--user", "--map-root-user"), dir, cmd);
        }
        release(dir); // an earlier attempt's (the overlay fallback)
        stopSlirp(dir);
        Egress.stop(dir);
        Process holder = hold(t, dir);
        try {
            // at once, for the holder's namespace: it sets up while the sandbox's chain starts
            PENDING.put(key(dir), new Pending(holder, t.policy() != null
                    ? Egress.start(t, holder.pid(), dir, t.policy())
                    : startSlirp(t, holder.pid(), dir, true, true)));
        } catch (RuntimeException e) {
            holder.destroyForcibly();
            throw e;
        }
        List<String> a = new ArrayList<>(List.of(t.nsenter().toString(), "--net=/proc/" + holder.pid() + "/ns/net",
                "--"));
        a.addAll(t.policy() != null ? Egress.waiting(t, dir, cmd) : waiting(t, cmd));
        return a;
    }

    /**
     * Without root, {@link #wrap(Tools, Path, List)} in the user namespace that unshare's options {@code user} make
     * (e.g. one with the user's subordinate ids, {@link dev.davit.sandbox.jail.Subids#unshareOptions}).
     *
     * @param t    the tools, from {@link #tools}
     * @param user unshare's options for the user namespace
     * @param cmd  the command and its arguments
     * @return the wrapped command
     */
    public static List<String> wrap(Tools t, List<String> user, List<String> cmd) {
        if (t.policy() != null) {
            throw new IllegalStateException("an egress policy's namespace is made by the wrap that takes its state"
                    + " directory");
        }
        return wrap(t, user, null, cmd);
    }

    /**
     * Without root, {@link #wrap(Tools, Path, List)} in the user namespace that unshare's options {@code user} make;
     * an egress policy's wrapper waits for the gate of the state directory {@code dir}.
     *
     * @param t    the tools, from {@link #tools}
     * @param user unshare's options for the user namespace
     * @param dir  the sandbox's state directory (needed with an egress policy; else may be null)
     * @param cmd  the command and its arguments
     * @return the wrapped command
     */
    public static List<String> wrap(Tools t, List<String> user, Path dir, List<String> cmd) {
        if (Jail.AS_ROOT) {
            throw new IllegalStateException("as root a NAT sandbox's namespace is made by the wrap that takes its"
                    + " state directory");
        }
        List<String> a = new ArrayList<>();
        a.add(t.unshare().toString());
        a.addAll(user);
        a.add("--net");
        a.add("--");
        a.addAll(t.policy() != null ? Egress.waiting(t, dir, cmd) : waiting(t, cmd));
        return a;
    }

    /** {@code cmd} after the wrapper's wait for the network (see {@link #SCRIPT}). */
    private static List<String> waiting(Tools t, List<String> cmd) {
        List<String> a = new ArrayList<>(List.of("/bin/sh", "-c", SCRIPT, "sh", t.ip().toString(),
                t.sleep().toString(), "--"));
        a.addAll(cmd);
        return a;
    }

    /** The host uid and gid slirp4netns of the sandbox whose state directory is {@code dir} runs as (as root). */
    static long[] ids(Path dir) {
        IdRange r = IdRange.forNet();
        long n = r.offsetOf(dir.getFileName().toString());
        return new long[] {r.uid() + n, r.gid() + n};
    }

    /**
     * Starts the holder of {@code dir}'s namespaces: as the sandbox's network uid, a new user namespace mapping only
     * that uid (as its root) and a network namespace of that user namespace, held by {@code cat} until its input
     * closes (davit ends it, or dies).
     */
    private static Process hold(Tools t, Path dir) {
        long[] ids = ids(dir);
        ProcessBuilder pb = new ProcessBuilder(t.setpriv().toString(), "--reuid=" + ids[0], "--regid=" + ids[1],
                "--clear-groups", "--", t.unshare().toString(), "--user", "--map-root-user", "--net", "--",
                t.cat().toString());
        pb.environment().clear();
        pb.directory(new File("/"));
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start " + t.setpriv() + ": " + e.getMessage());
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NAMESPACE_WAIT_MS);
        // it runs cat once unshare made both namespaces and wrote the maps
        while (!"cat".equals(comm(p.pid()))) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                String why = p.isAlive() ? "did not within " + NAMESPACE_WAIT_MS / 1000 + " s" : "exited with "
                        + p.exitValue() + ": " + firstLine(p.getErrorStream());
                p.destroyForcibly();
                throw new DavitException(Kind.INTERNAL, Message.of("the sandbox's network namespace could not be made as"
                        + " uid " + ids[0] + " (setpriv/unshare --user --net " + why + "); see ", Action.DOCTOR.fix()));
            }
            sleep(1);
        }
        return p;
    }

    private static Path key(Path dir) {
        return dir.toAbsolutePath().normalize();
    }

    /** Ends {@code dir}'s holder, if any (its namespaces live on in the processes that joined them). */
    private static void release(Path dir) {
        Pending p = PENDING.remove(key(dir));
        if (p != null) {
            p.holder().destroyForcibly();
        }
    }

    /**
     * Connects the namespace of the wrapper {@code pid} (see {@link #wrap}) to the outside: without root starts
     * slirp4netns (as root {@link #wrap} did) with its state in {@code dir} (pid file, log, API socket; an earlier
     * attempt's is ended first), and publishes {@code ports}. It returns once slirp4netns is confined (its sandbox
     * made, its filter loaded) and, as root, the wrapper is in the namespace (the holder is ended then) or has
     * already ended: the wrapper goes on once slirp4netns configured the namespace, a moment before it is confined,
     * so a short command may be done by then (its exit status and output are the run's, as any other's).
     *
     * @param t        the tools, from {@link #tools}
     * @param pid      the host pid of the wrapped command (see {@link #wrap})
     * @param dir      the sandbox's state directory, for slirp4netns's pid file, log and API socket
     * @param detached whether slirp4netns outlives davit (a long-lived sandbox; {@link #stop} ends it), else it is
     *                 davit's child (as root it is always started detached, and a run's end stops it)
     * @param ports    the ports to publish, or empty
     * @throws DavitException INTERNAL when the namespace does not appear (without root: the wrapper ended before
     *                        its unshare made it; as root: its holder ended), or slirp4netns cannot start, confine
     *                        itself or answer; USAGE when it refuses a port (e.g. one already taken, or below 1024
     *                        as root)
     */
    public static void attach(Tools t, long pid, Path dir, boolean detached, List<PortMapping> ports) {
        Pending pending = Jail.AS_ROOT ? PENDING.get(key(dir)) : null;
        if (Jail.AS_ROOT && pending == null) {
            throw new IllegalStateException("no NAT namespace was made for " + dir + " (wrap it with its state"
                    + " directory first)");
        }
        Process p;
        try {
            for (PortMapping m : ports) {
                if (Jail.AS_ROOT && m.hostPort() < 1024) {
                    throw new DavitException(Kind.USAGE, "cannot publish " + m + ": slirp4netns listens as an"
                            + " unprivileged user, which may not take a host port below 1024; choose a host port of"
                            + " 1024 or more");
                }
            }
            if (t.policy() != null && !ports.isEmpty()) {
                throw new DavitException(Kind.USAGE, Message.of("cannot publish ports of a sandbox with an egress"
                        + " policy yet; drop ", Input.PUBLISH, " or use ", Input.NETWORK));
            }
            if (Jail.AS_ROOT) {
                p = pending.outside();
            } else if (t.policy() != null) {
                awaitNamespace(pid, null);
                p = Egress.start(t, pid, dir, t.policy());
            } else {
                awaitNamespace(pid, null);
                stopSlirp(dir); // an earlier attempt's (the overlay fallback)
                p = startSlirp(t, pid, dir, detached, !ports.isEmpty());
            }
            if (t.policy() != null) {
                Egress.awaitReady(p, dir);
            } else {
                awaitConfined(p, dir);
            }
            if (Jail.AS_ROOT) {
                awaitNamespace(pid, pending.holder());
            }
        } finally {
            release(dir);
        }
        for (PortMapping m : ports) {
            publish(p, dir, m);
        }
    }

    /**
     * Starts slirp4netns for the namespace of {@code target} (as root, the holder; {@code api} then always) and
     * records its pid.
     */
    private static Process startSlirp(Tools t, long target, Path dir, boolean detached, boolean api) {
        List<String> cmd = new ArrayList<>();
        if (detached) {
            Path setsid = Path.of("/usr/bin/setsid");
            cmd.add(Files.isExecutable(setsid) ? setsid.toString() : "setsid");
        }
        Path apiDir = dir.resolve(API_DIR);
        try {
            if (api) {
                Files.createDirectories(apiDir);
                Files.setAttribute(apiDir, "unix:mode", 0700);
            }
            if (Jail.AS_ROOT) {
                long[] ids = ids(dir);
                if (api) {
                    Files.setAttribute(apiDir, "unix:gid", (int) ids[1], java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    Files.setAttribute(apiDir, "unix:uid", (int) ids[0], java.nio.file.LinkOption.NOFOLLOW_LINKS);
                }
                cmd.addAll(List.of(t.unshare().toString(), "--mount", "--propagation", "private", "--", "/bin/sh",
                        "-c", TUN_SCRIPT, "sh", ids[0] + ":" + ids[1], API_DIR, t.setpriv().toString(),
                        "--reuid=" + ids[0], "--regid=" + ids[1], "--clear-groups", "--no-new-privs", "--",
                        t.nsenter().toString(), "--user=/proc/" + target + "/ns/user", "--preserve-credentials",
                        "--"));
            }
            Files.deleteIfExists(dir.resolve(API_SOCKET));
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot prepare slirp4netns's directory " + apiDir + ": "
                    + e.getMessage());
        }
        cmd.addAll(List.of(t.slirp4netns().toString(), "--configure", "--mtu=65520", "--disable-host-loopback"));
        cmd.addAll(CONFINED);
        if (api) {
            cmd.add("--api-socket=" + (Jail.AS_ROOT ? API_SEEN + "/" + API_NAME : API_SOCKET));
        }
        cmd.addAll(List.of(Long.toString(target), "tap0"));
        // PATH: the mount namespace's steps (mount, mknod, chown)
        return startRecorded(cmd, Jail.HOST_PATH, dir, dir, LOG, PID_FILE, "slirp4netns");
    }

    /**
     * Starts {@code cmd} (what connects a sandbox's namespace: slirp4netns or the egress gate) with an empty
     * environment but {@code path} (null: none), in {@code cwd}, its output to {@code log} in {@code dir}, and records
     * its pid and start time in {@code pidFile} there (for {@link #stopRecorded}, also from another davit).
     */
    static Process startRecorded(List<String> cmd, String path, Path cwd, Path dir, String log, String pidFile,
                                 String what) {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        if (path != null) {
            pb.environment().put("PATH", path);
        }
        pb.directory(cwd.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.redirectOutput(ProcessBuilder.Redirect.to(dir.resolve(log).toFile()));
        pb.redirectErrorStream(true);
        try {
            Process p = pb.start();
            Fs.writeAtomicallyUntilReboot(dir.resolve(pidFile), (p.pid() + " " + Host.startTime(p.pid()) + "\n")
                    .getBytes(StandardCharsets.UTF_8), dir);
            return p;
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start " + what + ": " + e.getMessage());
        }
    }

    /**
     * Ends the process recorded in {@code pidFile} of {@code dir} (see {@link #startRecorded}) if it is still the
     * recorded one, and removes the record.
     */
    static void stopRecorded(Path dir, String pidFile) {
        long[] rec = Host.recorded(dir.resolve(pidFile));
        if (rec != null && Host.alive(rec[0], rec[1])) {
            ProcessHandle.of(rec[0]).ifPresent(h -> {
                h.destroyForcibly();
                // best effort: it ends anyway once its namespace is gone
                Host.awaitEnd(List.of(h), java.time.Duration.ofSeconds(10));
            });
        }
        try {
            Files.deleteIfExists(dir.resolve(pidFile));
        } catch (IOException e) {
            // deleted with the directory
        }
    }

    /**
     * Waits until slirp4netns ({@code p}, which every step of its chain became) has made its sandbox and loaded its
     * filter ({@code Seccomp: 2}), which it does before it reads the first packet.
     */
    private static void awaitConfined(Process p, Path dir) {
        Path status = Path.of("/proc", Long.toString(p.pid()), "status");
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NAMESPACE_WAIT_MS);
        while (System.nanoTime() < deadline) {
            try {
                if (p.isAlive() && SLIRP4NETNS.equals(comm(p.pid()))
                        && Files.readString(status).contains("\nSeccomp:\t2\n")) {
                    return;
                }
            } catch (IOException e) {
                // gone: below
            }
            if (!p.isAlive()) {
                throw new DavitException(Kind.INTERNAL, "slirp4netns could not connect or confine itself: "
                        + lastLine(dir.resolve(LOG)) + " (see " + dir.resolve(LOG) + ")");
            }
            sleep(1);
        }
        throw new DavitException(Kind.INTERNAL, "slirp4netns did not confine itself within " + NAMESPACE_WAIT_MS / 1000
                + " s (see " + dir.resolve(LOG) + ")");
    }

    /** The name a process runs under ({@code /proc/PID/comm}), or null when it is gone. */
    private static String comm(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "comm")).strip();
        } catch (IOException e) {
            return null;
        }
    }

    private static String firstLine(java.io.InputStream in) {
        try (in) {
            String s = new String(in.readNBytes(4096), StandardCharsets.UTF_8).strip();
            return s.isEmpty() ? "no message" : s.lines().findFirst().orElse("");
        } catch (IOException e) {
            return "no message";
        }
    }

    static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return lines.isEmpty() ? "no message" : lines.get(lines.size() - 1).strip();
        } catch (IOException | java.io.UncheckedIOException e) {
            return "no message";
        }
    }

    /**
     * Waits until {@code pid} is in the sandbox's network namespace: as root the one of {@code holder} (there it may
     * also have ended: it joined the namespace first, so it is done with the holder); without root ({@code holder}
     * null) a new one, made by the wrapper's unshare (once it runs the wrapper's shell, the user namespace's maps are
     * written too). A failed read of a namespace link is no proof that its process ended (it reads again until
     * {@link #running} says so).
     */
    private static void awaitNamespace(long pid, Process holder) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NAMESPACE_WAIT_MS);
        Path theirs = Path.of("/proc", Long.toString(pid), "ns", "net");
        Path other = holder != null ? Path.of("/proc", Long.toString(holder.pid()), "ns", "net")
                : Path.of("/proc/self/ns/net");
        while (System.nanoTime() < deadline) {
            try {
                boolean same = Files.readSymbolicLink(theirs).equals(Files.readSymbolicLink(other));
                if (holder != null ? same : !same && !"unshare".equals(comm(pid))) {
                    return;
                }
            } catch (IOException e) {
                // one of them ended, or is between two states: which, below
            }
            if (holder != null && !holder.isAlive()) {
                throw new DavitException(Kind.INTERNAL, "the holder of the sandbox's network namespace (pid "
                        + holder.pid() + ") ended before the sandbox joined it: exited with " + holder.exitValue()
                        + ": " + firstLine(holder.getErrorStream()));
            }
            if (!running(pid)) {
                if (holder != null) {
                    return;
                }
                throw new DavitException(Kind.INTERNAL, "the sandbox's process (pid " + pid + ") ended before"
                        + " unshare --user --net made its network namespace");
            }
            sleep(1);
        }
        throw new DavitException(Kind.INTERNAL, "the sandbox's network namespace did not appear within "
                + NAMESPACE_WAIT_MS / 1000 + " s");
    }

    /** Whether {@code pid} still runs: it is in /proc and not a zombie. */
    private static boolean running(long pid) {
        return ProcessHandle.of(pid).map(Host::running).orElse(false);
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
            // taken since the check before the start (slirp4netns only says "failed")
            PortMapping.checkFree(List.of(m));
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
     * Ends the slirp4netns recorded in {@code dir}, if it is still the recorded process, removes its records, and
     * ends the holder of {@code dir}'s namespaces if {@link #attach} did not.
     *
     * @param dir a sandbox's (or run's) state directory; nothing happens when it records none
     */
    public static void stop(Path dir) {
        release(dir);
        stopSlirp(dir);
        Egress.stop(dir);
    }

    /** Ends the slirp4netns recorded in {@code dir} (see {@link #stop}). */
    private static void stopSlirp(Path dir) {
        stopRecorded(dir, PID_FILE);
        try {
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
            throw new DavitException(Kind.CANCELLED, "interrupted while the sandbox's network was set up");
        }
    }
}
