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
 * The sandbox container's PID 1 is davit's agent ({@code agent pod}), copied in by an init container from davit's
 * agent image into an emptyDir at {@code /.davit}; execs and file operations come in through the pod's exec streams.
 */
final class Pods {
    /** Every object davit makes carries it: what davit removes, and only that. */
    static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    static final String DAVIT = "davit";
    /** The sandbox's id. */
    static final String SANDBOX = "davit.dev/sandbox";
    /** Which davit home made it (a hash of its path): a davit removes only its own home's pods. */
    static final String HOME = "davit.dev/home";
    static final String CONTAINER = "sandbox";
    static final String POLICY = "davit-deny-all";

    private Pods() {
    }

    /** The pod's name: the sandbox's id, which is a DNS label already ({@code sbx-} or {@code sb-} and hex). */
    static String name(String sandboxId) {
        return "davit-" + sandboxId.toLowerCase(java.util.Locale.ROOT);
    }

    /** A hash of a davit home's path, as a label value. */
    static String homeLabel(java.nio.file.Path home) {
        return dev.davit.oci.digest.Digest.sha256(home.toAbsolutePath().normalize().toString()
                .getBytes(StandardCharsets.UTF_8)).hex().substring(0, 16);
    }

    static Map<String, String> labels(String sandboxId, String home) {
        Map<String, String> l = new LinkedHashMap<>();
        l.put(MANAGED_BY, DAVIT);
        l.put(SANDBOX, sandboxId.toLowerCase(java.util.Locale.ROOT));
        l.put(HOME, home);
        return l;
    }

    static Pod sandbox(K8sSettings settings, String sandboxId, String home, String image, String agentImage,
                       Limits limits) {
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
        return new PodBuilder()
                .withNewMetadata().withName(name(sandboxId)).withNamespace(settings.namespace())
                .withLabels(labels(sandboxId, home)).endMetadata()
                .withNewSpec()
                .withAutomountServiceAccountToken(false)
                .withEnableServiceLinks(false)
                .withHostNetwork(false).withHostPID(false).withHostIPC(false)
                .withRestartPolicy("Never")
                .withRuntimeClassName(settings.runtimeClass())
                .withTerminationGracePeriodSeconds(2L)
                .withNewSecurityContext().withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
                .endSecurityContext()
                .addNewVolume().withName("davit").withNewEmptyDir().endEmptyDir() // the agent's transfers: the pod's disk limit
                .endVolume()
                // /run/secrets: in memory, never on the node's disk (a workspace's secrets, Secrets.materialise)
                .addNewVolume().withName("secrets").withNewEmptyDir().withMedium("Memory")
                .withSizeLimit(new Quantity("1Mi")).endEmptyDir().endVolume()
                .addNewInitContainer().withName("davit-agent").withImage(agentImage)
                .withCommand("/busybox", "cp", "/busybox", "/agent", "/.davit/")
                .withSecurityContext(locked())
                // its own small limits: a namespace with a compute quota refuses a container without any
                .withNewResources().withLimits(Map.of("cpu", new Quantity("100m"), "memory", new Quantity("32Mi"),
                        "ephemeral-storage", new Quantity("64Mi"))).endResources()
                .addNewVolumeMount().withName("davit").withMountPath("/.davit").endVolumeMount()
                .endInitContainer()
                .addNewContainer().withName(CONTAINER).withImage(image)
                .withCommand("/.davit/busybox", "sh", "/.davit/agent", "pod")
                .withSecurityContext(locked())
                .addNewVolumeMount().withName("davit").withMountPath("/.davit").endVolumeMount()
                .addNewVolumeMount().withName("secrets").withMountPath("/run/secrets").endVolumeMount()
                .withNewResources().withLimits(quantities).endResources()
                .endContainer()
                .endSpec().build();
    }

    /** No capabilities, no privilege escalation, the runtime's seccomp profile. */
    private static SecurityContext locked() {
        return new SecurityContextBuilder()
                .withCapabilities(new Capabilities(null, List.of("ALL")))
                .withAllowPrivilegeEscalation(false)
                .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
                .build();
    }

    /**
     * Denies every connection to and from davit's pods of the namespace: no rule admits any (a sandbox's allow-list
     * comes through davit's egress gate, not through the pod network). Enforced where the CNI plugin enforces
     * NetworkPolicy (docs/KUBERNETES.md).
     */
    static NetworkPolicy denyAll(K8sSettings settings) {
        return new NetworkPolicyBuilder()
                .withNewMetadata().withName(POLICY).withNamespace(settings.namespace())
                .withLabels(Map.of(MANAGED_BY, DAVIT)).endMetadata()
                .withNewSpec().withNewPodSelector().withMatchLabels(Map.of(MANAGED_BY, DAVIT)).endPodSelector()
                .withPolicyTypes("Ingress", "Egress").endSpec()
                .build();
    }
}
