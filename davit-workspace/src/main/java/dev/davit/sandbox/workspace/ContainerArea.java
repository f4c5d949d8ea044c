package dev.davit.sandbox.workspace;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.fs.Budget;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.fs.Stat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * The /workspace of a container sandbox, reached from the host ({@link Machinery#filesOnHost}): through
 * {@code /proc/PID/root} while it runs (the sandbox sees every write at once), in its own layer (the overlay's
 * upper directory) while it is stopped. Every path is resolved through a {@link Dir}: the kernel keeps it inside
 * /workspace, refuses any link on the way, and never lets the sandbox swap a component between a check and a use.
 */
final class ContainerArea implements WorkspaceArea {
    private static final String DIR = "workspace";
    /** What {@link #read} reads at most when the caller sets no limit. */
    static final long MAX_READ = 64L << 20;

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

    /**
     * Where {@link #replace} makes its temp trees: on the sandbox's disk when it has one (its layer's file system:
     * a rename must not cross file systems), else the workspace's state directory given.
     */
    private Path scratch() {
        Path sandbox = sandboxes.options().stateDir().resolve(sandboxId);
        return dev.davit.sandbox.jail.Disk.mounted(sandbox) ? dev.davit.sandbox.jail.Disk.root(sandbox) : scratch;
    }

    /** The sandbox's root (running) or its own layer (stopped), as davit reaches it. */
    private Dir top() throws IOException {
        if (sandboxes.status(sandboxId).status() == SandboxStatus.FAILED) {
            throw new DavitException(Kind.USAGE, Message.of("the workspace's sandbox " + sandboxId + " has failed;"
                    + " start it again with ", Action.START_IT.fix()));
        }
        return Machinery.of(sandboxes).openFiles(sandboxId);
    }

    /** /workspace, which must still be a directory (not a link the sandbox put in its place). */
    Dir workspace() {
        try (Dir top = top()) {
            return top.dir(DIR);
        } catch (NoSuchFileException e) {
            throw gone();
        } catch (IOException e) {
            if (Tree.swapped(e)) {
                throw gone();
            }
            throw new DavitException(Kind.STORE, "cannot open /workspace of sandbox " + sandboxId + ": "
                    + e.getMessage());
        }
    }

    private static DavitException gone() {
        return new DavitException(Kind.USAGE, Message.of("/workspace is no longer a directory in the sandbox (removed,"
                + " or replaced by a link or file); reset the workspace (", Action.RESET_WORKSPACE.fix(), ") or create"
                + " it again"));
    }

    /**
     * Whether the sandbox's image has a /workspace of its own (an image committed from a workspace): then every
     * /workspace davit makes in the sandbox's layer is opaque, so the image's never shows through it (its files are
     * the baseline's, when no seed was given).
     */
    private boolean imageHasWorkspace() {
        return java.nio.file.Files.exists(sandboxes.status(sandboxId).spec().rootfs().resolve(DIR),
                java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    /** Marks {@code entry} of {@code dir} (in the sandbox's own layer) opaque to the overlay. */
    private static void opaque(Dir dir, String entry) throws IOException {
        dir.setXattr(entry, dev.davit.sandbox.jail.Jail.AS_ROOT ? "trusted.overlay.opaque" : "user.overlay.opaque",
                new byte[] {'y'});
    }

    @Override
    public void seed(Path tree) {
        int[] owner = owner();
        boolean hide = imageHasWorkspace();
        try (Dir top = top(); Dir from = Dir.open(tree, "the seed")) {
            if (hide && sandboxes.status(sandboxId).status() == SandboxStatus.RUNNING) {
                throw new DavitException(Kind.USAGE, "the image has /workspace, which a running sandbox's"
                        + " /workspace cannot hide; create the workspace without a started spare");
            }
            top.mkdir(DIR);
            if (hide) {
                opaque(top, DIR);
            }
            top.chmod(DIR, 0755);
            if (owner != null) {
                top.chown(DIR, owner[0], owner[1]);
            }
            try (Dir ws = top.dir(DIR)) {
                Tree.copy(from, ws, "", new Tree.Options(null, null, owner, Budget.of("seeding /workspace"))
                        .intoSandbox());
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot seed /workspace of sandbox " + sandboxId + ": "
                    + e.getMessage());
        }
    }

    @Override
    public View view() {
        Dir ws = workspace();
        return new View() {
            @Override
            public Path dir() {
                throw new UnsupportedOperationException("a container's /workspace is read through open()");
            }

            @Override
            public Dir open() {
                return ws;
            }

            @Override
            public void close() {
                ws.close();
            }
        };
    }

    @Override
    public WorkspaceFiles.FileContent read(String path, long maxBytes) {
        return read(path, 0, maxBytes);
    }

    @Override
    public WorkspaceFiles.FileContent read(String path, long offset, long maxBytes) {
        try (Dir ws = workspace()) {
            return readIn(ws, path, offset, maxBytes);
        } catch (IOException e) {
            throw fileError(e, path, "read");
        }
    }

    /** {@link #read} in tree {@code ws}. */
    static WorkspaceFiles.FileContent readIn(Dir ws, String path, long maxBytes) throws IOException {
        return readIn(ws, path, 0, maxBytes);
    }

    /** {@link #read(String, long, long)} in tree {@code ws}. */
    static WorkspaceFiles.FileContent readIn(Dir ws, String path, long offset, long maxBytes) throws IOException {
        String rel = fileName(path);
        try (Dir.Opened f = ws.openFile(rel)) {
            long size = f.stat().size();
            long left = Math.max(0, size - offset);
            long cap = maxBytes > 0 ? maxBytes : MAX_READ;
            if (maxBytes <= 0 && left > MAX_READ) {
                throw new DavitException(Kind.USAGE, path + " holds " + size + " bytes, more than davit reads at once"
                        + " (" + (MAX_READ >> 20) + " MiB); read a part of it (a maximum number of bytes) or export it");
            }
            byte[] b = new byte[(int) Math.min(Math.min(cap, left), Integer.MAX_VALUE - 16)];
            boolean more;
            try (FileChannel c = f.read()) {
                c.position(offset);
                ByteBuffer buf = ByteBuffer.wrap(b);
                while (buf.hasRemaining() && c.read(buf) >= 0) {
                    // up to the cap, or the file's end if it shrank
                }
                b = buf.position() == b.length ? b : java.util.Arrays.copyOf(b, buf.position());
                more = c.read(ByteBuffer.allocate(1)) > 0;
            }
            return new WorkspaceFiles.FileContent(b, size, more, false, offset, offset + b.length);
        }
    }

    /**
     * A one-line error for {@code e}, met while reading a whole tree for {@code what} (e.g. {@code "the diff"}):
     * what the sandbox can cause is a usage error that says so; anything else a store error.
     */
    static DavitException treeError(IOException e, String what) {
        if (sandboxCaused(e)) {
            return new DavitException(Kind.USAGE, e.getMessage());
        }
        if (Tree.swapped(e)) {
            return new DavitException(Kind.USAGE, "/workspace changed under " + what + " (" + e.getMessage()
                    + "); try again when nothing in the sandbox changes it");
        }
        return new DavitException(Kind.STORE, "cannot read /workspace for " + what + ": " + e.getMessage());
    }

    /** Whether {@code e} is something the sandbox did that its own message explains (a name, a lease). */
    private static boolean sandboxCaused(IOException e) {
        return e instanceof Dir.NotUtf8 || e instanceof Dir.Leased;
    }

    /** A one-line error for {@code e}, met while {@code verb}ing {@code path} in /workspace. */
    static DavitException fileError(IOException e, String path, String verb) {
        if (e instanceof NoSuchFileException) {
            return new DavitException(Kind.NOT_FOUND, "no file " + path + " in /workspace");
        }
        if (sandboxCaused(e)) {
            return new DavitException(Kind.USAGE, e.getMessage());
        }
        if (e instanceof Dir.NotRegularFile n) {
            return new DavitException(Kind.USAGE, "not a regular file: " + path + " in /workspace (a "
                    + n.stat().type() + ")");
        }
        if (Dir.ledOut(e)) {
            return new DavitException(Kind.USAGE, "'" + path + "' goes through a symbolic link (or is one); give the"
                    + " path without links, inside /workspace");
        }
        if (e instanceof dev.davit.sandbox.fs.ErrnoException x && x.errno() == dev.davit.sandbox.fs.Errno.ENOTDIR) {
            return new DavitException(Kind.USAGE, "a part of '" + path + "' is not a directory; check the path");
        }
        return new DavitException(Kind.STORE, "cannot " + verb + " " + path + " in /workspace: " + e.getMessage());
    }

    @Override
    public long write(String path, InputStream data, int mode) {
        String rel = fileName(path);
        int[] owner = owner();
        try (Dir ws = workspace(); Dir parent = parentsMade(ws, rel, owner)) {
            String name = last(rel);
            Stat old = parent.stat(name);
            if (old != null && old.isDirectory()) {
                throw new DavitException(Kind.USAGE, path + " is a directory in /workspace; give a file path");
            }
            String tmp = temp("write");
            try {
                long n;
                try (FileChannel out = parent.create(tmp)) {
                    n = data.transferTo(Channels.newOutputStream(out));
                    out.force(false);
                }
                parent.chmod(tmp, mode >= 0 ? mode & 0777 : old != null && old.isRegularFile()
                        ? old.permissions() & 0777 : 0644);
                if (owner != null) {
                    parent.chown(tmp, owner[0], owner[1]);
                }
                parent.rename(tmp, parent, name);
                return n;
            } finally {
                parent.delete(tmp);
            }
        } catch (IOException e) {
            throw fileError(e, path, "write");
        }
    }

    @Override
    public void apply(Path staged, List<String> changes, List<String> deletions) {
        int[] owner = owner();
        String current = null;
        try (Dir ws = workspace(); Dir stage = Dir.open(staged, "the staged files")) {
            Budget budget = Budget.of("writing into /workspace");
            for (String d : deletions) {
                current = d;
                String rel = fileName(d);
                try (Dir parent = parent(ws, rel)) {
                    if (parent != null && parent.stat(last(rel)) != null) {
                        String aside = temp("rm");
                        parent.rename(last(rel), parent, aside);
                        parent.delete(aside);
                    }
                }
            }
            for (String c : changes) {
                current = c;
                String rel = fileName(c);
                String name = last(rel);
                try (Dir parent = parentsMade(ws, rel, owner); Dir from = parent(stage, rel)) {
                    String tmp = temp("new");
                    try {
                        Tree.copyEntry(from, name, parent, tmp, rel, new Tree.Options(null, null, owner, budget)
                                .intoSandbox());
                        Stat now = parent.stat(name);
                        Stat made = parent.stat(tmp);
                        if (now != null && (now.isDirectory() || made != null && made.isDirectory())) {
                            // rename(2) puts a directory only over an empty directory: move the old entry aside first
                            String aside = temp("old");
                            parent.rename(name, parent, aside);
                            parent.rename(tmp, parent, name);
                            parent.delete(aside);
                        } else {
                            parent.rename(tmp, parent, name);
                        }
                    } finally {
                        parent.delete(tmp);
                    }
                }
            }
        } catch (IOException e) {
            throw fileError(e, current == null ? "/workspace" : current, "write");
        }
    }

    @Override
    public void replace(Path tree) {
        String fresh = ".reset-new";
        String old = ".reset-old";
        try (Dir top = top(); Dir scratchDir = top.openBeside(scratch(), "the workspace's state");
             Dir source = Dir.open(tree, "the tree to reset to")) {
            if (top.stat(DIR) == null && scratchDir.stat(old) != null && scratchDir.stat(old).isDirectory()) {
                scratchDir.rename(old, top, DIR); // a crash between the renames: undo it
            }
            scratchDir.delete(fresh);
            scratchDir.delete(old);
            scratchDir.mkdir(fresh);
            if (imageHasWorkspace()) {
                opaque(scratchDir, fresh);
            }
            scratchDir.chmod(fresh, 0755);
            int[] owner = owner();
            if (owner != null) {
                scratchDir.chown(fresh, owner[0], owner[1]);
            }
            // files the workspace still has as they are in tree are linked, not copied: nothing runs in the
            // sandbox now, and the old tree they also belong to is deleted after the swap. Only files reached
            // without a link, checked through their descriptors, are linked: never an inode outside the layer.
            Dir live = null;
            try {
                live = top.dir(DIR);
            } catch (IOException e) {
                // no /workspace, or a link in its place: nothing to reuse
            }
            try (Dir to = scratchDir.dir(fresh); Dir reuse = live) {
                Tree.copy(source, to, "", new Tree.Options(null, reuse == null ? null : new Tree.Reuse(reuse, true),
                        owner, Budget.of("resetting /workspace")).intoSandbox());
            }
            if (top.stat(DIR) != null) { // an exec may have removed /workspace itself
                top.rename(DIR, scratchDir, old);
            }
            scratchDir.rename(fresh, top, DIR);
            top.fsync();
            scratchDir.fsync();
            try {
                scratchDir.delete(old);
            } catch (IOException e) {
                // the new tree is in place; what is left of the old one goes at the next reset or with the sandbox
            }
        } catch (IOException | RuntimeException e) {
            try (Dir top = top(); Dir scratchDir = top.openBeside(scratch(), "the workspace's state")) {
                scratchDir.delete(fresh);
            } catch (IOException | RuntimeException ignored) {
                // best effort: a leftover temp tree
            }
            if (e instanceof DavitException d) {
                throw d;
            }
            throw new DavitException(Kind.STORE, "cannot replace /workspace of sandbox " + sandboxId + ": "
                    + e.getMessage());
        }
    }

    /** The normalised {@code path}, which must name something below /workspace (not /workspace itself). */
    private static String fileName(String path) {
        String rel = WorkspacePath.normalise(path);
        if (rel.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a path inside /workspace, not /workspace itself");
        }
        return rel;
    }

    private static String last(String rel) {
        return rel.substring(rel.lastIndexOf('/') + 1);
    }

    /** The parent directory of {@code rel} under {@code ws}, or null when it does not exist. */
    private static Dir parent(Dir ws, String rel) throws IOException {
        int slash = rel.lastIndexOf('/');
        try {
            return ws.dir(slash < 0 ? "" : rel.substring(0, slash));
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /**
     * The parent directory of {@code rel} under {@code ws}, after creating its missing directories one by one (mode
     * 0755, owned by {@code owner} when not null), each through the one before: never through a link.
     */
    private static Dir parentsMade(Dir ws, String rel, int[] owner) throws IOException {
        String[] parts = rel.split("/");
        Dir d = ws.dir("");
        try {
            for (int i = 0; i < parts.length - 1; i++) {
                if (d.stat(parts[i]) == null) {
                    try {
                        d.mkdir(parts[i]);
                        d.chmod(parts[i], 0755);
                        if (owner != null) {
                            d.chown(parts[i], owner[0], owner[1]);
                        }
                    } catch (java.nio.file.FileAlreadyExistsException e) {
                        // made by the sandbox meanwhile: use it if it is a directory
                    }
                }
                Dir next = d.dir(parts[i]);
                d.close();
                d = next;
            }
            return d;
        } catch (IOException | RuntimeException e) {
            d.close();
            throw e;
        }
    }

    /** The host owner of what davit writes into the sandbox ({@link Machinery#hostOwner}), or null. */
    private int[] owner() {
        return Machinery.of(sandboxes).hostOwner(sandboxId);
    }

    private static String temp(String what) {
        return ".davit-" + what + "-" + dev.davit.oci.internal.RandomHex.of(4);
    }
}
