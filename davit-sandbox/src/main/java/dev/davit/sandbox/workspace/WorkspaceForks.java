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
import dev.davit.sandbox.backend.Host;
import dev.davit.sandbox.internal.WorkspaceJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/**
 * Forks: new workspaces, each with a copy of a workspace's whole writable state (its sandbox's, through
 * {@link dev.davit.sandbox.Sandboxes#fork}) and of its state here (baseline and snapshots as hard links: those trees
 * are never written; secrets, logs). Behind {@link Workspaces#fork}, which documents it.
 */
class WorkspaceForks extends WorkspaceState {
    /** The most forks one call makes. */
    static final int MAX = 16;
    /** What a fork copies of its workspace's state besides the baseline and snapshots. */
    private static final List<String> COPIED = List.of(SnapshotBound.FILE, ExecLog.FILE, ExecLog.FILE + ".1",
            Secrets.DIR);
    private static final List<String> LINKED = List.of("baseline", SNAPSHOTS);

    private final String owner;

    WorkspaceForks(WorkspaceState state, String owner) {
        super(state);
        this.owner = owner;
    }

    List<Workspace> fork(String id, int count, List<String> names, java.util.function.IntConsumer admit) {
        List<String> given = names == null ? List.of() : names;
        int n = count > 0 ? count : Math.max(1, given.size());
        if (n > MAX) {
            throw new DavitException(Kind.USAGE, Message.of("a fork makes at most " + MAX + " workspaces at once, not "
                    + n + " (", dev.davit.oci.Input.FORK_COUNT, ")"));
        }
        if (!given.isEmpty() && given.size() != n) {
            throw new DavitException(Kind.USAGE, Message.of("give one name per fork: " + given.size() + " names for "
                    + n + " forks (", dev.davit.oci.Input.FORK_NAME, ", ", dev.davit.oci.Input.FORK_COUNT, ")"));
        }
        if (new HashSet<>(given).size() != given.size()) {
            throw new DavitException(Kind.USAGE, Message.of("the forks' names must differ (",
                    dev.davit.oci.Input.FORK_NAME, ")"));
        }
        given.forEach(WorkspaceLabels::checkName);
        return locked(id, wid -> {
            Workspace w = get(wid);
            Sandbox s = sandboxes.status(w.sandboxId());
            if (s.status() == SandboxStatus.FAILED) {
                throw new DavitException(Kind.USAGE, Message.of("workspace " + wid + " has failed (its sandbox's"
                        + " processes are gone); start it again (", Action.START_WORKSPACE.fix(wid), ") to fork it")
                        .about(Subject.Type.WORKSPACE, wid));
            }
            boolean running = s.status() == SandboxStatus.RUNNING;
            if (running && !sandboxes.forksRunning(w.sandboxId())) {
                throw new DavitException(Kind.USAGE, Message.of("workspace " + wid + " has no disk of its own"
                        + " (rootless, or made with ", dev.davit.oci.Input.DISK, " 0), so it is forked only while it"
                        + " is stopped; stop it first (", Action.STOP_WORKSPACE.fix(wid), ")")
                        .about(Subject.Type.WORKSPACE, wid));
            }
            List<Workspace> made = new ArrayList<>();
            try {
                for (int i = 0; i < n; i++) {
                    made.add(forkOne(w, given.isEmpty() ? null : given.get(i), running, admit));
                }
            } catch (RuntimeException e) {
                boolean interrupted = Thread.interrupted(); // a cancelled call still undoes what it made
                try {
                    for (Workspace f : made) { // all or none
                        remove(f);
                    }
                } finally {
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                }
                throw e;
            }
            return made;
        });
    }

    private Workspace forkOne(Workspace w, String name, boolean start, java.util.function.IntConsumer admit) {
        String id = "ws-" + dev.davit.oci.internal.RandomHex.of(6);
        Claims.Claim claim = claims.holding(() -> {
            List<Claims.Pending> pending = claims.pending();
            if (name != null) {
                checkNameFree(name, null, pending);
            }
            if (admit != null) {
                admit.accept(list().size() + pending.size());
            }
            return claims.claim(id, name);
        });
        Path tmp = claims.tmpDir(id);
        Path from = stateDir.resolve(w.id());
        Sandbox s = null;
        try {
            Files.createDirectories(tmp);
            Files.setPosixFilePermissions(tmp, Tree.perms(0700));
            for (String part : LINKED) {
                if (Files.exists(from.resolve(part), LinkOption.NOFOLLOW_LINKS)) {
                    Host.copyTree(sandboxes.options(), from.resolve(part), tmp.resolve(part), true);
                }
            }
            for (String part : COPIED) {
                if (Files.exists(from.resolve(part), LinkOption.NOFOLLOW_LINKS)) {
                    Host.copyTree(sandboxes.options(), from.resolve(part), tmp.resolve(part), false);
                }
            }
            s = sandboxes.fork(w.sandboxId(), w.ttl());
            Workspace f = new Workspace(id, name, s.id(), Instant.now(), w.ttl(), w.seed(), w.baselineFiles(),
                    w.baselineBytes(), w.labels(), w.secrets(), owner);
            if (start) {
                sandboxes.start(s.id());
                secrets(w).materialise(sandboxes, s.id(), id, tmp);
            }
            Fs.writeAtomically(tmp.resolve(STATE_FILE), Json.bytes(WorkspaceJson.workspace(f)), tmp);
            claims.holding(() -> {
                try {
                    claim.commit(stateDir.resolve(id));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                return null;
            });
            return f;
        } catch (IOException | RuntimeException e) {
            boolean interrupted = Thread.interrupted(); // a cancelled call still removes what it made
            try {
                if (s != null) {
                    try {
                        sandboxes.rm(s.id());
                    } catch (RuntimeException ignored) {
                        // the original error matters more; the sandbox keeps its ttl
                    }
                }
                claim.close();
                delete(tmp);
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            if (e instanceof DavitException d) {
                throw d;
            }
            throw new DavitException(Kind.STORE, "cannot fork workspace " + w.id() + " in " + stateDir + ": "
                    + (e instanceof java.io.UncheckedIOException u ? u.getCause().getMessage() : e.getMessage()));
        }
    }

    /**
     * Removes fork {@code f} made by this call (a later one failed); when its sandbox cannot be removed, the fork is
     * kept (listed, counted, removable), never a sandbox without its workspace.
     */
    private void remove(Workspace f) {
        try {
            sandboxes.rm(f.sandboxId());
        } catch (DavitException e) {
            if (e.kind() != Kind.NOT_FOUND) {
                return;
            }
        } catch (RuntimeException e) {
            return;
        }
        delete(stateDir.resolve(f.id()));
    }
}
