package dev.davit.mcp;

import static dev.davit.mcp.ToolArgs.env;
import static dev.davit.mcp.ToolArgs.flag;
import static dev.davit.mcp.ToolArgs.number;
import static dev.davit.mcp.ToolArgs.seconds;
import static dev.davit.mcp.ToolArgs.strings;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.OpenWorkspace;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.workspace.ExecOutput;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.ServiceSpec;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.WorkspaceExecs;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The calls of the tools that run processes in a workspace, where they are more than a line of {@link ToolCalls}'
 * table: workspace_exec (with its progress notifications while it runs), workspace_exec_output,
 * workspace_service_start and workspace_shell_read.
 */
final class ProcessCalls {
    private ProcessCalls() {
    }

    static ObjectNode exec(Workspaces workspaces, OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        ExecRequest.Builder r = ExecRequest.builder(strings(a, "command")).env(env(a, "env"))
                .workdir((String) a.get("workdir")).timeout(seconds(a, "timeout"));
        env(a, "secret_env").forEach(r::secretEnv);
        if (flag(a, "detach")) {
            var x = w.execDetached(r.build());
            // the shape of a finished exec's result, with nothing of it yet: its exec_id is what to follow
            ObjectNode doc = Json.object().putNull("exit_code").put("stdout", "").put("stderr", "")
                    .put("stdout_bytes", 0).put("stderr_bytes", 0).put("timed_out", false).put("oom_killed", false)
                    .put("disk_full", false).put("truncated", false).put("exec_id", x.execId())
                    .put("state", x.state());
            doc.putArray("network_denied");
            return doc;
        }
        // while it runs, a progress notification every few seconds with the end of its output so far (when the
        // client asked for them): a long build is seen to move, and a client that resets its timeout on progress
        // waits for it; a call nobody hears (no progress token, an in-process framework's) copies nothing
        Thread ticker = call.heard() ? ticker(w, r, call) : null;
        // the excerpts are kept in files (WorkspaceExecs.runSpooled) and the result is written out from there while
        // the call is answered
        ExecRequest q = r.build();
        try (WorkspaceExecs.SpooledExecuted x = workspaces.execs().runSpooled(w.id(), q.command(), q.env(),
                q.secretEnv(), q.workdir(), q.timeout(), (int) number(a, "output_limit", Tools.DEFAULT_OUTPUT), q.stdin(),
                q.stdoutTee(), q.stderrTee())) {
            // the excerpts (at most output_limit bytes each) are read before their files are closed
            return WorkspaceJson.executed(Json.object(), x, false);
        } finally {
            if (ticker != null) {
                ticker.interrupt();
            }
        }
    }

    /**
     * The progress notifications of exec {@code r} in {@code w}: its output's end copied as it comes, told every
     * {@link #PROGRESS_EVERY_MS} by a thread the caller interrupts when the exec ends.
     */
    private static Thread ticker(OpenWorkspace w, ExecRequest.Builder r, Tool.Call call) {
        OutputTail tail = new OutputTail(PROGRESS_TAIL);
        r.tees(tail, tail);
        long t0 = System.nanoTime();
        java.time.Instant started = java.time.Instant.now();
        return Thread.ofVirtual().start(() -> {
            java.time.Instant seen = started;
            Boolean gated = null; // read at the first tick: an exec that ends sooner costs no status read
            try {
                while (true) {
                    Thread.sleep(PROGRESS_EVERY_MS);
                    // what the egress gate refused since the last notification: a connection the policy refuses is
                    // seen while the command still retries it, not only in its result (best effort: a workspace
                    // removed meanwhile only leaves this out)
                    String refused = "";
                    try {
                        if (gated == null) {
                            gated = w.status().spec().network().mode() == dev.davit.sandbox.Network.Mode.POLICY;
                        }
                        List<dev.davit.sandbox.EgressDenial> fresh = gated ? denialsSince(w, seen) : List.of();
                        if (!fresh.isEmpty()) {
                            seen = fresh.get(fresh.size() - 1).time();
                            refused = "; the network policy refused " + Denials.brief(fresh);
                        }
                    } catch (RuntimeException e) {
                        gated = false;
                    }
                    call.progress("running for " + (System.nanoTime() - t0) / 1_000_000_000L + " s" + refused
                            + "; its output ends: " + tail.text());
                }
            } catch (InterruptedException e) {
                // it ended
            }
        });
    }

    /** What workspace {@code w}'s egress gate refused after {@code since}, oldest first. */
    static List<dev.davit.sandbox.EgressDenial> denialsSince(OpenWorkspace w, java.time.Instant since) {
        return w.egressDenials().stream().filter(d -> d.time().isAfter(since)).toList();
    }

    /** How often a running workspace_exec tells its client how it does. */
    static final long PROGRESS_EVERY_MS = 3000;
    /** How much of the end of its output each progress notification carries. */
    static final int PROGRESS_TAIL = 400;

    /**
     * The last bytes written to it, by the exec's stdout and stderr alike (as they come: redacted already in a
     * workspace with secrets), for the progress notifications.
     */
    static final class OutputTail extends java.io.OutputStream {
        private final byte[] ring;
        private long written;

        OutputTail(int size) {
            ring = new byte[size];
        }

        @Override
        public synchronized void write(int b) {
            ring[(int) (written++ % ring.length)] = (byte) b;
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            for (int i = Math.max(0, len - ring.length); i < len; i++) {
                ring[(int) ((written + i) % ring.length)] = b[off + i];
            }
            written += len;
        }

        /** The tail as text (one line: line ends shown as " | "), empty before any output. */
        synchronized String text() {
            int n = (int) Math.min(written, ring.length);
            byte[] out = new byte[n];
            for (int i = 0; i < n; i++) {
                out[i] = ring[(int) ((written - n + i) % ring.length)];
            }
            String t = new String(out, java.nio.charset.StandardCharsets.UTF_8).strip();
            return t.replaceAll("\\r?\\n", " | ");
        }
    }

    static ObjectNode execOutput(OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        String execId = (String) a.get("exec_id");
        String stream = (String) a.get("stream");
        ExecOutput.Page page = w.output(execId, stream, number(a, "offset", 0), (int) number(a, "limit", 65536));
        if (stream == null) {
            stream = w.isDetached(execId) ? WorkspaceExecs.DETACHED_STREAM : "stdout";
        }
        ObjectNode doc = Json.object().put("exec_id", execId).put("stream", stream).put("offset", page.offset())
                .put("bytes", page.bytes().length).put("kept", page.kept())
                .put("eof", page.offset() + page.bytes().length >= page.kept()).put("dropped_bytes", page.dropped());
        return FileCalls.bytes(doc, page.bytes());
    }

    static ObjectNode serviceStart(OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        List<Services.Readiness> ready = new ArrayList<>();
        if (a.get("ready_file") != null) {
            ready.add(new Services.Readiness("file", (String) a.get("ready_file")));
        }
        if (a.get("ready_port") != null) {
            ready.add(new Services.Readiness("port", Long.toString(number(a, "ready_port", 0))));
        }
        if (a.get("ready_cmd") != null) {
            ready.add(new Services.Readiness("cmd", (String) a.get("ready_cmd")));
        }
        if (ready.size() > 1) {
            throw Tool.invalid("give one of 'ready_file', 'ready_port' and 'ready_cmd'");
        }
        ServiceSpec.Builder spec = ServiceSpec.builder((String) a.get("name"), strings(a, "command"))
                .env(env(a, "env")).readyTimeout(seconds(a, "ready_timeout"))
                .readiness(ready.isEmpty() ? null : ready.getFirst());
        env(a, "secret_env").forEach(spec::secretEnv);
        return WorkspaceJson.service(w.services().start(spec.build()));
    }

    static ObjectNode shellRead(OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        String shell = (String) a.get("shell");
        java.util.regex.Pattern until = null;
        if (a.get("until") != null) {
            try {
                until = java.util.regex.Pattern.compile((String) a.get("until"));
            } catch (java.util.regex.PatternSyntaxException e) {
                throw Tool.invalid("'until' is not a regular expression: " + e.getDescription() + " (near index "
                        + e.getIndex() + ")");
            }
        }
        boolean raw = flag(a, "raw");
        Shells shells = w.shells();
        Object quiet = a.get("quiet_ms");
        Shells.Output o = shells.read(shell, new Shells.ReadOptions(Duration.ofMillis(number(a, "wait_ms", 0)),
                quiet == null ? null : Duration.ofMillis(number(a, "quiet_ms", 0)), until,
                (int) number(a, "max_bytes", Shells.MAX_BYTES), raw));
        return WorkspaceJson.shellRead(shell, o, raw, shells.get(shell).label());
    }
}
