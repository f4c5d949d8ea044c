package dev.davit.sandbox.workspace;

import static dev.davit.sandbox.workspace.Workspaces.MOUNT;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.internal.Json;
import dev.davit.oci.unpack.TarExtractor;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.workspace.Workspaces.Reaped;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A workspace's life: create (seed, baseline, a sandbox of its own or a spare's, secrets, the claim made good),
 * start, stop, remove, and reap those whose ttl passed or whose sandbox is gone. Behind {@link Workspaces}, whose
 * methods of the same names document them.
 */
class WorkspaceLife extends WorkspaceState {
    private final WarmPool spares;
    /** The owner {@link #create} records; null: the operator. */
    private final String owner;

    WorkspaceLife(WorkspaceState state, WarmPool spares, String owner) {
        super(state);
        this.spares = spares;
        this.owner = owner;
    }

    private static final String DIR = "workspace";

    Workspace create(CreateSpec spec, String name, Path seed, String seedShown, Map<String, String> labels,
                     Secrets secrets,
                     java.util.function.IntConsumer admit) {
        return create(spec, name, seed, seedShown, null, labels, secrets, admit);
    }

    /**
     * {@link #create(CreateSpec, String, Path, String, Map, Secrets, java.util.function.IntConsumer)} whose
     * /workspace starts as host tree {@code tree} (davit's own) instead of the baseline {@code seed} makes (null: the
     * baseline), as a workspace from a snapshot does; with a {@code tree}, a directory {@code seed} is davit's own too
     * (under the workspaces' state, on their file system): it is moved into place as the baseline, not copied.
     */
    Workspace create(CreateSpec spec, String name, Path seed, String seedShown, Path tree, Map<String, String> labels,
                     Secrets secrets, java.util.function.IntConsumer admit) {
        // a backend this davit lacks is refused before a claim, a seed or a directory
        dev.davit.sandbox.backend.Machinery.of(sandboxes).lifecycle().backend(spec.backend());
        if (name != null) {
            WorkspaceLabels.checkName(name);
        }
        Map<String, String> checked = WorkspaceLabels.check(labels);
        secrets.checkInjectable(spec.network());
        secrets.refuseInVariables(spec.env());
        // an environment with a /workspace of its own (an image committed from a workspace): it is the seed when none
        // is given, and the workspace's /workspace hides it either way (an opaque directory of the sandbox's layer)
        boolean imageWorkspace = !spec.filesInGuest() && Files.isDirectory(spec.rootfs().resolve(DIR),
                LinkOption.NOFOLLOW_LINKS);
        if (!spec.filesInGuest() && !imageWorkspace && Files.exists(spec.rootfs().resolve(DIR), LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.USAGE, "the environment's " + MOUNT + " is not a directory; workspaces need"
                    + " an environment without it, or with a directory there");
        }
        if (imageWorkspace && seed == null) {
            seed = spec.rootfs().resolve(DIR);
            seedShown = seedShown != null ? seedShown : "the image's " + MOUNT;
        }
        if (seed != null && !Files.exists(seed)) {
            throw new DavitException(Kind.USAGE, "no seed " + seed + "; give a directory or a .tar, .tar.gz or"
                    + " .tar.zst file");
        }
        if (spec.isVm() && !spec.publish().isEmpty()) { // as the microVM's start would, before anything is made
            throw new DavitException(Kind.USAGE, Message.of(Input.PUBLISH, " is not available for microVM workspaces"
                    + " yet; use the container backend to serve to the host"));
        }
        String id = "ws-" + dev.davit.oci.internal.RandomHex.of(6);
        Claims.Claim claim = admittedClaim(id, name, admit);
        Path tmp = claims.tmpDir(id);
        Sandbox s = null;
        try {
            Path baseline = tmp.resolve("baseline");
            Files.createDirectories(baseline);
            if (!spec.filesInGuest()) {
                // its baseline, snapshots and exports' counts out of other users' reach: what the sandbox made
                // (a setuid file, a world-writable directory) is never theirs to use
                Files.setPosixFilePermissions(tmp, Tree.perms(0700));
            }
            if (tree != null && seed != null && Files.isDirectory(seed, LinkOption.NOFOLLOW_LINKS)) {
                // davit's own tree (a snapshot's baseline, just extracted beside): moved into place, not copied
                Files.delete(baseline);
                Files.move(seed, baseline, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } else {
                seed(seed, baseline);
            }
            Files.setPosixFilePermissions(baseline, Tree.perms(0755));
            Map<String, Tree.Entry> entries = Tree.walk(baseline);
            long bytes = entries.values().stream().mapToLong(Tree.Entry::size).sum();
            s = spare(spec);
            Claims.recordSandbox(tmp, s.id(), owner); // a create killed from here on leaves its sandbox to a reap
            secrets.save(tmp);
            Workspace w = new Workspace(id, name, s.id(), Instant.now(), spec.ttl(),
                    seed == null ? null : seedShown != null ? seedShown : seed.toAbsolutePath().toString(),
                    entries.size(), bytes, checked,
                    secrets.metadata(), owner);
            WorkspaceArea area = area(w, tmp);
            // a new container's layer is seeded before its first start, a spare's /workspace through the root of
            // the running sandbox (nothing has run in it but its keeper); a microVM's disk through the agent of its
            // started VM
            area.seed(tree != null ? tree : baseline);
            if (sandboxes.status(s.id()).status() != SandboxStatus.RUNNING) {
                sandboxes.start(s.id());
            }
            secrets.materialise(sandboxes, s.id(), id, tmp);
            if (!spec.filesInGuest()) {
                try (WorkspaceArea.View v = area.view()) {
                    v.open().close();
                } catch (DavitException e) {
                    throw new DavitException(Kind.USAGE, Message.of("no overlay could be mounted here, so sandboxes"
                            + " have a read-only root and workspaces cannot be written; see ", Action.DOCTOR.fix(),
                            " (container entries; ", e.message(), ")"));
                }
            }
            Fs.writeAtomically(tmp.resolve(STATE_FILE), Json.bytes(StateJson.workspace(w)), tmp);
            commitClaim(claim, id);
            return w;
        } catch (IOException | RuntimeException e) {
            claim.close();
            boolean removed = true;
            if (s != null) {
                try {
                    sandboxes.rm(s.id());
                } catch (RuntimeException ignored) {
                    // the original error matters more; the claim's record of the sandbox stays for a reap (a pod
                    // on a cluster that went away meanwhile, say)
                    removed = !Files.exists(tmp.resolve(Claims.SANDBOX), LinkOption.NOFOLLOW_LINKS);
                }
            }
            if (removed) {
                delete(tmp);
            }
            if (e instanceof DavitException d) {
                throw d;
            }
            throw new DavitException(Kind.STORE, "cannot create the workspace in " + stateDir + ": "
                    + (e instanceof java.io.UncheckedIOException u ? u.getCause().getMessage() : e.getMessage()));
        }
    }

    /**
     * The sandbox of a new workspace of {@code spec}: a spare of the pool's, with the workspace's ttl, else a new
     * one (created, not started).
     */
    private Sandbox spare(CreateSpec spec) {
        // a started spare's /workspace could not hide the image's own
        boolean imageWorkspace = !spec.filesInGuest() && Files.exists(spec.rootfs().resolve(DIR), LinkOption.NOFOLLOW_LINKS);
        String spare = spares == null || imageWorkspace ? null : spares.take(spec);
        if (spare != null) {
            try {
                if (!spec.env().isEmpty()) {
                    sandboxes.env(spare, spec.env(), null);
                }
                return sandboxes.expireAfter(spare, spec.ttl());
            } catch (RuntimeException e) { // e.g. reaped meanwhile: made anew
                try {
                    sandboxes.rm(spare);
                } catch (RuntimeException ignored) {
                    // gone already; else its ttl lets a reap remove it
                }
            }
        }
        return sandboxes.create(spec);
    }

    private static void seed(Path seed, Path baseline) throws IOException {
        if (seed == null) {
            return;
        }
        if (Files.isDirectory(seed)) {
            Tree.copy(seed, baseline);
            return;
        }
        String n = seed.getFileName().toString();
        if (!(n.endsWith(".tar") || n.endsWith(".tar.gz") || n.endsWith(".tgz") || n.endsWith(".tar.zst"))) {
            throw new DavitException(Kind.USAGE, "cannot seed from " + seed + "; give a directory or a .tar, .tar.gz"
                    + " or .tar.zst file");
        }
        TarExtractor.extract(seed, baseline);
    }

    Sandbox start(String id) {
        return locked(id, wid -> {
            Workspace w = get(wid);
            // a paused one resumes: its processes go on (a microVM's start brings back its saved memory)
            Sandbox s = sandboxes.paused(w.sandboxId()) ? sandboxes.resume(w.sandboxId())
                    : sandboxes.start(w.sandboxId());
            secrets(w).materialise(sandboxes, w.sandboxId(), wid, stateDir.resolve(wid));
            return s;
        });
    }

    Sandbox stop(String id) {
        return locked(id, wid -> {
            try {
                endProcesses(wid, "stop");
            } catch (DavitException e) {
                if (e.kind() == Kind.CANCELLED) {
                    throw e;
                }
                // its processes could not be asked to end (a sandbox an older davit started, an agent that does not
                // answer): the sandbox's stop ends them, and a stop that refused here would leave no way to stop it
            }
            return sandboxes.stop(get(wid).sandboxId());
        });
    }

    void rm(String id) {
        locked(id, wid -> {
            rmLocked(wid);
            return null;
        });
    }

    private void rmLocked(String id) {
        Workspace w = get(id);
        try {
            endProcesses(id, "delete");
        } catch (DavitException e) {
            // the sandbox's removal below ends them anyway
        }
        try {
            sandboxes.rm(w.sandboxId());
        } catch (DavitException e) {
            if (e.kind() != Kind.NOT_FOUND) {
                throw e;
            }
        }
        Path gone = stateDir.resolve("." + w.id() + ".rm");
        try {
            // a push's read-only mount of a whole snapshot's saved disk that a killed davit left
            Path snaps = stateDir.resolve(w.id()).resolve(SNAPSHOTS);
            if (Files.isDirectory(snaps, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                try (java.util.stream.Stream<Path> all = Files.list(snaps)) {
                    all.forEach(d -> dev.davit.sandbox.jail.Disk.release(sandboxes.options(),
                            d.resolve(WorkspaceSnapshots.STATE)));
                }
            }
            Files.move(stateDir.resolve(w.id()), gone, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot remove workspace " + w.id() + ": " + e.getMessage());
        }
        delete(gone);
    }

    List<Reaped> reap(java.util.function.Predicate<Workspace> which) {
        Instant now = Instant.now();
        List<Reaped> out = new ArrayList<>();
        // the sandboxes of creates whose davit died (killed half-way): no workspace has them, nothing else removes
        // them before their ttl (a k8s pod, a microVM run on meanwhile)
        for (Claims.Pending p : claims.reapStale(which, id -> {
            try {
                sandboxes.rm(id);
            } catch (DavitException e) {
                if (e.kind() != Kind.NOT_FOUND) {
                    throw e;
                }
            }
        })) {
            out.add(new Reaped(p.id(), p.name(), p.sandbox(), "create interrupted"));
        }
        for (Workspace w : list()) {
            if (!which.test(w)) {
                continue;
            }
            String reason = null;
            if (w.ttl() != null && now.isAfter(w.createdAt().plus(w.ttl()))) {
                reason = "expired";
            } else {
                try {
                    sandboxes.status(w.sandboxId());
                } catch (DavitException e) {
                    if (e.kind() != Kind.NOT_FOUND) {
                        throw e;
                    }
                    reason = "sandbox gone";
                }
            }
            if (reason != null) {
                try {
                    rm(w.id());
                } catch (DavitException e) {
                    if (e.kind() != Kind.NOT_FOUND) {
                        throw e;
                    }
                    continue; // another davit removed it first
                }
                out.add(new Reaped(w.id(), w.name(), w.sandboxId(), reason));
            }
        }
        return out;
    }

    java.util.Set<String> sandboxIds() {
        java.util.Set<String> ids = new java.util.HashSet<>();
        list().forEach(w -> ids.add(w.sandboxId()));
        return ids;
    }
}
