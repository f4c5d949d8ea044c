package dev.davit.sandbox.backend;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.host.Host;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Long-lived sandboxes of every backend: state, locks, stop, rm, reap. A backend's start, exec and the rest are its
 * {@link LongLived} (from its {@link Driver}). State lives in {@code <stateDir>/<id>/state.json} (written
 * atomically), so a new instance (a later davit) sees the same sandboxes. A running sandbox's processes are
 * recorded with their start times, so a pid that was reused is never taken for the sandbox.
 */
public final class Lifecycle {
    static final String STATE_FILE = "state.json";
    static final String LIFECYCLE_LOCK = "lifecycle.lock";
    private static final Pattern ID = Pattern.compile("sbx-[0-9a-f]{12}");

    private final SandboxOptions options;
    private final Map<String, LongLived> backends = new java.util.LinkedHashMap<>();

    public Lifecycle(SandboxOptions options) {
        this.options = options;
        for (Driver d : Driver.all()) {
            backends.put(d.name(), d.longLived(options, this::save));
        }
    }

    /** The long-lived side of backend {@code name} (one of {@link Driver#all}'s). */
    public LongLived backend(String name) {
        LongLived b = backends.get(name);
        if (b == null) {
            throw new DavitException(Kind.USAGE, "unknown backend '" + name + "'; available: "
                    + String.join(", ", backends.keySet()));
        }
        return b;
    }

    /** The long-lived side of sandbox {@code s}'s backend. */
    public LongLived of(Sandbox s) {
        return backend(s.spec().backend());
    }

    public Sandbox create(CreateSpec spec) {
        String id = "sbx-" + dev.davit.oci.internal.RandomHex.of(6);
        Path dir = options.stateDir().resolve(id);
        CreateSpec resolved = backend(spec.backend()).prepare(spec, dir);
        Sandbox s = new Sandbox(id, SandboxStatus.CREATED, resolved, Instant.now(), null, 0, 0, 0, 0);
        save(s);
        return s;
    }

    /**
     * A new sandbox, created, with sandbox {@code id}'s spec (no published ports: the host ports are the
     * original's; the ttl {@code ttl}) and a copy of what it wrote ({@link LongLived#copyState}).
     */
    public Sandbox fork(String id, Duration ttl) {
        return fork(id, ttl, 1).get(0);
    }

    /**
     * {@code count} copies of sandbox {@code id} ({@link #fork(String, Duration)}): the first copied from it under its
     * lock (its disk frozen or its VM held once), the others from that first copy at once, in parallel (it is not
     * running: nothing holds still for them). All are made or none.
     */
    public List<Sandbox> fork(String id, Duration ttl, int count) {
        Sandbox first = locked(id, () -> {
            Sandbox from = status(id);
            dev.davit.sandbox.jail.Disk.thawLeftover(options, dir(id));
            if (from.status() == SandboxStatus.FAILED) {
                throw new DavitException(Kind.USAGE, "sandbox " + id + " has failed (its processes are gone); start"
                        + " it again before copying it");
            }
            return copy(from, from.spec().withPublish(List.of()).withTtl(ttl));
        });
        List<Sandbox> made = new java.util.concurrent.CopyOnWriteArrayList<>(List.of(first));
        if (count > 1) {
            List<java.util.concurrent.Future<Sandbox>> more = new ArrayList<>();
            try (java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors
                    .newVirtualThreadPerTaskExecutor()) {
                for (int i = 1; i < count; i++) {
                    more.add(pool.submit(() -> {
                        Sandbox s = copy(first, first.spec());
                        made.add(s);
                        return s;
                    }));
                }
            }
            try {
                for (java.util.concurrent.Future<Sandbox> f : more) {
                    f.get();
                }
            } catch (java.util.concurrent.ExecutionException | InterruptedException
                     | java.util.concurrent.CancellationException e) {
                // a cancelled copy too: an interrupt while the pool closed stops its tasks, and their futures then
                // throw CancellationException, which must not leave the copies made so far without a workspace
                boolean interrupted = e instanceof InterruptedException | Thread.interrupted();
                for (Sandbox s : made) {
                    try {
                        rm(s.id());
                    } catch (RuntimeException ignored) {
                        // its ttl lets a reap remove it
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
                Throwable c = e.getCause();
                throw c instanceof RuntimeException r ? r : new DavitException(Kind.CANCELLED,
                        "interrupted while sandbox " + id + " was copied");
            }
        }
        List<Sandbox> ordered = new ArrayList<>(List.of(first));
        made.stream().filter(s -> s != first).forEach(ordered::add);
        return ordered;
    }

    /** A new sandbox of {@code spec}, created, with a copy of what {@code from} wrote. */
    private Sandbox copy(Sandbox from, CreateSpec spec) {
        String copy = "sbx-" + dev.davit.oci.internal.RandomHex.of(6);
        Path dir = options.stateDir().resolve(copy);
        LongLived b = of(from);
        try {
            CreateSpec resolved = b.prepareCopy(spec, dir);
            b.copyState(from, dir(from.id()), dir);
            Sandbox s = new Sandbox(copy, SandboxStatus.CREATED, resolved, Instant.now(), null, 0, 0, 0, 0);
            save(s);
            return s;
        } catch (RuntimeException e) {
            try {
                dev.davit.sandbox.jail.Disk.release(options, dir);
                Fs.deleteTree(dir);
            } catch (IOException | RuntimeException ignored) {
                // what is left is no sandbox (no state file); the error below matters more
            }
            throw e;
        }
    }

    /**
     * Copies what sandbox {@code id} wrote into directory {@code dest} (made, and laid out as a state directory),
     * as {@link #fork} copies it, under its lock.
     */
    public void saveState(String id, Path dest) {
        locked(id, () -> {
            Sandbox s = status(id);
            dev.davit.sandbox.jail.Disk.thawLeftover(options, dir(id));
            if (s.status() == SandboxStatus.FAILED) {
                throw new DavitException(Kind.USAGE, "sandbox " + id + " has failed (its processes are gone); start"
                        + " it again before copying it");
            }
            try {
                Files.createDirectories(dest);
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot create " + dest + ": " + e.getMessage());
            }
            of(s).copyState(s, dir(id), dest);
            return null;
        });
    }

    /**
     * Replaces what stopped (or created) sandbox {@code id} wrote with what {@link #saveState} saved in {@code from},
     * under its lock: a crash leaves the old state or the new one.
     */
    public void restoreState(String id, Path from) {
        locked(id, () -> {
            Sandbox s = status(id);
            if (s.status() == SandboxStatus.RUNNING) {
                throw new DavitException(Kind.USAGE, "sandbox " + id + " is running; stop it before its state is"
                        + " restored");
            }
            kill(s); // what a failed one left
            of(s).restoreState(s, dir(id), from);
            return null;
        });
    }

    /** See {@code Sandboxes.changes}: under its lock, so no start, stop or restore runs meanwhile. */
    public dev.davit.sandbox.Changes changes(String id, dev.davit.oci.build.LayerWriter out,
                                             dev.davit.sandbox.Changes.Rewrite rewrite) {
        return locked(id, () -> {
            Sandbox s = status(id);
            if (s.status() == SandboxStatus.FAILED) {
                throw new DavitException(Kind.USAGE, "sandbox " + id + " has failed (its processes are gone); start"
                        + " it again before its changes are read");
            }
            return of(s).changes(s, dir(id), out, rewrite);
        });
    }

    /** See {@code Sandboxes.savedChanges}: under the sandbox's lock. */
    public dev.davit.sandbox.Changes savedChanges(String id, Path saved, dev.davit.oci.build.LayerWriter out,
                                                  dev.davit.sandbox.Changes.Rewrite rewrite) {
        return locked(id, () -> {
            Sandbox s = status(id);
            return of(s).savedChanges(s, saved, out, rewrite);
        });
    }

    /** See {@code Sandboxes.stateBytes}. */
    public long stateBytes(String id) {
        Sandbox s = status(id);
        try {
            return of(s).stateBytes(s, dir(id));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot count what sandbox " + id + " holds: " + e.getMessage());
        }
    }

    /** See {@code Sandboxes.pause}. */
    public Sandbox pause(String id) {
        return locked(id, () -> {
            Sandbox s = status(id);
            LongLived b = of(s);
            if (b.paused(s, dir(id))) {
                return s;
            }
            if (s.status() != SandboxStatus.RUNNING) {
                throw new DavitException(Kind.USAGE, "sandbox " + id + " is " + s.status().label() + ", not running;"
                        + " only a running sandbox is paused");
            }
            Sandbox after = b.pause(s, dir(id));
            if (after.status() != SandboxStatus.RUNNING) {
                kill(s); // its state is saved: what runs of it goes, and its memory with it
            }
            save(after);
            return after;
        });
    }

    /** See {@code Sandboxes.resume}. */
    public Sandbox resume(String id) {
        return locked(id, () -> {
            Sandbox s = status(id);
            LongLived b = of(s);
            if (!b.paused(s, dir(id))) {
                throw new DavitException(Kind.USAGE, "sandbox " + id + " is not paused");
            }
            if (s.status() == SandboxStatus.FAILED) {
                kill(s);
            }
            return b.resume(s, dir(id));
        });
    }

    /** Refuses to run anything in paused sandbox {@code s} (it would freeze as it joins the sandbox's cgroup). */
    public void refusePaused(Sandbox s) {
        if (Freezer.paused(dir(s.id()))) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("sandbox " + s.id() + " is paused; resume"
                    + " it first (", dev.davit.oci.Action.RESUME_SANDBOX.fix(s.id()), ")")
                    .about(dev.davit.oci.Subject.Type.SANDBOX, s.id()));
        }
    }

    /** See {@code Sandboxes.paused}. */
    public boolean paused(Sandbox s) {
        return of(s).paused(s, dir(s.id()));
    }

    /** See {@code Sandboxes.failure}. */
    public String failure(Sandbox s) {
        return s.status() == SandboxStatus.FAILED ? of(s).failure(s, dir(s.id())) : null;
    }

    public Sandbox start(String id) {
        Sandbox s = locked(id, () -> startLocked(id));
        try {
            trust(s);
        } catch (RuntimeException e) {
            try {
                stop(id); // not left running without what the operator asked it to trust
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
        return s;
    }

    /**
     * The operator's CA certificates ({@link dev.davit.sandbox.TrustedCas}) into running sandbox {@code s}'s trust
     * store, by an exec in it (once: the set's mark is looked for first); nothing without any.
     */
    private void trust(Sandbox s) {
        dev.davit.sandbox.TrustedCas cas = options.trustedCas();
        if (cas.isEmpty()) {
            return;
        }
        ExecResult r = exec(s.id(), cas.command(s.spec().filesInGuest()), Map.of(), "/", Duration.ofSeconds(30),
                new java.io.ByteArrayInputStream(cas.blocks()), null, null);
        if (r.exitCode() != 0) {
            // what the sandbox printed is not repeated: it is the sandbox's, and may hold a workspace's secret
            throw new DavitException(Kind.USAGE, "cannot add the operator's " + cas.size() + " CA certificates ("
                    + cas.source() + ") to the trust store of sandbox " + s.id() + " (" + (r.exitCode() == 124
                    ? "timed out after 30 s" : "exit code " + r.exitCode()) + "); it was stopped. Its image needs"
                    + " /bin/sh and cat, and its user must be able to write /etc/ssl/certs (root)");
        }
    }

    private Sandbox startLocked(String id) {
        Sandbox s = status(id);
        if (s.status() == SandboxStatus.RUNNING) {
            return s;
        }
        if (s.status() == SandboxStatus.FAILED) {
            kill(s); // whatever is left of it
        }
        PortMapping.checkFree(s.spec().publish()); // a taken host port fails now, before anything starts
        return of(s).start(s);
    }

    /** The files of running sandbox {@code id} whose files are not on the host, through its agent. */
    public GuestFiles guestFiles(String id) {
        Sandbox s = status(id);
        GuestFiles files = of(s).guestFiles(s); // a container refuses: its files are on the host
        if (s.status() != SandboxStatus.RUNNING) {
            throw new DavitException(Kind.USAGE, "sandbox " + id + " is " + s.status().label() + ", not running;"
                    + " start it first");
        }
        return files;
    }

    public ExecResult exec(String id, List<String> argv, Map<String, String> env, String workdir, Duration timeout,
                           java.io.InputStream stdin, java.io.OutputStream stdoutTee, java.io.OutputStream stderrTee) {
        return exec(id, argv, env, workdir, timeout, 0, ExecResult.MAX_CAPTURED_BYTES, stdin, stdoutTee, stderrTee);
    }

    public ExecResult exec(String id, List<String> argv, Map<String, String> env, String workdir, Duration timeout,
                           long maxOutput, int capture, java.io.InputStream stdin, java.io.OutputStream stdoutTee,
                           java.io.OutputStream stderrTee) {
        long t0 = System.nanoTime();
        if (argv == null || argv.isEmpty()) {
            throw new DavitException(Kind.USAGE, "give a command to run");
        }
        Sandbox s = status(id);
        if (s.status() != SandboxStatus.RUNNING) {
            throw new DavitException(Kind.USAGE, "sandbox " + id + " is " + s.status().label() + ", not running");
        }
        refusePaused(s);
        // maxOutput and capture were checked where they were given: an ExecSpec's, or the workspace's own
        return of(s).exec(s, argv, env, workdir, timeout, maxOutput, capture, stdin, stdoutTee, stderrTee, t0);
    }

    public Sandbox stop(String id) {
        return locked(id, () -> stopLocked(id));
    }

    private Sandbox stopLocked(String id) {
        Sandbox s = status(id);
        dev.davit.sandbox.jail.Disk.thawLeftover(options, dir(id)); // its processes may wait on a frozen disk
        of(s).dropPause(s, dir(id)); // a stop ends its processes: paused ones too
        DavitException unsaved = null;
        if (s.status() == SandboxStatus.RUNNING) {
            try {
                of(s).beforeStop(s); // e.g. a vm flushes its guest's disk: its overlay is kept for the next start
            } catch (LongLived.Unsaved e) {
                // a sandbox that keeps its save from working (a pod's files it refuses to give) is stopped all the
                // same: a stop is how its user takes the machine back from it
                unsaved = e;
            }
        }
        kill(s);
        if (s.status() == SandboxStatus.RUNNING || s.status() == SandboxStatus.FAILED) {
            s = new Sandbox(id, SandboxStatus.STOPPED, s.spec(), s.createdAt(), s.startedAt(), 0, 0, 0, 0);
            save(s);
        }
        if (unsaved != null) {
            throw new DavitException(unsaved.kind(), "sandbox " + id + " is stopped, but " + unsaved.getMessage());
        }
        return s;
    }

    /** See {@code Sandboxes.expireAfter}. */
    public Sandbox expireAfter(String id, Duration ttl) {
        return locked(id, () -> {
            Sandbox s = status(id);
            Duration t = ttl == null ? null : Duration.between(s.createdAt(), Instant.now()).plus(ttl);
            Sandbox changed = s.withSpec(s.spec().withTtl(t));
            save(changed);
            of(changed).retimed(changed, dir(id));
            return changed;
        });
    }

    /** See {@code Sandboxes.env}. */
    public Sandbox env(String id, java.util.function.UnaryOperator<java.util.Map<String, String>> change) {
        return locked(id, () -> {
            Sandbox s = status(id);
            Sandbox changed = s.withSpec(s.spec().withEnv(change.apply(new java.util.LinkedHashMap<>(
                    s.spec().env()))));
            save(changed);
            return changed;
        });
    }

    /** See {@code Sandboxes.network}. */
    public Sandbox network(String id, dev.davit.sandbox.EgressPolicy policy) {
        return network(id, now -> policy);
    }

    /** See {@code Sandboxes.network}. */
    public Sandbox network(String id, java.util.function.UnaryOperator<dev.davit.sandbox.EgressPolicy> change) {
        return locked(id, () -> {
            Sandbox s = status(id);
            if (s.spec().network().mode() != dev.davit.sandbox.Network.Mode.POLICY) {
                throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("sandbox " + id + " has no egress policy"
                        + " (its network is " + s.spec().network().label() + "); only a sandbox made with one (",
                        dev.davit.oci.Input.ALLOW_HOST, ") can change it"));
            }
            dev.davit.sandbox.EgressPolicy policy = change.apply(s.spec().network().egress());
            Sandbox changed = s.withSpec(s.spec().withNetwork(dev.davit.sandbox.Network.policy(policy)));
            save(changed);
            if (s.status() == SandboxStatus.RUNNING) {
                try {
                    of(s).egressPolicy(s, dir(id), policy);
                } catch (RuntimeException e) {
                    save(s); // the gate kept the old one: so does the record
                    throw e;
                }
            }
            return changed;
        });
    }

    /**
     * Gives the egress gate of running sandbox {@code id} the secrets it adds to HTTPS requests (see
     * {@link Egress#inject}).
     *
     * @param id    the sandbox's id
     * @param lines the gate's message
     * @throws DavitException NOT_FOUND when there is no such sandbox; USAGE when its network has no egress policy;
     *                        STATE when it is not running
     */
    public void injectSecrets(String id, java.util.List<String> lines) {
        Sandbox s = status(id);
        if (s.spec().network().mode() != dev.davit.sandbox.Network.Mode.POLICY) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("sandbox " + id + " has no egress policy"
                    + " (its network is " + s.spec().network().label() + "); secrets are injected by the gate of one"
                    + " made with an egress policy (", dev.davit.oci.Input.ALLOW_HOST, ")"));
        }
        of(s).egressSecrets(s, dir(id), lines);
    }

    /** See {@code Sandboxes.egressDenials}. */
    public java.util.List<String> egressDenials(String id) {
        Sandbox s = status(id);
        return of(s).egressDenials(s, dir(id));
    }

    public void rm(String id) {
        locked(id, () -> {
            Sandbox s = status(id);
            dev.davit.sandbox.jail.Disk.thawLeftover(options, dir(id));
            kill(s);
            dev.davit.sandbox.jail.Disk.release(options, dir(id)); // its disk's mount, before its files go
            try {
                Fs.deleteTree(dir(id));
            } catch (IOException e) {
                // rootless: what an image User wrote belongs to one of the user's subordinate ids
                dev.davit.sandbox.jail.Subids.deleteTree(options, dir(id));
                if (Files.exists(dir(id), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    throw new DavitException(Kind.STORE, "cannot delete " + dir(id) + ": " + e.getMessage());
                }
            }
            return null;
        });
    }

    /**
     * Runs {@code action} holding the sandbox's lifecycle lock ({@code <dir>/lifecycle.lock}, across processes and
     * threads: {@link FileLocks}), so two davits starting, stopping or removing one sandbox at once act one after the
     * other: one keeper, one state. An unknown id is NOT_FOUND, as without the lock.
     */
    private <T> T locked(String id, java.util.function.Supplier<T> action) {
        status(id); // NOT_FOUND before anything is created
        Path d = dir(id);
        try {
            return FileLocks.holding(d.resolve(LIFECYCLE_LOCK), action);
        } catch (NoSuchFileException e) {
            throw new DavitException(Kind.NOT_FOUND, "no sandbox " + id);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot lock " + d.resolve(LIFECYCLE_LOCK) + ": " + e.getMessage());
        }
    }

    /** The recorded state, with RUNNING turned into FAILED when its processes are gone or their pids reused. */
    public Sandbox status(String id) {
        return find(id).orElseThrow(() -> new DavitException(Kind.NOT_FOUND, "no sandbox " + id));
    }

    Optional<Sandbox> find(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            return Optional.empty();
        }
        Path f = dir(id).resolve(STATE_FILE);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + f + ": " + e.getMessage());
        }
        Sandbox s;
        LongLived b;
        try {
            s = dev.davit.sandbox.internal.SandboxJson.sandbox(Json.read(bytes));
            b = backend(s.spec().backend()); // a backend this davit lacks: as a CreateSpec refused it
        } catch (IOException | RuntimeException e) {
            throw new DavitException(Kind.STORE, "the state file " + f + " is corrupt: " + e.getMessage());
        }
        if (s.status() == SandboxStatus.RUNNING && !s.equals(CHECKED.get()) && !b.up(s)) {
            s = s.withStatus(SandboxStatus.FAILED);
        }
        return Optional.of(s);
    }

    /** The running sandbox whose processes this thread's operation found up already ({@link #checkedOnce}). */
    private static final ThreadLocal<Sandbox> CHECKED = new ThreadLocal<>();

    /**
     * Runs {@code op} on this thread with running sandbox {@code s}'s processes taken as up while its record stays
     * as {@code s} (a restart makes another): one operation of a layer above asks the backend once (on k8s a GET of
     * the pod; an exec asked twice, its caller's check and its own).
     *
     * @param s  the sandbox as {@link #status} returned it just before, running
     * @param op the operation
     * @return what it returned
     */
    public static <T> T checkedOnce(Sandbox s, java.util.function.Supplier<T> op) {
        Sandbox before = CHECKED.get();
        CHECKED.set(s.status() == SandboxStatus.RUNNING ? s : null);
        try {
            return op.get();
        } finally {
            CHECKED.set(before);
        }
    }

    public List<Sandbox> list() {
        List<Sandbox> out = new ArrayList<>();
        if (!Files.isDirectory(options.stateDir())) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(options.stateDir())) {
            for (Path d : dirs.sorted().toList()) {
                find(d.getFileName().toString()).ifPresent(out::add);
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot list " + options.stateDir() + ": " + e.getMessage());
        }
        out.sort(java.util.Comparator.comparing(Sandbox::createdAt).thenComparing(Sandbox::id));
        return out;
    }

    /** Removes sandboxes whose ttl has passed and failed ones, except those of {@code keep}; returns them. */
    public List<Sandbox> reap(java.util.Set<String> keep) {
        Instant now = Instant.now();
        List<Sandbox> removed = new ArrayList<>();
        for (Sandbox s : list()) {
            if (!keep.contains(s.id()) && (s.expired(now) || s.status() == SandboxStatus.FAILED)) {
                try {
                    rm(s.id());
                    removed.add(s);
                } catch (DavitException e) {
                    if (e.kind() != Kind.NOT_FOUND) {
                        throw e;
                    }
                    // another davit removed it first
                }
            }
        }
        return removed;
    }

    /**
     * Kills the sandbox's processes if they are still the recorded ones: pid 1 first (takes its pid namespace), or
     * its QEMU.
     */
    void kill(Sandbox s) {
        if (Freezer.paused(dir(s.id()))) {
            Freezer.thaw(dir(s.id())); // a frozen process cannot die (a paused microVM's memory is kept: see pause)
        }
        List<ProcessHandle> victims = new ArrayList<>();
        if (Host.alive(s.qemuPid(), s.qemuStart())) {
            ProcessHandle.of(s.qemuPid()).ifPresent(victims::add);
        }
        if (Host.alive(s.initPid(), s.initStart())) {
            ProcessHandle.of(s.initPid()).ifPresent(victims::add);
        }
        if (Host.alive(s.bwrapPid(), s.bwrapStart())) {
            ProcessHandle.of(s.bwrapPid()).ifPresent(victims::add);
        }
        // what runs inside (execs' background processes are reparented to pid 1): gone with its pid namespace, but
        // the kernel kills them after pid 1, so they are waited for too
        List<ProcessHandle> inside = victims.stream().flatMap(ProcessHandle::descendants).toList();
        victims.forEach(ProcessHandle::destroyForcibly);
        Nat.stop(dir(s.id())); // a NAT sandbox's slirp4netns
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && (Host.alive(s.initPid(), s.initStart())
                || Host.alive(s.bwrapPid(), s.bwrapStart()) || Host.alive(s.qemuPid(), s.qemuStart())
                || inside.stream().anyMatch(Host::running))) {
            sleep(10);
        }
        // and what is left in its cgroup (a container's exec's processes; a microVM's QEMU)
        Cgroups.removeRecorded(dir(s.id()));
        of(s).release(s, dir(s.id())); // what it holds elsewhere (a k8s sandbox's pod)
    }

    void save(Sandbox s) {
        Path d = dir(s.id());
        try {
            Fs.writeAtomically(d.resolve(STATE_FILE), Json.bytes(dev.davit.sandbox.internal.SandboxJson.sandbox(s)), d);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write the state of sandbox " + s.id() + ": " + e.getMessage());
        }
    }

    public Path dir(String id) {
        return options.stateDir().resolve(id);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted");
        }
    }
}
