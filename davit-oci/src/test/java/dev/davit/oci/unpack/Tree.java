package dev.davit.oci.unpack;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SortedMap;
import java.util.TreeMap;

/** A snapshot of a directory tree for comparisons: every path below the root, never following links. */
final class Tree {
    private Tree() {
    }

    /**
     * One path.
     *
     * @param type    {@code dir}, {@code file}, {@code symlink}, {@code fifo}, {@code char}, {@code block} or
     *                {@code other}
     * @param mode    permission bits with set-uid, set-gid and sticky (0 for links)
     * @param target  a link's target, else null
     * @param content sha256 of a file's content, else null
     * @param nlink   a file's link count, else 0
     */
    record Node(String type, int mode, String target, String content, int nlink) {
        @Override
        public String toString() {
            return type + " " + Integer.toOctalString(mode) + (target != null ? " -> " + target : "")
                    + (content != null ? " " + content.substring(0, 12) : "") + (nlink > 1 ? " nlink=" + nlink : "");
        }
    }

    /** Every path below {@code root} (relative, {@code /}-separated), the root itself excluded. */
    static SortedMap<String, Node> of(Path root) {
        SortedMap<String, Node> out = new TreeMap<>();
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) throws IOException {
                    if (!d.equals(root)) {
                        out.put(rel(root, d), node(d));
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                    out.put(rel(root, f), node(f));
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    static Node node(Path p) throws IOException {
        int m = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        String type = switch (m & 0170000) {
            case 0040000 -> "dir";
            case 0100000 -> "file";
            case 0120000 -> "symlink";
            case 0010000 -> "fifo";
            case 0020000 -> "char";
            case 0060000 -> "block";
            default -> "other";
        };
        return switch (type) {
            case "symlink" -> new Node(type, 0, Files.readSymbolicLink(p).toString(), null, 0);
            case "file" -> new Node(type, m & 07777, null, sha256(p),
                    (Integer) Files.getAttribute(p, "unix:nlink", LinkOption.NOFOLLOW_LINKS));
            default -> new Node(type, m & 07777, null, null, 0);
        };
    }

    private static String rel(Path root, Path p) {
        return root.relativize(p).toString();
    }

    private static String sha256(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0;) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
