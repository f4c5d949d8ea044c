package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.backend.GuestFiles;
import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.engine.Sandboxes;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * The /workspace of a microVM workspace: a directory in the VM's copy-on-write disk, reached through the guest
 * agent ({@link dev.davit.sandbox.backend.Machinery#guestFiles}). Trees travel as tar streams: host trees are archived here and extracted by
 * the guest's busybox tar (owners: root, as a container workspace's files belong to davit's user, which is root in
 * the sandbox); guest trees are archived by the guest and extracted as they arrive with the rules for untrusted
 * tars ({@link GuestFiles#copyTree}), so nothing the guest sends is written outside the host directory meant for it.
 * Whole-tree changes are built in {@value #NEW} and swapped in by renames ({@link GuestFiles#swap}). Every operation
 * needs the VM running; one that is not is started.
 */
final class VmArea implements WorkspaceArea {
    static final String NEW = Workspaces.MOUNT + ".new";
    static final String OLD = Workspaces.MOUNT + ".old";
    /** Where changes are staged in the guest: on the disk of /workspace, so a rename moves them in. */
    static final String STAGE = "/.davit/stage";

    private final Sandboxes sandboxes;
    private final String sandboxId;
    /** A host directory for temp files (the workspace's state directory). */
    private final Path tmpDir;

    VmArea(Sandboxes sandboxes, String sandboxId, Path tmpDir) {
        this.sandboxes = sandboxes;
        this.sandboxId = sandboxId;
        this.tmpDir = tmpDir;
    }

    /** The guest's files, starting the VM when it is not running (its disk keeps /workspace). */
    private GuestFiles files() {
        if (sandboxes.status(sandboxId).status() != SandboxStatus.RUNNING) {
            sandboxes.start(sandboxId);
        }
        return Machinery.of(sandboxes).guestFiles(sandboxId);
    }

    /** Starts the VM (the seed goes in through its agent) and puts {@code tree} in /workspace. */
    @Override
    public void seed(Path tree) {
        replace(tree);
    }

    @Override
    public View view() {
        Path tmp = temp(".view-");
        try {
            Path dir = tmp.resolve("tree");
            Files.createDirectory(dir);
            files().copyTree(Workspaces.MOUNT, dir); // untrusted: extracted as it arrives, within caps
            return new View() {
                @Override
                public Path dir() {
                    return dir;
                }

                @Override
                public void close() {
                    delete(tmp);
                }
            };
        } catch (IOException | RuntimeException e) {
            delete(tmp);
            throw e instanceof DavitException d ? d : new DavitException(Kind.STORE, "cannot copy /workspace of"
                    + " sandbox " + sandboxId + " to " + tmp + ": " + e.getMessage());
        }
    }

    @Override
    public WorkspaceFiles.FileContent read(String path, long maxBytes) {
        String rel = WorkspacePath.normalise(path);
        GuestFiles.Content c = files().read(guest(rel), maxBytes);
        return new WorkspaceFiles.FileContent(c.bytes(), c.size(), c.size() > c.bytes().length);
    }

    @Override
    public void apply(Path staged, List<String> changes, List<String> deletions) {
        GuestFiles f = files();
        List<String> gone = new ArrayList<>();
        for (String d : deletions) {
            gone.add(guest(nonEmpty(d)));
        }
        f.remove(gone);
        if (changes.isEmpty()) {
            return;
        }
        String stage = STAGE + "/" + HexFormat.of().formatHex(java.security.SecureRandom.getSeed(6));
        Path tmp = temp(".apply-");
        try {
            Path tar = tmp.resolve("changes.tar");
            List<String> rels = changes.stream().map(VmArea::nonEmpty).toList();
            archive(staged, rels, tar);
            f.putTar(stage, tar);
            for (String rel : rels) {
                try {
                    f.move(stage + "/" + rel, guest(rel));
                } catch (DavitException e) {
                    if (e.kind() != Kind.USAGE || !e.getMessage().endsWith("is a directory")) {
                        throw e;
                    }
                    f.remove(List.of(guest(rel))); // a directory replaced by a file or link
                    f.move(stage + "/" + rel, guest(rel));
                }
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot stage changes in " + tmp + ": " + e.getMessage());
        } finally {
            delete(tmp);
            f.remove(List.of(stage));
        }
    }

    @Override
    public long write(String path, InputStream data, int mode) {
        String rel = nonEmpty(path);
        Path tmp = temp(".write-");
        try {
            Path file = tmp.resolve("f");
            long n;
            try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW)) {
                n = data.transferTo(out);
            }
            Files.setPosixFilePermissions(file, Tree.perms(mode < 0 ? 0644 : mode)); // no stat verb: 0644
            GuestFiles f = files();
            String stage = STAGE + "/" + HexFormat.of().formatHex(java.security.SecureRandom.getSeed(6));
            Path tar = tmp.resolve("f.tar");
            archive(tmp, List.of("f"), tar);
            try {
                f.putTar(stage, tar);
                f.move(stage + "/f", guest(rel));
            } finally {
                f.remove(List.of(stage));
            }
            return n;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + rel + " in /workspace: " + e.getMessage());
        } finally {
            delete(tmp);
        }
    }

    /**
     * Extracts {@code tree} into {@value #NEW} in the guest and swaps it in ({@link GuestFiles#swap}: renames,
     * with the disk flushed before and after), so a crash leaves the old tree or the new one.
     */
    @Override
    public void replace(Path tree) {
        Path tmp = temp(".replace-");
        try {
            Path tar = tmp.resolve("tree.tar");
            try (Stream<Path> top = Files.list(tree)) {
                List<String> names = new ArrayList<>(List.of("."));
                top.map(p -> p.getFileName().toString()).sorted().forEach(names::add);
                archive(tree, names, tar);
            }
            GuestFiles f = files();
            f.remove(List.of(NEW));
            f.putTar(NEW, tar);
            f.swap(Workspaces.MOUNT, NEW, OLD);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot archive " + tree + ": " + e.getMessage());
        } finally {
            delete(tmp);
        }
    }

    /**
     * Writes a tar of the entries {@code rels} of host directory {@code top} (each with all it holds; {@code .}:
     * {@code top} itself, its own mode): directories, regular files and links with their modes and modification
     * times, owned by root. A device, fifo or socket is refused.
     */
    static void archive(Path top, List<String> rels, Path tar) throws IOException {
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(new BufferedOutputStream(
                Files.newOutputStream(tar, StandardOpenOption.CREATE_NEW), 1 << 16))) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_GNU);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_STAR);
            for (String rel : rels) {
                if (rel.equals(".")) {
                    entry(out, top, "./");
                    continue;
                }
                Path p = top.resolve(rel);
                entry(out, p, rel);
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    for (Tree.Entry e : Tree.walk(p).values()) {
                        entry(out, p.resolve(e.path()), rel + "/" + e.path());
                    }
                }
            }
        }
    }

    private static void entry(TarArchiveOutputStream out, Path p, String name) throws IOException {
        PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        TarArchiveEntry e;
        if (a.isSymbolicLink()) {
            e = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
            e.setLinkName(Files.readSymbolicLink(p).toString());
        } else if (a.isDirectory()) {
            e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/");
        } else if (a.isRegularFile()) {
            e = new TarArchiveEntry(name);
            e.setSize(a.size());
        } else {
            throw new DavitException(Kind.USAGE, p + " is a device, fifo or socket; a workspace holds only files,"
                    + " directories and links");
        }
        e.setMode((e.isSymbolicLink() ? 0120000 : a.isDirectory() ? 040000 : 0100000) | Tree.bits(a.permissions()));
        e.setModTime(a.lastModifiedTime());
        e.setIds(0, 0);
        out.putArchiveEntry(e);
        if (a.isRegularFile()) {
            try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
                long n = in.transferTo(out);
                if (n != a.size()) {
                    throw new IOException(p + " changed while it was archived");
                }
            }
        }
        out.closeArchiveEntry();
    }

    /** The guest path of workspace path {@code rel} (normalised). */
    private static String guest(String rel) {
        return rel.isEmpty() ? Workspaces.MOUNT : Workspaces.MOUNT + "/" + rel;
    }

    private static String nonEmpty(String path) {
        String rel = WorkspacePath.normalise(path);
        if (rel.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a path inside /workspace, not /workspace itself");
        }
        return rel;
    }

    private Path temp(String prefix) {
        try {
            Files.createDirectories(tmpDir);
            return Files.createTempDirectory(tmpDir, prefix);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot create a temp directory in " + tmpDir + ": "
                    + e.getMessage());
        }
    }

    private static void delete(Path p) {
        try {
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                Fs.deleteTree(p);
            }
        } catch (IOException ignored) {
            // best effort: a leftover temp directory starts with '.', which listings skip
        }
    }
}
