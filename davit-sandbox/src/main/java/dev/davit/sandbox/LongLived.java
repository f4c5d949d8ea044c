package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One backend's long-lived sandboxes, behind {@link Lifecycle} (which keeps their state files, locks, listing,
 * reaping and the kill of their recorded processes) and {@link Sandboxes}. Got from {@link Driver#longLived}.
 */
public interface LongLived {
    /**
     * Checks a new sandbox's spec against this host, makes its state directory {@code dir} and returns the spec
     * as it is recorded (its root filesystem resolved).
     */
    CreateSpec prepare(CreateSpec spec, Path dir);

    /** Starts created, stopped or failed sandbox {@code s} (what was left of it is killed) and records it. */
    Sandbox start(Sandbox s);

    /** Whether the processes recorded for running sandbox {@code s} are all still there. */
    boolean up(Sandbox s);

    /**
     * Runs {@code argv} in running sandbox {@code s} (see {@link Sandboxes#exec}), keeping up to {@code capture}
     * bytes of each output stream in the result (the tees get all of it, as it arrives); {@code t0}: when the call
     * began.
     */
    ExecResult exec(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Duration timeout,
                    long maxOutput, int capture, InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee, long t0);

    /** Before running sandbox {@code s} is killed by a stop (the vm backend flushes its guest's disk). */
    default void beforeStop(Sandbox s) {
    }

    /** The files of running sandbox {@code s} through its guest agent ({@link Sandboxes#guestFiles}). */
    default GuestFiles guestFiles(Sandbox s) {
        throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " is a container: its files are on the host (see"
                + " filesOnHost)");
    }

    /** The disk of stopped sandbox {@code s}, read offline ({@link Sandboxes#offlineDisk}); {@code dir}: its state. */
    default OfflineDisk offlineDisk(Sandbox s, Path dir) {
        throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " is a container: its files are on the host (see"
                + " filesOnHost)");
    }

    /** Where sandbox {@code s}'s files are on the host ({@link Sandboxes#filesOnHost}); {@code dir}: its state. */
    default Path filesOnHost(Sandbox s, Path dir) {
        throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " is a microVM: its files are not on the host");
    }

    /**
     * The helper that acts on sandbox {@code s}'s files for davit where davit's user may not (a rootless sandbox
     * whose image User is one of the user's subordinate ids), or null: davit acts itself.
     */
    default dev.davit.sandbox.fs.Broker filesBroker(Sandbox s) {
        return null;
    }

    /** The host uid and gid of the files davit puts into sandbox {@code s} ({@link Sandboxes#hostOwner}), or null. */
    default int[] hostOwner(Sandbox s) {
        return null;
    }

    /** The content of running sandbox {@code s}'s {@code /proc/net/NAME} ({@code tcp}, {@code tcp6}). */
    String procNet(Sandbox s, String name) throws IOException;

    /** Starts {@code argv} detached in running sandbox {@code s} (see {@link Sandboxes#spawn}). */
    Spawned spawn(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Path dir, boolean terminal);

    /** Whether spawned {@code p} still runs; {@code running}: its sandbox when that runs, else null. */
    boolean alive(Sandbox running, Spawned p);

    /** Brings what the sandbox recorded of spawned {@code p} to {@code dir} ({@link Sandboxes#collect}). */
    default void collect(Sandbox running, Spawned p, Path dir) {
    }

    /** See {@link Sandboxes#signal}; {@code running}: {@code p}'s sandbox when that runs, else null. */
    boolean signal(Sandbox running, Spawned p, String signal, boolean foreground);

    /** See {@link Sandboxes#terminate}; {@code running}: {@code p}'s sandbox when that runs, else null. */
    void terminate(Sandbox running, Spawned p, Duration grace);

    /** Kills every process of running sandbox {@code s} but what keeps it ({@link Sandboxes#killAll}). */
    default void killAll(Sandbox s) {
        throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " is a container; stop it to end its processes");
    }
}
