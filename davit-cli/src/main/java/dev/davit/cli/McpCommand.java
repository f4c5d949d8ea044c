package dev.davit.cli;

import dev.davit.cli.mcp.DavitMcpServer;
import dev.davit.cli.mcp.McpServe;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.client.DavitHome;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code davit mcp serve}: environments, one-shot runs and workspaces as MCP tools for agents. */
@Command(name = "mcp", mixinStandardHelpOptions = true,
        description = "The MCP server: davit's runs and workspaces as tools for coding agents (see docs/MCP.md).",
        subcommands = McpCommand.ServeCmd.class)
final class McpCommand extends GroupCommand {
    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = {"Serve MCP over stdio (default) or streamable HTTP (--http).",
                "Safe by default: no host paths (--allow-path), no network (--allow-network), at most 8 workspaces,"
                    + " each removed after --ttl seconds while the server runs."})
    static final class ServeCmd extends DavitCommand {
        @Option(names = "--http", paramLabel = "[HOST:]PORT", description = "Serve streamable HTTP at"
                + " http://HOST:PORT/mcp instead of stdio (HOST default 127.0.0.1; PORT 0 = any free port). Every"
                + " request needs 'Authorization: Bearer TOKEN'; requests from non-loopback Origins are refused.")
        String http;

        @Option(names = "--token-file", paramLabel = "FILE", description = "The bearer token for --http (default: a"
                + " new random one written 0600 to $DAVIT_HOME/mcp/token).")
        Path tokenFile;

        @Option(names = "--tools", paramLabel = "SET", description = "run (run, env_list, env_pull), core (those and"
                + " the workspace create/exec/file/diff/reset/delete tools; default) or full (every tool).")
        String tools = "core";

        @Option(names = "--allow-registry", paramLabel = "HOST", description = "Let run and workspace_create pull"
                + " images from this registry (e.g. ghcr.io, 127.0.0.1:5000; repeatable; default: none: the"
                + " catalog's environments and images already in the store only).")
        List<String> allowRegistries = new ArrayList<>();

        @Option(names = "--allow-path", paramLabel = "DIR", description = "Let tools use host paths (workspace"
                + " seeds, push, export) under DIR (repeatable; default: none).")
        List<Path> allowPaths = new ArrayList<>();

        @Option(names = "--allow-network", description = "Let run and workspace_create ask for a NAT network"
                + " (default: never).")
        boolean allowNetwork;

        @Option(names = "--max-workspaces", paramLabel = "N", description = "Refuse workspace_create when N"
                + " workspaces exist (default 8).")
        int maxWorkspaces = 8;

        @Option(names = "--max-disk", paramLabel = "MiB", description = "The most disk a run or workspace may ask"
                + " for ('disk'; default 10240, also what one gets when it asks for none).")
        long maxDisk = dev.davit.sandbox.Limits.DEFAULT_DISK_MIB;

        @Option(names = "--ttl", paramLabel = "S", description = "The TTL of workspaces created without one, in"
                + " seconds (default 3600); expired workspaces are removed every minute while the server runs.")
        double ttl = 3600;

        @Option(names = "--cleanup-on-exit", description = "Remove the workspaces this server created when it exits"
                + " (default: they stay until their TTL).")
        boolean cleanupOnExit;

        @Option(names = "--warm", paramLabel = "N", description = "Keep N started sandboxes ready per kind of"
                + " workspace asked for (its environment and resources), so that workspace_create finds one running"
                + " (default 0: none). They count against --max-workspaces and give way to workspaces; each goes to"
                + " one workspace only. Removed when the server exits.")
        int warm;

        @Override
        protected int run(Output out) {
            DavitMcpServer.checkTools(tools);
            if (maxWorkspaces < 1) {
                throw new DavitException(Kind.USAGE, "--max-workspaces must be at least 1");
            }
            if (warm < 0 || warm > maxWorkspaces) {
                throw new DavitException(Kind.USAGE, "--warm must be between 0 and --max-workspaces (" + maxWorkspaces
                        + "), got " + warm);
            }
            if (maxDisk < dev.davit.sandbox.Limits.MIN_DISK_MIB || maxDisk > 1L << 30) {
                throw new DavitException(Kind.USAGE, "--max-disk must be between "
                        + dev.davit.sandbox.Limits.MIN_DISK_MIB + " and " + (1L << 30) + " MiB, not " + maxDisk);
            }
            Duration limit = CliArgs.seconds(ttl, "--ttl");
            Path home = DavitHome.resolve(main.env());
            if (tokenFile != null && http == null) {
                throw new DavitException(Kind.USAGE, "--token-file is for --http; stdio needs no token");
            }
            String host = "127.0.0.1";
            int port = -1;
            if (http != null) {
                int colon = http.lastIndexOf(':');
                String p = colon < 0 ? http : http.substring(colon + 1);
                if (colon > 0) {
                    host = http.substring(0, colon);
                }
                try {
                    port = Integer.parseInt(p);
                } catch (NumberFormatException e) {
                    port = -1;
                }
                if (port < 0 || port > 65535) {
                    throw new DavitException(Kind.USAGE, "--http needs [HOST:]PORT with PORT 0-65535, got '" + http
                            + "'");
                }
            }
            DavitMcpServer server = new DavitMcpServer(new DavitMcpServer.Options(tools, allowPaths, allowNetwork,
                    maxWorkspaces, limit, cleanupOnExit, home, main.env(), System.err, Main.version(),
                    allowRegistries, warm, maxDisk));
            OutputStream protocol = http == null ? McpServe.takeStdout() : null;
            try {
                if (http == null) {
                    McpServe.stdio(server, System.in, protocol);
                    return 0;
                }
                Path defaultToken = home.resolve("mcp").resolve("token");
                String token = McpServe.token(tokenFile, defaultToken);
                String h = host;
                var jetty = McpServe.http(server, host, port, token, bound -> out.warn("MCP server on http://"
                        + (h.contains(":") ? "[" + h + "]" : h) + ":" + bound + McpServe.ENDPOINT
                        + " (bearer token in " + (tokenFile != null ? tokenFile : defaultToken) + ")"));
                jetty.join();
                return 0;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 0;
            } catch (DavitException e) {
                throw e;
            } catch (Exception e) {
                throw new DavitException(Kind.USAGE, "cannot serve on " + http + ": " + e.getMessage()
                        + "; pick another port");
            } finally {
                server.close();
            }
        }
    }
}
