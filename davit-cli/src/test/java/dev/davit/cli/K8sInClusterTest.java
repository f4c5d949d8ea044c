package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.ByteArrayInputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * davit's MCP server in the cluster, as an operator deploys it: scripts/image.sh's image (built with davit, pushed to
 * the cluster's registry) run by deploy/kubernetes/davit.yaml as it stands (its service account and RBAC, the home
 * on a PersistentVolumeClaim, the TLS and token Secrets, a non-root read-only container), with the npm MCP SDK as the
 * agent over HTTPS (the certificate checked against the test's CA, a wrong token refused). The agent makes a
 * workspace (a pod the server makes through its service account), the server's pod is deleted, and the new pod finds
 * the workspace in the home the claim kept: listed, its file read back, run in, deleted. The server's log never holds
 * the token.
 * <p>What differs from the manifest, for scripts/cluster.sh's cluster alone: it has no kube-proxy and its API server
 * and registry answer on loopback (so its pods cannot reach them), so the server's pod runs in the host's network
 * ({@code hostNetwork}, the API server at 127.0.0.1, the door on a free loopback port, probed from inside the pod);
 * its home is a hostPath
 * PersistentVolume made for the claim, as the cluster has no storage provisioner.
 */
@org.junit.jupiter.api.Timeout(value = 15, unit = TimeUnit.MINUTES)
class K8sInClusterTest {
    private static final String NS = "davit-in-cluster";

    @TempDir
    Path tmp;

    @Test
    void theManifestsServerServesAnAgentOverHttpsAndKeepsItsHomeAcrossARestart() throws Exception {
        Map<String, String> cluster = K8sMcpNodeClientTest.clusterEnv();
        String registry = cluster.get("DAVIT_CLUSTER_REGISTRY");
        int apiPort = URI.create(cluster.get("DAVIT_CLUSTER_API")).getPort();
        String image = build(registry + "/davit:in-cluster");
        Path nodeDir = McpNodeClientTest.nodeClients();
        Path tls = tls();
        Path token = tmp.resolve("token");
        Files.writeString(token, HexFormat.of().formatHex(new SecureRandom().generateSeed(16)) + "\n");
        Path pv = Files.createDirectories(tmp.resolve("home-volume"));
        exec(List.of("chown", "65532:65532", pv.toString()), 30);
        Files.setPosixFilePermissions(pv, PosixFilePermissions.fromString("rwx------"));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (KubernetesClient kube = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(
                Files.readString(Path.of(cluster.get("KUBECONFIG"))))).build()) {
            try {
                kube.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata()
                        .build()).create();
                kube.secrets().inNamespace(NS).resource(new SecretBuilder().withNewMetadata().withName("davit-tls")
                        .endMetadata().withType("kubernetes.io/tls").addToData(Map.of(
                                "tls.crt", b64(tls.resolve("server.crt")), "tls.key", b64(tls.resolve("server.key"))))
                        .build()).create();
                kube.secrets().inNamespace(NS).resource(new SecretBuilder().withNewMetadata().withName("davit-token")
                        .endMetadata().addToData("token", b64(token)).build()).create();
                kube.persistentVolumes().resource(new PersistentVolumeBuilder().withNewMetadata().withName(NS)
                        .endMetadata().withNewSpec().withCapacity(Map.of("storage", new Quantity("20Gi")))
                        .withAccessModes("ReadWriteOncePod").withPersistentVolumeReclaimPolicy("Retain")
                        .withNewHostPath().withPath(pv.toString()).withType("Directory").endHostPath()
                        .withNewClaimRef().withNamespace(NS).withName("davit-home").endClaimRef().endSpec().build())
                        .create();
                List<HasMetadata> objects = manifest(kube, image, registry);
                for (HasMetadata o : objects) {
                    if (o instanceof Deployment d) {
                        onThisCluster(d, apiPort, port, registry);
                    }
                }
                kube.resourceList(objects).create();
                Pod first = awaitServer(kube, null);
                String url = "https://127.0.0.1:" + port + "/mcp";
                String out = agent(nodeDir, tls, url, token, cluster.get("DAVIT_CLUSTER_BUSYBOX_IMAGE"), "first");
                Matcher m = Pattern.compile("(?m)^workspace (\\S+)$").matcher(out);
                assertThat(m.find()).as(out).isTrue();
                String workspace = m.group(1);
                assertThat(kube.pods().inNamespace(NS).withLabel("app.kubernetes.io/managed-by", "davit").list()
                        .getItems()).as("the workspace's pod, made by the server's service account").hasSize(1);
                String log = kube.pods().inNamespace(NS).withName(first.getMetadata().getName()).getLog();
                kube.pods().inNamespace(NS).withName(first.getMetadata().getName()).delete();
                Pod second = awaitServer(kube, first.getMetadata().getName());
                out = agent(nodeDir, tls, url, token, cluster.get("DAVIT_CLUSTER_BUSYBOX_IMAGE"), "again", workspace);
                assertThat(out).contains("ok: the restarted server lists the workspace its home holds",
                        "ok: workspace_remove", "ok: done");
                log += kube.pods().inNamespace(NS).withName(second.getMetadata().getName()).getLog();
                assertThat(log).contains("MCP server on https://127.0.0.1:" + port + "/mcp")
                        .doesNotContain(Files.readString(token).strip());
                assertThat(kube.pods().inNamespace(NS).withLabel("app.kubernetes.io/managed-by", "davit").list()
                        .getItems()).as("the workspace's pod went with workspace_remove").isEmpty();
            } finally {
                kube.namespaces().withName(NS).delete();
                kube.persistentVolumes().withName(NS).delete();
                kube.rbac().clusterRoleBindings().withName("davit-nodes-" + NS).delete();
                kube.rbac().clusterRoles().withName("davit-nodes-" + NS).delete();
                kube.namespaces().withName(NS).waitUntilCondition(n -> n == null, 3, TimeUnit.MINUTES);
            }
        }
    }

    /**
     * scripts/image.sh's image as {@code ref}, pushed, of the release scripts/test.sh built first (else one made now);
     * by digest.
     */
    private static String build(String ref) throws Exception {
        List<String> argv = new ArrayList<>(List.of("bash", "../scripts/image.sh", ref, "--push"));
        try (var d = Files.newDirectoryStream(Path.of("../target/dist"), "davit-*-linux-x86_64.tar.gz")) {
            if (d.iterator().hasNext()) {
                argv.add("--skip-dist");
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // made by image.sh
        }
        String[] out = exec(argv, 900).strip().split("\n");
        String image = out[out.length - 1];
        assertThat(image).as(String.join("\n", out)).matches(Pattern.quote(ref) + "@sha256:[0-9a-f]{64}");
        return image;
    }

    /**
     * deploy/kubernetes/davit.yaml with this test's namespace, image and registry (the operator's three
     * replacements), and its cluster-wide names made this namespace's.
     */
    private static List<HasMetadata> manifest(KubernetesClient kube, String image, String registry) throws Exception {
        String yaml = Files.readString(Path.of("../deploy/kubernetes/davit.yaml"))
                .replaceAll("namespace: davit([,}])", "namespace: " + NS + "$1")
                .replace("name: davit-nodes}", "name: davit-nodes-" + NS + "}")
                .replace("image: REPLACE/davit:0.1.0", "image: " + image)
                .replace("value: REPLACE.registry.example:5000", "value: \"" + registry + "\"");
        assertThat(yaml.lines().filter(l -> !l.startsWith("#"))).noneMatch(l -> l.contains("REPLACE")
                || l.matches(".*namespace: davit[,}].*"));
        return kube.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items();
    }

    /** What scripts/cluster.sh's cluster needs beyond the manifest (the class's comment says why). */
    private static void onThisCluster(Deployment d, int apiPort, int port, String registry) {
        var pod = d.getSpec().getTemplate().getSpec();
        pod.setHostNetwork(true);
        var c = pod.getContainers().getFirst();
        c.getEnv().add(new EnvVar("KUBERNETES_SERVICE_HOST", "127.0.0.1", null));
        c.getEnv().add(new EnvVar("KUBERNETES_SERVICE_PORT", String.valueOf(apiPort), null));
        List<String> args = new ArrayList<>(c.getArgs());
        args.set(args.indexOf("0.0.0.0:8443"), "127.0.0.1:" + port);
        args.addAll(List.of("--allow-registry", registry));
        c.setArgs(args);
        c.getPorts().getFirst().setContainerPort(port);
        // the kubelet probes the pod's address, here the node's, where a door on loopback does not answer
        c.getReadinessProbe().setTcpSocket(null);
        c.getReadinessProbe().setExec(new io.fabric8.kubernetes.api.model.ExecAction(List.of("bash", "-c",
                "echo > /dev/tcp/127.0.0.1/" + port)));
    }

    /** The server's pod once Ready (another than {@code not}, the one deleted). */
    private static Pod awaitServer(KubernetesClient kube, String not) {
        long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
        while (System.nanoTime() < until) {
            for (Pod p : kube.pods().inNamespace(NS).withLabel("app.kubernetes.io/name", "davit").list().getItems()) {
                if (io.fabric8.kubernetes.client.readiness.Readiness.isPodReady(p)
                        && !p.getMetadata().getName().equals(not) && p.getMetadata().getDeletionTimestamp() == null) {
                    return p;
                }
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        List<Pod> pods = kube.pods().inNamespace(NS).withLabel("app.kubernetes.io/name", "davit").list().getItems();
        StringBuilder why = new StringBuilder();
        for (Pod p : pods) {
            why.append(p.getMetadata().getName()).append(": ").append(p.getStatus()).append('\n');
            try {
                why.append(kube.pods().inNamespace(NS).withName(p.getMetadata().getName()).getLog()).append('\n');
            } catch (RuntimeException e) {
                why.append("(no log: ").append(e.getMessage()).append(")\n");
            }
        }
        throw new AssertionError("the server's pod did not become Ready:\n" + why);
    }

    /** The npm SDK's agent (src/test/node/mcp-https-client.mjs), trusting the test's CA alone; its output. */
    private static String agent(Path nodeDir, Path tls, String url, Path token, String image, String... phase)
            throws Exception {
        List<String> argv = new ArrayList<>(List.of("node", "mcp-https-client.mjs", url, token.toString(), image));
        argv.addAll(List.of(phase));
        ProcessBuilder pb = new ProcessBuilder(argv).directory(nodeDir.toFile()).redirectErrorStream(true);
        pb.environment().put("NODE_EXTRA_CA_CERTS", tls.resolve("ca.crt").toString());
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        System.out.print(out);
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).as(out).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("ok: a wrong token is refused", "ok: done");
        return out;
    }

    /** A CA and the server's certificate for 127.0.0.1 and the Service's names, made by openssl. */
    private Path tls() throws Exception {
        Path d = Files.createDirectories(tmp.resolve("tls"));
        String ca = d.resolve("ca").toString();
        String server = d.resolve("server").toString();
        exec(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", ca + ".key", "-out", ca + ".crt", "-days", "2", "-subj", "/CN=davit test CA"), 60);
        exec(List.of("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", server + ".key", "-out",
                server + ".csr", "-subj", "/CN=davit-mcp"), 60);
        Files.writeString(d.resolve("ext"), "subjectAltName=IP:127.0.0.1,DNS:davit-mcp." + NS + ".svc\n");
        exec(List.of("openssl", "x509", "-req", "-in", server + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
                "-CAcreateserial", "-out", server + ".crt", "-days", "2", "-extfile", d.resolve("ext").toString()), 60);
        return d;
    }

    private static String b64(Path file) throws Exception {
        return Base64.getEncoder().encodeToString(Files.readAllBytes(file));
    }

    private static String exec(List<String> argv, int seconds) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(seconds, TimeUnit.SECONDS)).as(out).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", argv) + "\n" + out).isZero();
        return out;
    }
}
