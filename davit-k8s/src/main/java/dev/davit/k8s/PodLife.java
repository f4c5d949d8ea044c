package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.Limits;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A sandbox pod's life: made and waited for until it runs, looked at, deleted and waited for until it is gone. */
final class PodLife {
    /** How long a pod may take to run (its images pulled, its init container done). */
    static final long START_SECONDS = 180;
    /** Waiting reasons that do not go away by waiting. */
    private static final List<String> STUCK = List.of("ErrImagePull", "ImagePullBackOff", "InvalidImageName",
            "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "CrashLoopBackOff");

    private PodLife() {
    }

    /**
     * Makes sandbox {@code id}'s pod, as a plain pod or through an agent-sandbox {@code Sandbox} of the same name
     * ({@code asSandbox}, {@link AgentSandbox}; a suspended one of a paused sandbox is set running again), and waits
     * until its sandbox container runs. A pod that cannot run is deleted (with its {@code Sandbox}) and the reason
     * said.
     *
     * @return the UID of the pod that runs: a pod of the same name with another UID is not this start's
     */
    /**
     * What a sandbox's pod is made of.
     *
     * @param image      its environment's image, by digest
     * @param agentImage davit's agent image, by digest
     * @param limits     its limits
     * @param user       the uid and gid its sandbox's container runs as: its image's user, resolved by davit
     *                   ({@link Pods#imageUser})
     * @param gate       its egress gate, or null for none
     * @param shutdown   when the cluster ends it by itself (its ttl: an agent-sandbox {@code Sandbox}'s
     *                   {@code shutdownTime}), or null
     * @param activeDeadline how long the pod may live once it started before its kubelet ends it (a one-shot run's
     *                   {@code activeDeadlineSeconds}: its timeout and room to start and end), or null
     * @param resume     whether the sandbox was started before (a pod or a suspended {@code Sandbox} of an earlier
     *                   start may be there: resumed or deleted first); a first start's name is new to the cluster
     */
    record Plan(String image, String agentImage, Limits limits, long[] user, Pods.Gate gate,
                java.time.Instant shutdown, java.time.Duration activeDeadline, boolean resume) {
    }

    static String create(Cluster c, String id, String home, Plan plan, boolean asSandbox) {
        String name = Pods.name(id);
        Pod pod = Pods.sandbox(c.settings, id, home, plan);
        String made = null; // the UID of the plain pod made here: the cache may still tell of one before it
        String owner = null; // the UID of the Sandbox made or resumed here: its pod is the one it owns
        try {
            denyAll(c);
            if (plan.gate() != null) {
                policy(c, Pods.egress(c.settings, plan.gate().except()));
            }
            owner = asSandbox && plan.resume() ? AgentSandbox.resume(c, pod, plan.shutdown()) : null;
            if (owner == null) {
                if (PodCache.of(c).get(name) != null) {
                    delete(c, name); // what an earlier start of the same sandbox left running
                }
                if (asSandbox) {
                    owner = AgentSandbox.create(c, pod, plan.shutdown()); // (one of an earlier start deleted first)
                } else {
                    made = createPod(c, pod).getMetadata().getUid();
                }
            }
        } catch (KubernetesClientException e) {
            throw Cluster.failure((asSandbox ? "create Sandbox " : "create pod ") + name, e);
        }
        long t0 = System.nanoTime();
        if (asSandbox) {
            try {
                AgentSandbox.awaitPod(c, name, START_SECONDS);
            } catch (DavitException e) {
                delete(c, name);
                throw e;
            }
        }
        long left = Math.max(1, START_SECONDS - TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0));
        String[] why = new String[1];
        String[] uid = new String[1];
        boolean[] seen = new boolean[1];
        String ours = made;
        String sandboxUid = owner;
        try {
            PodCache.of(c).await(name, p -> {
                if (p != null && sandboxUid != null && !ownedBy(p, sandboxUid)) {
                    return false; // a pod of an earlier Sandbox of the name, not yet gone: not this start's
                }
                if (p != null && ours != null && !ours.equals(p.getMetadata().getUid())) {
                    p = seen[0] ? null : p; // another pod of the name: an earlier one not yet gone, or a later one
                    if (p != null) {
                        return false;
                    }
                }
                if (p == null || p.getMetadata().getDeletionTimestamp() != null) {
                    // not told of yet; or a Sandbox's controller makes its pod after a moment (and again if it
                    // goes): waited for
                    why[0] = asSandbox || !seen[0] ? null : "the pod was deleted while it started";
                    return why[0] != null;
                }
                seen[0] = true;
                why[0] = stuck(p);
                uid[0] = p.getMetadata().getUid();
                return why[0] != null || runs(p);
            }, left);
        } catch (java.util.concurrent.TimeoutException e) {
            why[0] = "it did not run within " + START_SECONDS + " s" + pending(c, name, asSandbox);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            delete(c, name);
            throw new DavitException(Kind.CANCELLED, "interrupted while pod " + name + " started");
        }
        if (why[0] != null) {
            delete(c, name);
            throw new DavitException(Kind.STORE, "sandbox " + id + "'s pod " + name + " cannot run: " + why[0]);
        }
        return uid[0];
    }

    /** Whether pod {@code p} is one the {@code Sandbox} of UID {@code uid} owns (its controller made it). */
    private static boolean ownedBy(Pod p, String uid) {
        return p.getMetadata().getOwnerReferences().stream().anyMatch(o -> AgentSandbox.KIND.equals(o.getKind())
                && uid.equals(o.getUid()));
    }

    /** Makes {@code pod}; one of its name that a start before left (going, not yet gone) is waited for first. */
    private static Pod createPod(Cluster c, Pod pod) {
        for (int attempt = 1; ; attempt++) {
            try {
                return c.client.pods().inNamespace(c.settings.namespace()).resource(pod).create();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt == 3) {
                    throw e;
                }
            }
            deletePod(c, pod.getMetadata().getName());
        }
    }

    /**
     * Waits until pod {@code name}, claimed from a warm pool for sandbox {@code id} ({@link AgentClaims#claim}), runs
     * its sandbox container (at once, a warm one); when it cannot, its claim is deleted and the reason said.
     *
     * @return its UID
     */
    static String claimed(Cluster c, String id, String name) {
        String[] why = new String[1];
        String[] uid = new String[1];
        try {
            PodCache.of(c).await(name, p -> {
                if (p == null || p.getMetadata().getDeletionTimestamp() != null) {
                    return false; // the controller's cold start makes it a moment after
                }
                why[0] = stuck(p);
                uid[0] = p.getMetadata().getUid();
                return why[0] != null || runs(p);
            }, START_SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            why[0] = "it did not run within " + START_SECONDS + " s" + pending(c, name, true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            why[0] = "interrupted";
        }
        if (why[0] != null) {
            AgentClaims.deleteClaim(c, Pods.name(id));
            delete(c, name);
            throw new DavitException(why[0].equals("interrupted") ? Kind.CANCELLED : Kind.STORE, "sandbox " + id
                    + "'s pod " + name + " (claimed from a warm pool) cannot run: " + why[0]);
        }
        return uid[0];
    }

    /** The NetworkPolicy that cuts davit's pods off, made once per namespace. */
    static void denyAll(Cluster c) {
        policy(c, Pods.denyAll(c.settings));
    }

    /** Makes NetworkPolicy {@code p} when its namespace has none of its name (a name stands for its content). */
    private static void policy(Cluster c, io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy p) {
        String name = p.getMetadata().getName();
        Long seen = c.policies.get(name);
        if (seen != null && System.nanoTime() - seen < NodeAddresses.REFRESH_NANOS) {
            return; // found or made by this process within the minute
        }
        var policies = c.client.network().v1().networkPolicies().inNamespace(c.settings.namespace());
        if (policies.withName(name).get() == null) {
            try {
                policies.resource(p).create();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) { // another davit made it meanwhile
                    throw e;
                }
            }
        }
        c.policies.put(name, System.nanoTime());
    }

    private static boolean runs(Pod p) {
        for (ContainerStatus cs : statuses(p, false)) {
            if (cs.getName().equals(Pods.CONTAINER) && cs.getState() != null && cs.getState().getRunning() != null) {
                return true;
            }
        }
        return false;
    }

    /** Why the pod will not run, or null while it may. */
    private static String stuck(Pod p) {
        if (p.getStatus() != null && ("Failed".equals(p.getStatus().getPhase())
                || "Succeeded".equals(p.getStatus().getPhase()))) {
            return "it ended (" + p.getStatus().getPhase() + (p.getStatus().getReason() == null ? ""
                    : ": " + p.getStatus().getReason()) + ")";
        }
        for (ContainerStatus cs : statuses(p, true)) {
            var waiting = cs.getState() == null ? null : cs.getState().getWaiting();
            if (waiting != null && STUCK.contains(waiting.getReason())) {
                String m = waiting.getMessage() == null ? "" : " (" + shorten(waiting.getMessage()) + ")";
                return "container " + cs.getName() + " is " + waiting.getReason() + m
                        + (waiting.getReason().contains("Image") ? "; check that the cluster can pull from "
                        + "DAVIT_K8S_REGISTRY" : "");
            }
            var ended = cs.getState() == null ? null : cs.getState().getTerminated();
            if (ended != null && ended.getExitCode() != null && ended.getExitCode() != 0) {
                return "container " + cs.getName() + " exited " + ended.getExitCode()
                        + (ended.getMessage() == null ? "" : " (" + shorten(ended.getMessage()) + ")");
            }
        }
        return null;
    }

    private static List<ContainerStatus> statuses(Pod p, boolean withInit) {
        List<ContainerStatus> all = new ArrayList<>();
        if (p.getStatus() != null) {
            if (withInit && p.getStatus().getInitContainerStatuses() != null) {
                all.addAll(p.getStatus().getInitContainerStatuses());
            }
            if (p.getStatus().getContainerStatuses() != null) {
                all.addAll(p.getStatus().getContainerStatuses());
            }
        }
        return all;
    }

    private static String pending(Cluster c, String name, boolean asSandbox) {
        Pod p = c.client.pods().inNamespace(c.settings.namespace()).withName(name).get();
        if (p == null && asSandbox) {
            return shorten(AgentSandbox.readiness(c, name)); // why its controller made none
        }
        if (p == null || p.getStatus() == null) {
            return "";
        }
        var cond = p.getStatus().getConditions() == null ? null : p.getStatus().getConditions().stream()
                .filter(x -> "PodScheduled".equals(x.getType()) && "False".equals(x.getStatus())).findFirst()
                .orElse(null);
        return cond != null ? " (not scheduled: " + shorten(String.valueOf(cond.getMessage())) + ")"
                : " (phase " + p.getStatus().getPhase() + ")";
    }

    private static String shorten(String m) {
        String s = dev.davit.oci.internal.Text.printable(m.replace('\n', ' '));
        return s.length() > 200 ? s.substring(0, 200) + "…" : s;
    }

    /**
     * Whether pod {@code name} runs its sandbox container; false when it is gone or ended, or when it is not the pod
     * of UID {@code uid} (unless null): a Sandbox's controller makes a new pod of the same name when one goes, but
     * the sandbox's processes and what it wrote went with the old one.
     */
    static boolean running(Cluster c, String name, String uid) {
        try {
            // as told to this process's cache when it has one (a server's), else asked (a command's one look)
            PodCache cache = PodCache.ifMade(c);
            Pod p = cache != null ? cache.get(name) : c.client.pods().inNamespace(c.settings.namespace())
                    .withName(name).get();
            return p != null && p.getMetadata().getDeletionTimestamp() == null && runs(p)
                    && (uid == null || uid.equals(p.getMetadata().getUid()));
        } catch (KubernetesClientException e) {
            throw Cluster.failure("look at pod " + name, e);
        }
    }

    /**
     * Why pod {@code name} (of UID {@code uid}, unless null) no longer runs its sandbox, in the kubelet's words (an
     * eviction's reason and message, a container's end: OOMKilled, its exit code), or null while it runs.
     */
    static final String CONTAINER_ENDED = "its container ended";

    /**
     * The message of pod {@code p}'s eviction, or null: its status's, else its kubelet's event (which comes first:
     * the status follows once every container ended). No events are read without the right to (KUBERNETES.md).
     */
    private static String evicted(Cluster c, Pod p) {
        if (p.getStatus() != null && "Evicted".equals(p.getStatus().getReason())) {
            return shorten(String.valueOf(p.getStatus().getMessage()));
        }
        try {
            for (var e : c.client.v1().events().inNamespace(c.settings.namespace())
                    .withField("involvedObject.uid", p.getMetadata().getUid()).list().getItems()) {
                if ("Evicted".equals(e.getReason())) {
                    return shorten(String.valueOf(e.getMessage()));
                }
            }
        } catch (KubernetesClientException e) {
            // no right to read events, or the cluster is away: the status tells once it follows
        }
        return null;
    }

    static String ended(Cluster c, String name, String uid) {
        Pod p;
        try {
            p = c.client.pods().inNamespace(c.settings.namespace()).withName(name).get();
        } catch (KubernetesClientException e) {
            return null; // the cluster cannot be asked: nothing to add to what the caller says
        }
        if (p == null) {
            return "its pod " + name + " is gone (deleted, or its node was lost)";
        }
        if (uid != null && !uid.equals(p.getMetadata().getUid())) {
            return "its pod " + name + " was replaced (deleted, or its node was lost; a Sandbox's controller made"
                    + " another)";
        }
        var status = p.getStatus();
        String evicted = evicted(c, p);
        if (evicted != null) {
            return "its pod " + name + " was evicted by the cluster: " + evicted;
        }
        if (status != null && status.getReason() != null) { // Evicted, DeadlineExceeded, NodeLost…
            return "its pod " + name + " was " + (status.getReason().equals("Evicted") ? "evicted" : "ended ("
                    + status.getReason() + ")") + " by the cluster" + (status.getMessage() == null ? ""
                    : ": " + shorten(status.getMessage()));
        }
        for (ContainerStatus cs : statuses(p, false)) {
            var t = cs.getState() == null ? null : cs.getState().getTerminated();
            if (cs.getName().equals(Pods.CONTAINER) && t != null) {
                return CONTAINER_ENDED + (t.getReason() == null ? "" : " (" + t.getReason() + ")")
                        + " with exit code " + t.getExitCode() + (t.getMessage() == null ? ""
                        : ": " + shorten(t.getMessage()));
            }
        }
        if (p.getMetadata().getDeletionTimestamp() != null) {
            return "its pod " + name + " is being deleted";
        }
        return runs(p) ? null : "its pod " + name + " is " + (status == null ? "not running"
                : status.getPhase());
    }

    /**
     * Deletes pod {@code name} at once and waits until it is gone (a missing one is no error); first its agent-sandbox
     * {@code Sandbox}, if it has one, or the controller would make it again.
     */
    static void delete(Cluster c, String name) {
        Pod known = PodCache.of(c).get(name);
        if (known == null || known.getMetadata().getOwnerReferences().stream().anyMatch(o -> AgentSandbox.KIND
                .equals(o.getKind()))) {
            // its Sandbox's, or not known (gone already, or not made yet): a plain pod has none to delete
            AgentSandbox.delete(c, name);
        }
        deletePod(c, name);
    }

    /** Waits until pod {@code name} is gone (the controller of a suspended Sandbox deletes it), deleting it if slow. */
    static void awaitGone(Cluster c, String name) {
        PodLinks.forget(c, name);
        if (!gone(c, name, null)) {
            deletePod(c, name);
        }
    }

    /**
     * Whether pod {@code name} (of UID {@code uid}, unless null: any) went within 60 s, as the cache is told: a
     * deletion's answer does not wait for its kubelet, whose containers end after it.
     */
    private static boolean gone(Cluster c, String name, String uid) {
        try {
            PodCache.of(c).await(name, p -> p == null || uid != null && !uid.equals(p.getMetadata().getUid()), 60);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while pod " + name + " was deleted");
        }
    }

    private static void deletePod(Cluster c, String name) {
        PodLinks.forget(c, name);
        var pod = c.client.pods().inNamespace(c.settings.namespace()).withName(name);
        try {
            // a grace period of 1 s, as kubectl's --grace-period=0 is: 0 would drop the object at once, before the
            // kubelet killed its containers (their network policy and quota gone with it)
            var deleted = pod.withGracePeriod(1).delete();
            if (deleted.isEmpty()) {
                return; // there was none
            }
            if (!gone(c, name, null)) {
                pod.withGracePeriod(0).delete(); // the node does not answer: forced
            }
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) {
                throw Cluster.failure("delete pod " + name, e);
            }
        }
    }
}
