package dev.davit.sandbox.workspace;

import static dev.davit.sandbox.workspace.WorkspaceExecs.SPOOLED_CAPTURE;
import static dev.davit.sandbox.workspace.Workspaces.MOUNT;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.OutputExcerpt;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.SpooledExcerpt;
import dev.davit.sandbox.backend.Tees;
import dev.davit.sandbox.workspace.WorkspaceExecs.Executed;
import dev.davit.sandbox.workspace.WorkspaceExecs.SpooledExecuted;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Execs in a workspace: the command run in its sandbox with /workspace as the working directory, secrets put into
 * its environment and redacted from its output, the output captured whole or as excerpts (kept in full in the state
 * directory when cut, for {@link WorkspaceExecs#output}), and each exec recorded in the history ({@link ExecLog}).
 * Behind {@link WorkspaceExecs}, whose methods document them ({@code run} is {@code exec} here).
 */
class ExecRunner extends WorkspaceState {
    private final WorkspaceNetwork network;

    ExecRunner(WorkspaceState state) {
        super(state);
        this.network = new WorkspaceNetwork(state);
    }

    ExecResult exec(String id, List<String> argv, Map<String, String> env, Map<String, String> secretEnv,
                    String cwd, Duration timeout, InputStream stdin, OutputStream stdoutTee,
                    OutputStream stderrTee) {
        String wd = cwd == null ? MOUNT : cwd.startsWith("/") ? cwd : MOUNT + "/" + cwd;
        Checked c = running(id);
        Workspace w = c.workspace();
        if (!w.secrets().isEmpty() || (secretEnv != null && !secretEnv.isEmpty())) {
            return dev.davit.sandbox.backend.Lifecycle.checkedOnce(c.sandbox(), () -> execWithSecrets(w, argv, env, secretEnv, wd, timeout,
                    stdin, stdoutTee, stderrTee));
        }
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        ExecResult r = dev.davit.sandbox.backend.Lifecycle.checkedOnce(c.sandbox(), () -> lifecycle().exec(
                w.sandboxId(), argv, env, wd, timeout, stdin, stdoutTee, stderrTee));
        ExecLog.append(stateDir.resolve(w.id()).resolve(ExecLog.FILE),
                ExecLog.entry(argv, wd, start, (System.nanoTime() - t0) / 1_000_000, r));
        return r;
    }

    Executed exec(String id, List<String> argv, Map<String, String> env, Map<String, String> secretEnv,
                  String cwd, Duration timeout, int keep, InputStream stdin, OutputStream stdoutTee,
                  OutputStream stderrTee) {
        checkKeep(keep);
        Checked c = running(id);
        return dev.davit.sandbox.backend.Lifecycle.checkedOnce(c.sandbox(), () -> exec(c.workspace(), argv, env, secretEnv, cwd, timeout, keep,
                keep / 2, keep - keep / 2, stdin, stdoutTee, stderrTee));
    }

    SpooledExecuted execSpooled(String id, List<String> argv, Map<String, String> env,
                                Map<String, String> secretEnv, String cwd, Duration timeout, int keep,
                                InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        checkKeep(keep);
        Checked c = running(id);
        Workspace w = c.workspace();
        Path state = stateDir.resolve(w.id());
        SpooledExcerpt so = SpooledExcerpt.create(state, keep / 2, keep - keep / 2);
        SpooledExcerpt se = null;
        try {
            se = SpooledExcerpt.create(state, keep / 2, keep - keep / 2);
            // the history's 2 KiB of each end come from the small head and tail
            SpooledExcerpt sErr = se;
            Executed x = dev.davit.sandbox.backend.Lifecycle.checkedOnce(c.sandbox(), () -> exec(w, argv, env, secretEnv, cwd, timeout, keep,
                    SPOOLED_CAPTURE, ExecLog.KEEP, stdin, Tees.of(so, stdoutTee), Tees.of(sErr, stderrTee)));
            return new SpooledExecuted(x.result(), x.execId(), so, se, x.networkDenied());
        } catch (RuntimeException e) {
            so.close();
            if (se != null) {
                se.close();
            }
            throw e;
        }
    }

    private static void checkKeep(int keep) {
        if (keep < 2 || keep > ExecResult.MAX_CAPTURED_BYTES) {
            throw new DavitException(Kind.USAGE, "the output to keep must be between 2 and "
                    + ExecResult.MAX_CAPTURED_BYTES + " bytes, not " + keep);
        }
    }

    /**
     * An exec in workspace {@code w} whose result captures the first {@code head} bytes of each stream and whose
     * excerpts hold those and the last {@code tail}; the whole of each stream is kept for {@link #output} when one
     * passed {@code keep} bytes.
     */
    private Executed exec(Workspace w, List<String> argv, Map<String, String> env, Map<String, String> secretEnv,
                          String cwd, Duration timeout, int keep, int head, int tail, InputStream stdin,
                          OutputStream stdoutTee, OutputStream stderrTee) {
        String wd = cwd == null ? MOUNT : cwd.startsWith("/") ? cwd : MOUNT + "/" + cwd;
        boolean secret = !w.secrets().isEmpty() || (secretEnv != null && !secretEnv.isEmpty());
        SecretUse use = secret ? secretUse(w) : null;
        Redactor red = use == null ? null : use.redactor();
        List<String> cmd = use == null ? argv : use.command(argv, secretEnv, env, Secrets.SECRET_ENV);
        Path state = stateDir.resolve(w.id());
        String execId = "e-" + dev.davit.oci.internal.RandomHex.of(6);
        // what is kept is taken after the redactor: the head and tail of the (redacted) streams, and their files
        dev.davit.sandbox.backend.CappedSink outHead = new dev.davit.sandbox.backend.CappedSink(head);
        dev.davit.sandbox.backend.CappedSink errHead = new dev.davit.sandbox.backend.CappedSink(head);
        OutputExcerpt.Tail outTail = new OutputExcerpt.Tail(tail);
        OutputExcerpt.Tail errTail = new OutputExcerpt.Tail(tail);
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        ExecResult raw;
        try {
            ExecOutput.begin(state, execId);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot keep the output of an exec in " + state + ": "
                    + e.getMessage());
        }
        try (ExecOutput.Spool outSpool = new ExecOutput.Spool(ExecOutput.file(state, execId, "stdout"));
             ExecOutput.Spool errSpool = new ExecOutput.Spool(ExecOutput.file(state, execId, "stderr"))) {
            OutputStream o = Tees.of(outHead.stream(), outTail, outSpool, stdoutTee);
            OutputStream e = Tees.of(errHead.stream(), errTail, errSpool, stderrTee);
            Redactor.Stream so = red == null ? null : red.stream(o);
            Redactor.Stream se = red == null ? null : red.stream(e);
            // the sandbox's own capture (its start, for telling a command that could not start) is not kept
            raw = lifecycle().exec(w.sandboxId(), cmd, env, wd, timeout, 0, head, stdin, so == null ? o : so,
                    se == null ? e : se);
            if (so != null) {
                so.finish();
                se.finish();
            }
        } catch (DavitException e) {
            throw red == null ? e : SecretUse.redacted(e, red);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot keep the output of an exec in " + state + ": "
                    + (red == null ? e.getMessage() : red.redact(e.getMessage())));
        } finally {
            ExecOutput.end(state, execId);
            if (outTail.total() <= keep && errTail.total() <= keep) {
                for (String s : ExecOutput.STREAMS) {
                    try {
                        Files.deleteIfExists(ExecOutput.file(state, execId, s));
                    } catch (IOException e) {
                        // pruned later
                    }
                }
            }
            ExecOutput.prune(state);
        }
        ExecResult r = new ExecResult(raw.sandboxId(), raw.backend(), raw.runtime(), raw.exitCode(),
                outHead.captured(), errHead.captured(), raw.timedOut(), raw.timings(),
                outHead.truncated() || errHead.truncated(), raw.oomKilled(), raw.outputLimited(), raw.diskFull(),
                List.of());
        OutputExcerpt out = OutputExcerpt.of(outHead.captured(), outTail);
        OutputExcerpt err = OutputExcerpt.of(errHead.captured(), errTail);
        ExecLog.append(state.resolve(ExecLog.FILE), ExecLog.entry(red == null ? argv : red.redact(argv),
                red == null ? wd : red.redact(wd), start, (System.nanoTime() - t0) / 1_000_000, r, execId, out,
                err));
        return new Executed(r, execId, out, err, network.denialsDuring(w, start, Instant.now()));
    }

    /**
     * The sandboxes' own exec, of raw arguments (what {@code Sandboxes.exec} of an {@code ExecSpec} calls): the
     * workspace checked its request already, and keeps the capture it asks for.
     */
    private dev.davit.sandbox.backend.Lifecycle lifecycle() {
        return dev.davit.sandbox.backend.Machinery.of(sandboxes).lifecycle();
    }

    /** A workspace and its sandbox as its check found it, running. */
    private record Checked(Workspace workspace, dev.davit.sandbox.Sandbox sandbox) {
    }

    /** Workspace {@code id}, which must be running (else a one-line error saying how to start it). */
    private Checked running(String id) {
        Workspace w = get(id);
        dev.davit.sandbox.Sandbox sb;
        try {
            sb = sandboxes.status(w.sandboxId());
        } catch (DavitException e) {
            throw new DavitException(Kind.STATE, Message.of("workspace " + w.id() + " has lost its sandbox ("
                    + e.getMessage() + "); delete it with ", Action.DELETE_WORKSPACE.fix(w.id()))
                    .about(Subject.Type.WORKSPACE, w.id()));
        }
        // a paused one first: a paused microVM's or pod's sandbox is stopped meanwhile
        Held.refusePaused(sandboxes, sb, WorkspaceState.said(w, id));
        SandboxStatus st = sb.status();
        if (st != SandboxStatus.RUNNING) {
            throw new DavitException(Kind.STATE, Message.of("workspace " + w.id() + " is " + st.label() + "; start"
                    + " it with ", Action.START_WORKSPACE.fix(w.id())).about(Subject.Type.WORKSPACE, w.id()));
        }
        return new Checked(w, sb);
    }

    ExecOutput.Page output(String id, String execId, String stream, long offset, int limit) {
        return ExecOutput.read(stateDir.resolve(get(id).id()), execId, stream, offset, limit);
    }

    /**
     * An exec in workspace {@code w}, which has secrets: its output goes through a {@link Redactor} on its way to
     * the tees and to the captured result (so a value split between two reads is found too, and what the result
     * keeps is what the tees saw); the history records the redacted result and command.
     */
    private ExecResult execWithSecrets(Workspace w, List<String> argv, Map<String, String> env,
                                       Map<String, String> secretEnv, String wd, Duration timeout, InputStream stdin,
                                       OutputStream stdoutTee, OutputStream stderrTee) {
        SecretUse use = secretUse(w);
        Redactor r = use.redactor();
        List<String> cmd = use.command(argv, secretEnv, env, Secrets.SECRET_ENV);
        dev.davit.sandbox.backend.CappedSink out = new dev.davit.sandbox.backend.CappedSink();
        dev.davit.sandbox.backend.CappedSink err = new dev.davit.sandbox.backend.CappedSink();
        Redactor.Stream so = r.stream(Tees.of(out.stream(), stdoutTee));
        Redactor.Stream se = r.stream(Tees.of(err.stream(), stderrTee));
        Instant start = Instant.now();
        long t0 = System.nanoTime();
        ExecResult raw;
        try {
            raw = lifecycle().exec(w.sandboxId(), cmd, env, wd, timeout, stdin, so, se);
            so.finish();
            se.finish();
        } catch (DavitException e) {
            throw SecretUse.redacted(e, r);
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot pass on the output: " + r.redact(e.getMessage()));
        }
        ExecResult res = new ExecResult(raw.sandboxId(), raw.backend(), raw.runtime(), raw.exitCode(),
                out.captured(), err.captured(), raw.timedOut(), raw.timings(),
                raw.truncated() || out.truncated() || err.truncated(), raw.oomKilled(), raw.outputLimited(),
                raw.diskFull(), List.of());
        ExecLog.append(stateDir.resolve(w.id()).resolve(ExecLog.FILE),
                ExecLog.entry(r.redact(argv), r.redact(wd), start, (System.nanoTime() - t0) / 1_000_000, res));
        return res;
    }

    List<ExecEntry> logs(String id) {
        return ExecLog.read(stateDir.resolve(get(id).id()).resolve(ExecLog.FILE));
    }
}
