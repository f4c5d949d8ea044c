package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.store.Fs;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * A workspace tree (or one entry of it) copied to a host directory or a tar file: links as links (never followed),
 * permission bits only (no setuid, setgid or sticky bit), devices, fifos and sockets left out, everything written
 * under a temp sibling of the destination and renamed into place last.
 */
final class Export {

    private Export() {
    }

    /** Copies {@code src} (workspace path {@code rel}, no link) to {@code hostDest}; see {@link Workspaces#export}. */
    static Workspaces.Copied to(Path src, String rel, Path hostDest) {
        Path dest = hostDest.toAbsolutePath().normalize();
        Path parent = dest.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new DavitException(Kind.USAGE, "no directory " + parent + " to export into; create it first");
        }
        boolean tar = dest.getFileName().toString().endsWith(".tar");
        if (Files.exists(dest, LinkOption.NOFOLLOW_LINKS) && (tar || !emptyDir(dest))) {
            throw new DavitException(Kind.USAGE, dest + " already exists" + (tar ? "" : " and is not an empty"
                    + " directory") + "; give a new " + (tar ? ".tar file" : "or empty directory"));
        }
        Path tmp = parent.resolve("." + dest.getFileName() + ".davit-" + dev.davit.oci.RandomHex.of(4));
        try {
            String top = rel.isEmpty() || Files.isDirectory(src, LinkOption.NOFOLLOW_LINKS) ? null
                    : src.getFileName().toString();
            Map<String, Tree.Entry> entries = top == null ? Tree.walk(src) : Map.of(top, Tree.entry(src, top));
            List<String> skipped = new ArrayList<>();
            long bytes = 0;
            for (Tree.Entry e : entries.values()) {
                bytes += e.size();
                if (e.type().equals("other")) {
                    skipped.add(e.path());
                }
            }
            if (tar) {
                writeTar(top == null ? src : src.getParent(), entries, tmp);
            } else {
                Files.createDirectory(tmp);
                if (top == null) {
                    Tree.copy(src, tmp, new ArrayList<>());
                } else {
                    Files.copy(src, tmp.resolve(top), LinkOption.NOFOLLOW_LINKS);
                    Files.setPosixFilePermissions(tmp.resolve(top), Files.getPosixFilePermissions(src,
                            LinkOption.NOFOLLOW_LINKS));
                    Files.setPosixFilePermissions(tmp, Tree.perms(0755));
                }
            }
            Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE); // rename(2) replaces an empty directory
            Fs.fsyncDir(parent);
            return new Workspaces.Copied(rel, entries.size() - skipped.size(), bytes, List.copyOf(skipped));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot export to " + dest + ": " + e.getMessage());
        } finally {
            try {
                Fs.deleteTree(tmp);
            } catch (IOException ignored) {
                // best effort: a leftover temp sibling
            }
        }
    }

    private static boolean emptyDir(Path p) {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    /** A tar of {@code entries} (paths relative to {@code base}), owners 0, in path order, synced. */
    private static void writeTar(Path base, Map<String, Tree.Entry> entries, Path file) throws IOException {
        try (OutputStream raw = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
             TarArchiveOutputStream out = new TarArchiveOutputStream(raw)) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            for (Tree.Entry e : entries.values()) {
                Path p = base.resolve(e.path());
                TarArchiveEntry t = switch (e.type()) {
                    case "dir" -> new TarArchiveEntry(e.path() + "/");
                    case "symlink" -> {
                        TarArchiveEntry l = new TarArchiveEntry(e.path(), TarConstants.LF_SYMLINK);
                        l.setLinkName(e.target());
                        yield l;
                    }
                    case "file" -> new TarArchiveEntry(e.path());
                    default -> null; // devices, fifos, sockets: left out
                };
                if (t == null) {
                    continue;
                }
                t.setMode((e.type().equals("dir") ? 0040000 : e.type().equals("symlink") ? 0120000 : 0100000)
                        | (e.mode() & 0777));
                t.setIds(0, 0);
                t.setModTime(Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS));
                if (e.type().equals("file")) {
                    t.setSize(e.size());
                    out.putArchiveEntry(t);
                    try (var in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
                        if (in.transferTo(out) != e.size()) {
                            throw new IOException(e.path() + " changed size while it was exported");
                        }
                    }
                } else {
                    out.putArchiveEntry(t);
                }
                out.closeArchiveEntry();
            }
            out.finish();
        }
        Fs.fsync(file);
    }
}
