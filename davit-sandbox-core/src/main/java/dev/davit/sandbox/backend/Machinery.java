package dev.davit.sandbox.backend;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.fs.Broker;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.internal.HostFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;

/**
 * What a {@code Sandboxes} (the engine's API, a layer above) holds of the backends: their one-shot runtimes, the
 * long-lived side ({@link Lifecycle}), and what davit's own packages reach beyond that API, as its types are not
 * API (this package is not exported): the backend a run takes, a container sandbox's files opened as a tree davit
 * does not trust, a running microVM's files through its guest agent, a stopped one's disk. Each {@code Sandboxes}
 * makes its own ({@link #owned}); the workspace layer, above it, finds it with {@link #of}.
 */
public final class Machinery {
    /** Each owner's machinery; weak, so an owner no longer used goes with its machinery (which never names it). */
    private static final Map<Object, Machinery> OWNED = Collections.synchronizedMap(new WeakHashMap<>());

    private final List<Backend> runtimes;
    private final Lifecycle lifecycle;

    private Machinery(SandboxOptions options) {
        this.runtimes = Driver.all().stream().flatMap(d -> d.runtimes(options).stream()).toList();
        this.lifecycle = new Lifecycle(options);
    }

    /**
     * The machinery of a new {@code owner} over {@code options}' state directory, found by {@link #of} while the
     * owner is in use.
     *
     * @param owner   the {@code Sandboxes} that holds it (typed Object: that class is a layer above this one); its
     *                identity is the key
     * @param options where state lives and where tools are found
     * @return the new machinery
     * @throws IllegalStateException when {@code owner} has one already
     */
    public static Machinery owned(Object owner, SandboxOptions options) {
        Machinery m = new Machinery(options);
        if (OWNED.putIfAbsent(Objects.requireNonNull(owner, "owner"), m) != null) {
            throw new IllegalStateException("the machinery of " + owner + " is made already");
        }
        return m;
    }

    /**
     * The machinery {@code owner} made ({@link #owned}).
     *
     * @param owner a {@code Sandboxes}
     * @return its machinery
     * @throws IllegalStateException when it has none (not a {@code Sandboxes})
     */
    public static Machinery of(Object owner) {
        Machinery m = OWNED.get(owner);
        if (m == null) {
            throw new IllegalStateException("no sandbox machinery for " + owner);
        }
        return m;
    }

    /**
     * The long-lived sandboxes' state, locks and backends.
     *
     * @return the lifecycle
     */
    public Lifecycle lifecycle() {
        return lifecycle;
    }

    /**
     * The backend that runs {@code spec}: its {@code backend} (default {@code container}) and, for containers, its
     * {@code runtime}, or else the first of the backend's runtimes whose binary is installed.
     *
     * @param spec the run whose {@link RunSpec#backend} and {@link RunSpec#runtime} choose
     * @return the backend; when none is installed, the first, whose run then reports what is missing
     * @throws DavitException USAGE for an unknown backend, or a runtime the backend does not have
     */
    public Backend backend(RunSpec spec) {
        String name = spec.backend() == null ? RunSpec.CONTAINER : spec.backend();
        lifecycle.backend(name); // refuses a backend this davit lacks, naming those there are
        List<Backend> candidates = runtimes.stream().filter(b -> b.name().equals(name)).toList();
        if (spec.runtime() != null && candidates.size() > 1) { // a backend of one runtime takes any name
            // a loop, not a stream: the AOT cache's training names no runtime, so a lambda here was spun at run time
            for (Backend b : candidates) {
                if (b.runtime().equals(spec.runtime())) {
                    return b;
                }
            }
            throw new DavitException(Kind.USAGE, "unknown runtime '" + spec.runtime() + "' for the " + name
                    + " backend; available: " + String.join(", ", candidates.stream().map(Backend::runtime).toList()));
        }
        return candidates.stream().filter(Backend::installed).findFirst()
                .orElse(candidates.get(0)); // the first reports what is missing
    }

    /**
     * Container sandbox {@code id}'s files ({@code Sandboxes.filesOnHost}) opened as the top of a tree davit does not
     * trust, and checked after the open: a running sandbox's keeper must still be the very process (pid and start
     * time) whose {@code /proc/PID/root} was opened, so a pid reused between the status and the open never gives
     * another process's root. Through the backend's helper where it has one ({@link HostFiles.Brokered}).
     *
     * @param id the sandbox's id
     * @return the open tree; close it when done
     * @throws IOException when the directory cannot be opened
     * @throws DavitException as {@code Sandboxes.filesOnHost} does; USAGE when the sandbox stopped while it was opened
     */
    public Dir openFiles(String id) throws IOException {
        Sandbox s = lifecycle.status(id);
        LongLived backend = lifecycle.of(s);
        Path files = backend.filesOnHost(s, lifecycle.dir(id));
        Broker broker = backend instanceof HostFiles.Brokered b ? b.filesBroker(s) : null;
        Dir d = broker == null ? Dir.open(files, "/") : broker.open(files, "/");
        if (s.status() == SandboxStatus.RUNNING && !Host.alive(s.initPid(), s.initStart())) {
            d.close();
            throw new DavitException(Kind.USAGE, "sandbox " + id + " stopped while davit opened its files; start it"
                    + " again and retry");
        }
        return d;
    }

    /**
     * The files of running vm sandbox {@code id}, reached through its guest agent (the twin of {@link #openFiles}
     * for microVMs, whose files are in their disk): put and get tar streams, read, remove, rename, sync.
     *
     * @param id the sandbox's id
     * @return the guest's files, usable while the sandbox runs
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE for a container sandbox (its files are
     *                        on the host) or one that is not running
     */
    public GuestFiles guestFiles(String id) {
        return lifecycle.guestFiles(id);
    }

    /**
     * The disk of vm sandbox {@code id}, which must not be running, read on the host without booting the VM and
     * without mounting its file system; close it when done.
     *
     * @param id the sandbox's id
     * @return a copy of the disk to read; close it to delete the copy
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when it is running or a container
     */
    public OfflineDisk offlineDisk(String id) {
        Sandbox s = lifecycle.status(id);
        if (s.status() == SandboxStatus.RUNNING) {
            throw new DavitException(Kind.USAGE, "sandbox " + id + " is running; its disk is read offline only while"
                    + " it is stopped");
        }
        return lifecycle.of(s).offlineDisk(s, lifecycle.dir(id));
    }

    /**
     * Puts secret lines into running sandbox {@code id} ({@link Lifecycle#injectSecrets}).
     *
     * @param id    the sandbox's id
     * @param lines the lines
     */
    public void injectSecrets(String id, List<String> lines) {
        lifecycle.injectSecrets(id, lines);
    }

    /**
     * The terminal of detached process {@code p} when it is in its sandbox (a pod's: {@link LongLived#terminal}),
     * where the spawn's directory has no {@code output} and {@code input}; null when that directory has them.
     *
     * @param p the process, spawned with a terminal
     * @return its terminal in the sandbox, or null
     */
    public GuestTerminal terminal(dev.davit.sandbox.Spawned p) {
        if (!p.inGuest()) {
            return null;
        }
        Sandbox s;
        try {
            s = lifecycle.status(p.sandbox());
        } catch (DavitException e) {
            if (e.kind() == Kind.NOT_FOUND) {
                return null;
            }
            throw e;
        }
        return lifecycle.of(s).terminal(s.status() == SandboxStatus.RUNNING ? s : null, p);
    }
}
