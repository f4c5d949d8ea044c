package dev.davit.sandbox.container;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.agent.AgentLink;
import dev.davit.sandbox.agent.AgentProgram;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.backend.FileLocks;
import dev.davit.sandbox.backend.Users;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.jail.Jail;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A long-lived container sandbox's agent (davit-agent, docs/reference/AGENT.md), for {@link ContainerExec}: started in
 * the keeper's namespaces, cgroup, user and seccomp filter by davit-exec, as every exec was (so it and what it forks
 * are confined exactly as such an exec), at the first command that finds none answering, and reached on its unix
 * socket {@code agent.sock} in the state directory, which davit-exec binds on the host before it enters the sandbox:
 * nothing in the sandbox can reach that path. An agent the sandbox killed or replaced is started again.
 */
final class ContainerAgent {
    /** The agent's socket, in the sandbox's state directory. */
    static final String SOCKET = "agent.sock";
    private static final String LOG = "agent.log";
    private static final String LOCK = "agent.lock";
    private static final Duration START_WAIT = Duration.ofSeconds(10);
    /** The longest path a unix socket address holds (sun_path less its terminating zero). */
    private static final int MAX_SOCKET_PATH = 107;
    /** The prefix of the temporary directory of a link to a state directory whose socket's path is too long. */
    static final String LINK_DIR = "davit-agent-link-";

    /** How many idle links this process keeps, over all sandboxes. */
    private static final int MAX_IDLE = 256;
    /** Idle links by agent socket: an exec takes its sandbox's, and gives it back when its command ended. */
    private static final java.util.concurrent.ConcurrentHashMap<Path, AgentLink> IDLE =
            new java.util.concurrent.ConcurrentHashMap<>();

    private final SandboxOptions options;

    ContainerAgent(SandboxOptions options) {
        this.options = options;
    }

    /**
     * A link to running sandbox {@code s}'s agent, the agent started first when none answers: the way a command
     * reaches a container sandbox. Null only where this jar has no davit-exec for this machine (built without gcc;
     * or {@code -Ddavit.jail.noExecHelper=true}, which tests use): the agent starts through davit-exec, so the exec
     * then takes the bubblewrap way ({@link ContainerExec}). A jar without the agent (built without cargo) is
     * refused, as the other backends refuse it, and so are a state directory's and a temporary directory's paths
     * both too long for a socket address ({@link #connect}).
     *
     * @param s  the sandbox
     * @param cg its cgroup (the agent joins it), or null
     * @return the link, HELLO read; or null without davit-exec
     */
    AgentLink link(Sandbox s, Cgroups.Cgroup cg) {
        Path helper = Jail.execHelper(options);
        if (helper == null) {
            return null;
        }
        Path program = AgentProgram.required(options);
        Path dir = options.stateDir().resolve(s.id()).toAbsolutePath();
        Path socket = socket(dir);
        if (!fits(socket) && !fits(Path.of(System.getProperty("java.io.tmpdir"), LINK_DIR + "01234567890123456789",
                "a", SOCKET))) {
            throw new DavitException(Kind.USAGE, "the state directory " + dir + " and the temporary directory "
                    + System.getProperty("java.io.tmpdir") + " are both too long for a socket address (107 bytes);"
                    + " use a home with a shorter path, or a shorter temporary directory (the java.io.tmpdir system"
                    + " property)");
        }
        AgentLink idle = IDLE.remove(socket);
        if (idle != null && idle.reusable()) {
            return idle; // no connect, and no new thread in the agent
        }
        try {
            return connect(socket);
        } catch (AgentLink.Broken e) {
            throw notAnswering(s, e); // one is there: never replaced while it lives
        } catch (IOException e) {
            cancelledIfInterrupted(s);
            // none listens (not started yet, or the sandbox ended it): start one, once
        }
        try {
            return FileLocks.holding(dir.resolve(LOCK), () -> {
                try {
                    return connect(socket); // another davit started it meanwhile
                } catch (AgentLink.Broken e) {
                    throw notAnswering(s, e);
                } catch (IOException e) {
                    cancelledIfInterrupted(s);
                    return start(s, cg, helper, program, dir, socket);
                }
            });
        } catch (IOException e) {
            cancelledIfInterrupted(s);
            throw new DavitException(Kind.STORE, "cannot lock " + dir.resolve(LOCK) + ": " + e.getMessage());
        }
    }

    /**
     * Gives back the link of sandbox {@code s} whose command ended as it should (its EXIT or ERROR read, no stdin
     * fed, no kill sent): kept for the sandbox's next exec (one per sandbox; a second is closed). Any other link is
     * closed by its user instead.
     */
    void release(Sandbox s, AgentLink link) {
        Path socket = socket(options.stateDir().resolve(s.id()));
        if (link.isClosed() || IDLE.putIfAbsent(socket, link) != null) {
            link.close();
            return;
        }
        if (IDLE.size() > MAX_IDLE / 2 && !Thread.currentThread().isInterrupted()) {
            // sandboxes another process stopped or removed leave links whose agent is gone: dropped here. A link
            // is looked at only once taken out of the map (another exec may take it meanwhile: never one in use)
            IDLE.forEach((k, l) -> {
                if (l != link && IDLE.remove(k, l) && (!l.reusable() || IDLE.putIfAbsent(k, l) != null)) {
                    l.close();
                }
            });
            if (IDLE.size() > MAX_IDLE && IDLE.remove(socket, link)) {
                link.close();
            }
        }
    }

    private static boolean fits(Path socket) {
        return socket.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8).length <= MAX_SOCKET_PATH;
    }

    /**
     * A link to the agent listening on {@code socket}. A socket address holds 107 bytes: a longer path is reached
     * through a link to its directory, made in a fresh directory of this process's own (0700: no other user can
     * put another link there) and removed once connected.
     */
    private static AgentLink connect(Path socket) throws IOException {
        if (fits(socket)) {
            return AgentLink.connect(socket);
        }
        Path tmp = java.nio.file.Files.createTempDirectory(LINK_DIR);
        Path link = tmp.resolve("a");
        try {
            java.nio.file.Files.createSymbolicLink(link, socket.getParent());
            return AgentLink.connect(link.resolve(socket.getFileName()));
        } finally {
            java.nio.file.Files.deleteIfExists(link);
            java.nio.file.Files.deleteIfExists(tmp);
        }
    }

    /** The agent's socket of the sandbox of state directory {@code dir}: the key of its idle link too. */
    private static Path socket(Path dir) {
        return dir.toAbsolutePath().resolve(SOCKET);
    }

    /** Closes the idle link to the agent of the sandbox of state directory {@code dir} (it is stopping or going). */
    static void forget(Path dir) {
        AgentLink l = IDLE.remove(socket(dir));
        if (l != null) {
            l.close();
        }
    }

    /** An agent that took the connection but did not answer in time (stopped, or busy with as many as it serves). */
    private static DavitException notAnswering(Sandbox s, AgentLink.Broken e) {
        return new DavitException(Kind.INTERNAL, "the agent of sandbox " + s.id() + " does not answer (" + e.getMessage()
                + "): it serves 64 connections at once, or the sandbox stopped it; try again, or stop and start the"
                + " sandbox");
    }

    private static void cancelledIfInterrupted(Sandbox s) {
        if (Thread.currentThread().isInterrupted()) {
            throw new DavitException(Kind.CANCELLED, "interrupted while connecting to the agent of sandbox " + s.id());
        }
    }

    private AgentLink start(Sandbox s, Cgroups.Cgroup cg, Path helper, Path program, Path dir, Path socket) {
        int[] ids = BwrapBackend.nonRoot(Users.resolve(s.spec().rootfs(), s.spec().image().user()));
        List<String> cmd = Jail.execLauncher(options, s.initPid(), helper, ids, "/",
                List.of("davit-agent", "serve", "--listen-fd", "3"));
        // the socket is bound relative to the state directory (the launch's working directory): no length limit there
        cmd = Jail.withSteps(cmd, List.of("--session", "--listen", SOCKET, "--program", program.toString()));
        ProcessBuilder pb = new ProcessBuilder(Cgroups.wrap(cg, cmd, dir));
        pb.environment().clear();
        pb.environment().putAll(Jail.execEnvironment(java.util.Map.of())); // the agent has no variable of its own
        pb.directory(dir.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.redirectOutput(ProcessBuilder.Redirect.to(dir.resolve(LOG).toFile()));
        pb.redirectErrorStream(true);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start " + cmd.get(0) + ": " + e.getMessage());
        }
        long deadline = System.nanoTime() + START_WAIT.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            try {
                return connect(socket);
            } catch (AgentLink.Broken e) {
                last = e; // bound, but not the agent answering: a failed start, or the sandbox's doing
                break;
            } catch (IOException e) {
                last = e; // not bound yet (or an earlier agent's socket): again shortly
            }
            // davit-exec returns 0 once it forked the agent (resident, in the sandbox's pid namespace): anything
            // else, or a line in the log, is a failed start
            if (!p.isAlive() && (p.exitValue() != 0 || !Keeper.readLog(dir.resolve(LOG)).isEmpty())) {
                break;
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Host.killTree(p);
                Thread.currentThread().interrupt();
                throw new DavitException(Kind.CANCELLED, "interrupted while the agent of sandbox " + s.id()
                        + " started");
            }
        }
        Host.killTree(p);
        if (Files.exists(dir.resolve(Cgroups.JOIN_FAILED))) {
            throw ContainerExec.cgroupJoinFailed(s.id());
        }
        String log = Keeper.readLog(dir.resolve(LOG));
        throw new DavitException(Kind.INTERNAL, "the agent of sandbox " + s.id() + " did not start"
                + (!log.isEmpty() ? ": " + log : last != null ? ": " + last.getMessage() : "")
                + "; stop and start the sandbox");
    }

}
