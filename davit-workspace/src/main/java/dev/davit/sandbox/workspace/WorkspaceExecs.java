package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.EgressDenial;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.OutputExcerpt;
import dev.davit.sandbox.SpooledExcerpt;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Commands run in workspaces, from {@link Workspaces#execs()}: an exec whose output is captured whole, or held as
 * excerpts with the rest kept for {@link #output}; a detached exec started, waited for, killed; the history. The
 * command runs in the workspace's sandbox with /workspace as its working directory, its secrets put into its
 * environment and redacted from everything its output reaches. Thread-safe, as its {@code Workspaces} is.
 *
 * <pre>{@code
 * ExecResult r = workspaces.execs().run("review", ExecRequest.builder(List.of("make", "test")).build());
 * }</pre>
 */
public final class WorkspaceExecs {
    private final WorkspaceState state;
    private final ExecRunner runner;

    WorkspaceExecs(WorkspaceState state, ExecRunner runner) {
        this.state = state;
        this.runner = runner;
    }

    /**
     * Runs request {@code r} in workspace {@code id}, its output captured whole: the command runs in the workspace's
     * sandbox (see {@link dev.davit.sandbox.engine.Sandboxes#exec(String, dev.davit.sandbox.ExecSpec)}) with its
     * variables on top of the sandbox's environment and its secret variables ({@link ExecRequest#secretEnv}: variable
     * to secret name) set from the workspace's secrets. In a workspace with secrets, every value is redacted from the
     * output (the tees' and the result's), the exec history and error messages. What {@code r} sets:
     * <ul>
     * <li>its working directory: null for /workspace, an absolute path, or one relative to /workspace;</li>
     * <li>its timeout: past it the command is killed (exit code 124; the sandbox keeps running); null: no limit;</li>
     * <li>its stdin, read to its end; null: /dev/null. Container workspaces only: a microVM's refuses one
     * ({@link Kind#USAGE});</li>
     * <li>its tees, where stdout and stderr are copied, redacted in a workspace with secrets (as they arrive in a
     * container, when the command ends in a microVM); null: nowhere. Not closed.</li>
     * </ul>
     *
     * <pre>{@code
     * ExecResult r = workspaces.execs().run("review", ExecRequest.builder("make", "test").workdir("app")
     *         .timeout(Duration.ofMinutes(5)).secretEnv("TOKEN", "API_TOKEN").tees(System.out, System.err).build());
     * }</pre>
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @param r  what to run, and how
     * @return the exit code, the output (up to {@link ExecResult#MAX_CAPTURED_BYTES} per stream, redacted in a
     *         workspace with secrets) and timings; a command that fails is a result, not an exception
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or has lost its sandbox;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        request (an unknown secret, a variable set twice, stdin to a microVM...)
     */
    public ExecResult run(String id, ExecRequest r) {
        return runner.exec(id, r.command(), r.env(), r.secretEnv(), r.workdir(), r.timeout(), r.stdin(),
                r.stdoutTee(), r.stderrTee());
    }

    /**
     * {@link #run(String, ExecRequest)} that holds at most {@code keep} bytes of each output stream in memory (its
     * first and last halves): the whole of each stream goes to the workspace's state directory as it arrives, and
     * stays there (for {@link #output}) when it did not fit. In a workspace with secrets every value is redacted
     * before anything keeps or passes on the output (excerpts, kept output, tees, history, errors). The request's
     * working directory, timeout (exit code 124), stdin (refused by a microVM) and tees are as there.
     *
     * @param id   the workspace's id ({@code ws-...}) or name
     * @param r    what to run, and how
     * @param keep how many bytes of each stream to hold in memory (its first and last halves): 2 to
     *             {@link ExecResult#MAX_CAPTURED_BYTES}
     * @return the result (its captures only the first half of {@code keep} bytes), the excerpts and the exec's id
     *         for {@link #output}
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or has lost its sandbox;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        request (an unknown secret, a variable set twice, stdin to a microVM, {@code keep}
     *                        out of range...); {@link Kind#STORE} when the output cannot be kept
     */
    public Executed run(String id, ExecRequest r, int keep) {
        return runner.exec(id, r.command(), r.env(), r.secretEnv(), r.workdir(), r.timeout(), keep, r.stdin(),
                r.stdoutTee(), r.stderrTee());
    }

    /**
     * What {@link #run(String, ExecRequest, int)} did: the result (whose captures hold only the start of each
     * stream), and the excerpts of stdout and stderr; when one was cut, all of it (up to {@link ExecOutput#CAP} bytes)
     * can be read with {@link #output} under {@code execId}.
     *
     * @param result the exit code, timings and the first half of the kept bytes of each stream
     *               ({@link ExecResult#truncated} when a stream was cut)
     * @param execId the exec's id ({@code e-} and 12 hex digits), also in the exec history
     * @param stdout the start and end of stdout, and its whole size
     * @param stderr the start and end of stderr, and its whole size
     * @param networkDenied what the workspace's egress gate refused while it ran (from its start to just after its
     *               end, whichever process asked), oldest first; empty for a workspace without an egress policy
     */
    public record Executed(ExecResult result, String execId, OutputExcerpt stdout, OutputExcerpt stderr,
                           List<EgressDenial> networkDenied) {
        /**
         * What an exec did.
         *
         * @param result        the exit code, timings and the first half of the kept bytes of each stream
         * @param execId        the exec's id
         * @param stdout        the start and end of stdout, and its whole size
         * @param stderr        the start and end of stderr, and its whole size
         * @param networkDenied what the egress gate refused while it ran; null: none
         */
        public Executed {
            networkDenied = networkDenied == null ? List.of() : List.copyOf(networkDenied);
        }
    }

    /**
     * What {@link #runSpooled} did: the result (whose captures hold the first {@link #SPOOLED_CAPTURE} bytes of each
     * stream) and the excerpts of stdout and stderr, kept in files (unlinked: {@link #close} frees them); when one
     * was cut, all of it (up to {@link ExecOutput#CAP} bytes) can be read with {@link #output} under {@code execId}.
     *
     * @param result the exit code, timings and the first {@link #SPOOLED_CAPTURE} bytes of each stream
     *               ({@link ExecResult#truncated} when a stream had more)
     * @param execId the exec's id ({@code e-} and 12 hex digits), also in the exec history
     * @param stdout the start and end of stdout, and its whole size, in a file
     * @param stderr the start and end of stderr, and its whole size, in a file
     * @param networkDenied what the workspace's egress gate refused while it ran (see {@link Executed}), oldest
     *               first; empty for a workspace without an egress policy
     */
    public record SpooledExecuted(ExecResult result, String execId, SpooledExcerpt stdout, SpooledExcerpt stderr,
                                  List<EgressDenial> networkDenied) implements AutoCloseable {
        /**
         * What a spooled exec did.
         *
         * @param result        the exit code, timings and the first bytes of each stream
         * @param execId        the exec's id
         * @param stdout        the start and end of stdout, in a file
         * @param stderr        the start and end of stderr, in a file
         * @param networkDenied what the egress gate refused while it ran; null: none
         */
        public SpooledExecuted {
            networkDenied = networkDenied == null ? List.of() : List.copyOf(networkDenied);
        }

        /** Frees the excerpts' files. */
        @Override
        public void close() {
            stdout.close();
            stderr.close();
        }
    }

    /** How many bytes of each stream the result of {@link #runSpooled} captures. */
    public static final int SPOOLED_CAPTURE = 8192;

    /**
     * As {@link #run(String, ExecRequest, int)} (the request given as arguments), but holding none of the
     * {@code keep} bytes of each stream in memory: the excerpts (the first and last halves) are kept in files in the workspace's state directory
     * ({@link SpooledExcerpt}), so that a flood costs no memory whatever {@code keep} is. The same excerpts, history
     * and kept output ({@link #output}).
     *
     * @param id        the workspace's id ({@code ws-...}) or name
     * @param argv      the command: the program and its arguments
     * @param env       variables on top of the sandbox's environment; null: none
     * @param secretEnv environment variable to the name of one of the workspace's secrets; null or empty: none
     * @param cwd       the working directory: null for /workspace, an absolute path, or one relative to /workspace
     * @param timeout   how long it may run: then it is killed (exit code 124; the sandbox keeps running); null:
     *                  no limit
     * @param keep      how many bytes of each stream the excerpts keep (its first and last halves): 2 to
     *                  {@link ExecResult#MAX_CAPTURED_BYTES}
     * @param stdin     its standard input, read to its end; null: /dev/null. Container workspaces only: a
     *                  microVM's refuses one ({@link Kind#USAGE})
     * @param stdoutTee where its stdout is copied, redacted in a workspace with secrets; null: nowhere. Not closed
     * @param stderrTee where its stderr is copied, as {@code stdoutTee}; null: nowhere
     * @return the result, the excerpts (close it when done) and the exec's id for {@link #output}
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or has lost its sandbox;
     *                        {@link Kind#NOT_FOUND} when there is no such workspace; {@link Kind#USAGE} for a bad
     *                        request (an unknown secret, a variable set twice, stdin to a microVM, {@code keep}
     *                        out of range...); {@link Kind#STORE} when the output cannot be kept
     */
    public SpooledExecuted runSpooled(String id, List<String> argv, Map<String, String> env,
                                       Map<String, String> secretEnv, String cwd, Duration timeout, int keep,
                                       InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        return runner.execSpooled(id, argv, env, secretEnv, cwd, timeout, keep, stdin, stdoutTee, stderrTee);
    }

    /**
     * Up to {@code limit} bytes of {@code stream} ({@code stdout} or {@code stderr}) of exec {@code execId} of
     * workspace {@code id}, from {@code offset}: the output an {@link Executed} excerpt left out. Kept for the
     * newest {@link ExecOutput#KEEP} execs whose output was cut, up to {@link ExecOutput#CAP} bytes per stream.
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param execId the exec's id, from {@link Executed#execId}
     * @param stream {@code stdout} or {@code stderr} (null: stdout); {@link #DETACHED_STREAM} (or null) for a detached exec
     * @param offset where to start, in bytes from the stream's start; 0 or more
     * @param limit  the most bytes to return; 1 or more
     * @return the page, and how many bytes are kept in all
     * @throws DavitException {@link Kind#USAGE} for a malformed exec id or stream, or an offset or limit out of
     *                        range; {@link Kind#NOT_FOUND} when no such workspace, or no output of that exec, is kept
     */
    public ExecOutput.Page output(String id, String execId, String stream, long offset, int limit) {
        DetachedExecs d = state.detached(id);
        if (execId != null && d.has(execId)) {
            if (stream != null && !stream.equals(DETACHED_STREAM)) {
                throw new DavitException(Kind.USAGE, "a detached exec's output is one stream, '" + DETACHED_STREAM
                        + "' (stdout and stderr as written), not '" + stream + "'");
            }
            return d.output(execId, offset, limit);
        }
        return runner.output(id, execId, stream == null ? "stdout" : stream, offset, limit);
    }

    /**
     * Whether {@code execId} names a detached exec of workspace {@code id} ({@link #start}), whose output is
     * one stream, {@link #DETACHED_STREAM}.
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param execId an exec's id
     * @return whether it is a detached exec's
     */
    public boolean isDetached(String id, String execId) {
        return execId != null && state.detached(id).has(execId);
    }

    /** The one output stream of a detached exec ({@link #output}): stdout and stderr interleaved as written. */
    public static final String DETACHED_STREAM = "output";

    /**
     * Starts request {@code r} in workspace {@code id} detached and returns at once: the command runs on when this
     * call, and this davit, have gone. Its output (stdout and stderr interleaved as written, redacted in a workspace
     * with secrets; the newest {@code Spawned.logCap()} bytes kept) is read with {@link #output}
     * (stream {@link #DETACHED_STREAM}); {@link #await} waits for its end; {@link #kill} stops it. Its timeout,
     * if it has one, is kept by whichever davit looks at it once it has passed ({@link #await},
     * {@link #status}, {@link #list}): it is then stopped and says {@code killed_by: timeout}. A stop, reset or
     * delete of the workspace stops it too (and says so).
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @param r  what to run: command, variables, secret variables, working directory, timeout (no stdin, no tees)
     * @return the exec, running
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or runs
     *                        {@value DetachedExecs#MAX_RUNNING} detached execs already; {@link Kind#NOT_FOUND} when
     *                        there is no such workspace; {@link Kind#USAGE} for a bad request (stdin or tees, an
     *                        unknown secret...)
     */
    public DetachedExec start(String id, ExecRequest r) {
        return state.detached(id).start(r);
    }

    /**
     * Detached exec {@code execId} of workspace {@code id} as it is now (past its timeout it is stopped first).
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param execId the exec's id, as {@link #start} gave it
     * @return the exec
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or exec; {@link Kind#USAGE} for a
     *                        bad exec id
     */
    public DetachedExec status(String id, String execId) {
        return state.detached(id).get(execId);
    }

    /**
     * Waits up to {@code wait} for detached exec {@code execId} of workspace {@code id} to end (an interrupt ends the
     * wait, never the exec).
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param execId the exec's id
     * @param wait   how long to wait at most; null or zero: look once
     * @return the exec as it is then ({@code running} when the wait ran out)
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or exec; {@link Kind#CANCELLED}
     *                        when interrupted
     */
    public DetachedExec await(String id, String execId, Duration wait) {
        return state.detached(id).await(execId, wait);
    }

    /**
     * Stops detached exec {@code execId} of workspace {@code id} (TERM to its process group, KILL after 5 s); it then
     * says {@code killed_by: cancel}. One that ended already is left as it is.
     *
     * @param id     the workspace's id ({@code ws-...}) or name
     * @param execId the exec's id
     * @return the exec as it is then
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace or exec
     */
    public DetachedExec kill(String id, String execId) {
        return state.detached(id).cancel(execId);
    }

    /**
     * The detached execs of workspace {@code id} (the newest {@value DetachedExecs#KEEP}), oldest first.
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return them, as they are now
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace
     */
    public List<DetachedExec> list(String id) {
        return state.detached(id).list();
    }

    /**
     * The exec history of workspace {@code id}, oldest first: per exec its command, working directory, start,
     * duration, exit code and the first and last 2 KiB of each output stream (a line a crash cut short is left
     * out).
     *
     * @param id the workspace's id ({@code ws-...}) or name
     * @return one entry per exec (commands and output redacted in a workspace with secrets); empty when none ran
     * @throws DavitException {@link Kind#NOT_FOUND} when there is no such workspace, {@link Kind#USAGE} when several
     *                        have that name
     */
    public List<ExecEntry> logs(String id) {
        return runner.logs(id);
    }
}
