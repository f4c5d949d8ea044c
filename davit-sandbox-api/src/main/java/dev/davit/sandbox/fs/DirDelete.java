package dev.davit.sandbox.fs;

import static dev.davit.sandbox.fs.DirErrors.failed;
import static dev.davit.sandbox.fs.DirNames.join;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link Dir#delete}: an entry of a {@link Dir} ("this directory" below) and all it holds deleted through
 * descriptors and single names, never a long path and never by recursion. Each directory met is renamed into this
 * directory under a temp name and emptied there; a link is removed, never followed. This JVM does it on
 * {@code /proc/self/fd} paths of held directories, or an acting broker does each step ({@link BrokerSys}), its
 * entries named by their bytes. One per deletion.
 */
final class DirDelete {
    private final Dir top;
    private final Sys sys;
    private final BrokerSys acting;
    private final int fd;
    private final String name;

    DirDelete(Dir top) {
        this.top = top;
        this.sys = top.sys;
        this.acting = top.acting;
        this.fd = top.fd;
        this.name = top.name;
    }

    /** {@link Dir#delete} by this JVM: {@code entry} (checked to be one name) and all it holds. */
    void delete(String entry) throws IOException {
        String prefix = ".davit-del-" + dev.davit.oci.internal.RandomHex.of(4) + "-";
        long n = 0;
        long seen = 0;
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>();
        if (!deleteOrMove(top.at(entry), prefix + n, todo)) {
            return;
        }
        n++;
        while (!todo.isEmpty()) {
            String d = todo.poll();
            try (Dir dir = top.dir(d)) {
                List<Path> entries = new ArrayList<>();
                try (DirectoryStream<Path> s = Files.newDirectoryStream(dir.self())) {
                    for (Path p : s) {
                        entries.add(p.getFileName()); // the JDK's path keeps the name's bytes as they are
                        if (++seen > Budget.MAX_ENTRIES) {
                            throw new IOException("more than " + Budget.MAX_ENTRIES + " entries under " + join(name,
                                    entry) + " while deleting it");
                        }
                    }
                }
                for (Path e : entries) {
                    if (deleteOrMove(dir.self().resolve(e), null, null)) {
                        // a directory: moved up here under a temp name, emptied later
                        Path to = top.at(prefix + n);
                        Files.move(dir.self().resolve(e), to, StandardCopyOption.ATOMIC_MOVE);
                        todo.add(prefix + n++);
                    }
                }
            } catch (IOException e) {
                if (!Dir.ledOut(e) && !(e instanceof NoSuchFileException)) {
                    throw e;
                }
                // swapped for a link or file meanwhile: removed below as what it is now
            }
            Files.deleteIfExists(top.at(d)); // rmdir, or unlink of what was swapped in
        }
    }

    /**
     * Deletes {@code p} (one name below a held directory) when it is not a directory; a directory is renamed to
     * {@code to} in this directory and queued in {@code todo} when those are given, else left for the caller.
     * Returns whether it was a directory.
     */
    private boolean deleteOrMove(Path p, String to, java.util.ArrayDeque<String> todo) throws IOException {
        java.nio.file.attribute.BasicFileAttributes a;
        try {
            a = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return false;
        }
        if (!a.isDirectory()) {
            Files.deleteIfExists(p);
            return false;
        }
        if (to != null) {
            Files.move(p, top.at(to), StandardCopyOption.ATOMIC_MOVE);
            todo.add(to);
        }
        return true;
    }

    /**
     * {@link #delete} through the acting broker: the same way, entries named by their bytes (names that are not
     * UTF-8 included).
     */
    void actingDelete(String entry) throws IOException {
        String prefix = ".davit-del-" + dev.davit.oci.internal.RandomHex.of(4) + "-";
        long n = 0;
        long seen = 0;
        java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>();
        if (!actingDeleteOrMove(top, entry.getBytes(StandardCharsets.UTF_8), (prefix + n).getBytes(
                StandardCharsets.UTF_8))) {
            return;
        }
        todo.add(prefix + n++);
        while (!todo.isEmpty()) {
            String d = todo.poll();
            try (Dir dir = top.dir(d)) {
                List<byte[]> entries = DirNames.actingRawNames(dir);
                seen += entries.size();
                if (seen > Budget.MAX_ENTRIES) {
                    throw new IOException("more than " + Budget.MAX_ENTRIES + " entries under " + join(name, entry)
                            + " while deleting it");
                }
                for (byte[] e : entries) {
                    String to = prefix + n;
                    if (actingDeleteOrMove(dir, e, to.getBytes(StandardCharsets.UTF_8))) {
                        todo.add(to);
                        n++;
                    }
                }
            } catch (IOException e) {
                if (!Dir.ledOut(e) && !(e instanceof NoSuchFileException)) {
                    throw e;
                }
                // swapped for a link or file meanwhile: removed below as what it is now
            }
            Stat now = top.stat(d);
            if (now != null) {
                byte[] b = d.getBytes(StandardCharsets.UTF_8);
                try {
                    acting.unlink(fd, b, now.isDirectory());
                } catch (ErrnoException e) {
                    if (e.errno() == Errno.EISDIR || e.errno() == Errno.ENOTDIR || e.errno() == Errno.EPERM) {
                        actingUnlink(top, b, !now.isDirectory()); // swapped meanwhile: removed as what it is now
                    } else if (e.errno() != Errno.ENOENT) {
                        throw failed(e, join(name, d));
                    }
                }
            }
        }
    }

    private void actingUnlink(Dir in, byte[] entry, boolean dir) throws IOException {
        try {
            acting.unlink(in.fd, entry, dir);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.ENOENT) {
                throw failed(e, join(in.name, new String(entry, StandardCharsets.UTF_8)));
            }
        }
    }

    /**
     * Removes entry {@code entry} of {@code in} through the acting broker when it is not a directory; a directory
     * is renamed to {@code to} in this directory. Returns whether it was a directory.
     */
    private boolean actingDeleteOrMove(Dir in, byte[] entry, byte[] to) throws IOException {
        Stat st;
        int f;
        try {
            f = sys.openat2(in.fd, entry, Sys.O_PATH | Sys.O_NOFOLLOW | Sys.O_CLOEXEC, Sys.STRICT);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENOENT) {
                return false;
            }
            throw failed(e, join(in.name, new String(entry, StandardCharsets.UTF_8)));
        }
        try {
            st = sys.stat(f);
        } finally {
            sys.close(f);
        }
        if (!st.isDirectory()) {
            actingUnlink(in, entry, false);
            return false;
        }
        try {
            acting.rename(in.fd, entry, fd, to);
        } catch (ErrnoException e) {
            throw failed(e, join(in.name, new String(entry, StandardCharsets.UTF_8)));
        }
        return true;
    }
}
