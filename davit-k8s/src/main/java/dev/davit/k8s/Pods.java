package dev.davit.k8s;

import dev.davit.sandbox.Limits;
import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pods of davit's sandboxes, as data. Every pod: no service-account token, no host namespaces, every
 * capability dropped, no privilege escalation, {@code seccompProfile: RuntimeDefault}, the operator's RuntimeClass,
 * limits from the sandbox's; its network is cut by {@link #denyAll} (a NetworkPolicy, where the CNI enforces one).
 * The sandbox container's PID 1 is davit-agent ({@code davit-agent pod}), copied with a static busybox by an init
 * container from davit's agent image into an emptyDir at {@code /.davit}; commands, files and detached processes are
 * requests to it on one long-lived exec stream per sandbox and process ({@link PodLinks}).
 */
final class Pods {
    /** Every object davit makes carries it: what davit removes, and only that. */
    static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    static final String DAVIT = "davit";
    /** The sandbox's id. */
    static final String SANDBOX = "davit.dev/sandbox";
    /** Which davit home made it ({@link HomeId}): a davit removes only its own home's pods. */
    static final String HOME = "davit.dev/home";
    static final String CONTAINER = "sandbox";
    static final String POLICY = "davit-deny-all";
    /** The label of the pods with an egress gate ({@link #egressLabel}); {@link #egress} lets them out. */
    static final String EGRESS = "davit.dev/egress";
    static final String GATE = "gate";

    private Pods() {
    }

    /** The pod's name: the sandbox's id, which is a DNS label already ({@code sbx-} or {@code sb-} and hex). */
    static String name(String sandboxId) {
        return "davit-" + sandboxId.toLowerCase(java.util.Locale.ROOT);
    }

    /** The label value of a davit home's objects: its id ({@link HomeId}). */
    static String homeLabel(java.nio.file.Path home) {
        return HomeId.of(home);
    }

    static Map<String, String> labels(String sandboxId, String home) {
        Map<String, String> l = new LinkedHashMap<>();
        l.put(MANAGED_BY, DAVIT);
        l.put(SANDBOX, sandboxId.toLowerCase(java.util.Locale.ROOT));
        l.put(HOME, home);
        return l;
    }

    /**
     * The egress gate of a sandbox with an egress policy: its image and its rules' ({@link GateImage}), and the
     * environment it starts from ({@code PodEgress.environment}).
     */
    record Gate(String image, String rulesImage, Map<String, String> env, List<String> except) {
    }

    /**
     * The pod of sandbox {@code sandboxId} of home {@code home} as {@code plan} says; with its gate (when it has one)
     * the pod's rules set by an init container with NET_ADMIN and
     * NET_RAW (the only one that has any), then the gate as a sidecar (a restartable init container: it serves
     * before the sandbox's container starts), as user {@link PodGates#UID}, in an emptyDir of its own.
     */
    static Pod sandbox(K8sSettings settings, String sandboxId, String home, PodLife.Plan plan) {
        Limits limits = plan.limits();
        Gate gate = plan.gate();
        Map<String, String> lim = new LinkedHashMap<>();
        if (limits.memoryMiB() > 0) {
            lim.put("memory", limits.memoryMiB() + "Mi");
        }
        if (limits.cpus() > 0) {
            lim.put("cpu", Math.max(1, Math.round(limits.cpus() * 1000)) + "m");
        }
        if (limits.diskMiB() > 0) {
            lim.put("ephemeral-storage", limits.diskMiB() + "Mi");
        }
        Map<String, Quantity> quantities = new LinkedHashMap<>();
        lim.forEach((k, v) -> quantities.put(k, new Quantity(v)));
        Map<String, String> labels = labels(sandboxId, home);
        if (gate != null) {
            labels.put(EGRESS, egressLabel(gate.except()));
        }
        Pod pod = new PodBuilder()
                .withNewMetadata().withName(name(sandboxId)).withNamespace(settings.namespace())
                .withLabels(labels).endMetadata()
                .withNewSpec()
                .withAutomountServiceAccountToken(false)
                .withEnableServiceLinks(false)
                .withHostNetwork(false).withHostPID(false).withHostIPC(false)
                .withRestartPolicy("Never")
                .withRuntimeClassName(settings.runtimeClass())
                .withTerminationGracePeriodSeconds(2L)
                // spread over the nodes where the scheduler can (one node's loss takes fewer sandboxes with it),
                // before it prefers a node for having the image already
                .addNewTopologySpreadConstraint().withMaxSkew(1).withTopologyKey("kubernetes.io/hostname")
                .withWhenUnsatisfiable("ScheduleAnyway").withNewLabelSelector()
                .withMatchLabels(Map.of(MANAGED_BY, DAVIT, HOME, home)).endLabelSelector()
                .endTopologySpreadConstraint()
                .withNewSecurityContext().withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
                .endSecurityContext()
                // the agent's programs, read-only in the sandbox's container; and the agent's writable directories,
                // one emptyDir's: /.davit/run (busybox's tools, the start mark, a save's stage), /.davit/procs (the
                // records of detached processes), /.davit/stage (a workspace's changes before they are moved in):
                // both the disk limit's
                .addNewVolume().withName("davit").withNewEmptyDir().endEmptyDir().endVolume()
                .addNewVolume().withName("davit-run").withNewEmptyDir().endEmptyDir().endVolume()
                // /run/secrets: in memory, never on the node's disk (a workspace's secrets, Secrets.materialise)
                .addNewVolume().withName("secrets").withNewEmptyDir().withMedium("Memory")
                .withSizeLimit(new Quantity("1Mi")).endEmptyDir().endVolume()
                .addNewInitContainer().withName("davit-agent").withImage(plan.agentImage())
                // as root without a capability, owner of the emptyDirs: the agent's programs are root's in a
                // directory the sandbox's container mounts read-only (not even a root image's processes replace them:
                // no CAP_SYS_ADMIN to mount it again), and /.davit/run sticky (1777), so the sandbox's user makes its
                // files there and no other user of the pod replaces or removes them
                .withCommand("/busybox", "sh", "-c", INSTALL)
                .withSecurityContext(new SecurityContextBuilder(locked()).withRunAsUser(0L).withRunAsGroup(0L)
                        .withRunAsNonRoot(false).build())
                // its own small limits (a namespace with a compute quota refuses a container without any), and
                // smaller requests: a pod's request is at least its largest init container's, and with requests as
                // large as these limits two 2-CPU nodes took 40 pods, whatever their sandboxes asked for
                .withNewResources().withLimits(INIT_LIMITS).withRequests(settings.guaranteed() ? INIT_LIMITS : SMALL)
                .endResources()
                .addNewVolumeMount().withName("davit").withMountPath("/.davit").endVolumeMount()
                .addNewVolumeMount().withName("davit-run").withMountPath(WRITABLE_INIT).endVolumeMount()
                .endInitContainer()
                .addNewContainer().withName(CONTAINER).withImage(plan.image())
                // davit-agent's pod mode: prepares /.davit/run (busybox's tools, the start mark), reaps, ends on TERM
                .withCommand(PodLinks.PROGRAM, "pod")
                // the image's user as davit resolved it (never left to the runtime, which would resolve a name, or
                // a number such as 015337, its own way), and the kubelet told to refuse root when it is not root
                .withSecurityContext(new SecurityContextBuilder(locked()).withRunAsUser(plan.user()[0])
                        .withRunAsGroup(plan.user()[1]).withRunAsNonRoot(plan.user()[0] != 0 ? Boolean.TRUE : null)
                        .build())
                .addNewVolumeMount().withName("davit").withMountPath("/.davit").withReadOnly(agentReadOnly)
                .endVolumeMount()
                .addNewVolumeMount().withName("davit-run").withMountPath("/.davit/run").withSubPath("run")
                .endVolumeMount()
                .addNewVolumeMount().withName("davit-run").withMountPath("/.davit/procs").withSubPath("procs")
                .endVolumeMount()
                .addNewVolumeMount().withName("davit-run").withMountPath("/.davit/stage").withSubPath("stage")
                .endVolumeMount()
                .addNewVolumeMount().withName("secrets").withMountPath("/run/secrets").endVolumeMount()
                .withNewResources().withLimits(quantities).withRequests(requests(quantities, settings.overcommit()))
                .endResources()
                .endContainer()
                .endSpec().build();
        if (!settings.nodeSelector().isEmpty()) {
            pod.getSpec().setNodeSelector(new LinkedHashMap<>(settings.nodeSelector()));
        }
        List<io.fabric8.kubernetes.api.model.Toleration> tolerations = new java.util.ArrayList<>();
        for (String t : settings.tolerations()) {
            int colon = t.lastIndexOf(':');
            String[] kv = t.substring(0, colon).split("=", 2);
            tolerations.add(new io.fabric8.kubernetes.api.model.TolerationBuilder()
                    .withKey(kv[0]).withOperator(kv.length == 2 ? "Equal" : "Exists")
                    .withValue(kv.length == 2 ? kv[1] : null).withEffect(t.substring(colon + 1)).build());
        }
        if (!tolerations.isEmpty()) {
            pod.getSpec().setTolerations(tolerations);
        }
        if (plan.activeDeadline() != null) {
            pod.getSpec().setActiveDeadlineSeconds(Math.max(1, plan.activeDeadline().toSeconds()));
        }
        if (gate != null) {
            PodGates.add(pod, gate, settings.guaranteed());
        }
        return pod;
    }

    /**
     * The uid and gid a sandbox of an image whose root file system is {@code rootfs} runs as: the image's user
     * ({@code User} of its config: a number, or a name of its /etc/passwd), root when it names none.
     *
     * @throws dev.davit.oci.DavitException USAGE when it cannot be resolved
     */
    static long[] imageUser(java.nio.file.Path rootfs, dev.davit.sandbox.ImageConfig image) {
        return dev.davit.sandbox.backend.PodEgress.imageIds(rootfs, image == null ? null : image.user());
    }

    /**
     * The requests of a sandbox container of {@code limits}: its CPU limit divided by the operator's {@code
     * overcommit} ({@link K8sSettings#overcommit}: an idle sandbox uses next to none, and one that works takes up
     * to its limit while the node has room: Burstable), its memory and disk in full (neither can be taken back
     * from a sandbox that uses them: under pressure the kubelet evicts first the pods using more than they asked
     * for, and an evicted pod's files since its last stop are lost); all of it at 1 (with the other containers':
     * Guaranteed).
     */
    static Map<String, Quantity> requests(Map<String, Quantity> limits, int overcommit) {
        Map<String, Quantity> r = new LinkedHashMap<>(limits);
        Quantity cpu = limits.get("cpu");
        if (overcommit > 1 && cpu != null) {
            java.math.BigDecimal part = cpu.getNumericalAmount().divide(java.math.BigDecimal.valueOf(overcommit), 3,
                    java.math.RoundingMode.UP);
            r.put("cpu", new Quantity(Math.max(1, part.movePointRight(3).setScale(0, java.math.RoundingMode.UP)
                    .longValueExact()) + "m"));
        }
        return r;
    }

    /** The init container's commands: the agent's programs copied, the directory made sticky. */
    private static final String INSTALL = "/busybox cp /busybox /davit-agent /.davit/ && /busybox chmod 0755"
            + " /.davit/busybox /.davit/davit-agent && /busybox mkdir -p /.davit/run /.davit/procs /.davit/stage"
            + " /.davit-run/run /.davit-run/procs /.davit-run/stage && /busybox chmod 0755 /.davit && /busybox chmod"
            + " 1777 /.davit-run/run /.davit-run/procs /.davit-run/stage";
    /** Where the init container has the emptyDir of the agent's writable directories, to make them. */
    private static final String WRITABLE_INIT = "/.davit-run";
    /**
     * Whether the sandbox's container mounts the agent's directory read-only: always, but in K8sAgentTest, which
     * plays an agent the sandbox replaced (as a davit before this one let a root image do) against davit's side.
     */
    static volatile boolean agentReadOnly = true;

    /** The limits of davit's own short init containers. */
    static final Map<String, Quantity> INIT_LIMITS = Map.of("cpu", new Quantity("100m"), "memory",
            new Quantity("32Mi"), "ephemeral-storage", new Quantity("64Mi"));

    /** The requests of davit's own short init containers: they copy or load a few files. */
    static final Map<String, Quantity> SMALL = Map.of("cpu", new Quantity("5m"), "memory", new Quantity("8Mi"),
            "ephemeral-storage", new Quantity("1Mi"));

    /** No capabilities, no privilege escalation, the runtime's seccomp profile. */
    static SecurityContext locked() {
        return new SecurityContextBuilder()
                .withCapabilities(new Capabilities(null, List.of("ALL")))
                .withAllowPrivilegeEscalation(false)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
                .build();
    }

    /**
     * Denies every connection to and from davit's pods of the namespace: no rule admits any (a sandbox's allow-list
     * comes through davit's egress gate, not through the pod network). Enforced where the CNI plugin enforces
     * NetworkPolicy (docs/reference/KUBERNETES.md).
     */
    /**
     * Lets davit's pods that have an egress gate connect out to any address but those of {@link
     * K8sSettings#egressExcept} and the nodes' own addresses ({@code except}, {@link NodeAddresses}: the cluster's
     * own: private, link-local, loopback ranges by default), and to the
     * cluster's DNS (kube-system's {@code k8s-app: kube-dns} pods, port 53). Only the gate's connections leave such a
     * pod (its rules send every other to the gate), and the gate makes only those its policy allows: this policy is
     * the cluster's bound on where a gate could go at most.
     */
    /**
     * The value of {@link #EGRESS} of a gated pod: {@code gate-} and a hash of the except list it is held to, so that
     * davits of one namespace with different lists each have their own policy and never change another's.
     */
    static String egressLabel(List<String> except) {
        return GATE + "-" + dev.davit.oci.digest.Digest.sha256(String.join(",", except)
                .getBytes(StandardCharsets.UTF_8)).hex().substring(0, 12);
    }

    static NetworkPolicy egress(K8sSettings settings, List<String> except) {
        var dns = new io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyEgressRuleBuilder()
                .addNewTo().withNewNamespaceSelector().withMatchLabels(Map.of("kubernetes.io/metadata.name",
                        "kube-system")).endNamespaceSelector().withNewPodSelector().withMatchLabels(Map.of("k8s-app",
                        "kube-dns")).endPodSelector().endTo()
                .addNewPort().withProtocol("UDP").withPort(new io.fabric8.kubernetes.api.model.IntOrString(53))
                .endPort()
                .addNewPort().withProtocol("TCP").withPort(new io.fabric8.kubernetes.api.model.IntOrString(53))
                .endPort().build();
        var out = new io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyEgressRuleBuilder()
                .addNewTo().withNewIpBlock().withCidr("0.0.0.0/0").withExcept(except).endIpBlock()
                .endTo().build();
        return new NetworkPolicyBuilder()
                .withNewMetadata().withName("davit-egress-" + egressLabel(except)).withNamespace(settings.namespace())
                .withLabels(Map.of(MANAGED_BY, DAVIT))
                .withAnnotations(Map.of("davit.dev/egress-except", String.join(",", except)))
                .endMetadata()
                .withNewSpec().withNewPodSelector().withMatchLabels(Map.of(MANAGED_BY, DAVIT, EGRESS, egressLabel(except)))
                .endPodSelector().withPolicyTypes("Egress").withEgress(out, dns).endSpec()
                .build();
    }

    static NetworkPolicy denyAll(K8sSettings settings) {
        return new NetworkPolicyBuilder()
                .withNewMetadata().withName(POLICY).withNamespace(settings.namespace())
                .withLabels(Map.of(MANAGED_BY, DAVIT)).endMetadata()
                .withNewSpec().withNewPodSelector().withMatchLabels(Map.of(MANAGED_BY, DAVIT)).endPodSelector()
                .withPolicyTypes("Ingress", "Egress").endSpec()
                .build();
    }
}
