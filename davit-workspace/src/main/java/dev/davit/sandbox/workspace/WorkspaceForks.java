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
import dev.davit.sandbox.host.Host;
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
 * {@link dev.davit.sandbox.engine.Sandboxes#fork}) and of its state here (baseline and snapshots as hard links: those trees
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
        if (count < 0 || n > MAX) {
            throw new DavitException(Kind.USAGE, Message.of("a fork makes 1 to " + MAX + " workspaces at once, not "
                    + (count < 0 ? count : n) + " (", dev.davit.oci.Input.FORK_COUNT, ")"));
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
            return forkAll(w, given, n, running, admit);
        });
    }

    /** One fork in the making: its id, name, claim and temp directory; then its sandbox. */
    private static final class Pending {
        final String id;
        final String name;
        final Claims.Claim claim;
        final Path tmp;
        Sandbox sandbox;
        volatile boolean committed;

        Pending(String id, String name, Claims.Claim claim, Path tmp) {
            this.id = id;
            this.name = name;
            this.claim = claim;
            this.tmp = tmp;
        }
    }

    /**
     * The forks of {@code w}: each claimed (its name and room checked) and given {@code w}'s state here, one after the
     * other; their sandboxes copied at once ({@link dev.davit.sandbox.engine.Sandboxes#fork(String, java.time.Duration,
     * int)}: {@code w}'s held still once); then each started (when {@code w} runs), recorded and committed, in
     * parallel. A failure anywhere removes them all.
     */
    private List<Workspace> forkAll(Workspace w, List<String> names, int n, boolean start,
                                    java.util.function.IntConsumer admit) {
        List<Pending> forks = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                Pending f = claim(names.isEmpty() ? null : names.get(i), admit);
                forks.add(f);
                copyState(w, f.tmp);
            }
            List<Sandbox> copies = sandboxes.fork(w.sandboxId(), w.ttl(), n);
            for (int i = 0; i < n; i++) { // all known first: a failure below undoes every one of them
                forks.get(i).sandbox = copies.get(i);
            }
            for (int i = 0; i < n; i++) {
                Claims.recordSandbox(forks.get(i).tmp, copies.get(i).id(), owner); // a reap's, should this davit die
            }
            List<java.util.concurrent.Future<Workspace>> done = new ArrayList<>();
            try (java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors
                    .newVirtualThreadPerTaskExecutor()) {
                for (Pending f : forks) {
                    done.add(pool.submit(() -> finish(w, f, start)));
                }
            }
            List<Workspace> made = new ArrayList<>();
            for (java.util.concurrent.Future<Workspace> f : done) {
                made.add(f.get());
            }
            return made;
        } catch (java.util.concurrent.ExecutionException | InterruptedException | IOException | RuntimeException e) {
            boolean interrupted = e instanceof InterruptedException | Thread.interrupted(); // undone all the same
            try {
                for (Pending f : forks) { // all or none
                    undo(w, f);
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            Throwable c = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
            if (c instanceof RuntimeException r && !(r instanceof java.io.UncheckedIOException)) {
                throw r;
            }
            if (e instanceof InterruptedException) {
                throw new DavitException(Kind.CANCELLED, "interrupted while workspace " + w.id() + " was forked");
            }
            throw new DavitException(Kind.STORE, "cannot fork workspace " + w.id() + " in " + stateDir + ": "
                    + (c instanceof java.io.UncheckedIOException u ? u.getCause().getMessage() : c.getMessage()));
        }
    }

    /** A new fork's claim (its name free, {@code admit} asked) and temp directory (0700). */
    private Pending claim(String name, java.util.function.IntConsumer admit) throws IOException {
        String id = "ws-" + dev.davit.oci.internal.RandomHex.of(6);
        Claims.Claim claim = admittedClaim(id, name, admit);
        Pending f = new Pending(id, name, claim, claims.tmpDir(id));
        try {
            Files.createDirectories(f.tmp);
            Files.setPosixFilePermissions(f.tmp, Tree.perms(0700));
        } catch (IOException e) {
            claim.close();
            throw e;
        }
        return f;
    }

    /** {@code w}'s state here into {@code tmp}: baseline and snapshots linked, the rest copied. */
    private void copyState(Workspace w, Path tmp) {
        Path from = stateDir.resolve(w.id());
        for (String part : LINKED) {
            if (Files.exists(from.resolve(part), LinkOption.NOFOLLOW_LINKS)) {
                Host.copyTree(sandboxes.options().searchPath(), from.resolve(part), tmp.resolve(part), true);
            }
        }
        for (String part : COPIED) {
            if (Files.exists(from.resolve(part), LinkOption.NOFOLLOW_LINKS)) {
                Host.copyTree(sandboxes.options().searchPath(), from.resolve(part), tmp.resolve(part), false);
            }
        }
    }

    /** Starts fork {@code f} when {@code start}, records it and commits its claim: it exists from then on. */
    private Workspace finish(Workspace w, Pending f, boolean start) throws IOException {
        if (start) {
            sandboxes.start(f.sandbox.id());
            secrets(w).materialise(sandboxes, f.sandbox.id(), f.id, f.tmp);
        }
        Workspace made = record(w, f);
        commit(f);
        return made;
    }

    /** Fork {@code f} of {@code w} as its state file records it, written. */
    private Workspace record(Workspace w, Pending f) throws IOException {
        Workspace made = new Workspace(f.id, f.name, f.sandbox.id(), Instant.now(), w.ttl(), w.seed(),
                w.baselineFiles(), w.baselineBytes(), w.labels(), w.secrets(), owner);
        Fs.writeAtomically(f.tmp.resolve(STATE_FILE), Json.bytes(StateJson.workspace(made)), f.tmp);
        return made;
    }

    private void commit(Pending f) {
        commitClaim(f.claim, f.id);
        f.committed = true;
    }

    /**
     * Removes what fork {@code f} has so far; when its sandbox cannot be removed, the fork is kept, recorded as far as
     * it got (listed, counted, removable), never a sandbox without its workspace.
     */
    private void undo(Workspace w, Pending f) {
        if (f.sandbox != null) {
            try {
                sandboxes.rm(f.sandbox.id());
            } catch (RuntimeException e) {
                if (!(e instanceof DavitException d) || d.kind() != Kind.NOT_FOUND) {
                    if (!f.committed) {
                        try {
                            record(w, f);
                            commit(f);
                        } catch (IOException | RuntimeException ignored) {
                            // its sandbox keeps its ttl
                        }
                    }
                    return;
                }
            }
        }
        if (f.committed) {
            delete(stateDir.resolve(f.id));
        } else {
            f.claim.close();
            delete(f.tmp);
        }
    }
}
