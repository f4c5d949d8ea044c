package dev.davit.sandbox.container;

import dev.davit.sandbox.backend.Users;
import dev.davit.sandbox.backend.CappedSink;
import dev.davit.sandbox.backend.OutputLimit;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.backend.Backend;
import dev.davit.oci.Action;
import dev.davit.oci.Message;
import dev.davit.sandbox.Captured;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.backend.Nat;
import dev.davit.sandbox.backend.OneShot;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.jail.Disk;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.jail.Subids;
import dev.davit.sandbox.jail.ProcMasks;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The {@code container} backend's bubblewrap runtime: one bubblewrap process per run, over the sandbox's own
 * writable overlay of the shared root filesystem (see {@link Overlay}).
 *
 * <pre>
 * [unshare ... sh -c 'mount -t overlay ... MERGED; exec "$@"' ...]
 * bwrap --unshare-all [--share-net] --die-with-parent --new-session --hostname ID
 *       --bind MERGED / --proc /proc --dev /dev --tmpfs /tmp --tmpfs /run --tmpfs /var/tmp
 *       [--unshare-user --uid U --gid G] --clearenv --setenv K V ... --chdir WORKDIR -- ARGV
 * </pre>
 *
 * /proc, /dev, /tmp, /run and /var/tmp are mounted also where the root filesystem lacks them: {@link MountPoints}
 * makes the mount points in the sandbox's own layer. The root filesystem is shared by all sandboxes and never
 * written: writes go to the sandbox's upper layer in its state directory, deleted with it. Where the overlay cannot
 * be mounted (bubblewrap 0.8 has no overlay of its own), the root is bound read-only ({@code --ro-bind ROOTFS /}, or
 * a skeleton of mount points with the rootfs's entries bound read-only) and the tmpfs directories are the only
 * writable places.
 */
public final class BwrapBackend implements Backend {
    public static final String NAME = RunSpec.CONTAINER;
    public static final String RUNTIME = "bwrap";

    /** Set when an overlay mount failed on this host: later runs of this instance use the read-only root. */
    private volatile boolean overlayBroken;

    private final SandboxOptions options;

    public BwrapBackend(SandboxOptions options) {
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
    public boolean installed() {
        return options.bwrapOrNull() != null;
    }

    @Override
    public ExecResult run(RunSpec spec, InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        long t0 = System.nanoTime();
        ContainerDriver.refuseWeaker(options, false, spec.rootfs(), spec.image());
        Path bwrap = options.bwrap();
        Path rootfs = Host.realRootfs(spec.rootfs());
        List<String> argv = spec.effectiveCommand();
        if (Jail.active()) {
            return runJailed(t0, bwrap, rootfs, argv, spec, stdin, stdoutTee, stderrTee);
        }
        // an image User other than root: host uid SUBUID+U-1 where the user has subordinate ids (see Subids)
        int[] user = nonRoot(Users.resolve(rootfs, spec.image().user()));
        Subids sub = user == null ? null : Subids.forUserOrRefuse(options);
        return inState(options, spec.limits(), (id, state, cg) -> {
            Overlay.Dirs dirs = Overlay.Dirs.under(state);
            Path unshare = options.which("unshare");
            Nat.Tools nat = spec.network().ownNamespace() ? Nat.tools(options, spec.network()) : null;
            // on a mount failure: the read-only root, and no more overlays in this process (e.g. the rootfs is on
            // a filesystem overlayfs refuses)
            Raw raw = Overlay.runWithFallback(!overlayBroken && unshare != null && Overlay.usable(rootfs, dirs), dirs,
                    stdin, () -> overlayBroken = true, merged -> {
                        List<String> bw = arguments(bwrap, rootfs, MountPoints.prepare(rootfs, MountPoints.BWRAP, dirs,
                                merged).withDns(rootfs, spec.network(), state), id, spec, argv, sub != null);
                        if (sub != null) {
                            List<String> cmd = inSubids(options, sub, user, unshare, rootfs, dirs, merged,
                                    merged == null ? null : sub.writeOwners(rootfs, merged, state.resolve("owners")),
                                    nat != null, bw);
                            return execute(nat, sub.unshareOptions(), Cgroups.wrap(cg, cmd, state),
                                    Overlay.environment(), state, spec, id, stdin, stdoutTee, stderrTee);
                        }
                        return merged == null
                                ? execute(nat, Cgroups.wrap(cg, bw, state), Map.of(), state, spec, id, stdin,
                                        stdoutTee, stderrTee)
                                : execute(nat, Cgroups.wrap(cg, Overlay.wrap(unshare, rootfs, dirs, bw), state),
                                        Overlay.environment(), state, spec, id, stdin, stdoutTee, stderrTee);
                    });
            boolean oom = Cgroups.finish(cg, state);
            return raw.result(id, RUNTIME, raw.timedOut() || raw.outputLimited() ? raw.rc()
                    : interpret(raw.rc(), raw.stderr(), spec), oom, t0, state);
        });
    }

    /**
     * What starts bubblewrap ({@code bw}, made with subordinate ids: it joins NS2) as the image User {@code user},
     * with the user's subordinate ids ({@link Subids}): in NS1, made here or (with {@code nat}) by the NAT step
     * around it, the overlay of {@code rootfs} mounted on {@code merged} (null: the read-only root, no overlay), the
     * owners listed in {@code owners} given back (null: none), then {@link Subids#chain}. For a run and a keeper.
     */
    static List<String> inSubids(SandboxOptions options, Subids sub, int[] user, Path unshare, Path rootfs,
                                 Overlay.Dirs dirs, Path merged, Path owners, boolean nat, List<String> bw) {
        List<String> chain = sub.chain(options, user, owners, bw);
        if (merged != null) {
            return Overlay.wrap(unshare, nat ? List.of() : sub.unshareOptions(), rootfs, dirs, chain);
        }
        return nat ? chain : sub.enter(options, chain);
    }

    /** What a one-shot run does in its state directory {@code state}, with its cgroups {@code cg} (may be null). */
    interface InState {
        ExecResult run(String id, Path state, Cgroups.Cgroup cg) throws IOException;
    }

    /**
     * A one-shot run's frame, for every runtime: a new id and state directory, its cgroups for {@code limits}, then
     * {@code body}; the cgroups and the state directory are removed afterwards, whatever happened.
     */
    static ExecResult inState(SandboxOptions options, dev.davit.sandbox.Limits limits, InState body) {
        String id = OneShot.newId();
        Path state = OneShot.create(options, id);
        Cgroups.Cgroup cg = null;
        try {
            ContainerLifecycle.ownOnly(state);
            if (Disk.available() && limits.diskMiB() > 0) {
                Disk.mountTmpfs(options, state, Disk.tmpfsMiB(limits));
            }
            cg = Cgroups.forRun(id, limits, state);
            ExecResult r;
            Disk.Watch disk = Disk.watch(state);
            try (disk) {
                r = body.run(id, state, cg);
            }
            return disk.full() ? r.withDiskFull(true) : r;
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot prepare the sandbox directory " + state + ": "
                    + e.getMessage());
        } finally {
            // an interrupted caller (CANCELLED) gets its run removed all the same: the clean-up's waits (cgroups
            // emptied, the disk unmounted) must not end early; the interrupt status is set again afterwards
            boolean interrupted = Thread.interrupted();
            try {
                if (cg != null) {
                    cg.destroy();
                }
                Disk.release(options, state);
                Host.deleteTree(state);
                Subids.deleteTree(options, state); // what an image User wrote there, a subordinate id's
                OneShot.ended(state);
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /**
     * A run as root: in the sandbox's own user namespace (its root an unprivileged host uid), over its overlay of
     * the idmapped rootfs, with the default capabilities, masked /proc and the seccomp filter (see {@link Jail}).
     */
    private ExecResult runJailed(long t0, Path bwrap, Path rootfs, List<String> argv, RunSpec spec, InputStream stdin,
                                 OutputStream stdoutTee, OutputStream stderrTee) {
        Path filter = Jail.seccompFile(options);
        int[] ids = nonRoot(Users.resolve(rootfs, spec.image().user()));
        return inState(options, spec.limits(), (id, state, cg) -> {
            try (Jail.Namespace ns = Jail.newNamespace(options, ids)) {
                Nat.Tools nat = spec.network().ownNamespace() ? Nat.tools(options, spec.network()) : null;
                Overlay.Dirs dirs = Overlay.Dirs.under(state);
                Map<String, Path> binds = Jail.binds();
                MountPoints.Root root = MountPoints.prepareJailed(rootfs, MountPoints.BWRAP, dirs, spec.network(),
                        state, ns.range(), binds);
                // with a disk of its own, /tmp, /run, /var/tmp and /dev/shm are on it too (else tmpfs mounts)
                Map<String, Path> shared = Disk.mounted(state)
                        ? ContainerLifecycle.shareScratch(state, ns.range(), binds, false) : null;
                Raw raw = Jail.run(options, ns, rootfs, dirs.upper(), dirs.work(), binds, jail -> {
                    List<String> bw = new ArrayList<>(List.of(bwrap.toString()));
                    bw.addAll(namespaceOptions(spec.network().enabled(), true));
                    bw.addAll(List.of("--die-with-parent", "--new-session", "--hostname", id));
                    bw.addAll(Jail.bwrapOptions(ns.range(), ids));
                    rootAndMounts(bw, rootfs, root, shared);
                    environment(bw, spec.effectiveEnv());
                    bw.addAll(List.of("--chdir", spec.effectiveWorkdir(), "--"));
                    bw.addAll(argv);
                    List<String> cmd = jail.apply(Jail.launcher(options, ns.range(), ns.path(), filter, ids, bw));
                    return execute(nat, Cgroups.wrap(cg, cmd, state), Map.of(), state, spec, id, stdin, stdoutTee,
                            stderrTee);
                });
                boolean oom = Cgroups.finish(cg, state);
                return raw.result(id, RUNTIME, raw.timedOut() || raw.outputLimited() ? raw.rc()
                        : interpret(raw.rc(), raw.stderr(), spec), oom, t0, state);
            }
        });
    }

    /** {@code ids}, or null for root (0:0) and no user. */
    public static int[] nonRoot(int[] ids) {
        return ids == null || (ids[0] == 0 && ids[1] == 0) ? null : ids;
    }

    /**
     * The namespaces bubblewrap makes in the jail (the user namespace is joined, not made): pid, ipc, uts, cgroup
     * and, without {@code network}, net. A long-lived sandbox's exec ({@code fresh} false) joins the keeper's
     * instead and makes only its mount namespace.
     */
    public static List<String> namespaceOptions(boolean network, boolean fresh) {
        if (!fresh) {
            return List.of();
        }
        List<String> a = new ArrayList<>(List.of("--unshare-pid", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try"));
        if (!network) {
            a.add("--unshare-net");
        }
        return a;
    }

    /**
     * A rootless bubblewrap's namespaces: every one, its own user namespace too ({@code network}: not the network,
     * the host's or the one a NAT step made, see {@link Nat}); with {@code subids} all but the user namespace, which
     * it joins ({@link Subids#chain}).
     */
    static void rootlessNamespaces(List<String> a, boolean network, boolean subids) {
        if (subids) {
            a.addAll(namespaceOptions(network, true));
            return;
        }
        a.add("--unshare-all");
        if (network) {
            a.add("--share-net");
        }
    }

    /**
     * A rootless bubblewrap's user, the image's User {@code ids} (null or 0:0: root, nothing to add): in a user
     * namespace of its own that maps it to the caller, or with {@code subids} as itself in NS2, the descriptor
     * {@value Jail#USERNS_FD} (see {@link Subids#chain}).
     */
    static void rootlessUser(List<String> a, int[] ids, boolean subids) {
        if (nonRoot(ids) == null) {
            return;
        }
        a.addAll(subids ? List.of("--userns", Integer.toString(Jail.USERNS_FD)) : List.of("--unshare-user"));
        a.addAll(List.of("--uid", Integer.toString(ids[0]), "--gid", Integer.toString(ids[1])));
    }

    /** bubblewrap's {@code --clearenv --setenv K V ...}. */
    public static void environment(List<String> a, Map<String, String> env) {
        a.add("--clearenv");
        for (Map.Entry<String, String> e : env.entrySet()) {
            a.addAll(List.of("--setenv", e.getKey(), e.getValue()));
        }
    }

    /** What one process run gave: exit code, output, whether the timeout killed it, and its phase times. */
    record Raw(int rc, Captured stdout, Captured stderr, boolean timedOut, long t1, long t2, long t3, boolean truncated,
               boolean outputLimited, List<dev.davit.sandbox.EgressDenial> networkDenied) {
        /**
         * The run's result with exit code {@code rc} (124 when it timed out), once {@code state} is deleted; the
         * run began at {@code t0}.
         */
        /** Throws when the command never ran: davit-exec's jail step failed ({@link Jail#jailFailure}). */
        void throwIfJailFailed() {
            DavitException failed = Jail.jailFailure(rc, stderr.size() > 4096 ? "" : stderr.text());
            if (failed != null) {
                throw failed;
            }
        }

        ExecResult result(String id, String runtime, int rc, boolean oom, long t0, Path state) {
            Host.deleteTree(state);
            long t4 = System.nanoTime();
            return new ExecResult(id, NAME, runtime, timedOut ? ExecResult.TIMEOUT_EXIT_CODE : rc, stdout, stderr,
                    timedOut, new ExecResult.Timings(ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3)), truncated,
                    oom, outputLimited, false, networkDenied);
        }
    }

    /**
     * Starts {@code cmd} with only {@code env}, pumps its output, waits (up to the timeout) and reaps it. With
     * {@code nat} (not null) it runs in a network namespace of its own connected by slirp4netns (see {@link Nat}),
     * which ends with it.
     */
    static Raw execute(Nat.Tools nat, List<String> cmd, java.util.Map<String, String> env, Path dir, RunSpec spec,
                       String id, InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        return execute(nat, null, cmd, env, dir, spec, id, stdin, stdoutTee, stderrTee);
    }

    /**
     * {@link #execute(Nat.Tools, List, Map, Path, RunSpec, String, InputStream, OutputStream, OutputStream)}, with
     * the NAT step in the user namespace that unshare's options {@code natUser} make (null: its default).
     */
    static Raw execute(Nat.Tools nat, List<String> natUser, List<String> cmd, java.util.Map<String, String> env,
                               Path dir, RunSpec spec, String id, InputStream stdin, OutputStream stdoutTee,
                               OutputStream stderrTee) {
        try {
            Raw r = execute(nat == null ? cmd : natUser == null ? Nat.wrap(nat, dir, cmd)
                    : Nat.wrap(nat, natUser, dir, cmd),
                    env, dir, spec, id, stdin, stdoutTee, stderrTee,
                    nat == null ? null : p -> Nat.attach(nat, p.pid(), dir, false, List.of()));
            if (nat == null || nat.policy() == null) {
                return r;
            }
            // read here, in the mount namespace that sees the state directory's own disk (the jail's thread)
            return new Raw(r.rc(), r.stdout(), r.stderr(), r.timedOut(), r.t1(), r.t2(), r.t3(), r.truncated(),
                    r.outputLimited(), dev.davit.sandbox.backend.Egress.runDenials(dir));
        } finally {
            if (nat != null) {
                Nat.stop(dir);
            }
        }
    }

    private static Raw execute(List<String> cmd, java.util.Map<String, String> env, Path dir, RunSpec spec,
                               String id, InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee,
                               java.util.function.Consumer<Process> started) {
        long t1 = System.nanoTime();
        ProcessBuilder pb = new ProcessBuilder(Jail.withDefaultSignals(cmd));
        pb.environment().clear();
        pb.environment().putAll(env);
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        pb.directory(dir.toFile());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start " + cmd.get(0) + ": " + e.getMessage());
        }
        OneShot.started(dir, p);
        if (started != null) {
            try {
                started.accept(p);
            } catch (DavitException e) {
                boolean ended = !p.isAlive();
                Host.killTree(p);
                // its output is read by nobody else: the exit status and the line that say why it ended
                throw ended ? new DavitException(e.kind(), e.getMessage() + " (it " + howEnded(p) + ")", e) : e;
            } catch (RuntimeException e) {
                Host.killTree(p);
                throw e;
            }
        }
        if (stdin != null) {
            feed(stdin, p, id);
        }
        long t2 = System.nanoTime();
        CappedSink out = new CappedSink(spec.capture());
        CappedSink err = new CappedSink(spec.capture());
        OutputLimit limit = OutputLimit.of(spec.maxOutput(), () -> Host.killTree(p));
        Thread po = pump(p.getInputStream(), out, stdoutTee, id + "-stdout", limit);
        Thread pe = pump(p.getErrorStream(), err, stderrTee, id + "-stderr", limit);
        boolean timedOut = false;
        int rc;
        try {
            if (spec.timeout() == null) {
                p.waitFor();
            } else if (!p.waitFor(spec.timeout().toNanos(), TimeUnit.NANOSECONDS)) {
                timedOut = true;
                Host.killTree(p);
            }
            rc = p.waitFor();
        } catch (InterruptedException e) {
            Host.killTree(p);
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while sandbox " + id + " ran");
        }
        long t3 = System.nanoTime();
        // Nothing outlives the run without a scan of /proc for p's descendants here (which after p's exit would
        // find none anyway: orphans belong to init): every process of it is in the PID namespace of bwrap or of the
        // OCI runtime, which the kernel empties when the namespace's init ends, and a run with limits also has its
        // cgroups emptied by Cgroups.finish. A timeout or the output limit killed the tree above. The pipes are read
        // to their end (join) before anything closes them, so no output is dropped.
        join(po, p);
        join(pe, p);
        boolean limited = OutputLimit.exceeded(limit);
        return new Raw(limited ? ExecResult.OUTPUT_LIMIT_EXIT_CODE : rc, out.captured(), err.captured(), timedOut && !limited,
                t1, t2, t3, out.truncated() || err.truncated() || limited, limited, List.of());
    }

    /** How {@code p}, which ended, did: its exit status and the first line of its stderr, if any. */
    private static String howEnded(Process p) {
        String line = "";
        try {
            InputStream err = p.getErrorStream(); // what it wrote is all there (it ended): read without waiting
            line = new String(err.readNBytes(Math.min(err.available(), 4096)), StandardCharsets.UTF_8).strip()
                    .lines().findFirst().orElse("");
        } catch (IOException e) {
            // no line then
        }
        return "exited with " + p.exitValue() + (line.isEmpty() ? "" : ": " + line);
    }

    /** The bwrap command line over {@code root} (see {@link MountPoints#prepare}). */
    List<String> arguments(Path bwrap, Path rootfs, MountPoints.Root root, String id, RunSpec spec,
                           List<String> argv, boolean subids) {
        List<String> a = new ArrayList<>();
        a.add(bwrap.toString());
        rootlessNamespaces(a, spec.network().enabled(), subids);
        a.addAll(List.of("--die-with-parent", "--new-session", "--hostname", id));
        rootAndMounts(a, rootfs, root, null, Disk.tmpfsMiB(spec.limits()));
        int[] ids = Users.resolve(rootfs, spec.image().user());
        rootlessUser(a, ids, subids);
        // without root (the jail needs root): bubblewrap's own user namespace, with the default capabilities and
        // davit's seccomp filter all the same
        a.addAll(Jail.capabilityOptions(nonRoot(ids) == null ? 0 : ids[0]));
        a.addAll(List.of("--seccomp", Integer.toString(Jail.SECCOMP_FD)));
        a.add("--clearenv");
        for (Map.Entry<String, String> e : spec.effectiveEnv().entrySet()) {
            a.addAll(List.of("--setenv", e.getKey(), e.getValue()));
        }
        a.addAll(List.of("--chdir", spec.effectiveWorkdir(), "--"));
        a.addAll(argv);
        return subids ? a : Jail.withFilter(Jail.seccompFile(options), a); // Subids.chain opens the filter itself
    }

    /**
     * bwrap's own failures before the command ran look like exit 1 with one {@code bwrap: ...} line on stderr.
     * A missing command becomes 127 and a non-executable one 126 (as in a shell); a missing working directory is
     * a usage error.
     */
    static int interpret(int rc, Captured stderr, RunSpec spec) {
        return interpret(rc, stderr, spec.effectiveWorkdir());
    }

    /** {@link #interpret(int, Captured, RunSpec)} for a command run in {@code workdir} (null: /). */
    /** How util-linux nsenter (2.38) says that {@code --wdns}'s directory cannot be entered (missing, a file). */
    private static final List<String> NSENTER_CHDIR = List.of("nsenter: cannot open current working directory: ",
            "nsenter: change directory by working directory file descriptor failed: ");

    static int interpret(int rc, Captured stderr, String workdir) {
        if (stderr.size() > 4096 || (rc != 1 && rc != 125)) {
            return rc;
        }
        String s = stderr.text();
        if (rc == 125 && s.startsWith("davit: ") && s.indexOf('\n') == s.length() - 1) {
            // a step of davit's before the command ran (Subids.chain): its one line
            throw new DavitException(Kind.INTERNAL, Message.of(s.substring("davit: ".length()).strip()
                    + "; see ", Action.DOCTOR.fix()));
        }
        if (rc == 125 && s.startsWith("davit-exec: Can't chdir to ") && s.indexOf('\n') == s.length() - 1) {
            // davit-exec's exec step, in bubblewrap's words; its 126/127 for a command that cannot be run or found
            // are the command's exit codes already
            s = "bwrap: " + s.substring("davit-exec: ".length());
        } else if (rc == 1 && NSENTER_CHDIR.stream().anyMatch(s::startsWith) && s.indexOf('\n') == s.length() - 1) {
            // nsenter --wdns (a rootless exec without davit-exec): the same failure, met inside the sandbox
            s = "bwrap: Can't chdir to " + workdir;
        } else {
            DavitException failed = Jail.jailFailure(rc, s); // davit-exec failed before the command ran
            if (failed != null) {
                throw failed;
            }
            if (rc != 1 || !s.startsWith("bwrap: ") || s.indexOf('\n') != s.length() - 1) {
                return rc;
            }
        }
        if (s.startsWith("bwrap: execvp ")) {
            return s.contains("Permission denied") ? 126 : 127;
        }
        if (s.startsWith("bwrap: Can't chdir to ")) {
            throw new DavitException(Kind.USAGE, "the working directory " + (workdir == null ? "/" : workdir)
                    + " does not exist in the sandbox");
        }
        throw new DavitException(Kind.INTERNAL, "the sandbox could not be set up: " + s.strip());
    }

    /**
     * Adds bwrap's root and mounts to {@code a}: {@code root} on / (with the skeleton's read-only binds), then
     * /proc (with {@link ProcMasks}), /dev and tmpfs on /tmp, /run and /var/tmp, each where
     * {@link MountPoints#mounted}; a directory of {@code shared} (by target: tmp, run, var/tmp, dev/shm) is bound
     * there instead of a tmpfs (a long-lived sandbox's, which its execs see too).
     */
    public static void rootAndMounts(List<String> a, Path rootfs, MountPoints.Root root, Map<String, Path> shared) {
        rootAndMounts(a, rootfs, root, shared, 0, MountPoints.BWRAP);
    }

    /**
     * {@link #rootAndMounts(List, Path, MountPoints.Root, Map)} of {@code targets} only (of {@link MountPoints#BWRAP},
     * in its order).
     */
    static void rootAndMounts(List<String> a, Path rootfs, MountPoints.Root root, Map<String, Path> shared,
                              List<String> targets) {
        rootAndMounts(a, rootfs, root, shared, 0, targets);
    }

    /**
     * {@link #rootAndMounts(List, Path, MountPoints.Root, Map)}, each tmpfs (and /dev/shm, a tmpfs of its own then)
     * no larger than {@code tmpfsMiB} (0: as the kernel sizes them): a rootless run's disk limit, where davit can
     * mount no disk of the sandbox's own.
     */
    static void rootAndMounts(List<String> a, Path rootfs, MountPoints.Root root, Map<String, Path> shared,
                              long tmpfsMiB) {
        rootAndMounts(a, rootfs, root, shared, tmpfsMiB, MountPoints.BWRAP);
    }

    private static void rootAndMounts(List<String> a, Path rootfs, MountPoints.Root root, Map<String, Path> shared,
                                      long tmpfsMiB, List<String> targets) {
        Map<String, Path> sh = shared == null ? Map.of() : shared;
        List<String> size = tmpfsMiB > 0 ? List.of("--size", Long.toString(tmpfsMiB << 20)) : List.of();
        Path tmp = sh.get("tmp");
        a.addAll(List.of(root.readOnly() ? "--ro-bind" : "--bind", root.path().toString(), "/"));
        for (String b : root.binds()) {
            a.addAll(List.of("--ro-bind", rootfs.resolve(b).toString(), "/" + b));
        }
        if (root.resolv() != null) {
            a.addAll(List.of("--ro-bind", root.resolv().toString(), "/etc/resolv.conf"));
        }
        for (String t : targets) {
            if (!MountPoints.mounted(rootfs, t)) {
                continue;
            }
            switch (t) {
                case "proc" -> {
                    a.addAll(List.of("--proc", "/proc"));
                    a.addAll(ProcMasks.bwrapArguments());
                }
                case "dev" -> {
                    a.addAll(List.of("--dev", "/dev"));
                    if (sh.containsKey("dev/shm")) {
                        a.addAll(List.of("--bind", sh.get("dev/shm").toString(), "/dev/shm"));
                    } else if (tmpfsMiB > 0) {
                        a.addAll(size);
                        a.addAll(List.of("--perms", "1777", "--tmpfs", "/dev/shm"));
                    }
                }
                case "tmp" -> a.addAll(tmp != null ? List.of("--bind", tmp.toString(), "/tmp")
                        : sized(size, "--perms", "1777", "--tmpfs", "/tmp"));
                // world-writable and sticky as on any Linux system, so an image's non-root User can write there
                case "var/tmp" -> a.addAll(sh.containsKey(t) ? List.of("--bind", sh.get(t).toString(), "/var/tmp")
                        : sized(size, "--perms", "1777", "--tmpfs", "/var/tmp"));
                default -> a.addAll(sh.containsKey(t) ? List.of("--bind", sh.get(t).toString(), "/" + t)
                        : sized(size, "--tmpfs", "/" + t));
            }
        }
    }

    /** bubblewrap's {@code --size N} options (maybe none) before {@code tmpfs}'s. */
    private static List<String> sized(List<String> size, String... tmpfs) {
        List<String> a = new ArrayList<>(size);
        a.addAll(List.of(tmpfs));
        return a;
    }

    /** Copies {@code stdin} into the process's standard input until either ends, then closes that pipe. */
    public static void feed(InputStream stdin, Process p, String id) {
        Thread t = new Thread(() -> {
            try (OutputStream to = p.getOutputStream()) {
                byte[] buf = new byte[16384];
                int n;
                while ((n = stdin.read(buf)) >= 0) {
                    to.write(buf, 0, n);
                    to.flush();
                }
            } catch (IOException e) {
                // the command exited without reading all of it (a closed pipe): its exit code tells the rest
            }
        }, id + "-stdin");
        t.setDaemon(true);
        t.start();
    }

    public static Thread pump(InputStream in, CappedSink sink, OutputStream tee, String name) {
        return pump(in, sink, tee, name, null);
    }

    /**
     * Copies {@code in} to {@code sink} and {@code tee} until it ends; with a {@code limit} (may be null), only what
     * its budget allows (the rest is read and dropped, so the writer never blocks while it is being killed).
     */
    public static Thread pump(InputStream in, CappedSink sink, OutputStream tee, String name, OutputLimit limit) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (in) {
                int r;
                while ((r = in.read(buf)) >= 0) {
                    if (limit != null) {
                        limit.pass(buf, r, sink, tee);
                        continue;
                    }
                    sink.write(buf, 0, r);
                    if (tee != null) {
                        try {
                            tee.write(buf, 0, r);
                            tee.flush();
                        } catch (IOException e) {
                            // the tee is best effort; the captured copy is complete
                        }
                    }
                }
            } catch (IOException e) {
                // the process is gone; what was read is kept
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void join(Thread t, Process p) {
        try {
            t.join(TimeUnit.SECONDS.toMillis(10));
            if (t.isAlive()) {
                // something still holds the pipe open: close our end so the pump ends
                p.getInputStream().close();
                p.getErrorStream().close();
                t.join(TimeUnit.SECONDS.toMillis(5));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // closing failed; the daemon thread ends with the JVM
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
