package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.client.DavitHome;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ExecSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.internal.SandboxJson;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit sandbox create|start|exec|stop|rm|status|ls|reap|network}: long-lived sandboxes (container or vm). */
@Command(name = "sandbox", mixinStandardHelpOptions = true, description = SandboxCommand.DESCRIPTION,
        subcommands = {SandboxCommand.CreateCmd.class, SandboxCommand.StartCmd.class, SandboxCommand.ExecCmd.class,
            SandboxCommand.StopCmd.class, SandboxCommand.PauseCmd.class, SandboxCommand.ResumeCmd.class,
            SandboxCommand.RmCmd.class, SandboxCommand.StatusCmd.class,
            SandboxCommand.LsCmd.class, SandboxCommand.ReapCmd.class, NetworkCommands.SandboxNetworkCmd.class})
final class SandboxCommand extends GroupCommand {
    static final String DESCRIPTION = "Long-lived sandboxes: create, start, exec, stop, pause, resume, rm, status, ls,"
            + " reap and network.";

    static Sandboxes sandboxes(Main main) {
        return new Sandboxes(EgressOptions.withDns(SandboxOptions.under(DavitHome.resolve(main.env())), main.env()));
    }

    static void print(Output out, Sandbox s) {
        out.result(SandboxJson.sandbox(s), w -> w.println(s.id() + " " + s.status().label()));
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create a long-lived sandbox over an environment and start it.",
                "ENV is resolved as by 'davit run': a container (the rootfs needs a sleep command) or a microVM"
                    + " (booted once; execs go to davit-agent in it). Prints the sandbox's id."})
    static final class CreateCmd extends EnvCommand.Sub {
        @Parameters(index = "0", paramLabel = "ENV", description = "A catalog environment or an image reference.")
        String name;

        @Option(names = "--ttl", paramLabel = "S", description = "'davit sandbox reap' removes it S seconds after"
                + " creation (default: never).")
        Double ttl;

        @Option(names = "--network", arity = "0..1", paramLabel = "MODE", preprocessor = NetworkOption.class,
                description = NetworkOption.DESCRIPTION)
        String network;

        @Option(names = {"-p", "--publish"}, paramLabel = "[ADDR:]HOST_PORT:PORT", description = "Forward TCP"
                + " connections to HOST_PORT on the host (127.0.0.1 unless ADDR is given) to PORT in the sandbox;"
                + " needs --network (repeatable; container backend).")
        List<String> publish = new ArrayList<>();

        @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = "Set a variable for every exec"
                + " (repeatable).")
        List<String> envs = new ArrayList<>();

        @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = "The default working directory of"
                + " execs (default: the image's WorkingDir, else /).")
        String workdir;

        @Option(names = "--no-start", description = "Only create it; start it later with 'davit sandbox start'.")
        boolean noStart;

        @Option(names = "--backend", paramLabel = "BACKEND", description = "container, vm or k8s (default: what the"
                + " environment is; k8s: a pod of the cluster of KUBECONFIG, docs/reference/KUBERNETES.md).")
        String backend;

        @picocli.CommandLine.Mixin
        ResourceOptions resources = new ResourceOptions();

        @picocli.CommandLine.Mixin
        EgressOptions egress = new EgressOptions();

        @Override
        protected int run(Output out) {
            Duration limit = CliArgs.seconds(ttl, "--ttl");
            Map<String, String> env = CliArgs.keyValues(envs, "--env needs K=V");
            // bad --network / --publish / policy values fail before anything is pulled
            var net = egress.network(network);
            List<PortMapping> ports = publish.stream().map(PortMapping::parse).toList();
            RunCommand.Target t = RunCommand.resolve(this, out, name);
            Sandboxes sandboxes = new Sandboxes(EgressOptions.withDns(resources.sandboxOptions(
                    DavitHome.resolve(main.env())), main.env()));
            Sandbox s = sandboxes.create(resources.createSpec(t, t.backendFor(backend), env, workdir, net, limit,
                    ports, out));
            if (!noStart) {
                try {
                    s = sandboxes.start(s.id());
                } catch (DavitException e) {
                    sandboxes.rm(s.id());
                    throw e;
                }
            }
            out.notice("==> sandbox " + s.id() + " " + s.status().label() + " (" + t.environment()
                    + (net.enabled() ? ", network: " + EgressOptions.brief(net) : "") + ")");
            Sandbox done = s;
            ObjectNode doc = SandboxJson.sandbox(s);
            doc.put("environment", t.environment());
            doc.put("digest", t.digest());
            out.result(doc, w -> w.println(done.id()));
            return 0;
        }
    }

    /** Base of the subcommands that take a sandbox id. */
    abstract static class IdCmd extends DavitCommand {
        static final String ID_TEXT = "The sandbox's id (see 'davit sandbox ls').";

        @Parameters(index = "0", paramLabel = "ID", description = ID_TEXT)
        String id;
    }

    @Command(name = "start", mixinStandardHelpOptions = true, description = "Start a created or stopped sandbox.")
    static final class StartCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            print(out, sandboxes(main).start(id));
            return 0;
        }
    }

    @Command(name = "exec", mixinStandardHelpOptions = true,
            description = {ExecCmd.DESCRIPTION_0, ExecCmd.DESCRIPTION_1})
    static final class ExecCmd extends IdCmd {
        // the texts, shared by the annotations and CommandModels.sandboxExec
        static final String DESCRIPTION_0 = "Run a command in a running sandbox.";
        static final String DESCRIPTION_1 = "Files written to /tmp stay for later execs of the same sandbox. Exits"
                + " with the command's exit code (124 when --timeout killed it, 137 when --max-output did; the"
                + " sandbox keeps running).";
        static final String COMMAND_TEXT = "The command and its arguments (after --).";
        static final String TIMEOUT_TEXT = "Kill the command after S seconds (exit 124).";
        static final String ENV_TEXT = "Set a variable (repeatable), on top of the sandbox's.";
        static final String WORKDIR_TEXT = "The working directory (default: the sandbox's).";
        static final String STDIN_TEXT = "Pass davit's standard input to the command.";

        @Parameters(index = "1..*", paramLabel = "CMD", arity = "1..*", description = COMMAND_TEXT)
        List<String> command = new ArrayList<>();

        @Option(names = "--timeout", paramLabel = "S", description = TIMEOUT_TEXT)
        Double timeout;

        @Option(names = "--max-output", paramLabel = "BYTES", description = RunCommand.MAX_OUTPUT_DESCRIPTION)
        String maxOutput;

        @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = ENV_TEXT)
        List<String> envs = new ArrayList<>();

        @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = WORKDIR_TEXT)
        String workdir;

        @Option(names = {"-i", "--stdin"}, description = STDIN_TEXT)
        boolean stdin;

        @Override
        protected int run(Output out) {
            Duration limit = CliArgs.seconds(timeout, "--timeout");
            Map<String, String> env = CliArgs.keyValues(envs, "--env needs K=V");
            long maxBytes = RunCommand.maxOutputBytes(maxOutput);
            java.io.InputStream in = stdin ? System.in : null;
            ExecResult r = sandboxes(main).exec(id, ExecSpec.builder(command).env(env).workdir(workdir)
                    .timeout(limit).maxOutput(maxBytes).stdin(in).tees(out.json() ? null : out.rawStdout(),
                            out.rawStderr() == null || out.json() ? null : out.rawStderr()).build());
            if (r.timedOut()) {
                out.warn("the command timed out after " + timeout + " s and was killed (exit 124)");
            }
            RunCommand.warnOutputLimited(out, r, maxOutput);
            if (out.json()) {
                out.printJson(RunCommand.resultJson(Json.object(), r));
            }
            return r.exitCode();
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop a sandbox (kills all its"
            + " processes; /tmp is kept).")
    static final class StopCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            print(out, sandboxes(main).stop(id));
            return 0;
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true, description = "Pause a running sandbox: its processes"
            + " keep their state and take no CPU (a container's are frozen in place; a microVM's memory is saved to a"
            + " file and its QEMU ends) until 'davit sandbox resume'.")
    static final class PauseCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            print(out, sandboxes(main).pause(id));
            return 0;
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a paused sandbox: its"
            + " processes go on where they were.")
    static final class ResumeCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            print(out, sandboxes(main).resume(id));
            return 0;
        }
    }

    @Command(name = "remove", aliases = "rm", mixinStandardHelpOptions = true, description = "Stop a sandbox if needed and delete it.")
    static final class RmCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            sandboxes(main).rm(id);
            ObjectNode doc = Json.object();
            doc.put("id", id);
            doc.put("removed", true);
            out.result(doc, w -> w.println(id));
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show a sandbox's status: created,"
            + " running, stopped or failed.")
    static final class StatusCmd extends IdCmd {
        @Override
        protected int run(Output out) {
            print(out, sandboxes(main).status(id));
            return 0;
        }
    }

    @Command(name = "ls", aliases = "list", mixinStandardHelpOptions = true, description = "List the sandboxes.")
    static final class LsCmd extends DavitCommand {
        @Override
        protected int run(Output out) {
            List<Sandbox> all = sandboxes(main).list();
            ObjectNode doc = Json.object();
            ArrayNode arr = doc.putArray("sandboxes");
            all.forEach(s -> arr.add(SandboxJson.sandbox(s)));
            out.result(doc, w -> {
                w.printf("%-17s %-8s %-9s %-20s %-8s %s%n", "ID", "STATUS", "BACKEND", "CREATED", "TTL", "ROOTFS");
                for (Sandbox s : all) {
                    w.printf("%-17s %-8s %-9s %-20s %-8s %s%n", s.id(), s.status().label(), s.spec().backend(),
                            s.createdAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
                            s.spec().ttl() == null ? "-" : s.spec().ttl().toSeconds() + "s", s.spec().rootfs());
                }
            });
            return 0;
        }
    }

    @Command(name = "reap", mixinStandardHelpOptions = true, description = {"Remove the sandboxes whose ttl has"
            + " passed, the failed ones, what one-shot runs of a davit that died left behind, and this home's pods on"
            + " the cluster whose sandbox is gone.",
            "Workspaces' sandboxes are left alone: 'davit workspace reap' removes those."})
    static final class ReapCmd extends DavitCommand {
        @Override
        protected int run(Output out) {
            Sandboxes sandboxes = sandboxes(main);
            List<Sandbox> removed = sandboxes.reap(WorkspaceCommand.workspaces(main).sandboxIds());
            List<String> orphans = sandboxes.reapOrphans();
            ObjectNode doc = Json.object();
            ArrayNode arr = doc.putArray("removed");
            removed.forEach(s -> arr.add(s.id()));
            ArrayNode orph = doc.putArray("orphans");
            orphans.forEach(orph::add);
            out.result(doc, w -> {
                removed.forEach(s -> w.println(s.id()));
                orphans.forEach(id -> w.println(id + (id.startsWith("davit-") ? " (a pod on the cluster whose"
                        + " sandbox is gone)" : " (left by a davit that died)")));
            });
            return 0;
        }
    }
}
