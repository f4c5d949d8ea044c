package dev.davit.sandbox.container;

import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.backend.LongLived;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.jail.Disk;
import dev.davit.sandbox.jail.IdRange;
import dev.davit.sandbox.jail.Jail;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Long-lived container sandboxes ({@link LongLived}): the start of a keeper, the exec of a command in it, detached
 * commands ({@link Detached}) and the sandbox's files on the host. The core keeps the rest (state, locks, stop, rm,
 * reap).
 *
 * <pre>
 * setsid bwrap --unshare-all [--share-net] --hostname ID --ro-bind ROOTFS / --proc /proc --dev /dev
 *       --bind STATE/tmp /tmp --tmpfs /run --tmpfs /var/tmp --clearenv --setenv PATH ... -- sleep 2147483647
 * davit-exec exec INIT FILTER UID GID CAPS DIR -- ARGV
 * </pre>
 *
 * davit-exec (see {@link Jail#execLauncher}) joins the keeper's namespaces and confines the command as a one-shot
 * run is confined, as root and rootless; only a jar built without it falls back to a bubblewrap of the exec's own
 * (as root) or, rootless, {@code nsenter --target INIT ... -- ARGV} without the filter.
 *
 * The bwrap process is detached (own session, no --die-with-parent) and outlives davit; its pid and that of the
 * sandbox's pid 1 are recorded with their start times, so a pid that was reused is never taken for the sandbox.
 *
 * <p>The work is in this package's {@link Keeper} (the keeper's start), {@link ContainerExec} (a command run in
 * it) and {@link ContainerFiles} (its state directory and files on the host); this class answers for them.
 */
public final class ContainerLifecycle implements LongLived, dev.davit.sandbox.internal.HostFiles.Brokered {
    private final SandboxOptions options;
    private final Detached detached;
    private final ContainerFiles files;
    private final Keeper keeper;
    private final ContainerExec exec;

    ContainerLifecycle(SandboxOptions options, Consumer<Sandbox> save) {
        this.options = options;
        this.detached = new Detached(options, this);
        this.files = new ContainerFiles(options);
        this.keeper = new Keeper(options, save);
        this.exec = new ContainerExec(options);
    }

    // ---- its state directory and files on the host: ContainerFiles ----

    @Override
    public CreateSpec prepare(CreateSpec spec, Path dir) {
        return files.prepare(spec, dir);
    }

    @Override
    public CreateSpec prepareCopy(CreateSpec spec, Path dir) {
        return files.prepareCopy(spec, dir);
    }

    @Override
    public void restoreState(Sandbox s, Path dir, Path from) {
        files.restoreState(s, dir, from);
    }

    @Override
    public long stateBytes(Sandbox s, Path dir) throws IOException {
        return files.stateBytes(s, dir);
    }

    @Override
    public boolean copiesRunning(Sandbox s, Path dir) {
        return files.copiesRunning(s, dir);
    }

    @Override
    public void copyState(Sandbox s, Path dir, Path to) {
        files.copyState(s, dir, to);
    }

    /** See {@link ContainerFiles#ownOnly}. */
    static void ownOnly(Path dir) throws IOException {
        ContainerFiles.ownOnly(dir);
    }

    @Override
    public Path filesOnHost(Sandbox s, Path dir) {
        return files.filesOnHost(s, dir);
    }

    @Override
    public dev.davit.sandbox.Changes changes(Sandbox s, Path dir, dev.davit.oci.build.LayerWriter out,
                                             dev.davit.sandbox.Changes.Rewrite rewrite) {
        return files.changes(s, dir, out, rewrite);
    }

    @Override
    public dev.davit.sandbox.Changes savedChanges(Sandbox s, Path saved, dev.davit.oci.build.LayerWriter out,
                                                  dev.davit.sandbox.Changes.Rewrite rewrite) {
        return files.savedChanges(s, saved, out, rewrite);
    }

    @Override
    public int[] hostOwner(Sandbox s) {
        return files.hostOwner(s);
    }

    @Override
    public dev.davit.sandbox.fs.Broker filesBroker(Sandbox s) {
        return files.filesBroker(s);
    }

    // ---- the running keeper ----

    /** Frozen in place by its cgroup's freezer ({@link dev.davit.sandbox.backend.Freezer}); it stays running. */
    @Override
    public Sandbox pause(Sandbox s, Path dir) {
        dev.davit.sandbox.backend.Freezer.freeze(s.id(), dir);
        return s;
    }

    @Override
    public boolean paused(Sandbox s, Path dir) {
        return dev.davit.sandbox.backend.Freezer.paused(dir);
    }

    @Override
    public Sandbox resume(Sandbox s, Path dir) {
        dev.davit.sandbox.backend.Freezer.thaw(dir);
        return s;
    }

    /** Its agent's idle link in this process, closed (the agent ends with the sandbox). */
    @Override
    public void release(Sandbox s, Path dir) {
        ContainerAgent.forget(dir);
    }

    @Override
    public void dropPause(Sandbox s, Path dir) {
        if (dev.davit.sandbox.backend.Freezer.paused(dir)) {
            dev.davit.sandbox.backend.Freezer.thaw(dir);
        }
    }

    /** Its memory cgroup's count (none without limits). */
    @Override
    public long oomKills(Sandbox s, Path dir) {
        if (!s.spec().limits().any()) {
            return 0;
        }
        try {
            return Cgroups.existing(s.id(), dir, s.spec().limits()).oomKills();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /** Its keeper's processes are there; a disk a killed davit left frozen is thawed on the way (execs wait on it). */
    @Override
    public boolean up(Sandbox s) {
        Disk.thawLeftover(options, dir(s));
        return Host.alive(s.bwrapPid(), s.bwrapStart()) && Host.alive(s.initPid(), s.initStart());
    }

    /** As the host reads it through the keeper's pid 1 (no tool needed in the image). */
    @Override
    public String procNet(Sandbox s, String name) throws IOException {
        return Files.readString(Path.of("/proc", Long.toString(s.initPid()), "net", name));
    }

    @Override
    public Spawned spawn(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Path dir,
                         boolean terminal) {
        return detached.spawn(s, argv, env, workdir, dir, terminal);
    }

    /** Its holder is a host process: alive or not whether the sandbox runs. */
    @Override
    public boolean alive(Sandbox running, Spawned p) {
        return Detached.alive(p);
    }

    @Override
    public boolean signal(Sandbox running, Spawned p, String signal, boolean foreground) {
        return detached.signal(p, signal, foreground);
    }

    @Override
    public void terminate(Sandbox running, Spawned p, Duration grace) {
        detached.terminate(p, grace);
    }

    private Path dir(Sandbox s) {
        return options.stateDir().resolve(s.id());
    }

    // ---- the keeper's start: Keeper ----

    @Override
    public Sandbox start(Sandbox s) {
        return keeper.start(s);
    }

    /** See {@link Keeper#shareScratch}. */
    static Map<String, Path> shareScratch(Path state, IdRange range, Map<String, Path> binds, boolean keepTmp)
            throws IOException {
        return Keeper.shareScratch(state, range, binds, keepTmp);
    }

    // ---- a command run in the keeper: ContainerExec ----

    @Override
    public ExecResult exec(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Duration timeout,
                           long maxOutput, int capture, java.io.InputStream stdin, java.io.OutputStream stdoutTee,
                           java.io.OutputStream stderrTee, long t0) {
        return exec.exec(s, argv, env, workdir, timeout, maxOutput, capture, stdin, stdoutTee, stderrTee, t0);
    }

    /**
     * A process builder for {@code argv} run in running container sandbox {@code s} as an exec runs (see
     * {@link ContainerExec#enter(Sandbox, List, Map, String, Cgroups.Cgroup)}). Nothing is started.
     */
    public ProcessBuilder enter(Sandbox s, List<String> argv, Map<String, String> env, String workdir,
                                Cgroups.Cgroup cg) {
        return exec.enter(s, argv, env, workdir, cg);
    }

    /**
     * {@link #enter}; with {@code terminal} the command keeps the caller's session (its terminal becomes the
     * command's), else it gets a session of its own.
     */
    public ProcessBuilder enter(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Cgroups.Cgroup cg,
                                boolean terminal) {
        return exec.enter(s, argv, env, workdir, cg, terminal);
    }
}
