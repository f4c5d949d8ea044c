package dev.davit.sandbox.backend;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.fs.Broker;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.internal.HostFiles;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.internal.Totals;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;

/**
 * What a {@code Sandboxes} (the engine's API, a layer above) holds of the backends: their one-shot runtimes, the
 * long-lived side ({@link Lifecycle}), and what davit's own packages reach beyond that API, as its types are not
 * API (this package is not exported): the backend a run takes, a container sandbox's files opened as a tree davit
 * does not trust, a running microVM's files through its guest agent, a stopped one's disk, detached processes
 * ({@link #spawn}: a workspace's services, shells and detached execs), the totals of a state directory (the MCP
 * server's, {@link #setTotals}). Each {@code Sandboxes}
 * makes its own ({@link #owned}); the workspace layer, above it, finds it with {@link #of}.
 */
public final class Machinery {
    /** Each owner's machinery; weak, so an owner no longer used goes with its machinery (which never names it). */
    private static final Map<Object, Machinery> OWNED = Collections.synchronizedMap(new WeakHashMap<>());

    private final List<Backend> runtimes;
    private final Lifecycle lifecycle;
    private final Path stateDir;

    private Machinery(SandboxOptions options) {
        this.runtimes = Driver.all().stream().flatMap(d -> d.runtimes(options).stream()).toList();
        this.lifecycle = new Lifecycle(options);
        this.stateDir = options.stateDir();
    }

    /**
     * The machinery of a new {@code owner} over {@code options}' state directory, found by {@link #of} while the
     * owner is in use.
     *
     * @param owner   the {@code Sandboxes} that holds it (typed Object: that class is a layer above this one); its
     *                identity is the key
     * @param options where state lives and where tools are found
     * @return the new machinery
     * @throws IllegalStateException when {@code owner} has one already
     */
    public static Machinery owned(Object owner, SandboxOptions options) {
        Machinery m = new Machinery(options);
        if (OWNED.putIfAbsent(Objects.requireNonNull(owner, "owner"), m) != null) {
            throw new IllegalStateException("the machinery of " + owner + " is made already");
        }
        return m;
    }

    /**
     * The machinery {@code owner} made ({@link #owned}).
     *
     * @param owner a {@code Sandboxes}
     * @return its machinery
     * @throws IllegalStateException when it has none (not a {@code Sandboxes})
     */
    public static Machinery of(Object owner) {
        Machinery m = OWNED.get(owner);
        if (m == null) {
            throw new IllegalStateException("no sandbox machinery for " + owner);
        }
        return m;
    }

    /**
     * The long-lived sandboxes' state, locks and backends.
     *
     * @return the lifecycle
     */
    public Lifecycle lifecycle() {
        return lifecycle;
    }

    /**
     * The backend that runs {@code spec}: its {@code backend} (default {@code container}) and, for containers, its
     * {@code runtime}, or else the first of the backend's runtimes whose binary is installed.
     *
     * @param spec the run whose {@link RunSpec#backend} and {@link RunSpec#runtime} choose
     * @return the backend; when none is installed, the first, whose run then reports what is missing
     * @throws DavitException USAGE for an unknown backend, or a runtime the backend does not have
     */
    public Backend backend(RunSpec spec) {
        String name = spec.backend() == null ? RunSpec.CONTAINER : spec.backend();
        lifecycle.backend(name); // refuses a backend this davit lacks, naming those there are
        List<Backend> candidates = runtimes.stream().filter(b -> b.name().equals(name)).toList();
        if (spec.runtime() != null && candidates.size() > 1) { // a backend of one runtime takes any name
            // a loop, not a stream: the AOT cache's training names no runtime, so a lambda here was spun at run time
            for (Backend b : candidates) {
                if (b.runtime().equals(spec.runtime())) {
                    return b;
                }
            }
            throw new DavitException(Kind.USAGE, "unknown runtime '" + spec.runtime() + "' for the " + name
                    + " backend; available: " + String.join(", ", candidates.stream().map(Backend::runtime).toList()));
        }
        return candidates.stream().filter(Backend::installed).findFirst()
                .orElse(candidates.get(0)); // the first reports what is missing
    }

    /**
     * Container sandbox {@code id}'s files ({@link #filesOnHost}) opened as the top of a tree davit does not
     * trust, and checked after the open: a running sandbox's keeper must still be the very process (pid and start
     * time) whose {@code /proc/PID/root} was opened, so a pid reused between the status and the open never gives
     * another process's root. Through the backend's helper where it has one ({@link HostFiles.Brokered}).
     *
     * @param id the sandbox's id
     * @return the open tree; close it when done
     * @throws IOException when the directory cannot be opened
     * @throws DavitException as {@link #filesOnHost} does; USAGE when the sandbox stopped while it was opened
     */
    public Dir openFiles(String id) throws IOException {
        Sandbox s = lifecycle.status(id);
        LongLived backend = lifecycle.of(s);
        Path files = backend.filesOnHost(s, lifecycle.dir(id));
        Broker broker = backend instanceof HostFiles.Brokered b ? b.filesBroker(s) : null;
        Dir d = broker == null ? Dir.open(files, "/") : broker.open(files, "/");
        if (s.status() == SandboxStatus.RUNNING && !Host.alive(s.initPid(), s.initStart())) {
            d.close();
            throw new DavitException(Kind.USAGE, "sandbox " + id + " stopped while davit opened its files; start it"
                    + " again and retry");
        }
        return d;
    }

    /**
     * The files of running vm sandbox {@code id}, reached through its guest agent (the twin of {@link #openFiles}
     * for microVMs, whose files are in their disk): put and get tar streams, read, remove, rename, sync.
     *
     * @param id the sandbox's id
     * @return the guest's files, usable while the sandbox runs
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE for a container sandbox (its files are
     *                        on the host) or one that is not running
     */
    public GuestFiles guestFiles(String id) {
        return lifecycle.guestFiles(id);
    }

    /**
     * The disk of vm sandbox {@code id}, which must not be running, read on the host without booting the VM and
     * without mounting its file system; close it when done.
     *
     * @param id the sandbox's id
     * @return a copy of the disk to read; close it to delete the copy
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when it is running or a container
     */
    public OfflineDisk offlineDisk(String id) {
        Sandbox s = lifecycle.status(id);
        if (s.status() == SandboxStatus.RUNNING) {
            throw new DavitException(Kind.USAGE, "sandbox " + id + " is running; its disk is read offline only while"
                    + " it is stopped");
        }
        return lifecycle.of(s).offlineDisk(s, lifecycle.dir(id));
    }

    /**
     * Puts secret lines into running sandbox {@code id} ({@link Lifecycle#injectSecrets}).
     *
     * @param id    the sandbox's id
     * @param lines the lines
     */
    public void injectSecrets(String id, List<String> lines) {
        lifecycle.injectSecrets(id, lines);
    }

    /**
     * The terminal of detached process {@code p} when it is in its sandbox (a pod's: {@link LongLived#terminal}),
     * where the spawn's directory has no {@code output} and {@code input}; null when that directory has them.
     *
     * @param p the process, spawned with a terminal
     * @return its terminal in the sandbox, or null
     */
    public GuestTerminal terminal(Spawned p) {
        if (!p.inGuest()) {
            return null;
        }
        Sandbox s;
        try {
            s = lifecycle.status(p.sandbox());
        } catch (DavitException e) {
            if (e.kind() == Kind.NOT_FOUND) {
                return null;
            }
            throw e;
        }
        return lifecycle.of(s).terminal(s.status() == SandboxStatus.RUNNING ? s : null, p);
    }

    /**
     * Where a container sandbox's files are on the host, for a layer above sandboxes (workspaces) that reads and
     * writes them without an exec: a running sandbox's root as its keeper sees it ({@code /proc/INIT/root}, through
     * its overlay, so the sandbox sees every change at once); a created or stopped one's own writable layer (the
     * overlay's upper directory, made when missing; a start keeps it), which holds everything written outside /tmp.
     * A path there is the sandbox's path without its leading {@code /}. Refused for vm sandboxes and failed ones.
     *
     * @param id the sandbox's id
     * @return the host directory that is the sandbox's {@code /} (running) or its writable layer (otherwise)
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE for a vm or failed sandbox
     */
    public Path filesOnHost(String id) {
        Sandbox s = lifecycle.status(id);
        return lifecycle.of(s).filesOnHost(s, lifecycle.dir(id));
    }

    /**
     * The host uid and gid that files davit puts into container sandbox {@code id} (through {@link #filesOnHost})
     * must have for the sandbox's user to own them: its image User's (else root's) ids mapped into the jail's range
     * as root; null without root (the sandbox's user is davit's own user then, who owns what davit writes).
     *
     * @param id the sandbox's id
     * @return {uid, gid} on the host, or null
     * @throws DavitException NOT_FOUND when there is no such sandbox
     */
    public int[] hostOwner(String id) {
        Sandbox s = lifecycle.status(id);
        return lifecycle.of(s).hostOwner(s);
    }

    /**
     * Starts {@code argv} detached in running sandbox {@code id}, as an exec would run it (namespaces, cgroup, user;
     * {@code env} on top of the sandbox's, {@code workdir} null: the sandbox's), in a session and process group of its
     * own, and returns at once. It outlives this davit; host directory {@code dir} (created if missing) gets
     * {@link Spawned#OUTPUT} (stdout and stderr interleaved, or with {@code terminal} all the terminal shows) and,
     * when it ends, {@link Spawned#EXIT}. With {@code terminal} the command gets a PTY (made on the host by
     * util-linux {@code script}) whose input is the FIFO {@link Spawned#INPUT}. In a vm or a pod the command runs
     * in the sandbox: its exit code and output reach {@code dir} with {@link #collect}; a vm's terminal is one of its
     * few virtio consoles, whose files {@code dir} links to ({@link Spawned#OFFSET}: where this command's output
     * starts), a pod's is in the pod.
     *
     * @param id       the sandbox's id
     * @param argv     the command and its arguments, not empty
     * @param env      variables set on top of the sandbox's environment, or null for none
     * @param workdir  the absolute working directory in the sandbox, or null for the sandbox's
     * @param dir      a host directory of the caller's for the command's output, exit code and input
     * @param terminal whether the command gets a terminal (a PTY) instead of plain output
     * @return the started process, to keep for {@link #alive}, {@link #signal} and {@link #terminate}
     * @throws DavitException USAGE when {@code argv} is empty or the sandbox is not running; NOT_FOUND: no sandbox
     */
    public Spawned spawn(String id, List<String> argv, Map<String, String> env, String workdir, Path dir,
                         boolean terminal) {
        if (argv == null || argv.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a command to run");
        }
        Sandbox s = lifecycle.status(id);
        if (s.status() != SandboxStatus.RUNNING) {
            throw new DavitException(Kind.USAGE, "sandbox " + id + " is " + s.status().label() + ", not running");
        }
        lifecycle.refusePaused(s);
        return lifecycle.of(s).spawn(s, argv, env, workdir, dir, terminal);
    }

    /**
     * Whether a {@link #spawn}ed process (its holder) still runs; in a vm that is not running, it does not.
     *
     * @param p the process, as {@link #spawn} returned it (or made again from its fields)
     * @return true while it runs
     */
    public boolean alive(Spawned p) {
        Owner o = owner(p);
        return o.backend().alive(o.running(), p);
    }

    /**
     * Brings what a vm's guest recorded of {@link #spawn}ed process {@code p} to its host directory {@code dir}: its
     * {@link Spawned#EXIT} and (without a terminal) its {@link Spawned#OUTPUT} (the first 64 MiB). Nothing to do for
     * containers (their files are there already) or a vm that is not running.
     *
     * @param p   the process, as {@link #spawn} returned it
     * @param dir the host directory given to {@link #spawn}
     */
    public void collect(Spawned p, Path dir) {
        Owner o = owner(p);
        o.backend().collect(o.running(), p, dir);
    }

    /**
     * Sends {@code signal} ({@code INT}, {@code TERM}, {@code KILL}, {@code HUP}, {@code QUIT}, {@code USR1},
     * {@code USR2}) to a {@link #spawn}ed command's process group and process tree, or with {@code foreground} to
     * the foreground process group of its terminal (as Ctrl-C would).
     *
     * @param p          the process, as {@link #spawn} returned it
     * @param signal     the signal's name without {@code SIG}, one of {@link Spawned#SIGNALS}
     * @param foreground whether to signal the terminal's foreground process group instead (a terminal's command)
     * @return false when nothing was left to signal
     * @throws DavitException USAGE for a signal not in {@link Spawned#SIGNALS}
     */
    public boolean signal(Spawned p, String signal, boolean foreground) {
        Spawned.checkSignal(signal);
        Owner o = owner(p);
        return o.backend().signal(o.running(), p, signal, foreground);
    }

    /**
     * Ends a {@link #spawn}ed command: TERM, then KILL after {@code grace}; returns when it is gone.
     *
     * @param p     the process, as {@link #spawn} returned it
     * @param grace how long it has to exit after TERM before it is killed
     */
    public void terminate(Spawned p, java.time.Duration grace) {
        Owner o = owner(p);
        o.backend().terminate(o.running(), p, grace);
    }

    /**
     * The sandbox of spawned process {@code p} as it is now, for its backend: a process in a guest (a microVM's, a
     * pod's) is its sandbox's backend's; a host process is a container's. {@code running} is the sandbox when it
     * runs, else null (a container's holder needs none; a guest's process does not run then).
     */
    private record Owner(LongLived backend, Sandbox running) {
    }

    /** The owner of spawned process {@code p} among this machinery's sandboxes ({@link Owner}). */
    private Owner owner(Spawned p) {
        if (!p.inGuest()) {
            return new Owner(lifecycle.backend(RunSpec.CONTAINER), null);
        }
        try {
            Sandbox s = lifecycle.status(p.sandbox());
            return new Owner(lifecycle.of(s), s.status() == SandboxStatus.RUNNING ? s : null);
        } catch (DavitException e) {
            if (e.kind() == Kind.NOT_FOUND) {
                return new Owner(lifecycle.backend(RunSpec.VM), null);
            }
            throw e;
        }
    }

    /**
     * Sets what all the sandboxes of this state directory may use together: one parent cgroup gets {@code totals} as
     * its limits, and every sandbox of this state directory made from now on (by any process on this davit home) is
     * made below it, whatever its {@code Limits}. The totals stay until set again; {@link Totals#NONE} removes the
     * parent cgroup when no sandbox is in it, else lifts its limits. Sandboxes made before stay outside. The MCP
     * server's ({@link Cgroups#setTotals}).
     *
     * @param totals the totals
     * @return the parent cgroup's directories, one per cgroup hierarchy (empty when {@link Totals#NONE} removed it)
     * @throws DavitException USAGE when this host cannot enforce limits ({@code Limits.unenforceable}), or when a
     *                        sandbox below has a limit the kernel does not allow under the totals (cgroup v1: a
     *                        {@code Limits.cpus} above {@link Totals#cpus}); INTERNAL when the cgroup cannot be made
     */
    public List<Path> setTotals(Totals totals) {
        return Cgroups.setTotals(stateDir, Objects.requireNonNull(totals, "totals"));
    }
}
