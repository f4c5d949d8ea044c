package dev.davit.sandbox.engine;

import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.DavitException;
import dev.davit.sandbox.Changes;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.EgressDenial;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ExecSpec;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.backend.Backend;
import dev.davit.sandbox.backend.Driver;
import dev.davit.sandbox.backend.Lifecycle;
import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.backend.OneShot;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs commands in sandboxes of every backend this davit has ({@code Driver.all}): {@code container} (bubblewrap,
 * crun or runc over the sandbox's own overlay of a shared root filesystem) and {@code vm} (a QEMU microVM). See
 * docs/reference/SANDBOX.md. Thread-safe; each run is independent.
 */
public final class Sandboxes {
    /** The backend names {@link #run} accepts, the default ({@link RunSpec#CONTAINER}) first. */
    public static final List<String> BACKENDS = Driver.all().stream().map(Driver::name).toList();
    /** The runtimes of the container backend, in the order an automatic choice tries them. */
    public static final List<String> CONTAINER_RUNTIMES = Driver.named(RunSpec.CONTAINER) == null ? List.of()
            : Driver.named(RunSpec.CONTAINER).runtimes(SandboxOptions.under(Path.of("/nonexistent"))).stream()
            .map(Backend::runtime).toList();

    private final SandboxOptions options;
    private final Machinery machinery;
    private final Lifecycle lifecycle;

    /**
     * The sandboxes of {@code options}' state directory, with the backends this davit has. Cheap: nothing is made
     * until a sandbox is.
     *
     * @param options where state lives and where tools are found, e.g. {@link SandboxOptions#under} a davit home
     */
    public Sandboxes(SandboxOptions options) {
        this.options = Objects.requireNonNull(options, "options");
        this.machinery = Machinery.owned(this, options);
        this.lifecycle = machinery.lifecycle();
        // on Java 21, the host's way into a sandbox's files goes through davit's static helper (fs.Dir)
        dev.davit.sandbox.fs.Dir.fallBackTo(() -> dev.davit.sandbox.jail.Jail.execHelper(options));
    }

    /**
     * The options these sandboxes were made with.
     *
     * @return the options given to the constructor
     */
    public SandboxOptions options() {
        return options;
    }

    /**
     * Runs {@code spec} to completion (or its timeout) in a new one-shot sandbox, removed afterwards (also on
     * failure), and returns its output, exit code and timings. A command that fails or times out is no exception.
     *
     * @param spec what to run and how
     * @return what the run did
     * @throws DavitException USAGE for an unknown backend or runtime, a run the backend refuses or limits this host
     *                        cannot enforce; HOST_UNSUPPORTED when the backend's tools are not installed or this
     *                        host cannot make its sandbox (see {@link #doctor}); STORE when the state directory
     *                        cannot be made; CANCELLED when the calling thread is interrupted (the run is ended
     *                        and removed first; the thread's interrupt status stays set)
     */
    public ExecResult run(RunSpec spec) {
        return run(spec, null, null);
    }

    /**
     * Like {@link #run(RunSpec)}, also copying the command's stdout and stderr to {@code stdoutTee} and
     * {@code stderrTee} (either may be null) as they arrive.
     *
     * @param spec      what to run and how
     * @param stdoutTee where the command's stdout is copied as it arrives, or null; not closed
     * @param stderrTee where the command's stderr is copied as it arrives, or null; not closed
     * @return what the run did
     * @throws DavitException as {@link #run(RunSpec)} does
     */
    public ExecResult run(RunSpec spec, OutputStream stdoutTee, OutputStream stderrTee) {
        return run(spec, null, stdoutTee, stderrTee);
    }

    /**
     * Like {@link #run(RunSpec, OutputStream, OutputStream)}, with {@code stdin} as the command's standard input
     * (null: /dev/null); it is read until it ends or the command exits. Container backend only for now.
     *
     * @param spec      what to run and how
     * @param stdin     the command's standard input, or null for /dev/null
     * @param stdoutTee where the command's stdout is copied as it arrives, or null; not closed
     * @param stderrTee where the command's stderr is copied as it arrives, or null; not closed
     * @return what the run did
     * @throws DavitException as {@link #run(RunSpec)} does
     */
    public ExecResult run(RunSpec spec, java.io.InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        return machinery.backend(spec).run(spec, stdin, stdoutTee, stderrTee);
    }

    /**
     * Creates a long-lived sandbox (not started yet). Its state lives in {@code <stateDir>/<id>/state.json}, so
     * another {@code Sandboxes} (a later davit) sees it. A container rootfs needs a {@code sleep} command; a vm
     * sandbox's rootfs is a microVM environment directory (see the vm backend's {@code VmImages}).
     *
     * @param spec the sandbox to create
     * @return the new sandbox, {@link SandboxStatus#CREATED}, with its id ({@code sbx-} and 12 hex digits)
     * @throws DavitException USAGE for a backend this davit does not have (checked first); NOT_FOUND when the root
     *                        filesystem is missing or not a directory; USAGE for what the backend refuses (a rootless
     *                        sandbox that would lack a guarantee of the jail, see {@link
     *                        SandboxOptions#allowWeakerSandbox}; published ports of a vm); STORE when its state cannot
     *                        be written; USAGE for a published host port in use now (also checked at {@link #start}).
     *                        What this host cannot give (limits, network) fails at {@link #start}. A published host
     *                        port 0 is a free port chosen now: the returned sandbox's spec holds it
     */
    public Sandbox create(CreateSpec spec) {
        lifecycle.backend(spec.backend()); // first: nothing is done for a backend this davit lacks
        PortMapping.checkFree(spec.publish()); // a host port taken now fails at once (and again at start)
        // a published host port 0 becomes a free one now, recorded in the spec: the same port at every start
        return lifecycle.create(spec.publish().stream().anyMatch(m -> m.hostPort() == 0)
                ? spec.withPublish(SandboxDetails.pickFree(spec.publish())) : spec);
    }

    /**
     * A new sandbox with a copy of everything sandbox {@code id} wrote: a container's layer and /tmp (its disk, when
     * it has one of its own), a microVM's disk. It has {@code id}'s spec but no published ports (the host ports stay
     * the original's) and ttl {@code ttl}; it is created, not started, and independent from then on. A running
     * sandbox goes on running: its disk is frozen (container) or its VM held still (microVM) for the copy, so the copy
     * is one moment's state, as after a power cut; its processes are not copied. A container without a disk of its own
     * (rootless, or {@code --disk 0}) is copied only while it is stopped.
     *
     * @param id  the sandbox's id, as {@link #create} returned it
     * @param ttl how long after its creation a reap may remove the copy, or null for never
     * @return the new sandbox, {@link SandboxStatus#CREATED}
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when it has failed, or is a running
     *                        container without a disk of its own; STORE when the copy fails (nothing is left of it)
     */
    public Sandbox fork(String id, java.time.Duration ttl) {
        return lifecycle.fork(id, ttl);
    }

    /**
     * Pauses running sandbox {@code id}: its processes keep their state and take no CPU until {@link #resume}. A
     * container's processes are frozen in place (its cgroup's freezer; it stays running, and an exec into it is
     * refused until it is resumed). A microVM's memory and device state are saved to a file beside its disk and its
     * QEMU ends, which frees its CPU and memory; it is then stopped, and {@link #resume} (or {@link #start}) brings
     * its processes back as they were, also from another davit process. Pausing a paused sandbox changes nothing.
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @return the sandbox: running (a container) or stopped (a microVM), paused
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when it is not running, or this host
     *                        cannot pause it (a container without a cgroup of its own: rootless, or no limits);
     *                        INTERNAL when QEMU does not save its state (the VM is left running)
     */
    public Sandbox pause(String id) {
        return lifecycle.pause(id);
    }

    /**
     * Resumes paused sandbox {@code id} ({@link #pause}): a container thaws; a microVM starts from its saved memory.
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @return the sandbox, running
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when it is not paused; INTERNAL when a
     *                        microVM's saved state is not taken (it is dropped then: the next start boots afresh)
     */
    public Sandbox resume(String id) {
        return lifecycle.resume(id);
    }

    /**
     * Whether sandbox {@code id} is paused ({@link #pause}).
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @return true when it is
     * @throws DavitException NOT_FOUND when there is no such sandbox
     */
    public boolean paused(String id) {
        return lifecycle.paused(status(id));
    }

    /**
     * Whether sandbox {@code s} (as {@link #status} just read it) is paused: {@link #paused(String)} without reading
     * its state again.
     *
     * @param s the sandbox
     * @return true when it is
     */
    public boolean paused(Sandbox s) {
        return lifecycle.paused(s);
    }

    /**
     * Why sandbox {@code s} (as {@link #status} just read it) failed, as its backend can tell (on k8s the kubelet's
     * reason: an eviction, an OOM kill of the whole container, a lost node), or null: when it is not failed, or
     * nothing says.
     *
     * @param s the sandbox
     * @return one line, or null
     */
    public String failure(Sandbox s) {
        return lifecycle.failure(s);
    }

    /**
     * How many processes the OOM killer killed in sandbox {@code id} so far, at its memory limit (a container's
     * memory cgroup counts them; 0 where nothing does, e.g. inside a microVM).
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @return the count
     * @throws DavitException NOT_FOUND when there is no such sandbox
     */
    public long oomKills(String id) {
        Sandbox s = status(id);
        return lifecycle.of(s).oomKills(s, lifecycle.dir(id));
    }

    /**
     * About how many bytes of disk {@link #saveState} of sandbox {@code id} writes: what its writable state takes now
     * (a container's disk image's blocks, or its layer and /tmp; a microVM's disk overlay).
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @return the bytes
     * @throws DavitException NOT_FOUND when there is no such sandbox; STORE when they cannot be counted
     */
    public long stateBytes(String id) {
        return lifecycle.stateBytes(id);
    }

    /**
     * Saves everything sandbox {@code id} wrote into directory {@code dest} (made when missing), as {@link #fork}
     * copies it: a running sandbox goes on running (its disk frozen, or its VM held still, for the copy); a
     * container without a disk of its own only while stopped. {@link #restoreState} brings it back.
     *
     * @param id   the sandbox's id, as {@link #create} returned it
     * @param dest where to save it: a directory of davit's own (its content is the backend's)
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when it has failed, or is a running
     *                        container without a disk of its own; STORE when the copy fails
     */
    public void saveState(String id, Path dest) {
        lifecycle.saveState(id, dest);
    }

    /**
     * Replaces everything sandbox {@code id} wrote with what {@link #saveState} saved in {@code from}; the sandbox
     * must not be running (a crash leaves the old state or the new one).
     *
     * @param id   the sandbox's id, as {@link #create} returned it
     * @param from a directory {@link #saveState} filled, for a sandbox of the same backend
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when it runs; STORE when the copy fails
     */
    public void restoreState(String id, Path from) {
        lifecycle.restoreState(id, from);
    }

    /**
     * {@code count} sandboxes, each as {@link #fork(String, java.time.Duration)} makes one: the original is held
     * still (or its disk frozen) once, for the first copy; the others are copied from that one, in parallel. All are
     * made or none.
     *
     * @param id    the sandbox's id, as {@link #create} returned it
     * @param ttl   how long after its creation a reap may remove each copy, or null for never
     * @param count how many, at least 1
     * @return the new sandboxes, {@link SandboxStatus#CREATED}
     * @throws DavitException as {@link #fork(String, java.time.Duration)}
     */
    public List<Sandbox> fork(String id, java.time.Duration ttl, int count) {
        if (count < 1) {
            throw new DavitException(Kind.USAGE, "a fork makes at least one sandbox, not " + count);
        }
        return lifecycle.fork(id, ttl, count);
    }

    /**
     * Whether {@link #fork} copies sandbox {@code id} while it runs; a container without a disk of its own is
     * copied only while stopped.
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @return true when a running sandbox can be forked as it runs
     * @throws DavitException NOT_FOUND when there is no such sandbox
     */
    public boolean forksRunning(String id) {
        Sandbox s = status(id);
        return lifecycle.of(s).copiesRunning(s, lifecycle.dir(id));
    }

    /**
     * Starts a created or stopped (or failed) sandbox; a running one is returned as it is. A vm sandbox boots a
     * detached QEMU and returns when its davit-agent answers.
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @return the sandbox, {@link SandboxStatus#RUNNING}
     * @throws DavitException NOT_FOUND when there is no such sandbox; another kind when it cannot be started
     */
    public Sandbox start(String id) {
        return lifecycle.start(id);
    }

    /**
     * Runs {@code spec} in running sandbox {@code id} (through davit-agent, the sandbox's resident agent, on every backend): its
     * variables on top of the sandbox's environment, in its working directory (else the sandbox's), within its
     * timeout and output limit. Files in /tmp (vm: anywhere) persist between execs of the same sandbox.
     *
     * <pre>{@code
     * ExecResult r = sandboxes.exec(id, ExecSpec.builder("make", "test").workdir("/src")
     *         .timeout(Duration.ofMinutes(5)).tees(System.out, System.err).build());
     * }</pre>
     *
     * @param id   the sandbox's id, as {@link #create} returned it
     * @param spec what to run, and how
     * @return the command's exit code, output (the first {@link ExecSpec#capture} bytes per stream) and timings; a
     *         failing command is no exception
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when it is not running, or for an
     *                        output limit or stdin given to a vm sandbox
     */
    public ExecResult exec(String id, ExecSpec spec) {
        return lifecycle.exec(id, spec.command(), spec.env(), spec.workdir(), spec.timeout(), spec.maxOutput(),
                spec.capture(), spec.stdin(), spec.stdoutTee(), spec.stderrTee());
    }

    /**
     * Runs {@code argv} in a running sandbox (through davit-agent, the sandbox's resident agent, on every backend):
     * {@code env} on top of the sandbox's environment, {@code workdir} (null: the sandbox's), {@code timeout}
     * (null: none; on timeout the command is killed, exit 124, and the sandbox keeps running). Files in /tmp (vm:
     * anywhere) persist between execs of the same sandbox. For input, tees, an output limit or a smaller capture, give
     * an {@link ExecSpec} ({@link #exec(String, ExecSpec)}).
     *
     * @param id      the sandbox's id, as {@link #create} returned it
     * @param argv    the command and its arguments, not empty (the image's Entrypoint is not put in front)
     * @param env     variables set on top of the sandbox's environment, or null for none
     * @param workdir the absolute working directory in the sandbox, or null for the sandbox's
     * @param timeout how long the command may run, or null for no limit
     * @return the command's exit code, output and timings; a failing command is no exception
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when it is not running or {@code argv} is
     *                        empty
     */
    public ExecResult exec(String id, List<String> argv, java.util.Map<String, String> env, String workdir,
                           java.time.Duration timeout) {
        return lifecycle.exec(id, argv, env, workdir, timeout, null, null, null);
    }

    /**
     * Kills every process of running vm or k8s sandbox {@code id} but its agent: what execs left (a workspace's reset).
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when it is a running container sandbox
     */
    public void killAll(String id) {
        SandboxDetails.killAll(lifecycle, status(id));
    }

    /**
     * Whether a TCP socket listens on {@code port} in running sandbox {@code id}'s network: its {@code /proc/net/tcp}
     * and {@code tcp6} (a container's as the host reads them, a vm's through its agent; no tool needed in the image).
     *
     * @param id   the sandbox's id, as {@link #create} returned it
     * @param port the TCP port in the sandbox, e.g. a service's
     * @return true when something listens on it; false also when the sandbox is not running
     * @throws DavitException NOT_FOUND when there is no such sandbox
     */
    public boolean listening(String id, int port) {
        return SandboxDetails.listening(lifecycle, status(id), port);
    }

    /**
     * Kills the sandbox's processes (all of its pid namespace; vm: its QEMU, after the guest flushed its disk) and
     * records it as stopped. A created or stopped sandbox is returned as it is.
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @return the sandbox, {@link SandboxStatus#STOPPED} when it was running or failed
     * @throws DavitException NOT_FOUND when there is no such sandbox
     */
    public Sandbox stop(String id) {
        return lifecycle.stop(id);
    }

    /**
     * Sets the ttl of sandbox {@code id} so that {@link #reap} may remove it {@code ttl} from now (null: never).
     *
     * @param id  the sandbox's id, as {@link #create} returned it
     * @param ttl how long from now until it expires, or null for never
     * @return the sandbox with its new ttl (counted, as always, from its creation)
     * @throws DavitException NOT_FOUND when there is no such sandbox
     */
    public Sandbox expireAfter(String id, java.time.Duration ttl) {
        return lifecycle.expireAfter(id, ttl);
    }

    /**
     * Changes the variables every later exec, service and shell of sandbox {@code id} gets (on top of its image's
     * Env), under its lock; processes already running keep theirs.
     *
     * @param id     the sandbox's id, as {@link #create} returned it
     * @param set    variables to set (added or replaced); null: none
     * @param remove names of variables to remove; null: none
     * @return the sandbox with its new variables
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE for a bad name or value, or a name both
     *                        set and removed
     */
    public Sandbox env(String id, Map<String, String> set, List<String> remove) {
        return lifecycle.env(id, SandboxDetails.envChange(set, remove));
    }

    /**
     * Gives sandbox {@code id} another egress policy: recorded for its next starts and, while it runs, followed by
     * its egress gate at once for new names and connections (connections already made are left alone; nothing is
     * restarted).
     *
     * @param id     the sandbox's id, as {@link #create} returned it
     * @param policy the new policy
     * @return the sandbox with its new network
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when its network has no egress policy
     *                        (none, NAT or the host's); INTERNAL when its running gate does not take it (the record
     *                        is left as it was)
     */
    public Sandbox network(String id, EgressPolicy policy) {
        return lifecycle.network(id, java.util.Objects.requireNonNull(policy, "policy"));
    }

    /**
     * Changes sandbox {@code id}'s egress policy by {@code change} ({@link EgressPolicy#with}) under its lock.
     *
     * @param id     the sandbox's id, as {@link #create} returned it
     * @param change what to add and remove
     * @return the sandbox with its new network
     * @throws DavitException as {@link #network(String, EgressPolicy)}; USAGE for a bad entry in {@code change}
     */
    public Sandbox network(String id, EgressPolicy.Change change) {
        java.util.Objects.requireNonNull(change, "change");
        return lifecycle.network(id, now -> now.with(change));
    }

    /**
     * What the egress gate of sandbox {@code id} refused, oldest first: names it gave no answer for and connections
     * it refused, kept bounded on disk (about the last 1 to 2 MiB of records).
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @return the denials; empty for a sandbox without an egress policy
     * @throws DavitException NOT_FOUND when there is no such sandbox
     */
    public List<EgressDenial> egressDenials(String id) {
        return dev.davit.sandbox.internal.SandboxJson.denials(lifecycle.egressDenials(id));
    }

    /**
     * Stops the sandbox if needed and deletes its state directory (its writable layer or disk with it).
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @throws DavitException NOT_FOUND: no such sandbox; STORE when its directory cannot be deleted
     */
    public void rm(String id) {
        lifecycle.rm(id);
    }

    /**
     * The sandbox's state; one recorded as running whose processes are gone (or pids reused) is FAILED.
     *
     * @param id the sandbox's id, as {@link #create} returned it
     * @return the sandbox as recorded, its status checked against its processes
     * @throws DavitException NOT_FOUND when there is no such sandbox (also for an id that is not one); STORE when
     *                        its state file cannot be read
     */
    public Sandbox status(String id) {
        return lifecycle.status(id);
    }

    /**
     * All long-lived sandboxes, oldest first.
     *
     * @return the sandboxes of the state directory (empty when it does not exist)
     * @throws DavitException STORE when the state directory or a state file cannot be read
     */
    public List<Sandbox> list() {
        return lifecycle.list();
    }

    /**
     * Removes the sandboxes whose ttl has passed since creation and the failed ones.
     *
     * @return the removed sandboxes, as they were before
     */
    public List<Sandbox> reap() {
        return lifecycle.reap(java.util.Set.of());
    }

    /**
     * {@link #reap()}, leaving the sandboxes of {@code keep} alone (a layer above that owns them reaps them).
     *
     * @param keep ids of sandboxes not to remove, expired or failed as they may be
     * @return the removed sandboxes, as they were before
     */
    public List<Sandbox> reap(java.util.Set<String> keep) {
        return lifecycle.reap(keep);
    }

    /**
     * Removes the leftovers of one-shot runs whose davit died before cleaning up (killed with SIGKILL, say): their
     * state directories and any process they started (a QEMU or an OCI runtime's container outlives its davit;
     * bubblewrap dies with it), their cgroups (davit's, and those runc made as root) included. Runs of a live davit
     * are never touched. Then what a backend made elsewhere for a sandbox of this home whose record is gone (a pod of
     * the k8s backend: {@code Driver.sweep}).
     *
     * @return the removed run ids ({@code sb-} and 12 hex digits), then the names of the backends' objects removed
     */
    public List<String> reapOrphans() {
        List<String> removed = new java.util.ArrayList<>(OneShot.reapOrphans(options));
        Driver.all().forEach(d -> removed.addAll(d.sweep(options)));
        return removed;
    }

    /**
     * What bounds this home's sandboxes of {@code backend} together on its side (a k8s namespace's ResourceQuota).
     *
     * @param backend a backend's name ({@code k8s})
     * @return {@code "used/hard"} by resource ({@code pods}, {@code limits.memory}…), empty for none set; null for a
     *         backend without such a bound (a host's totals are set by the MCP server, {@code Machinery.setTotals})
     * @throws DavitException when it cannot be read (no right to, the cluster is away)
     */
    public Map<String, String> quota(String backend) {
        Driver d = Driver.named(backend);
        return d == null ? null : d.quota(options);
    }

    /**
     * What works on this host: each backend and runtime, limits, network, the jail; probes run (up to
     * {@link Doctor#PROBE_SECONDS} each), so this takes a moment.
     *
     * @return one entry per backend, runtime and feature, each with why not and the fix
     */
    public Doctor.Report doctor() {
        return new HostChecks(options).check();
    }

}
