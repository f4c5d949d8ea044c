package dev.davit.mcp;

import dev.davit.oci.DavitException;

/**
 * The checks of {@code davit mcp serve}'s options that both doors make before a server is built, in the flags' words:
 * the CLI ({@code McpCommand}) prints them as they are, {@link DavitTools.Options} says them as its methods and the
 * Spring Boot starter as its properties.
 */
public final class ServeOptions {
    private ServeOptions() {
    }

    /**
     * The bounds of the serve options that stand alone, in {@code davit mcp serve}'s words ({@code DavitTools.Options}
     * says them as its methods): a profile of tools, at least one workspace, no more warm sandboxes than workspaces,
     * a disk limit davit can make, and limits this host enforces unless the operator allows it unlimited.
     *
     * @param unlimited      why this host cannot enforce memory and CPU limits ({@code Limits.unenforceable}), or null
     * @param allowUnlimited whether to serve anyway ({@code --allow-unlimited})
     * @throws DavitException USAGE naming the flag out of its bounds
     */
    public static void checkOptions(String tools, int maxWorkspaces, int warm, long maxDisk, String unlimited,
                                    boolean allowUnlimited) {
        DavitMcpServer.checkTools(tools);
        String wrong = maxWorkspaces < 1 ? "--max-workspaces must be at least 1, got " + maxWorkspaces
                : warm < 0 || warm > maxWorkspaces ? "--warm must be between 0 and --max-workspaces (" + maxWorkspaces
                        + "), got " + warm
                : maxDisk < dev.davit.sandbox.Limits.MIN_DISK_MIB || maxDisk > 1L << 30 ? "--max-disk must be between "
                        + dev.davit.sandbox.Limits.MIN_DISK_MIB + " and " + (1L << 30) + " MiB, got " + maxDisk
                : unlimited != null && !allowUnlimited ? "memory and CPU limits cannot be enforced here (" + unlimited
                        + "), so a model's sandboxes and the server's totals would be unbounded; run the server as root"
                        + " or with a delegated cgroup v2, or pass --allow-unlimited to serve without them"
                : null;
        if (wrong != null) {
            throw new DavitException(DavitException.Kind.USAGE, wrong);
        }
    }

    /**
     * {@code --publish-ports}' value, {@code LOW-HIGH} (or one port), as its two ends; the range itself is checked
     * with the other scope settings.
     *
     * @throws DavitException USAGE when it is no such range, in the flag's words
     */
    public static int[] portRange(String ports) {
        String[] p = String.valueOf(ports).split("-", -1);
        try {
            if (p.length == 1 || p.length == 2) {
                return new int[] {Integer.parseInt(p[0].strip()), Integer.parseInt(p[p.length - 1].strip())};
            }
        } catch (NumberFormatException e) {
            // the error below
        }
        throw new DavitException(DavitException.Kind.USAGE, "--publish-ports needs LOW-HIGH (e.g. 1024-65535), got '"
                + ports + "'");
    }
}
