package dev.davit.cli.mcp;

import static dev.davit.cli.mcp.Tool.Kind.ENV;
import static dev.davit.cli.mcp.Tool.Kind.FLAG;
import static dev.davit.cli.mcp.Tool.Kind.INTEGER;
import static dev.davit.cli.mcp.Tool.Kind.NUMBER;
import static dev.davit.cli.mcp.Tool.Kind.STRING;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The tool table: every MCP tool as the davit command line it runs. Argument names follow the CLI's options; the
 * result is the command's {@code --json} document. A new tool (workspace push, export, patch, services, shells) is one
 * more entry here.
 */
final class Tools {
    static final boolean CORE = true;
    static final boolean FULL = false;

    private static final String WS = "The workspace's id or name (from workspace_create or workspace_list).";
    private static final String EXEC_RESULT = "Returns exit_code, stdout, stderr (UTF-8; capped), timed_out and"
            + " timings; a non-zero exit code is a result with isError true, not a protocol error.";

    private Tools() {
    }

    /** Every tool this server can offer, under {@code policy}. */
    static List<Tool> all(Policy policy) {
        List<Tool> t = new ArrayList<>();
        t.add(Tool.builder("run", CORE, "Run one command in a fresh, throw-away sandbox over an environment and"
                        + " delete the sandbox afterwards (nothing is kept; use workspace_create for state that lasts)."
                        + " 'env' is a catalog environment (see env_list; installed on first use) or an OCI image"
                        + " reference (pulled on first use). No network unless 'network' (and the server allows it);"
                        + " default limits 1024 MiB memory, 1 CPU, 1024 processes. " + EXEC_RESULT, "run")
                .positional("env", "A catalog environment (e.g. debian:12) or an image reference.")
                .option("timeout", NUMBER, "--timeout", "Kill the command after this many seconds (exit code 124);"
                        + " default: no timeout.")
                .option("network", FLAG, "--network", "Give the sandbox a NAT network (only when the server was"
                        + " started with --allow-network).")
                .option("env_vars", ENV, "--env", "Variables to set (the host's environment is never passed).")
                .option("workdir", STRING, "--workdir", "The working directory inside (default: the image's, else /).")
                .option("max_output", STRING, "--max-output", "Kill the command when its output passes this size"
                        + " (e.g. 10M).")
                .command(false, "The command and its arguments, e.g. [\"sh\", \"-c\", \"echo hi\"] (default: the"
                        + " image's entrypoint).")
                .check((a, scratch) -> {
                    policy.network(a);
                    return List.of();
                })
                .returns("exit_code", "integer", "The command's exit code (124: timed out, 137: killed).")
                .returns("stdout", "string", "Its standard output.")
                .returns("stderr", "string", "Its standard error.")
                .returns("timed_out", "boolean", "Whether 'timeout' killed it.")
                .returns("environment", "string", "The environment it ran in.")
                .returns("timings_ms", "object", "Create, start, exec and delete times.").build());
        t.add(Tool.builder("env_list", CORE, "List the catalog's environments (name, version, kind, installed or"
                + " not, description). Pass a name to run or workspace_create; env_pull installs one ahead of time.",
                "env", "list")
                .returns("environments", Tool.arrayOf("name", "version", "kind", "installed", "description"),
                        "The environments.")
                .returns("catalog", "object", "Where the catalog came from.").build());
        t.add(Tool.builder("env_pull", FULL, "Install a catalog environment (download or build it) so the first run"
                + " is fast; an install that is already valid is kept. May take minutes for a large environment.",
                "env", "pull")
                .positional("name", "An environment name from env_list, e.g. debian:12.")
                .returns("name", "string", "The environment.")
                .returns("version", "string", "Its version.")
                .returns("path", "string", "Where it is installed.")
                .returns("origin", "string", "existing, pulled or built.").build());
        t.add(Tool.builder("env_inspect", FULL, "Show one catalog environment: its source, platform, install"
                + " status and digests.", "env", "inspect")
                .positional("name", "An environment name from env_list.")
                .returns("name", "string", "The environment.").build());
        t.add(Tool.builder("env_prune", FULL, "Delete partial, invalid and stale environment installs. Safe: valid"
                + " installs of catalog environments are kept.", "env", "prune")
                .returns("deleted_environment_dirs", "array", "The directories deleted.")
                .returns("count", "integer", "How many.").build());
        t.add(Tool.builder("reap", FULL, "Remove sandboxes whose TTL has passed, failed ones, and what crashed runs"
                + " left behind. The server also reaps expired workspaces by itself every minute.", "sandbox", "reap")
                .returns("removed", "array", "Sandbox ids removed.")
                .returns("orphans", "array", "Leftovers of crashed runs removed.").build());
        t.add(Tool.builder("workspace_create", CORE, "Create a workspace: a long-lived sandbox over an environment"
                        + " with a /workspace directory that keeps its files between calls. /workspace starts empty"
                        + " (or from 'seed', a host directory or .tar under the server's --allow-path directories)"
                        + " and is recorded as the baseline that workspace_diff compares with. Next: workspace_exec,"
                        + " workspace_file_write, workspace_diff; workspace_delete when done. The server removes it"
                        + " after 'ttl' seconds (default: the server's TTL) and caps how many exist at once.",
                "workspace", "create")
                .positional("env", "A catalog environment (e.g. debian:12) or an image reference.")
                .option("seed", STRING, "--seed", "An absolute host path (a directory or .tar, .tar.gz, .tar.zst)"
                        + " under an --allow-path directory to copy into /workspace.")
                .option("name", STRING, "--name", "A name to use instead of the id.")
                .option("ttl", NUMBER, "--ttl", "Remove the workspace this many seconds after creation (default:"
                        + " the server's --ttl).")
                .option("network", FLAG, "--network", "Give it a NAT network (only with --allow-network).")
                .option("backend", STRING, "--backend", "container (default) or vm (a microVM: stronger isolation,"
                        + " slower start).")
                .check((a, scratch) -> {
                    policy.network(a);
                    policy.roomForWorkspace();
                    List<String> extra = new ArrayList<>();
                    if (a.get("seed") != null) {
                        policy.pinHostPath(a, "seed", scratch);
                    }
                    if (a.get("ttl") == null && policy.workspaceTtl() != null) {
                        extra.add("--ttl=" + policy.workspaceTtl().toSeconds());
                    }
                    return extra;
                })
                .returns("id", "string", "The workspace id: pass it as 'workspace' to the other workspace tools.")
                .returns("name", Json2.nullable("string"), "Its name, if given.")
                .returns("status", "string", "running.")
                .returns("ttl_seconds", Json2.nullable("number"), "When it will be removed, in seconds after"
                        + " creation.")
                .returns("baseline", "object", "What /workspace was seeded with (files, bytes).").build());
        t.add(Tool.builder("workspace_exec", CORE, "Run a command in a workspace, in /workspace unless 'cwd'. Files"
                + " it writes stay for later calls. " + EXEC_RESULT + " Next: workspace_diff to see what changed.",
                "workspace", "exec")
                .positional("workspace", WS)
                .option("timeout", NUMBER, "--timeout", "Kill the command after this many seconds (exit code 124).")
                .option("cwd", STRING, "--cwd", "The working directory, relative to /workspace.")
                .option("env_vars", ENV, "--env", "Variables to set.")
                .command(true, "The command and its arguments, e.g. [\"sh\", \"-c\", \"make test\"].")
                .returns("exit_code", "integer", "The command's exit code (124: timed out).")
                .returns("stdout", "string", "Its standard output.")
                .returns("stderr", "string", "Its standard error.")
                .returns("timed_out", "boolean", "Whether 'timeout' killed it.").build());
        t.add(status("workspace_list", CORE, "List the workspaces (id, name, status, created, TTL).", "ls", false)
                .returns("workspaces", Tool.arrayOf("id", "name", "status", "created_at", "ttl_seconds"),
                        "The workspaces, oldest first.").build());
        t.add(status("workspace_status", FULL, "Show one workspace: status (running or stopped), backend, TTL,"
                + " baseline.", "status", true).build());
        t.add(status("workspace_stop", FULL, "Stop a workspace's processes; its files are kept. workspace_start"
                + " starts it again.", "stop", true).build());
        t.add(status("workspace_start", FULL, "Start a stopped workspace (its files are as they were).", "start",
                true).build());
        t.add(Tool.builder("workspace_delete", CORE, "Delete a workspace: its sandbox, files and snapshots. Cannot"
                + " be undone.", "workspace", "rm")
                .positional("workspace", WS)
                .returns("id", "string", "The workspace deleted.")
                .returns("removed", "boolean", "true.").build());
        t.add(Tool.builder("workspace_file_list", CORE, "List a directory of /workspace (type, mode, size, link"
                + " target). Paths are relative to /workspace; '..' and links cannot leave it.", "workspace", "file",
                "ls")
                .positional("workspace", WS)
                .optionalPositional("path", "A directory relative to /workspace (default: /workspace itself).")
                .option("recursive", FLAG, "--recursive", "Everything below it.")
                .returns("files", Tool.arrayOf("path", "type", "size", "mode", "target"), "The entries.").build());
        t.add(Tool.builder("workspace_file_read", CORE, "Read a file of /workspace. 'content' is the text when the"
                        + " file is UTF-8, else null; 'content_base64' always holds the bytes. Read large files in"
                        + " part with 'max_bytes'.", "workspace", "file", "read")
                .positional("workspace", WS)
                .positional("path", "The file, relative to /workspace.")
                .option("max_bytes", INTEGER, "--max-bytes", "Read at most this many bytes (default: all of a file up to 64 MiB; a larger one needs this).")
                .post(Tools::withText)
                .returns("path", "string", "The file.")
                .returns("size", "integer", "Its size in bytes.")
                .returns("truncated", "boolean", "Whether max_bytes cut it.")
                .returns("content", Json2.nullable("string"), "The text, or null when not UTF-8.")
                .returns("content_base64", "string", "The bytes read, base64.").build());
        t.add(Tool.builder("workspace_file_write", CORE, "Write a file of /workspace atomically (created or"
                        + " replaced; its directory must exist: make one with workspace_exec mkdir -p). Give"
                        + " 'content' (text) or 'content_base64' (bytes). Next: workspace_exec to use it.",
                        "workspace", "file", "write")
                .positional("workspace", WS)
                .positional("path", "The file, relative to /workspace.")
                .option("content", STRING, "", "The text to write (UTF-8).")
                .option("content_base64", STRING, "", "The bytes to write, base64 (instead of content).")
                .check((a, scratch) -> List.of("--from=" + content(a, scratch.get())))
                .returns("path", "string", "The file.")
                .returns("bytes", "integer", "Bytes written.").build());
        t.add(Tool.builder("workspace_diff", CORE, "What changed in /workspace since the baseline (or a snapshot):"
                        + " added, modified, deleted and mode changes, with a unified diff of text files. Next:"
                        + " workspace_reset to undo, workspace_snapshot_create to keep a point.", "workspace", "diff")
                .positional("workspace", WS)
                .option("snapshot", STRING, "--snapshot", "Compare with this snapshot instead of the baseline.")
                .returns("changes", Tool.arrayOf("path", "kind", "type"), "One entry per changed path.")
                .returns("patch", "string", "The unified diff of text files.").build());
        t.add(Tool.builder("workspace_snapshot_create", FULL, "Save /workspace's current files as a named snapshot"
                        + " to diff against or reset to later.", "workspace", "snapshot", "create")
                .positional("workspace", WS)
                .positional("name", "Letters, digits, '.', '_', '-' (up to 64).")
                .returns("name", "string", "The snapshot.")
                .returns("files", "integer", "Entries saved.")
                .returns("bytes", "integer", "Bytes saved.").build());
        t.add(Tool.builder("workspace_snapshot_list", FULL, "List a workspace's snapshots (name, created, entries, bytes).", "workspace", "snapshot",
                "ls")
                .positional("workspace", WS)
                .returns("snapshots", Tool.arrayOf("name", "created_at", "files", "bytes"), "The snapshots.").build());
        t.add(Tool.builder("workspace_snapshot_delete", FULL, "Delete a snapshot of a workspace (its files are kept).", "workspace", "snapshot", "rm")
                .positional("workspace", WS)
                .positional("name", "The snapshot.")
                .returns("name", "string", "The snapshot deleted.")
                .returns("removed", "boolean", "true.").build());
        t.add(Tool.builder("workspace_reset", CORE, "Restore /workspace to the baseline (or a snapshot) exactly;"
                        + " stops the workspace's processes and starts it again if it was running.", "workspace",
                        "reset")
                .positional("workspace", WS)
                .option("snapshot", STRING, "--snapshot", "Restore this snapshot instead of the baseline.")
                .returns("id", "string", "The workspace.")
                .returns("status", "string", "running or stopped.")
                .returns("reset_to", "string", "baseline or the snapshot's name.").build());
        t.add(Tool.builder("workspace_logs", FULL, "The history of a workspace's execs: command, start, duration,"
                + " exit code, and the first and last 2 KiB of each output stream.", "workspace", "logs")
                .positional("workspace", WS)
                .post(logs -> dev.davit.oci.Json.object().set("logs", logs))
                .returns("logs", "array", "One entry per exec, oldest first.").build());
        t.add(Tool.builder("workspace_push", FULL, "Copy a host file or directory (under the server's --allow-path"
                        + " directories) into /workspace, replacing what is at 'dest'. Links inside a directory are"
                        + " copied as links. Next: workspace_exec to use it.", "workspace", "push")
                .positional("workspace", WS)
                .positional("host_path", "An absolute host path under an --allow-path directory.")
                .optionalPositional("dest", "Where, relative to /workspace (default: host_path's name at the top).")
                .check((a, scratch) -> {
                    policy.pinHostPath(a, "host_path", scratch);
                    return List.of();
                })
                .returns("path", "string", "Where it landed, relative to /workspace.")
                .returns("files", "integer", "Entries copied.")
                .returns("bytes", "integer", "Bytes copied.").build());
        t.add(Tool.builder("workspace_export", FULL, "Copy /workspace (or 'path' in it) out to the host: a new or"
                        + " empty directory, or a file ending in .tar, under the server's --allow-path directories."
                        + " Links are copied as links, devices left out, no setuid bits.", "workspace", "export")
                .positional("workspace", WS)
                .positional("host_dest", "An absolute host path under an --allow-path directory: a directory that"
                        + " does not exist or is empty, or a .tar file.")
                .option("path", STRING, "--path", "Export only this path, relative to /workspace.")
                .check((a, scratch) -> {
                    policy.pinHostDest(a, "host_dest", scratch);
                    return List.of();
                })
                .returns("dest", "string", "The host path written.")
                .returns("files", "integer", "Entries copied.")
                .returns("bytes", "integer", "Bytes copied.")
                .returns("skipped", "array", "Paths left out (devices, fifos, sockets).").build());
        t.add(Tool.builder("workspace_patch", FULL, "Apply a unified diff (as git diff or diff -u write it, paths"
                        + " relative to /workspace, a/ b/ prefixes allowed) inside /workspace, all or nothing:"
                        + " context must match exactly and a failing hunk changes nothing and is named. Next:"
                        + " workspace_diff or workspace_exec to test.", "workspace", "patch")
                .positional("workspace", WS)
                .input("patch", "The unified diff text.")
                .check((a, scratch) -> List.of(scratchFile(scratch.get(), "patch", ((String) a.get("patch"))
                        .getBytes(StandardCharsets.UTF_8)).toString()))
                .returns("changes", Tool.arrayOf("path", "kind"), "One entry per file changed (added, modified,"
                        + " deleted).").build());
        t.add(Tool.builder("workspace_service_start", FULL, "Start a long-running service (a server, a watcher) in"
                        + " /workspace and wait until it is ready: give at most one of ready_port (something"
                        + " listens there), ready_file (the path exists) or ready_cmd (sh -c exits 0). If it exits"
                        + " or is not ready in time it is stopped and the error shows the end of its log. Next:"
                        + " workspace_exec to talk to it, workspace_service_logs, workspace_service_stop.",
                        "workspace", "service", "start")
                .positional("workspace", WS)
                .positional("name", "The service's name (letters, digits, '.', '_', '-').")
                .option("ready_port", INTEGER, "--ready-port", "Ready when something listens on this TCP port in"
                        + " the sandbox.")
                .option("ready_file", STRING, "--ready-file", "Ready when this path exists (relative to /workspace).")
                .option("ready_cmd", STRING, "--ready-cmd", "Ready when 'sh -c ready_cmd' exits 0 (retried).")
                .option("ready_timeout", NUMBER, "--ready-timeout", "Give up after this many seconds (default 30).")
                .option("env_vars", ENV, "--env", "Variables to set.")
                .command(true, "The command and its arguments, e.g. [\"python3\", \"-m\", \"http.server\","
                        + " \"8000\"].")
                .returns("name", "string", "The service.")
                .returns("state", "string", "running, exited, stopped or failed-readiness.")
                .returns("pid", "integer", "Its process id.")
                .returns("ready", "boolean", "Whether its readiness check passed.")
                .returns("command", "array", "Its command.").build());
        t.add(Tool.builder("workspace_service_list", FULL, "List a workspace's services (name, state, pid, ready,"
                + " command).", "workspace", "service", "ls")
                .positional("workspace", WS)
                .returns("services", Tool.arrayOf("name", "state", "pid", "ready", "exit_code", "command"),
                        "The services.").build());
        t.add(Tool.builder("workspace_service_logs", FULL, "A service's output (stdout and stderr interleaved)."
                + " Use 'tail' for the end of a long log.", "workspace", "service", "logs")
                .positional("workspace", WS)
                .positional("name", "The service.")
                .option("tail", INTEGER, "--tail", "Only the last this many lines.")
                .returns("name", "string", "The service.")
                .returns("output", "string", "Its output (invalid UTF-8 replaced).")
                .returns("output_base64", Json2.nullable("string"), "The bytes, base64, when not UTF-8.")
                .returns("dropped_bytes", "integer", "How many older bytes the log's cap dropped (0: none).")
                .returns("line_cut", "boolean", "Whether the first line was longer than 64 KiB and only its end is"
                        + " shown.").build());
        t.add(Tool.builder("workspace_service_stop", FULL, "Stop a service: TERM to its processes, KILL after 5 s."
                + " Its log is kept.", "workspace", "service", "stop")
                .positional("workspace", WS)
                .positional("name", "The service.")
                .returns("name", "string", "The service.")
                .returns("state", "string", "stopped (or exited when it had ended).").build());
        t.add(Tool.builder("workspace_shell_open", FULL, "Open an interactive shell (sh, or 'command') on a"
                        + " terminal in /workspace; it keeps running between calls. Next: workspace_shell_write to"
                        + " type (end lines with \\n), workspace_shell_read to see what it printed,"
                        + " workspace_shell_close when done.", "workspace", "shell", "open")
                .positional("workspace", WS)
                .option("env_vars", ENV, "--env", "Variables to set.")
                .command(false, "The program and its arguments instead of an interactive sh, e.g. [\"python3\","
                        + " \"-i\"].")
                .returns("id", "string", "The shell id: pass it as 'shell' to the other shell tools.")
                .returns("state", "string", "running.")
                .returns("pid", "integer", "Its process id.").build());
        t.add(Tool.builder("workspace_shell_write", FULL, "Type text into a shell exactly as given (a newline is"
                        + " Enter; send \\u0003 for Ctrl-C or use workspace_shell_signal). Next:"
                        + " workspace_shell_read.", "workspace", "shell", "write")
                .positional("workspace", WS)
                .positional("shell", "The shell id from workspace_shell_open.")
                .input("data", "The text to type, e.g. \"echo hi\\n\".")
                .check((a, scratch) -> List.of(literal((String) a.get("data"))))
                .returns("id", "string", "The shell.")
                .returns("bytes", "integer", "Bytes written.").build());
        t.add(Tool.builder("workspace_shell_read", FULL, "What the shell's terminal showed since the last read, as"
                        + " text (the echo of what was typed, the output, the next prompt; colours and other control"
                        + " sequences taken out). Give wait_ms (e.g. 10000) to wait for output: the read returns once"
                        + " it settles (no new output for quiet_ms) or, with 'until', as soon as that pattern (e.g."
                        + " the prompt) appears. At most max_bytes: when 'truncated', read again for the rest.",
                        "workspace", "shell", "read")
                .positional("workspace", WS)
                .positional("shell", "The shell id.")
                .option("wait_ms", INTEGER, "--wait-ms", "Wait up to this many ms for output (default 0: return"
                        + " what is there).")
                .option("quiet_ms", INTEGER, "--quiet-ms", "Once there was output, return when none came for this"
                        + " many ms (default 200).")
                .option("until", STRING, "--until", "Return as soon as the text matches this regular expression"
                        + " (Java syntax, found anywhere), e.g. \"\\\\$ $\" for a '$ ' prompt at the end; quiet_ms"
                        + " then does not apply.")
                .option("max_bytes", INTEGER, "--max-bytes", "Take at most this many bytes of output (default"
                        + " 65536, at most 16777216).")
                .option("raw", FLAG, "--raw", "Return the exact bytes, base64, in output_base64 instead of text.")
                .returns("id", "string", "The shell.")
                .returns("output", Json2.nullable("string"), "The text (null with raw).")
                .returns("output_base64", Json2.nullable("string"), "With raw: the bytes, base64.")
                .returns("truncated", "boolean", "More output was waiting than max_bytes: read again.")
                .returns("state", "string", "running or exited(CODE).").build());
        t.add(Tool.builder("workspace_shell_signal", FULL, "Send a signal to the shell's foreground process group,"
                + " as Ctrl-C would (INT).", "workspace", "shell", "signal")
                .positional("workspace", WS)
                .positional("shell", "The shell id.")
                .positional("signal", "The signal: INT (as Ctrl-C), TERM, KILL, HUP, QUIT, USR1 or USR2.")
                .oneOf(dev.davit.sandbox.Spawned.SIGNALS.toArray(String[]::new))
                .returns("id", "string", "The shell.")
                .returns("signal", "string", "The signal sent.").build());
        t.add(Tool.builder("workspace_shell_close", FULL, "End a shell (its processes are killed) and remove it.", "workspace", "shell",
                        "close")
                .positional("workspace", WS)
                .positional("shell", "The shell id.")
                .returns("id", "string", "The shell closed.")
                .returns("removed", "boolean", "true.").build());
        return List.copyOf(t);
    }

    /**
     * {@code data} as the DATA argument of {@code davit workspace shell write}, which reads backslash escapes: every
     * backslash doubled, and a leading '-' written as an escape so it is not taken for an option.
     */
    static String literal(String data) {
        String s = data.replace("\\", "\\\\");
        return s.startsWith("-") ? "\\x2d" + s.substring(1) : s;
    }

    private static Tool.Builder status(String name, boolean core, String description, String verb, boolean id) {
        Tool.Builder b = Tool.builder(name, core, description, "workspace", verb);
        if (id) {
            b.positional("workspace", WS)
                    .returns("id", "string", "The workspace id.")
                    .returns("name", Json2.nullable("string"), "Its name.")
                    .returns("status", "string", "running or stopped.")
                    .returns("backend", "string", "container.")
                    .returns("ttl_seconds", Json2.nullable("number"), "Seconds after creation it is removed.");
        }
        return b;
    }

    /** Writes the call's content into a scratch file for {@code --from}. */
    private static Path content(Map<String, Object> a, Path scratch) {
        Object text = a.get("content");
        Object b64 = a.get("content_base64");
        if ((text == null) == (b64 == null)) {
            throw Tool.invalid("give exactly one of 'content' (text) or 'content_base64' (bytes)");
        }
        byte[] bytes;
        if (text != null) {
            bytes = ((String) text).getBytes(StandardCharsets.UTF_8);
        } else {
            try {
                bytes = Base64.getDecoder().decode((String) b64);
            } catch (IllegalArgumentException e) {
                throw Tool.invalid("'content_base64' is not base64: " + e.getMessage());
            }
        }
        return scratchFile(scratch, "content", bytes);
    }

    /** Writes {@code bytes} to {@code name} in the call's scratch directory. */
    private static Path scratchFile(Path scratch, String name, byte[] bytes) {
        Path f = scratch.resolve(name);
        try {
            Files.write(f, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return f;
    }

    /** Adds {@code content}: the bytes as text when they are UTF-8, else null. */
    private static ObjectNode withText(JsonNode result) {
        ObjectNode doc = (ObjectNode) result;
        if (doc.has("content_base64")) {
            byte[] bytes = Base64.getDecoder().decode(doc.get("content_base64").asText());
            try {
                doc.put("content", StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString());
            } catch (CharacterCodingException e) {
                doc.putNull("content");
            }
        }
        return doc;
    }

    /** Small JSON Schema helpers. */
    static final class Json2 {
        private Json2() {
        }

        static ObjectNode nullable(String type) {
            ObjectNode s = dev.davit.oci.Json.object();
            s.putArray("type").add(type).add("null");
            return s;
        }
    }
}
