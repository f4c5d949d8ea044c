package dev.davit.oci.build;

import com.github.luben.zstd.ZstdInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/** Source trees for build tests, and reading layers back with an independent tar reader (commons-compress). */
final class LayerFiles {
    private LayerFiles() {
    }

    /** A path over 100 bytes, so it needs a pax header. */
    static final String LONG_NAME = "deep/" + "a-rather-long-directory-name-for-testing/".repeat(3) + "file-with-a-long-name.txt";
    /**
     * Whether the JVM can name non-ASCII files: it decodes file names with {@code sun.jnu.encoding}, which follows
     * the locale ({@code LANG=C} gives ASCII).
     */
    static final boolean UNICODE_NAMES = "UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding"));
    /** A non-ASCII name, also pax (only in trees made when {@link #UNICODE_NAMES}). */
    static final String UNICODE_NAME = "docs/caf\u00e9-\u65e5\u672c.txt";

    /**
     * Writes a tree with nested directories, an executable, a private file, a symlink to a file, a dangling
     * symlink, a symlink to a directory outside the tree, two hardlinked files, a long and a non-ASCII name, an
     * empty directory and an empty file; mtimes are set to something other than 0.
     */
    static Path sampleTree(Path dir, Path outside) {
        try {
            Files.createDirectories(dir);
            write(dir.resolve("hello.txt"), "hello\n");
            write(dir.resolve("bin/run.sh"), "#!/bin/sh\necho run\n");
            Files.setPosixFilePermissions(dir.resolve("bin/run.sh"), PosixFilePermissions.fromString("rwxr-xr-x"));
            write(dir.resolve("etc/secret"), "s3cret\n");
            Files.setPosixFilePermissions(dir.resolve("etc/secret"), PosixFilePermissions.fromString("rw-------"));
            write(dir.resolve("etc/app.conf"), "key=value\n");
            Files.createSymbolicLink(dir.resolve("etc/link.conf"), Path.of("app.conf"));
            Files.createSymbolicLink(dir.resolve("dangling"), Path.of("/does/not/exist"));
            Files.createDirectories(outside);
            write(outside.resolve("not-in-the-layer.txt"), "outside\n");
            Files.createSymbolicLink(dir.resolve("outside-link"), outside);
            write(dir.resolve("data/a.bin"), "same inode\n");
            Files.createLink(dir.resolve("data/b.bin"), dir.resolve("data/a.bin"));
            write(dir.resolve(LONG_NAME), "long\n");
            if (UNICODE_NAMES) {
                write(dir.resolve(UNICODE_NAME), "unicode\n");
            }
            Files.createDirectories(dir.resolve("empty-dir"));
            write(dir.resolve("empty-file"), "");
            touchAll(dir, Instant.parse("2021-06-01T12:00:00Z"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void write(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, content, StandardCharsets.UTF_8);
    }

    /** Sets the mtime of every file and directory (not following symlinks) under {@code dir}. */
    static void touchAll(Path dir, Instant time) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                if (!Files.isSymbolicLink(p)) {
                    Files.setLastModifiedTime(p, FileTime.from(time));
                }
            }
        }
    }

    /** One entry as read back. */
    record Entry(String name, char type, int mode, long uid, long gid, String uname, String gname, long mtime,
                 String linkName, byte[] content) {
        String text() {
            return new String(content, StandardCharsets.UTF_8);
        }
    }

    /** The uncompressed tar of a layer blob. */
    static byte[] decompress(byte[] blob, Compression c) {
        try {
            InputStream in = switch (c) {
                case GZIP -> new GZIPInputStream(new ByteArrayInputStream(blob));
                case ZSTD -> new ZstdInputStream(new ByteArrayInputStream(blob));
                case NONE -> new ByteArrayInputStream(blob);
            };
            try (in) {
                return in.readAllBytes();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every entry of an uncompressed tar, in archive order, read by commons-compress. */
    static List<Entry> entries(byte[] tar) {
        List<Entry> out = new ArrayList<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(tar),
                StandardCharsets.UTF_8.name())) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                char type = e.isDirectory() ? '5' : e.isSymbolicLink() ? '2' : e.isLink() ? '1' : '0';
                out.add(new Entry(e.getName(), type, e.getMode(), e.getLongUserId(), e.getLongGroupId(),
                        e.getUserName(), e.getGroupName(), e.getLastModifiedTime().toInstant().getEpochSecond(),
                        e.getLinkName(), in.readAllBytes()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
