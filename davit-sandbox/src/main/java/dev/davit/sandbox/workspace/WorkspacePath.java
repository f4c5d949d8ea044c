package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A path inside /workspace, resolved on the host side component by component without following links: relative,
 * no {@code ..}, and no symbolic link on the way (a link in the workspace may name anything, e.g. {@code /etc}, and
 * the host would follow it from its own root).
 */
final class WorkspacePath {
    private WorkspacePath() {
    }

    /** The normalised relative form of {@code path} ({@code ""} for /workspace itself), or a usage error. */
    static String normalise(String path) {
        if (path == null || path.isEmpty() || path.equals(".")) {
            return "";
        }
        if (path.startsWith("/")) {
            throw new DavitException(Kind.USAGE, "'" + path + "' is an absolute path; give a path relative to"
                    + " /workspace");
        }
        if (path.indexOf('\0') >= 0) {
            throw new DavitException(Kind.USAGE, "the path holds a NUL byte; give a path relative to /workspace");
        }
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) {
            if (p.equals("..")) {
                throw new DavitException(Kind.USAGE, "'" + path + "' leads out of /workspace (..); give a path"
                        + " inside it");
            }
            if (!p.isEmpty() && !p.equals(".")) {
                parts.add(p);
            }
        }
        return String.join("/", parts);
    }

    /**
     * The host path of {@code path} under {@code root} (the host path of /workspace). Every existing component
     * before the last must be a directory, never a link; the last may be anything (callers check), or missing.
     */
    static Path resolve(Path root, String path) {
        if (Files.isSymbolicLink(root) || !Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.USAGE, "/workspace is no longer a directory in the sandbox (replaced by a"
                    + " link or file); remove the workspace and create it again");
        }
        String rel = normalise(path);
        Path p = root;
        if (rel.isEmpty()) {
            return p;
        }
        String[] parts = rel.split("/");
        for (int i = 0; i < parts.length; i++) {
            p = p.resolve(parts[i]);
            if (i < parts.length - 1) {
                if (Files.isSymbolicLink(p)) {
                    throw new DavitException(Kind.USAGE, "'" + path + "' goes through the symbolic link '"
                            + String.join("/", java.util.Arrays.copyOf(parts, i + 1))
                            + "'; give the path without links");
                }
                if (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new DavitException(Kind.USAGE, "'" + String.join("/", java.util.Arrays.copyOf(parts, i + 1))
                            + "' is not a directory; check the path");
                }
            }
        }
        return p;
    }

    /** {@link #resolve}, refusing a link as the last component too (for reads: the host would follow it). */
    static Path resolveNoLink(Path root, String path) {
        Path p = resolve(root, path);
        if (Files.isSymbolicLink(p)) {
            throw new DavitException(Kind.USAGE, "'" + path + "' is a symbolic link; give the path it names"
                    + " (inside /workspace)");
        }
        return p;
    }
}
