package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import dev.davit.sandbox.workspace.ServiceSpec;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code davit workspace service ...} and {@code davit workspace shell ...}: processes that outlive davit. */
final class WorkspaceProcessCommands {
    private WorkspaceProcessCommands() {
    }

    @Command(name = "service", mixinStandardHelpOptions = true,
            description = "Services: long-running commands in a workspace that outlive davit and stop with it.",
            subcommands = {ServiceStartCmd.class, ServiceLsCmd.class, ServiceLogsCmd.class, ServiceStopCmd.class})
    static final class ServiceCmd extends GroupCommand {
    }

    /** Base of the subcommands that take a workspace and a service name. */
    abstract static class NamedCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "NAME", description = "The service's name (letters, digits, '.', '_',"
                + " '-').")
        String name;

        Services services() {
            return WorkspaceCommand.workspaces(main).services(id);
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = {"Start a service in /workspace and wait until it is ready.",
                "If it exits first or is not ready in time it is stopped and the error shows the end of its log."})
    static final class ServiceStartCmd extends NamedCmd {
        @Parameters(index = "2..*", paramLabel = "CMD", arity = "1..*", description = "The command (after --).")
        List<String> command = new ArrayList<>();

        @Option(names = "--ready-file", paramLabel = "F", description = "Ready when this path exists (relative to"
                + " /workspace, or absolute in the sandbox).")
        String readyFile;

        @Option(names = "--ready-port", paramLabel = "P", description = "Ready when something listens on TCP port P"
                + " in the sandbox.")
        Integer readyPort;

        @Option(names = "--ready-cmd", paramLabel = "CMD", description = "Ready when 'sh -c CMD' exits 0 in the"
                + " workspace (retried).")
        String readyCmd;

        @Option(names = "--ready-timeout", paramLabel = "S", description = "Give up after S seconds (default: 30).")
        Double readyTimeout;

        @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = "Set a variable (repeatable).")
        List<String> envs = new ArrayList<>();

        @Option(names = "--secret-env", paramLabel = "VAR=NAME", description = WorkspaceCommand.SECRET_ENV_TEXT)
        List<String> secretEnvs = new ArrayList<>();

        @Override
        protected int run(Output out) {
            List<Services.Readiness> r = new ArrayList<>();
            if (readyFile != null) {
                r.add(new Services.Readiness("file", readyFile));
            }
            if (readyPort != null) {
                r.add(new Services.Readiness("port", readyPort.toString()));
            }
            if (readyCmd != null) {
                r.add(new Services.Readiness("cmd", readyCmd));
            }
            if (r.size() > 1) {
                throw new DavitException(DavitException.Kind.USAGE, "give one of --ready-file, --ready-port and"
                        + " --ready-cmd");
            }
            Duration timeout = CliArgs.seconds(readyTimeout, "--ready-timeout");
            Map<String, String> env = CliArgs.keyValues(envs, "--env needs K=V");
            ServiceSpec.Builder spec = ServiceSpec.builder(name, command).env(env).readyTimeout(timeout)
                    .readiness(r.isEmpty() ? null : r.get(0));
            WorkspaceCommand.secretEnv(secretEnvs).forEach(spec::secretEnv);
            Services.Service s = services().start(spec.build());
            out.notice("==> service " + s.name() + " " + (s.readiness() == null ? "started" : "ready") + " (pid "
                    + s.pid() + ")");
            out.result(WorkspaceJson.service(s), p -> p.println(s.name()));
            return 0;
        }
    }

    @Command(name = "ls", aliases = "list", mixinStandardHelpOptions = true, description = "List a workspace's services.")
    static final class ServiceLsCmd extends WorkspaceCommand.IdCmd {
        @Override
        protected int run(Output out) {
            List<Services.Service> all = WorkspaceCommand.workspaces(main).services(id).list();
            out.result(WorkspaceJson.services(all), p -> {
                p.printf("%-16s %-18s %8s %-20s %-6s %s%n", "NAME", "STATE", "PID", "STARTED", "READY", "COMMAND");
                all.forEach(s -> p.printf("%-16s %-18s %8d %-20s %-6s %s%n", s.name(), s.label(), s.pid(),
                        s.startedAt().truncatedTo(ChronoUnit.SECONDS), s.ready() ? "yes" : "no",
                        Text.escaped(String.join(" ", s.command()), false)));
            });
            return 0;
        }
    }

    @Command(name = "logs", mixinStandardHelpOptions = true, description = "Print a service's output (stdout and"
            + " stderr interleaved).")
    static final class ServiceLogsCmd extends NamedCmd {
        @Option(names = "--tail", paramLabel = "N", description = "Only the last N lines.")
        int tail;

        @Override
        protected int run(Output out) {
            if (tail < 0) {
                throw new DavitException(DavitException.Kind.USAGE, "--tail must be a number of lines, not " + tail);
            }
            Services.Log log = services().log(name, tail);
            if (out.json()) {
                out.printJson(WorkspaceJson.serviceLog(name, log));
            } else {
                out.raw(log.bytes());
                if (log.lineCut()) {
                    out.notice("the first line shown is longer than " + (Services.LINE_MAX >> 10) + " KiB: only its"
                            + " last " + (Services.LINE_MAX >> 10) + " KiB are shown");
                }
                if (log.droppedBytes() > 0) {
                    out.notice("the log of service " + name + " passed its cap of " + Spawned.logCap() + " bytes: "
                            + log.droppedBytes() + " older bytes were dropped");
                }
            }
            return 0;
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop a service: TERM to its processes,"
            + " KILL after 5 s.")
    static final class ServiceStopCmd extends NamedCmd {
        @Override
        protected int run(Output out) {
            Services.Service s = services().stop(name);
            out.result(WorkspaceJson.service(s), p -> p.println(s.name() + " " + s.label()));
            return 0;
        }
    }

    @Command(name = "shell", mixinStandardHelpOptions = true,
            description = "Shells: interactive programs on a terminal (PTY) in a workspace, driven by write/read.",
            subcommands = {ShellOpenCmd.class, ShellWriteCmd.class, ShellReadCmd.class, ShellSignalCmd.class,
                ShellCloseCmd.class, ShellLsCmd.class})
    static final class ShellCmd extends GroupCommand {
    }

    /** Base of the subcommands that take a workspace and a shell id. */
    abstract static class ShellIdCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "SH", description = "The shell's id (see 'davit workspace shell ls').")
        String shell;

        Shells shells() {
            return WorkspaceCommand.workspaces(main).shells(id);
        }
    }

    @Command(name = "open", mixinStandardHelpOptions = true, description = "Open a shell (the image's /bin/sh, --cmd,"
            + " or the command after --) in /workspace on a terminal; prints its id.")
    static final class ShellOpenCmd extends WorkspaceCommand.IdCmd {
        @Option(names = "--cmd", paramLabel = "CMD", description = "Run 'sh -c CMD' instead of an interactive sh.")
        String cmd;

        @Parameters(index = "1..*", paramLabel = "CMD", arity = "0..*", description = "The command and its"
                + " arguments (after --), instead of an interactive sh.")
        List<String> command = new ArrayList<>();

        @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = "Set a variable (repeatable).")
        List<String> envs = new ArrayList<>();

        @Option(names = "--secret-env", paramLabel = "VAR=NAME", description = WorkspaceCommand.SECRET_ENV_TEXT)
        List<String> secretEnvs = new ArrayList<>();

        @Override
        protected int run(Output out) {
            if (cmd != null && !command.isEmpty()) {
                throw new DavitException(DavitException.Kind.USAGE, "give --cmd or a command after --, not both");
            }
            Shells.Shell s = WorkspaceCommand.workspaces(main).shells(id).open(
                    cmd != null ? List.of("/bin/sh", "-c", cmd) : command, CliArgs.keyValues(envs, "--env needs K=V"),
                    WorkspaceCommand.secretEnv(secretEnvs));
            out.result(WorkspaceJson.shell(s), p -> p.println(s.id()));
            return 0;
        }
    }

    @Command(name = "write", mixinStandardHelpOptions = true, description = "Type into a shell: DATA with \\n, \\r,"
            + " \\t, \\e, \\xHH, \\\\ understood, or raw bytes from stdin with --from -.")
    static final class ShellWriteCmd extends ShellIdCmd {
        @Parameters(index = "2", arity = "0..1", paramLabel = "DATA", description = "What to type (\\n for Enter).")
        String data;

        @Option(names = "--from", paramLabel = "-", description = "Read the bytes from stdin (give '-').")
        String from;

        @Override
        protected int run(Output out) {
            byte[] b;
            if (from != null) {
                if (!from.equals("-") || data != null) {
                    throw new DavitException(DavitException.Kind.USAGE, "give DATA or --from - (stdin), not both");
                }
                try {
                    b = System.in.readAllBytes();
                } catch (IOException e) {
                    throw new DavitException(DavitException.Kind.USAGE, "cannot read stdin: " + e.getMessage());
                }
            } else if (data == null) {
                throw new DavitException(DavitException.Kind.USAGE, "give DATA to write or --from - (stdin)");
            } else {
                b = Shells.unescape(data);
            }
            shells().write(shell, b);
            ObjectNode doc = Json.object();
            doc.put("id", shell);
            doc.put("bytes", b.length);
            out.result(doc, p -> { });
            return 0;
        }
    }

    @Command(name = "read", mixinStandardHelpOptions = true, description = {"Print what the shell's terminal"
            + " showed since the last read, as text (control sequences taken out, \\r\\n as \\n), or --raw bytes.",
        "With --wait-ms it waits for output, then until none came for --quiet-ms (or --until matches)."})
    static final class ShellReadCmd extends ShellIdCmd {
        @Option(names = "--wait-ms", paramLabel = "N", description = "Wait up to N ms for output (default: 0, take"
                + " what is there).")
        long waitMs;

        @Option(names = "--quiet-ms", paramLabel = "N", description = "Once there was output, return when none came"
                + " for N ms (default: 200).")
        Long quietMs;

        @Option(names = "--until", paramLabel = "REGEX", description = "Return as soon as the text read matches REGEX"
                + " (Java syntax, found anywhere, e.g. '[$#] $' for a prompt ending in '$ ' or root's '# ');"
                + " --quiet-ms then does not apply.")
        String until;

        @Option(names = "--max-bytes", paramLabel = "N", description = "Take at most N bytes (default: 65536, at most"
                + " 16777216); the rest waits for the next read.")
        Integer maxBytes;

        @Option(names = "--raw", description = "The bytes exactly as the terminal got them (--json: output_base64).")
        boolean raw;

        @Override
        protected int run(Output out) {
            if (waitMs < 0 || quietMs != null && quietMs < 0) {
                throw new DavitException(DavitException.Kind.USAGE, "--wait-ms and --quiet-ms must be 0 or more");
            }
            int max = maxBytes == null ? Shells.MAX_BYTES : maxBytes;
            if (max < 1 || max > Shells.MAX_BYTES_LIMIT) {
                throw new DavitException(DavitException.Kind.USAGE, "--max-bytes must be 1 to "
                        + Shells.MAX_BYTES_LIMIT + ", not " + max);
            }
            Pattern pattern = null;
            if (until != null) {
                try {
                    pattern = Pattern.compile(until);
                } catch (PatternSyntaxException e) {
                    throw new DavitException(DavitException.Kind.USAGE, "--until is not a regular expression: "
                            + e.getDescription() + " (near index " + e.getIndex() + ")");
                }
            }
            Shells s = shells();
            Shells.Output o = s.read(shell, new Shells.ReadOptions(Duration.ofMillis(waitMs),
                    quietMs == null ? null : Duration.ofMillis(quietMs), pattern, max, raw));
            if (out.json()) {
                out.printJson(WorkspaceJson.shellRead(shell, o, raw, s.get(shell).label()));
            } else {
                out.raw(raw ? o.bytes() : o.text().getBytes(StandardCharsets.UTF_8));
                if (o.truncated()) {
                    out.notice("more output is waiting: read again");
                }
                if (pattern != null && !o.matched() && o.timedOut()) {
                    out.notice("--until did not match within --wait-ms " + waitMs);
                }
            }
            return 0;
        }
    }

    @Command(name = "signal", mixinStandardHelpOptions = true, description = "Send a signal to the foreground"
            + " process group of the shell's terminal, as Ctrl-C (INT) would.")
    static final class ShellSignalCmd extends ShellIdCmd {
        @Parameters(index = "2", paramLabel = "SIGNAL", description = "INT, TERM, KILL (also HUP, QUIT, USR1, USR2).")
        String signal;

        @Override
        protected int run(Output out) {
            String sig = signal.toUpperCase(java.util.Locale.ROOT).replaceFirst("^SIG", "");
            shells().signal(shell, sig);
            ObjectNode doc = Json.object();
            doc.put("id", shell);
            doc.put("signal", sig);
            out.result(doc, p -> { });
            return 0;
        }
    }

    @Command(name = "close", mixinStandardHelpOptions = true, description = "End a shell and remove it.")
    static final class ShellCloseCmd extends ShellIdCmd {
        @Override
        protected int run(Output out) {
            shells().close(shell);
            return WorkspaceCommand.removed(out, "id", shell);
        }
    }

    @Command(name = "ls", aliases = "list", mixinStandardHelpOptions = true, description = "List a workspace's shells.")
    static final class ShellLsCmd extends WorkspaceCommand.IdCmd {
        @Override
        protected int run(Output out) {
            List<Shells.Shell> all = WorkspaceCommand.workspaces(main).shells(id).list();
            ObjectNode doc = Json.object();
            ArrayNode arr = doc.putArray("shells");
            all.forEach(s -> arr.add(WorkspaceJson.shell(s)));
            out.result(doc, p -> {
                p.printf("%-12s %-12s %8s %-20s %s%n", "ID", "STATE", "PID", "STARTED", "COMMAND");
                all.forEach(s -> p.printf("%-12s %-12s %8d %-20s %s%n", s.id(), s.label(), s.pid(),
                        s.startedAt().truncatedTo(ChronoUnit.SECONDS), Text.escaped(String.join(" ", s.command()),
                        false)));
            });
            return 0;
        }
    }
}
