package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * agent-sandbox's warm pools and claims (its extensions, {@value #API_VERSION}): a kind of sandbox (its pod but its
 * name and sandbox label) is a {@code SandboxTemplate}, kept started {@code N} times by a {@code SandboxWarmPool} of
 * it ({@link #keepWarm}); a start of such a sandbox is then a {@code SandboxClaim} named as its pod would be, which the
 * controller answers with one of the pool's running {@code Sandbox}es ({@link #claim}), so no pod starts. The claimed
 * pod keeps its pool's name; the sandbox records it ({@link K8sLifecycle}), and its removal deletes the claim, which
 * owns the {@code Sandbox} and its pod. A pool whose pods are all taken still answers a claim: the controller makes a
 * {@code Sandbox} of the claim's name from the template, a cold start.
 */
final class AgentClaims {
    static final String API_VERSION = "extensions.agents.x-k8s.io/v1beta1";
    static final String TEMPLATE = "SandboxTemplate";
    static final String POOL = "SandboxWarmPool";
    static final String CLAIM = "SandboxClaim";
    /** The label of a template and pool: the hash of the kind they keep. */
    static final String KIND_LABEL = "davit.dev/kind";

    /** fabric8's serialization, as its client's (a kind's hash must not depend on a client's settings). */
    private static final io.fabric8.kubernetes.client.utils.KubernetesSerialization JSON =
            new io.fabric8.kubernetes.client.utils.KubernetesSerialization();

    private AgentClaims() {
    }

    /** Whether the cluster serves agent-sandbox's claims (its extensions installed): asked once per connection. */
    static boolean served(Cluster c) {
        Boolean served = c.claimsServed;
        if (served == null) {
            served = AgentSandbox.serves(c, API_VERSION, CLAIM) && AgentSandbox.serves(c, API_VERSION, POOL);
            c.claimsServed = served;
        }
        return served;
    }

    /**
     * The name of this process's template and pool of the kind of {@code pod} (a sandbox's pod as {@link Pods#sandbox}
     * makes it): {@code davit-pool-}, a hash of its labels and spec (its name and sandbox label aside), and this
     * process's own token, so that two servers of one home keep pools of their own (one's exit or death never takes
     * the other's).
     */
    static String poolName(Pod pod) {
        return kindName(pod) + "-" + TOKEN;
    }

    /** This process's part of its pools' names. */
    private static final String TOKEN = dev.davit.oci.internal.RandomHex.of(3);

    /** {@code davit-pool-} and the hash of the kind of {@code pod}. */
    static String kindName(Pod pod) {
        Map<String, Object> kind = new java.util.TreeMap<>();
        kind.put("labels", new java.util.TreeMap<>(kindLabels(pod)));
        kind.put("spec", JSON.convertValue(pod.getSpec(), Map.class));
        String json = JSON.asJson(kind);
        return "davit-pool-" + dev.davit.oci.digest.Digest.sha256(json.getBytes(StandardCharsets.UTF_8)).hex()
                .substring(0, 16);
    }

    /** {@code pod}'s labels less its sandbox's own. */
    private static Map<String, String> kindLabels(Pod pod) {
        Map<String, String> l = new LinkedHashMap<>(pod.getMetadata().getLabels());
        l.remove(Pods.SANDBOX);
        return l;
    }

    /**
     * Keeps {@code count} started pods of the kind of {@code pod} in a warm pool (its template made first), or ends
     * the pool and its template ({@code count} 0). This process then claims from it ({@link #pool}).
     */
    static void keepWarm(Cluster c, Pod pod, int count) {
        keepWarm(c, pod, count, OWNER);
    }

    /** {@link #keepWarm(Cluster, Pod, int)} of a pool owned by {@code owner} ({@link #OWNER}'s form). */
    static void keepWarm(Cluster c, Pod pod, int count, String owner) {
        String name = poolName(pod);
        Map<String, String> labels = kindLabels(pod);
        labels.put(KIND_LABEL, kindName(pod).substring("davit-pool-".length()));
        if (count == 0) {
            end(c, name);
            return;
        }
        Map<String, Object> podTemplate = new LinkedHashMap<>();
        podTemplate.put("metadata", Map.of("labels", kindLabels(pod)));
        podTemplate.put("spec", c.client.getKubernetesSerialization().convertValue(pod.getSpec(), Map.class));
        Map<String, Object> templateSpec = new LinkedHashMap<>();
        templateSpec.put("podTemplate", podTemplate);
        templateSpec.put("service", false); // davit reaches its pods through exec streams, not a Service
        // davit's own NetworkPolicies hold its pods (deny-all, the gates'): the controller makes none of its own
        templateSpec.put("networkPolicyManagement", "Unmanaged");
        apply(c, object(TEMPLATE, name, labels, templateSpec));
        Map<String, Object> poolSpec = new LinkedHashMap<>();
        poolSpec.put("replicas", count);
        poolSpec.put("sandboxTemplateRef", Map.of("name", name));
        GenericKubernetesResource p = object(POOL, name, labels, poolSpec);
        p.getMetadata().setAnnotations(Map.of(OWNER_ANNOTATION, owner));
        apply(c, p);
        c.pools.put(name, Boolean.TRUE);
    }

    /**
     * The annotation of a pool naming the process that keeps it: {@code <boot id>/<pid namespace>/<pid>/<start
     * time>}.
     */
    static final String OWNER_ANNOTATION = "davit.dev/owner";
    /** This process, as {@link #OWNER_ANNOTATION} names it. */
    static final String OWNER = bootId() + "/" + pidNamespace() + "/" + ProcessHandle.current().pid() + "/"
            + dev.davit.sandbox.host.Host.startTime(ProcessHandle.current().pid());

    /** This machine's boot id (an owner's pid means something only on the machine and boot that made it). */
    private static String bootId() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/random/boot_id")).strip();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    /** This process's pid namespace ({@code pid:[N]}): a pid means something only in its own. */
    private static String pidNamespace() {
        try {
            return java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/pid")).toString()
                    .replaceAll("[^0-9]", "");
        } catch (java.io.IOException | UnsupportedOperationException e) {
            return "unknown";
        }
    }

    /**
     * Whether pool {@code pool} was left by a process that is gone: one of this machine's boot, no longer running.
     * A pool of another machine (its server elsewhere) or without an owner is never taken.
     */
    static boolean orphaned(GenericKubernetesResource pool) {
        var annotations = pool.getMetadata().getAnnotations();
        String owner = annotations == null ? null : annotations.get(OWNER_ANNOTATION);
        String[] f = owner == null ? new String[0] : owner.split("/");
        // only an owner of this boot and pid namespace, both known, whose process is gone (in a container of its own
        // a live server's pid names nothing here)
        if (f.length != 4 || f[0].equals("unknown") || !f[0].equals(bootId()) || f[1].equals("unknown")
                || !f[1].equals(pidNamespace()) || !f[2].matches("[0-9]{1,10}") || !f[3].matches("[0-9]{1,18}")) {
            return false;
        }
        return !dev.davit.sandbox.host.Host.alive(Long.parseLong(f[2]), Long.parseLong(f[3]));
    }

    /** The warm pools of labels {@code labels} (none where the cluster serves no such kind). */
    static List<GenericKubernetesResource> pools(Cluster c, Map<String, String> labels) {
        return listed(c, POOL, labels);
    }

    /** Deletes warm pool {@code name} and its template. */
    static void end(Cluster c, String name) {
        c.pools.remove(name);
        delete(c, POOL, name);
        delete(c, TEMPLATE, name);
    }

    /** The pool this process keeps of the kind of {@code pod}, or null. */
    static String pool(Cluster c, Pod pod) {
        if (c.pools.isEmpty()) {
            return null;
        }
        String name = poolName(pod);
        return c.pools.containsKey(name) ? name : null;
    }

    /**
     * Claims a pod of pool {@code pool} for sandbox {@code id}: a {@code SandboxClaim} named as its pod would be
     * ({@code pod}'s name), with its labels, ended by the controller at {@code shutdown} (null: never by itself);
     * waits until the controller names the {@code Sandbox} it was given.
     *
     * @return the name of that {@code Sandbox}, which is its pod's; null when the pool or its template is gone (its
     *         claim deleted, and the pool no longer this process's): the caller starts the pod itself
     */
    static String claim(Cluster c, Pod pod, String pool, java.time.Instant shutdown, long seconds) {
        String name = pod.getMetadata().getName();
        Map<String, Object> spec = new LinkedHashMap<>();
        // (no additionalPodMetadata: the controller admits no label of davit's domain on the claimed pod, which keeps
        // its pool's labels; the claim carries the sandbox's)
        spec.put("warmPoolRef", Map.of("name", pool));
        if (shutdown != null) {
            spec.put("lifecycle", Map.of("shutdownTime", shutdown.toString(), "shutdownPolicy", "Retain"));
        }
        for (int attempt = 1; ; attempt++) {
            try {
                resources(c, CLAIM).resource(object(CLAIM, name, pod.getMetadata().getLabels(), spec)).create();
                break;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt == 3) {
                    throw Cluster.failure("create SandboxClaim " + name, e);
                }
            }
            deleteAndAwait(c, name); // an earlier start's (a pause's), still going
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        try {
            // the controller answers within tens of milliseconds from a ready pool: asked often at first
            for (long pause = 10; ; pause = Math.min(1000, pause * 2)) {
                GenericKubernetesResource claim = resources(c, CLAIM).withName(name).get();
                if (claim == null) {
                    throw new DavitException(Kind.STORE, "SandboxClaim " + name + " was deleted while it waited for"
                            + " a pod of pool " + pool);
                }
                Object given = claim.get("status", "sandbox", "name");
                if (given instanceof String s && !s.isEmpty()) {
                    return s;
                }
                if (poolGone(claim)) {
                    c.pools.remove(pool);
                    deleteAndAwait(c, name);
                    return null;
                }
                String refused = refused(claim);
                if (refused != null || System.nanoTime() > end) {
                    deleteClaim(c, name);
                    throw new DavitException(Kind.STORE, "SandboxClaim " + name + " was given no pod of pool " + pool
                            + (refused != null ? ": " + refused : " within " + seconds + " s" + conditions(claim)));
                }
                Thread.sleep(pause);
            }
        } catch (KubernetesClientException e) {
            throw Cluster.failure("look at SandboxClaim " + name, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            deleteClaim(c, name);
            throw new DavitException(Kind.CANCELLED, "interrupted while SandboxClaim " + name + " waited for a pod");
        }
    }

    /** Deletes {@code SandboxClaim} {@code name}, if there is one, and waits up to 30 s until it is gone. */
    static void deleteAndAwait(Cluster c, String name) {
        deleteClaim(c, name);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try {
            for (long pause = 50; resources(c, CLAIM).withName(name).get() != null && System.nanoTime() < end;
                 pause = Math.min(1000, pause * 2)) {
                Thread.sleep(pause);
            }
        } catch (KubernetesClientException e) {
            throw Cluster.failure("look at SandboxClaim " + name, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while SandboxClaim " + name + " was deleted");
        }
    }

    /** Deletes {@code SandboxClaim} {@code name} if there is one (its {@code Sandbox} and pod go with it). */
    static boolean deleteClaim(Cluster c, String name) {
        return served(c) && delete(c, CLAIM, name);
    }

    /** The {@code SandboxClaim}s of labels {@code labels} (none where the cluster serves no such kind). */
    static List<GenericKubernetesResource> list(Cluster c, Map<String, String> labels) {
        return listed(c, CLAIM, labels);
    }

    /** The objects of {@code kind} of labels {@code labels} (none where the cluster serves no such kind). */
    private static List<GenericKubernetesResource> listed(Cluster c, String kind, Map<String, String> labels) {
        if (!served(c)) {
            return List.of();
        }
        try {
            return resources(c, kind).withLabels(labels).list().getItems();
        } catch (KubernetesClientException e) {
            throw Cluster.failure("list " + kind + "s", e);
        }
    }

    /** Whether the controller says claim {@code claim}'s pool or template is not there (deleted behind davit). */
    private static boolean poolGone(GenericKubernetesResource claim) {
        Map<?, ?> ready = ready(claim);
        return ready != null && List.of("WarmPoolNotFound", "TemplateNotFound").contains(ready.get("reason"));
    }

    /** Sets when claim {@code name}'s sandbox ends by itself ({@code at}; null: never); none there is no error. */
    static void shutdownAt(Cluster c, String name, java.time.Instant at) {
        try {
            resources(c, CLAIM).withName(name).edit(claim -> {
                @SuppressWarnings("unchecked")
                Map<String, Object> spec = (Map<String, Object>) claim.getAdditionalProperties().get("spec");
                if (at == null) {
                    spec.remove("lifecycle");
                } else {
                    spec.put("lifecycle", Map.of("shutdownTime", at.toString(), "shutdownPolicy", "Retain"));
                }
                return claim;
            });
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) {
                throw Cluster.failure("set the shutdown time of SandboxClaim " + name, e);
            }
        }
    }

    /** What the controller refused claim {@code claim} for, for good (its Ready condition's reason), or null. */
    private static String refused(GenericKubernetesResource claim) {
        Map<?, ?> ready = ready(claim);
        return ready != null && List.of("InvalidMetadata", "EnvVarsInjectionRejected").contains(ready.get("reason"))
                ? ready.get("reason") + conditions(claim) : null;
    }

    /** What claim {@code claim}'s Ready condition says, as {@code " (message)"}, or "". */
    private static String conditions(GenericKubernetesResource claim) {
        Map<?, ?> ready = ready(claim);
        if (ready == null || ready.get("message") == null) {
            return "";
        }
        String shown = dev.davit.oci.internal.Text.printable(String.valueOf(ready.get("message")).replace('\n', ' '));
        return " (" + (shown.length() > 200 ? shown.substring(0, 200) + "…" : shown) + ")";
    }

    /** Claim {@code claim}'s Ready condition, or null. */
    private static Map<?, ?> ready(GenericKubernetesResource claim) {
        if (claim.get("status", "conditions") instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> m && "Ready".equals(m.get("type"))) {
                    return m;
                }
            }
        }
        return null;
    }

    private static boolean delete(Cluster c, String kind, String name) {
        try {
            return !resources(c, kind).withName(name).withPropagationPolicy(DeletionPropagation.BACKGROUND).delete()
                    .isEmpty();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) {
                throw Cluster.failure("delete " + kind + " " + name, e);
            }
            return false;
        }
    }

    private static void apply(Cluster c, GenericKubernetesResource r) {
        try {
            resources(c, r.getKind()).resource(r).forceConflicts().serverSideApply();
        } catch (KubernetesClientException e) {
            throw Cluster.failure("make " + r.getKind() + " " + r.getMetadata().getName(), e);
        }
    }

    private static io.fabric8.kubernetes.client.dsl.NonNamespaceOperation<GenericKubernetesResource,
            io.fabric8.kubernetes.api.model.GenericKubernetesResourceList,
            io.fabric8.kubernetes.client.dsl.Resource<GenericKubernetesResource>> resources(Cluster c, String kind) {
        return c.client.genericKubernetesResources(API_VERSION, kind).inNamespace(c.settings.namespace());
    }

    private static GenericKubernetesResource object(String kind, String name, Map<String, String> labels,
                                                    Map<String, Object> spec) {
        GenericKubernetesResource r = new GenericKubernetesResource();
        r.setApiVersion(API_VERSION);
        r.setKind(kind);
        r.setMetadata(new ObjectMetaBuilder().withName(name).withLabels(labels).build());
        r.setAdditionalProperty("spec", spec);
        return r;
    }
}
