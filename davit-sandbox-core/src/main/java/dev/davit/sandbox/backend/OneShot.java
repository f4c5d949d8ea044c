package dev.davit.sandbox.backend;

import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.host.Host;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Ownership records of one-shot runs, so that a run whose davit died (SIGKILL, power loss) can be cleaned up by
 * {@code Sandboxes.reapOrphans}: the state directory {@code sb-*} holds {@code owner} (davit's pid and start
 * time) and {@code process} (the pid and start time of the process the run started: bwrap, crun/runc or QEMU).
 * A run whose owner is alive is never touched, except by the owner itself: when its JVM exits (SIGTERM, SIGINT,
 * {@code System.exit}) while a run is live, a shutdown hook kills the run's processes, lets the run clean up as
 * after any end (an OCI runtime's container does not die with davit, as bubblewrap's does), and removes what is
 * left after 10 s as {@code Sandboxes.reapOrphans} would.
 */
public final class OneShot {
    static final String OWNER = "owner";
    static final String PROCESS = "process";
    /** The live one-shot runs of this JVM (see {@link #create(SandboxOptions, String)}), by state directory. */
    private static final Map<Path, SandboxOptions> LIVE = new ConcurrentHashMap<>();

    static {
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(OneShot::endLive, "davit-one-shot-end"));
        } catch (IllegalStateException e) {
            // the JVM is exiting already: nothing starts any more
        }
    }

    private OneShot() {
    }

    /**
     * A new one-shot run id (also the sandbox's hostname).
     *
     * @return {@code sb-} and 12 random hex digits
     */
    public static String newId() {
        return "sb-" + dev.davit.oci.internal.RandomHex.of(6);
    }

    /**
     * Creates the run's state directory {@code <stateDir>/<id>/} and claims it ({@link #claim}).
     *
     * @param stateDir the state directory of the sandboxes ({@link SandboxOptions#stateDir})
     * @param id       the run's id, from {@link #newId}
     * @return the run's state directory
     * @throws dev.davit.oci.DavitException STORE when it cannot be made
     */
    public static Path create(Path stateDir, String id) {
        Path state = stateDir.resolve(id);
        try {
            Files.createDirectories(state);
            claim(state);
        } catch (IOException e) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.STORE,
                    "cannot create the sandbox directory " + state + ": " + e.getMessage());
        }
        return state;
    }

    /**
     * {@link #create(Path, String)} in {@code options}' state directory, the run being live until {@link #ended}: a
     * JVM that exits meanwhile ends it and removes its state first (see the class comment).
     *
     * @param options the sandboxes' options (their state directory, and the tools the removal uses)
     * @param id      the run's id, from {@link #newId}
     * @return the run's state directory
     * @throws dev.davit.oci.DavitException STORE when it cannot be made
     */
    public static Path create(SandboxOptions options, String id) {
        Path state = create(options.stateDir(), id);
        LIVE.put(state, options);
        return state;
    }

    /**
     * Marks the run of {@code state} ({@link #create(SandboxOptions, String)}) as over: its own clean-up is done.
     *
     * @param state the run's state directory
     */
    public static void ended(Path state) {
        LIVE.remove(state);
    }

    /** Records this davit as the owner of {@code state} (a new one-shot state directory). */
    static void claim(Path state) throws IOException {
        Host.record(state.resolve(OWNER), ProcessHandle.current().pid(), state);
    }

    /**
     * Records the process the run started; best effort (a run without the record is still reaped by owner).
     *
     * @param state the run's state directory
     * @param p     the process it started (bwrap, crun/runc or QEMU)
     */
    public static void started(Path state, Process p) {
        try {
            Host.record(state.resolve(PROCESS), p.pid(), state);
        } catch (IOException e) {
            // the run goes on; only an orphan's processes could not be found later
        }
    }

    /**
     * Removes the one-shot state directories under {@code stateDir} whose owner is gone: kills the recorded
     * process and everything under it (when its start time still matches), then deletes the directory.
     */
    public static List<String> reapOrphans(SandboxOptions options) {
        Path stateDir = options.stateDir();
        List<String> removed = new ArrayList<>();
        if (!Files.isDirectory(stateDir)) {
            return removed;
        }
        List<Path> dirs;
        try (Stream<Path> s = Files.list(stateDir)) {
            dirs = s.filter(d -> d.getFileName().toString().matches("sb-[0-9a-f]{12}")).sorted().toList();
        } catch (IOException e) {
            return removed;
        }
        for (Path d : dirs) {
            long[] owner = Host.recorded(d.resolve(OWNER));
            if (owner == null ? !Host.beforeBoot(d) : Host.alive(owner[0], owner[1])) {
                // a live run, or no record in a directory of this boot (being created, or an older davit's); a
                // directory from before the last boot without one lost it in the crash (records are not forced)
                continue;
            }
            reap(options, d);
            removed.add(d.getFileName().toString());
        }
        return removed;
    }

    /**
     * Ends the run of {@code d} and removes its state: kills the recorded process and everything under it (when its
     * start time still matches), ends its slirp4netns, cgroups and runtime's container, then deletes the directory.
     */
    private static void reap(SandboxOptions options, Path d) {
        killRecorded(d);
        Nat.stop(d); // a NAT run's slirp4netns, davit's child, outlives a killed davit
        Cgroups.removeRecorded(d); // kills what is left in the run's cgroups (e.g. a runc container)
        for (Driver driver : Driver.all()) {
            driver.reapOrphan(options, d); // e.g. a root runc's container, whose cgroups runc made
        }
        dev.davit.sandbox.jail.Disk.release(options, d); // the run's disk, before its files go
        Host.deleteTree(d);
        dev.davit.sandbox.jail.Subids.deleteTree(options, d); // what an image User wrote, a subordinate id's
    }

    /**
     * The shutdown hook: kills every live run's processes, waits (10 s at most) until the runs cleaned up after
     * themselves, then reaps what is left.
     */
    private static void endLive() {
        LIVE.keySet().forEach(OneShot::killRecorded);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!LIVE.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                break;
            }
        }
        LIVE.forEach((d, o) -> reap(o, d));
    }

    /** Kills the process recorded in {@code d} and everything under it, when its start time still matches. */
    private static void killRecorded(Path d) {
        long[] proc = Host.recorded(d.resolve(PROCESS));
        if (proc != null && Host.alive(proc[0], proc[1])) {
            ProcessHandle.of(proc[0]).ifPresent(h -> {
                List<ProcessHandle> all = new ArrayList<>(h.descendants().toList());
                all.add(h);
                all.forEach(ProcessHandle::destroyForcibly);
                Host.awaitEnd(all, java.time.Duration.ofSeconds(10)); // the directory is deleted all the same
            });
        }
    }
}
