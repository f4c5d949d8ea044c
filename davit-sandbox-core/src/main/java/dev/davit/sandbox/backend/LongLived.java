package dev.davit.sandbox.backend;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.internal.Spawned;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One backend's long-lived sandboxes, behind {@link Lifecycle} (which keeps their state files, locks, listing,
 * reaping and the kill of their recorded processes) and {@code Sandboxes}. Got from {@link Driver#longLived}.
 */
public interface LongLived {
    /**
     * Checks a new sandbox's spec against this host, makes its state directory {@code dir} and returns the spec
     * as it is recorded (its root filesystem resolved).
     *
     * @param spec the spec given to {@code Sandboxes.create}
     * @param dir  the new sandbox's state directory, {@code <stateDir>/<id>}
     * @return the spec to record
     * @throws dev.davit.oci.DavitException as {@code Sandboxes.create} does
     */
    CreateSpec prepare(CreateSpec spec, Path dir);

    /**
     * {@link #prepare} for a sandbox whose writable state {@link #copyState} brings (a container makes no disk of
     * its own then: the copy is its disk). By default {@link #prepare}.
     *
     * @param spec the new sandbox's spec
     * @param dir  its state directory
     * @return the spec to record
     */
    default CreateSpec prepareCopy(CreateSpec spec, Path dir) {
        return prepare(spec, dir);
    }

    /**
     * Copies what sandbox {@code s} wrote (its layer and /tmp, or its disk) from its state directory {@code dir} to
     * state directory {@code to}, made by {@link #prepareCopy}, as it was at one moment: a running sandbox is held
     * still or its disk frozen for the copy, and goes on after it. Its processes are not copied. The caller holds
     * {@code s}'s lifecycle lock.
     *
     * @param s   the sandbox to copy, as recorded
     * @param dir its state directory
     * @param to  the state directory of the copy
     * @throws dev.davit.oci.DavitException USAGE when this backend (or this sandbox as it is) cannot be copied;
     *                                      STORE when the copy fails
     */
    default void copyState(Sandbox s, Path dir, Path to) {
        throw new DavitException(Kind.USAGE, "sandboxes of backend " + s.spec().backend() + " cannot be copied");
    }

    /**
     * Writes what sandbox {@code s} changed in its image to {@code out} as one OCI layer (a change set: whiteouts for
     * what it deleted, owners as the sandbox saw them), holding a running one still while it is read where it can.
     *
     * @param s   the sandbox, not failed
     * @param dir its state directory
     * @param out the layer being written; not finished here
     * @param rewrite what becomes of some files' bytes
     * @return what was written
     * @throws DavitException USAGE when this backend cannot; STORE when the changes cannot be read
     */
    default dev.davit.sandbox.Changes changes(Sandbox s, Path dir, dev.davit.oci.build.LayerWriter out,
                                              dev.davit.sandbox.Changes.Rewrite rewrite) {
        throw new DavitException(Kind.USAGE, "the changes of sandboxes of backend " + s.spec().backend()
                + " cannot be written as a layer yet");
    }

    /**
     * Writes what the state {@link #copyState} saved in {@code saved} changed in sandbox {@code s}'s image to
     * {@code out} as one OCI layer, as {@link #changes} writes a sandbox's own (a whole-sandbox snapshot's state, for
     * it to travel). Nothing of the saved state is changed.
     *
     * @param s       the sandbox the state was saved from, as recorded
     * @param saved   a directory {@link #copyState} filled
     * @param out     the layer being written; not finished here
     * @param rewrite what becomes of some files' bytes, and what is left out
     * @return what was written
     * @throws DavitException USAGE when this backend cannot; STORE when the state cannot be read
     */
    default dev.davit.sandbox.Changes savedChanges(Sandbox s, Path saved, dev.davit.oci.build.LayerWriter out,
                                                   dev.davit.sandbox.Changes.Rewrite rewrite) {
        throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("the whole saved state of a sandbox of"
                + " backend " + s.spec().backend() + " cannot travel yet; push a snapshot of /workspace (made without ",
                dev.davit.oci.Input.SNAPSHOT_ALL, ")"));
    }

    /**
     * Replaces what sandbox {@code s} (not running; its lock held) wrote with the state {@link #copyState} saved in
     * {@code from}: its layer and /tmp, or its disk. A crash leaves the old state or the new one.
     *
     * @param s    the sandbox, as recorded
     * @param dir  its state directory
     * @param from a directory {@link #copyState} filled
     * @throws dev.davit.oci.DavitException USAGE when this backend cannot; STORE when the copy fails
     */
    default void restoreState(Sandbox s, Path dir, Path from) {
        throw new DavitException(Kind.USAGE, "sandboxes of backend " + s.spec().backend() + " cannot be restored");
    }

    /**
     * Sandbox {@code s}'s ttl changed (as recorded now): a backend whose sandboxes the platform ends by itself (an
     * agent-sandbox {@code Sandbox}'s {@code shutdownTime}) moves that end. By default nothing (davit's reap ends
     * them).
     *
     * @param s   the sandbox with its new ttl
     * @param dir its state directory
     */
    default void retimed(Sandbox s, Path dir) {
    }

    /**
     * Gives the egress gate of running sandbox {@code s} (made with an egress policy) a new policy: new names and
     * connections follow it once this returns. By default the gate on this host ({@link Egress#update}).
     *
     * @param s      the sandbox, as recorded (with its old policy)
     * @param dir    its state directory
     * @param policy the new policy
     * @throws DavitException STATE when its gate is not running; INTERNAL when it does not take it
     */
    default void egressPolicy(Sandbox s, Path dir, dev.davit.sandbox.EgressPolicy policy) {
        Egress.update(dir, policy);
    }

    /**
     * Gives the egress gate of running sandbox {@code s} the secrets it adds to HTTPS requests (the lines of the
     * gate's message). By default the gate on this host ({@link Egress#inject}).
     *
     * @param s     the sandbox, as recorded
     * @param dir   its state directory
     * @param lines the message's lines
     * @throws DavitException STATE when its gate is not running; INTERNAL when it does not take them
     */
    default void egressSecrets(Sandbox s, Path dir, java.util.List<String> lines) {
        Egress.inject(dir, lines);
    }

    /**
     * What the egress gate of sandbox {@code s} refused, oldest first, as JSON lines. By default the gate on this
     * host's ({@link Egress#denials}).
     *
     * @param s   the sandbox, as recorded
     * @param dir its state directory
     * @return the lines; empty when there are none
     */
    default java.util.List<String> egressDenials(Sandbox s, Path dir) {
        return Egress.denials(dir);
    }

    /**
     * Pauses running sandbox {@code s}: its processes keep their state and take no CPU until {@link #resume}. Returns
     * the sandbox as it is to be recorded: running (a container, frozen in place) or stopped (a microVM whose memory
     * was saved to a file; the caller then kills what is left of it, freeing its memory).
     *
     * @param s   the running sandbox
     * @param dir its state directory
     * @return the sandbox to record
     * @throws dev.davit.oci.DavitException USAGE when this backend (or host) cannot pause it
     */
    default Sandbox pause(Sandbox s, Path dir) {
        throw new DavitException(Kind.USAGE, "sandboxes of backend " + s.spec().backend() + " cannot be paused");
    }

    /**
     * Whether sandbox {@code s} is paused ({@link #pause}).
     *
     * @param s   the sandbox, as recorded
     * @param dir its state directory
     * @return false by default
     */
    default boolean paused(Sandbox s, Path dir) {
        return false;
    }

    /**
     * Ends the pause of sandbox {@code s} without resuming it, before a stop or removal ends its processes: a frozen
     * container thaws (a frozen process cannot die), a microVM's saved memory is dropped (its next start boots). By
     * default nothing.
     *
     * @param s   the sandbox, as recorded
     * @param dir its state directory
     */
    default void dropPause(Sandbox s, Path dir) {
    }

    /**
     * Resumes paused sandbox {@code s} (see {@link #pause}): a frozen one thaws; one whose memory was saved starts
     * from it ({@link #start} does that).
     *
     * @param s   the paused sandbox
     * @param dir its state directory
     * @return the sandbox, running
     */
    default Sandbox resume(Sandbox s, Path dir) {
        return start(s);
    }

    /**
     * About how many bytes of disk {@link #copyState} of sandbox {@code s} writes (what its state takes now), looked
     * at before a copy that must fit a bound.
     *
     * @param s   the sandbox, as recorded
     * @param dir its state directory
     * @return the bytes; 0 by default
     * @throws java.io.IOException when they cannot be counted
     */
    default long stateBytes(Sandbox s, Path dir) throws IOException {
        return 0;
    }

    /**
     * How many processes the OOM killer killed in sandbox {@code s} so far (at its memory limit).
     *
     * @param s   the sandbox, as recorded
     * @param dir its state directory
     * @return the count; 0 by default, and where nothing counts them
     */
    default long oomKills(Sandbox s, Path dir) {
        return 0;
    }

    /**
     * Why failed sandbox {@code s} ended, as its backend knows it (a pod's kubelet's reason: evicted, OOM-killed,
     * its node lost), or null when it cannot tell.
     *
     * @param s   the sandbox, failed
     * @param dir its state directory
     * @return one line, or null
     */
    default String failure(Sandbox s, Path dir) {
        return null;
    }

    /**
     * Whether {@link #copyState} copies sandbox {@code s} while it runs (else only while it is stopped).
     *
     * @param s   the sandbox, as recorded
     * @param dir its state directory
     * @return true by default
     */
    default boolean copiesRunning(Sandbox s, Path dir) {
        return true;
    }

    /**
     * Removes what sandbox {@code s} holds outside this host (a k8s sandbox's pod), when a stop, removal or reap ends
     * it, after its recorded processes are killed. By default nothing.
     *
     * @param s   the sandbox, as recorded
     * @param dir its state directory
     */
    default void release(Sandbox s, Path dir) {
    }

    /**
     * Starts created, stopped or failed sandbox {@code s} (what was left of it is killed) and records it.
     *
     * @param s the sandbox as recorded, not running
     * @return the sandbox, running, with its processes recorded
     */
    Sandbox start(Sandbox s);

    /**
     * Whether the processes recorded for running sandbox {@code s} are all still there.
     *
     * @param s the sandbox as recorded running
     * @return false when one is gone or its pid was reused (the sandbox is FAILED then)
     */
    boolean up(Sandbox s);

    /**
     * Runs {@code argv} in running sandbox {@code s} (see {@code Sandboxes.exec}), keeping up to {@code capture}
     * bytes of each output stream in the result (the tees get all of it, as it arrives); {@code t0}: when the call
     * began.
     *
     * @param s         the running sandbox
     * @param argv      the command and its arguments, not empty
     * @param env       variables on top of the sandbox's, or null
     * @param workdir   the working directory, or null for the sandbox's
     * @param timeout   how long the command may run, or null for no limit
     * @param maxOutput the most bytes stdout and stderr together may have, 0 for no limit
     * @param capture   bytes of each stream the result keeps
     * @param stdin     the command's standard input, or null for /dev/null
     * @param stdoutTee where stdout is copied, or null
     * @param stderrTee where stderr is copied, or null
     * @param t0        {@link System#nanoTime} when the call began, for the timings
     * @return what the command did
     */
    ExecResult exec(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Duration timeout,
                    long maxOutput, int capture, InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee, long t0);

    /**
     * Before running sandbox {@code s} is killed by a stop (the vm backend flushes its guest's disk); by default
     * nothing.
     *
     * @param s the running sandbox
     */
    default void beforeStop(Sandbox s) {
    }

    /**
     * A {@link #beforeStop} that failed because of the sandbox itself (a pod whose files its save cannot list or
     * archive): the stop goes on, what was not kept is said after it. Any other failure (davit's own host, the
     * network, a cancellation) stops the stop, and the sandbox runs on as it was.
     */
    final class Unsaved extends dev.davit.oci.DavitException {
        private static final long serialVersionUID = 1L;

        /**
         * @param kind    the failure's kind
         * @param message what was not kept, and why
         */
        public Unsaved(dev.davit.oci.DavitException.Kind kind, String message) {
            super(kind, message);
        }
    }

    /**
     * The files of sandbox {@code s} through its guest agent ({@link dev.davit.sandbox.backend.Machinery#guestFiles}).
     *
     * @param s the sandbox
     * @return its files
     * @throws dev.davit.oci.DavitException USAGE by default: a container's files are on the host
     */
    default GuestFiles guestFiles(Sandbox s) {
        throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " is a container: its files are on the host (see"
                + " filesOnHost)");
    }

    /**
     * The disk of stopped sandbox {@code s}, read offline ({@link Machinery#offlineDisk}).
     *
     * @param s   the sandbox, not running
     * @param dir its state directory
     * @return a copy of its disk to read
     * @throws dev.davit.oci.DavitException USAGE by default: a container's files are on the host
     */
    default OfflineDisk offlineDisk(Sandbox s, Path dir) {
        throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " is a container: its files are on the host (see"
                + " filesOnHost)");
    }

    /**
     * Where sandbox {@code s}'s files are on the host ({@link Machinery#filesOnHost}).
     *
     * @param s   the sandbox
     * @param dir its state directory
     * @return the host directory of its files
     * @throws dev.davit.oci.DavitException USAGE by default: a microVM's files are not on the host
     */
    default Path filesOnHost(Sandbox s, Path dir) {
        throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " is a microVM: its files are not on the host");
    }

    /**
     * The host uid and gid of the files davit puts into sandbox {@code s} ({@link Machinery#hostOwner}).
     *
     * @param s the sandbox
     * @return {uid, gid}, or null (the default): davit's own
     */
    default int[] hostOwner(Sandbox s) {
        return null;
    }

    /**
     * The content of running sandbox {@code s}'s {@code /proc/net/NAME}.
     *
     * @param s    the running sandbox
     * @param name {@code tcp} or {@code tcp6}
     * @return the file's text
     * @throws IOException when it cannot be read (e.g. no IPv6)
     */
    String procNet(Sandbox s, String name) throws IOException;

    /**
     * Starts {@code argv} detached in running sandbox {@code s} (see {@link Machinery#spawn}).
     *
     * @param s        the running sandbox
     * @param argv     the command and its arguments, not empty
     * @param env      variables on top of the sandbox's, or null
     * @param workdir  the working directory, or null for the sandbox's
     * @param dir      the host directory for its output, exit code and input
     * @param terminal whether it gets a terminal
     * @return the started process
     */
    Spawned spawn(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Path dir, boolean terminal);

    /**
     * Whether spawned {@code p} still runs.
     *
     * @param running {@code p}'s sandbox when that runs, else null
     * @param p       the process
     * @return true while it runs
     */
    boolean alive(Sandbox running, Spawned p);

    /**
     * Brings what the sandbox recorded of spawned {@code p} to {@code dir} ({@link Machinery#collect}); by default
     * nothing (the files are there already).
     *
     * @param running {@code p}'s sandbox when that runs, else null
     * @param p       the process
     * @param dir     the host directory given to the spawn
     */
    default void collect(Sandbox running, Spawned p, Path dir) {
    }

    /**
     * The terminal of spawned {@code p} when it is in the sandbox, not in the spawn's directory on the host
     * ({@link Machinery#terminal}); null by default.
     *
     * @param running {@code p}'s sandbox when that runs, else null
     * @param p       the process, spawned with a terminal
     * @return its terminal, or null
     */
    default GuestTerminal terminal(Sandbox running, Spawned p) {
        return null;
    }

    /**
     * See {@code Sandboxes.signal}.
     *
     * @param running    {@code p}'s sandbox when that runs, else null
     * @param p          the process
     * @param signal     one of {@link Spawned#SIGNALS}
     * @param foreground whether to signal its terminal's foreground process group instead
     * @return false when nothing was left to signal
     */
    boolean signal(Sandbox running, Spawned p, String signal, boolean foreground);

    /**
     * See {@link Machinery#terminate}.
     *
     * @param running {@code p}'s sandbox when that runs, else null
     * @param p       the process
     * @param grace   how long it has after TERM before KILL
     */
    void terminate(Sandbox running, Spawned p, Duration grace);

    /**
     * Kills every process of running sandbox {@code s} but what keeps it ({@code Sandboxes.killAll}).
     *
     * @param s the running sandbox
     * @throws dev.davit.oci.DavitException USAGE by default: a container's processes end with its stop
     */
    default void killAll(Sandbox s) {
        throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " is a container; stop it to end its processes");
    }
}
