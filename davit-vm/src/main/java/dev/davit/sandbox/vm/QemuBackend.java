package dev.davit.sandbox.vm;

import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.backend.Backend;
import dev.davit.sandbox.Captured;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.backend.Nat;
import dev.davit.sandbox.backend.OneShot;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.jail.Jail;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The {@code vm} backend: each run boots a QEMU microVM of a microVM environment (a directory with
 * {@code vmlinux}, {@code initrd} and {@code rootfs.ext4}, given as {@link RunSpec#rootfs()}), runs the command
 * through davit-agent ({@link VmExec}), then kills QEMU and deletes the sandbox's state directory (its disk overlay
 * with it). See {@link Machine} for the command line and docs/reference/AGENT.md for the agent's protocol.
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
            // davit-agent's init (PID 1) answers on the guest's own port; commands go to davit-agent on the others
            GuestInit.await(state, q::isAlive, "the microVM of sandbox " + id, accel);
            long t2 = System.nanoTime();
            Outcome exit = VmExec.exec(new VmExec.Vm(id, state, q::isAlive, q::destroyForcibly,
                    () -> GuestInit.answers(state)), argv, guestEnv, spec.effectiveWorkdir(), spec.timeout(),
                    spec.maxOutput(), new Capture(spec.capture(), stdoutTee, stderrTee), stdin);
            long t3 = System.nanoTime();
            stop(qemu);
            qemu = null;
            Nat.stop(state); // before the state (its pid file) is deleted: slirp4netns outlives its namespace
            var denied = dev.davit.sandbox.backend.Egress.runDenials(state);
            Cgroups.finish(cg, state);
            cg = null;
            Host.deleteTree(state);
            long t4 = System.nanoTime();
            return exit.result(id, new ExecResult.Timings(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2),
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
     * What a command left: its exit code (124 with {@code timedOut} when its timeout killed it), what was captured
     * of each output stream ({@code truncated}: more was dropped) and whether its output limit killed it.
     */
    record Outcome(int code, boolean timedOut, Captured stdout, Captured stderr, boolean truncated, boolean limited) {
        /** The result of sandbox {@code id}'s command. */
        ExecResult result(String id, ExecResult.Timings timings) {
            return new ExecResult(id, NAME, RUNTIME, code, stdout, stderr, timedOut, timings, truncated, false,
                    limited, false, List.of());
        }
    }

    /**
     * Where a command's output goes as the agent sends it: up to {@code bytes} of each stream kept for the result,
     * all of it copied to the tees (either may be null; best effort: a tee that fails gets nothing more).
     */
    public record Capture(int bytes, OutputStream stdoutTee, OutputStream stderrTee) {
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
}
