package dev.davit.sandbox.backend;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.network.GatePolicyFile;
import java.io.File;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@link dev.davit.sandbox.Network.Mode#POLICY}: the sandbox's own network namespace (made as for NAT, see
 * {@link Nat}) with no way out but the egress gate, started here: davit-agent's {@code gate} mode
 * (davit-jail/src/main/rust/src/gate), a small native process of its own per sandbox.
 *
 * <p>The wrapper that runs in the namespace before the sandbox's command ({@link #SCRIPT}) gives it a veth
 * {@code eth0} (10.0.2.100/24, default route via 10.0.2.2; the peer is left down, nothing is behind it) and
 * netfilter rules: every TCP connection not to the namespace's own addresses is redirected to the gate's listener,
 * every DNS query (UDP port 53) to its DNS socket, and every other packet that would leave is rejected at once
 * (ICMP port unreachable: {@code EPERM} or {@code ECONNREFUSED} to the sender). The sandbox's command is in neither
 * the namespace's user namespace nor a child of it, so it cannot change those rules. The set-up is the wrapper's
 * without root; as root a process of its own does it, started with the gate ({@link #SCRIPT}). Once it is done
 * {@link #NETNS_UP} says so (the gate binds its sockets only then), and the wrapper waits until the gate says it
 * is ready.
 *
 * <p>The gate runs as NAT's slirp4netns does: as root as the sandbox's network uid ({@code davit-net}), with no
 * groups, no_new_privs and no capability on the host, in the user namespace that owns the sandbox's network
 * namespace; without root as davit's user (with no_new_privs), in the wrapper's user namespace. As root its program
 * is handed to it as an open file ({@code /proc/self/fd/3}), so it runs davit-agent without being able to reach
 * davit's cache; its directory ({@value #DIR} in the state directory, its uid's, 0700) is its working directory.
 */
public final class Egress {
    /** The gate's directory in the sandbox's state directory. */
    public static final String DIR = "gate";
    /** The gate's pid and start time, in the sandbox's state directory. */
    public static final String PID_FILE = "gate.pid";
    static final String LOG = "gate.log";
    /**
     * In {@link SandboxOptions#egressDns}' directory beside resolv.conf and hosts, optional: the CA certificates (PEM)
     * the gate trusts for the hosts it adds secrets for, instead of the host's /etc/ssl/certs/ca-certificates.crt
     * (beside webpki's roots, Mozilla's, either way).
     */
    public static final String TRUST = "ca-certificates.crt";
    private static final long READY_WAIT_MS = 20_000;
    /** The gate's files in its directory (davit-agent's gate/serve.rs). */
    static final String POLICY = "policy";
    static final String READY = "ready";
    static final String NETNS_UP = "netns-up";
    static final String CONTROL = "control.sock";
    /** Its TCP listener's and its DNS socket's ports on the sandbox's 127.0.0.1. */
    static final int TCP_PORT = 1;
    static final int DNS_PORT = 53;

    /**
     * The namespace's set-up and the wait for the gate, as {@code sh -c SCRIPT sh IP SLEEP RESTORE READY RULES MODE
     * LEGACY -- cmd...}: MODE {@code both} (without root: the wrapper, as the root of its user namespace, sets the
     * namespace up, then waits and runs the command), {@code setup} (as root: a process of its own, host root in the sandbox's
     * network namespace only, started with the gate, sets it up while the sandbox's own start goes on, then ends) or
     * {@code wait} (as root: the wrapper only waits). Either way the command starts only once the gate is ready,
     * which it is only after the namespace was set up ({@link #NETNS_UP}).
     */
    private static final String SCRIPT = "ip=$1 sleep=$2 restore=$3 ready=$4 rules=$5 mode=$6 legacy=$7\nshift 8\n"
            + "if [ \"$mode\" != wait ]; then\n"
            // one ip process for the five changes (a fork less each)
            + "printf 'link add eth0 type veth peer name gate0\\naddr add 10.0.2.100/24 dev eth0\\nlink set lo up\\n"
            + "link set eth0 up\\nroute add default via 10.0.2.2 dev eth0\\n' | \"$ip\" -batch - || exit 125\n"
            // the legacy tool where there is one (it loads the rules in a few milliseconds, the nftables one in tens),
            // else or when it fails (no such kernel support, its lock held) the one found
            + "if [ -n \"$legacy\" ] && printf '%s' \"$rules\" | \"$legacy\" 2>/dev/null; then :\n"
            + "else printf '%s' \"$rules\" | \"$restore\" || { echo \"davit: the sandbox's egress rules could not be"
            + " set\" >&2; exit 125; }; fi\n"
            + "echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start || exit 125\n"
            // without root the wrapper says so itself (the gate's user, as it is); as root davit does (the set-up
            // runs as host root, which never opens a path in the gate's directory: its user may have put a link there)
            + "if [ \"$mode\" = both ]; then : > \"${ready%/*}/" + NETNS_UP + "\" || exit 125; fi\n"
            + "fi\n"
            + "[ \"$mode\" = setup ] && exit 0\n"
            + "i=0\n"
            + "until [ -e \"$ready\" ]; do\n"
            + "  i=$((i+1))\n"
            + "  if [ $i -gt 4000 ]; then echo \"davit: the sandbox's egress gate did not come up\" >&2; exit 125; fi\n"
            + "  \"$sleep\" 0.005\n"
            + "done\n"
            + "exec \"$@\"\n";

    /** The namespace's netfilter rules, for iptables-restore. */
    static final String RULES = "*nat\n"
            + ":OUTPUT ACCEPT [0:0]\n"
            // DNS first: a resolv.conf naming a loopback resolver (systemd-resolved's 127.0.0.53) reaches the gate too
            + "-A OUTPUT -p udp --dport 53 -j REDIRECT --to-ports " + DNS_PORT + "\n"
            + "-A OUTPUT -d 127.0.0.0/8 -j RETURN\n"
            + "-A OUTPUT -d 10.0.2.100/32 -j RETURN\n"
            + "-A OUTPUT -p tcp -j REDIRECT --to-ports " + TCP_PORT + "\n"
            + "COMMIT\n"
            + "*filter\n"
            + ":OUTPUT ACCEPT [0:0]\n"
            + "-A OUTPUT -d 127.0.0.0/8 -j ACCEPT\n"
            + "-A OUTPUT -d 10.0.2.100/32 -j ACCEPT\n"
            + "-A OUTPUT -j REJECT --reject-with icmp-port-unreachable\n"
            + "COMMIT\n";

    private Egress() {
    }

    /**
     * The tools the policy mode needs beyond NAT's: iptables-restore, and davit-agent (the gate) in this jar.
     *
     * @param options whose search path is looked in
     * @return iptables-restore
     * @throws DavitException HOST_UNSUPPORTED naming what is missing
     */
    static Path restoreTool(SandboxOptions options) {
        Path restore = options.which("iptables-restore");
        if (restore == null) {
            for (String d : List.of("/usr/sbin", "/sbin")) {
                Path p = Path.of(d, "iptables-restore");
                if (Files.isExecutable(p)) {
                    restore = p;
                }
            }
        }
        if (restore == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of("iptables-restore is not installed; ",
                    Input.ALLOW_HOST, " needs it: install the iptables package"));
        }
        if (gate(options) == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of(Input.ALLOW_HOST, " needs davit-agent, the"
                    + " egress gate, which this davit lacks (it was built without cargo): build davit where cargo is"
                    + " installed (scripts/install-deps.sh)"));
        }
        return restore;
    }

    /**
     * {@code cmd} after the wait for the gate of {@code dir}; without root after the namespace's set-up too (as root
     * {@link #start} sets it up).
     */
    static List<String> waiting(Nat.Tools t, Path dir, List<String> cmd) {
        if (!Jail.AS_ROOT) {
            // before the wrapper runs: it says the namespace is set up there as soon as it is, maybe before start
            Path gdir = dir.resolve(DIR);
            try {
                Files.createDirectories(gdir);
                Files.setAttribute(gdir, "unix:mode", 0700);
                Files.deleteIfExists(gdir.resolve(READY));
                Files.deleteIfExists(gdir.resolve(NETNS_UP));
            } catch (IOException e) {
                throw new DavitException(Kind.INTERNAL, "cannot prepare the egress gate's directory " + gdir + ": "
                        + e.getMessage());
            }
        }
        List<String> a = script(t, dir, Jail.AS_ROOT ? "wait" : "both");
        a.addAll(cmd);
        return a;
    }

    private static List<String> script(Nat.Tools t, Path dir, String mode) {
        return script(t, dir, mode, LEGACY_RESTORE);
    }

    /** {@link #SCRIPT} in {@code mode} with {@code legacy} as the legacy restore tool ("" for none). */
    static List<String> script(Nat.Tools t, Path dir, String mode, String legacy) {
        return new ArrayList<>(List.of("/bin/sh", "-c", SCRIPT, "sh", t.ip().toString(), t.sleep().toString(),
                t.restore().toString(), dir.resolve(DIR).resolve(READY).toAbsolutePath().toString(), RULES, mode,
                legacy, "--"));
    }

    /** iptables' legacy restore tool of the host's /usr/sbin or /sbin, or "" when it has none. */
    private static final String LEGACY_RESTORE = java.util.stream.Stream.of("/usr/sbin", "/sbin")
            .map(d -> Path.of(d, "iptables-legacy-restore")).filter(Files::isExecutable).map(Path::toString)
            .findFirst().orElse("");

    /** As root, the processes setting namespaces up ({@link #SCRIPT}'s {@code setup}), by state directory. */
    private static final java.util.Map<Path, Process> SETUPS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * As root, starts setting up the network namespace of {@code target} (the holder) for the sandbox of {@code dir}:
     * host root in that network namespace only, as the wrapper was; {@link #awaitReady} tells its failure.
     */
    private static void setUp(Nat.Tools t, long target, Path dir) {
        List<String> cmd = new ArrayList<>(List.of(t.nsenter().toString(), "--net=/proc/" + target + "/ns/net", "--"));
        cmd.addAll(script(t, dir, "setup"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.directory(new File("/"));
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.redirectErrorStream(true);
        Path key = dir.toAbsolutePath();
        Process p;
        synchronized (SETUPS) {
            try {
                Files.deleteIfExists(dir.resolve(DIR).resolve(NETNS_UP));
                p = pb.start();
            } catch (IOException e) {
                throw new DavitException(Kind.INTERNAL, "cannot set the sandbox's network namespace up: "
                        + e.getMessage());
            }
            Process old = SETUPS.put(key, p);
            if (old != null) {
                old.destroyForcibly();
            }
        }
        Thread.ofVirtual().start(() -> {
            try {
                if (p.waitFor() != 0) {
                    return; // awaitReady tells why
                }
                synchronized (SETUPS) {
                    // only this start's (a later start's set-up replaced it, or a stop ended it)
                    if (SETUPS.get(key) == p) {
                        place(dir, NETNS_UP, new byte[0]);
                    }
                }
            } catch (IOException | InterruptedException e) {
                // the gate does not come up: awaitReady says so
            }
        });
    }

    /**
     * Starts the gate of the sandbox whose state directory is {@code dir}, for the namespaces of {@code target} (as
     * root the holder; without root the wrapper), detached, with {@code policy} and its pid recorded. An earlier
     * attempt's gate is ended first.
     */
    static Process start(Nat.Tools t, long target, Path dir, EgressPolicy policy) {
        stop(dir);
        Path gdir = dir.resolve(DIR);
        // the gate's files, relative to its directory: KEY (its option without "--") and file name
        List<String[]> files = new ArrayList<>();
        try {
            Files.createDirectories(gdir);
            Files.setAttribute(gdir, "unix:mode", 0700);
            Files.deleteIfExists(gdir.resolve(READY));
            if (Jail.AS_ROOT) {
                // the gate's user's directory, as the holder's (without root the user's own, made so by waiting())
                long[] ids = Nat.ids(dir);
                Files.setAttribute(gdir, "unix:gid", (int) ids[1], LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(gdir, "unix:uid", (int) ids[0], LinkOption.NOFOLLOW_LINKS);
            }
            place(dir, POLICY, GatePolicyFile.text(policy).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot prepare the egress gate's directory " + gdir + ": "
                    + e.getMessage());
        }
        if (t.egressDns() != null) {
            // copied into its directory: the gate's uid may not reach the caller's (the host's /etc it reads live)
            for (String f : List.of("resolv.conf", "hosts")) {
                try {
                    place(dir, f, Files.readAllBytes(t.egressDns().resolve(f)));
                } catch (IOException e) {
                    throw new DavitException(Kind.USAGE, "cannot read " + t.egressDns().resolve(f) + " (the egress"
                            + " gate's name resolution): " + e.getMessage());
                }
                files.add(new String[] {f.equals("hosts") ? "hosts" : "resolv-conf", f});
            }
            Path trust = t.egressDns().resolve(TRUST);
            if (Files.isRegularFile(trust)) {
                try {
                    place(dir, TRUST, Files.readAllBytes(trust));
                } catch (IOException e) {
                    throw new DavitException(Kind.USAGE, "cannot read " + trust + " (the egress gate's CA"
                            + " certificates): " + e.getMessage());
                }
                files.add(new String[] {"trust", TRUST});
            }
        }
        return startGate(t, target, dir, files);
    }

    /**
     * davit-agent, the sandbox's gate, installed into the home's cache when needed; null when this jar has none.
     *
     * @param options the home's options (where the agent is installed)
     * @return the program, or null
     */
    static Path gate(SandboxOptions options) {
        return Jail.agentProgram(options);
    }

    /**
     * Starts davit-agent's gate for the sandbox of {@code dir}: as root the program is opened before the gate becomes
     * its uid (which may not reach davit's cache) and run as that open file; an empty environment; the namespace's
     * user namespace, where it is root with every capability over it: it gets only the three it needs (opening the
     * holder's namespace file, entering that network namespace, its ports 1 and 53 there), which it drops once its
     * sockets exist. As root the namespace's set-up runs beside it ({@link #setUp}).
     */
    private static Process startGate(Nat.Tools t, long target, Path dir, List<String[]> files) {
        if (Jail.AS_ROOT) {
            setUp(t, target, dir);
        }
        try {
            List<String> cmd = new ArrayList<>();
            Path setsid = Path.of("/usr/bin/setsid");
            cmd.add(Files.isExecutable(setsid) ? setsid.toString() : "setsid");
            if (Jail.AS_ROOT) {
                long[] ids = Nat.ids(dir);
                cmd.addAll(opening(List.of(t.gate().toString())));
                cmd.addAll(List.of(t.setpriv().toString(), "--reuid=" + ids[0], "--regid=" + ids[1],
                        "--clear-groups", "--no-new-privs", "--"));
            } else {
                cmd.addAll(List.of(t.setpriv().toString(), "--no-new-privs", "--"));
            }
            cmd.addAll(List.of(t.nsenter().toString(), "--user=/proc/" + target + "/ns/user",
                    "--preserve-credentials", "--", t.setpriv().toString(),
                    "--bounding-set=-all,+sys_admin,+sys_ptrace,+net_bind_service", "--",
                    Jail.AS_ROOT ? "/proc/self/fd/3" : t.gate().toString(), "gate", "--netns",
                    "/proc/" + target + "/ns/net"));
            for (String[] f : files) {
                cmd.addAll(List.of("--" + f[0], f[1]));
            }
            return Nat.startRecorded(cmd, null, dir.resolve(DIR), dir, LOG, PID_FILE, "the egress gate");
        } catch (RuntimeException e) {
            stop(dir);
            throw e;
        }
    }

    /** Waits until the gate {@code p} of {@code dir} serves; a gate that ended is a one-line error with its log. */
    static void awaitReady(Process p, Path dir) {
        Path ready = dir.resolve(DIR).resolve(READY);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READY_WAIT_MS);
        Process setup = SETUPS.get(dir.toAbsolutePath());
        while (System.nanoTime() < deadline) {
            if (Files.exists(ready)) {
                SETUPS.remove(dir.toAbsolutePath(), setup);
                return;
            }
            if (setup != null && !setup.isAlive() && setup.exitValue() != 0) {
                SETUPS.remove(dir.toAbsolutePath(), setup);
                String why;
                try {
                    why = new String(setup.getInputStream().readNBytes(4096), StandardCharsets.UTF_8).strip();
                } catch (IOException e) {
                    why = "";
                }
                throw new DavitException(Kind.INTERNAL, "the sandbox's network namespace could not be set up (exit "
                        + setup.exitValue() + ")" + (why.isEmpty() ? "" : ": " + why.lines().reduce((x, y) -> y)
                        .orElse(why)));
            }
            if (!p.isAlive()) {
                throw new DavitException(Kind.INTERNAL, "the sandbox's egress gate could not start: "
                        + Nat.lastLine(dir.resolve(LOG)) + " (see " + dir.resolve(LOG) + ")");
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DavitException(Kind.CANCELLED, "interrupted while the sandbox's network was set up");
            }
        }
        throw new DavitException(Kind.INTERNAL, "the sandbox's egress gate did not start within "
                + READY_WAIT_MS / 1000 + " s (see " + dir.resolve(LOG) + ")");
    }

    /**
     * Gives the running gate of {@code dir} a new policy: new names and connections follow it once this returns;
     * connections already made are left alone.
     *
     * @param dir    the sandbox's state directory
     * @param policy the new policy
     * @throws DavitException STATE when the sandbox has no gate running; INTERNAL when it does not answer
     */
    public static void update(Path dir, EgressPolicy policy) {
        Path gdir = dir.resolve(DIR);
        if (!running(dir)) {
            throw new DavitException(Kind.STATE, "the sandbox's egress gate is not running; start the"
                    + " sandbox first");
        }
        try {
            place(dir, POLICY, GatePolicyFile.text(policy).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write the egress policy " + gdir.resolve(POLICY) + ": "
                    + e.getMessage());
        }
        String reply = ask(dir, "reload\n");
        if (!reply.equals("ok")) {
            throw new DavitException(Kind.INTERNAL, "the sandbox's egress gate refused the policy: " + reply);
        }
    }

    /**
     * Gives the running gate of {@code dir} the secrets it adds to HTTPS requests (the lines of its {@code inject}
     * request: the hosts' certificate chain and key, a rule per host), replacing those it had; kept in its memory
     * only.
     *
     * @param dir   the sandbox's state directory
     * @param lines the message's lines
     * @throws DavitException STATE when the sandbox has no gate running; INTERNAL when it does not take them
     */
    public static void inject(Path dir, List<String> lines) {
        if (!running(dir)) {
            throw new DavitException(Kind.STATE, "the sandbox's egress gate is not running; start the sandbox first");
        }
        String reply = ask(dir, "inject\n" + String.join("\n", lines) + "\nend\n");
        if (!reply.equals("ok")) {
            throw new DavitException(Kind.INTERNAL, "the sandbox's egress gate did not take the secrets it adds: "
                    + reply);
        }
    }

    /** Sends {@code request} to the gate's control socket; its one-line answer. */
    private static String ask(Path dir, String request) {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve(DIR)
                .resolve(CONTROL)))) {
            ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
            while (out.hasRemaining()) {
                ch.write(out);
            }
            ByteBuffer in = ByteBuffer.allocate(1024);
            while (in.hasRemaining() && ch.read(in) > 0) {
                if (in.get(in.position() - 1) == '\n') {
                    break;
                }
            }
            return new String(in.array(), 0, in.position(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "the sandbox's egress gate did not answer: " + e.getMessage());
        }
    }

    /**
     * Puts {@code data} as {@code name} into the gate's directory of {@code dir}, readable by the gate: written and
     * given its mode in the state directory (davit's, which the gate cannot touch), then renamed into the gate's
     * (its uid's: a path there may be a link the gate planted, which the rename replaces and never follows).
     */
    private static void place(Path dir, String name, byte[] data) throws IOException {
        Path tmp = dir.resolve(".gate-" + name + ".tmp");
        Files.deleteIfExists(tmp);
        Files.write(tmp, data, java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE);
        Files.setAttribute(tmp, "unix:mode", 0644, LinkOption.NOFOLLOW_LINKS);
        try {
            Files.move(tmp, dir.resolve(DIR).resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Whether the gate recorded in {@code dir} runs. */
    static boolean running(Path dir) {
        long[] rec = Host.recorded(dir.resolve(PID_FILE));
        return rec != null && Host.alive(rec[0], rec[1]);
    }

    /**
     * The denials the gate of {@code dir} recorded (davit-agent's gate/denials.rs), oldest first, as JSON lines.
     *
     * @param dir the sandbox's state directory
     * @return the lines, of the rotated file first; empty when there are none
     */
    public static List<String> denials(Path dir) {
        List<String> out = new ArrayList<>();
        for (String f : List.of("denials.jsonl.1", "denials.jsonl")) {
            // the gate's files (its uid's): never followed through a link, and read up to a bound whatever it wrote
            Path p = dir.resolve(DIR).resolve(f);
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(p,
                    java.nio.file.StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                long size = ch.size();
                long from = Math.max(0, size - DENIALS_READ_MAX);
                ByteBuffer b = ByteBuffer.allocate((int) (size - from));
                while (b.hasRemaining() && ch.read(b, from + b.position()) > 0) {
                    // to the end read at open
                }
                List<String> lines = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).lines().toList();
                out.addAll(from > 0 && !lines.isEmpty() ? lines.subList(1, lines.size()) : lines);
            } catch (IOException | RuntimeException e) {
                // none, or not a regular file of its own: nothing
            }
        }
        return out;
    }

    /** The most of each denials file {@link #denials} reads (its end): the gate rotates at 1 MiB. */
    static final long DENIALS_READ_MAX = 2L << 20;

    /**
     * What the gate of the one-shot run whose state directory is {@code dir} refused, for its result (read before
     * the directory goes).
     *
     * @param dir the run's state directory
     * @return the denials, oldest first; empty without a gate
     */
    public static List<dev.davit.sandbox.EgressDenial> runDenials(Path dir) {
        return dev.davit.sandbox.EgressDenial.newest(dev.davit.sandbox.internal.SandboxJson.denials(denials(dir)));
    }

    /** Ends the gate recorded in {@code dir}, if it is still the recorded process, and removes its records. */
    static void stop(Path dir) {
        Process setup;
        synchronized (SETUPS) {
            setup = SETUPS.remove(dir.toAbsolutePath());
        }
        if (setup != null) {
            setup.destroyForcibly();
        }
        Nat.stopRecorded(dir, PID_FILE);
        try {
            Files.deleteIfExists(dir.resolve(DIR).resolve(READY));
        } catch (IOException e) {
            // deleted with the directory
        }
    }

    /**
     * A shell that opens {@code files} as descriptors 3, 4, ... (as root, before the gate drops to its uid, which
     * may not reach their directories: e.g. a class path under /root/.m2) and then runs the rest of the command.
     */
    static List<String> opening(List<String> files) {
        StringBuilder opens = new StringBuilder();
        for (int i = 0; i < files.size(); i++) {
            opens.append(opens.isEmpty() ? "exec " : " ").append(i + 3).append("<\"$").append(i + 1).append('"');
        }
        List<String> a = new ArrayList<>(List.of(files.size() <= 7 ? "/bin/sh" : "/bin/bash", "-c",
                opens + "\nshift " + files.size() + "\nexec \"$@\"", "sh"));
        a.addAll(files);
        return a;
    }
}
