package dev.davit.sandbox.vm;

import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.backend.Backend;
import dev.davit.oci.Action;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.Captured;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.backend.Nat;
import dev.davit.sandbox.backend.OneShot;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.backend.CappedSink;
import dev.davit.sandbox.backend.Tees;
import dev.davit.sandbox.jail.Jail;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The {@code vm} backend: each run boots a QEMU microVM of a microVM environment (a directory with
 * {@code vmlinux}, {@code rootfs.ext4} and optionally {@code initrd}, given as {@link RunSpec#rootfs()}), runs the
 * command through the guest agent, then kills QEMU and deletes the sandbox's state directory (its disk overlay
 * with it). See {@link Machine} for the command line and {@link Protocol} for the agent protocol.
 */
public final class QemuBackend implements Backend {
    public static final String NAME = RunSpec.VM;
    static final String RUNTIME = "qemu";

    private final SandboxOptions options;

    public QemuBackend(SandboxOptions options) {
        this.options = options;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String runtime() {
        return RUNTIME;
    }

    @Override
    public ExecResult run(RunSpec spec, java.io.InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        long t0 = System.nanoTime();
        Machine.Environment env = VmInitrd.booted(spec.rootfs(), options);
        boolean byAgent = VmExec.enabled(env);
        if (!byAgent) { // the guest agent's shell: the output comes when the command ended, and no stdin
            refuseMaxOutput(spec.maxOutput());
            if (stdin != null) {
                throw new DavitException(Kind.USAGE, "the vm backend cannot pass standard input to a command of an"
                        + " environment built before davit-agent; rebuild the environment, or put the input in a"
                        + " file inside it");
            }
        }
        Machine.Tools tools = Machine.tools(options);
        List<String> argv = spec.effectiveCommand();
        Map<String, String> guestEnv = guestEnvironment(spec);
        String id = OneShot.newId();
        Machine.checkSocketPath(options.stateDir().resolve(id));
        Path state = OneShot.create(options, id);
        Process qemu = null;
        Cgroups.Cgroup cg = null;
        try {
            Accel.Choice accel = Accel.choose(tools.qemu(), env.vmlinux(), options.stateDir());
            Nat.Tools nat = spec.network().ownNamespace() ? Nat.tools(options, spec.network()) : null;
            cg = Machine.cgroup(id, Machine.limits(spec.memoryMiB(), spec.vcpus(), spec.limits(), accel), state);
            Cgroups.Cgroup group = cg;
            long t1 = System.nanoTime();
            // QEMU jailed (Machine.confined, Jail.vmmLauncher) in its cgroup; NAT: its user-mode network inside a
            // namespace of its own, so its 10.0.2.2 is not the host
            qemu = Machine.confined(options, id, env, state, accel, spec.network(), (seenEnv, seenState, jail, vmm) -> {
                Machine.ownVmm(state.resolve(Machine.VMM), id); // before qemu-img, which runs as the VMM's uid
                Machine.createDisk(tools, seenEnv, seenState, state, cmd -> jail.apply(vmm.apply(cmd)));
                Machine.createOutputs(state, false);
                Machine.ownVmm(state.resolve(Machine.VMM), id);
                List<String> cmd = Machine.capped(options, seenState, false, vmm.apply(Machine.command(tools, seenEnv,
                        seenState, id, spec.vcpus(), spec.memoryMiB(), spec.network().enabled(), accel, false)));
                // the jail step first: the NAT step waits for its network before it goes on
                Process p = Machine.launch(Cgroups.wrap(group, jail.apply(nat == null ? cmd
                        : Nat.wrap(nat, state, cmd)), state), state);
                Jail.awaitJailed(p); // the jail's mounts are made before its user namespace's helper ends
                return p;
            });
            OneShot.started(state, qemu);
            if (nat != null) {
                Nat.attach(nat, qemu.pid(), state, false, List.of());
            }
            Process q = qemu;
            Outcome exit;
            boolean timedOut = false;
            long t2;
            if (byAgent) { // davit-agent's init (PID 1) answers on the guest's own port; commands go to its agent
                GuestInit.await(state, q::isAlive, "the microVM of sandbox " + id, accel);
                t2 = System.nanoTime();
                exit = VmExec.exec(new VmExec.Vm(id, state, q::isAlive, q::destroyForcibly,
                        () -> GuestInit.answers(state)), argv, guestEnv, spec.effectiveWorkdir(), spec.timeout(),
                        spec.maxOutput(), new Capture(spec.capture(), stdoutTee, stderrTee), stdin);
            } else try (AgentClient c = Machine.awaitAgent(state, q::isAlive, "the microVM of sandbox " + id,
                    accel)) {
                t2 = System.nanoTime();
                exit = execute(c, argv, guestEnv, spec.effectiveWorkdir(), spec.timeout(), id, state,
                        new Capture(spec.capture(), stdoutTee, stderrTee));
            } catch (AgentClient.TimeoutException e) {
                // the agent did not answer within the command's timeout and the grace period: the host's limit
                t2 = System.nanoTime();
                exit = Outcome.TIMED_OUT;
                timedOut = true;
            } catch (AgentClient.ProtocolException e) {
                throw VmLifecycle.broken(id, e); // QEMU is killed below
            }
            long t3 = System.nanoTime();
            stop(qemu);
            qemu = null;
            Nat.stop(state); // before the state (its pid file) is deleted: slirp4netns outlives its namespace
            var denied = dev.davit.sandbox.backend.Egress.runDenials(state);
            Cgroups.finish(cg, state);
            cg = null;
            Host.deleteTree(state);
            long t4 = System.nanoTime();
            return exit.result(id, timedOut, new ExecResult.Timings(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2),
                    ms(t4 - t3))).withNetworkDenied(denied);
        } finally {
            if (qemu != null) {
                stop(qemu);
            }
            Nat.stop(state);
            if (cg != null) {
                cg.destroy();
            }
            Host.deleteTree(state);
            OneShot.ended(state);
        }
    }

    /**
     * What a command left: its exit code (124 with {@code timedOut} when the agent's timeout killed it) and the
     * first {@link ExecResult#MAX_CAPTURED_BYTES} of each output stream ({@code truncated}: more was dropped).
     */
    record Outcome(int code, boolean timedOut, Captured stdout, Captured stderr, boolean truncated, boolean limited) {
        static final Outcome TIMED_OUT = new Outcome(ExecResult.TIMEOUT_EXIT_CODE, true, Captured.EMPTY,
                Captured.EMPTY, false);

        /** An outcome within any output limit. */
        Outcome(int code, boolean timedOut, Captured stdout, Captured stderr, boolean truncated) {
            this(code, timedOut, stdout, stderr, truncated, false);
        }

        /** The result of sandbox {@code id}'s command; {@code timedOut}: the host's deadline passed too. */
        ExecResult result(String id, boolean timedOut, ExecResult.Timings timings) {
            return new ExecResult(id, NAME, RUNTIME, code, stdout, stderr, timedOut || this.timedOut, timings,
                    truncated, false, limited);
        }
    }

    /**
     * Where a command's output goes as the agent sends it: up to {@code bytes} of each stream kept for the result,
     * all of it copied to the tees (either may be null; best effort: a tee that fails gets nothing more).
     */
    public record Capture(int bytes, OutputStream stdoutTee, OutputStream stderrTee) {
        /** The result keeps up to {@link ExecResult#MAX_CAPTURED_BYTES} per stream; no tees. */
        static final Capture DEFAULT = new Capture(ExecResult.MAX_CAPTURED_BYTES, null, null);
    }

    /** {@link #execute(AgentClient, List, Map, String, Duration, String, Path, Capture)} with no tees. */
    static Outcome execute(AgentClient c, List<String> argv, Map<String, String> env, String workdir,
                           Duration timeout, String sandbox, Path state) {
        return execute(c, argv, env, workdir, timeout, sandbox, state, Capture.DEFAULT);
    }

    /**
     * Runs one command through the agent. A timeout is enforced by the agent (exit 124) and, when the agent does
     * not answer {@link Machine#timeoutGrace()} after it, by the host ({@link AgentClient.TimeoutException}).
     * When the VM dies meanwhile the DavitException says why. The output arrives raw after the answer: each stream
     * is kept up to {@link ExecResult#MAX_CAPTURED_BYTES} and the rest read and dropped, within the deadline, or
     * within {@link AgentFiles#timeout()} of the answer when the command has no timeout.
     */
    static Outcome execute(AgentClient c, List<String> argv, Map<String, String> env, String workdir,
                           Duration timeout, String sandbox, Path state, Capture capture) {
        String rid = Protocol.newId();
        long timeoutMs = timeout == null ? 0 : Math.max(1, timeout.toMillis());
        String request;
        try {
            request = Protocol.run(rid, timeoutMs, workdir, env, argv);
        } catch (IllegalArgumentException e) {
            throw new DavitException(Kind.USAGE, "cannot pass the command to sandbox " + sandbox + ": "
                    + e.getMessage());
        }
        long deadline = timeout == null ? Long.MAX_VALUE
                : System.nanoTime() + timeout.toNanos() + Machine.timeoutGrace().toNanos();
        Protocol.Answer a;
        try {
            try {
                a = c.call(request, rid, deadline);
            } catch (AgentClient.TimeoutException e) {
                throw new AgentClient.TimeoutException("did not answer within " + Machine.timeoutGrace().toSeconds()
                        + " s after the command's timeout");
            }
            if (a instanceof Protocol.Ran r) {
                return output(c, r, capture);
            }
        } catch (AgentClient.GoneException e) {
            throw new DavitException(Kind.INTERNAL, "the microVM of sandbox " + sandbox + " stopped while the command"
                    + " ran (" + e.getMessage() + "); " + Machine.diagnosis(state));
        }
        if (a instanceof Protocol.Exit x) { // an older agent's: its line, and so its output, is a few MiB at most
            return new Outcome(x.code(), x.timedOut(), Captured.of(x.stdout()), Captured.of(x.stderr()), false);
        }
        if (a instanceof Protocol.Failure f && f.code().equals("workdir")) {
            throw new DavitException(Kind.USAGE, "the working directory " + workdir + " does not exist in the sandbox");
        }
        if (a instanceof Protocol.Failure f) {
            throw new DavitException(Kind.INTERNAL, "the guest agent of sandbox " + sandbox + " refused the command: "
                    + f.message());
        }
        throw new DavitException(Kind.INTERNAL, "the guest agent of sandbox " + sandbox + " answered " + a);
    }

    /**
     * Reads the output that follows answer {@code r}: each stream up to {@link ExecResult#MAX_CAPTURED_BYTES}, the
     * rest read and dropped, all within {@link AgentFiles#timeout()}.
     */
    private static Outcome output(AgentClient c, Protocol.Ran r, Capture capture) {
        long deadline = System.nanoTime() + AgentFiles.timeout().toNanos();
        CappedSink out = new CappedSink(capture.bytes());
        CappedSink err = new CappedSink(capture.bytes());
        try {
            OutputStream o = Tees.of(out.stream(), capture.stdoutTee()); // the tee best effort, the capture whole
            c.readBody(r.stdoutSize(), o, deadline);
            o.flush();
            OutputStream e = Tees.of(err.stream(), capture.stderrTee());
            c.readBody(r.stderrSize(), e, deadline);
            e.flush();
        } catch (IOException e) {
            throw new AssertionError(e); // teed streams do not throw
        } catch (AgentClient.TimeoutException e) {
            throw new AgentClient.TimeoutException("did not send the command's output (" + r.stdoutSize() + " + "
                    + r.stderrSize() + " bytes) within " + AgentFiles.timeout().toSeconds() + " s");
        }
        return new Outcome(r.code(), r.timedOut(), out.captured(), err.captured(), out.truncated() || err.truncated());
    }

    /** What the command sees: the spec's effective environment, and PWD as bwrap sets it. */
    static Map<String, String> guestEnvironment(RunSpec spec) {
        Map<String, String> env = new LinkedHashMap<>(spec.effectiveEnv());
        env.putIfAbsent("PWD", spec.effectiveWorkdir());
        return env;
    }

    /** Kills a one-shot QEMU (nothing of its disk is kept, so there is nothing to shut down cleanly). */
    private static void stop(Process qemu) {
        qemu.destroyForcibly();
        try {
            qemu.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    /**
     * The guest agent sends a command's output when it ends, so the host cannot stop a flood as it happens: an
     * output limit is refused rather than pretended.
     */
    public static void refuseMaxOutput(long maxOutput) {
        if (maxOutput > 0) {
            throw new DavitException(Kind.USAGE, Message.of(Input.ANY_MAX_OUTPUT, " is not supported by a microVM"
                    + " environment built before davit-agent (its output arrives when the command ends); rebuild the"
                    + " environment, use the container backend, or ",
                    Action.DROP_OUTPUT_LIMIT.fix()).value(maxOutput));
        }
    }
}
