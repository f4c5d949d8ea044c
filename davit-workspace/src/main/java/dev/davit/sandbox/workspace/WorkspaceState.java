package dev.davit.sandbox.workspace;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.workspace.Workspaces.Change;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Workspaces' state and claims: where a workspace's state is ({@code <stateDir>/<id>/}), how one is found by id or
 * name, listed, renamed and relabelled, locked for its start, stop, reset, snapshots and removal, and the ways every
 * other piece reaches it: its sandbox, its secrets, its tree ({@link WorkspaceArea}) and what a result may show of it.
 * The other pieces of {@link Workspaces} extend it to read workspaces the same way; {@link Claims} holds the names
 * and ids of creates under way. Its methods that {@link Workspaces} offers are documented there.
 */
class WorkspaceState {
    final Sandboxes sandboxes;
    final Path stateDir;
    final Claims claims;

    WorkspaceState(Sandboxes sandboxes, Path stateDir) {
        this.sandboxes = sandboxes;
        this.stateDir = stateDir;
        this.claims = new Claims(stateDir);
    }

    /** A piece of the same workspaces as {@code state}. */
    WorkspaceState(WorkspaceState state) {
        this.sandboxes = state.sandboxes;
        this.stateDir = state.stateDir;
        this.claims = state.claims;
    }

    static final String STATE_FILE = "workspace.json";

    static final String SNAPSHOTS = "snapshots";

    /**
     * Refuses {@code name} when a workspace other than {@code self} has it or a create in progress claims it.
     * Holding the lock of {@link Claims}.
     */
    void checkNameFree(String name, String self, List<Claims.Pending> pending) {
        for (Workspace w : list()) {
            if (name.equals(w.name()) && !w.id().equals(self)) {
                throw new DavitException(Kind.USAGE, "the name " + name + " is taken by workspace " + w.id()
                        + "; give another name, or delete " + w.id() + " first");
            }
        }
        for (Claims.Pending p : pending) {
            if (name.equals(p.name())) {
                throw new DavitException(Kind.USAGE, "the name " + name + " is taken by workspace " + p.id()
                        + ", being created; give another name, or delete " + p.id() + " once it exists");
            }
        }
    }

    /**
     * The claim of new workspace {@code id} named {@code name} (null: none), made holding the lock of the set of
     * workspaces: its name checked free, {@code admit} (null: none) told how many exist or are being created.
     */
    Claims.Claim admittedClaim(String id, String name, java.util.function.IntConsumer admit) {
        return claims.holding(() -> {
            List<Claims.Pending> pending = claims.pending();
            if (name != null) {
                checkNameFree(name, null, pending);
            }
            if (admit != null) {
                admit.accept(list().size() + pending.size());
            }
            return claims.claim(id, name);
        });
    }

    /** Renames {@code claim}'s temp directory to workspace {@code id}'s, holding the lock: it exists from then on. */
    void commitClaim(Claims.Claim claim, String id) {
        claims.holding(() -> {
            try {
                claim.commit(stateDir.resolve(id));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return null;
        });
    }

    Workspace update(String id, Change change) {
        return locked(id, wid -> claims.holding(() -> {
            Workspace w = get(wid);
            if (change.name() != null && !change.name().equals(w.name())) {
                checkNameFree(change.name(), wid, claims.pending());
            }
            Map<String, String> labels = new java.util.TreeMap<>(w.labels());
            change.removeLabels().forEach(labels::remove);
            labels.putAll(change.labels());
            Workspace now = w.with(change.noName() ? null : change.name() != null ? change.name() : w.name(),
                    WorkspaceLabels.check(labels), change.noTtl() ? null : change.ttl() != null ? change.ttl()
                            : w.ttl());
            Path dir = stateDir.resolve(wid);
            try {
                Fs.writeAtomically(dir.resolve(STATE_FILE), Json.bytes(StateJson.workspace(now)), dir);
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot update workspace " + wid + ": " + e.getMessage());
            }
            return now;
        }));
    }

    Workspace get(String ref) {
        return get(ref, w -> true);
    }

    Workspace get(String ref, java.util.function.Predicate<Workspace> visible) {
        if (ref.startsWith("ws-") && !ref.contains("/")) {
            Path f = stateDir.resolve(ref).resolve(STATE_FILE);
            if (Files.isRegularFile(f)) {
                Workspace w;
                try {
                    w = StateJson.workspace(Json.read(Files.readAllBytes(f)));
                } catch (IOException e) {
                    throw new DavitException(Kind.STORE, "cannot read " + f + ": " + e.getMessage());
                }
                if (visible.test(w)) {
                    return w;
                }
            }
        }
        List<Workspace> named = list().stream().filter(w -> ref.equals(w.name()) && visible.test(w)).toList();
        if (named.size() > 1) {
            throw new DavitException(Kind.USAGE, "several workspaces are named " + dev.davit.oci.internal.Text.shorten(ref, 70)
                    + " (" + String.join(", ", named.stream().map(Workspace::id).toList()) + "); give an id, or"
                    + " rename all but one");
        }
        if (named.isEmpty()) {
            throw new DavitException(Kind.NOT_FOUND, Message.of("no workspace "
                    + dev.davit.oci.internal.Text.shorten(ref, 70) + "; see ", Action.LIST_WORKSPACES.fix())
                    .about(Subject.Type.WORKSPACE, ref));
        }
        return named.get(0);
    }

    List<Workspace> list() {
        if (!Files.isDirectory(stateDir)) {
            return List.of();
        }
        List<Workspace> out = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(stateDir)) {
            for (Path d : dirs.filter(d -> !d.getFileName().toString().startsWith(".")).toList()) {
                if (Files.isRegularFile(d.resolve(STATE_FILE))) {
                    out.add(get(d.getFileName().toString()));
                }
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot list " + stateDir + ": " + e.getMessage());
        }
        out.sort(java.util.Comparator.comparing(Workspace::createdAt));
        return out;
    }

    Sandbox sandbox(String id) {
        return sandboxes.status(get(id).sandboxId());
    }

    /** The secrets of workspace {@code w} (their values, from its state). */
    Secrets secrets(Workspace w) {
        return w.secrets().isEmpty() ? Secrets.NONE : Secrets.load(stateDir.resolve(w.id()));
    }

    /** How workspace {@code w}'s processes use its secrets: put into the sandbox when missing, redacted. */
    SecretUse secretUse(Workspace w) {
        Secrets secrets = secrets(w);
        return new SecretUse(secrets, secrets.redactor(), () -> {
            if (!secrets.isEmpty() && !secrets.present(sandboxes, w.sandboxId())) {
                // e.g. a sandbox started by 'sandbox start'
                secrets.materialise(sandboxes, w.sandboxId(), w.id(), stateDir.resolve(w.id()));
            }
        }, w.id());
    }

    /**
     * Runs {@code action} holding workspace {@code id}'s lock ({@code <state>/workspace.lock}, across processes and
     * threads: {@link dev.davit.sandbox.backend.FileLocks}): its start, stop, reset, snapshots and removal act one after the
     * other, so two MCP calls or two davits never interleave a reset's stop, swap and start with another's. An
     * unknown id is NOT_FOUND, also when it was removed while the caller waited. {@code id} may be a name:
     * {@code action} is given the id it named when the call began (a rename meanwhile changes nothing).
     */
    <T> T locked(String id, java.util.function.Function<String, T> action) {
        String wid = get(id).id();
        Path d = stateDir.resolve(wid);
        try {
            return dev.davit.sandbox.backend.FileLocks.holding(d.resolve(LOCK_FILE), () -> {
                get(wid); // not removed meanwhile
                return action.apply(wid);
            });
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DavitException(Kind.NOT_FOUND, Message.of("no workspace " + id + "; see ",
                    Action.LIST_WORKSPACES.fix()).about(Subject.Type.WORKSPACE, id));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot lock " + d.resolve(LOCK_FILE) + ": " + e.getMessage());
        }
    }

    /** In a workspace's state directory: the lock of its start, stop, reset, snapshots and removal. */
    static final String LOCK_FILE = "workspace.lock";

    /**
     * How errors name workspace {@code w}, asked for as {@code id}: by its name when it has one (what a caller, a
     * model, gave it), else as asked.
     */
    static String said(Workspace w, String id) {
        return w.name() != null ? w.name() : id;
    }

    Services services(String id) {
        Workspace w = get(id);
        return new Services(sandboxes, stateDir.resolve(w.id()), said(w, id), w.sandboxId(), secretUse(w));
    }

    Shells shells(String id) {
        Workspace w = get(id);
        return new Shells(sandboxes, stateDir.resolve(w.id()), said(w, id), w.sandboxId(), secretUse(w));
    }

    DetachedExecs detached(String id) {
        Workspace w = get(id);
        return new DetachedExecs(sandboxes, stateDir.resolve(w.id()), said(w, id), w.sandboxId(), secretUse(w));
    }

    /**
     * Stops the workspace's services and detached execs (recorded as killed by {@code why}: {@code stop},
     * {@code reset}) and closes its shells (before its sandbox stops, is reset or removed).
     */
    void endProcesses(String id, String why) {
        String sbx = get(id).sandboxId();
        if (sandboxes.paused(sbx)) { // they end now: a frozen container's thaw first, a paused microVM's memory goes
            if (sandboxes.status(sbx).status() == dev.davit.sandbox.SandboxStatus.RUNNING) {
                sandboxes.resume(sbx);
            } else {
                sandboxes.stop(sbx);
            }
        }
        services(id).stopAll();
        detached(id).killAll(why);
        shells(id).closeAll();
    }

    Path snapshotTree(String id, String name) {
        checkSnapshotName(name);
        Path tree = stateDir.resolve(get(id).id()).resolve(SNAPSHOTS).resolve(name).resolve("tree");
        if (!Files.isDirectory(tree, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.NOT_FOUND, Message.of("workspace " + id + " has no snapshot " + name
                    + "; see ", Action.LIST_SNAPSHOTS.fix(id)).about(Subject.Type.SNAPSHOT, name));
        }
        return tree;
    }

    static void checkSnapshotName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")) {
            throw new DavitException(Kind.USAGE, "bad snapshot name '" + name + "'; use up to 64 letters, digits,"
                    + " '.', '_' or '-', not starting with '.'");
        }
    }

    /**
     * What a result may show of workspace {@code id}: {@code action}'s result (which it redacts with the redactor it
     * is given), its errors with every secret value redacted (a message may quote a name or an answer of the
     * sandbox's). The one way file results leave: every secret value as {@code [REDACTED:NAME]}.
     */
    <T> T shown(String id, java.util.function.BiFunction<Workspace, Redactor, T> action) {
        Workspace w = get(id);
        Redactor r = secrets(w).redactor();
        try {
            return action.apply(w, r);
        } catch (DavitException e) {
            throw SecretUse.redacted(e, r);
        }
    }

    DiskReader disk(String id) {
        Workspace w = get(id);
        return new DiskReader(sandboxes, w, stateDir.resolve(w.id()));
    }

    /**
     * Where workspace {@code w}'s tree lives: every access to it goes through here. A container sandbox's tree is
     * on the host ({@link ContainerArea}).
     */
    WorkspaceArea area(Workspace w) {
        return area(w, stateDir.resolve(w.id()));
    }

    /** Where workspace {@code w}'s tree lives; {@code scratch}: a directory of its state for temp files. */
    WorkspaceArea area(Workspace w, Path scratch) {
        Sandbox s = sandboxes.status(w.sandboxId());
        return s.spec().filesInGuest() ? new VmArea(sandboxes, w.sandboxId(), scratch)
                : new ContainerArea(sandboxes, w.sandboxId(), scratch);
    }

    static void delete(Path p) {
        try {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Fs.deleteTree(p);
            }
        } catch (IOException ignored) {
            // best effort: a leftover temp directory is skipped by list()
        }
    }
}
