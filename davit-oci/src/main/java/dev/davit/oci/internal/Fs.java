package dev.davit.oci.internal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/** File-system helpers for crash-safe writes: temp file, fsync, atomic rename, fsync of the directory. */
public final class Fs {
    private Fs() {
    }

    /** Writes {@code data} to {@code target} atomically: a temp file in {@code tmpDir}, fsync, rename. */
    public static void writeAtomically(Path target, byte[] data, Path tmpDir) throws IOException {
        write(target, data, tmpDir, true);
    }

    /**
     * Writes {@code data} to {@code target} atomically (a temp file in {@code tmpDir}, rename: every reader sees the
     * old or the new content) without forcing it to disk: for records that mean nothing after a reboot (process ids,
     * cgroup paths), where forcing only slows every run down (a one-shot run writes three such records). After a
     * crash such a record may be missing or empty; its readers treat that as "from an earlier boot".
     */
    public static void writeAtomicallyUntilReboot(Path target, byte[] data, Path tmpDir) throws IOException {
        write(target, data, tmpDir, false);
    }

    private static final java.nio.file.attribute.FileAttribute<?> OWNER_ONLY =
            java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));

    private static void write(Path target, byte[] data, Path tmpDir, boolean durable) throws IOException {
        Files.createDirectories(tmpDir);
        Path tmp;
        FileChannel opened;
        while (true) {
            // named and created as Files.createTempFile would (owner-only, never an existing file), but its names come
            // from SecureRandom, whose first use builds the provider framework (~4 ms of a run or a warm pull)
            tmp = tmpDir.resolve("." + target.getFileName() + "." + dev.davit.oci.internal.RandomHex.of(8) + ".tmp");
            try {
                opened = FileChannel.open(tmp, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                        OWNER_ONLY);
                break;
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // another name
            }
        }
        try {
            try (FileChannel ch = opened) {
                var bb = java.nio.ByteBuffer.wrap(data);
                while (bb.hasRemaining()) {
                    ch.write(bb);
                }
                if (durable) {
                    ch.force(true);
                }
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            if (durable) {
                fsyncDir(target.toAbsolutePath().getParent());
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Forces a file's content to disk. */
    public static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /**
     * Copies {@code from} to the new file {@code to}: a copy-on-write clone ({@code cp --reflink=always}) where the
     * file system can make one, else a plain copy with the attributes.
     */
    public static void cloneOrCopy(Path from, Path to) throws IOException {
        if (!reflink(from, to)) {
            Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
        }
    }

    private static boolean reflink(Path from, Path to) {
        try {
            Process p = new ProcessBuilder("cp", "--reflink=always", "--", from.toString(), to.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (p.waitFor() == 0) {
                return true;
            }
            Files.deleteIfExists(to);
            return false;
        } catch (IOException ex) {
            return false;
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Makes a rename durable. Best effort: some file systems refuse to open directories. */
    public static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // not supported here; the rename itself is still atomic
        }
    }

    /**
     * Deletes a file or a directory tree without following links; directories are made writable first (a
     * rootless unpack may have applied read-only modes). A missing path is not an error. No recursion and no long
     * path: each directory met is first renamed into {@code top} under a temp name and emptied there, so a tree of
     * any depth (or with paths past PATH_MAX, or names that are not UTF-8) is deleted with paths of two names below
     * {@code top}. For trees nothing else changes meanwhile (a stopped sandbox's state, davit's own).
     */
    public static void deleteTree(Path top) throws IOException {
        if (!Files.exists(top, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!Files.isDirectory(top, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Files.delete(top);
            return;
        }
        String prefix = ".davit-del-" + dev.davit.oci.internal.RandomHex.of(4) + "-";
        long n = 0;
        java.util.ArrayDeque<Path> todo = new java.util.ArrayDeque<>();
        todo.add(top);
        while (!todo.isEmpty()) {
            Path d = todo.poll();
            writable(d);
            List<Path> entries = new java.util.ArrayList<>();
            try (java.nio.file.DirectoryStream<Path> s = Files.newDirectoryStream(d)) {
                s.forEach(entries::add); // the JDK's paths keep a name's bytes as they are
            }
            for (Path e : entries) {
                if (Files.isDirectory(e, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    writable(e); // moving a directory to another parent writes its ".."
                    Path to;
                    do {
                        to = top.resolve(prefix + n++);
                    } while (Files.exists(to, java.nio.file.LinkOption.NOFOLLOW_LINKS));
                    Files.move(e, to, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    todo.add(to);
                } else {
                    Files.delete(e);
                }
            }
            if (!d.equals(top)) {
                Files.delete(d);
            }
        }
        Files.delete(top);
    }

    private static void writable(Path d) throws IOException {
        if ((((Integer) Files.getAttribute(d, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS)) & 0700)
                != 0700) {
            Files.setAttribute(d, "unix:mode", 0700); // a directory (checked): chmod by path, even at mode 000
        }
    }
}
