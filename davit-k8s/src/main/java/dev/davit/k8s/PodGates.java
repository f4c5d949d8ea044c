package dev.davit.k8s;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.backend.PodEgress;
import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The egress gate of a pod ({@code davit-agent gate pod}, see {@link PodEgress}): what it adds to the pod ({@link
 * #add}), and davit's words with it over the pod's exec streams (a new policy, the secrets it adds, what it refused),
 * each the gate's program in one of its modes: its image has no shell.
 */
final class PodGates {
    /**
     * The gate's user and group: the pod's rules let this user's packets out and send everyone else's to the gate,
     * so no sandbox may run as it ({@link K8sLifecycle#prepare} refuses an image whose user it is).
     */
    static final long UID = 15337;
    /** The gate's sidecar (a restartable init container) and the init container that sets the pod's rules. */
    static final String CONTAINER = "davit-gate";
    static final String RULES = "davit-egress-rules";
    /** The gate's directory: an emptyDir only its container mounts. */
    static final String DIR = "/gate";
    /**
     * The rules' set-up, {@code sh -c SCRIPT sh RULES RULES6}: the legacy iptables first (as the one-host gate does),
     * else the nftables one; IPv6 too where the pod has it.
     */
    private static final String SCRIPT = "set -u\n"
            + "load() { printf '%s' \"$2\" | /sbin/xtables-legacy-multi $1 2>/dev/null"
            + " || printf '%s' \"$2\" | /sbin/xtables-nft-multi $1; }\n"
            + "load iptables-restore \"$1\" || { echo \"davit: the pod's egress rules could not be set\" >&2;"
            + " exit 1; }\n"
            + "if [ -e /proc/net/if_inet6 ]; then load ip6tables-restore \"$2\" || { echo \"davit: the pod's IPv6"
            + " rules could not be set\" >&2; exit 1; }; fi\n";

    private static final Map<String, Quantity> RULES_LIMITS = Map.of("cpu", new Quantity("100m"), "memory",
            new Quantity("32Mi"), "ephemeral-storage", new Quantity("16Mi"));
    private static final Map<String, Quantity> SIDECAR_LIMITS = Map.of("cpu", new Quantity("500m"), "memory",
            new Quantity("128Mi"), "ephemeral-storage", new Quantity("16Mi"));

    private PodGates() {
    }

    /** The gate of a pod of a sandbox with {@code policy}: its images built and pushed when needed. */
    static Pods.Gate of(Cluster c, Path home, EgressPolicy policy, SandboxOptions options) {
        return new Pods.Gate(GateImage.gate(c.settings, home, options), GateImage.rules(c.settings, home),
                PodEgress.environment(policy, options), NodeAddresses.except(c));
    }

    /**
     * Refuses {@code user} (a uid and gid, {@link Pods#imageUser}) for a sandbox's container beside a gate when it is
     * the gate's: its packets would leave the pod unchecked.
     *
     * @throws DavitException USAGE when it is the gate's user
     */
    static void refuseGateUser(long[] ids) {
        if (ids[0] == UID) {
            throw new DavitException(Kind.USAGE, "the image's user is uid " + UID + ", the k8s backend's egress"
                    + " gate's (whose packets leave the pod unchecked): run the image as another user, or without an"
                    + " egress policy");
        }
    }

    /**
     * Adds {@code gate}'s rules, sidecar and directory to {@code pod} (its label and its sandbox container's user,
     * never the gate's, are set by {@link Pods}), and keeps every port under 1024 of the pod's namespace
     * for a capability no container of it has (a sandbox cannot answer for the loopback name server the gate may
     * be given).
     */
    static void add(Pod pod, Pods.Gate gate, boolean guaranteed) {
        var spec = pod.getSpec();
        List<io.fabric8.kubernetes.api.model.Sysctl> sysctls = new ArrayList<>();
        if (spec.getSecurityContext().getSysctls() != null) {
            sysctls.addAll(spec.getSecurityContext().getSysctls());
        }
        sysctls.add(new io.fabric8.kubernetes.api.model.Sysctl("net.ipv4.ip_unprivileged_port_start", "1024"));
        spec.getSecurityContext().setSysctls(sysctls);
        spec.getVolumes().add(new VolumeBuilder().withName("gate").withNewEmptyDir().withMedium("Memory")
                .withSizeLimit(new Quantity("8Mi")).endEmptyDir().build());
        Container rules = new ContainerBuilder().withName(RULES).withImage(gate.rulesImage())
                .withCommand("/busybox", "sh", "-c", SCRIPT, "sh", PodEgress.rules(UID), PodEgress.rules6())
                .withSecurityContext(new SecurityContextBuilder()
                        .withCapabilities(new Capabilities(List.of("NET_ADMIN", "NET_RAW"), List.of("ALL")))
                        .withRunAsUser(0L).withRunAsNonRoot(false).withAllowPrivilegeEscalation(false)
                        .withReadOnlyRootFilesystem(true)
                        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().build())
                .withNewResources().withLimits(RULES_LIMITS).withRequests(guaranteed ? RULES_LIMITS : Pods.SMALL)
                .endResources()
                .build();
        List<EnvVar> env = new ArrayList<>();
        gate.env().forEach((k, v) -> env.add(new EnvVar(k, v, null)));
        Container sidecar = new ContainerBuilder().withName(CONTAINER).withImage(gate.image())
                .withRestartPolicy("Always") // a sidecar: up before the sandbox's container, for the pod's life
                .withWorkingDir(DIR)
                .withCommand(PodEgress.command())
                .withEnv(env)
                .withSecurityContext(new SecurityContextBuilder(Pods.locked()).withRunAsUser(UID).withRunAsGroup(UID)
                        .withRunAsNonRoot(true).withReadOnlyRootFilesystem(true).build())
                .addNewVolumeMount().withName("gate").withMountPath(DIR).endVolumeMount()
                .withNewStartupProbe().withNewExec().withCommand(PodEgress.ready()).endExec().withPeriodSeconds(1)
                .withFailureThreshold(120).endStartupProbe()
                // requests for what an idle gate takes (a sidecar's add to the pod's: 2 MiB resident), limits for a
                // busy one (512 connections at 128 KiB of buffers each while bytes flow, TLS for its secrets)
                .withNewResources().withLimits(SIDECAR_LIMITS).withRequests(guaranteed ? SIDECAR_LIMITS
                        : Map.of("cpu", new Quantity("10m"), "memory", new Quantity("8Mi"), "ephemeral-storage",
                        new Quantity("1Mi"))).endResources()
                .build();
        spec.getInitContainers().add(rules);
        spec.getInitContainers().add(sidecar);
    }

    /** Gives the gate of pod {@code pod} a new policy: new names and connections follow it once this returns. */
    static void policy(Cluster c, String pod, EgressPolicy policy) {
        byte[] text = PodEgress.policyText(policy).getBytes(StandardCharsets.UTF_8);
        String reply = ask(c, pod, PodEgress.policy(text.length), text);
        if (!reply.equals("ok")) {
            throw new DavitException(Kind.INTERNAL, "the sandbox's egress gate refused the policy: " + reply);
        }
    }

    /**
     * Gives the gate of pod {@code pod} the secrets it adds (replacing those it had); kept in its memory and its
     * in-memory emptyDir (for a restart of its container) only.
     */
    static void secrets(Cluster c, String pod, List<String> lines) {
        byte[] request = PodEgress.inject(lines).getBytes(StandardCharsets.UTF_8);
        String reply = ask(c, pod, PodEgress.ask(request.length), request);
        if (!reply.equals("ok")) {
            throw new DavitException(Kind.INTERNAL, "the sandbox's egress gate did not take the secrets it adds: "
                    + reply);
        }
    }

    /** What the gate of pod {@code pod} refused, oldest first (JSON lines); empty when its pod is gone. */
    static List<String> denials(Cluster c, String pod) {
        List<String> out = new ArrayList<>();
        for (String f : PodEgress.DENIALS) {
            byte[] b;
            try {
                b = exec(c, pod, null, PodEgress.tail(f).toArray(String[]::new))[0];
            } catch (RuntimeException e) {
                return out; // no pod, no gate (or one that cannot say): nothing it refuses now
            }
            List<String> lines = new String(b, StandardCharsets.UTF_8).lines().toList();
            out.addAll(b.length >= PodEgress.DENIALS_READ_MAX && !lines.isEmpty() ? lines.subList(1, lines.size())
                    : lines);
        }
        return out;
    }

    /**
     * Runs the gate's {@code command} (a mode that reads exactly its input's length: the exec stream cannot close a
     * command's input) in pod {@code pod}'s gate container with {@code input} on its standard input; the gate's
     * one-line answer. The input (a policy, secrets) goes over the exec stream only, never into an argument or a
     * file of the pod's spec.
     */
    private static String ask(Cluster c, String pod, List<String> command, byte[] input) {
        byte[][] r = exec(c, pod, new ByteArrayInputStream(input), command.toArray(String[]::new));
        String out = new String(r[0], StandardCharsets.UTF_8).strip();
        String err = new String(r[1], StandardCharsets.UTF_8);
        if (out.isEmpty() && err.contains(PodEgress.PROGRAM) && err.contains("no such file")) {
            // a pod an earlier davit made, whose gate was a JVM: no davit-agent in its image
            throw new DavitException(Kind.STATE, "the sandbox's pod was made by an earlier davit, whose egress gate"
                    + " takes no requests from this one; stop and start the sandbox to make its pod again");
        }
        return out.isEmpty() ? "no answer (" + dev.davit.oci.internal.Text.shorten(dev.davit.oci.internal.Text
                .printable(new String(r[1], StandardCharsets.UTF_8).strip()), 200) + ")" : out;
    }

    /**
     * Runs {@code argv} in pod {@code pod}'s gate container with {@code in} (or none); its stdout and stderr (the
     * first 2 MiB and 4 KiB).
     */
    private static byte[][] exec(Cluster c, String pod, java.io.InputStream in, String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        var container = c.client.pods().inNamespace(c.settings.namespace()).withName(pod).inContainer(CONTAINER);
        // what the gate's container says is bounded: its denials' tails, a one-line answer
        int max = (int) (PodEgress.DENIALS_READ_MAX + 4096);
        try (ExecWatch w = (in == null ? container : container.redirectingInput())
                .writingOutput(new PodExec.Capped(out, max)).writingError(new PodExec.Capped(err, 4096)).exec(argv)) {
            if (in != null) {
                in.transferTo(w.getInput());
                w.getInput().flush();
            }
            Integer code = w.exitCode().get(60, TimeUnit.SECONDS);
            if (code == null) {
                throw new DavitException(Kind.NETWORK, "the exec stream to pod " + pod + "'s egress gate broke");
            }
            return new byte[][] {out.toByteArray(), err.toByteArray()};
        } catch (KubernetesClientException e) {
            throw Cluster.failure("reach the egress gate of pod " + pod, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.USAGE, "interrupted");
        } catch (java.io.IOException | java.util.concurrent.ExecutionException
                 | java.util.concurrent.TimeoutException e) {
            throw new DavitException(Kind.NETWORK, "the exec stream to pod " + pod + "'s egress gate broke ("
                    + Cluster.reason(e) + ")");
        }
    }
}
