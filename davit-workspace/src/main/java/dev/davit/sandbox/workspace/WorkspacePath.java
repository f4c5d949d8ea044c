package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.util.ArrayList;
import java.util.List;

/**
 * A path inside /workspace as a caller gives it, checked and normalised: relative, no {@code ..}, no NUL. The kernel
 * then resolves it inside the tree (see {@link dev.davit.sandbox.fs.Dir}), refusing any link on the way.
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
}
