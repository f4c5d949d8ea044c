package dev.davit.sandbox.internal;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.util.List;

/**
 * A process started detached in a running sandbox by {@code Machinery.spawn} (davit's own: services, shells,
 * detached execs of workspaces; not API): it outlives the davit that started it
 * and a later davit reaches it through this record (kept by the caller, e.g. its fields in a file). Pids are the
 * host's, each with its start time (field 22 of /proc/PID/stat), so a reused pid is never taken for it. In a vm
 * sandbox the process is in the guest: {@code guestDir} names its directory there (pid, boot id, output, exit), the
 * leader pid is the guest's and the holder fields are 0.
 *
 * @param holderPid   the host process that waits for the command and writes its exit code (see {@link #EXIT})
 * @param holderStart the holder's start time
 * @param leaderPid   the leader of the command's own session and process group (0: it ended before it was seen)
 * @param leaderStart the leader's start time
 * @param sandbox     the vm sandbox it runs in, or null (a container's: the host pids say everything)
 * @param guestDir    its directory in the vm's guest, or null
 */
public record Spawned(long holderPid, long holderStart, long leaderPid, long leaderStart, String sandbox,
                      String guestDir) {
    /** The signals {@code Machinery.signal} sends. */
    public static final List<String> SIGNALS = List.of("INT", "TERM", "KILL", "HUP", "QUIT", "USR1", "USR2");

    /**
     * Checks a signal's name.
     *
     * @param signal a signal's name without {@code SIG}
     * @throws DavitException USAGE unless {@code signal} is one of {@link #SIGNALS}
     */
    public static void checkSignal(String signal) {
        if (!SIGNALS.contains(signal)) {
            throw new DavitException(Kind.USAGE, "unknown signal '" + signal + "'; use one of "
                    + String.join(", ", SIGNALS));
        }
    }

    /** In the spawn's directory: the command's stdout and stderr interleaved (a terminal's output). */
    public static final String OUTPUT = "output";
    /**
     * In the spawn's directory: {@link #OUTPUT}'s older half. A container's output goes through a FIFO to a capper
     * on the host (the holder's, outliving davit) that keeps {@link #OUTPUT} under {@link #logCap()}/2 bytes: past
     * that it becomes this file (replacing the one before) and a new {@link #OUTPUT} starts, so the two never hold
     * more than the cap.
     */
    public static final String OUTPUT_OLD = "output.1";
    /**
     * In the spawn's directory, when the caller put it there before {@code Machinery.spawn}: a {@code /bin/sh} script
     * that a container's output passes through (standard input to standard output, started by the holder, signals
     * of a stop ignored) on its way to {@link #OUTPUT}, e.g. to redact it before it reaches the disk. The command
     * starts once the filter has created {@link #OUTPUT_FILTER_UP} (within 30 s, or it does not run: exit code
     * 125). A vm's output does not pass through it.
     */
    public static final String OUTPUT_FILTER = "output.filter";
    /** In the spawn's directory: made by the {@link #OUTPUT_FILTER} when it is ready to read. */
    public static final String OUTPUT_FILTER_UP = "output.filter.up";
    /** In the spawn's directory: how many bytes of output the capper dropped (decimal; missing: none). */
    public static final String OUTPUT_DROPPED = "output.dropped";
    /** The default of {@link #logCap()}: 8 MiB. */
    public static final long LOG_CAP = 8L << 20;

    /**
     * How many bytes of a detached process's output stay on disk: {@link #LOG_CAP}, or the system property
     * {@code davit.logs.capBytes} (at least 2).
     *
     * @return the cap in bytes
     */
    public static long logCap() {
        return Math.max(2, Long.getLong("davit.logs.capBytes", LOG_CAP));
    }

    /** In the spawn's directory: the exit code, written when the command ends (128+N when killed by signal N). */
    public static final String EXIT = "exit";
    /** In the spawn's directory: a terminal's input, a FIFO (write to it; the holder keeps it open). */
    public static final String INPUT = "input";
    /**
     * In the spawn's directory, when there: where this process's part of {@link #OUTPUT} starts (a vm's terminal
     * output is a console's, shared by the shells it had).
     */
    public static final String OFFSET = "offset";

    /**
     * A process of a container sandbox.
     *
     * @param holderPid   the host pid of the process that waits for the command
     * @param holderStart the holder's start time
     * @param leaderPid   the host pid of the command's session leader, or 0
     * @param leaderStart the leader's start time
     */
    public Spawned(long holderPid, long holderStart, long leaderPid, long leaderStart) {
        this(holderPid, holderStart, leaderPid, leaderStart, null, null);
    }

    /**
     * Whether it runs in a microVM's guest.
     *
     * @return true when it has a {@link #guestDir}
     */
    public boolean inGuest() {
        return guestDir != null;
    }
}
