package dev.davit.sandbox.container;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.agent.AgentLink;
import dev.davit.sandbox.backend.CappedSink;
import dev.davit.sandbox.backend.OutputLimit;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.backend.Users;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.jail.Disk;
import dev.davit.sandbox.jail.Jail;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A command run in a long-lived container sandbox's keeper, for {@link ContainerLifecycle}: the exec itself (its
 * session, pipes, output limit, timeout and result) and how a command enters the keeper (davit-exec, else nsenter,
 * as root with a bubblewrap of its own), which {@link Detached} uses too.
 */
final class ContainerExec {
    /** How long an exec waits, after its command exited, for output still in the pipes. */
    private static final Duration PIPE_GRACE = Duration.ofSeconds(1);

    private final SandboxOptions options;
    private final ContainerAgent agents;

    ContainerExec(SandboxOptions options) {
        this.options = options;
        this.agents = new ContainerAgent(options);
    }

    private Path dir(Sandbox s) {
        return options.stateDir().resolve(s.id());
    }

    /**
     * Runs {@code argv} in running sandbox {@code s} (see {@code Sandboxes.exec}); {@code t0}
     * is when the call began, for the timings.
     */
    ExecResult exec(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Duration timeout,
                    long maxOutput, int capture, java.io.InputStream stdin, java.io.OutputStream stdoutTee,
                    java.io.OutputStream stderrTee, long t0) {
        String id = s.id();
        Cgroups.Cgroup cg = s.spec().limits().any() ? Cgroups.existing(id, dir(s), s.spec().limits()) : null;
        long oomBefore = cg == null ? 0 : cg.oomKills();
        Path joinFailed = dir(s).resolve(Cgroups.JOIN_FAILED);
        try {
            Files.deleteIfExists(joinFailed);
        } catch (IOException e) {
            // a stale marker only makes a failed join's message wrong
        }
        AgentLink link = agents.link(s, cg);
        if (link != null) {
            return byAgent(link, s, argv, env, workdir, timeout, maxOutput, capture, stdin, stdoutTee, stderrTee,
                    t0, cg, oomBefore);
        }
        ProcessBuilder pb = enter(s, argv, env, workdir, cg);
        // a session of its own: in ours the command had our controlling terminal (the CLI user's, an MCP client's),
        // which the sandbox's /dev/tty reached: it could write to it, read what is typed there and make itself its
        // foreground process group, even after the exec ended (Detached's spawns have setsid already)
        if (Jail.isHelperMode(pb.command())) {
            pb.command(Jail.withSteps(pb.command(), List.of("--session"))); // davit-exec's own setsid
        } else {
            List<String> session = new ArrayList<>(List.of(Host.tool(options.searchPath(), "setsid").toString(), "-w"));
            session.addAll(pb.command());
            pb.command(session);
        }
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        long t1 = System.nanoTime();
        Disk.Watch disk = Disk.watch(dir(s));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            disk.close();
            throw new DavitException(Kind.INTERNAL, "cannot start " + pb.command().get(0) + ": " + e.getMessage());
        }
        if (stdin != null) {
            BwrapBackend.feed(stdin, p, id + "-exec");
        }
        long t2 = System.nanoTime();
        CappedSink out = new CappedSink(capture);
        CappedSink err = new CappedSink(capture);
        // past the output limit: nsenter's child and what it started are its descendants in the host's view
        OutputLimit limit = OutputLimit.closable(maxOutput, () -> Host.killTree(p));
        Thread po = BwrapBackend.pump(p.getInputStream(), out, stdoutTee, id + "-exec-stdout", limit);
        Thread pe = BwrapBackend.pump(p.getErrorStream(), err, stderrTee, id + "-exec-stderr", limit);
        boolean timedOut = false;
        int rc;
        try {
            if (timeout == null) {
                p.waitFor();
            } else if (!p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                timedOut = true;
                // nsenter's child and what it started are its descendants in the host's view
                List<ProcessHandle> kids = p.descendants().toList();
                kids.forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
            rc = p.waitFor();
        } catch (InterruptedException e) {
            disk.close();
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while exec ran in sandbox " + id);
        }
        disk.close();
        long t3 = System.nanoTime();
        // a process the command left in the background keeps our pipes open: what the command wrote is read
        // within the grace period, then the pumps pass nothing more (they drain the pipes until that process
        // closes them), so the exec returns and nothing reaches the tees after its result
        long grace = System.nanoTime() + PIPE_GRACE.toNanos();
        join(po, grace);
        join(pe, grace);
        limit.close();
        boolean limited = OutputLimit.exceeded(limit);
        if (limited) {
            timedOut = false;
            rc = ExecResult.OUTPUT_LIMIT_EXIT_CODE;
        } else if (timedOut) {
            rc = ExecResult.TIMEOUT_EXIT_CODE;
        }
        if (Files.exists(joinFailed)) {
            throw cgroupJoinFailed(id);
        }
        boolean oom = cg != null && cg.oomKills() > oomBefore;
        boolean diskFull = disk.full();
        if (!timedOut && !limited) {
            // bubblewrap's, davit-exec's or nsenter's own failure before the command ran: a working directory that
            // is not there, a command that cannot be found or run
            rc = BwrapBackend.interpret(rc, err.captured(), runSpec(s, argv, env, workdir).effectiveWorkdir());
        }
        long t4 = System.nanoTime();
        return new ExecResult(id, BwrapBackend.NAME, BwrapBackend.RUNTIME, rc, out.captured(), err.captured(), timedOut,
                new ExecResult.Timings(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3)),
                out.truncated() || err.truncated() || limited, oom, limited, diskFull, List.of());
    }

    /** A command (or the agent that runs the commands) could not enter sandbox {@code id}'s cgroup. */
    static DavitException cgroupJoinFailed(String id) {
        return new DavitException(Kind.INTERNAL, Message.of("the command could not enter the cgroup of sandbox "
                + id + "; recreate the sandbox, or create it with ", Input.NO_LIMITS));
    }

    /**
     * {@link #exec} through the sandbox's agent ({@link ContainerAgent}): one request on its socket, no process
     * started on the host. The result is the one the way without it gives: the same output limit, timeout, disk,
     * OOM and working directory's words.
     */
    private ExecResult byAgent(AgentLink link, Sandbox s, List<String> argv, Map<String, String> env, String workdir,
                               Duration timeout, long maxOutput, int capture, java.io.InputStream stdin,
                               java.io.OutputStream stdoutTee, java.io.OutputStream stderrTee, long t0,
                               Cgroups.Cgroup cg, long oomBefore) {
        String id = s.id();
        RunSpec rs;
        Map<String, String> commandEnv;
        long t1;
        Disk.Watch disk;
        CappedSink out;
        CappedSink err;
        try {
            rs = runSpec(s, argv, env, workdir);
            commandEnv = new java.util.LinkedHashMap<>(rs.effectiveEnv());
            commandEnv.putIfAbsent("PWD", rs.effectiveWorkdir());
            t1 = System.nanoTime();
            disk = Disk.watch(dir(s));
            out = new CappedSink(capture);
            err = new CappedSink(capture);
        } catch (RuntimeException | Error e) {
            link.close(); // taken for this command: never left open, never given back unused
            throw e;
        }
        AgentLink.Outcome o;
        long t2;
        OutputLimit limit;
        boolean reuse = false;
        try (disk) {
            AgentLink.Running r;
            try {
                r = link.start(argv, commandEnv, rs.effectiveWorkdir(), stdin != null);
            } catch (IllegalArgumentException e) {
                throw dev.davit.sandbox.agent.AgentErrors.tooLarge();
            }
            t2 = System.nanoTime();
            limit = OutputLimit.closable(maxOutput, r::kill);
            o = r.await((isErr, b, n) -> limit.pass(b, n, isErr ? err : out, isErr ? stderrTee : stdoutTee),
                    stdin, timeout);
            // a command that ended by itself, with nothing fed to it: its link carries the sandbox's next one
            reuse = stdin == null && !o.timedOut() && !OutputLimit.exceeded(limit);
        } catch (AgentLink.Broken e) {
            throw new DavitException(Kind.INTERNAL, "the agent of sandbox " + id + " failed while the command ran ("
                    + e.getMessage() + "); the command was killed with its agent's thread, and the next command"
                    + " starts the agent again if it is gone");
        } catch (AgentLink.InputFailed e) {
            throw dev.davit.sandbox.agent.AgentErrors.inputFailed(id, "the command", e);
        } catch (IOException e) {
            if (Thread.interrupted()) {
                Thread.currentThread().interrupt();
                throw new DavitException(Kind.CANCELLED, "interrupted while exec ran in sandbox " + id);
            }
            throw new DavitException(Kind.INTERNAL, "cannot reach the agent of sandbox " + id + ": " + e.getMessage());
        } finally {
            if (reuse) {
                agents.release(s, link);
            } else {
                link.close();
            }
        }
        long t3 = System.nanoTime();
        // the command's own exit codes, as a shell and davit-exec give them, with the agent's line
        int rc = dev.davit.sandbox.agent.AgentErrors.exitCode(id, o, rs.effectiveWorkdir(),
                line -> limit.pass(line, line.length, err, stderrTee));
        rc = limit.settle(rc, o.timedOut());
        boolean limited = limit.exceeded();
        boolean timedOut = o.timedOut() && !limited;
        boolean oom = cg != null && cg.oomKills() > oomBefore;
        long t4 = System.nanoTime();
        return new ExecResult(id, BwrapBackend.NAME, BwrapBackend.RUNTIME, rc, out.captured(), err.captured(), timedOut,
                new ExecResult.Timings(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3)),
                out.truncated() || err.truncated() || limited, oom, limited, disk.full(), List.of());
    }

    /**
     * A process builder for {@code argv} run in running container sandbox {@code s} as an exec runs: nsenter into
     * its namespaces (and, with {@code cg}, its cgroup), its environment with {@code env} on top, {@code workdir}
     * (null: the sandbox's), the image's user. Nothing is started.
     */
    ProcessBuilder enter(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Cgroups.Cgroup cg) {
        return enter(s, argv, env, workdir, cg, false);
    }

    /**
     * {@link #enter}; with {@code terminal} the command keeps the caller's session (its terminal becomes the
     * command's), else it gets a session of its own.
     */
    ProcessBuilder enter(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Cgroups.Cgroup cg,
                         boolean terminal) {
        RunSpec rs = runSpec(s, argv, env, workdir);
        if (Jail.active()) {
            return enterJailed(s, argv, rs, cg, terminal);
        }
        Path helper = Jail.execHelper(options);
        if (helper != null) {
            // rootless, the same helper: it joins the keeper's user namespaces as their owner (see mode-exec.c)
            return enterWithHelper(s, argv, rs, cg, helper);
        }
        Path nsenter = Host.tool(options.searchPath(), "nsenter");
        long target = s.initPid();
        List<String> cmd = new ArrayList<>(List.of(nsenter.toString(), "--target", Long.toString(target), "--mount",
                "--uts", "--ipc", "--net", "--pid"));
        boolean userns = !sameNamespace(target, "user");
        // without root, the sandbox's user namespace denies setgroups, which nsenter calls to become uid 0 there:
        // keep our credentials instead, which that namespace maps to the keeper's user (root, or the image's User)
        boolean preserve = userns && !Overlay.ROOT;
        if (userns) {
            cmd.add("--user");
        }
        if (preserve) {
            cmd.add("--preserve-credentials");
        }
        if (!sameNamespace(target, "cgroup")) {
            cmd.add("--cgroup");
        }
        // the working directory is resolved inside: --wdns changes to it after the namespaces and the sandbox's root
        // (so a link the sandbox made to / leads to the sandbox's /); never --wd, which nsenter opens from the
        // host's root before it enters anything, nor a host-side look at /proc/PID/root/WD (the host's links)
        cmd.addAll(List.of("--root", "--wdns=" + rs.effectiveWorkdir()));
        // the image's User, as davit run applies it (names looked up in the sandbox's /etc/passwd and /etc/group)
        int[] ids = Users.resolve(s.spec().rootfs(), s.spec().image().user());
        if (ids != null && !(ids[0] == 0 && ids[1] == 0) && !preserve) {
            cmd.addAll(List.of("--setuid", Integer.toString(ids[0]), "--setgid", Integer.toString(ids[1])));
        }
        cmd.add("--");
        cmd.addAll(argv);
        // the command joins the sandbox's cgroup before nsenter runs: its limits hold for the keeper and every exec
        ProcessBuilder pb = new ProcessBuilder(Cgroups.wrap(cg, cmd, dir(s)));
        pb.environment().clear();
        // nsenter passes its environment on to the command; but it, and the cgroup's join before it, are host
        // programs that the host's loader and shell start with that environment: what would make them load or run
        // a file the sandbox chose (LD_PRELOAD=tmp/x.so names the sandbox's /tmp from this working directory) is
        // left out here, so this weaker exec (rootless, without davit-exec) does not pass such variables on
        pb.environment().putAll(withoutHostLoaderVariables(rs.effectiveEnv()));
        pb.environment().putIfAbsent("PWD", rs.effectiveWorkdir()); // as bwrap sets it for davit run
        pb.directory(dir(s).toFile());
        return pb;
    }

    /**
     * The variables that make the host's dynamic loader, libc or shell read or run a file they name (glibc's list of
     * variables it ignores for a setuid program, and the shells' start-up files): never given to a host program.
     */
    static final java.util.Set<String> HOST_LOADER_VARIABLES = java.util.Set.of("GCONV_PATH", "GETCONF_DIR",
            "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "MALLOC_TRACE", "NIS_PATH", "NLSPATH",
            "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "CDPATH",
            "IFS");

    /** {@code env} without {@link #HOST_LOADER_VARIABLES} and without any {@code LD_*} variable. */
    static Map<String, String> withoutHostLoaderVariables(Map<String, String> env) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        env.forEach((k, v) -> {
            if (!k.startsWith("LD_") && !HOST_LOADER_VARIABLES.contains(k)) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** What an exec of {@code argv} in {@code s} runs: its environment with {@code env} on top, its workdir. */
    private static RunSpec runSpec(Sandbox s, List<String> argv, Map<String, String> env, String workdir) {
        Map<String, String> merged = new java.util.LinkedHashMap<>(s.spec().env());
        if (env != null) {
            merged.putAll(env);
        }
        return RunSpec.builder(s.spec().rootfs()).command(argv).env(merged)
                .workdir(workdir != null ? workdir : s.spec().workdir()).network(s.spec().network())
                .image(s.spec().image()).limits(dev.davit.sandbox.Limits.NONE).build();
    }

    /**
     * A jailed sandbox's exec: nsenter into the mount namespace of the keeper's bubblewrap (the jail's, where the
     * sandbox's root and shared directories are mounted) and the keeper's network, IPC, UTS, pid and cgroup
     * namespaces, then a bubblewrap of its own (as the keeper's is made) that joins the keeper's user namespace,
     * makes a mount namespace over the same root and directories, and starts the command with the same
     * capabilities, masks and seccomp filter. The working directory is resolved inside the sandbox, by bubblewrap.
     */
    private ProcessBuilder enterJailed(Sandbox s, List<String> argv, RunSpec rs, Cgroups.Cgroup cg, boolean terminal) {
        Path rootfs = s.spec().rootfs();
        int[] ids = BwrapBackend.nonRoot(Users.resolve(rootfs, s.spec().image().user()));
        String init = Long.toString(s.initPid());
        Path helper = Jail.execHelper(options);
        if (helper != null) {
            // the fast way: into the keeper's own namespaces, confined there by davit's static helper
            return enterWithHelper(s, argv, rs, cg, helper);
        }
        Path nsenter = Host.tool(options.searchPath(), "nsenter");
        List<String> cmd = new ArrayList<>(List.of(nsenter.toString(), "--target", Long.toString(s.bwrapPid()),
                "--mount"));
        // not the pid namespace: bubblewrap joins it itself (--pidns), so that its /proc is the one of that namespace
        for (String ns : List.of("net", "ipc", "uts", "cgroup")) {
            cmd.add("--" + ns + "=" + Path.of("/proc", init, "ns", ns));
        }
        cmd.add("--");
        List<String> bw = new ArrayList<>(List.of(options.bwrap().toString()));
        if (!terminal) {
            bw.add("--new-session");
        }
        bw.addAll(List.of("--pidns", Integer.toString(Jail.PIDNS_FD)));
        bw.addAll(Jail.bwrapOptions(Jail.range(), ids));
        BwrapBackend.rootAndMounts(bw, rootfs, MountPoints.jailRoot(Files.exists(dir(s).resolve(Dns.FILE))),
                Keeper.jailShared(), MountPoints.bwrapTargets(s.spec()));
        if (!s.spec().mounts().isEmpty()) { // never mounted again through its live layer (see ExtraMounts.prepare)
            throw new DavitException(Kind.HOST_UNSUPPORTED, "sandbox " + s.id() + " has mounts, which an exec reaches"
                    + " only through davit's exec helper davit-exec; build davit with gcc installed");
        }
        Map<String, String> env = new java.util.LinkedHashMap<>(rs.effectiveEnv());
        env.putIfAbsent("PWD", rs.effectiveWorkdir());
        BwrapBackend.environment(bw, env);
        bw.addAll(List.of("--chdir", rs.effectiveWorkdir(), "--"));
        bw.addAll(argv);
        cmd.addAll(Jail.launcher(options, Jail.range(), Path.of("/proc", init, "ns", "user"),
                Path.of("/proc", init, "ns", "pid"), Jail.seccompFile(options), ids, bw));
        ProcessBuilder pb = new ProcessBuilder(Cgroups.wrap(cg, cmd, dir(s)));
        pb.environment().clear();
        pb.directory(dir(s).toFile());
        return pb;
    }

    /**
     * An exec through davit-exec (as root or not): it joins the keeper's namespaces and confines the command there
     * as a one-shot run is confined (the default capabilities or none, no_new_privs, the seccomp filter).
     */
    private ProcessBuilder enterWithHelper(Sandbox s, List<String> argv, RunSpec rs, Cgroups.Cgroup cg, Path helper) {
        int[] ids = BwrapBackend.nonRoot(Users.resolve(s.spec().rootfs(), s.spec().image().user()));
        ProcessBuilder pb = new ProcessBuilder(Cgroups.wrap(cg, Jail.execLauncher(options, s.initPid(), helper,
                ids, rs.effectiveWorkdir(), argv), dir(s)));
        Map<String, String> env = new java.util.LinkedHashMap<>(rs.effectiveEnv());
        env.putIfAbsent("PWD", rs.effectiveWorkdir());
        pb.environment().clear();
        pb.environment().putAll(Jail.execEnvironment(env)); // only davit-exec gives the command its variables
        pb.directory(dir(s).toFile());
        return pb;
    }

    private static boolean sameNamespace(long pid, String ns) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/ns", ns))
                    .equals(Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", ns)));
        } catch (IOException e) {
            return true; // no such namespace type here: nothing to enter
        }
    }

    /** Waits for {@code t} until {@code deadline} (System.nanoTime). */
    private static void join(Thread t, long deadline) {
        try {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
