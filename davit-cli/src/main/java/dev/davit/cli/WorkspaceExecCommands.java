package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.workspace.DetachedExec;
import dev.davit.sandbox.workspace.ExecEntry;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.WorkspaceExecs;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code davit workspace exec|wait|kill|execs|logs|output}: commands run in a workspace, in the foreground or
 * detached, their history and the whole output of those whose result showed it cut.
 */
final class WorkspaceExecCommands {
    private WorkspaceExecCommands() {
    }

    @Command(name = "exec", mixinStandardHelpOptions = true,
            description = {ExecCmd.DESCRIPTION_0, ExecCmd.DESCRIPTION_1})
    static final class ExecCmd extends WorkspaceCommand.IdCmd {
        // the texts, shared by the annotations and CommandModels.workspaceExec
        static final String DESCRIPTION_0 = "Run a command in a workspace (in /workspace unless --workdir).";
        static final String DESCRIPTION_1 = "Exits with the command's exit code (124 when --timeout killed it).";
        static final String COMMAND_TEXT = "The command (after --).";
        static final String WORKDIR_TEXT = "The working directory; relative to /workspace (default: /workspace).";
        static final String ENV_TEXT = "Set a variable (repeatable).";
        static final String STDIN_TEXT = "Pass davit's standard input to the command.";
        static final String OUTPUT_LIMIT_TEXT = RunCommand.OUTPUT_LIMIT_TEXT + " All of each stream (up to 16 MiB)"
                + " stays readable with 'davit workspace output ID EXEC_ID' for the newest 16 execs cut.";

        @Parameters(index = "1..*", paramLabel = "CMD", arity = "1..*", description = COMMAND_TEXT)
        List<String> command = new ArrayList<>();

        @Option(names = "--timeout", paramLabel = "S", description = SandboxCommand.ExecCmd.TIMEOUT_TEXT)
        Double timeout;

        @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = WORKDIR_TEXT)
        String workdir;

        @Option(names = "--cwd", paramLabel = "DIR", hidden = true, description = CliArgs.DEPRECATED + "--workdir.")
        String cwd;

        @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = ENV_TEXT)
        List<String> envs = new ArrayList<>();

        @Option(names = "--secret-env", paramLabel = "VAR=NAME", description = WorkspaceCommand.SECRET_ENV_TEXT)
        List<String> secretEnvs = new ArrayList<>();

        @Option(names = {"-i", "--stdin"}, description = STDIN_TEXT)
        boolean stdin;

        @Option(names = "--output-limit", paramLabel = "BYTES", description = OUTPUT_LIMIT_TEXT)
        String outputLimit;

        @Option(names = {"-d", "--detach"}, description = DETACH_TEXT)
        boolean detach;

        static final String DETACH_TEXT = "Start it and return at once, printing its exec id: it runs on when davit"
                + " has exited. Follow it with 'davit workspace wait|kill|execs' and 'davit workspace output ID"
                + " EXEC_ID' (stdout and stderr as one stream). --timeout is kept by the davit that looks at it.";

        @Override
        protected int run(Output out) {
            Duration limit = CliArgs.seconds(timeout, "--timeout");
            Map<String, String> env = CliArgs.keyValues(envs, "--env needs K=V");
            String dir = CliArgs.renamed(out, "--cwd", cwd, "--workdir", workdir);
            if (detach) {
                if (stdin || outputLimit != null) {
                    throw new DavitException(Kind.USAGE, (stdin ? "--stdin" : "--output-limit") + " does not go with"
                            + " --detach (a detached exec reads nothing and keeps its output for 'davit workspace"
                            + " output'); drop one of them");
                }
                ExecRequest.Builder r = ExecRequest.builder(command).env(env).workdir(dir).timeout(limit);
                WorkspaceCommand.secretEnv(secretEnvs).forEach(r::secretEnv);
                DetachedExec x = WorkspaceCommand.workspaces(main).execs().start(id, r.build());
                out.result(WorkspaceJson.detached(x), p -> p.println(x.execId()));
                return 0;
            }
            int keep = RunCommand.outputLimit(outputLimit);
            // the excerpts are kept in files and --json writes them out from there: a flood costs no memory
            try (WorkspaceExecs.SpooledExecuted x = WorkspaceCommand.workspaces(main).execs().runSpooled(id, command,
                    env, WorkspaceCommand.secretEnv(secretEnvs), dir, limit, keep, stdin ? System.in : null,
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
    static final class ExecWaitCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "EXEC_ID", description = "The exec id --detach printed.")
        String execId;

        @Option(names = "--timeout", paramLabel = "S", description = "Wait at most this long (default: until it"
                + " ends).")
        Double timeout;

        @Override
        protected int run(Output out) {
            Duration wait = timeout == null ? Duration.ofDays(3650) : CliArgs.seconds(timeout, "--timeout");
            DetachedExec x = WorkspaceCommand.workspaces(main).execs().await(id, execId, wait);
            out.result(WorkspaceJson.detached(x), p -> p.println(label(x)));
            return x.state().equals("running") ? 124 : x.exitCode() == null ? 1 : x.exitCode();
        }
    }

    /** {@code davit workspace kill ID EXEC_ID}: stops a detached exec. */
    @Command(name = "kill", mixinStandardHelpOptions = true,
            description = "Stop a detached exec (TERM to its processes, KILL after 5 s); it then says killed_by:"
                    + " cancel.")
    static class ExecKillCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "EXEC_ID", description = "The exec id --detach printed.")
        String execId;

        @Override
        protected int run(Output out) {
            DetachedExec x = WorkspaceCommand.workspaces(main).execs().kill(id, execId);
            out.result(WorkspaceJson.detached(x), p -> p.println(label(x)));
            return 0;
        }
    }

    /** {@code davit workspace cancel ID EXEC_ID}: the deprecated name of {@code kill}, kept for one release. */
    @Command(name = "cancel", hidden = true, mixinStandardHelpOptions = true,
            description = CliArgs.DEPRECATED + "davit workspace kill.")
    static final class ExecCancelCmd extends ExecKillCmd {
        @Override
        protected int run(Output out) {
            CliArgs.deprecated(out, "'davit workspace cancel'", "'davit workspace kill'");
            return super.run(out);
        }
    }

    /** {@code davit workspace execs ID}: the detached execs of a workspace. */
    @Command(name = "execs", mixinStandardHelpOptions = true, description = "List a workspace's detached execs.")
    static final class ExecLsCmd extends WorkspaceCommand.IdCmd {
        @Override
        protected int run(Output out) {
            List<DetachedExec> all = WorkspaceCommand.workspaces(main).execs().list(id);
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

    @Command(name = "logs", mixinStandardHelpOptions = true,
            description = "The history of a workspace's execs: command, start, duration, exit code, and the first"
                    + " and last 2 KiB of each output stream.")
    static final class LogsCmd extends WorkspaceCommand.IdCmd {
        @Option(names = "--last", paramLabel = "N", description = "Only the newest N execs (default: all kept).")
        Integer last;

        @Override
        protected int run(Output out) {
            var all = WorkspaceCommand.workspaces(main).execs().logs(id);
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
    static final class OutputCmd extends WorkspaceCommand.IdCmd {
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
            Workspaces ws = WorkspaceCommand.workspaces(main);
            var page = ws.execs().output(id, execId, stream, offset, (int) n);
            ObjectNode doc = Json.object();
            doc.put("exec_id", execId);
            doc.put("stream", stream != null ? stream
                    : ws.execs().isDetached(id, execId) ? WorkspaceExecs.DETACHED_STREAM : "stdout");
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
}
