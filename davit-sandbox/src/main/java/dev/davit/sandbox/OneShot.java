package dev.davit.sandbox;

import dev.davit.sandbox.container.BwrapBackend;
import dev.davit.sandbox.container.Overlay;
import dev.davit.oci.store.Fs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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

    /** A new one-shot run id: {@code sb-} and 12 hex digits (also the sandbox's hostname). */
    public static String newId() {
        return "sb-" + dev.davit.oci.RandomHex.of(6);
    }

    /** Creates the run's state directory {@code <stateDir>/<id>/} and claims it ({@link #claim}). */
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
        long pid = ProcessHandle.current().pid();
        Fs.writeAtomicallyUntilReboot(state.resolve(OWNER), (pid + " " + Lifecycle.startTime(pid) + "\n")
                .getBytes(StandardCharsets.UTF_8), state);
    }

    /** Records the process the run started; best effort (a run without the record is still reaped by owner). */
    public static void started(Path state, Process p) {
        try {
            Fs.writeAtomicallyUntilReboot(state.resolve(PROCESS),
                    (p.pid() + " " + Lifecycle.startTime(p.pid()) + "\n").getBytes(StandardCharsets.UTF_8), state);
        } catch (IOException e) {
            // the run goes on; only an orphan's processes could not be found later
        }
    }

    /**
     * Removes the one-shot state directories under {@code stateDir} whose owner is gone: kills the recorded
     * process and everything under it (when its start time still matches), then deletes the directory.
     */
    static List<String> reapOrphans(Path stateDir, Path runc) {
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
            long[] owner = read(d.resolve(OWNER));
            if (owner == null ? !Lifecycle.beforeBoot(d) : Lifecycle.alive(owner[0], owner[1])) {
                // a live run, or no record in a directory of this boot (being created, or an older davit's); a
                // directory from before the last boot without one lost it in the crash (records are not forced)
                continue;
            }
            long[] proc = read(d.resolve(PROCESS));
            if (proc != null && Lifecycle.alive(proc[0], proc[1])) {
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
            runcDelete(runc, d);
            BwrapBackend.deleteTree(d);
            removed.add(d.getFileName().toString());
        }
        return removed;
    }

    /**
     * A root runc's container of the run in {@code d} ({@code d/runtime/ID}): {@code runc delete --force} removes
     * what runc made for it, its cgroups in every hierarchy included.
     */
    private static void runcDelete(Path runc, Path d) {
        String id = d.getFileName().toString();
        if (runc == null || !Overlay.ROOT || !Files.isDirectory(d.resolve("runtime").resolve(id))) {
            return;
        }
        ProcessBuilder pb = new ProcessBuilder(runc.toString(), "--root", d.resolve("runtime").toString(), "delete",
                "--force", id).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().clear();
        try {
            Process p = pb.start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            // best effort: the state directory goes anyway
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static long[] read(Path f) {
        try {
            String[] w = Files.readString(f).strip().split(" ");
            return new long[] {Long.parseLong(w[0]), Long.parseLong(w[1])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
