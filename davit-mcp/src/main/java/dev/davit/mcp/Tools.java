package dev.davit.mcp;

import static dev.davit.mcp.Tool.Kind.ENV;
import static dev.davit.mcp.Tool.Kind.FLAG;
import static dev.davit.mcp.Tool.Kind.INTEGER;
import static dev.davit.mcp.Tool.Kind.NUMBER;
import static dev.davit.mcp.Tool.Kind.STRING;
import static dev.davit.mcp.Tool.Kind.STRINGS;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The tool table: every MCP tool's schema (arguments, result fields, hints, description), the source of
 * {@code tools/list} and of docs/reference/mcp/TOOLS.md and WORKSPACE-TOOLS.md. How a tool calls the library is in
 * {@link ToolCalls}. A new tool is one more entry here and one in {@link ToolCalls}.
 */
final class Tools {
    static final Tool.Profile RUN = Tool.Profile.RUN;
    static final Tool.Profile CORE = Tool.Profile.CORE;
    static final Tool.Profile FULL = Tool.Profile.FULL;
    /** output_limit: its default, least and most. */
    static final long DEFAULT_OUTPUT = 16384;
    static final long MIN_OUTPUT = 64;
    static final long MAX_OUTPUT = 1 << 20;
    /**
     * The most output_limit: 256 KiB of each stream, so that a result stays well inside {@link
     * DavitMcpServer#MAX_RESULT} whatever the bytes (a newline is two characters of JSON).
     */
    static final long MAX_OUTPUT_LIMIT = 256 << 10;
    /** The most entries workspace_file_list returns. */
    static final int MAX_ENTRIES = 2000;
    /** What a read's {@code redacted} says. */
    static final String REDACTED_READ = "Whether a secret value in it is shown as [REDACTED:NAME] (then the content"
            + " is not the file's bytes; size stays the file's).";
    /** The most characters of a patch workspace_diff returns at once (a page). */
    static final int MAX_PATCH = 64 << 10;
    /** About how long environment_pull waits for an install before it answers "installing" (see {@link Installs}). */
    static final long LONG_WAIT_S = 40;
    private static final String OUTPUT_LIMIT = "Bytes of each of stdout and stderr in the result; of more, their start"
            + " and end.";

    static final String WS = "The workspace's id or name.";
    private static final String EXEC_RESULT = "A non-zero exit_code is a result with isError, not a protocol error.";
    private static final String NAME = "A name to use instead of the id, unique among the workspaces: up to 64"
            + " letters, digits, '.', '_', '-', not starting with 'ws-'.";
    private static final String WS_ENV = "Variables every command, service and shell in it gets (shown by its"
            + " status: never a secret, see 'secrets').";
    /** What every tool says of a workspace's status. */
    private static final String STATUS = "running, paused, stopped, created or failed.";
    private static final String LABELS = "Labels to find it by (workspace_list), e.g. {\"task\": \"42\"}: at most 32;"
            + " keys: letters, digits, '.', '_', '/', '-'; values also ':', '@', '+'.";
    private static final String DISK = "Disk in MiB (its files and /tmp together; default 10240), at most the"
            + " server's --max-disk; past it writes fail (disk_full). A run's files count against its memory.";
    private static final ObjectNode PORTS = Tool.arrayOf("container_port", "host_address", "host_port", "address");

    private Tools() {
    }

    /** Every tool this server can offer, under {@code policy}. */
    static List<Tool> all(Policy policy, ToolCalls calls) {
        List<Tool> t = new ArrayList<>();
        t.add(Tool.builder("run", RUN, "Run a command in a throw-away sandbox", "Run one command in a fresh,"
                        + " throw-away sandbox over an environment and delete the sandbox afterwards (nothing is"
                        + " kept[[workspace_create|; use workspace_create for state that lasts]]). 'environment' is a catalog"
                        + " environment (see environment_list; installed on first use) or an OCI image reference (pulled on"
                        + " first use, from a registry the server allows). No network unless 'network' or a policy"
                        + " (allow_hosts...) and the server allows it. " + EXEC_RESULT)
                .required("environment", "A catalog environment (e.g. debian:12) or an image reference.")
                .option("timeout", NUMBER, "Kill the command after this many seconds (exit code 124);"
                        + " default: no timeout.")
                .option("network", FLAG, "Give the sandbox a NAT network (only when the server was"
                        + " started with --allow-network).")
                .with(Tools::egress)
                .option("env", ENV, "Variables to set (the host's environment is never passed).")
                .option("workdir", STRING, "The working directory inside (default: the image's, else /).")
                .option("max_output", STRING, "Kill the command when its output passes this size"
                        + " (e.g. 10M).")
                .option("output_limit", INTEGER, OUTPUT_LIMIT).byDefault(DEFAULT_OUTPUT)
                .atLeast(MIN_OUTPUT).atMost(MAX_OUTPUT_LIMIT)
                .command(false, "The command and its arguments, e.g. [\"sh\", \"-c\", \"echo hi\"] (default: the"
                        + " image's entrypoint).")
                .option("disk", INTEGER, DISK)
                .with(Tools::resources)
                .check((a, call) -> {
                    policy.network(a);
                    policy.pull(a, "environment");
                    policy.resources(a);
                    policy.disk(a);
                    call.release(policy.reserveRun(a, call::progress));
                })
                .hints(Tool.Hints.CHANGE)
                .returns("exit_code", "integer", "The command's exit code (124: timed out, 137: killed).")
                .with(Tools::outputs)
                .returns("truncated", "boolean", "Whether output was left out (output_limit) or cut (max_output).")
                .returns("output_limited", "boolean", "Whether max_output killed it.")
                .returns("environment", "string", "The environment it ran in.")
                .returns("timings_ms", "object", "Create, start, exec and delete times.").build());
        t.add(Tool.builder("environment_list", RUN, "List environments", "List the catalog's environments (name, version,"
                        + " kind, installed or not, description). Pass a name to run[[workspace_create| or"
                        + " workspace_create]]; environment_pull installs one ahead of time.")
                .hints(Tool.Hints.READ)
                .returns("environments", Tool.arrayOf("name", "version", "kind", "installed", "description"),
                        "The environments.")
                .returns("catalog", "object", "Where the catalog came from.").build());
        t.add(Tool.builder("environment_pull", RUN, "Install an environment", "Install a catalog environment (download or"
                        + " build it) so that the first run is fast; an install that is already valid is kept. A"
                        + " large one takes minutes: the call returns after about " + LONG_WAIT_S + " s with"
                        + " status 'installing' while the install goes on; call environment_pull again to wait more.")
                .required("name", "An environment name from environment_list, e.g. debian:12.")
                .hints(new Tool.Hints(false, false, true, true))
                .returns("name", "string", "The environment.")
                .maybe("version", "string", "Its version.")
                .maybe("path", "string", "Where it is installed.")
                .maybe("origin", "string", "existing, pulled or built.")
                .maybe("status", "string", "installing: still going on (call again); else absent.").build());
        t.add(Tool.builder("environment_inspect", FULL, "Show an environment", "Show one catalog environment: its source,"
                        + " platform, install status and digests.")
                .required("name", "An environment name from environment_list.")
                .hints(Tool.Hints.READ)
                .returns("name", "string", "The environment.").build());
        t.add(Tool.builder("environment_prune", FULL, "Prune environment installs", "Delete partial, invalid and stale"
                        + " environment installs. Safe: valid installs of catalog environments are kept.")
                .hints(Tool.Hints.DESTRUCTIVE_IDEMPOTENT)
                .returns("deleted_environment_dirs", "array", "The directories deleted.")
                .returns("count", "integer", "How many.").build());
        t.add(Tool.builder("reap", FULL, "Remove expired workspaces", "Remove this server's workspaces whose TTL has"
                        + " passed and those whose sandbox is gone. The server also does it by itself every"
                        + " minute.")
                .hints(Tool.Hints.DESTRUCTIVE_IDEMPOTENT)
                .returns("removed", Tool.arrayOf("id", "name", "sandbox", "reason"), "The workspaces removed"
                        + " (reason: expired, sandbox gone or create interrupted).").build());
        t.add(Tool.builder("workspace_create", CORE, "Create a workspace", "Create a workspace: a long-lived sandbox"
                        + " over an environment with a /workspace directory that keeps its files between calls."
                        + " /workspace starts empty (or from 'seed', a host directory or .tar under the server's"
                        + " --allow-path directories) and is recorded as the baseline that workspace_diff compares"
                        + " with. Next: workspace_exec, workspace_file_write, workspace_diff; workspace_remove when"
                        + " done. The server removes it after 'ttl' seconds (at most the server's TTL) and caps how"
                        + " many exist at once.[[workspace_snapshot_push| With 'from' instead of 'environment', it starts"
                        + " from a snapshot of workspace_snapshot_push.]]")
                .option("environment", STRING, "A catalog environment (e.g. debian:12) or an image reference (or give"
                        + " 'from').")
                .option("from", STRING, "A pushed workspace snapshot, instead of 'environment' (its environment comes"
                        + " with it, and its network, limits, labels and variables unless given here).")
                .option("seed", STRING, "An absolute host path (a directory or .tar, .tar.gz, .tar.zst)"
                        + " under an --allow-path directory to copy into /workspace.")
                .option("name", STRING, NAME)
                .option("labels", ENV, LABELS)
                .option("env", ENV, WS_ENV)
                .option("ttl", NUMBER, "Remove the workspace this many seconds after creation (default"
                        + " and most: the server's --ttl).")
                .option("network", FLAG, "Give it a NAT network (only with --allow-network).")
                .with(Tools::egress)
                .option("publish", STRINGS, "Ports to reach from the host, each \"HOST_PORT:PORT\""
                        + " (e.g. \"18080:8080\"; HOST_PORT 1024 or more, or 0 for any free one: 'ports' in the"
                        + " result says which): 127.0.0.1:HOST_PORT reaches PORT in the workspace[[workspace_service_"
                        + "start|, e.g. a service of workspace_service_start]]. Needs 'network'; container only.")
                .option("backend", STRING, calls.backends().describe())
                .oneOf(calls.backends().allowed().toArray(String[]::new))
                .option("secrets", ENV, SECRETS)
                .option("secret_inject", ENV, SECRET_INJECT)
                .option("disk", INTEGER, DISK)
                .with(Tools::resources)
                .check((a, call) -> {
                    if ((a.get("environment") == null) == (a.get("from") == null)) {
                        throw Tool.invalid("give 'environment' (an environment or image) or 'from' (a snapshot), one of the"
                                + " two");
                    }
                    if (a.get("from") != null && a.get("seed") != null) {
                        throw Tool.invalid("'from' starts /workspace with the snapshot's files; drop 'seed'");
                    }
                    policy.network(a);
                    if (a.get("from") != null) {
                        policy.snapshot(a, "from");
                    } else {
                        policy.pull(a, "environment");
                    }
                    policy.resources(a);
                    policy.disk(a);
                    call.release(policy.reserveWorkspace(a));
                })
                .returns("id", "string", "The workspace id: pass it as 'workspace' to the other workspace tools.")
                .returns("name", Json2.nullable("string"), "Its name, if given.")
                .returns("status", "string", "running.")
                .returns("backend", "string", "container, vm or k8s.")
                .returns("ttl_seconds", Json2.nullable("number"), "When it will be removed, in seconds after"
                        + " creation.")
                .returns("baseline", "object", "What /workspace was seeded with (files, bytes).")
                .returns("labels", "object", "Its labels.")
                .returns("ports", PORTS, "Its published ports: where the host reaches each ('address').").build());
        t.add(Tool.builder("workspace_network", CORE, "Change a workspace's egress policy", "Show or change the"
                        + " egress policy of a workspace created with one: add allow or deny entries, drop entries"
                        + " ('remove'); new connections follow at once, open ones are kept. Allow entries must lie"
                        + " within the server's --allow-egress. Without changes it shows the policy.")
                .required("workspace", WS)
                .with(Tools::egress)
                .option("remove", STRINGS, "Entries to drop, as the policy shows them.")
                .hints(Tool.Hints.IDEMPOTENT)
                .with(Tools::policy)
                .returns("denied_recently", DENIALS, "Its newest 20 denials.")
                .check((a, call) -> policy.networkChange(a, call.workspace())).build());
        t.add(Tool.builder("workspace_network_log", FULL, "Read a workspace's egress denials", "What a workspace's"
                        + " egress policy refused (names, connections), oldest first, and the policy.")
                .required("workspace", WS)
                .option("last", INTEGER, "Only the newest this many (default 50).").byDefault(50).atLeast(1)
                .atMost(1000)
                .hints(Tool.Hints.READ)
                .with(Tools::policy)
                .returns("denials", DENIALS, "The denials, oldest first.").build());
        t.add(Tool.builder("workspace_exec", CORE, "Run a command in a workspace", "Run a command in a workspace,"
                        + " in /workspace unless 'workdir'. Files it writes stay for later calls. " + EXEC_RESULT
                        + " When output_limit cut the output, workspace_exec_output reads all of it in pages (give"
                        + " exec_id). With detach: true it returns at once (state: running, exit_code null)"
                        + " and the command runs on, past this call and a client that goes away: a build or test"
                        + " longer than a request may last; workspace_exec_wait waits for it, workspace_exec_output"
                        + " pages its output (stdout and stderr as one stream), workspace_exec_kill stops it."
                        + " Next: workspace_diff to see what changed.")
                .required("workspace", WS)
                .option("detach", FLAG, "Start it and return at once with its exec_id (see above).")
                .option("timeout", NUMBER, "Kill the command after this many seconds (exit code 124).")
                .option("workdir", STRING, "The working directory, relative to /workspace.")
                .option("env", ENV, "Variables to set.")
                .option("secret_env", ENV, SECRET_ENV)
                .option("output_limit", INTEGER, OUTPUT_LIMIT).byDefault(DEFAULT_OUTPUT)
                .atLeast(MIN_OUTPUT).atMost(MAX_OUTPUT_LIMIT)
                .command(true, "The command and its arguments, e.g. [\"sh\", \"-c\", \"make test\"].")
                .hints(Tool.Hints.DESTRUCTIVE) // a command may delete or overwrite the workspace's files
                .returns("exit_code", Json2.nullable("integer"), "The command's exit code (124: timed out); null"
                        + " for a detached exec, which still runs.")
                .with(Tools::outputs)
                .returns("truncated", "boolean", "Whether output_limit left output out: read it with"
                        + " workspace_exec_output.")
                .returns("exec_id", "string", "This exec, for workspace_exec_output (and for a detached one"
                        + " workspace_exec_wait and workspace_exec_kill).")
                .returns("network_denied", DENIALS, "What the egress policy refused while it ran, and why.")
                .maybe("state", "string", "A detached exec's: running.").build());
        t.add(detached(Tool.builder("workspace_exec_wait", CORE, "Wait for a detached exec", "Wait up to"
                        + " 'timeout' seconds (default 30, at most 50: within a client's request timeout) for a"
                        + " detached workspace_exec to end, and show it: state (running, exited, killed), exit_code,"
                        + " killed_by (timeout, cancel, stop, reset, delete, oom) and the end of its output. Call again"
                        + " while it is running; it runs on either way. Next: workspace_exec_output for all of its"
                        + " output.")
                .required("workspace", WS)
                .required("exec_id", "The exec_id of the detached workspace_exec.")
                .option("timeout", NUMBER, "Wait at most this many seconds.").byDefault(30).atLeast(0).atMost(50)
                .hints(Tool.Hints.READ))
                .returns("output_tail", "string", "The last 2 KiB of its output (stdout and stderr as written).")
                .returns("network_denied", "array", "What the network policy refused since it started (the"
                        + " newest 100), while it runs too.")
                .build());
        t.add(detached(Tool.builder("workspace_exec_kill", CORE, "Stop a detached exec", "Stop a detached"
                        + " workspace_exec: TERM to its processes, KILL after 5 s; it then says killed_by: cancel.")
                .required("workspace", WS)
                .required("exec_id", "The exec_id of the detached workspace_exec.")
                .hints(Tool.Hints.DESTRUCTIVE)).build());
        t.add(Tool.builder("workspace_exec_output", CORE, "Read an exec's whole output", "Read a page of the whole"
                        + " output of a workspace_exec whose result was cut by output_limit (truncated: true): 'limit'"
                        + " bytes of 'stream' from 'offset'. Kept for the newest 16 execs cut, up to 16 MiB per"
                        + " stream.")
                .required("workspace", WS)
                .required("exec_id", "The exec_id of the workspace_exec result.")
                .option("stream", STRING, "stdout (default) or stderr; a detached exec's: output (its only"
                        + " one, the default).").oneOf("stdout", "stderr", "output")
                .option("offset", INTEGER, "From this byte (default 0).")
                .option("limit", INTEGER, "At most this many bytes (default 65536).").byDefault(65536)
                .atLeast(1).atMost(MAX_OUTPUT)
                .hints(Tool.Hints.READ)
                .returns("exec_id", "string", "The exec.")
                .returns("stream", "string", "stdout, stderr or output.")
                .returns("offset", "integer", "Where this page starts.")
                .returns("bytes", "integer", "How many bytes this page holds.")
                .returns("kept", "integer", "How many bytes of the stream are kept in all.")
                .returns("eof", "boolean", "Whether this page reaches the end of what is kept.")
                .returns("dropped_bytes", "integer", "How many bytes the stream had past what is kept (16 MiB),"
                        + " which no page has (0: none).")
                .returns("content", Json2.nullable("string"), "The page as text, or null when not UTF-8.")
                .maybe("content_base64", "string", "The page's bytes, base64, when not UTF-8.").build());
        t.add(status("workspace_list", CORE, "List workspaces", "List the workspaces (id, name, labels, status,"
                        + " created, TTL, ports).", false)
                .option("labels", ENV, "Only the workspaces that have all these labels, e.g."
                        + " {\"task\": \"42\"}.")
                .returns("workspaces", Tool.arrayOf("id", "name", "labels", "status", "created_at", "ttl_seconds",
                        "ports"), "The workspaces, oldest first.").build());
        t.add(status("workspace_status", FULL, "Show a workspace", "Show one workspace: status, backend, TTL,"
                + " baseline.", true).build());
        t.add(status("workspace_update", FULL, "Rename or relabel a workspace", "Rename a workspace, change its"
                        + " labels, TTL or variables. Names are unique: a name another workspace has is refused.",
                        true)
                .hints(Tool.Hints.IDEMPOTENT)
                .option("name", STRING, NAME)
                .option("no_name", FLAG, "Drop its name.")
                .option("labels", ENV, "Labels to set (added or replaced).")
                .option("remove_labels", STRINGS, "Keys of labels to remove.")
                .option("ttl", NUMBER, "Remove it this many seconds after its creation (not after now; at"
                        + " most the server's --ttl).")
                .option("env", ENV, "Its variables to set (the next commands get them).")
                .option("unset_env", STRINGS, "Names of its variables to remove.")
                .build());
        t.add(status("workspace_stop", FULL, "Stop a workspace", "Stop a workspace's processes; its files are kept."
                + " workspace_start starts it again.", true).hints(Tool.Hints.DESTRUCTIVE_IDEMPOTENT).build());
        t.add(status("workspace_start", CORE, "Start a workspace", "Start a stopped workspace (its files are as they"
                + " were).", true).hints(Tool.Hints.IDEMPOTENT).build());
        t.add(status("workspace_pause", FULL, "Pause a workspace", "Pause a workspace's processes (services, shells,"
                + " detached execs) with their state, taking no CPU; a microVM's memory is saved and freed."
                + " workspace_resume (or workspace_start) goes on where it was; execs are refused meanwhile.", true)
                .hints(Tool.Hints.IDEMPOTENT).build());
        t.add(status("workspace_resume", FULL, "Resume a workspace", "Resume a paused workspace: its processes go on"
                + " where they were.", true).hints(Tool.Hints.CHANGE).build());
        t.add(Tool.builder("workspace_remove", CORE, "Remove a workspace", "Remove a workspace: its sandbox, files"
                        + " and snapshots. Cannot be undone.")
                .required("workspace", WS)
                .hints(Tool.Hints.DESTRUCTIVE)
                .returns("id", "string", "The workspace removed.")
                .returns("removed", "boolean", "true.").build());
        t.add(Tool.builder("workspace_file_list", CORE, "List files of a workspace", "List a directory of /workspace"
                        + " (type, mode, size, link target), at most " + MAX_ENTRIES + " entries. Paths are relative"
                        + " to /workspace; '..' and links cannot leave it.")
                .required("workspace", WS)
                .option("path", STRING, "A directory relative to /workspace (default: /workspace itself).")
                .option("recursive", FLAG, "Everything below it.")
                .hints(Tool.Hints.READ)
                .returns("files", Tool.arrayOf("path", "type", "size", "mode", "target"), "The entries.")
                .returns("truncated", "boolean", "Whether there were more than " + MAX_ENTRIES + " entries (list a"
                        + " directory further down).").build());
        t.add(Tool.builder("workspace_file_read", CORE, "Read a file of a workspace", "Read a file of /workspace:"
                        + " 'content' is its text when it is UTF-8, else 'content_base64' holds its bytes. At most"
                        + " 'max_bytes' (default 65536) from 'offset': while 'truncated', read on from"
                        + " 'next_offset'.")
                .required("workspace", WS)
                .required("path", "The file, relative to /workspace.")
                .option("max_bytes", INTEGER, "Read at most this many bytes.").byDefault(65536)
                .atLeast(1).atMost(MAX_OUTPUT)
                .option("offset", INTEGER, "From this byte (default 0).")
                .hints(Tool.Hints.READ)
                .returns("path", "string", "The file.")
                .returns("size", "integer", "Its size in bytes.")
                .returns("truncated", "boolean", "Whether more follows.")
                .returns("next_offset", "integer", "Where the next page starts.")
                .returns("redacted", "boolean", REDACTED_READ)
                .returns("content", Json2.nullable("string"), "The text, or null when not UTF-8.")
                .maybe("content_base64", "string", "The bytes read, base64, when not UTF-8.").build());
        t.add(Tool.builder("workspace_file_write", CORE, "Write a file of a workspace", "Write a file of /workspace"
                        + " atomically (created or replaced; missing parent directories are created). Give 'content'"
                        + " (text) or 'content_base64' (bytes). Next: workspace_exec to use it.")
                .required("workspace", WS)
                .required("path", "The file, relative to /workspace.")
                .option("content", STRING, "The text to write (UTF-8).")
                .option("content_base64", STRING, "The bytes to write, base64 (instead of content).")
                .hints(Tool.Hints.DESTRUCTIVE_IDEMPOTENT)
                .returns("path", "string", "The file.")
                .returns("bytes", "integer", "Bytes written.").build());
        t.add(Tool.builder("workspace_file_edit", CORE, "Edit a file of a workspace", "Replace text of a file of"
                        + " /workspace: 'old_text' must be in it exactly once (white space included), or give"
                        + " 'replace_all'. Found nowhere or more than once, nothing changes and the error says how"
                        + " many times and on which lines.")
                .required("workspace", WS)
                .required("path", "The file, relative to /workspace (UTF-8 text).")
                .required("old_text", "The exact text to replace.")
                .required("new_text", "The text to put in its place (empty: remove it).")
                .option("replace_all", FLAG, "Replace every occurrence.")
                .hints(Tool.Hints.DESTRUCTIVE)
                .returns("path", "string", "The file.")
                .returns("replacements", "integer", "How many it replaced.")
                .returns("line", "integer", "The line of the first, before the edit.").build());
        t.add(Tool.builder("workspace_diff", CORE, "Show a workspace's changes", "What changed in /workspace since the"
                        + " baseline (or a snapshot): added, modified, deleted and mode changes, with a unified diff"
                        + " of text files, " + MAX_PATCH / 1024 + " KiB of it at a time: while patch_truncated, call"
                        + " again with offset next_offset, or narrow it with 'paths'. Next: workspace_reset to"
                        + " undo[[workspace_snapshot_create|, workspace_snapshot_create to keep a point]].")
                .required("workspace", WS)
                .option("snapshot", STRING, "Compare with this snapshot instead of the baseline.")
                .option("paths", STRINGS, "Only these paths and what is below them.")
                .option("include_ignored", FLAG, "List what is below ignored directories too (by default those"
                        + " a .gitignore ignores, or node_modules and the like, are counted in 'collapsed').")
                .option("offset", INTEGER, "The patch from this character (default 0).")
                .hints(Tool.Hints.READ)
                .returns("changes", Tool.arrayOf("path", "kind", "type"), "One entry per changed path.")
                .returns("collapsed", Tool.arrayOf("path", "added", "modified", "deleted"), "Ignored directories"
                        + " whose changes are counted, not listed.")
                .returns("patch", "string", "The unified diff of text files.")
                .returns("redacted", "boolean", "Whether a secret value is shown as [REDACTED:NAME] in a path or"
                        + " the patch (a file's diff where one was does not apply).")
                .returns("patch_truncated", "boolean", "Whether more of the patch follows.")
                .returns("next_offset", "integer", "Where the patch's next page starts.").build());
        t.add(Tool.builder("workspace_snapshot_create", CORE, "Snapshot a workspace", "Save /workspace's current"
                        + " files as a named snapshot to diff against or reset to later. At most 32 per workspace,"
                        + " holding at most 4 times its disk together: remove old ones with workspace_snapshot_remove.")
                .required("workspace", WS)
                .required("name", "Letters, digits, '.', '_', '-' (up to 64).")
                .option("all", FLAG, "Save every file of the sandbox (/etc, installed packages, /tmp), not only"
                        + " /workspace: workspace_reset to it brings all of it back.")
                .returns("name", "string", "The snapshot.")
                .returns("all", "boolean", "Whether it holds every file of the sandbox.")
                .returns("files", "integer", "Entries saved.")
                .returns("bytes", "integer", "Bytes saved.").build());
        t.add(Tool.builder("workspace_snapshot_list", CORE, "List snapshots", "List a workspace's snapshots (name,"
                        + " created, entries, bytes).")
                .required("workspace", WS)
                .hints(Tool.Hints.READ)
                .returns("snapshots", Tool.arrayOf("name", "created_at", "files", "bytes"), "The snapshots.").build());
        t.add(Tool.builder("workspace_snapshot_remove", CORE, "Remove a snapshot", "Remove a snapshot of a workspace"
                        + " (its files are kept).")
                .required("workspace", WS)
                .required("name", "The snapshot.")
                .hints(Tool.Hints.DESTRUCTIVE)
                .returns("name", "string", "The snapshot removed.")
                .returns("removed", "boolean", "true.").build());
        t.add(Tool.builder("workspace_fork", CORE, "Fork a workspace", "Make 'count' new workspaces, each a copy"
                        + " of this one as it is now: all its files (/workspace, installed packages, /etc, /tmp),"
                        + " baseline, snapshots, secrets and network policy, to try different changes side by side."
                        + " Running processes are not copied; the workspace itself goes on unchanged. Each fork counts"
                        + " as a workspace of this server.")
                .required("workspace", WS)
                .option("count", INTEGER, "How many forks (default: one per name, else 1).").atLeast(1).atMost(16)
                .option("names", STRINGS, "Their names, one per fork (then 'count' may be left out).")
                .check((a, call) -> call.release(policy.reserveForks(call.workspace(), forkCount(a))))
                .returns("forked_from", "string", "The workspace forked.")
                .returns("workspaces", Tool.arrayOf("id", "name", "status"), "The forks, as workspace_status"
                        + " shows them: pass an id as 'workspace'.").build());
        t.add(Tool.builder("workspace_commit", FULL, "Commit a workspace to an image", "Make an image of the"
                        + " workspace as it is: its environment plus one layer of all it changed (packages, files"
                        + " deleted, /workspace); no secrets or /tmp. Only under the server's --commit-to"
                        + " repositories. Next: workspace_create with it as 'environment'.")
                .required("workspace", WS)
                .required("reference", "The image's name with a tag, under a --commit-to prefix (e.g."
                        + " 127.0.0.1:5000/agents/fix:1).")
                .option("push", FLAG, "Also push it to its registry (default false).")
                .check((a, call) -> policy.commit(a, "reference"))
                .hints(Tool.Hints.CHANGE)
                .returns("reference", "string", "The image's name.")
                .returns("digest", "string", "Its manifest digest.")
                .returns("base", Json2.nullable("string"), "The environment's image it is made on.")
                .returns("changes", "object", "What its new layer holds: files, bytes, deleted (paths of the"
                        + " environment it removes).").build());
        t.add(Tool.builder("workspace_snapshot_push", FULL, "Push a workspace snapshot", "Push a snapshot"
                        + " (workspace_snapshot_create, with 'all' the whole sandbox) with its environment and the"
                        + " workspace's settings (network, limits, labels, variables), under the server's"
                        + " --commit-to repositories; workspace_create with 'from' starts from it, here or"
                        + " elsewhere.")
                .required("workspace", WS)
                .required("snapshot", "The snapshot's name.")
                .required("reference", "Its name with a tag, under a --commit-to prefix (e.g."
                        + " 127.0.0.1:5000/agents/proj:s1).")
                .check((a, call) -> policy.commit(a, "reference"))
                .hints(Tool.Hints.CHANGE)
                .returns("reference", "string", "The artifact's name: pass it as 'from' to workspace_create.")
                .returns("digest", "string", "Its manifest digest.")
                .returns("environment", "object", "The environment it needs (name, digest), pushed beside it.")
                .build());
        t.add(Tool.builder("workspace_reset", CORE, "Reset a workspace", "Restore /workspace to the baseline (or a"
                        + " snapshot) exactly; stops the workspace's processes and starts it again if it was"
                        + " running.")
                .required("workspace", WS)
                .option("snapshot", STRING, "Restore this snapshot instead of the baseline.")
                .hints(Tool.Hints.DESTRUCTIVE_IDEMPOTENT)
                .returns("id", "string", "The workspace.")
                .returns("status", "string", STATUS)
                .returns("reset_to", "string", "baseline or the snapshot's name.").build());
        t.add(Tool.builder("workspace_logs", FULL, "Show a workspace's exec history", "The history of a"
                        + " workspace's execs, newest 'last' (default 20): command, start, duration, exit code,"
                        + " exec_id, and the first and last 2 KiB of each output stream.")
                .required("workspace", WS)
                .option("last", INTEGER, "Only the newest this many execs.").byDefault(20).atLeast(1)
                .atMost(1000)
                .hints(Tool.Hints.READ)
                .returns("logs", "array", "One entry per exec, oldest first.")
                .returns("background", "array", "The background execs (the newest 64), oldest first, as"
                        + " workspace_exec_wait shows them (running ones too).").build());
        t.add(Tool.builder("workspace_push", FULL, "Copy host files into a workspace", "Copy a host file or directory (under the server's --allow-path"
                        + " directories) into /workspace, replacing what is at 'dest'. Links inside a directory are"
                        + " copied as links. Next: workspace_exec to use it.")
                .required("workspace", WS)
                .hints(Tool.Hints.DESTRUCTIVE_IDEMPOTENT)
                .required("host_path", "An absolute host path under an --allow-path directory.")
                .option("dest", STRING, "Where, relative to /workspace (default: host_path's name at the top).")
                .returns("path", "string", "Where it landed, relative to /workspace.")
                .returns("files", "integer", "Entries copied.")
                .returns("bytes", "integer", "Bytes copied.").build());
        t.add(export(Tool.builder("workspace_export", FULL, "Copy a workspace's files to the host", "Copy"
                        + " /workspace (or 'path' in it) out to the host: a new or empty directory, or a file ending"
                        + " in .tar, under the server's --allow-path directories. Links are copied as links, devices"
                        + " left out, no setuid bits."),
                "Paths left out (devices, fifos, sockets).").hints(Tool.Hints.CHANGE).build());
        DiskTools.add(t);
        t.add(Tool.builder("workspace_patch", FULL, "Apply a patch in a workspace", "Apply a unified diff (as git diff or diff -u write it, paths"
                        + " relative to /workspace, a/ b/ prefixes allowed) inside /workspace, all or nothing:"
                        + " context must match exactly and a failing hunk changes nothing and is named. Next:"
                        + " workspace_diff or workspace_exec to test.")
                .required("workspace", WS)
                .hints(Tool.Hints.DESTRUCTIVE) // it replaces and deletes files; applied twice it fails
                .required("patch", "The unified diff text.")
                .returns("changes", Tool.arrayOf("path", "kind"), "One entry per file changed (added, modified,"
                        + " deleted).")
                .maybe("notes", "array", "Hunks whose header miscounted their lines, recounted as git apply"
                        + " --recount does.").build());
        t.add(Tool.builder("workspace_service_start", FULL, "Start a service in a workspace", "Start a long-running service (a server, a watcher) in"
                        + " /workspace and wait until it is ready: give at most one of ready_port (something"
                        + " listens there), ready_file (the path exists) or ready_cmd (sh -c exits 0). If it exits"
                        + " or is not ready in time it is stopped and the error shows the end of its log. Next:"
                        + " workspace_exec to talk to it, workspace_service_logs, workspace_service_stop.")
                .required("workspace", WS)
                .hints(Tool.Hints.DESTRUCTIVE)
                .required("name", "The service's name (letters, digits, '.', '_', '-').")
                .option("ready_port", INTEGER, "Ready when something listens on this TCP port in"
                        + " the sandbox.")
                .option("ready_file", STRING, "Ready when this path exists (relative to /workspace).")
                .option("ready_cmd", STRING, "Ready when 'sh -c ready_cmd' exits 0 (retried).")
                .option("ready_timeout", NUMBER, "Give up after this many seconds (default 30).")
                .option("env", ENV, "Variables to set.")
                .option("secret_env", ENV, SECRET_ENV)
                .command(true, "The command and its arguments, e.g. [\"python3\", \"-m\", \"http.server\","
                        + " \"8000\"].")
                .returns("name", "string", "The service.")
                .returns("state", "string", "running, exited, stopped or failed-readiness.")
                .returns("pid", "integer", "Its process id.")
                .returns("ready", "boolean", "Whether its readiness check passed.")
                .returns("command", "array", "Its command.").build());
        t.add(Tool.builder("workspace_service_list", FULL, "List a workspace's services", "List a workspace's services (name, state, pid, ready,"
                + " command).")
                .required("workspace", WS)
                .hints(Tool.Hints.READ)
                .returns("services", Tool.arrayOf("name", "state", "pid", "ready", "exit_code", "command"),
                        "The services.").build());
        t.add(Tool.builder("workspace_service_logs", FULL, "Read a service's log", "A service's output (stdout and stderr interleaved)."
                + " Use 'tail' for the end of a long log.")
                .required("workspace", WS)
                .hints(Tool.Hints.READ)
                .required("name", "The service.")
                .option("tail", INTEGER, "Only the last this many lines.")
                .returns("name", "string", "The service.")
                .returns("output", "string", "Its output (invalid UTF-8 replaced).")
                .returns("output_base64", Json2.nullable("string"), "The bytes, base64, when not UTF-8.")
                .returns("dropped_bytes", "integer", "How many older bytes the log's cap dropped (0: none).")
                .returns("line_cut", "boolean", "Whether the first line was longer than 64 KiB and only its end is"
                        + " shown.").build());
        t.add(Tool.builder("workspace_service_stop", FULL, "Stop a service", "Stop a service: TERM to its processes, KILL after 5 s."
                + " Its log is kept.")
                .required("workspace", WS)
                .hints(Tool.Hints.DESTRUCTIVE_IDEMPOTENT)
                .required("name", "The service.")
                .returns("name", "string", "The service.")
                .returns("state", "string", "stopped (or exited when it had ended).").build());
        t.add(Tool.builder("workspace_shell_open", FULL, "Open a shell in a workspace", "Open an interactive shell"
                        + " (sh, or 'command') on a"
                        + " terminal in /workspace; it keeps running between calls. Next: workspace_shell_write to"
                        + " type (end lines with \\n), workspace_shell_read to see what it printed,"
                        + " workspace_shell_close when done.")
                .required("workspace", WS)
                .hints(Tool.Hints.CHANGE)
                .option("env", ENV, "Variables to set.")
                .option("secret_env", ENV, SECRET_ENV)
                .command(false, "The program and its arguments instead of an interactive sh, e.g. [\"python3\","
                        + " \"-i\"].")
                .returns("id", "string", "The shell id: pass it as 'shell' to the other shell tools.")
                .returns("state", "string", "running.")
                .returns("pid", "integer", "Its process id.").build());
        t.add(Tool.builder("workspace_shell_write", FULL, "Type into a shell", "Type text into a shell exactly as given (a newline is"
                        + " Enter; send \\u0003 for Ctrl-C or use workspace_shell_signal). Next:"
                        + " workspace_shell_read.")
                .required("workspace", WS)
                .hints(Tool.Hints.DESTRUCTIVE)
                .required("shell", "The shell id from workspace_shell_open.")
                .required("data", "The text to type, e.g. \"echo hi\\n\".")
                .returns("id", "string", "The shell.")
                .returns("bytes", "integer", "Bytes written.").build());
        t.add(Tool.builder("workspace_shell_read", FULL, "Read a shell's output", "What the shell's terminal showed"
                        + " since the last read, as text (the echo of what was typed, the output, the next prompt;"
                        + " colours and other control sequences taken out). Give wait_ms (e.g. 10000) to wait for"
                        + " output: the read returns once it settles (no new output for quiet_ms) or, with 'until', as"
                        + " soon as that pattern (e.g. the prompt) appears. At most max_bytes: when 'truncated', read"
                        + " again for the rest.")
                .required("workspace", WS)
                .hints(Tool.Hints.CHANGE)
                .required("shell", "The shell id.")
                .option("wait_ms", INTEGER, "Wait up to this many ms for output (default 0: return"
                        + " what is there).").atMost(600_000)
                .option("quiet_ms", INTEGER, "Once there was output, return when none came for this"
                        + " many ms (default 200).").atMost(60_000)
                .option("until", STRING, "Return as soon as the text matches this regular expression"
                        + " (Java syntax, found anywhere), e.g. \"[$#] $\" for a prompt ending in '$ ' or root's"
                        + " '# '; quiet_ms then does not apply.")
                .option("max_bytes", INTEGER, "Take at most this many bytes of output (default"
                        + " 65536, at most 1048576).").atLeast(1).atMost(MAX_OUTPUT)
                .option("raw", FLAG, "Return the exact bytes, base64, in output_base64 instead of text.")
                .returns("id", "string", "The shell.")
                .returns("output", Json2.nullable("string"), "The text (null with raw).")
                .returns("output_base64", Json2.nullable("string"), "With raw: the bytes, base64.")
                .returns("truncated", "boolean", "More output was waiting than max_bytes: read again.")
                .returns("matched", "boolean", "Whether 'until' matched (false without it).")
                .returns("timed_out", "boolean", "Whether the read returned because wait_ms was over (with 'until':"
                        + " it did not match in time).")
                .returns("state", "string", "running or exited(CODE).").build());
        t.add(Tool.builder("workspace_shell_signal", FULL, "Signal a shell", "Send a signal to the shell's"
                        + " foreground process group,"
                + " as Ctrl-C would (INT).")
                .required("workspace", WS)
                .hints(Tool.Hints.DESTRUCTIVE)
                .required("shell", "The shell id.")
                .required("signal", "The signal: INT (as Ctrl-C), TERM, KILL, HUP, QUIT, USR1 or USR2.")
                .oneOf(dev.davit.sandbox.internal.Spawned.SIGNALS.toArray(String[]::new))
                .returns("id", "string", "The shell.")
                .returns("signal", "string", "The signal sent.").build());
        t.add(Tool.builder("workspace_shell_close", FULL, "Close a shell", "End a shell (its processes are killed) and remove it.")
                .required("workspace", WS)
                .hints(Tool.Hints.DESTRUCTIVE)
                .required("shell", "The shell id.")
                .returns("id", "string", "The shell closed.")
                .returns("removed", "boolean", "true.").build());
        return calls.attach(List.copyOf(t));
    }

    /** An egress gate's denials (a result property). */
    private static final ObjectNode DENIALS = Tool.arrayOf("time", "kind", "name", "address", "port", "rule",
            "reason");

    /**
     * The arguments of an egress policy ({@code run}, {@code workspace_create}: the policy asked for, see
     * {@link EgressBound}; {@code workspace_network}: entries to add).
     */
    private static Tool.Builder egress(Tool.Builder b) {
        return b.option("allow_hosts", STRINGS, "Egress policy: allow only these names, e.g. [\"pypi.org\","
                        + " \"*.github.com\"] (subdomains only), within the server's --allow-egress.")
                .option("allow_cidrs", STRINGS, "Egress policy: IPv4 networks to allow (\"203.0.113.0/24:443\").")
                .option("allow_presets", STRINGS, "Egress policy: mirrors to allow: debian, github, maven, npm, pypi.")
                .option("deny_hosts", STRINGS, "Egress policy: names to deny (a deny wins).")
                .option("deny_cidrs", STRINGS, "Egress policy: IPv4 networks to deny.");
    }

    /** What a result says of a workspace's network ({@code workspace_network}, {@code workspace_network_log}). */
    private static Tool.Builder policy(Tool.Builder b) {
        return b.returns("mode", "string", "policy, none or nat.")
                .maybe("allow", "array", "A policy's allow entries.")
                .maybe("deny", "array", "Its deny entries.")
                .maybe("presets", "array", "Its presets.");
    }

    /** How many forks {@code workspace_fork} makes: 'count', else one per name, else 1. */
    static int forkCount(Map<String, Object> a) {
        if (a.get("count") instanceof Number n) {
            return n.intValue();
        }
        return Math.max(1, a.get("names") instanceof List<?> l ? l.size() : 0);
    }

    /** A sandbox's memory and CPU limits ({@code run}, {@code workspace_create}; see {@link Policy#resources}). */
    private static Tool.Builder resources(Tool.Builder b) {
        return b.option("memory", INTEGER, "Memory in MiB (default 1024; a microVM's: 512), at most the"
                        + " server's --max-memory; past it a process is oom_killed.")
                .option("cpus", NUMBER, "CPU time in CPUs (default 1; fractions allowed, a microVM's a"
                        + " whole number of vCPUs), at most the server's --max-cpus; nproc shows it rounded up.");
    }

    /** What a command's result says of its output and end ({@code run}, {@code workspace_exec}). */
    /** What a detached exec's tools return: the exec as docs/reference/JSON.md's detached exec. */
    private static Tool.Builder detached(Tool.Builder b) {
        return b.returns("exec_id", "string", "The exec.")
                .returns("command", "array", "Its command (secret values redacted).")
                .returns("state", "string", "running, exited or killed.")
                .returns("exit_code", Json2.nullable("integer"), "Its exit code once it ended.")
                .returns("killed_by", Json2.nullable("string"), "Why it was stopped: timeout, cancel, stop, reset,"
                        + " delete, oom (the memory limit); null when it was not.")
                .returns("started_at", "string", "When it started.")
                .returns("ended_at", Json2.nullable("string"), "When it ended.")
                .returns("output_bytes", "integer", "How many bytes of output it wrote.");
    }

    private static Tool.Builder outputs(Tool.Builder b) {
        return b.returns("stdout", "string", "Its standard output (UTF-8, invalid bytes replaced; when longer than"
                        + " output_limit, its start and end around a line saying how much was left out).")
                .returns("stderr", "string", "Its standard error (as stdout).")
                .returns("stdout_bytes", "integer", "How many bytes it wrote to stdout.")
                .returns("stderr_bytes", "integer", "How many bytes it wrote to stderr.")
                .maybe("stdout_base64", "string", "stdout's exact bytes, base64, when they are not UTF-8 (and not"
                        + " cut).")
                .maybe("stderr_base64", "string", "stderr's exact bytes, base64, as stdout_base64.")
                .returns("timed_out", "boolean", "Whether 'timeout' killed it.")
                .returns("oom_killed", "boolean", "Whether the memory limit killed a process of it.")
                .returns("disk_full", "boolean", "Whether it filled the sandbox's disk limit (writes failed).");
    }

    private static Tool.Builder status(String name, Tool.Profile profile, String title, String description,
                                       boolean id) {
        Tool.Builder b = Tool.builder(name, profile, title, description).hints(Tool.Hints.READ);
        if (id) {
            b.required("workspace", WS)
                    .returns("id", "string", "The workspace id.")
                    .returns("name", Json2.nullable("string"), "Its name.")
                    .returns("status", "string", STATUS)
                    .returns("paused", "boolean", "Whether it is paused.")
                    .returns("env", "object", "Its own variables.")
                    .returns("backend", "string", "container, vm or k8s.")
                    .returns("ttl_seconds", Json2.nullable("number"), "Seconds after creation it is removed.")
                    .returns("labels", "object", "Its labels.")
                    .returns("ports", PORTS, "Its published ports: where the host reaches each ('address').")
                    .maybe("failure", "string", "Why a failed one ended, as its backend tells (k8s: evicted,"
                            + " OOM-killed, its pod gone).");
        }
        return b;
    }

    private static final String SECRETS = "Secrets {NAME: value} (names like environment variables; values at most"
            + " 64 KiB): files /run/secrets/NAME, never shown: each value is [REDACTED:NAME] in results, logs and"
            + " errors. 'secret_env' maps them to variables (containers only).";
    private static final String SECRET_ENV = "Variables to set to the workspace's secrets: {VARIABLE: SECRET_NAME}.";
    private static final String SECRET_INJECT = "Secrets kept out of the sandbox: {SECRET_NAME: \"HOST:HEADER[=VALUE]\"}"
            + " (e.g. {\"GH\": \"api.github.com:Authorization=Bearer {}\"}). The sandbox holds a placeholder; the egress"
            + " gate sets HEADER of its HTTPS requests to HOST to VALUE, {} standing for the secret (default: the"
            + " secret alone). HOST must be in 'allow_hosts'.";

    /** The call's {@code secrets} ({@code workspace_create}), never on a command line or in a file. */
    static dev.davit.sandbox.workspace.Secrets secrets(Map<String, Object> a) {
        Object given = a.get("secrets");
        if (!(given instanceof Map<?, ?> m) || m.isEmpty()) {
            return dev.davit.sandbox.workspace.Secrets.NONE;
        }
        Map<String, byte[]> values = new java.util.LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String name = String.valueOf(e.getKey());
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]{0,63}")) {
                throw Tool.invalid("argument 'secrets': bad name '" + name + "'; use up to 64 letters, digits or"
                        + " '_', not starting with a digit");
            }
            values.put(name, ((String) e.getValue()).getBytes(StandardCharsets.UTF_8));
        }
        dev.davit.sandbox.workspace.Secrets s = dev.davit.sandbox.workspace.Secrets.of(values);
        if (a.get("secret_inject") instanceof Map<?, ?> inj) {
            for (Map.Entry<?, ?> e : inj.entrySet()) {
                String v = String.valueOf(e.getValue());
                int colon = v.indexOf(':');
                if (colon <= 0) {
                    throw Tool.invalid("argument 'secret_inject': give {SECRET_NAME: \"HOST:HEADER[=VALUE]\"}, e.g."
                            + " {\"GH\": \"api.github.com:Authorization=Bearer {}\"}; got '" + v + "'");
                }
                String header = v.substring(colon + 1);
                int eq = header.indexOf('=');
                s = s.inject(String.valueOf(e.getKey()), v.substring(0, colon), eq < 0 ? header
                        : header.substring(0, eq), eq < 0 ? "{}" : header.substring(eq + 1));
            }
        }
        return s;
    }

    /** The bytes a call's {@code content} (text) or {@code content_base64} gives (workspace_file_write). */
    static byte[] content(Map<String, Object> a) {
        Object text = a.get("content");
        Object b64 = a.get("content_base64");
        if ((text == null) == (b64 == null)) {
            throw Tool.invalid("give exactly one of 'content' (text) or 'content_base64' (bytes)");
        }
        if (text != null) {
            return ((String) text).getBytes(StandardCharsets.UTF_8);
        }
        try {
            return Base64.getDecoder().decode((String) b64);
        } catch (IllegalArgumentException e) {
            throw Tool.invalid("'content_base64' is not base64: " + e.getMessage());
        }
    }

    /**
     * The arguments and results of an export tool ({@code workspace_export}, {@code workspace_disk_export}); its
     * call pins the host destination ({@link Policy#pinHostDest}).
     */
    static Tool.Builder export(Tool.Builder b, String skipped) {
        return b.required("workspace", WS)
                .required("host_dest", "An absolute host path under an --allow-path directory: a directory that"
                        + " does not exist or is empty, or a .tar file.")
                .option("path", STRING, "Export only this path, relative to /workspace.")
                .returns("dest", "string", "The host path written.")
                .returns("files", "integer", "Entries copied.")
                .returns("bytes", "integer", "Bytes copied.")
                .returns("skipped", "array", skipped);
    }

    /** Small JSON Schema helpers. */
    static final class Json2 {
        private Json2() {
        }

        static ObjectNode nullable(String type) {
            ObjectNode s = dev.davit.oci.internal.Json.object();
            s.putArray("type").add(type).add("null");
            return s;
        }
    }
}
