package dev.davit.sandbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Ownership records of one-shot runs, so that a run whose davit died (SIGKILL, power loss) can be cleaned up by
 * {@link Sandboxes#reapOrphans}: the state directory {@code sb-*} holds {@code owner} (davit's pid and start
 * time) and {@code process} (the pid and start time of the process the run started: bwrap, crun/runc or QEMU).
 * A run whose owner is alive is never touched.
 */
public final class OneShot {
    static final String OWNER = "owner";
    static final String PROCESS = "process";

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
    static List<String> reapOrphans(SandboxOptions options) {
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
            long[] proc = Host.recorded(d.resolve(PROCESS));
            if (proc != null && Host.alive(proc[0], proc[1])) {
                ProcessHandle.of(proc[0]).ifPresent(h -> {
                    List<ProcessHandle> all = new ArrayList<>(h.descendants().toList());
                    all.add(h);
                    all.forEach(ProcessHandle::destroyForcibly);
                    for (ProcessHandle x : all) {
                        try {
                            x.onExit().get(10, TimeUnit.SECONDS);
                        } catch (Exception e) {
                            // reported below: the directory is still deleted
                        }
                    }
                });
            }
            Nat.stop(d); // a NAT run's slirp4netns, davit's child, outlives a killed davit
            Cgroups.removeRecorded(d); // kills what is left in the run's cgroups (e.g. a runc container)
            for (Driver driver : Driver.all()) {
                driver.reapOrphan(options, d); // e.g. a root runc's container, whose cgroups runc made
            }
            dev.davit.sandbox.jail.Disk.release(options, d); // the run's disk, before its files go
            Host.deleteTree(d);
            dev.davit.sandbox.jail.Subids.deleteTree(options, d); // what an image User wrote, a subordinate id's
            removed.add(d.getFileName().toString());
        }
        return removed;
    }
}
