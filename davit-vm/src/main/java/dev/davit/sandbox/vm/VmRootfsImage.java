package dev.davit.sandbox.vm;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The microVM's root disk (see {@link VmImages#buildRootfsImage}): an ext4 image of a root filesystem directory
 * made by {@code mkfs.ext4 -d}, sized for its content, and made reproducible (times, owners) with {@code debugfs}.
 */
final class VmRootfsImage {
    private static final long MIB = 1024 * 1024;

    private final VmImageTools tools;

    VmRootfsImage(VmImageTools tools) {
        this.tools = tools;
    }

    /**
     * {@link VmImages#buildRootfsImage(Path, Path, long, java.time.Instant, Map)}: {@code mkfs.ext4 -d} into a sparse
     * temporary file next to {@code target}, {@link #setInodes} when {@code epoch} or {@code owners} is given, then
     * renamed over {@code target}.
     */
    void build(Path rootfsDir, Path target, long freeBytes, java.time.Instant epoch,
               Map<String, dev.davit.oci.build.BuildOptions.Owner> owners) {
        Path mkfs = tools.tool("mkfs.ext4", "e2fsprogs");
        long[] usage = usage(rootfsDir); // {bytes, inodes}
        long free = freeBytes >= 0 ? freeBytes : Math.max(usage[0] / 2, 256 * MIB);
        long size = roundUp(usage[0] + usage[0] / 10 + free + 64 * MIB, MIB);
        long inodes = usage[1] + usage[1] / 4 + 16384;
        Path tmp = target.resolveSibling("." + target.getFileName() + "." + dev.davit.oci.internal.RandomHex.of(6) + ".tmp");
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            try (var f = new java.io.RandomAccessFile(tmp.toFile(), "rw")) {
                f.setLength(size);
            }
            List<String> cmd = new ArrayList<>(List.of(mkfs.toString(), "-q", "-F", "-t", "ext4", "-L", "davit-root",
                    "-m", "0", "-N", Long.toString(inodes)));
            String extended = "root_owner=0:0,lazy_itable_init=1,lazy_journal_init=1,nodiscard";
            Map<String, String> env = Map.of();
            if (epoch != null) {
                long seconds = Math.max(1, epoch.getEpochSecond());
                String seed = "davit-rootfs:" + size + ":" + inodes + ":" + seconds;
                cmd.addAll(List.of("-U", java.util.UUID.nameUUIDFromBytes(seed.getBytes(StandardCharsets.UTF_8))
                        .toString()));
                extended += ",hash_seed=" + java.util.UUID.nameUUIDFromBytes(("hash:" + seed)
                        .getBytes(StandardCharsets.UTF_8));
                env = Map.of("E2FSPROGS_FAKE_TIME", Long.toString(seconds));
            }
            cmd.addAll(List.of("-E", extended, "-d", rootfsDir.toAbsolutePath().toString(), tmp.toString()));
            VmImageTools.run(cmd, null, null, "mkfs.ext4 could not build " + target.getFileName(), env);
            if (epoch != null || owners != null) {
                setInodes(tmp, epoch == null ? -1 : Math.max(1, epoch.getEpochSecond()), owners);
            }
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Fs.fsyncDir(target.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + target + ": " + e.getMessage());
        } finally {
            VmImageFiles.deleteQuietly(tmp);
        }
    }

    /**
     * Sets the access and change times of every inode mke2fs created to {@code seconds} (unless negative), and
     * their owners as {@code owners} says (unless null). mke2fs 1.47.0 copies times from the source files (where the
     * change time cannot be set, and reading a file moves its access time), so without this two builds of the same
     * tree differ. {@code -d} allocates inodes in order, so the used ones are the root (2) and 11 up to the used
     * count.
     */
    private void setInodes(Path image, long seconds, Map<String, dev.davit.oci.build.BuildOptions.Owner> owners)
            throws IOException {
        Path debugfs = tools.tool("debugfs", "e2fsprogs");
        String stats = new String(VmImageTools.run(List.of(debugfs.toString(), "-R", "stats", image.toString()), null,
                null, "debugfs could not read " + image.getFileName()), StandardCharsets.UTF_8);
        long count = statsField(stats, "Inode count");
        long free = statsField(stats, "Free inodes");
        StringBuilder cmds = new StringBuilder();
        for (long n = 2; n <= count - free; n++) {
            if ((n == 2 || n >= 11) && seconds >= 0) {
                cmds.append("sif <").append(n).append("> atime @").append(seconds).append('\n');
                cmds.append("sif <").append(n).append("> ctime @").append(seconds).append('\n');
            }
            if ((n == 2 || n >= 11) && owners != null) {
                cmds.append("sif <").append(n).append("> uid 0\n");
                cmds.append("sif <").append(n).append("> gid 0\n");
            }
        }
        if (owners != null) {
            for (var e : new java.util.TreeMap<>(owners).entrySet()) {
                String path = e.getKey();
                if (path.isEmpty() || path.indexOf('"') >= 0 || path.chars().anyMatch(c -> c < ' ')) {
                    throw new DavitException(Kind.USAGE, "cannot set the owner of '" + path + "' in "
                            + image.getFileName() + ": debugfs cannot name it; rename it");
                }
                // debugfs does not follow the last component of a path, so a symbolic link's own inode is set
                cmds.append("sif \"/").append(path).append("\" uid ").append(e.getValue().uid()).append('\n');
                cmds.append("sif \"/").append(path).append("\" gid ").append(e.getValue().gid()).append('\n');
            }
        }
        Path script = image.resolveSibling(image.getFileName() + ".debugfs");
        try {
            Files.writeString(script, cmds);
            // debugfs -f exits 0 even when a command fails; it echoes each command and its banner as "debugfs...",
            // so any other line is an error
            ProcessBuilder pb = new ProcessBuilder(debugfs.toString(), "-w", "-f", script.toString(),
                    image.toString()).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
                    new File("/dev/null")));
            if (seconds >= 0) {
                pb.environment().put("E2FSPROGS_FAKE_TIME", Long.toString(seconds)); // its superblock write time too
            }
            Process p = pb.start();
            String out = new String(VmImageTools.readAll(p.getInputStream()), StandardCharsets.UTF_8);
            int rc = p.waitFor();
            String errors = String.join("; ", out.lines().filter(l -> !l.isBlank() && !l.startsWith("debugfs"))
                    .limit(3).toList());
            if (rc != 0 || !errors.isEmpty()) {
                throw new DavitException(Kind.INTERNAL, "debugfs could not set the inode times and owners of "
                        + image.getFileName() + ": " + (errors.isEmpty() ? "exit " + rc : errors));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while debugfs ran");
        } finally {
            Files.deleteIfExists(script);
        }
    }

    private static long statsField(String stats, String name) {
        for (String line : stats.split("\n")) {
            if (line.startsWith(name + ":")) {
                return Long.parseLong(line.substring(name.length() + 1).strip());
            }
        }
        throw new DavitException(Kind.INTERNAL, "debugfs stats has no '" + name + "' line");
    }

    /** {total bytes the content takes in 4 KiB blocks (plus directory blocks), number of inodes}. */
    static long[] usage(Path root) {
        long[] u = new long[2];
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
                    u[0] += 4096;
                    u[1]++;
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) {
                    u[0] += roundUp(a.size(), 4096);
                    u[1]++;
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + root + ": " + e.getMessage());
        }
        return u;
    }

    private static long roundUp(long n, long unit) {
        return (n + unit - 1) / unit * unit;
    }
}
