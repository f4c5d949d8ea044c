package dev.davit.cli;

import dev.davit.cli.words.CliWords;
import dev.davit.mcp.DavitMcpServer;
import dev.davit.mcp.McpServe;
import dev.davit.mcp.ServeOptions;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.client.DavitHome;
import dev.davit.sandbox.Limits;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code davit mcp serve}: environments, one-shot runs and workspaces as MCP tools for agents. */
@Command(name = "mcp", mixinStandardHelpOptions = true,
        description = "The MCP server: davit's runs and workspaces as tools for coding agents (see docs/reference/MCP.md).",
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

        @Option(names = "--tls-cert", paramLabel = "FILE", description = "With --http: serve HTTPS with this PEM"
                + " certificate chain, leaf first (a TLS Secret's tls.crt); reloaded when the file changes.")
        Path tlsCert;

        @Option(names = "--tls-key", paramLabel = "FILE", description = "With --tls-cert: the certificate's PEM"
                + " private key (a TLS Secret's tls.key).")
        Path tlsKey;

        @Option(names = "--tools", paramLabel = "SET", description = "run (run, environment_list, environment_pull), core (those and"
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

        @Option(names = "--allow-egress", split = ",", paramLabel = "HOST|CIDR|PRESET[,...]", hideParamSyntax = true,
            description = "Let run,"
                + " workspace_create and workspace_network ask for an egress policy whose allow entries lie within"
                + " these: a name (pypi.org, *.githubusercontent.com, registry.npmjs.org:443), an IPv4 network"
                + " (203.0.113.0/24[:PORT]) or a preset (debian, github, maven, npm, pypi). Repeatable;"
                + " comma-separated values too (default: none: a model's policy is refused). --allow-network is a"
                + " separate grant.")
        List<String> allowEgress = new ArrayList<>();

        @Option(names = "--trust-ca", paramLabel = "FILE|host", description = "Add these CA certificates (a PEM"
                + " file, or 'host' for this host's trust store) to the trust store of every workspace the server"
                + " makes, e.g. a TLS-intercepting proxy's CA (repeatable; default: DAVIT_TRUST_CA, else none). The"
                + " model cannot change it.")
        List<String> trustCa = new ArrayList<>();

        @Option(names = "--max-workspaces", paramLabel = "N", description = "Refuse workspace_create when N"
                + " workspaces of this server exist (default 8; the operator's do not count).")
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

        @Option(names = "--owner", paramLabel = "NAME", description = "The owner recorded on every workspace this"
                + " server creates (default mcp); the model reaches only those (and --share-workspace ones). Give"
                + " servers on one DAVIT_HOME different names to keep their workspaces apart.")
        String owner = "mcp";

        @Option(names = "--share-workspace", paramLabel = "NAME[:ro|:rw]", description = "Hand the model an"
                + " existing workspace of the operator's (repeatable): ro (default) for the tools that only read,"
                + " rw for every tool but workspace_delete and workspace_update.")
        List<String> shares = new ArrayList<>();

        @Option(names = "--commit-to", paramLabel = "REGISTRY/PREFIX", description = "Let workspace_commit name"
                + " images under this repository prefix (repeatable; e.g. 127.0.0.1:5000/agents), and push them there"
                + " when asked; default: none (the tool is refused).")
        List<String> commitTo = new ArrayList<>();

        @Option(names = "--isolate-sessions", description = "With --http: each MCP session sees only the workspaces"
                + " it created (default: every session of this server sees all of the server's).")
        boolean isolateSessions;

        @Option(names = "--publish-ports", paramLabel = "LOW-HIGH", description = "The host ports a model may publish"
                + " on 127.0.0.1 (default 1024-65535; 0, a free port, always).")
        String publishPorts = "1024-65535";

        @Option(names = "--max-memory", paramLabel = "MiB", description = "The memory of all sandboxes of this davit"
                + " home together, enforced by one parent cgroup; workspace_create and run count 1024 MiB each and"
                + " wait or are refused past it (default: the host's RAM less an eighth, at least 2048 MiB; with"
                + " --backend k8s alone, none: the namespace's ResourceQuota is the total).")
        Long maxMemory;

        @Option(names = "--max-cpus", paramLabel = "N", description = "The CPU time of all sandboxes together, in"
                + " CPUs, shared by those that run, and the most one may ask for (default: the host's CPU count; at"
                + " least 1). With --backend k8s alone: no total (the namespace's ResourceQuota is the cluster's),"
                + " only the most one sandbox may ask for.")
        Double maxCpus;

        @Option(names = "--allow-unlimited", description = "Serve even where memory and CPU limits and the totals"
                + " cannot be enforced (no cgroup davit can make: rootless without a delegated cgroup v2); each"
                + " sandbox's processes are still bounded by RLIMIT_NPROC. Without it such a server refuses to start"
                + " (exit 2).")
        boolean allowUnlimited;

        @Option(names = "--backend", split = ",", paramLabel = "BACKEND[,BACKEND...]", hideParamSyntax = true,
            description = "Where the model's sandboxes run: container, vm or k8s (pods of the cluster of KUBECONFIG,"
                + " docs/reference/KUBERNETES.md); comma-separated or repeated. An environment runs on the first of these that"
                + " takes it (a microVM environment on vm, an image or root filesystem on container or k8s), and a"
                + " call's 'backend' may ask for another of these only (default: container,vm).")
        List<String> backends = new ArrayList<>();

        @Option(names = "--max-runs", paramLabel = "N", description = "One-shot runs at once; more wait for one to"
                + " end (up to 60 s), then are refused (default 4).")
        Integer maxRuns;

        @Override
        protected int run(Output out) {
            if (isolateSessions && http == null) {
                throw new DavitException(Kind.USAGE, "--isolate-sessions is for --http; stdio has one session");
            }
            int[] range = ServeOptions.portRange(publishPorts);
            // with every sandbox a pod of the cluster (--backend k8s), the cluster enforces their limits: what this
            // host's cgroups and file systems can do does not matter
            boolean onlyCluster = DavitMcpServer.onlyCluster(backends);
            String unlimited = onlyCluster ? null : Limits.unenforceable();
            ServeOptions.checkOptions(tools, maxWorkspaces, warm, maxDisk, unlimited, allowUnlimited);
            Duration limit = CliArgs.seconds(ttl, "--ttl");
            Path home = DavitHome.resolve(main.env());
            if (tokenFile != null && http == null) {
                throw new DavitException(Kind.USAGE, "--token-file is for --http; stdio needs no token");
            }
            if ((tlsCert != null || tlsKey != null) && http == null) {
                throw new DavitException(Kind.USAGE, (tlsCert != null ? "--tls-cert" : "--tls-key") + " is for --http;"
                        + " stdio needs no TLS");
            }
            if ((tlsCert == null) != (tlsKey == null)) {
                throw new DavitException(Kind.USAGE, tlsCert == null ? "--tls-key needs --tls-cert, the certificate"
                        + " it is the key of" : "--tls-cert needs --tls-key, the certificate's private key");
            }
            if (tlsCert != null) {
                McpServe.checkTls(tlsCert, tlsKey);
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
            var budget = DavitMcpServer.budget(maxMemory, maxCpus, maxRuns, backends);
            if (unlimited != null) {
                out.warn(ResourceOptions.missingLimits(unlimited) + "; the server's totals (--max-memory, --max-cpus)"
                        + " are not enforced either, only counted (--allow-unlimited)");
            }
            if (!onlyCluster && !dev.davit.sandbox.jail.Disk.available()) {
                out.warn("warning: no disk limit here (without root davit cannot mount a sandbox's disk): a model's"
                        + " workspaces and the layers of its runs can fill the filesystem of " + home + "; only a"
                        + " run's /tmp, /run, /var/tmp and /dev/shm are bounded (--max-disk; \"disk_enforced_by\":"
                        + " \"scratch_tmpfs\" in results)");
            }
            java.util.Map<String, String> env = main.env();
            if (!trustCa.isEmpty()) { // checked now (a bad file is the operator's one-line error), then as the setting
                dev.davit.sandbox.TrustedCas.parse(trustCa, "--trust-ca");
                env = new java.util.HashMap<>(env);
                env.put(dev.davit.sandbox.TrustedCas.ENV, String.join(":", trustCa));
            } else {
                dev.davit.sandbox.TrustedCas.fromEnv(env);
            }
            DavitMcpServer server = new DavitMcpServer(new DavitMcpServer.Options(tools, allowPaths, allowNetwork,
                    maxWorkspaces, limit, cleanupOnExit, home, env, System.err, Main.version(),
                    allowRegistries, warm, budget, maxDisk, CliWords::text), new DavitMcpServer.Scope(owner, shares, isolateSessions,
                    range[0], range[1], allowEgress, commitTo, backends));
            // one line on stderr (stdio's protocol is on stdout): a client that starts the server with a reduced
            // environment drops DAVIT_HOME, and the server would use (and fill) another home without a word;
            // said once the options are taken (a bad one gets its one line alone)
            out.warn("MCP server home: " + home + " (" + homeSource() + ")");
            OutputStream protocol = http == null ? McpServe.takeStdout() : null;
            try {
                if (http == null) {
                    McpServe.stdio(server, System.in, protocol);
                    return 0;
                }
                Path defaultToken = home.resolve("mcp").resolve("token");
                String token = McpServe.token(tokenFile, defaultToken);
                String h = host;
                var jetty = McpServe.http(server, host, port, token, tlsCert, tlsKey, bound -> out.warn(
                        "MCP server on " + (tlsCert == null ? "http" : "https") + "://"
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

        /** Where the home came from, for the line the server logs at its start. */
        private String homeSource() {
            if (main.globals().home() != null) {
                return "from --home";
            }
            for (String v : List.of("DAVIT_HOME", "XDG_CACHE_HOME")) {
                String value = main.env().get(v);
                if (value != null && !value.isBlank()) {
                    return "from " + v;
                }
            }
            return "the default: no --home, DAVIT_HOME or XDG_CACHE_HOME";
        }
    }
}
