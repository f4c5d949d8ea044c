package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.store.Fs;
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
import java.util.List;

/**
 * The /workspace of a container sandbox, on the host ({@link Sandboxes#filesOnHost}): through {@code /proc/PID/root}
 * while it runs (the sandbox sees every write at once), in its own layer (the overlay's upper directory) while it is
 * stopped. Paths are resolved component by component without following links ({@link WorkspacePath}).
 */
final class ContainerArea implements WorkspaceArea {
    private static final String DIR = "workspace";

    private final Sandboxes sandboxes;
    private final String sandboxId;
    private final Path scratch;

    /**
     * @param scratch a directory of the workspace's state (same file system as the sandbox's layer) for
     *                {@link #replace}'s temp trees
     */
    ContainerArea(Sandboxes sandboxes, String sandboxId, Path scratch) {
        this.sandboxes = sandboxes;
        this.sandboxId = sandboxId;
        this.scratch = scratch;
    }

    /** The host path of /workspace (not checked: see {@link WorkspacePath#resolve}). */
    private Path root() {
        if (sandboxes.status(sandboxId).status() == SandboxStatus.FAILED) {
            throw new DavitException(Kind.USAGE, "the workspace's sandbox " + sandboxId + " has failed; start it"
                    + " again with 'davit workspace start'");
        }
        return sandboxes.filesOnHost(sandboxId).resolve(DIR);
    }

    @Override
    public void seed(Path tree) {
        Path ws = sandboxes.filesOnHost(sandboxId).resolve(DIR);
        try {
            Files.createDirectory(ws);
            Tree.copy(tree, ws);
            own(ws);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot seed " + ws + ": " + e.getMessage());
        }
    }

    @Override
    public View view() {
        Path root = root();
        return new View() {
            @Override
            public Path dir() {
                return root;
            }

            @Override
            public void close() {
                // the live tree: nothing to delete
            }
        };
    }

    @Override
    public Workspaces.FileContent read(String path, long maxBytes) {
        Path f = WorkspacePath.resolveNoLink(root(), path);
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
            boolean exists = Files.exists(f, LinkOption.NOFOLLOW_LINKS);
            throw new DavitException(exists ? Kind.USAGE : Kind.NOT_FOUND,
                    (exists ? "not a regular file: " : "no file ") + path + " in /workspace");
        }
        try (InputStream in = Files.newInputStream(f, LinkOption.NOFOLLOW_LINKS)) {
            long size = Files.size(f);
            int cap = (int) Math.min(maxBytes > 0 ? maxBytes : Long.MAX_VALUE, Integer.MAX_VALUE - 16);
            byte[] b = in.readNBytes(cap);
            return new Workspaces.FileContent(b, size, in.read() >= 0);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + path + " in /workspace: " + e.getMessage());
        }
    }

    @Override
    public long write(String path, InputStream data, int mode) {
        String rel = fileName(path);
        Path f = parentsMade(root(), rel, owner());
        if (Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.USAGE, path + " is a directory in /workspace; give a file path");
        }
        Path tmp = temp(f, "write");
        try {
            long n;
            try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                n = data.transferTo(out);
            }
            int m = mode >= 0 ? mode & 0777 : Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)
                    ? Tree.bits(Files.getPosixFilePermissions(f, LinkOption.NOFOLLOW_LINKS)) : 0644;
            Files.setPosixFilePermissions(tmp, Tree.perms(m));
            own(tmp);
            Fs.fsync(tmp);
            if (Files.size(tmp) != n) {
                throw new IOException("wrote " + n + " bytes but the file holds " + Files.size(tmp));
            }
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return n;
        } catch (IOException e) {
            quietDelete(tmp);
            throw new DavitException(Kind.STORE, "cannot write " + path + " in /workspace: " + e.getMessage());
        }
    }

    @Override
    public void apply(Path staged, List<String> changes, List<String> deletions) {
        Path root = root();
        String current = null;
        try {
            for (String d : deletions) {
                current = d;
                Path p = WorkspacePath.resolve(root, fileName(d));
                if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                    Path aside = temp(p, "rm");
                    Files.move(p, aside, StandardCopyOption.ATOMIC_MOVE);
                    Fs.deleteTree(aside);
                }
            }
            for (String c : changes) {
                current = c;
                String rel = fileName(c);
                Path target = parentsMade(root, rel, owner());
                Path tmp = temp(target, "new");
                try {
                    copyEntry(staged.resolve(rel), tmp);
                    own(tmp);
                    if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS) || Files.exists(target,
                            LinkOption.NOFOLLOW_LINKS) && Files.isDirectory(tmp, LinkOption.NOFOLLOW_LINKS)) {
                        // rename(2) puts a directory only over an empty directory: move the old entry aside first
                        Path aside = temp(target, "old");
                        Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
                        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                        Fs.deleteTree(aside);
                    } else {
                        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    }
                } finally {
                    quietDelete(tmp);
                }
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + current + " in /workspace: " + e.getMessage());
        }
    }

    /** A file, link or whole directory at {@code from} copied to the new path {@code to} (file contents synced). */
    private static void copyEntry(Path from, Path to) throws IOException {
        if (Files.isSymbolicLink(from)) {
            Files.createSymbolicLink(to, Files.readSymbolicLink(from));
        } else if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(to);
            Tree.copy(from, to);
        } else if (Files.isRegularFile(from, LinkOption.NOFOLLOW_LINKS)) {
            Files.copy(from, to, LinkOption.NOFOLLOW_LINKS);
            Files.setPosixFilePermissions(to, Files.getPosixFilePermissions(from, LinkOption.NOFOLLOW_LINKS));
            Files.setLastModifiedTime(to, Files.getLastModifiedTime(from, LinkOption.NOFOLLOW_LINKS));
            Fs.fsync(to);
        } else {
            throw new IOException(from + " is neither a file, a directory nor a link");
        }
    }

    @Override
    public void replace(Path tree) {
        Path ws = sandboxes.filesOnHost(sandboxId).resolve(DIR);
        Path fresh = scratch.resolve(".reset-new");
        Path old = scratch.resolve(".reset-old");
        try {
            if (!Files.exists(ws, LinkOption.NOFOLLOW_LINKS) && Files.isDirectory(old, LinkOption.NOFOLLOW_LINKS)) {
                Files.move(old, ws, StandardCopyOption.ATOMIC_MOVE); // a crash between the renames: undo it
            }
            Fs.deleteTree(fresh);
            Fs.deleteTree(old);
            Files.createDirectory(fresh);
            // files the workspace still has as they are in tree are linked, not copied: nothing runs in the
            // sandbox now, and the old tree they also belong to is deleted after the swap
            Tree.copy(tree, fresh, null, Files.isDirectory(ws, LinkOption.NOFOLLOW_LINKS)
                    ? new Tree.Reuse(ws, true) : null);
            own(fresh);
            if (Files.exists(ws, LinkOption.NOFOLLOW_LINKS)) { // an exec may have removed /workspace itself
                Files.move(ws, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(fresh, ws, StandardCopyOption.ATOMIC_MOVE);
            Fs.fsyncDir(ws.getParent());
            Fs.fsyncDir(scratch);
        } catch (IOException e) {
            quietDelete(fresh);
            throw new DavitException(Kind.STORE, "cannot replace /workspace of sandbox " + sandboxId + ": "
                    + e.getMessage());
        }
        quietDelete(old);
    }

    /** The normalised {@code path}, which must name something below /workspace (not /workspace itself). */
    private static String fileName(String path) {
        String rel = WorkspacePath.normalise(path);
        if (rel.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a path inside /workspace, not /workspace itself");
        }
        return rel;
    }

    /**
     * The host path of {@code rel} (checked by {@link WorkspacePath#resolve}) after creating its missing parent
     * directories one by one (mode 0755), never through a link.
     */
    private static Path parentsMade(Path root, String rel, int[] owner) {
        Path target = WorkspacePath.resolve(root, rel);
        Path p = root;
        String[] parts = rel.split("/");
        try {
            for (int i = 0; i < parts.length - 1; i++) {
                p = p.resolve(parts[i]);
                if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectory(p, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            Tree.perms(0755)));
                    Files.setPosixFilePermissions(p, Tree.perms(0755)); // not narrowed by the umask
                    if (owner != null) {
                        chown(p, owner);
                    }
                }
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create " + p + ": " + e.getMessage());
        }
        return target;
    }

    /** The host owner of what davit writes into the sandbox ({@link Sandboxes#hostOwner}), or null. */
    private int[] owner() {
        return sandboxes.hostOwner(sandboxId);
    }

    /**
     * Gives {@code top} and everything below it (links themselves, never followed) to the sandbox's user, where
     * the sandbox's ids are a range of host ids (as root): a file owned by host root would be read-only to the
     * sandbox, whose root is not host root. Entries that already have an owner of the sandbox keep it.
     */
    private void own(Path top) throws IOException {
        int[] owner = owner();
        if (owner == null) {
            return;
        }
        dev.davit.sandbox.jail.IdRange r = dev.davit.sandbox.jail.Jail.range();
        java.util.List<Path> all;
        try (java.util.stream.Stream<Path> s = Files.walk(top)) {
            all = s.toList();
        }
        for (Path p : all) {
            int uid = (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            if (uid < r.uid() || uid >= r.uid() + r.count()) {
                chown(p, owner);
            }
        }
    }

    private static void chown(Path p, int[] owner) throws IOException {
        Files.setAttribute(p, "unix:gid", owner[1], LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:uid", owner[0], LinkOption.NOFOLLOW_LINKS);
    }

    private static Path temp(Path sibling, String what) {
        return sibling.resolveSibling(".davit-" + what + "-" + dev.davit.oci.RandomHex.of(4));
    }

    private static void quietDelete(Path p) {
        try {
            Fs.deleteTree(p);
        } catch (IOException ignored) {
            // best effort: a leftover temp entry
        }
    }
}
