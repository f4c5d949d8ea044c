package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Where and how the k8s backend makes its pods, from the environment (as kubectl takes its cluster):
 * <ul>
 *   <li>{@code DAVIT_K8S_KUBECONFIG}, else the first file of {@code KUBECONFIG}, else {@code ~/.kube/config}; none
 *       of them inside a pod: the in-cluster configuration;</li>
 *   <li>{@code DAVIT_K8S_NAMESPACE} (default {@code default});</li>
 *   <li>{@code DAVIT_K8S_REGISTRY}: the registry ({@code host[:port]}) davit pushes environments to and the cluster
 *       pulls them from, by digest; loopback addresses are reached over plain HTTP;</li>
 *   <li>{@code DAVIT_K8S_RUNTIME_CLASS}: the RuntimeClass of every pod (gVisor, Kata), or none;</li>
 *   <li>{@code DAVIT_K8S_AGENT_SANDBOX}: {@code auto} (the default), {@code on} or {@code off}: whether a long-lived
 *       sandbox's pod is made through agent-sandbox's {@code Sandbox} object ({@link AgentSandbox});</li>
 *   <li>{@code DAVIT_K8S_EGRESS_EXCEPT}: the IPv4 CIDRs, comma-separated, that no egress gate may reach whatever
 *       its policy says (the NetworkPolicy {@link Pods#egress}); by default {@link #PRIVATE}, the private,
 *       shared, link-local, loopback and reserved ranges, where a cluster's own addresses usually are. Name the
 *       cluster's nodes, pods and services here when they have public addresses (the nodes' own addresses are
 *       added to it, found: {@link NodeAddresses});</li>
 *   <li>{@code DAVIT_K8S_OVERCOMMIT}: how many idle sandboxes share one sandbox's CPU limit (default
 *       {@value #DEFAULT_OVERCOMMIT}): a sandbox container requests its CPU limit divided by it, its memory and disk
 *       in full (Burstable: a node's CPUs hold that many idle sandboxes per CPU of limit, each may use up to its
 *       limit while the node has room); {@code 1} requests the limits themselves in every container of the pod
 *       (Guaranteed).</li>
 *   <li>{@code DAVIT_K8S_NODE_SELECTOR}: {@code key=value} pairs, comma-separated, that a node must have to take a
 *       sandbox's pod (dedicated sandbox nodes; the test cluster's simulated ones);</li>
 *   <li>{@code DAVIT_K8S_TOLERATIONS}: {@code key[=value]:Effect} taints, comma-separated, that sandbox pods
 *       tolerate (the taints of those nodes);</li>
 *   <li>{@code DAVIT_K8S_QPS} and {@code DAVIT_K8S_BURST}: this process's requests to the API server a second once
 *       {@code BURST} went at once (defaults {@value #DEFAULT_QPS} and {@value #DEFAULT_BURST}: {@link Throttle});
 *       {@code DAVIT_K8S_QPS=0} sends them unthrottled.</li>
 * </ul>
 *
 * @param kubeconfig   the kubeconfig file, or null for the in-cluster configuration
 * @param namespace    the namespace of davit's pods
 * @param registry     the registry the cluster pulls from, or null when none is set
 * @param runtimeClass the pods' RuntimeClass, or null
 * @param agentSandbox whether long-lived sandboxes are agent-sandbox {@code Sandbox} objects
 * @param egressExcept the CIDRs no egress gate reaches
 * @param overcommit   how many idle sandboxes share one sandbox's limits (1: requests are the limits)
 * @param exceptGiven  whether the operator named the CIDRs (else they are the default)
 * @param nodeSelector the labels a node must have to take a sandbox's pod
 * @param tolerations  the taints a sandbox's pod tolerates, as {@code key[=value]:Effect}
 * @param qps          requests a second to the API server, 0 for no limit
 * @param burst        requests at once before {@code qps} holds
 */
record K8sSettings(Path kubeconfig, String namespace, String registry, String runtimeClass,
                   AgentSandbox.Mode agentSandbox, List<String> egressExcept, int overcommit, boolean exceptGiven,
                   Map<String, String> nodeSelector, List<String> tolerations, int qps, int burst) {
    private static final Pattern LABEL = Pattern.compile("([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}"
            + "[A-Za-z0-9])?");
    private static final Pattern VALUE = Pattern.compile("([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?");
    private static final List<String> EFFECTS = List.of("NoSchedule", "PreferNoSchedule", "NoExecute");
    /** The default of {@code DAVIT_K8S_OVERCOMMIT}: 50m of CPU requested by a default workspace (1 CPU). */
    static final int DEFAULT_OVERCOMMIT = 20;
    /**
     * The default of {@code DAVIT_K8S_QPS}: a thousand sandboxes' creates (one write each) reach the server within
     * ten seconds, and a retry after a 429 waits its turn behind them.
     */
    static final int DEFAULT_QPS = 100;
    /** The default of {@code DAVIT_K8S_BURST}. */
    static final int DEFAULT_BURST = 200;
    /** The default of {@code DAVIT_K8S_EGRESS_EXCEPT}. */
    static final List<String> PRIVATE = List.of("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
            "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4");
    private static final Pattern CIDR = Pattern.compile("(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]"
            + "|1?[0-9]?[0-9])){3}/(3[0-2]|[12]?[0-9])");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern REGISTRY = Pattern.compile("[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[a-z0-9._/-]+)?");

    static K8sSettings from(Map<String, String> env) {
        Path kubeconfig = null;
        String own = env.get("DAVIT_K8S_KUBECONFIG");
        String kc = env.get("KUBECONFIG");
        if (own != null && !own.isEmpty()) {
            kubeconfig = Path.of(own);
        } else if (kc != null && !kc.isEmpty()) {
            kubeconfig = Path.of(kc.split(":")[0]);
        } else if (env.get("KUBERNETES_SERVICE_HOST") == null && env.get("HOME") != null) {
            kubeconfig = Path.of(env.get("HOME"), ".kube", "config");
        }
        String ns = env.getOrDefault("DAVIT_K8S_NAMESPACE", "default");
        if (!DNS_LABEL.matcher(ns).matches()) {
            throw new DavitException(Kind.USAGE, "DAVIT_K8S_NAMESPACE '" + dev.davit.oci.internal.Text.printable(ns)
                    + "' is not a Kubernetes namespace name (lower-case letters, digits and '-')");
        }
        String registry = env.get("DAVIT_K8S_REGISTRY");
        if (registry != null && !registry.isEmpty() && !REGISTRY.matcher(registry).matches()) {
            throw new DavitException(Kind.USAGE, "DAVIT_K8S_REGISTRY '" + dev.davit.oci.internal.Text.printable(
                    registry) + "' is not a registry (host[:port][/path])");
        }
        String rc = env.get("DAVIT_K8S_RUNTIME_CLASS");
        if (rc != null && !rc.isEmpty() && !DNS_LABEL.matcher(rc).matches()) {
            throw new DavitException(Kind.USAGE, "DAVIT_K8S_RUNTIME_CLASS '" + dev.davit.oci.internal.Text.printable(
                    rc) + "' is not a RuntimeClass name");
        }
        List<String> except = PRIVATE;
        String ex = env.get("DAVIT_K8S_EGRESS_EXCEPT");
        if (ex != null && !ex.isBlank()) {
            except = new java.util.ArrayList<>();
            for (String c : ex.split(",")) {
                if (!CIDR.matcher(c.strip()).matches()) {
                    throw new DavitException(Kind.USAGE, "DAVIT_K8S_EGRESS_EXCEPT: '" + dev.davit.oci.internal.Text
                            .printable(c.strip()) + "' is not an IPv4 CIDR (a.b.c.d/n); give them comma-separated");
                }
                except.add(c.strip());
            }
            except = List.copyOf(except);
        }
        int overcommit = DEFAULT_OVERCOMMIT;
        String oc = env.get("DAVIT_K8S_OVERCOMMIT");
        if (oc != null && !oc.isBlank()) {
            try {
                overcommit = Integer.parseInt(oc.strip());
            } catch (NumberFormatException e) {
                overcommit = 0;
            }
            if (overcommit < 1 || overcommit > 1000) {
                throw new DavitException(Kind.USAGE, "DAVIT_K8S_OVERCOMMIT '" + dev.davit.oci.internal.Text.printable(
                        oc) + "' is not a whole number from 1 (requests are the limits: Guaranteed) to 1000");
            }
        }
        return new K8sSettings(kubeconfig, ns, registry == null || registry.isEmpty() ? null : registry,
                rc == null || rc.isEmpty() ? null : rc, AgentSandbox.Mode.of(env.get(AgentSandbox.SETTING)), except,
                overcommit, except != PRIVATE, nodeSelector(env.get("DAVIT_K8S_NODE_SELECTOR")),
                tolerations(env.get("DAVIT_K8S_TOLERATIONS")), count(env, "DAVIT_K8S_QPS", DEFAULT_QPS, 0),
                count(env, "DAVIT_K8S_BURST", DEFAULT_BURST, 1));
    }

    /** Setting {@code name}'s whole number, from {@code min} to 100000, or {@code dflt} when unset. */
    private static int count(Map<String, String> env, String name, int dflt, int min) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v.strip());
            if (n >= min && n <= 100_000) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new DavitException(Kind.USAGE, name + " '" + dev.davit.oci.internal.Text.printable(v) + "' is not a whole"
                + " number from " + min + " to 100000" + (min == 0 ? " (0: no limit)" : ""));
    }

    private static Map<String, String> nodeSelector(String v) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        if (v != null && !v.isBlank()) {
            for (String pair : v.split(",")) {
                String[] kv = pair.strip().split("=", 2);
                if (kv.length != 2 || !LABEL.matcher(kv[0]).matches() || !VALUE.matcher(kv[1]).matches()) {
                    throw new DavitException(Kind.USAGE, "DAVIT_K8S_NODE_SELECTOR: '" + dev.davit.oci.internal.Text
                            .printable(pair.strip()) + "' is not a node label (key=value); give them comma-separated");
                }
                m.put(kv[0], kv[1]);
            }
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    private static List<String> tolerations(String v) {
        List<String> all = new java.util.ArrayList<>();
        if (v != null && !v.isBlank()) {
            for (String t : v.split(",")) {
                String s = t.strip();
                int colon = s.lastIndexOf(':');
                String[] kv = (colon < 0 ? "" : s.substring(0, colon)).split("=", 2);
                if (colon < 0 || !EFFECTS.contains(s.substring(colon + 1)) || !LABEL.matcher(kv[0]).matches()
                        || kv.length == 2 && !VALUE.matcher(kv[1]).matches()) {
                    throw new DavitException(Kind.USAGE, "DAVIT_K8S_TOLERATIONS: '" + dev.davit.oci.internal.Text
                            .printable(s) + "' is not a taint (key[=value]:NoSchedule, PreferNoSchedule or"
                            + " NoExecute); give them comma-separated");
                }
                all.add(s);
            }
        }
        return List.copyOf(all);
    }

    /** Whether every container of a pod requests its limits ({@code DAVIT_K8S_OVERCOMMIT=1}). */
    boolean guaranteed() {
        return overcommit == 1;
    }

    /** The registry, or a USAGE error saying how to set one. */
    String requireRegistry() {
        if (registry == null) {
            throw new DavitException(Kind.USAGE, "the k8s backend needs a registry the cluster pulls environments"
                    + " from: set DAVIT_K8S_REGISTRY=host[:port] (davit pushes each environment there by digest)");
        }
        return registry;
    }

    /** The kubeconfig, or a USAGE error naming the file and the variables. */
    Path requireKubeconfig() {
        if (kubeconfig != null && !Files.isRegularFile(kubeconfig)) {
            throw new DavitException(Kind.USAGE, "no kubeconfig at " + kubeconfig + "; set KUBECONFIG (or"
                    + " DAVIT_K8S_KUBECONFIG) to the cluster's kubeconfig file");
        }
        return kubeconfig;
    }

    /** Whether the registry is reached over plain HTTP: a loopback one. */
    boolean plainHttp() {
        if (registry == null) {
            return false;
        }
        String host = registryHost();
        int colon = host.startsWith("[") ? host.indexOf(']') + 1 : host.lastIndexOf(':');
        host = colon > 0 && colon < host.length() && host.charAt(colon) == ':' ? host.substring(0, colon) : host;
        return host.equals("localhost") || host.equals("[::1]") || host.matches("127(\\.[0-9]{1,3}){3}");
    }

    /** The registry's host[:port], without a path. */
    String registryHost() {
        int slash = requireRegistry().indexOf('/');
        return slash < 0 ? registry : registry.substring(0, slash);
    }
}
