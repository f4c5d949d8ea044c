package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A long-lived sandbox's pod made through kubernetes-sigs/agent-sandbox's {@code Sandbox} object
 * ({@code agents.x-k8s.io/v1beta1}), where the cluster serves it: davit makes a {@code Sandbox} named as the pod
 * ({@code davit-<sandbox id>}), labelled as the pod, whose {@code podTemplate} is exactly davit's pod
 * ({@link Pods#sandbox}); agent-sandbox's controller makes the pod of that name from it, with the template's labels,
 * its own {@code agents.x-k8s.io/sandbox-name-hash} label and the {@code Sandbox} as its controlling owner. davit
 * then waits for the pod, execs into it and removes it as it does a plain pod, except that the pod goes by deleting
 * its {@code Sandbox}: deleting only the pod makes the controller make a new one at once (so davit records each
 * pod's UID, {@link PodLife#create}, and a sandbox whose pod is not the one it started is failed). A pause is
 * agent-sandbox's suspended mode ({@code operatingMode: Suspended}: the controller deletes the pod, the object stays)
 * and a resume sets it running again, with the pod's template made afresh.
 *
 * <p>Reached through fabric8's generic resources: agent-sandbox's types are not compiled in, so a cluster without
 * its CRDs costs nothing but one discovery request per process.
 */
final class AgentSandbox {
    /** The setting: {@code auto}, {@code on} or {@code off}. */
    static final String SETTING = "DAVIT_K8S_AGENT_SANDBOX";
    static final String API_VERSION = "agents.x-k8s.io/v1beta1";
    static final String KIND = "Sandbox";
    private static final String RUNNING = "Running";
    private static final String SUSPENDED = "Suspended";
    /** The annotation in which agent-sandbox's controller names the pod it made for a Sandbox. */
    private static final String POD_NAME = "agents.x-k8s.io/pod-name";

    /** Whether long-lived sandboxes are made as {@code Sandbox} objects. */
    enum Mode {
        /** When the cluster serves the {@code Sandbox} kind (the default). */
        AUTO,
        /** Always; a cluster without agent-sandbox's CRDs is an error. */
        ON,
        /** Never: plain pods. */
        OFF;

        static Mode of(String value) {
            if (value == null || value.isEmpty()) {
                return AUTO;
            }
            try {
                return valueOf(value.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new DavitException(Kind.USAGE, SETTING + " '" + dev.davit.oci.internal.Text.printable(value)
                        + "' is not auto, on or off");
            }
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private AgentSandbox() {
    }

    /** Whether the cluster serves {@code kind} in {@code apiVersion}, by the API's discovery. */
    static boolean serves(Cluster c, String apiVersion, String kind) {
        try {
            return c.client.supports(apiVersion, kind);
        } catch (KubernetesClientException e) {
            throw Cluster.failure("discover whether it serves " + apiVersion + " " + kind, e);
        }
    }

    /**
     * Whether this process makes long-lived sandboxes as {@code Sandbox} objects: by the setting, and for
     * {@code auto} by whether the cluster serves the kind (asked once per process).
     *
     * @throws DavitException USAGE when the setting is {@code on} and the cluster does not serve it
     */
    static boolean use(Cluster c) {
        return switch (c.settings.agentSandbox()) {
            case OFF -> false;
            case AUTO -> c.agentSandboxServed();
            case ON -> {
                if (!c.agentSandboxServed()) {
                    throw new DavitException(Kind.USAGE, SETTING + "=on, but the cluster serves no " + API_VERSION
                            + " " + KIND + ": install agent-sandbox (docs/reference/KUBERNETES.md), or set " + SETTING
                            + "=auto to make plain pods there");
                }
                yield true;
            }
        };
    }

    /**
     * The {@code Sandbox} whose template is {@code pod}: its name and labels, running, with no Service, ended by its
     * controller at {@code shutdown} (null: never by itself).
     */
    static GenericKubernetesResource of(Cluster c, Pod pod, java.time.Instant shutdown) {
        @SuppressWarnings("unchecked")
        Map<String, Object> podSpec = c.client.getKubernetesSerialization().convertValue(pod.getSpec(), Map.class);
        Map<String, Object> template = new LinkedHashMap<>();
        template.put("metadata", Map.of("labels", pod.getMetadata().getLabels()));
        template.put("spec", podSpec);
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("podTemplate", template);
        spec.put("operatingMode", RUNNING);
        spec.put("service", false); // davit reaches its pods through the API server's exec streams, not a Service
        if (shutdown != null) {
            spec.put("shutdownTime", shutdown.toString());
            spec.put("shutdownPolicy", "Retain"); // the pod goes, the object stays (Expired) for davit's reap
        }
        GenericKubernetesResource r = new GenericKubernetesResource();
        r.setApiVersion(API_VERSION);
        r.setKind(KIND);
        r.setMetadata(new ObjectMetaBuilder().withName(pod.getMetadata().getName())
                .withNamespace(pod.getMetadata().getNamespace()).withLabels(pod.getMetadata().getLabels()).build());
        r.setAdditionalProperty("spec", spec);
        return r;
    }

    private static Resource<GenericKubernetesResource> resource(Cluster c, String name) {
        return c.client.genericKubernetesResources(API_VERSION, KIND).inNamespace(c.settings.namespace())
                .withName(name);
    }

    /**
     * Makes the {@code Sandbox} of {@code pod}; its controller makes the pod. One of the name left by an earlier
     * start (a stop's, still going; a failed start's) is deleted first, and waited for.
     *
     * @return its UID: the owner of the pod its controller makes
     */
    static String create(Cluster c, Pod pod, java.time.Instant shutdown) {
        String name = pod.getMetadata().getName();
        var made = of(c, pod, shutdown);
        for (int attempt = 1; ; attempt++) {
            try {
                return c.client.genericKubernetesResources(API_VERSION, KIND).inNamespace(c.settings.namespace())
                        .resource(made).create().getMetadata().getUid();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt == 3) {
                    throw e;
                }
            }
            delete(c, name);
            awaitGone(c, name, 30);
        }
    }

    /** Sets when {@code Sandbox} {@code name} ends by itself ({@code at}; null: never); none there is no error. */
    static void shutdownAt(Cluster c, String name, java.time.Instant at) {
        if (get(c, name) == null) {
            return; // a plain pod: davit's reap ends it
        }
        try {
            resource(c, name).edit(s -> {
                if (at == null) {
                    spec(s).remove("shutdownTime");
                } else {
                    spec(s).put("shutdownTime", at.toString());
                    spec(s).put("shutdownPolicy", "Retain");
                }
                return s;
            });
        } catch (KubernetesClientException e) {
            throw Cluster.failure("set the shutdown time of Sandbox " + name, e);
        }
    }

    /** The {@code Sandbox}es of labels {@code labels} (none where the cluster serves no such kind). */
    static List<GenericKubernetesResource> list(Cluster c, Map<String, String> labels) {
        if (!c.agentSandboxServed()) {
            return List.of();
        }
        try {
            return c.client.genericKubernetesResources(API_VERSION, KIND).inNamespace(c.settings.namespace())
                    .withLabels(labels).list().getItems();
        } catch (KubernetesClientException e) {
            throw Cluster.failure("list Sandboxes", e);
        }
    }

    /** The {@code Sandbox} {@code name}, or null when there is none (or the cluster serves no such kind). */
    static GenericKubernetesResource get(Cluster c, String name) {
        if (!c.agentSandboxServed()) {
            return null;
        }
        try {
            return resource(c, name).get();
        } catch (KubernetesClientException e) {
            throw Cluster.failure("look at Sandbox " + name, e);
        }
    }

    /**
     * Deletes {@code Sandbox} {@code name} if there is one (whatever the setting: one made under another setting
     * must go too, or its controller would make its pod again).
     *
     * @return whether there was one
     */
    static boolean delete(Cluster c, String name) {
        PodLinks.forget(c, name); // its pod's name is its own
        if (!c.agentSandboxServed()) {
            return false;
        }
        try {
            // asked without a look first: a missing one is the answer's 404 (one request, not two)
            // in the background: the object goes at once (a foreground deletion keeps it until the garbage
            // collector saw its pod go, seconds that a removal would wait or leave behind); davit deletes the pod
            // itself next, and one its controller made again meanwhile has no owner left, which the collector ends
            return !resource(c, name).withPropagationPolicy(DeletionPropagation.BACKGROUND).delete().isEmpty();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) {
                throw Cluster.failure("delete Sandbox " + name, e);
            }
            return false;
        }
    }

    /**
     * Waits up to {@code seconds} until {@code Sandbox} {@code name} is gone: asked after 50 ms, then twice as long
     * each time up to a second (its pod gone, it goes at once: one or two asks).
     */
    static void awaitGone(Cluster c, String name, long seconds) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        try {
            for (long pause = 50; get(c, name) != null && System.nanoTime() < end; pause = Math.min(1000, pause * 2)) {
                Thread.sleep(pause);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // still there past it (its pod on a node that does not answer): the garbage collector ends it later
    }

    /** Sets {@code Sandbox} {@code name} suspended: its controller deletes the pod, the object stays. */
    static void suspend(Cluster c, String name) {
        try {
            resource(c, name).edit(s -> {
                spec(s).put("operatingMode", SUSPENDED);
                return s;
            });
        } catch (KubernetesClientException e) {
            throw Cluster.failure("suspend Sandbox " + name, e);
        }
    }

    /**
     * Sets suspended {@code Sandbox} {@code name} running again with {@code pod} as its template (made afresh, so a
     * resume runs what a start would).
     *
     * @return its UID; null when there is no such suspended {@code Sandbox} (then the caller makes one)
     */
    static String resume(Cluster c, Pod pod, java.time.Instant shutdown) {
        String name = pod.getMetadata().getName();
        for (int attempt = 1; ; attempt++) {
            GenericKubernetesResource s = get(c, name);
            if (s == null || s.getMetadata().getDeletionTimestamp() != null || !SUSPENDED.equals(mode(s))) {
                return null;
            }
            s.setAdditionalProperty("spec", of(c, pod, shutdown).getAdditionalProperties().get("spec"));
            try {
                // with its resourceVersion: refused when it changed meanwhile (its controller wrote its status)
                c.client.genericKubernetesResources(API_VERSION, KIND).inNamespace(c.settings.namespace()).resource(s)
                        .update();
                return s.getMetadata().getUid();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt == 5) {
                    throw Cluster.failure("resume Sandbox " + name, e);
                }
            }
        }
    }

    static String mode(GenericKubernetesResource s) {
        Object m = spec(s).get("operatingMode");
        return m == null ? RUNNING : m.toString();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> spec(GenericKubernetesResource s) {
        Object spec = s.getAdditionalProperties().get("spec");
        if (!(spec instanceof Map<?, ?>)) {
            spec = new LinkedHashMap<String, Object>();
            s.setAdditionalProperty("spec", spec);
        }
        return (Map<String, Object>) spec;
    }

    /**
     * Waits up to {@code seconds} until the controller has made {@code Sandbox} {@code name}'s pod (it names it in
     * the annotation {@code agents.x-k8s.io/pod-name} once made), or has been refused making it: the cluster's
     * admission (a ResourceQuota, Pod Security) refuses the controller's pod, not davit's request, and the controller
     * says so only in the {@code Ready} condition ({@code ReconcilerError}), retrying on; so that refusal is said here
     * in davit's words ({@link Cluster#admission}) rather than waited out. Other errors the controller retries are
     * waited for; when the time is up it returns too, and the pod's own wait says why.
     *
     * @throws DavitException the admission's refusal, or STORE when the {@code Sandbox} was deleted meanwhile
     */
    static void awaitPod(Cluster c, String name, long seconds) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            try {
                // told by the pod cache, which the controller's pod enters: no request of its own
                PodCache.of(c).await(name, p -> p != null, 5);
                return;
            } catch (java.util.concurrent.TimeoutException e) {
                // slow: is the Sandbox refused, or gone? (asked each 5 s while it makes none)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DavitException(Kind.CANCELLED, "interrupted while the pod of Sandbox " + name
                        + " was being made");
            }
            GenericKubernetesResource s = get(c, name);
            if (s == null || s.getMetadata().getDeletionTimestamp() != null) {
                throw new DavitException(Kind.STORE, "pod " + name + " cannot run: its Sandbox was deleted while the"
                        + " pod was being made");
            }
            DavitException refused = refusal(s, "create pod " + name + " (for its Sandbox)");
            if (refused != null) {
                throw refused;
            }
            if (System.nanoTime() > end) {
                return; // not made in time: the pod's wait says why
            }
        }
    }

    /** The admission refusal the Ready condition of {@code s}'s current generation reports, or null. */
    private static DavitException refusal(GenericKubernetesResource s, String doing) {
        Object conditions = s.get("status", "conditions");
        if (conditions instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> m && "Ready".equals(m.get("type")) && "ReconcilerError".equals(
                        m.get("reason")) && String.valueOf(s.getMetadata().getGeneration()).equals(
                        String.valueOf(m.get("observedGeneration")))) {
                    String message = String.valueOf(m.get("message"));
                    String shown = dev.davit.oci.internal.Text.printable(message.replace('\n', ' '));
                    return Cluster.admission(doing, message, shown.length() > 200 ? shown.substring(0, 200) + "…"
                            : shown);
                }
            }
        }
        return null;
    }

    /** What {@code Sandbox} {@code name}'s Ready condition says while its pod is missing, or "". */
    static String readiness(Cluster c, String name) {
        GenericKubernetesResource s;
        try {
            s = get(c, name);
        } catch (DavitException e) {
            return "";
        }
        if (s == null) {
            return " (its Sandbox is gone)";
        }
        Object conditions = s.get("status", "conditions");
        if (conditions instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> m && "Ready".equals(m.get("type"))) {
                    return " (Sandbox " + name + ": " + m.get("reason") + ", " + m.get("message") + ")";
                }
            }
        }
        return " (Sandbox " + name + " has no pod yet: is agent-sandbox's controller running?)";
    }
}
