package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.backend.LongLived;
import dev.davit.sandbox.vm.VmProcesses;
import io.fabric8.kubernetes.api.model.Pod;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Long-lived sandboxes as pods: a start makes the sandbox's pod (its environment pushed to the cluster's registry
 * first), a stop or removal deletes it. What a sandbox wrote is saved on this host before a stop or pause and when it
 * is copied (a fork, a snapshot of the whole sandbox), and restored into its next pod ({@link PodState}). Commands,
 * files and detached processes (services, background execs, shells) are requests to the pod's davit-agent on a link
 * this process holds ({@link PodExec}, {@link PodFiles}; detached ones through {@link VmProcesses}, as in a microVM).
 */
final class K8sLifecycle implements LongLived {
    /** A paused sandbox's mark in its state directory: its pod is gone, its files saved ({@link #pause}). */
    private static final String PAUSED = "pod-paused"; // not Freezer's "paused", which a kill thaws
    /** The UID of the pod the last start made: a pod of the sandbox's name with another UID is not its pod. */
    static final String POD_UID = "k8s-pod-uid";
    /** The namespace of the pod the last start made: the sandbox is reached there or not at all. */
    static final String POD_NAMESPACE = "k8s-namespace";
    /** The name of the pod a claim from a warm pool gave the last start (its pool's); none: the sandbox's own. */
    static final String POD_NAME = "k8s-pod-name";
    /** The mark of a start that claims from a warm pool, made before the claim: a removal deletes the claim too. */
    static final String CLAIM = "k8s-claim";
    private final SandboxOptions options;
    private final Consumer<Sandbox> save;
    private final VmProcesses processes;

    K8sLifecycle(SandboxOptions options, Consumer<Sandbox> save) {
        this.options = options;
        this.save = save;
        this.processes = new VmProcesses(options, false, s -> PodFiles.links(ref(s)), s -> PodFiles.of(ref(s)));
    }

    @Override
    public CreateSpec prepare(CreateSpec spec, Path dir) {
        refuseUnsupported(spec.publish().isEmpty(), spec.network().enabled() && !gated(spec.network()),
                spec.scratchInLayer());
        refusePids(spec.limits());
        long[] user = Pods.imageUser(spec.rootfs(), spec.image()); // an unknown user refused before anything is made
        if (gated(spec.network())) {
            PodGates.refuseGateUser(user); // as an image whose user is the gate's
        }
        try {
            java.nio.file.Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new DavitException(Kind.STORE, "cannot create the sandbox directory " + dir + ": "
                    + e.getMessage());
        }
        return spec;
    }

    /**
     * Refuses a process limit: Kubernetes has none per pod (its node's kubelet bounds every pod's, {@code
     * podPidsLimit}), and a limit the cluster does not enforce is not given silently.
     */
    static void refusePids(dev.davit.sandbox.Limits limits) {
        if (limits.pids() != 0) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of(dev.davit.oci.Input.PIDS, " is not"
                    + " enforced on the k8s backend: a pod's processes are bounded by its node's kubelet"
                    + " (podPidsLimit, docs/reference/KUBERNETES.md); leave it out"));
        }
    }

    /**
     * A copy's spec is davit's own record, not a caller's ask: a process limit recorded before the k8s backend refused
     * one (its old default) is dropped rather than refused.
     */
    @Override
    public CreateSpec prepareCopy(CreateSpec spec, Path dir) {
        dev.davit.sandbox.Limits l = spec.limits();
        return prepare(l.pids() == 0 ? spec : spec.withLimits(new dev.davit.sandbox.Limits(l.memoryMiB(), l.cpus(), 0,
                l.diskMiB())), dir);
    }

    static void refuseUnsupported(boolean noPublish, boolean network, boolean scratchInLayer) {
        if (!noPublish) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of(dev.davit.oci.Input.PUBLISH, " is not"
                    + " available on the k8s backend yet; reach a sandbox's port with kubectl port-forward"));
        }
        if (network) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("the k8s backend gives a sandbox a network"
                    + " only through an egress policy (", dev.davit.oci.Input.ALLOW_HOST, ", ",
                    dev.davit.oci.Input.ALLOW_CIDR, ": davit's egress gate in its pod); give one instead of ",
                    dev.davit.oci.Input.NETWORK, ", or use the container backend"));
        }
        if (scratchInLayer) {
            throw new DavitException(Kind.USAGE, "the k8s backend gives every sandbox its own /tmp; the root"
                    + " filesystem's own scratch directories are for the container backend only");
        }
    }

    @Override
    public Sandbox start(Sandbox s) {
        Path dir = options.stateDir().resolve(s.id());
        // a paused one's suspended Sandbox is where its pod was (and an interrupted start's claim where it was made);
        // a stopped one's pod is gone, it starts anywhere
        boolean claimLeft = java.nio.file.Files.exists(dir.resolve(CLAIM));
        Cluster c = claimLeft || java.nio.file.Files.exists(dir.resolve(PAUSED)) ? cluster(s) : Cluster.get();
        Path home = home(options);
        if (claimLeft) {
            // a start killed after its claim (or a pause that did not end it): its claim, Sandbox and pod go first
            AgentClaims.deleteAndAwait(c, Pods.name(s.id()));
            unmark(dir, CLAIM);
            unmark(dir, POD_NAME);
        }
        // where its pod will be, recorded before anything is made there (a removal looks there, or refuses)
        mark(dir, POD_NAMESPACE, c.settings.namespace());
        // recorded running only once its pod runs: meanwhile it is still created (a davit killed in between leaves
        // a created sandbox whose stop or rm deletes the pod by name), and a reap never takes a pod that is still
        // pulling its image for a failed one
        Pods.Gate gate = gated(s.spec().network()) ? PodGates.of(c, home, s.spec().network().egress(), options)
                : null;
        PodLife.Plan plan = plan(options, c, s.spec(), gate, deadline(s), java.nio.file.Files.exists(dir.resolve(
                PAUSED)));
        boolean asSandbox = AgentSandbox.use(c);
        // a kind this process keeps warm (keepWarm) is claimed from its pool: no pod starts
        Pod own = asSandbox && gate == null && !c.pools.isEmpty() ? Pods.sandbox(c.settings, s.id(),
                Pods.homeLabel(home), plan) : null;
        String pool = own == null ? null : AgentClaims.pool(c, own);
        if (pool != null) {
            mark(dir, CLAIM, pool);
        }
        String claimed = pool == null ? null : AgentClaims.claim(c, own, pool, plan.shutdown(),
                PodLife.START_SECONDS);
        if (pool != null && claimed == null) { // its pool deleted behind this process's back: started as without
            unmark(dir, CLAIM);
            pool = null;
        }
        String podName = pool == null ? Pods.name(s.id()) : claimed;
        String uid = pool == null ? PodLife.create(c, s.id(), Pods.homeLabel(home), plan, asSandbox)
                : PodLife.claimed(c, s.id(), podName);
        Sandbox running = new Sandbox(s.id(), SandboxStatus.RUNNING, s.spec(), s.createdAt(), Instant.now(), 0, 0, 0,
                0, 0, 0);
        try {
            if (pool != null) {
                mark(dir, POD_NAME, podName);
            } else {
                unmark(dir, POD_NAME);
            }
            mark(dir, POD_UID, uid);
            PodState.restore(c, ref(running), running, guestFiles(running), dir); // what it wrote before its last stop
            java.nio.file.Files.deleteIfExists(dir.resolve(PAUSED));
        } catch (java.io.IOException | RuntimeException e) {
            try {
                AgentClaims.deleteClaim(c, Pods.name(s.id()));
                PodLife.delete(c, podName);
            } catch (RuntimeException ignored) {
                // the restore's error matters; a stop or rm deletes the pod by name
            }
            throw e instanceof RuntimeException r ? r : new DavitException(Kind.STORE, "cannot start sandbox "
                    + s.id() + ": " + e.getMessage());
        }
        save.accept(running);
        return running;
    }

    /** Deletes mark {@code name} in {@code dir}, if there. */
    private static void unmark(Path dir, String name) {
        try {
            java.nio.file.Files.deleteIfExists(dir.resolve(name));
        } catch (java.io.IOException e) {
            throw new DavitException(Kind.STORE, "cannot delete " + dir.resolve(name) + ": " + e.getMessage());
        }
    }

    /** Writes mark {@code name} in {@code dir}. */
    private static void mark(Path dir, String name, String value) {
        try {
            java.nio.file.Files.writeString(dir.resolve(name), value);
        } catch (java.io.IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + dir.resolve(name) + ": " + e.getMessage());
        }
    }

    /** What a pod of sandbox spec {@code spec} is made of, with its gate (or none), shutdown time and resume flag. */
    private static PodLife.Plan plan(SandboxOptions options, Cluster c, CreateSpec spec, Pods.Gate gate,
                                     java.time.Instant shutdown, boolean resume) {
        Path home = home(options);
        return new PodLife.Plan(Images.environment(c.settings, spec.rootfs()), Images.agent(c.settings, home,
                options), spec.limits(), Pods.imageUser(spec.rootfs(), spec.image()), gate, shutdown, null, resume);
    }

    /**
     * Keeps {@code count} pods of {@code spec}'s kind in an agent-sandbox {@code SandboxWarmPool}, which a start of
     * such a sandbox then claims from ({@link AgentClaims}): where the cluster serves claims and this backend makes
     * {@code Sandbox}es, for a kind without an egress gate (whose policy is each sandbox's own) and that the backend
     * takes (no publish, no process limit).
     */
    static boolean keepWarm(SandboxOptions options, CreateSpec spec, int count) {
        if (!spec.publish().isEmpty() || spec.network().enabled() || spec.scratchInLayer()
                || spec.limits().pids() != 0) {
            return false;
        }
        Cluster c = Cluster.get();
        if (!AgentSandbox.use(c) || !AgentClaims.served(c)) {
            return false;
        }
        PodLife.denyAll(c); // the pool's pods are davit's: cut off from their first moment
        Pod pod = Pods.sandbox(c.settings, "sbx-000000000000", Pods.homeLabel(home(options)), plan(options, c, spec,
                null, null, false));
        AgentClaims.keepWarm(c, pod, count);
        return true;
    }

    /**
     * When the cluster may end sandbox {@code s}'s pod by itself: its ttl's end (from its creation), as an
     * agent-sandbox {@code Sandbox}'s {@code shutdownTime} (the controller deletes the pod then and keeps the object,
     * marked Expired, for davit's reap to remove); null without a ttl, or when it has passed already.
     */
    static java.time.Instant deadline(Sandbox s) {
        if (s.spec().ttl() == null) {
            return null;
        }
        java.time.Instant end = s.createdAt().plus(s.spec().ttl()).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        return end.isAfter(java.time.Instant.now().plusSeconds(5)) ? end : null;
    }

    /** A new ttl: the {@code Sandbox} of a running sandbox ends at its new end (or no more by itself). */
    @Override
    public void retimed(Sandbox s, Path dir) {
        if (s.status() == SandboxStatus.RUNNING && java.nio.file.Files.exists(dir.resolve(CLAIM))) {
            AgentClaims.shutdownAt(cluster(s), Pods.name(s.id()), deadline(s)); // a claimed one ends by its claim's
        } else if (s.status() == SandboxStatus.RUNNING) {
            AgentSandbox.shutdownAt(cluster(s), ref(s).name(), deadline(s));
        }
    }

    /** Whether a sandbox of {@code network} has an egress gate in its pod: one with an egress policy. */
    static boolean gated(dev.davit.sandbox.Network network) {
        return network.mode() == dev.davit.sandbox.Network.Mode.POLICY;
    }

    @Override
    public void egressPolicy(Sandbox s, Path dir, dev.davit.sandbox.EgressPolicy policy) {
        PodGates.policy(cluster(s), runningPod(s), policy);
    }

    @Override
    public void egressSecrets(Sandbox s, Path dir, java.util.List<String> lines) {
        PodGates.secrets(cluster(s), runningPod(s), lines);
    }

    @Override
    public java.util.List<String> egressDenials(Sandbox s, Path dir) {
        if (s.status() != SandboxStatus.RUNNING) {
            return java.util.List.of(); // its gate went with its pod
        }
        return PodGates.denials(cluster(s), Pods.name(s.id()));
    }

    /** The pod of running sandbox {@code s}, or a STATE error. */
    private String runningPod(Sandbox s) {
        if (s.status() != SandboxStatus.RUNNING || !up(s)) {
            throw new DavitException(Kind.STATE, "the sandbox's egress gate is not running; start the sandbox"
                    + " first");
        }
        return ref(s).name();
    }

    /** Saves what the pod wrote ({@link PodState}) before the stop deletes it; the next start restores it. */
    @Override
    public void beforeStop(Sandbox s) {
        try {
            PodState.save(cluster(s), ref(s), s, s.spec().rootfs(), guestFiles(s), options.stateDir().resolve(s.id()));
        } catch (LongLived.Unsaved e) {
            throw new LongLived.Unsaved(e.kind(), "what it wrote since it started was not kept (" + e.getMessage()
                    + "); its next start has its files as its last save left them (its image's, if none)");
        }
    }

    /** A running pod's changes as they are now (not held still: a pod cannot be frozen), else what was saved. */
    @Override
    public void copyState(Sandbox s, Path dir, Path to) {
        if (s.status() == SandboxStatus.RUNNING) {
            PodState.save(cluster(s), ref(s), s, s.spec().rootfs(), guestFiles(s), to);
            return;
        }
        if (java.nio.file.Files.isDirectory(dir.resolve(PodState.DIR), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            dev.davit.sandbox.host.Host.copyTree(options.searchPath(), dir.resolve(PodState.DIR), to.resolve(PodState.DIR),
                    true);
        }
    }

    /**
     * What the pod's sandbox changed ({@link PodLayer}): of a running one, a save made now (not held still: a pod
     * cannot be frozen) into a directory of its own; else what its stop or pause saved.
     */
    @Override
    public dev.davit.sandbox.Changes changes(Sandbox s, Path dir, dev.davit.oci.build.LayerWriter out,
                                             dev.davit.sandbox.Changes.Rewrite rewrite) {
        long[] user = Pods.imageUser(s.spec().rootfs(), s.spec().image());
        Path tmp = null;
        try {
            Path saved = dir.resolve(PodState.DIR);
            if (s.status() == SandboxStatus.RUNNING) {
                tmp = dir.resolve("commit-" + dev.davit.oci.internal.RandomHex.of(6));
                java.nio.file.Files.createDirectories(tmp);
                PodState.save(cluster(s), ref(s), s, s.spec().rootfs(), guestFiles(s), tmp);
                saved = tmp.resolve(PodState.DIR);
            }
            return PodLayer.write(s, saved, user, out, rewrite);
        } catch (java.io.IOException e) {
            throw new DavitException(Kind.STORE, "cannot write what sandbox " + s.id() + " changed as a layer: "
                    + e.getMessage());
        } finally {
            if (tmp != null) {
                dev.davit.sandbox.host.Host.deleteTree(tmp);
            }
        }
    }

    @Override
    public void restoreState(Sandbox s, Path dir, Path from) {
        Path fresh = dir.resolve(PodState.DIR + ".restore");
        Path old = dir.resolve(PodState.DIR + ".old");
        try {
            dev.davit.oci.internal.Fs.deleteTree(fresh);
            dev.davit.oci.internal.Fs.deleteTree(old);
            if (java.nio.file.Files.isDirectory(from.resolve(PodState.DIR), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                dev.davit.sandbox.host.Host.copyTree(options.searchPath(), from.resolve(PodState.DIR), fresh, true);
            }
            if (java.nio.file.Files.exists(dir.resolve(PodState.DIR), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                java.nio.file.Files.move(dir.resolve(PodState.DIR), old);
            }
            if (java.nio.file.Files.exists(fresh, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                java.nio.file.Files.move(fresh, dir.resolve(PodState.DIR));
            }
            dev.davit.oci.internal.Fs.deleteTree(old);
        } catch (java.io.IOException e) {
            throw new DavitException(Kind.STORE, "cannot restore sandbox " + s.id() + "'s saved files: "
                    + e.getMessage());
        }
    }

    @Override
    public long stateBytes(Sandbox s, Path dir) throws java.io.IOException {
        return PodState.bytes(dir);
    }

    /**
     * agent-sandbox's suspended mode: what the pod wrote is saved on this host ({@link PodState}), the pod goes (the
     * caller's {@link #release}: a {@code Sandbox} object is set {@code Suspended} and stays, a plain pod is deleted)
     * and a resume makes a new pod with it. Its processes do not survive.
     */
    @Override
    public Sandbox pause(Sandbox s, Path dir) {
        PodState.save(cluster(s), ref(s), s, s.spec().rootfs(), guestFiles(s), dir);
        try {
            java.nio.file.Files.write(dir.resolve(PAUSED), new byte[0]);
        } catch (java.io.IOException e) {
            throw new DavitException(Kind.STORE, "cannot record sandbox " + s.id() + "'s pause: " + e.getMessage());
        }
        return new Sandbox(s.id(), SandboxStatus.STOPPED, s.spec(), s.createdAt(), s.startedAt(), 0, 0, 0, 0, 0, 0);
    }

    @Override
    public boolean paused(Sandbox s, Path dir) {
        return s.status() != SandboxStatus.RUNNING && java.nio.file.Files.exists(dir.resolve(PAUSED));
    }

    @Override
    public void dropPause(Sandbox s, Path dir) {
        try {
            java.nio.file.Files.deleteIfExists(dir.resolve(PAUSED));
        } catch (java.io.IOException e) {
            throw new DavitException(Kind.STORE, "cannot drop sandbox " + s.id() + "'s pause: " + e.getMessage());
        }
    }

    /** The davit home of these sandboxes: their state directory is {@code <home>/sandboxes} or the like. */
    static Path home(SandboxOptions options) {
        Path state = options.stateDir().toAbsolutePath();
        return state.getParent() == null ? state : state.getParent();
    }

    /**
     * Whether its pod runs and is the one its start made: a pod deleted behind davit's back (evicted, its node gone,
     * kubectl) took the sandbox's processes and what it wrote since its last stop with it, even where agent-sandbox's
     * controller made a new pod of the same name at once; so the sandbox is failed then.
     */
    @Override
    public boolean up(Sandbox s) {
        try {
            PodRef ref = ref(s);
            return PodLife.running(cluster(s), ref.name(), ref.uid());
        } catch (DavitException e) {
            // the cluster cannot be asked (no kubeconfig here, or it is down): its state is unknown, so it stays as
            // recorded; listing, reaping and removing every other sandbox go on
            return true;
        }
    }

    /** The kubelet's reason why failed sandbox {@code s}'s pod ended ({@link PodLife#ended}). */
    @Override
    public String failure(Sandbox s, Path dir) {
        try {
            PodRef ref = ref(s);
            return PodLife.ended(cluster(s), ref.name(), ref.uid());
        } catch (DavitException e) {
            return null;
        }
    }

    /** Sandbox {@code s}'s pod: of its name, and the UID its last start recorded (not recorded: any). */
    PodRef ref(Sandbox s) {
        String claimed = recorded(s, POD_NAME);
        return new PodRef(s.id(), claimed != null ? claimed : Pods.name(s.id()), recorded(s, POD_UID));
    }

    /** Sandbox {@code s}'s record {@code name} ({@link #POD_UID}, {@link #POD_NAMESPACE}), or null. */
    private String recorded(Sandbox s, String name) {
        try {
            return java.nio.file.Files.readString(options.stateDir().resolve(s.id()).resolve(name)).strip();
        } catch (java.io.IOException e) {
            return null; // started by a davit that recorded none
        }
    }

    /**
     * The cluster, where sandbox {@code s}'s pod is: refused when its last start made it in another namespace than
     * {@code DAVIT_K8S_NAMESPACE} says now (a removal there would leave the pod running and drop its record).
     */
    private Cluster cluster(Sandbox s) {
        Cluster c = Cluster.get();
        refuseOtherNamespace(c, s);
        return c;
    }

    /** Refuses sandbox {@code s} when its pod was made in another namespace than {@code c}'s. */
    private void refuseOtherNamespace(Cluster c, Sandbox s) {
        String ns = recorded(s, POD_NAMESPACE);
        if (ns != null && !ns.equals(c.settings.namespace())) {
            throw new DavitException(Kind.USAGE, "sandbox " + s.id() + "'s pod is in namespace " + ns + ", but"
                    + " DAVIT_K8S_NAMESPACE is " + c.settings.namespace() + " now; set DAVIT_K8S_NAMESPACE=" + ns
                    + " to reach it");
        }
    }

    /**
     * Deletes its pod (through its {@code Sandbox}, if it has one). A pause of a sandbox made through agent-sandbox
     * suspends its {@code Sandbox} instead ({@link AgentSandbox#suspend}): the controller deletes the pod and the
     * object stays, suspended, for the resume.
     */
    @Override
    public void release(Sandbox s, Path dir) {
        Cluster c;
        try {
            c = Cluster.get();
        } catch (DavitException e) {
            if (s.status() != SandboxStatus.CREATED) {
                throw e;
            }
            return; // no cluster here for one never started (or whose start a killed davit left): nothing to reach
        }
        refuseOtherNamespace(c, s); // never dropped from its record while its pod may run elsewhere
        try {
            String name = ref(s).name();
            if (java.nio.file.Files.exists(dir.resolve(CLAIM))) {
                // its claim owns its Sandbox and pod (a pause ends them too: the resume claims again)
                AgentClaims.deleteClaim(c, Pods.name(s.id()));
            } else if (s.status() == SandboxStatus.RUNNING && java.nio.file.Files.exists(dir.resolve(PAUSED))) {
                var object = AgentSandbox.get(c, name);
                if (object != null && object.getMetadata().getDeletionTimestamp() == null) {
                    AgentSandbox.suspend(c, name);
                    PodLife.awaitGone(c, name);
                    return;
                }
            }
            // also for one recorded as created: a davit killed between making its pod and recording it left one
            PodLife.delete(c, name);
            unmark(dir, CLAIM);
            unmark(dir, POD_NAME);
        } catch (DavitException e) {
            if (s.status() != SandboxStatus.CREATED) {
                throw e; // its pod may run on: said, not hidden
            }
        }
    }

    @Override
    public ExecResult exec(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Duration timeout,
                           long maxOutput, int capture, InputStream stdin, OutputStream stdoutTee,
                           OutputStream stderrTee, long t0) {
        Map<String, String> merged = new LinkedHashMap<>(s.spec().env());
        if (env != null) {
            merged.putAll(env);
        }
        dev.davit.sandbox.RunSpec rs = dev.davit.sandbox.RunSpec.builder(s.spec().rootfs()).command(argv).env(merged)
                .workdir(workdir != null ? workdir : s.spec().workdir()).timeout(timeout).image(s.spec().image())
                .backend(K8sDriver.NAME).limits(dev.davit.sandbox.Limits.NONE).build();
        return PodExec.run(cluster(s), ref(s), argv, rs.effectiveEnv(), rs.effectiveWorkdir(), timeout, maxOutput,
                capture, stdin, stdoutTee, stderrTee, t0, K8sDriver.RUNTIME);
    }

    @Override
    public dev.davit.sandbox.backend.GuestFiles guestFiles(Sandbox s) {
        cluster(s);
        return PodFiles.of(ref(s));
    }

    @Override
    public dev.davit.sandbox.backend.OfflineDisk offlineDisk(Sandbox s, Path dir) {
        throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " runs on the cluster: its files are in its pod,"
                + " which a stop deletes; read them while it runs");
    }

    @Override
    public Path filesOnHost(Sandbox s, Path dir) {
        throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " runs on the cluster: its files are not on this"
                + " host");
    }

    /** Every process of the pod's sandbox container but its PID 1 (davit-agent's KILL_ALL, {@link VmProcesses}). */
    @Override
    public void killAll(Sandbox s) {
        processes.killAll(s);
    }

    /** The pod's {@code /proc/net/NAME} (its PID 1's: /proc/net is a link, which a file request refuses). */
    @Override
    public String procNet(Sandbox s, String name) {
        return new String(guestFiles(s).read("/proc/1/net/" + name, 4 << 20).bytes(), StandardCharsets.UTF_8);
    }

    /** Detached in the pod, below a holder the agent starts ({@link VmProcesses}; a terminal is a pty it keeps). */
    @Override
    public Spawned spawn(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Path dir,
                         boolean terminal) {
        return processes.spawn(s, argv, env, workdir, dir, terminal);
    }

    /** A pod's terminal is in the pod, read and typed through its agent. */
    @Override
    public dev.davit.sandbox.backend.GuestTerminal terminal(Sandbox running, Spawned p) {
        return processes.terminal(running, p);
    }

    /** In a pod that is gone, nothing runs. */
    @Override
    public boolean alive(Sandbox running, Spawned p) {
        return running != null && processes.alive(running, p);
    }

    @Override
    public void collect(Sandbox running, Spawned p, Path dir) {
        if (running != null) {
            processes.collect(running, p, dir);
        }
    }

    @Override
    public boolean signal(Sandbox running, Spawned p, String signal, boolean foreground) {
        return running != null && processes.signal(running, p, signal, foreground);
    }

    @Override
    public void terminate(Sandbox running, Spawned p, Duration grace) {
        if (running != null) {
            processes.terminate(running, p, grace);
        }
    }
}
