package dev.davit.sandbox.workspace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Json;
import dev.davit.oci.store.Fs;
import dev.davit.oci.unpack.TarExtractor;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.Sandboxes;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Workspaces: long-lived sandboxes with a {@code /workspace} directory seeded from the host, recorded as a baseline,
 * worked in through execs and file operations, and compared with the baseline. A layer above {@link Sandboxes}
 * that uses only its API. State: {@code <stateDir>/<id>/workspace.json} and {@code baseline/} (a copy of the seed).
 * Container backend only for now. See docs/WORKSPACES.md.
 */
public final class Workspaces {
    /** Where the workspace is in the sandbox. */
    public static final String MOUNT = "/workspace";
    static final String STATE_FILE = "workspace.json";
    private static final String DIR = "workspace";
    private static final String SNAPSHOTS = "snapshots";
    private static final String SNAPSHOT_FILE = "snapshot.json";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Sandboxes sandboxes;
    private final Path stateDir;

    public Workspaces(Sandboxes sandboxes, Path stateDir) {
        this.sandboxes = sandboxes;
        this.stateDir = stateDir;
    }

    /** The workspaces of the davit home {@code davitHome} (state in {@code workspaces/}). */
    public static Workspaces under(Path davitHome) {
        return new Workspaces(new Sandboxes(SandboxOptions.under(davitHome)), davitHome.resolve("workspaces"));
    }

    public Sandboxes sandboxes() {
        return sandboxes;
    }

    /**
     * Creates and starts a sandbox of {@code spec}, with /workspace seeded from {@code seed} (a directory or a
     * {@code .tar}, {@code .tar.gz}, {@code .tar.zst}; null: empty), and records the baseline. On any failure nothing
     * is left behind.
     */
    public Workspace create(CreateSpec spec, String name, Path seed) {
        if (spec.isVm()) {
            throw new DavitException(Kind.USAGE, "workspaces on the vm backend are not there yet; use"
                    + " --backend container");
        }
        if (Files.exists(spec.rootfs().resolve(DIR), LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.USAGE, "the environment already has " + MOUNT + "; workspaces need an"
                    + " environment without it");
        }
        if (seed != null && !Files.exists(seed)) {
            throw new DavitException(Kind.USAGE, "no seed " + seed + "; give a directory or a .tar, .tar.gz or"
                    + " .tar.zst file");
        }
        String id = "ws-" + HexFormat.of().formatHex(RANDOM.generateSeed(6));
        Path tmp = stateDir.resolve("." + id + ".tmp");
        Sandbox s = null;
        try {
            Path baseline = tmp.resolve("baseline");
            Files.createDirectories(baseline);
            seed(seed, baseline);
            Files.setPosixFilePermissions(baseline, Tree.perms(0755));
            Map<String, Tree.Entry> entries = Tree.walk(baseline);
            long bytes = entries.values().stream().mapToLong(Tree.Entry::size).sum();
            s = sandboxes.create(spec);
            // seeded into the sandbox's own layer before its first start: no change under a mounted overlay
            Path ws = sandboxes.filesOnHost(s.id()).resolve(DIR);
            Files.createDirectory(ws);
            Tree.copy(baseline, ws);
            sandboxes.start(s.id());
            if (!Files.isDirectory(sandboxes.filesOnHost(s.id()).resolve(DIR), LinkOption.NOFOLLOW_LINKS)) {
                throw new DavitException(Kind.USAGE, "no overlay could be mounted here, so sandboxes have a read-only"
                        + " root and workspaces cannot be written; see 'davit doctor' (container entries)");
            }
            Workspace w = new Workspace(id, name, s.id(), Instant.now(), spec.ttl(),
                    seed == null ? null : seed.toAbsolutePath().toString(), entries.size(), bytes);
            Fs.writeAtomically(tmp.resolve(STATE_FILE), Json.bytes(w.toJson()), tmp);
            Files.move(tmp, stateDir.resolve(id), StandardCopyOption.ATOMIC_MOVE);
            Fs.fsyncDir(stateDir);
            return w;
        } catch (IOException | RuntimeException e) {
            if (s != null) {
                try {
                    sandboxes.rm(s.id());
                } catch (RuntimeException ignored) {
                    // the original error matters more
                }
            }
            delete(tmp);
            if (e instanceof DavitException d) {
                throw d;
            }
            throw new DavitException(Kind.STORE, "cannot create the workspace in " + stateDir + ": "
                    + e.getMessage());
        }
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

    /** The workspace {@code id} (or of that name). */
    public Workspace get(String id) {
        Path f = stateDir.resolve(id).resolve(STATE_FILE);
        if (!id.startsWith(".") && !id.contains("/") && Files.isRegularFile(f)) {
            try {
                return Workspace.fromJson(Json.read(Files.readAllBytes(f)));
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot read " + f + ": " + e.getMessage());
            }
        }
        return list().stream().filter(w -> id.equals(w.name())).findFirst()
                .orElseThrow(() -> new DavitException(Kind.NOT_FOUND, "no workspace " + id
                        + "; see 'davit workspace ls'"));
    }

    /** All workspaces, oldest first. */
    public List<Workspace> list() {
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

    /** The sandbox of workspace {@code id}, with its status. */
    public Sandbox sandbox(String id) {
        return sandboxes.status(get(id).sandboxId());
    }

    public Sandbox start(String id) {
        return sandboxes.start(get(id).sandboxId());
    }

    public Sandbox stop(String id) {
        endProcesses(id);
        return sandboxes.stop(get(id).sandboxId());
    }

    /** The services of workspace {@code id}. */
    public Services services(String id) {
        Workspace w = get(id);
        return new Services(sandboxes, stateDir.resolve(w.id()), id, w.sandboxId());
    }

    /** The shells of workspace {@code id}. */
    public Shells shells(String id) {
        Workspace w = get(id);
        return new Shells(sandboxes, stateDir.resolve(w.id()), id, w.sandboxId());
    }

    /** Stops the workspace's services and closes its shells (before its sandbox stops, is reset or removed). */
    private void endProcesses(String id) {
        services(id).stopAll();
        shells(id).closeAll();
    }

    /** Removes the workspace's sandbox (processes included) and its state. */
    public void rm(String id) {
        Workspace w = get(id);
        try {
            endProcesses(id);
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
            Files.move(stateDir.resolve(w.id()), gone, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot remove workspace " + w.id() + ": " + e.getMessage());
        }
        delete(gone);
    }

    /**
     * Runs {@code argv} in the workspace's sandbox; {@code cwd} null means /workspace, a relative one is under it.
     * See {@link Sandboxes#exec(String, List, Map, String, Duration, InputStream, OutputStream, OutputStream)}.
     */
    public ExecResult exec(String id, List<String> argv, Map<String, String> env, String cwd, Duration timeout,
                           InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        String wd = cwd == null ? MOUNT : cwd.startsWith("/") ? cwd : MOUNT + "/" + cwd;
        Workspace w = get(id);
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        ExecResult r = sandboxes.exec(w.sandboxId(), argv, env, wd, timeout, stdin, stdoutTee, stderrTee);
        ExecLog.append(stateDir.resolve(w.id()).resolve(ExecLog.FILE),
                ExecLog.entry(argv, wd, start, (System.nanoTime() - t0) / 1_000_000, r));
        return r;
    }

    /**
     * The exec history of workspace {@code id}, oldest first: per exec {@code command}, {@code cwd},
     * {@code started_at}, {@code duration_ms}, {@code exit_code}, {@code timed_out} and, for {@code stdout} and
     * {@code stderr}, {@code bytes}, {@code head} (the first 2 KiB) and {@code tail} (the last 2 KiB, or null).
     */
    public List<JsonNode> logs(String id) {
        return ExecLog.read(stateDir.resolve(get(id).id()).resolve(ExecLog.FILE));
    }

    /**
     * One snapshot of a workspace, in {@code <stateDir>/<id>/snapshots/<name>/} ({@code snapshot.json} and
     * {@code tree/}).
     *
     * @param files how many entries the tree holds, /workspace excluded
     * @param bytes the size of its regular files together
     */
    public record Snapshot(String name, Instant createdAt, long files, long bytes) {
        public ObjectNode toJson() {
            ObjectNode o = Json.object();
            o.put("name", name);
            o.put("created_at", createdAt.toString());
            o.put("files", files);
            o.put("bytes", bytes);
            return o;
        }
    }

    /**
     * Copies /workspace's current tree into snapshot {@code name} (letters, digits, {@code .}, {@code _}, {@code -};
     * not taken). Written into a temp directory and renamed into place: it exists whole or not at all.
     */
    public Snapshot snapshot(String id, String name) {
        checkSnapshotName(name);
        Path root = root(id);
        WorkspacePath.resolve(root, "");
        Path snaps = stateDir.resolve(get(id).id()).resolve(SNAPSHOTS);
        Path dest = snaps.resolve(name);
        if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.USAGE, "workspace " + id + " already has a snapshot " + name
                    + "; pick another name or remove it with 'davit workspace snapshot rm " + id + " " + name + "'");
        }
        Path tmp = snaps.resolve("." + name + ".tmp");
        try {
            delete(tmp);
            Path tree = tmp.resolve("tree");
            Files.createDirectories(tree);
            Tree.copy(root, tree);
            Map<String, Tree.Entry> entries = Tree.walk(tree);
            Snapshot snap = new Snapshot(name, Instant.now(), entries.size(),
                    entries.values().stream().mapToLong(Tree.Entry::size).sum());
            Fs.writeAtomically(tmp.resolve(SNAPSHOT_FILE), Json.bytes(snap.toJson()), tmp);
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE);
            Fs.fsyncDir(snaps);
            return snap;
        } catch (IOException | RuntimeException e) {
            delete(tmp);
            if (e instanceof DavitException d) {
                throw d;
            }
            throw new DavitException(Kind.STORE, "cannot snapshot workspace " + id + " into " + dest + ": "
                    + e.getMessage());
        }
    }

    /** The snapshots of workspace {@code id}, oldest first. */
    public List<Snapshot> snapshots(String id) {
        Path snaps = stateDir.resolve(get(id).id()).resolve(SNAPSHOTS);
        if (!Files.isDirectory(snaps)) {
            return List.of();
        }
        List<Snapshot> out = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(snaps)) {
            for (Path d : dirs.filter(d -> !d.getFileName().toString().startsWith(".")).toList()) {
                JsonNode o = Json.read(Files.readAllBytes(d.resolve(SNAPSHOT_FILE)));
                out.add(new Snapshot(o.path("name").asText(), Instant.parse(o.path("created_at").asText()),
                        o.path("files").asLong(), o.path("bytes").asLong()));
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot list " + snaps + ": " + e.getMessage());
        }
        out.sort(java.util.Comparator.comparing(Snapshot::createdAt));
        return out;
    }

    /** Removes snapshot {@code name} of workspace {@code id}. */
    public void removeSnapshot(String id, String name) {
        Path snaps = stateDir.resolve(get(id).id()).resolve(SNAPSHOTS);
        Path gone = snaps.resolve("." + name + ".rm");
        try {
            Files.move(snapshotTree(id, name).getParent(), gone, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot remove snapshot " + name + ": " + e.getMessage());
        }
        delete(gone);
    }

    /**
     * Restores /workspace to the baseline ({@code snapshot} null) or to snapshot {@code snapshot}, byte for byte
     * and mode for mode: stops the sandbox (nothing runs during the swap), builds the new tree in the workspace's
     * state directory, swaps it with the one in the sandbox's own layer by two renames, and starts the sandbox
     * again if it was running. A crash between the renames is undone by the next reset (the old tree is moved
     * back), so a crash leaves the old tree or the new one.
     */
    public Sandbox reset(String id, String snapshot) {
        Workspace w = get(id);
        Path source = snapshot == null ? stateDir.resolve(w.id()).resolve("baseline") : snapshotTree(id, snapshot);
        Sandbox s = sandboxes.status(w.sandboxId());
        boolean wasRunning = s.status() == SandboxStatus.RUNNING;
        endProcesses(id);
        if (s.status() == SandboxStatus.RUNNING || s.status() == SandboxStatus.FAILED) {
            sandboxes.stop(w.sandboxId());
        }
        Path ws = sandboxes.filesOnHost(w.sandboxId()).resolve(DIR);
        Path dir = stateDir.resolve(w.id());
        Path fresh = dir.resolve(".reset-new");
        Path old = dir.resolve(".reset-old");
        try {
            if (!Files.exists(ws, LinkOption.NOFOLLOW_LINKS) && Files.isDirectory(old, LinkOption.NOFOLLOW_LINKS)) {
                Files.move(old, ws, StandardCopyOption.ATOMIC_MOVE); // a crash between the renames: undo it
            }
            delete(fresh);
            delete(old);
            Files.createDirectory(fresh);
            Tree.copy(source, fresh);
            if (Files.exists(ws, LinkOption.NOFOLLOW_LINKS)) { // an exec may have removed /workspace itself
                Files.move(ws, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(fresh, ws, StandardCopyOption.ATOMIC_MOVE);
            Fs.fsyncDir(ws.getParent());
            Fs.fsyncDir(dir);
        } catch (IOException e) {
            delete(fresh);
            throw new DavitException(Kind.STORE, "cannot reset workspace " + id + ": " + e.getMessage());
        }
        delete(old);
        return wasRunning ? sandboxes.start(w.sandboxId()) : sandboxes.status(w.sandboxId());
    }

    private Path snapshotTree(String id, String name) {
        checkSnapshotName(name);
        Path tree = stateDir.resolve(get(id).id()).resolve(SNAPSHOTS).resolve(name).resolve("tree");
        if (!Files.isDirectory(tree, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.NOT_FOUND, "workspace " + id + " has no snapshot " + name
                    + "; see 'davit workspace snapshot ls " + id + "'");
        }
        return tree;
    }

    private static void checkSnapshotName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")) {
            throw new DavitException(Kind.USAGE, "bad snapshot name '" + name + "'; use up to 64 letters, digits,"
                    + " '.', '_' or '-', not starting with '.'");
        }
    }

    /**
     * One file of a workspace.
     *
     * @param path relative to /workspace
     * @param type {@code file}, {@code dir}, {@code symlink} or {@code other}
     * @param mode permission bits
     * @param target a link's target, else null
     */
    public record FileInfo(String path, String type, long size, int mode, String target) {
    }

    /** The entries of directory {@code path} (all below it with {@code recursive}), by path. */
    public List<FileInfo> listFiles(String id, String path, boolean recursive) {
        Path dir = WorkspacePath.resolveNoLink(root(id), path);
        String prefix = WorkspacePath.normalise(path);
        try {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                    throw new DavitException(Kind.NOT_FOUND, "no " + prefix + " in workspace " + id);
                }
                return List.of(info(Tree.entry(dir, prefix)));
            }
            List<FileInfo> out = new ArrayList<>();
            if (recursive) {
                for (Tree.Entry e : Tree.walk(dir).values()) {
                    out.add(info(new Tree.Entry(join(prefix, e.path()), e.type(), e.size(), e.mode(), e.target())));
                }
            } else {
                try (Stream<Path> s = Files.list(dir)) {
                    for (Path p : s.sorted().toList()) {
                        out.add(info(Tree.entry(p, join(prefix, p.getFileName().toString()))));
                    }
                }
            }
            return out;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot list " + path + " in workspace " + id + ": " + e.getMessage());
        }
    }

    /**
     * What {@link #readFile} read.
     *
     * @param size      the file's size
     * @param truncated whether only the first {@code maxBytes} were read
     */
    public record FileContent(byte[] bytes, long size, boolean truncated) {
    }

    /** The bytes of regular file {@code path}, at most {@code maxBytes} (0: all). */
    public FileContent readFile(String id, String path, long maxBytes) {
        Path f = WorkspacePath.resolveNoLink(root(id), path);
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Files.exists(f, LinkOption.NOFOLLOW_LINKS) ? Kind.USAGE : Kind.NOT_FOUND,
                    (Files.exists(f, LinkOption.NOFOLLOW_LINKS) ? "not a regular file: " : "no file ") + path
                            + " in workspace " + id);
        }
        try (InputStream in = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS)) {
            long size = Files.size(f);
            int cap = (int) Math.min(maxBytes > 0 ? maxBytes : Long.MAX_VALUE, Integer.MAX_VALUE - 16);
            byte[] b = in.readNBytes(cap);
            return new FileContent(b, size, in.read() >= 0);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + path + " in workspace " + id + ": " + e.getMessage());
        }
    }

    /**
     * Writes {@code data} to {@code path} atomically (a temp file in the same directory, synced, renamed over it;
     * a link there is replaced, never followed). Parent directories must exist. Returns the bytes written.
     */
    public long writeFile(String id, String path, InputStream data) {
        String rel = WorkspacePath.normalise(path);
        if (rel.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a file path inside /workspace");
        }
        Path f = WorkspacePath.resolve(root(id), rel);
        Path parent = f.getParent();
        if (Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.USAGE, path + " is a directory in workspace " + id);
        }
        if (!Files.isDirectory(parent, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.NOT_FOUND, "no directory " + MOUNT + "/" + rel.substring(0,
                    Math.max(0, rel.lastIndexOf('/'))) + " in workspace " + id + "; create it with exec mkdir -p");
        }
        Path tmp = parent.resolve(".davit-write-" + HexFormat.of().formatHex(RANDOM.generateSeed(4)));
        try {
            long n;
            try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                n = data.transferTo(out);
            }
            int mode = Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)
                    ? Tree.bits(Files.getPosixFilePermissions(f, LinkOption.NOFOLLOW_LINKS)) : 0644;
            Files.setPosixFilePermissions(tmp, Tree.perms(mode));
            Fs.fsync(tmp);
            if (Files.size(tmp) != n) {
                throw new IOException("wrote " + n + " bytes but the file holds " + Files.size(tmp));
            }
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return n;
        } catch (IOException e) {
            delete(tmp);
            throw new DavitException(Kind.STORE, "cannot write " + path + " in workspace " + id + ": "
                    + e.getMessage());
        }
    }

    /** What changed in /workspace since the baseline. */
    public WorkspaceDiff diff(String id) {
        return diff(id, null);
    }

    /** What changed in /workspace since snapshot {@code snapshot} (null: the baseline). */
    public WorkspaceDiff diff(String id, String snapshot) {
        Path from = snapshot == null ? stateDir.resolve(get(id).id()).resolve("baseline") : snapshotTree(id, snapshot);
        Path root = root(id);
        WorkspacePath.resolve(root, "");
        return WorkspaceDiff.compute(from, root);
    }

    /** The host path of /workspace: through the running sandbox's root, else in its own layer. */
    private Path root(String id) {
        Workspace w = get(id);
        Sandbox s = sandboxes.status(w.sandboxId());
        if (s.status() == SandboxStatus.FAILED) {
            throw new DavitException(Kind.USAGE, "workspace " + id + "'s sandbox has failed; start it again with"
                    + " 'davit workspace start " + id + "'");
        }
        return sandboxes.filesOnHost(w.sandboxId()).resolve(DIR);
    }

    private static String join(String prefix, String p) {
        return prefix.isEmpty() ? p : prefix + "/" + p;
    }

    private static FileInfo info(Tree.Entry e) {
        return new FileInfo(e.path(), e.type(), e.size(), e.mode(), e.target());
    }

    private static void delete(Path p) {
        try {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Fs.deleteTree(p);
            }
        } catch (IOException ignored) {
            // best effort: a leftover temp directory is skipped by list()
        }
    }
}
