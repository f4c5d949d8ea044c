package dev.davit.sandbox.workspace;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.fs.Budget;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.workspace.Workspaces.Snapshot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Snapshots and reset: copies of /workspace in {@code <stateDir>/<id>/snapshots/<name>/} (linked from the newest
 * one where unchanged, bounded as exports are: {@link SnapshotBound}), and /workspace restored to the baseline or a
 * snapshot. Behind {@link Workspaces}, whose methods of the same names document them.
 */
class WorkspaceSnapshots extends WorkspaceState {
    WorkspaceSnapshots(WorkspaceState state) {
        super(state);
    }

    private static final String SNAPSHOT_FILE = "snapshot.json";

    /** Where a snapshot made with {@code all} keeps the sandbox's saved state ({@link Sandboxes#saveState}). */
    static final String STATE = "state";

    Snapshot snapshot(String id, String name, boolean all) {
        checkSnapshotName(name);
        return locked(id, wid -> snapshotLocked(wid, name, all, null, null));
    }

    /**
     * A snapshot {@code name} of workspace {@code id} holding host tree {@code from} (davit's own: e.g. a snapshot
     * that travelled, extracted), made at {@code createdAt}, as if it had been taken there.
     */
    Snapshot importSnapshot(String id, String name, Path from, Instant createdAt) {
        checkSnapshotName(name);
        return locked(id, wid -> snapshotLocked(wid, name, false, from, createdAt));
    }

    /** The tree of the baseline of workspace {@code id} (never written after its creation). */
    Path baselineTree(String id) {
        return stateDir.resolve(get(id).id()).resolve("baseline");
    }

    /** The tree of snapshot {@code name} of workspace {@code id}, and whether it holds the whole sandbox too. */
    Path snapshotTreeOf(String id, String name) {
        return snapshotTree(get(id).id(), name);
    }

    private Snapshot snapshotLocked(String id, String name, boolean all, Path from, Instant createdAt) {
        Workspace w = get(id);
        Path snaps = stateDir.resolve(w.id()).resolve(SNAPSHOTS);
        Path dest = snaps.resolve(name);
        if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.USAGE, Message.of("workspace " + id + " already has a snapshot " + name
                    + "; pick another name or remove it with ", Action.DELETE_SNAPSHOT.fix(id, name))
                    .about(Subject.Type.SNAPSHOT, name));
        }
        List<Snapshot> earlier = snapshots(id);
        if (earlier.size() >= SnapshotBound.MAX) {
            throw new DavitException(Kind.USAGE, Message.of("workspace " + id + " has " + earlier.size()
                    + " snapshots, the most it may have; remove one, e.g. the oldest with ",
                    Action.DELETE_SNAPSHOT.fix(id, earlier.get(0).name())).about(Subject.Type.WORKSPACE, id));
        }
        Path state = stateDir.resolve(w.id());
        // a snapshot is a copy on the host, outside the sandbox's disk: bounded as exports are
        Export.Allowance allowance = Export.hostSide(sandbox(w.id()).spec().limits().diskMiB(),
                SnapshotBound.held(state), "snapshot", "snapshots", state);
        Budget budget = new Budget("the snapshot of /workspace", allowance.bytes(), Budget.MAX_ENTRIES,
                Budget.DEADLINE);
        Path tmp = snaps.resolve("." + name + ".tmp");
        Sandbox sbx = sandboxes.status(w.sandboxId());
        if (all && sbx.status() == SandboxStatus.RUNNING && !sandboxes.forksRunning(w.sandboxId())) {
            throw new DavitException(Kind.USAGE, Message.of("workspace " + id + " has no disk of its own (rootless,"
                    + " or made with ", dev.davit.oci.Input.DISK, " 0), so its whole state is saved only while it is"
                    + " stopped; stop it first (", Action.STOP_WORKSPACE.fix(id), "), or snapshot /workspace alone")
                    .about(Subject.Type.WORKSPACE, id));
        }
        long saved = 0;
        try (WorkspaceArea.View v = from != null ? null : area(w).view();
             Dir live = from != null ? Dir.open(from, "the snapshot's tree") : v.open()) {
            delete(tmp);
            if (all) { // first, so that a state too large is refused before the tree is copied
                // what it would take, looked at before anything is written: past the allowance, refused below
                budget.bytes(sandboxes.stateBytes(w.sandboxId()));
                sandboxes.saveState(w.sandboxId(), tmp.resolve(STATE));
                saved = SnapshotBound.stateBytes(tmp.resolve(STATE));
            }
            Path tree = tmp.resolve("tree");
            Files.createDirectories(tree);
            // what the newest snapshot (else the baseline) holds unchanged is linked from it: those trees are
            // never written
            Path twin = earlier.isEmpty() ? state.resolve("baseline")
                    : snaps.resolve(earlier.get(earlier.size() - 1).name()).resolve("tree");
            try (Dir to = Dir.open(tree, "the snapshot"); Dir reuse = Dir.open(twin, "the last snapshot")) {
                Tree.copy(live, to, "", new Tree.Options(null, new Tree.Reuse(reuse, false), null, budget));
            }
            Map<String, Tree.Entry> entries = Tree.walk(tree);
            Snapshot snap = new Snapshot(name, createdAt != null ? createdAt : Instant.now(), entries.size(),
                    entries.values().stream().mapToLong(Tree.Entry::size).sum(), all);
            long own = SnapshotBound.alone(tree) + saved;
            Fs.writeAtomically(tmp.resolve(SNAPSHOT_FILE), Json.bytes(StateJson.snapshot(snap)), tmp);
            // what it adds to the count, taken off as it is at its removal (by this workspace or a fork of it)
            Fs.writeAtomically(tmp.resolve(SnapshotBound.CHARGED), Long.toString(own).getBytes(
                    java.nio.charset.StandardCharsets.US_ASCII), tmp);
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE);
            Fs.fsyncDir(snaps);
            SnapshotBound.add(state, own);
            return snap;
        } catch (IOException | RuntimeException e) {
            delete(tmp);
            if (e instanceof DavitException && budget.bytesCounted() > allowance.bytes()) {
                throw new DavitException(Kind.USAGE, Message.of("the snapshot of /workspace would write more than "
                        + allowance.bytes() / (1 << 20) + " MiB, " + allowance.why() + "; remove a snapshot (see ",
                        Action.LIST_SNAPSHOTS.fix(id), ") or large files from /workspace").about(Subject.Type.WORKSPACE,
                        id));
            }
            if (e instanceof DavitException d) {
                throw d;
            }
            if (e instanceof IOException io && (io instanceof Dir.NotUtf8 || Tree.swapped(io))) {
                throw ContainerArea.treeError(io, "the snapshot");
            }
            throw new DavitException(Kind.STORE, "cannot snapshot workspace " + id + " into " + dest + ": "
                    + e.getMessage());
        }
    }

    /**
     * A reset to a snapshot of the whole sandbox: its processes ended, the sandbox stopped, its saved state put back
     * ({@link Sandboxes#restoreState}), started again if it was running.
     */
    private Sandbox resetAll(Workspace w, Sandbox s, Path state) {
        boolean wasRunning = s.status() == SandboxStatus.RUNNING;
        endProcesses(w.id(), "reset");
        if (s.status() == SandboxStatus.RUNNING || s.status() == SandboxStatus.FAILED) {
            sandboxes.stop(w.sandboxId());
        }
        sandboxes.restoreState(w.sandboxId(), state);
        if (!wasRunning) {
            return sandboxes.status(w.sandboxId());
        }
        Sandbox started = sandboxes.start(w.sandboxId());
        secrets(w).materialise(sandboxes, w.sandboxId(), w.id(), stateDir.resolve(w.id()));
        return started;
    }

    List<Snapshot> snapshots(String id) {
        Path snaps = stateDir.resolve(get(id).id()).resolve(SNAPSHOTS);
        if (!Files.isDirectory(snaps)) {
            return List.of();
        }
        List<Snapshot> out = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(snaps)) {
            for (Path d : dirs.filter(d -> !d.getFileName().toString().startsWith(".")).toList()) {
                out.add(StateJson.snapshot(Json.read(Files.readAllBytes(d.resolve(SNAPSHOT_FILE)))));
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot list " + snaps + ": " + e.getMessage());
        }
        out.sort(java.util.Comparator.comparing(Snapshot::createdAt));
        return out;
    }

    void removeSnapshot(String id, String name) {
        locked(id, wid -> {
            removeSnapshotLocked(wid, name);
            return null;
        });
    }

    private void removeSnapshotLocked(String id, String name) {
        Path snaps = stateDir.resolve(get(id).id()).resolve(SNAPSHOTS);
        Path gone = snaps.resolve("." + name + ".rm");
        long freed;
        try {
            Path tree = snapshotTree(id, name);
            Path charged = tree.resolveSibling(SnapshotBound.CHARGED);
            // what it added to the count; a snapshot made before that was recorded: its files no other snapshot nor
            // the baseline links
            freed = Files.isRegularFile(charged, LinkOption.NOFOLLOW_LINKS) ? Export.count(charged)
                    : SnapshotBound.alone(tree);
            // a push's read-only mount of its saved disk that a killed davit left
            dev.davit.sandbox.jail.Disk.release(sandboxes.options(), tree.resolveSibling(STATE));
            Files.move(tree.getParent(), gone, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot remove snapshot " + name + ": " + e.getMessage());
        }
        SnapshotBound.add(snaps.getParent(), -freed);
        delete(gone);
    }

    Sandbox reset(String id, String snapshot) {
        return locked(id, wid -> resetLocked(wid, snapshot));
    }

    private Sandbox resetLocked(String id, String snapshot) {
        Workspace w = get(id);
        Path source = snapshot == null ? stateDir.resolve(w.id()).resolve("baseline") : snapshotTree(id, snapshot);
        Sandbox s = sandboxes.status(w.sandboxId());
        Path state = source.resolveSibling(STATE);
        if (snapshot != null && Files.isDirectory(state, LinkOption.NOFOLLOW_LINKS)) {
            dev.davit.sandbox.jail.Disk.release(sandboxes.options(), state); // a killed push's read-only mount
            return resetAll(w, s, state);
        }
        if (s.spec().filesInGuest()) { // swapped in the VM's disk by its agent, which must run for it
            endProcesses(id, "reset");
            sandboxes.killAll(w.sandboxId()); // and what execs left running, as a container's restart would
            area(w).replace(source);
            return sandboxes.status(w.sandboxId());
        }
        boolean wasRunning = s.status() == SandboxStatus.RUNNING;
        endProcesses(id, "reset");
        if (s.status() == SandboxStatus.RUNNING || s.status() == SandboxStatus.FAILED) {
            sandboxes.stop(w.sandboxId());
        }
        area(w).replace(source);
        if (!wasRunning) {
            return sandboxes.status(w.sandboxId());
        }
        Sandbox started = sandboxes.start(w.sandboxId());
        secrets(w).materialise(sandboxes, w.sandboxId(), id, stateDir.resolve(w.id()));
        return started;
    }
}
