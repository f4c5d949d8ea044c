package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A connection to the cluster of {@link K8sSettings}, made when first needed and kept for the process. */
final class Cluster {
    private static volatile Cluster shared;

    final K8sSettings settings;
    final KubernetesClient client;
    /** Whether the cluster serves agent-sandbox's Sandbox, once asked (null before). */
    private volatile Boolean agentSandbox;
    /** davit's pods as told by the API server ({@link PodCache}), once a wait of this process made it; else null. */
    volatile PodCache pods;
    /**
     * The NetworkPolicies this process found or made (their names stand for their content), with when ({@link
     * System#nanoTime}): looked for again after a minute, so one deleted behind davit's back is made again.
     */
    final java.util.concurrent.ConcurrentHashMap<String, Long> policies = new java.util.concurrent.ConcurrentHashMap<>();
    /** Whether the cluster serves agent-sandbox's claims and warm pools ({@link AgentClaims}), once asked. */
    volatile Boolean claimsServed;
    /** The warm pools this process keeps ({@link AgentClaims#keepWarm}), by name. */
    final java.util.concurrent.ConcurrentHashMap<String, Boolean> pools = new java.util.concurrent.ConcurrentHashMap<>();
    /** The gated pods' except list as last found ({@link NodeAddresses}), or null. */
    volatile Cached<List<String>> exceptList;

    /** A value found at {@link System#nanoTime} {@code at}. */
    record Cached<T>(T value, long at) {
    }

    private Cluster(K8sSettings settings, KubernetesClient client) {
        this.settings = settings;
        this.client = client;
    }

    /** The cluster of this process's environment (the settings are read once). */
    static Cluster get() {
        Cluster c = shared;
        if (c == null) {
            synchronized (Cluster.class) {
                if (shared == null) {
                    shared = connect(K8sSettings.from(System.getenv()));
                }
                c = shared;
            }
        }
        return c;
    }

    /** Makes {@code settings} this process's cluster instead of the environment's (tests). */
    static synchronized void use(K8sSettings settings) {
        shared = connect(settings);
    }

    static Cluster connect(K8sSettings settings) {
        Path kubeconfig = settings.requireKubeconfig();
        Config config;
        try {
            config = kubeconfig == null ? Config.autoConfigure(null)
                    : Config.fromKubeconfig(null, Files.readString(kubeconfig), kubeconfig.toString());
        } catch (IOException | KubernetesClientException e) {
            throw new DavitException(Kind.USAGE, "cannot read the kubeconfig " + kubeconfig + " (" + reason(e)
                    + "); set KUBECONFIG to the cluster's kubeconfig file");
        }
        config.setNamespace(settings.namespace());
        // fabric8 logs a failed exec with its stack trace at ERROR; davit says what failed itself
        if (System.getProperty("org.slf4j.simpleLogger.log.io.fabric8") == null) {
            System.setProperty("org.slf4j.simpleLogger.log.io.fabric8", "off");
        }
        // fabric8 retries a 429 (API Priority and Fairness turning davit away) and a 5xx after the server's
        // Retry-After, else with an exponential backoff from 200 ms (at most 6.4 s): at most 10 times, as client-go
        // does, so a burst of creates waits its turn rather than failing, and never retries without end
        config.setRequestRetryBackoffInterval(200);
        config.setRequestRetryBackoffLimit(10);
        RequestCount count = new RequestCount();
        Throttle throttle = settings.qps() == 0 ? null : new Throttle(settings.qps(), settings.burst());
        // the rate first, then the count: a request is counted when it leaves
        Cluster c = new Cluster(settings, new KubernetesClientBuilder().withConfig(config)
                .withHttpClientBuilderConsumer(b -> {
                    if (throttle != null) {
                        b.addOrReplaceInterceptor("davit-throttle", throttle);
                    }
                    b.addOrReplaceInterceptor("davit-count", count);
                }).build());
        c.requests = count;
        c.throttle = throttle;
        return c;
    }

    /** What this process asked of the API server, by verb and resource ({@link RequestCount}). */
    RequestCount requests;
    /** The rate limit of its requests ({@link Throttle}), or null for none ({@code DAVIT_K8S_QPS=0}). */
    Throttle throttle;

    /** Whether the cluster serves agent-sandbox's {@code Sandbox}: asked through discovery once per connection. */
    boolean agentSandboxServed() {
        Boolean served = agentSandbox;
        if (served == null) {
            served = AgentSandbox.serves(this, AgentSandbox.API_VERSION, AgentSandbox.KIND);
            agentSandbox = served;
        }
        return served;
    }

    /** The namespace a 404 says does not exist ({@code namespaces "davit" not found}), or null. */
    static String missingNamespace(KubernetesClientException e) {
        var status = e.getStatus();
        if (e.getCode() != 404 || status == null || status.getDetails() == null
                || !"namespaces".equals(status.getDetails().getKind())) {
            return null;
        }
        return status.getDetails().getName();
    }

    /** What to do about namespace {@code name}, which the cluster does not have. */
    static String noNamespace(String name) {
        String ns = dev.davit.oci.internal.Text.printable(String.valueOf(name));
        return "the cluster has no namespace " + ns + " (DAVIT_K8S_NAMESPACE); create it (kubectl create namespace "
                + ns + ") or set DAVIT_K8S_NAMESPACE to one that exists";
    }

    /** A cluster's refusal or a broken connection, in davit's words. */
    static DavitException failure(String doing, KubernetesClientException e) {
        int code = e.getCode();
        String m = e.getMessage() == null ? "" : e.getMessage();
        DavitException admission = admission(doing, m, reason(e));
        if (admission != null) {
            return admission;
        }
        String namespace = missingNamespace(e);
        if (namespace != null) {
            return new DavitException(Kind.NOT_FOUND, noNamespace(namespace));
        }
        if (code == 401 || code == 403 && (m.contains("cannot ") || m.contains("forbidden: User"))) {
            return new DavitException(Kind.AUTH, "the cluster refused to let davit " + doing + " (HTTP " + code
                    + "): give the kubeconfig's user the rights in docs/reference/KUBERNETES.md's RBAC manifest");
        }
        if (code == 0 && e.getCause() instanceof java.util.concurrent.TimeoutException) {
            return new DavitException(Kind.NETWORK, "the cluster did not finish to " + doing + " in time ("
                    + reason(e) + ")");
        }
        if (code == 0) {
            return new DavitException(Kind.NETWORK, "cannot reach the cluster to " + doing + " (" + reason(e)
                    + "); check that KUBECONFIG names a running cluster");
        }
        return new DavitException(Kind.STORE, "the cluster refused to let davit " + doing + " (HTTP " + code + ": "
                + reason(e) + ")");
    }

    /**
     * An admission refusal (a ResourceQuota's, Pod Security's) of which message {@code m} tells, in davit's words
     * ({@code shown} is the cluster's, cut short and printable), or null when {@code m} tells of none. Also for the
     * refusal agent-sandbox's controller met making a Sandbox's pod ({@link AgentSandbox#awaitPod}).
     */
    static DavitException admission(String doing, String m, String shown) {
        if (m.contains("exceeded quota")) {
            return new DavitException(Kind.USAGE, "the cluster's ResourceQuota refused to let davit " + doing + " ("
                    + shown + "); ask for a smaller sandbox or a larger quota");
        }
        if (m.contains("violates PodSecurity")) {
            return new DavitException(Kind.USAGE, "the namespace's Pod Security admission refused davit's pod ("
                    + shown + "); use a namespace whose level admits it (DAVIT_K8S_NAMESPACE, docs/reference/KUBERNETES.md)");
        }
        if (m.contains("failed quota") || m.contains("must specify")) {
            return new DavitException(Kind.USAGE, dev.davit.oci.Message.of("the cluster's ResourceQuota refused to let"
                    + " davit " + doing + " (" + shown + "); give the sandbox limits (", dev.davit.oci.Input.MEMORY,
                    ", ", dev.davit.oci.Input.CPUS, ") or ask for a larger quota"));
        }
        return null;
    }

    static String reason(Exception e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t && (t.getMessage() == null || t.getMessage().isEmpty())) {
            t = t.getCause();
        }
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        m = dev.davit.oci.internal.Text.printable(m.replace('\n', ' '));
        return m.length() > 200 ? m.substring(0, 200) + "…" : m;
    }
}
