package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.dsl.ExecWatch;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An attacker inside a davit pod, on scripts/cluster.sh's cluster (which enforces NetworkPolicy with
 * kube-network-policies): no service-account token, and no connection to the API server, to any node's kubelet, to
 * the registry's port, to another pod, nor from another pod into it. Every probe is run the same way from a plain
 * pod beside it (another namespace, no NetworkPolicy, on davit's pod's node), which does connect wherever something
 * listens on an address a pod can route to: so this test fails when the policy is not enforced, and each of davit's
 * failures is the policy's drop (a timeout), not a missing tool or a port nothing listens on.
 */
@org.junit.jupiter.api.Timeout(value = 4, unit = TimeUnit.MINUTES)
class K8sNetworkTest {
    private static final String NS = "davit-nettest"; // davit's sandbox; davit makes its deny-all policy here
    private static final String PLAIN = "davit-nettest-plain"; // the plain pods: no NetworkPolicy
    private static final int LISTEN = 8080;

    @Test
    void aDavitPodReachesNothingOfTheClusterThatAPlainPodReaches() throws Exception {
        K8sSandboxTest.image(); // the image (and ClusterEnv.use of K8sSandboxTest's namespace, set back below)
        Map<String, String> env = ClusterEnv.load();
        Cluster cluster;
        try {
            ClusterEnv.use(NS);
            cluster = Cluster.get();
            for (String ns : List.of(NS, PLAIN)) {
                if (cluster.client.namespaces().withName(ns).get() == null) {
                    cluster.client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns)
                            .endMetadata().build()).create();
                }
            }
            probeFromBothSides(cluster, env);
        } finally {
            ClusterEnv.use("davit-test"); // K8sSandboxTest's, which the other classes of this JVM go on using
        }
    }

    private static void probeFromBothSides(Cluster cluster, Map<String, String> env) throws Exception {
        Sandboxes sb = new Sandboxes(SandboxOptions.under(K8sSandboxTest.home));
        Sandbox s = sb.create(CreateSpec.builder(K8sSandboxTest.rootfs).image(K8sSandboxTest.config)
                .backend(K8sDriver.NAME).build());
        String suffix = HexFormat.of().formatHex(randomBytes()); // runs at once (CI, developers) do not collide
        String listener = "nettest-listener-" + suffix;
        String control = "nettest-control-" + suffix;
        try {
            sb.start(s.id());
            Pod davit = cluster.client.pods().inNamespace(NS).withName(Pods.name(s.id())).get();
            String node = davit.getSpec().getNodeName();
            List<String> nodes = List.of(env.get("DAVIT_CLUSTER_NODES").split(","));
            String other = nodes.stream().filter(n -> !n.equals(node)).findFirst().orElse(node);
            // the listener on another node where there is one (routed between the nodes' bridges), the control on
            // davit's pod's node, so that its packets take the same way as davit's
            String image = env.get("DAVIT_CLUSTER_BUSYBOX_IMAGE");
            waitForDefaultServiceAccount(cluster);
            cluster.client.pods().inNamespace(PLAIN).resource(plainPod(listener, other, image,
                    "exec busybox nc -ll -p " + LISTEN + " -e echo hello")).create();
            cluster.client.pods().inNamespace(PLAIN).resource(plainPod(control, node, image, "exec sleep 3600"))
                    .create();
            Pod target = cluster.client.pods().inNamespace(PLAIN).withName(listener).waitUntilReady(90,
                    TimeUnit.SECONDS);
            cluster.client.pods().inNamespace(PLAIN).withName(control).waitUntilReady(90, TimeUnit.SECONDS);
            // davit's pod listens too, for the way in (a background process of an exec outlives it)
            ExecResult bg = sb.exec(s.id(), List.of("sh", "-c", "busybox nc -ll -p " + LISTEN
                    + " -e echo davit >/dev/null 2>&1 &"), null, null, null);
            assertThat(bg.exitCode()).isZero();

            URI api = cluster.client.getMasterUrl().toURI(); // the kubeconfig's server
            int registry = Integer.parseInt(env.get("DAVIT_CLUSTER_REGISTRY").replaceAll(".*:", ""));
            List<String> nodeIps = List.of(env.get("DAVIT_CLUSTER_NODE_IPS").split(","));
            List<String> gateways = List.of(env.get("DAVIT_CLUSTER_NODE_GATEWAYS").split(","));
            // What a plain pod connects to: each kubelet (on its node's address) and another pod.
            List<String> open = new ArrayList<>();
            for (String ip : nodeIps) {
                open.add(ip + ":10250");
            }
            open.add(target.getStatus().getPodIP() + ":" + LISTEN);
            // What listens on the host's loopback only (the API server, the registry): a plain pod is refused there
            // too. davit's pod must not get through on any of the host's addresses.
            List<String> loopbackOnly = new ArrayList<>();
            for (String ip : concat(nodeIps, gateways)) {
                loopbackOnly.add(ip + ":" + api.getPort());
                loopbackOnly.add(ip + ":" + registry);
            }
            List<String> all = concat(open, loopbackOnly);

            // The control: a plain pod has its token and connects wherever something listens for it.
            String plainOut = execIn(cluster, PLAIN, control, script(all));
            Map<String, String> plain = probe(plainOut);
            assertThat(execIn(cluster, PLAIN, control, "ls /var/run/secrets/kubernetes.io/serviceaccount"))
                    .contains("token");
            for (String t : open) {
                assertThat(plain.get(t)).as("a plain pod connects to " + t + "\n" + plainOut).isEqualTo("connected");
            }
            for (String t : loopbackOnly) {
                assertThat(plain.get(t)).as("nothing listens for a pod at " + t + "\n" + plainOut).isEqualTo("refused");
            }

            // davit's pod: no token; its probes time out (the policy drops them), so they are not refusals for
            // want of a listener, nor a missing nc; only its own loopback answers.
            ExecResult token = sb.exec(s.id(), List.of("sh", "-c", "ls /var/run/secrets/kubernetes.io 2>&1;"
                    + " busybox --list | grep -x nc"), null, null, null);
            assertThat(token.stdoutText()).contains("No such file").contains("\nnc\n");
            String ownApi = api.getHost() + ":" + api.getPort(); // the kubeconfig's own: the pod's own loopback
            String own = "127.0.0.1:" + LISTEN;
            ExecResult r = sb.exec(s.id(), List.of("sh", "-c", script(concat(all, List.of(ownApi, own)))), null,
                    null, null);
            Map<String, String> inside = probe(r.stdoutText());
            for (String t : all) {
                assertThat(inside.get(t)).as("davit's pod to " + t + "\n" + r.stdoutText()).isEqualTo("timed out");
            }
            assertThat(inside.get(ownApi)).as("the kubeconfig's API server address, in the pod").isEqualTo("refused");
            assertThat(inside.get(own)).as("davit's pod's own listener").isEqualTo("connected");
            // and the way in: the plain pod beside it does not reach that listener
            String davitIp = davit.getStatus().getPodIP() + ":" + LISTEN;
            assertThat(probe(execIn(cluster, PLAIN, control, script(List.of(davitIp)))).get(davitIp))
                    .as("the way into davit's pod").isEqualTo("timed out");
        } finally {
            sb.rm(s.id());
            for (String p : List.of(listener, control)) {
                cluster.client.pods().inNamespace(PLAIN).withName(p).withGracePeriod(0).delete();
            }
        }
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[4];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    /** A pod with no NetworkPolicy, on {@code node}, running {@code command} (sh -c). */
    private static Pod plainPod(String name, String node, String image, String command) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace(PLAIN).endMetadata()
                .withNewSpec().withNodeName(node).withRestartPolicy("Never").withTerminationGracePeriodSeconds(0L)
                .addNewContainer().withName("c").withImage(image).withCommand("sh", "-c", command).endContainer()
                .endSpec().build();
    }

    /** A new namespace's default service account comes from the controller manager a moment after it. */
    private static void waitForDefaultServiceAccount(Cluster cluster) throws InterruptedException {
        for (int i = 0; i < 150 && cluster.client.serviceAccounts().inNamespace(PLAIN).withName("default")
                .get() == null; i++) {
            Thread.sleep(200);
        }
    }

    /**
     * One line per target, all at once (each waits at most 2 s): {@code HOST:PORT EXIT MESSAGE}, from busybox's nc
     * with no input (it connects, then ends).
     */
    private static String script(List<String> targets) {
        StringBuilder b = new StringBuilder("busybox --list | grep -qx nc || { echo 'no nc applet'; exit 3; }\n"
                // one printf a line, so that the lines of probes ending at once do not interleave
                + "p() { out=$(busybox nc -w 2 \"${1%:*}\" \"${1##*:}\" </dev/null 2>&1); rc=$?;"
                + " printf '%s %s %s\\n' \"$1\" $rc \"$(echo $out)\"; }\n");
        for (String t : targets) {
            b.append("p ").append(t).append(" &\n");
        }
        return b.append("wait\n").toString();
    }

    /** Each target's outcome: connected, refused, timed out, or the line itself when it is none of these. */
    private static Map<String, String> probe(String output) {
        assertThat(output).doesNotContain("no nc applet");
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            String[] f = line.strip().split(" ", 3);
            if (f.length < 2) {
                continue;
            }
            String msg = f.length > 2 ? f[2] : "";
            out.put(f[0], f[1].equals("0") ? "connected" : msg.contains("Connection refused") ? "refused"
                    : msg.contains("timed out") ? "timed out" : line);
        }
        return out;
    }

    /** A command in a plain pod, through the API server's exec (as kubectl exec): its standard output. */
    private static String execIn(Cluster cluster, String ns, String pod, String script) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (ExecWatch w = cluster.client.pods().inNamespace(ns).withName(pod).writingOutput(out).writingError(err)
                .exec("sh", "-c", script)) {
            w.exitCode().get(60, TimeUnit.SECONDS);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
