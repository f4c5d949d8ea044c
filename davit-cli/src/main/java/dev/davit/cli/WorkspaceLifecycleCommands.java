package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.client.DavitHome;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceLabels;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code davit workspace create|ls|status|update|stop|start|pause|resume|fork|rm|reap}: a workspace's life, from
 * its creation (from an environment and a seed, or from a snapshot that travelled) to its removal.
 */
final class WorkspaceLifecycleCommands {
    private WorkspaceLifecycleCommands() {
    }

    /** Workspace {@code w} of {@code ws} with its sandbox {@code s}: its status as every door says it. */
    static void print(Output out, Workspaces ws, Workspace w, Sandbox s) {
        boolean paused = ws.paused(s);
        String failure = ws.failure(s);
        out.result(WorkspaceJson.workspace(w, s, paused, failure), p -> p.println(w.id() + " "
                + WorkspaceJson.status(s, paused) + (failure == null ? "" : " (" + failure + ")")));
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
            dev.davit.sandbox.workspace.internal.WorkspaceInternals.ownedBy(WorkspaceCommand.workspaces(main), owner); // a bad owner fails before anything is pulled
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
            Workspaces ws = dev.davit.sandbox.workspace.internal.WorkspaceInternals.ownedBy(Workspaces.under(home,
                    EgressOptions.withDns(so, main.env())), owner);
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
                            dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(ws, client(), progress);
                    r = bundle != null ? images.createFromBundle(bundle, from, spec, wsName, labelMap, given, null)
                            : images.createFrom(from, spec, wsName, labelMap, given, null);
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

    static final String WS_ENV_TEXT = "A variable of the workspace's own (repeatable): every exec, service and"
            + " shell in it gets it, its status shows it (never a secret's value: see --secret).";

    static final String OWNER_TEXT = "Record NAME as its owner (default: none, the operator's own): an MCP server"
            + " sees only the workspaces of its --owner (default mcp), so --owner mcp hands this one to it wholly.";

    static final String NAME_TEXT = "A name to use instead of the id: unique among the workspaces, up to 64 letters,"
            + " digits, '.', '_', '-', not starting with 'ws-'.";

    static final String LABEL_TEXT = "Set a label (repeatable; at most 32; keys: letters, digits, '.', '_', '/', '-';"
            + " values: also ':', '@', '+').";

    @Command(name = "ls", aliases = "list", mixinStandardHelpOptions = true, description = "List the workspaces.")
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
            Workspaces ws = WorkspaceCommand.workspaces(main);
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
    static final class UpdateCmd extends WorkspaceCommand.IdCmd {
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
            Workspaces.Change change = Workspaces.Change.builder().name(newName).noName(noName)
                    .labels(CliArgs.keyValues(labels, "--label needs K=V")).removeLabels(removeLabels)
                    .ttl(CliArgs.seconds(ttl, "--ttl")).noTtl(noTtl).build();
            Map<String, String> envMap = CliArgs.keyValues(envs, "--env needs K=V");
            Workspaces ws = WorkspaceCommand.workspaces(main);
            Workspace w = ws.update(id, change);
            Sandbox s = envMap.isEmpty() && unsetEnvs.isEmpty() ? ws.sandbox(w.id())
                    : ws.env(w.id(), envMap, unsetEnvs);
            print(out, ws, w, s);
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show a workspace and its status.")
    static final class StatusCmd extends WorkspaceCommand.IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = WorkspaceCommand.workspaces(main);
            Workspace w = ws.get(id);
            print(out, ws, w, ws.sandbox(w.id()));
            return 0;
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop a workspace (its files are kept).")
    static final class StopCmd extends WorkspaceCommand.IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = WorkspaceCommand.workspaces(main);
            print(out, ws, ws.get(id), ws.stop(id));
            return 0;
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true, description = "Start a stopped workspace.")
    static final class StartCmd extends WorkspaceCommand.IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = WorkspaceCommand.workspaces(main);
            print(out, ws, ws.get(id), ws.start(id));
            return 0;
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true, description = "Pause a workspace: its processes"
            + " (services, shells, detached execs) keep their state and take no CPU until 'davit workspace resume'."
            + " A container's are frozen in place; a microVM's memory is saved beside its disk and its QEMU ends.")
    static final class PauseCmd extends WorkspaceCommand.IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = WorkspaceCommand.workspaces(main);
            Workspace w = ws.get(id);
            print(out, ws, w, ws.pause(w.id()));
            return 0;
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a paused workspace: its"
            + " processes go on where they were.")
    static final class ResumeCmd extends WorkspaceCommand.IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = WorkspaceCommand.workspaces(main);
            Workspace w = ws.get(id);
            print(out, ws, w, ws.resume(w.id()));
            return 0;
        }
    }

    @Command(name = "fork", mixinStandardHelpOptions = true, description = "Make new workspaces, each with a copy"
            + " of everything the workspace holds: its sandbox's whole writable state (/etc, installed packages, /tmp,"
            + " /workspace; a microVM's disk), baseline, snapshots, secrets, policy and labels. Running processes and"
            + " published ports are not carried. A running workspace goes on running; its forks are started.")
    static final class ForkCmd extends WorkspaceCommand.IdCmd {
        @Option(names = "--count", paramLabel = "N", description = "How many forks (1 to 16; default: one per"
                + " --name, else 1).")
        int count;

        @Option(names = "--name", paramLabel = "NAME", description = "A fork's name (repeatable: one per fork). "
                + NAME_TEXT)
        List<String> names = new ArrayList<>();

        @Override
        protected int run(Output out) {
            Workspaces ws = WorkspaceCommand.workspaces(main);
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

    @Command(name = "remove", aliases = "rm", mixinStandardHelpOptions = true, description = "Remove a workspace: its sandbox and its"
            + " state.")
    static final class RmCmd extends WorkspaceCommand.IdCmd {
        @Override
        protected int run(Output out) {
            Workspaces ws = WorkspaceCommand.workspaces(main);
            String wid = ws.get(id).id();
            ws.rm(wid);
            return WorkspaceCommand.removed(out, "id", wid);
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
            List<Workspaces.Reaped> removed = owner == null ? WorkspaceCommand.workspaces(main).reap()
                    : dev.davit.sandbox.workspace.internal.WorkspaceInternals.ownedBy(WorkspaceCommand.workspaces(main), owner)
                            .reap(w -> w.ownedBy(owner));
            out.result(WorkspaceJson.reaped(removed), p -> removed.forEach(r -> p.println(r.id() + " (" + r.reason()
                    + ")")));
            return 0;
        }
    }
}
