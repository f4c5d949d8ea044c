package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.client.DavitHome;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import dev.davit.sandbox.workspace.ExecEntry;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceLabels;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.DetachedExec;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit workspace ...}: sandboxes with a seeded /workspace, files and a diff against the baseline. */
@Command(name = "workspace", mixinStandardHelpOptions = true, description = WorkspaceCommand.DESCRIPTION,
        subcommands = {WorkspaceCommand.CreateCmd.class, WorkspaceCommand.ExecCmd.class, WorkspaceCommand.LsCmd.class,
            WorkspaceCommand.StatusCmd.class, WorkspaceCommand.UpdateCmd.class, WorkspaceCommand.StopCmd.class,
            WorkspaceCommand.StartCmd.class, WorkspaceCommand.PauseCmd.class, WorkspaceCommand.ResumeCmd.class,
            WorkspaceCommand.ForkCmd.class, WorkspaceCommand.CommitCmd.class,
            WorkspaceCommand.RmCmd.class, WorkspaceCommand.FileCmd.class, WorkspaceCommand.DiffCmd.class,
            WorkspaceCommand.SnapshotCmd.class, WorkspaceCommand.ResetCmd.class, WorkspaceCommand.LogsCmd.class, WorkspaceCommand.OutputCmd.class,
            WorkspaceCommand.ExecWaitCmd.class, WorkspaceCommand.ExecKillCmd.class, WorkspaceCommand.ExecLsCmd.class,
            WorkspaceCommand.PushCmd.class, WorkspaceCommand.ExportCmd.class, WorkspaceCommand.PatchCmd.class,
            WorkspaceCommand.ReapCmd.class, WorkspaceDiskCommands.DiskCmd.class,
            WorkspaceProcessCommands.ServiceCmd.class, WorkspaceProcessCommands.ShellCmd.class,
            NetworkCommands.WorkspaceNetworkCmd.class})
final class WorkspaceCommand extends GroupCommand {
    static final String DESCRIPTION = "Workspaces: long-lived sandboxes with a /workspace seeded from the host"
            + " (container or vm backend).";

    static Workspaces workspaces(Main main) {
        Path home = DavitHome.resolve(main.env());
        return Workspaces.under(home, EgressOptions.withDns(SandboxOptions.under(home), main.env()));
    }

    /** Prints what was removed: {@code {key: value, "removed": true}}, or the value alone. */
    static int removed(Output out, String key, String value) {
        ObjectNode doc = Json.object();
        doc.put(key, value);
        doc.put("removed", true);
        out.result(doc, p -> p.println(value));
        return 0;
    }

    /** Workspace {@code w} of {@code ws} with its sandbox {@code s}: its status as every door says it. */
    static void print(Output out, Workspaces ws, Workspace w, Sandbox s) {
        boolean paused = ws.paused(s);
        out.result(WorkspaceJson.workspace(w, s, paused), p -> p.println(w.id() + " "
                + WorkspaceJson.status(s, paused)));
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create a workspace over an environment and start it; prints its id.",
                "/workspace is seeded from --seed (a directory or a .tar, .tar.gz, .tar.zst) and recorded as the"
                    + " baseline that 'davit workspace diff' compares with."})
    static final class CreateCmd extends EnvCommand.Sub {
        @Parameters(index = "0", arity = "0..1", paramLabel = "ENV", description = "A catalog environment or an"
                + " image reference (not with --from).")
        String name;

        @Option(names = "--seed", paramLabel = "DIR|TAR", description = "Seed /workspace from this directory or"
                + " archive (default: empty).")
        Path seed;

        @Option(names = "--from", paramLabel = "REF", description = "Make it from a snapshot that travelled ('davit"
                + " workspace snapshot push'): pulled when not in the store, with the environment it names; the"
                + " workspace has its baseline, the snapshot and /workspace as the snapshot has it (a snapshot made"
                + " with --all: what was installed outside /workspace too), and its network, limits, labels and"
                + " variables unless given here.")
        String from;

        @Option(names = "--bundle", paramLabel = "FILE", description = "With --from: take the snapshot from this"
                + " bundle ('workspace snapshot push --bundle'), importing only it and the environment it names.")
        Path bundle;

        @Option(names = "--name", paramLabel = "NAME", description = NAME_TEXT)
        String wsName;

        @Option(names = "--label", paramLabel = "K=V", description = LABEL_TEXT)
        List<String> labels = new ArrayList<>();

        @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = WS_ENV_TEXT)
        List<String> envs = new ArrayList<>();

        @Option(names = {"-p", "--publish"}, paramLabel = "[ADDR:]HOST_PORT:PORT", description = "Forward TCP"
                + " connections to HOST_PORT on the host (127.0.0.1 unless ADDR is given) to PORT in the workspace,"
                + " e.g. for a service; needs --network (repeatable; container backend).")
        List<String> publish = new ArrayList<>();

        @Option(names = "--ttl", paramLabel = "S", description = "'davit workspace reap' removes it S seconds after"
                + " creation (default: never).")
        Double ttl;

        @Option(names = "--network", arity = "0..1", paramLabel = "MODE", preprocessor = NetworkOption.class,
                description = NetworkOption.DESCRIPTION)
        String network;

        @Option(names = "--backend", paramLabel = "BACKEND", description = "container, vm or k8s (default: what the"
                + " environment is; k8s: a pod of the cluster of KUBECONFIG, docs/reference/KUBERNETES.md).")
        String backend;

        @Option(names = "--secret", paramLabel = "NAME[=VALUE]", description = "A secret (repeatable): put into"
                + " the sandbox as /run/secrets/NAME (tmpfs, 0600), redacted from output, logs and errors. Without"
                + " =VALUE the value is davit's own environment variable NAME (off the command line).")
        List<String> secrets = new ArrayList<>();

        @Option(names = "--secret-file", paramLabel = "NAME=PATH", description = "A secret whose value is the"
                + " content of host file PATH (repeatable; at most 64 KiB).")
        List<String> secretFiles = new ArrayList<>();

        @Option(names = "--secret-inject", paramLabel = "NAME=HOST:HEADER[=VALUE]", description = "Keep secret NAME"
                + " out of the sandbox (repeatable): it holds a placeholder, and the egress gate sets header HEADER of"
                + " its HTTPS requests to HOST to VALUE, where {} is the secret (default: the secret alone), e.g."
                + " GH=api.github.com:Authorization=Bearer {}. Needs --allow-host HOST.")
        List<String> secretInjects = new ArrayList<>();

        @Option(names = "--owner", paramLabel = "NAME", description = OWNER_TEXT)
        String owner;

        @Option(names = "--trust-ca", paramLabel = "FILE|host", description = "Add these CA certificates (a PEM"
                + " file, or 'host' for this host's trust store) to the workspace's trust store as it starts, e.g. a"
                + " TLS-intercepting proxy's CA (repeatable; default: DAVIT_TRUST_CA, else none).")
        List<String> trustCa = new ArrayList<>();

        @picocli.CommandLine.Mixin
        ResourceOptions resources = new ResourceOptions();

        @picocli.CommandLine.Mixin
        EgressOptions egress = new EgressOptions();

        @Override
        protected int run(Output out) {
            Duration limit = CliArgs.seconds(ttl, "--ttl");
            workspaces(main).ownedBy(owner); // a bad owner fails before anything is pulled
            dev.davit.sandbox.workspace.Secrets given = injected(secrets(secrets, secretFiles, main.env()),
                    secretInjects);
            var net = egress.network(network);
            given.checkInjectable(net);
            // bad names, labels and --publish values fail before anything is pulled
            if (wsName != null) {
                WorkspaceLabels.checkName(wsName);
            }
            Map<String, String> labelMap = WorkspaceLabels.check(CliArgs.keyValues(labels, "--label needs K=V"));
            Map<String, String> envMap = CliArgs.keyValues(envs, "--env needs K=V");
            List<PortMapping> ports = publish.stream().map(PortMapping::parse).toList();
            if (seed != null && !Files.exists(seed)) {
                throw new DavitException(DavitException.Kind.USAGE, "no seed " + seed + "; give a directory or a"
                        + " .tar, .tar.gz or .tar.zst file");
            }
            if ((name == null) == (from == null)) {
                throw new DavitException(DavitException.Kind.USAGE, "give an environment (ENV) or a snapshot"
                        + " (--from REF), one of the two");
            }
            if (bundle != null && from == null) {
                throw new DavitException(DavitException.Kind.USAGE, "--bundle names where the snapshot of --from is;"
                        + " give --from REF with it");
            }
            if (from != null && seed != null) {
                throw new DavitException(DavitException.Kind.USAGE, "--from starts /workspace with the snapshot's"
                        + " files; drop --seed");
            }
            Path home = DavitHome.resolve(main.env());
            dev.davit.sandbox.SandboxOptions so = resources.sandboxOptions(home);
            if (!trustCa.isEmpty()) {
                so = so.withTrustedCas(dev.davit.sandbox.TrustedCas.parse(trustCa, "--trust-ca"));
            }
            Workspaces ws = Workspaces.under(home, EgressOptions.withDns(so, main.env()))
                    .ownedBy(owner);
            if (from != null) {
                dev.davit.sandbox.workspace.WorkspaceImages.Restored r;
                try (ProgressRenderer progress = out.progress()) {
                    boolean ownNetwork = network != null || egress.given();
                    // the snapshot's network and limits where none is given here (the user is the operator)
                    dev.davit.sandbox.workspace.WorkspaceImages.Spec spec = (rt, carried) -> {
                        RunCommand.Target t = new RunCommand.Target(rt.name(), rt.digest(), rt.rootfs(), rt.image(),
                                rt.backend());
                        String b = t.backendFor(backend);
                        dev.davit.sandbox.Network carriedNet = ownNetwork ? null : carried.networkFor(from);
                        dev.davit.sandbox.CreateSpec s = resources.createSpec(t, b, envMap, null,
                                carriedNet == null ? net : carriedNet, limit, ports, out);
                        return resources.limitsGiven() ? s : s.withLimits(carried.limitsFor(b, s.limits()));
                    };
                    dev.davit.sandbox.workspace.WorkspaceImages images =
                            new dev.davit.sandbox.workspace.WorkspaceImages(ws, client());
                    r = bundle != null ? images.createFromBundle(bundle, from, spec, wsName, labelMap, given, null,
                            progress) : images.createFrom(from, spec, wsName, labelMap, given, null, progress);
                }
                Workspace w = r.workspace();
                out.notice("==> workspace " + w.id() + " running (" + r.environment() + ", at snapshot "
                        + r.snapshot().name() + " of " + from + "; carried: " + r.settings().describe() + ")");
                Sandbox made = ws.sandbox(w.id());
                ObjectNode doc = WorkspaceJson.workspace(w, made, ws.paused(made));
                doc.put("environment", r.environment());
                doc.put("snapshot", r.snapshot().name());
                out.result(doc, p -> p.println(w.id()));
                return 0;
            }
            RunCommand.Target t = RunCommand.resolve(this, out, name);
            Workspace w = ws.create(WorkspaceSpec.builder(resources.createSpec(t, t.backendFor(backend), envMap, null,
                    net, limit,
                    ports, out)).name(wsName).seed(seed).labels(labelMap).secrets(given).build());
            out.notice("==> workspace " + w.id() + " running (" + t.environment() + ", " + w.baselineFiles()
                    + " entries seeded" + (net.enabled() ? ", network: " + EgressOptions.brief(net) : "") + ")");
            Sandbox made = ws.sandbox(w.id());
            ObjectNode doc = WorkspaceJson.workspace(w, made, ws.paused(made));
            doc.put("environment", t.environment());
            out.result(doc, p -> p.println(w.id()));
            return 0;
        }
    }

    /**
     * The secrets of {@code --secret NAME[=VALUE]} (without a value: davit's environment variable NAME) and
     * {@code --secret-file NAME=PATH}; a name given twice is refused.
     */
    static dev.davit.sandbox.workspace.Secrets secrets(List<String> values, List<String> files,
                                                       Map<String, String> env) {
        Map<String, byte[]> m = new java.util.LinkedHashMap<>();
        for (String v : values) {
            int eq = v.indexOf('=');
            String name = eq < 0 ? v : v.substring(0, eq);
            dev.davit.sandbox.workspace.Secrets.checkName(name, "--secret");
            String value = eq < 0 ? env.get(name) : v.substring(eq + 1);
            if (value == null) {
                throw new DavitException(DavitException.Kind.USAGE, "--secret " + name + " takes its value from the"
                        + " environment variable " + name + ", which is not set; set it or give --secret NAME=VALUE");
            }
            putSecret(m, name, value.getBytes(java.nio.charset.StandardCharsets.UTF_8), "--secret");
        }
        for (String f : files) {
            int eq = f.indexOf('=');
            if (eq <= 0) {
                throw new DavitException(DavitException.Kind.USAGE, "--secret-file needs NAME=PATH, got a value"
                        + " without '='");
            }
            String name = f.substring(0, eq);
            dev.davit.sandbox.workspace.Secrets.checkName(name, "--secret-file");
            Path p = Path.of(f.substring(eq + 1));
            try {
                if (Files.isRegularFile(p) && Files.size(p) > dev.davit.sandbox.workspace.Secrets.MAX_VALUE) {
                    throw new DavitException(DavitException.Kind.USAGE, "secret " + name + "'s file " + p
                            + " holds more than 64 KiB; give a smaller file (--secret-file)");
                }
                putSecret(m, name, Files.readAllBytes(p), "--secret-file");
            } catch (java.io.IOException e) {
                throw new DavitException(DavitException.Kind.USAGE, "cannot read secret " + name + " from " + p
                        + " (--secret-file): " + e.getMessage());
            }
        }
        return dev.davit.sandbox.workspace.Secrets.of(m); // its errors name Secrets.of: --secret in CLI terms
    }

    /** {@code s} with each {@code --secret-inject NAME=HOST:HEADER[=VALUE]} of {@code items}. */
    static dev.davit.sandbox.workspace.Secrets injected(dev.davit.sandbox.workspace.Secrets s, List<String> items) {
        for (String i : items) {
            int eq = i.indexOf('=');
            int colon = eq < 0 ? -1 : i.indexOf(':', eq);
            if (eq <= 0 || colon < 0) {
                throw new DavitException(DavitException.Kind.USAGE, "--secret-inject needs NAME=HOST:HEADER[=VALUE]"
                        + " (e.g. GH=api.github.com:Authorization=Bearer {}), got '" + i + "'");
            }
            String header = i.substring(colon + 1);
            int veq = header.indexOf('=');
            s = s.inject(i.substring(0, eq), i.substring(eq + 1, colon), veq < 0 ? header : header.substring(0, veq),
                    veq < 0 ? "{}" : header.substring(veq + 1));
        }
        return s;
    }

    private static void putSecret(Map<String, byte[]> m, String name, byte[] value, String flag) {
        if (m.put(name, value) != null) {
            throw new DavitException(DavitException.Kind.USAGE, "secret " + name + " is given twice (" + flag
                    + "); give each name once");
        }
    }

    /** {@code --secret-env VAR=NAME} items, checked. */
    static Map<String, String> secretEnv(List<String> items) {
        return CliArgs.keyValues(items, "--secret-env needs VAR=NAME (a variable, then a secret's name)");
    }

    static final String SECRET_ENV_TEXT = "Set variable VAR to the value of the workspace's secret NAME"
            + " (repeatable); the value never appears on a command line.";

    static final String WS_ENV_TEXT = "A variable of the workspace's own (repeatable): every exec, service and"
            + " shell in it gets it, its status shows it (never a secret's value: see --secret).";

    static final String OWNER_TEXT = "Record NAME as its owner (default: none, the operator's own): an MCP server"
            + " sees only the workspaces of its --owner (default mcp), so --owner mcp hands this one to it wholly.";
    static final String NAME_TEXT = "A name to use instead of the id: unique among the workspaces, up to 64 letters,"
            + " digits, '.', '_', '-', not starting with 'ws-'.";
    static final String LABEL_TEXT = "Set a label (repeatable; at most 32; keys: letters, digits, '.', '_', '/', '-';"
            + " values: also ':', '@', '+').";

    /** Base of the subcommands that take a workspace id (or name). */
    abstract static class IdCmd extends DavitCommand {
        static final String ID_TEXT = "The workspace's id or name (see 'davit workspace ls').";

        @Parameters(index = "0", paramLabel = "ID", description = ID_TEXT)
        String id;
    }

    @Command(name = "exec", mixinStandardHelpOptions = true,
            description = {ExecCmd.DESCRIPTION_0, ExecCmd.DESCRIPTION_1})
    static final class ExecCmd extends IdCmd {
        // the texts, shared by the annotations and CommandModels.workspaceExec
        static final String DESCRIPTION_0 = "Run a command in a workspace (in /workspace unless --cwd).";
        static final String DESCRIPTION_1 = "Exits with the command's exit code (124 when --timeout killed it).";
        static final String COMMAND_TEXT = "The command (after --).";
        static final String CWD_TEXT = "The working directory; relative to /workspace (default: /workspace).";
        static final String ENV_TEXT = "Set a variable (repeatable).";
        static final String STDIN_TEXT = "Pass davit's standard input to the command.";
        static final String OUTPUT_LIMIT_TEXT = RunCommand.OUTPUT_LIMIT_TEXT + " All of each stream (up to 16 MiB)"
                + " stays readable with 'davit workspace output ID EXEC_ID' for the newest 16 execs cut.";

        @Parameters(index = "1..*", paramLabel = "CMD", arity = "1..*", description = COMMAND_TEXT)
        List<String> command = new ArrayList<>();

        @Option(names = "--timeout", paramLabel = "S", description = SandboxCommand.ExecCmd.TIMEOUT_TEXT)
        Double timeout;

        @Option(names = "--cwd", paramLabel = "DIR", description = CWD_TEXT)
        String cwd;

        @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = ENV_TEXT)
        List<String> envs = new ArrayList<>();

        @Option(names = "--secret-env", paramLabel = "VAR=NAME", description = SECRET_ENV_TEXT)
        List<String> secretEnvs = new ArrayList<>();

        @Option(names = {"-i", "--stdin"}, description = STDIN_TEXT)
        boolean stdin;

        @Option(names = "--output-limit", paramLabel = "BYTES", description = OUTPUT_LIMIT_TEXT)
        String outputLimit;

        @Option(names = {"-d", "--detach"}, description = DETACH_TEXT)
        boolean detach;

        static final String DETACH_TEXT = "Start it and return at once, printing its exec id: it runs on when davit"
                + " has exited. Follow it with 'davit workspace wait|cancel|execs' and 'davit workspace output ID"
                + " EXEC_ID' (stdout and stderr as one stream). --timeout is kept by the davit that looks at it.";

        @Override
        protected int run(Output out) {
            Duration limit = CliArgs.seconds(timeout, "--timeout");
            Map<String, String> env = CliArgs.keyValues(envs, "--env needs K=V");
            if (detach) {
                if (stdin || outputLimit != null) {
                    throw new DavitException(Kind.USAGE, (stdin ? "--stdin" : "--output-limit") + " does not go with"
                            + " --detach (a detached exec reads nothing and keeps its output for 'davit workspace"
                            + " output'); drop one of them");
                }
                ExecRequest.Builder r = ExecRequest.builder(command).env(env).cwd(cwd).timeout(limit);
                secretEnv(secretEnvs).forEach(r::secretEnv);
                DetachedExec x = workspaces(main).execDetached(id, r.build());
                out.result(WorkspaceJson.detached(x), p -> p.println(x.execId()));
                return 0;
            }
            int keep = RunCommand.outputLimit(outputLimit);
            // the excerpts are kept in files and --json writes them out from there: a flood costs no memory
            try (Workspaces.SpooledExecuted x = workspaces(main).execSpooled(id, command, env,
                    secretEnv(secretEnvs), cwd, limit, keep, stdin ? System.in : null,
                    out.json() ? null : out.rawStdout(), out.json() || out.rawStderr() == null ? null
                            : out.rawStderr())) {
                ExecResult r = x.result();
                if (r.timedOut()) {
                    out.warn("the command timed out after " + timeout + " s and was killed (exit 124)");
                }
                NetworkCommands.warnDenials(out, x.networkDenied(), id);
                if (out.json()) {
                    out.printJson(WorkspaceJson.executed(Json.object(), x, true));
                }
                return r.exitCode();
            }
        }
    }

    /** {@code davit workspace wait ID EXEC_ID}: waits for a detached exec. */
    @Command(name = "wait", mixinStandardHelpOptions = true,
            description = {"Wait for a detached exec (davit workspace exec --detach) to end, and show it.",
                    "Exits with its exit code; 124 when it still runs when --timeout ends the wait (it runs on)."})
    static final class ExecWaitCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "EXEC_ID", description = "The exec id --detach printed.")
        String execId;

        @Option(names = "--timeout", paramLabel = "S", description = "Wait at most this long (default: until it"
                + " ends).")
        Double timeout;

        @Override
        protected int run(Output out) {
            Duration wait = timeout == null ? Duration.ofDays(3650) : CliArgs.seconds(timeout, "--timeout");
            DetachedExec x = workspaces(main).execWait(id, execId, wait);
            out.result(WorkspaceJson.detached(x), p -> p.println(label(x)));
            return x.state().equals("running") ? 124 : x.exitCode() == null ? 1 : x.exitCode();
        }
    }

    /** {@code davit workspace cancel ID EXEC_ID}: stops a detached exec. */
    @Command(name = "cancel", mixinStandardHelpOptions = true,
            description = "Stop a detached exec (TERM to its processes, KILL after 5 s); it then says killed_by: cancel.")
    static final class ExecKillCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "EXEC_ID", description = "The exec id --detach printed.")
        String execId;

        @Override
        protected int run(Output out) {
            DetachedExec x = workspaces(main).execKill(id, execId);
            out.result(WorkspaceJson.detached(x), p -> p.println(label(x)));
            return 0;
        }
    }

    /** {@code davit workspace execs ID}: the detached execs of a workspace. */
    @Command(name = "execs", mixinStandardHelpOptions = true, description = "List a workspace's detached execs.")
    static final class ExecLsCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            List<DetachedExec> all = workspaces(main).execs(id);
            ObjectNode doc = Json.object();
            ArrayNode arr = doc.putArray("execs");
            all.forEach(x -> arr.add(WorkspaceJson.detached(x)));
            out.result(doc, p -> all.forEach(x -> p.println(label(x) + "  " + String.join(" ", x.command()))));
            return 0;
        }
    }

    /** How the human output shows a detached exec: its id and state (with its exit code, or who stopped it). */
    static String label(DetachedExec x) {
        return x.execId() + " " + switch (x.state()) {
            case "running" -> "running";
            case "killed" -> "killed (" + x.killedBy() + (x.exitCode() == null ? "" : ", exit " + x.exitCode()) + ")";
            default -> "exited " + (x.exitCode() == null ? "?" : x.exitCode());
        };
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List the workspaces.")
    static final class LsCmd extends DavitCommand {
        @Option(names = "--label", paramLabel = "K=V", description = "Only those with this label (K alone: with"
                + " any value); repeatable, all must match.")
        List<String> labels = new ArrayList<>();

        @Override
        protected int run(Output out) {
            Map<String, String> filter = new java.util.LinkedHashMap<>();
            for (String l : labels) {
                int eq = l.indexOf('=');
                String key = eq < 0 ? l : l.substring(0, eq);
                WorkspaceLabels.checkKey(key);
                filter.put(key, eq < 0 ? null : l.substring(eq + 1));
            }
            Workspaces ws = workspaces(main);
            ObjectNode doc = Json.object();
            ArrayNode arr = doc.putArray("workspaces");
            List<String> lines = new ArrayList<>();
            for (Workspace w : ws.list()) {
                if (!WorkspaceLabels.matches(w.labels(), filter)) {
                    continue;
                }
                String status;
                ObjectNode o = WorkspaceJson.workspace(w);
                try {
                    Sandbox s = ws.sandboxes().status(w.sandboxId());
                    boolean paused = ws.paused(s);
                    status = WorkspaceJson.status(s, paused);
                    o.put("paused", paused);
                    WorkspaceJson.ports(o, s);
                } catch (DavitException e) {
                    status = "missing"; // its sandbox was removed behind its back
                    o.putArray("ports");
                }
                o.put("status", status);
                arr.add(o);
                lines.add(String.format("%-15s %-8s %-17s %-20s %-16s %s", w.id(), status, w.sandboxId(),
                        w.createdAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
                        w.name() == null ? "-" : w.name(), w.labels().isEmpty() ? "-" : String.join(",",
                                w.labels().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList())));
            }
            out.result(doc, p -> {
                p.printf("%-15s %-8s %-17s %-20s %-16s %s%n", "ID", "STATUS", "SANDBOX", "CREATED", "NAME", "LABELS");
                lines.forEach(p::println);
            });
            return 0;
        }
    }

    @Command(name = "update", mixinStandardHelpOptions = true,
            description = {"Rename a workspace, change its labels, its ttl or its variables.",
                "Its record is rewritten atomically; a new name must be free."})
    static final class UpdateCmd extends IdCmd {
        @Option(names = "--name", paramLabel = "NAME", description = NAME_TEXT)
        String newName;

        @Option(names = "--no-name", description = "Drop its name.")
        boolean noName;

        @Option(names = "--label", paramLabel = "K=V", description = LABEL_TEXT)
        List<String> labels = new ArrayList<>();

        @Option(names = "--remove-label", paramLabel = "K", description = "Remove a label (repeatable).")
        List<String> removeLabels = new ArrayList<>();

        @Option(names = "--ttl", paramLabel = "S", description = "'davit workspace reap' removes it S seconds after"
                + " creation (not after now).")
        Double ttl;

        @Option(names = "--no-ttl", description = "Never remove it by ttl.")
        boolean noTtl;

        @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = "Set a variable of the workspace's own"
                + " (repeatable): the next execs, services and shells get it.")
        List<String> envs = new ArrayList<>();

        @Option(names = "--unset-env", paramLabel = "K", description = "Remove a variable of the workspace's own"
                + " (repeatable).")
        List<String> unsetEnvs = new ArrayList<>();

        @Override
        protected int run(Output out) {
            if (newName != null && noName) {
                throw new DavitException(DavitException.Kind.USAGE, "give --name or --no-name, not both");
            }
            if (ttl != null && noTtl) {
                throw new DavitException(DavitException.Kind.USAGE, "give --ttl or --no-ttl, not both");
            }
            Workspaces.Change change = new Workspaces.Change(newName, noName,
                    CliArgs.keyValues(labels, "--label needs K=V"), removeLabels, CliArgs.seconds(ttl, "--ttl"),
                    noTtl);
            Map<String, String> envMap = CliArgs.keyValues(envs, "--env needs K=V");
            Workspaces ws = workspaces(main);
            Workspace w = ws.update(id, change);
            Sandbox s = envMap.isEmpty() && unsetEnvs.isEmpty() ? ws.sandbox(w.id())
                    : ws.env(w.id(), envMap, unsetEnvs);
            print(out, ws, w, s);
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show a workspace and its status.")
    static final class StatusCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = workspaces(main);
            Workspace w = ws.get(id);
            print(out, ws, w, ws.sandbox(w.id()));
            return 0;
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop a workspace (its files are kept).")
    static final class StopCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = workspaces(main);
            print(out, ws, ws.get(id), ws.stop(id));
            return 0;
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true, description = "Start a stopped workspace.")
    static final class StartCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = workspaces(main);
            print(out, ws, ws.get(id), ws.start(id));
            return 0;
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true, description = "Pause a workspace: its processes"
            + " (services, shells, detached execs) keep their state and take no CPU until 'davit workspace resume'."
            + " A container's are frozen in place; a microVM's memory is saved beside its disk and its QEMU ends.")
    static final class PauseCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = workspaces(main);
            Workspace w = ws.get(id);
            print(out, ws, w, ws.pause(w.id()));
            return 0;
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a paused workspace: its"
            + " processes go on where they were.")
    static final class ResumeCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = workspaces(main);
            Workspace w = ws.get(id);
            print(out, ws, w, ws.resume(w.id()));
            return 0;
        }
    }

    @Command(name = "fork", mixinStandardHelpOptions = true, description = "Make new workspaces, each with a copy"
            + " of everything the workspace holds: its sandbox's whole writable state (/etc, installed packages, /tmp,"
            + " /workspace; a microVM's disk), baseline, snapshots, secrets, policy and labels. Running processes and"
            + " published ports are not carried. A running workspace goes on running; its forks are started.")
    static final class ForkCmd extends IdCmd {
        @Option(names = "--count", paramLabel = "N", description = "How many forks (1 to 16; default: one per"
                + " --name, else 1).")
        int count;

        @Option(names = "--name", paramLabel = "NAME", description = "A fork's name (repeatable: one per fork). "
                + NAME_TEXT)
        List<String> names = new ArrayList<>();

        @Override
        protected int run(Output out) {
            Workspaces ws = workspaces(main);
            List<Workspace> forks = ws.fork(id, count, names, null);
            ObjectNode doc = Json.object();
            doc.put("forked_from", ws.get(id).id());
            ArrayNode arr = doc.putArray("workspaces");
            List<String> lines = new ArrayList<>();
            for (Workspace f : forks) {
                Sandbox s = ws.sandbox(f.id());
                boolean paused = ws.paused(s);
                arr.add(WorkspaceJson.workspace(f, s, paused));
                lines.add(f.id() + " " + WorkspaceJson.status(s, paused) + (f.name() == null ? "" : " " + f.name()));
            }
            out.result(doc, p -> lines.forEach(p::println));
            return 0;
        }
    }

    @Command(name = "commit", mixinStandardHelpOptions = true, description = "Make an image of a workspace: its"
            + " environment's image with one more layer holding what the workspace changed (/workspace, packages"
            + " installed, files deleted; owners as the sandbox saw them; no secrets, no /tmp), WorkingDir /workspace,"
            + " annotations naming the base and the workspace. The same state gives the same digest. Container"
            + " workspaces; a running one is frozen while it is read.")
    static final class CommitCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "REF", description = "The image's name, with a tag (e.g."
                + " localhost:5000/team/env:1).")
        String reference;

        @Option(names = "--push", description = "Push the image to REF's registry afterwards.")
        boolean push;

        @Option(names = "--created", paramLabel = "TIME", description = "Its creation time: ISO-8601"
                + " (2024-05-01T10:00:00Z) or 'now' (default: SOURCE_DATE_EPOCH, else the newest change's time).")
        String created;

        @Override
        protected int run(Output out) {
            Workspaces ws = workspaces(main);
            java.time.Instant when = created != null ? BuildCommand.createdTime(created)
                    : dev.davit.oci.build.BuildOptions.sourceDateEpoch(main.env());
            dev.davit.sandbox.workspace.WorkspaceImages.Commit c;
            try (ProgressRenderer progress = out.progress()) {
                c = new dev.davit.sandbox.workspace.WorkspaceImages(ws, client()).commit(id, reference,
                        new dev.davit.sandbox.workspace.WorkspaceImages.CommitOptions(when, push, progress));
            }
            for (String skipped : c.changes().skipped().stream().limit(20).toList()) {
                String base = skipped.substring(skipped.lastIndexOf('/') + 1);
                out.notice(base.startsWith(dev.davit.oci.build.LayerWriter.WHITEOUT)
                        ? "skipped " + Text.shorten(skipped, 200) + " (a name starting with "
                                + dev.davit.oci.build.LayerWriter.WHITEOUT + " marks a deletion in an image layer;"
                                + " rename the file to keep it)"
                        : "skipped special file " + Text.shorten(skipped, 200) + " (fifos, sockets and device"
                                + " nodes are not stored in layers)");
            }
            ObjectNode doc = WorkspaceJson.commit(c);
            if (c.pushed() != null) {
                doc.set("push", PushCommand.toJson(reference, c.pushed()));
            }
            out.result(doc, w -> {
                w.println("committed " + c.workspace().id() + " to " + c.image().reference() + "@"
                        + c.image().manifest().digest() + " (" + c.changes().files() + " files, "
                        + c.changes().bytes() + " bytes, " + c.changes().whiteouts() + " deleted; on "
                        + c.image().base() + ")");
                if (c.pushed() != null) {
                    PushCommand.human(w, "pushed", c.pushed());
                }
            });
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove a workspace: its sandbox and its"
            + " state.")
    static final class RmCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = workspaces(main);
            String wid = ws.get(id).id();
            ws.rm(wid);
            return removed(out, "id", wid);
        }
    }

    @Command(name = "diff", mixinStandardHelpOptions = true,
            description = "What changed in /workspace since the baseline (or a snapshot): added, modified, deleted,"
                    + " mode changes, and a unified diff of text files.")
    static final class DiffCmd extends IdCmd {
        @Option(names = "--snapshot", paramLabel = "NAME", description = "Compare with this snapshot instead of the"
                + " baseline.")
        String snapshot;

        @Option(names = "--path", paramLabel = "PATH", description = "Only this path and what is below it (relative"
                + " to /workspace; repeatable).")
        List<String> paths = new ArrayList<>();

        @Option(names = "--include-ignored", description = "List what is below ignored directories too (default:"
                + " those a .gitignore ignores, or node_modules and the like, are counted on one line each).")
        boolean includeIgnored;

        @Option(names = "--patch-offset", paramLabel = "N", description = "Show the patch from this character"
                + " (default 0); --json's next_offset is where the next page starts.")
        long patchOffset;

        @Option(names = "--patch-max", paramLabel = "N", description = "Show at most N characters of the patch"
                + " (whole lines; default: all).")
        int patchMax;

        @Override
        protected int run(Output out) {
            if (patchOffset < 0 || patchMax < 0) {
                throw new DavitException(DavitException.Kind.USAGE, "--patch-offset and --patch-max take 0 or more");
            }
            WorkspaceDiff full = workspaces(main).diff(id, snapshot, paths, includeIgnored || !paths.isEmpty());
            WorkspaceDiff.PatchPage page = full.page(patchOffset, patchMax > 0 ? patchMax : Integer.MAX_VALUE);
            WorkspaceDiff d = new WorkspaceDiff(full.changes(), page.text(), full.redacted(), full.collapsed());
            ObjectNode doc = WorkspaceJson.diff(d);
            if (patchOffset > 0 || patchMax > 0) {
                doc.put("patch_offset", page.offset());
                doc.put("next_offset", page.next());
                doc.put("patch_truncated", page.more());
            }
            out.result(doc, p -> {
                for (WorkspaceDiff.Change c : d.changes()) {
                    p.println(switch (c.kind()) {
                        case ADDED -> "A ";
                        case DELETED -> "D ";
                        case MODE -> "M ";
                        case MODIFIED -> "C ";
                    } + Text.escaped(c.path(), false) + (c.kind() == WorkspaceDiff.Change.Kind.MODE ? " "
                            + c.oldModeOctal() + " -> " + c.newModeOctal() : ""));
                }
                for (WorkspaceDiff.Collapsed c : d.collapsed()) {
                    p.println("I " + Text.escaped(c.path(), false) + "/ (ignored: " + c.added() + " added, "
                            + c.modified() + " modified, " + c.deleted() + " deleted; --include-ignored lists them)");
                }
                p.print(Text.escaped(d.patch(), true)); // names are quoted already; the text is the sandbox's
            });
            if (d.redacted()) {
                out.notice("a secret value is shown as [REDACTED:NAME] in this diff; the files where one was do not"
                        + " apply as a patch");
            }
            return 0;
        }
    }

    @Command(name = "snapshot", mixinStandardHelpOptions = true,
            description = "Snapshots of /workspace (copies in the workspace's state) to diff against or reset to.",
            subcommands = {SnapshotCreateCmd.class, SnapshotLsCmd.class, SnapshotRmCmd.class, SnapshotPushCmd.class})
    static final class SnapshotCmd extends GroupCommand {
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Copy /workspace's current tree into"
            + " a new snapshot (with --all, the sandbox's whole writable state too).")
    static final class SnapshotCreateCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "NAME", description = "Letters, digits, '.', '_', '-' (up to 64).")
        String name;

        @Option(names = "--all", description = "Save the sandbox's whole writable state too (/etc, installed"
                + " packages, /tmp; a microVM's disk), so that a reset to it brings all of it back.")
        boolean all;

        @Override
        protected int run(Output out) {
            Workspaces.Snapshot s = workspaces(main).snapshot(id, name, all);
            out.result(WorkspaceJson.snapshot(s), p -> p.println(s.name() + " (" + s.files() + " entries, " + s.bytes()
                    + " bytes" + (s.all() ? "; the whole sandbox" : "") + ")"));
            return 0;
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List a workspace's snapshots.")
    static final class SnapshotLsCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            List<Workspaces.Snapshot> snaps = workspaces(main).snapshots(id);
            out.result(WorkspaceJson.snapshots(snaps), p -> {
                p.printf("%-24s %-20s %8s %12s %s%n", "NAME", "CREATED", "ENTRIES", "BYTES", "OF");
                snaps.forEach(s -> p.printf("%-24s %-20s %8d %12d %s%n", s.name(),
                        s.createdAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS), s.files(), s.bytes(),
                        s.all() ? "all" : "/workspace"));
            });
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove a snapshot.")
    static final class SnapshotRmCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "NAME", description = "The snapshot's name.")
        String name;

        @Override
        protected int run(Output out) {
            workspaces(main).removeSnapshot(id, name);
            return removed(out, "name", name);
        }
    }

    @Command(name = "push", mixinStandardHelpOptions = true, description = "Make a snapshot an OCI artifact and push"
            + " it, with the environment it runs on, to REF's registry, where 'davit workspace create --from REF' on"
            + " another machine finds both; findable from the environment through the registry's referrers API (or"
            + " its sha256-DIGEST tag). A snapshot made with --all carries the rest of the sandbox too; the"
            + " workspace's network, limits, labels and variables come with it.")
    static final class SnapshotPushCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "SNAPSHOT", description = "The snapshot's name.")
        String snapshot;

        @Parameters(index = "2", paramLabel = "REF", description = "The artifact's name, with a tag (e.g."
                + " 127.0.0.1:5000/team/proj:before-fix).")
        String reference;

        @Option(names = "--local", description = "Only store it in this home's store; push nothing.")
        boolean local;

        @Option(names = "--bundle", paramLabel = "FILE", description = "Write it, with its environment, to this"
                + " bundle (a new .tar, .tar.gz or .tar.zst) instead of a registry: 'davit import FILE' on another"
                + " machine, then 'davit workspace create --from REF' there, with no network.")
        Path bundle;

        @Override
        protected int run(Output out) {
            if (local && bundle != null) {
                throw new DavitException(DavitException.Kind.USAGE, "--local and --bundle go apart: --bundle stores"
                        + " it too");
            }
            Workspaces ws = workspaces(main);
            dev.davit.sandbox.workspace.WorkspaceImages.SnapshotPush r;
            var images = new dev.davit.sandbox.workspace.WorkspaceImages(ws, client());
            try (ProgressRenderer progress = out.progress()) {
                r = bundle != null ? images.exportSnapshot(id, snapshot, reference, bundle, progress)
                        : images.pushSnapshot(id, snapshot, reference, local, progress);
            }
            ObjectNode doc = WorkspaceJson.snapshotPush(r);
            if (bundle != null) {
                doc.put("bundle", bundle.toAbsolutePath().toString());
            }
            out.result(doc, w -> w.println((bundle != null ? "exported " : local ? "stored " : "pushed ")
                    + r.snapshot().name() + " as "
                    + r.reference() + "@" + r.artifact().digest() + " (on " + r.environmentName() + "@"
                    + r.environment().digest() + (r.indexed() ? "; listed in its sha256- tag" : "") + ")"));
            return 0;
        }
    }

    @Command(name = "reset", mixinStandardHelpOptions = true,
            description = {"Restore /workspace to the baseline (or a snapshot), byte for byte and mode for mode.",
                "Stops the workspace's processes; starts it again if it was running."})
    static final class ResetCmd extends IdCmd {
        @Option(names = "--snapshot", paramLabel = "NAME", description = "Restore this snapshot instead of the"
                + " baseline.")
        String snapshot;

        @Override
        protected int run(Output out) {
            Workspaces ws = workspaces(main);
            Sandbox s = ws.reset(id, snapshot);
            boolean paused = ws.paused(s);
            ObjectNode doc = WorkspaceJson.workspace(ws.get(id), s, paused);
            doc.put("reset_to", snapshot == null ? "baseline" : snapshot);
            out.result(doc, p -> p.println(ws.get(id).id() + " reset to " + (snapshot == null ? "the baseline"
                    : "snapshot " + snapshot) + " (" + WorkspaceJson.status(s, paused) + ")"));
            return 0;
        }
    }

    @Command(name = "logs", mixinStandardHelpOptions = true,
            description = "The history of a workspace's execs: command, start, duration, exit code, and the first"
                    + " and last 2 KiB of each output stream.")
    static final class LogsCmd extends IdCmd {
        @Option(names = "--last", paramLabel = "N", description = "Only the newest N execs (default: all kept).")
        Integer last;

        @Override
        protected int run(Output out) {
            var all = workspaces(main).logs(id);
            if (last != null && last < 1) {
                throw new DavitException(Kind.USAGE, "--last must be 1 or more, not " + last);
            }
            var logs = last == null || last >= all.size() ? all : all.subList(all.size() - last, all.size());
            if (out.json()) {
                ArrayNode arr = Json.array();
                logs.forEach(l -> arr.add(WorkspaceJson.execEntry(l)));
                out.printJson(arr);
                return 0;
            }
            out.result(Json.object(), p -> logs.forEach(l -> {
                p.printf("%s %6d ms exit %d: %s%n", l.startedAt(), l.durationMs(), l.exitCode(),
                        Text.escaped(String.join(" ", l.command()), false));
                p.print(indent(l.stdout()));
                p.print(indent(l.stderr()));
            }));
            return 0;
        }

        private static String indent(ExecEntry.Stream stream) {
            String head = stream.head();
            String text = stream.tail() == null ? head
                    : head + "\n[... " + stream.bytes() + " bytes in all ...]\n" + stream.tail();
            if (text.isEmpty()) {
                return "";
            }
            return "  " + Text.escaped(text, true).replace("\n", "\n  ").stripTrailing() + "\n";
        }
    }

    @Command(name = "output", mixinStandardHelpOptions = true,
            description = {"A page of an exec's whole output, which its result showed cut (--output-limit).",
                    "Kept for the newest 16 execs whose output was cut, up to 16 MiB per stream."})
    static final class OutputCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "EXEC_ID", description = "The exec_id of the exec's result.")
        String execId;

        @Option(names = "--stream", paramLabel = "NAME", description = "stdout (default) or stderr; a detached"
                + " exec's is output (its only one, the default).")
        String stream;

        @Option(names = "--offset", paramLabel = "N", description = "From this byte (default 0).")
        long offset;

        @Option(names = "--limit", paramLabel = "BYTES", description = "At most this many bytes (default 64K, most"
                + " 1M).")
        String limit;

        @Override
        protected int run(Output out) {
            long n = limit == null ? 64 << 10 : Units.parseBytes(limit, "--limit");
            if (n < 1 || n > 1 << 20) {
                throw new DavitException(Kind.USAGE, "--limit must be between 1 byte and 1M, not " + limit);
            }
            Workspaces ws = workspaces(main);
            var page = ws.output(id, execId, stream, offset, (int) n);
            ObjectNode doc = Json.object();
            doc.put("exec_id", execId);
            doc.put("stream", stream != null ? stream : ws.isDetached(id, execId) ? Workspaces.DETACHED_STREAM
                    : "stdout");
            doc.put("offset", page.offset());
            doc.put("bytes", page.bytes().length);
            doc.put("kept", page.kept());
            doc.put("eof", page.offset() + page.bytes().length >= page.kept());
            doc.put("dropped_bytes", page.dropped());
            String text = dev.davit.oci.internal.Text.utf8OrNull(page.bytes());
            if (text != null) {
                doc.put("content", text);
            } else {
                doc.putNull("content");
                doc.put("content_base64", java.util.Base64.getEncoder().encodeToString(page.bytes()));
            }
            out.result(doc, p -> {
                try {
                    p.flush();
                    out.rawStdout().write(page.bytes());
                    out.rawStdout().flush();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                if (page.dropped() > 0 && page.offset() + page.bytes().length >= page.kept()) {
                    out.notice(page.dropped() + " more bytes of " + stream + " after these were not kept (at most "
                            + page.kept() + " are)");
                }
            });
            return 0;
        }
    }

    @Command(name = "file", mixinStandardHelpOptions = true,
            description = "Files in /workspace: ls, read, write (paths relative to /workspace; no .., no links out).",
            subcommands = {FileLsCmd.class, FileReadCmd.class, FileWriteCmd.class, WorkspaceFileEditCmd.class})
    static final class FileCmd extends GroupCommand {
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List a directory of /workspace.")
    static class FileLsCmd extends IdCmd {
        @Parameters(index = "1", arity = "0..1", paramLabel = "PATH", description = "Relative to /workspace"
                + " (default: /workspace itself).")
        String path;

        @Option(names = {"-r", "--recursive"}, description = "Everything below it.")
        boolean recursive;

        @Override
        protected int run(Output out) {
            return printFiles(out, list(workspaces(main)));
        }

        List<Workspaces.FileInfo> list(Workspaces ws) {
            return ws.listFiles(id, path, recursive);
        }
    }

    /** A listing as {@code workspace file ls} prints it ({@code files}: path, type, size, mode, target). */
    static int printFiles(Output out, List<Workspaces.FileInfo> files) {
        ObjectNode doc = WorkspaceJson.files(files);
        out.result(doc, p -> files.forEach(f -> p.printf("%-7s %04o %10d %s%s%n", f.type(), f.mode(), f.size(),
                Text.escaped(f.path(), false), f.target() == null ? "" : " -> " + Text.escaped(f.target(), false))));
        return 0;
    }

    @Command(name = "read", mixinStandardHelpOptions = true, description = "Print a file of /workspace (raw bytes;"
            + " base64 in --json).")
    static class FileReadCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "PATH", description = "Relative to /workspace.")
        String path;

        @Option(names = "--max-bytes", paramLabel = "N", description = "Read at most N bytes (default: all of a file up to 64 MiB; a larger one needs this).")
        long maxBytes;

        @Option(names = "--offset", paramLabel = "N", description = "From this byte (default 0): with --max-bytes,"
                + " a page; --json's next_offset is where the next one starts.")
        long offset;

        @Override
        protected int run(Output out) {
            if (offset < 0 || maxBytes < 0) {
                throw new DavitException(DavitException.Kind.USAGE, "--offset and --max-bytes take 0 or more");
            }
            return printContent(out, path, read(workspaces(main)));
        }

        Workspaces.FileContent read(Workspaces ws) {
            return ws.readFile(id, path, offset, maxBytes);
        }
    }

    /** A file's content as {@code workspace file read} prints it (raw; JSON: size, truncated, content_base64). */
    static int printContent(Output out, String path, Workspaces.FileContent c) {
        if (out.json()) {
            ObjectNode doc = Json.object();
            doc.put("path", path);
            doc.put("size", c.size());
            doc.put("truncated", c.truncated());
            doc.put("redacted", c.redacted());
            doc.put("offset", c.offset());
            doc.put("next_offset", c.end());
            doc.put("content_base64", Base64.getEncoder().encodeToString(c.bytes()));
            out.printJson(doc);
        } else {
            out.raw(c.bytes());
            if (c.redacted()) {
                out.notice("a secret value in " + path + " is shown as [REDACTED:NAME]: these are not the file's"
                        + " bytes");
            }
        }
        return 0;
    }

    @Command(name = "write", mixinStandardHelpOptions = true, description = "Write a file of /workspace from"
            + " stdin or --from, atomically; missing parent directories are created.")
    static final class FileWriteCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "PATH", description = "Relative to /workspace.")
        String path;

        @Option(names = "--from", paramLabel = "FILE", description = "Read the content from this host file"
                + " (default: stdin).")
        Path from;

        @Override
        protected int run(Output out) {
            long n;
            try (InputStream in = from == null ? System.in : Files.newInputStream(from)) {
                n = workspaces(main).writeFile(id, path, in);
            } catch (IOException e) {
                throw new DavitException(DavitException.Kind.USAGE, "cannot read " + from + ": " + e.getMessage());
            }
            ObjectNode doc = Json.object();
            doc.put("path", path);
            doc.put("bytes", n);
            out.result(doc, p -> p.println(n + " bytes written to /workspace/" + path));
            return 0;
        }
    }

    static ObjectNode copiedJson(Workspaces.Copied c) {
        return WorkspaceJson.copied(c);
    }

    @Command(name = "push", mixinStandardHelpOptions = true,
            description = {"Copy a host file or directory into /workspace, replacing what is at DEST.",
                "Links inside a directory are copied as links; missing parent directories are created."})
    static final class PushCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "HOST_PATH", description = "The host file or directory.")
        Path hostPath;

        @Parameters(index = "2", arity = "0..1", paramLabel = "DEST", description = "Where, relative to /workspace"
                + " (default: HOST_PATH's name at the top).")
        String dest;

        @Override
        protected int run(Output out) {
            Workspaces.Copied c = workspaces(main).push(id, hostPath, dest);
            out.result(copiedJson(c), p -> p.println(c.files() + " entries (" + c.bytes() + " bytes) pushed to "
                    + Workspaces.MOUNT + "/" + c.path()));
            return 0;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = {"Copy /workspace (or --path in it) to a new or empty host directory, or to a .tar file.",
                "Links are copied as links, never followed; devices are left out; no setuid/setgid bits."})
    static class ExportCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "HOST_DEST", description = "A host directory that does not exist or"
                + " is empty, or a file ending in .tar.")
        Path hostDest;

        @Option(names = "--path", paramLabel = "P", description = "Export only this path, relative to /workspace"
                + " (a file lands under its own name).")
        String path;

        @Override
        protected int run(Output out) {
            return printExport(out, copy(workspaces(main), (entries, bytes) -> out.notice("exporting: " + entries
                    + " entries, " + (bytes >> 20) + " MiB copied so far")), hostDest);
        }

        /** The copy, telling {@code progress} how far it got (about once a second) where it can. */
        Workspaces.Copied copy(Workspaces ws, Workspaces.Progress progress) {
            return ws.export(id, hostDest, path, progress);
        }
    }

    /** What an export copied, as {@code workspace export} prints it ({@link #copiedJson} and {@code dest}). */
    static int printExport(Output out, Workspaces.Copied c, Path hostDest) {
        ObjectNode doc = copiedJson(c);
        doc.put("dest", hostDest.toAbsolutePath().normalize().toString());
        out.result(doc, p -> {
            p.println(c.files() + " entries (" + c.bytes() + " bytes) exported to " + hostDest);
            c.skipped().forEach(s -> p.println("skipped " + Text.escaped(s, false) + " (device, fifo or socket)"));
        });
        return 0;
    }

    @Command(name = "patch", mixinStandardHelpOptions = true,
            description = {"Apply a unified diff (git diff, diff -u) inside /workspace, all or nothing.",
                "Context must match exactly (no fuzz); a failing hunk changes nothing and is named."})
    static final class PatchCmd extends IdCmd {
        @Parameters(index = "1", paramLabel = "PATCH_FILE", description = "The patch file, or - for stdin.")
        String patchFile;

        @Override
        protected int run(Output out) {
            byte[] patch;
            try {
                patch = patchFile.equals("-") ? System.in.readAllBytes() : Files.readAllBytes(Path.of(patchFile));
            } catch (IOException e) {
                throw new DavitException(DavitException.Kind.USAGE, "cannot read the patch " + patchFile + ": "
                        + e.getMessage());
            }
            Workspaces.Patched applied = workspaces(main).applyPatch(id, patch);
            Map<String, String> changed = applied.changes();
            applied.notes().forEach(n -> out.notice("note: " + n));
            out.result(WorkspaceJson.patched(applied), p -> changed.forEach((path, kind) -> p.println(switch (kind) {
                case "added" -> "A ";
                case "deleted" -> "D ";
                default -> "C ";
            } + Text.escaped(path, false))));
            return 0;
        }
    }

    @Command(name = "reap", mixinStandardHelpOptions = true, description = "Remove the workspaces whose ttl has"
            + " passed (sandbox and state) and those whose sandbox is gone.")
    static final class ReapCmd extends DavitCommand {
        @Option(names = "--owner", paramLabel = "NAME", description = "Only the workspaces of owner NAME (and of"
                + " its sessions, NAME:...), e.g. an MCP server's (default: every workspace).")
        String owner;

        @Override
        protected int run(Output out) {
            List<Workspaces.Reaped> removed = owner == null ? workspaces(main).reap()
                    : workspaces(main).ownedBy(owner).reap(w -> w.ownedBy(owner));
            out.result(WorkspaceJson.reaped(removed), p -> removed.forEach(r -> p.println(r.id() + " (" + r.reason() + ")")));
            return 0;
        }
    }
}
