package dev.davit.cli.mcp;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the server lets a model do: host paths only under {@code --allow-path} directories (resolved with symlinks
 * and {@code ..} first), the network only with {@code --allow-network}, at most {@code maxWorkspaces} workspaces, and
 * a TTL for the workspaces it creates.
 */
record Policy(List<Path> allowedPaths, boolean allowNetwork, int maxWorkspaces, Duration workspaceTtl,
              Path davitHome) {
    Policy {
        List<Path> real = new ArrayList<>();
        for (Path p : allowedPaths) {
            try {
                real.add(p.toRealPath());
            } catch (IOException e) {
                throw new DavitException(DavitException.Kind.USAGE, "--allow-path " + p + " is not an existing"
                        + " directory; create it or give another");
            }
            if (!Files.isDirectory(real.getLast())) {
                throw new DavitException(DavitException.Kind.USAGE, "--allow-path " + p + " is not a directory");
            }
        }
        allowedPaths = List.copyOf(real);
    }

    /** {@code arguments[arg]}, a host path, as its real path under an allowed directory; else an error naming why. */
    Path hostPath(Map<String, Object> arguments, String arg) {
        String given = (String) arguments.get(arg);
        if (allowedPaths.isEmpty()) {
            throw Tool.invalid("host paths are off: this server was started without --allow-path, so '" + arg
                    + "' cannot be used; leave it out (write files with workspace_file_write instead) or ask the"
                    + " user to restart the server with --allow-path DIR");
        }
        Path p = Path.of(given);
        if (!p.isAbsolute()) {
            throw Tool.invalid("'" + arg + "' must be an absolute host path under " + allowed());
        }
        Path real;
        try {
            real = p.toRealPath();
        } catch (IOException e) {
            throw Tool.invalid("'" + arg + "': no such file or directory " + given);
        }
        for (Path a : allowedPaths) {
            if (real.startsWith(a)) {
                return real;
            }
        }
        throw Tool.invalid("'" + arg + "': " + given + " is outside the allowed host paths (" + allowed()
                + "); use a path under one of them");
    }

    /**
     * {@code arguments[arg]}, a host path to write that may not exist yet: its parent directory (resolved) must be
     * under an allowed directory, and the path itself, when it exists, must not be a symlink leading elsewhere.
     */
    Path hostDest(Map<String, Object> arguments, String arg) {
        String given = (String) arguments.get(arg);
        Path p = Path.of(given);
        if (allowedPaths.isEmpty() || !p.isAbsolute() || p.getParent() == null || p.getFileName() == null
                || p.getFileName().toString().equals("..")) {
            return hostPath(arguments, arg); // the same errors: host paths off, not absolute
        }
        if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return hostPath(arguments, arg);
        }
        Map<String, Object> parent = Map.of(arg, p.getParent().toString());
        return hostPath(parent, arg).resolve(p.getFileName().toString());
    }

    private String allowed() {
        return String.join(", ", allowedPaths.stream().map(Path::toString).toList());
    }

    /** Refuses {@code network: true} unless the server allows the network. */
    void network(Map<String, Object> arguments) {
        if (Boolean.TRUE.equals(arguments.get("network")) && !allowNetwork) {
            throw Tool.invalid("the network is off: this server was started without --allow-network; run without"
                    + " 'network' or ask the user to restart the server with --allow-network");
        }
    }

    /** Refuses a new workspace when {@code maxWorkspaces} exist. */
    void roomForWorkspace() {
        int n = Workspaces.under(davitHome).list().size();
        if (n >= maxWorkspaces) {
            throw Tool.invalid("there are already " + n + " workspaces (this server allows " + maxWorkspaces
                    + ", --max-workspaces); delete one with workspace_delete first (workspace_list shows them)");
        }
    }
}
