package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.testkit.Tools;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code davit mcp serve --backend k8s} against the real cluster of scripts/cluster.sh, with the MCP TypeScript SDK
 * from npm as the agent (src/test/node/mcp-k8s-client.mjs): a one-shot run, then a workspace created, exec'd in,
 * written, read and diffed, what a pod cannot do refused in the model's words, and deleted. Meanwhile the test looks
 * at the workspace's pod from the cluster's side (fabric8, as the backend itself): it runs in the server's namespace
 * with the model's limits, and it is gone once workspace_remove answered, as is the run's. Run by scripts/test.sh's
 * cluster phase (DAVIT_CLUSTER_ENV names the cluster's cluster.env); skipped without it.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = TimeUnit.MINUTES)
class K8sMcpNodeClientTest {
    private static final String NS = "davit-mcp-test";
    private static final String IMAGE = "localhost/test/busybox:mcp-k8s";

    @TempDir
    Path tmp;

    /** The KEY=VALUE lines of the file DAVIT_CLUSTER_ENV names (scripts/cluster.sh writes them unquoted). */
    static Map<String, String> clusterEnv() throws Exception {
        String file = System.getenv("DAVIT_CLUSTER_ENV");
        assumeTrue(file != null && !file.isEmpty(), "no cluster: run scripts/cluster.sh up and set DAVIT_CLUSTER_ENV");
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of(file))) {
            int eq = line.indexOf('=');
            if (eq > 0 && !line.startsWith("#")) {
                env.put(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
            }
        }
        return env;
    }

    @Test
    void anAgentOfTheNpmSdkWorksInAWorkspaceThatIsAPod() throws Exception {
        Map<String, String> cluster = clusterEnv();
        // not Tools.assumeAvailable: where there is a cluster to test, the client's tools are there too
        // (scripts/install-deps.sh), and a missing one is a failure wherever this runs
        for (String tool : List.of("busybox", "node", "npm")) {
            assertThat(Tools.which(tool)).as(tool + " (scripts/install-deps.sh installs it)").isPresent();
        }
        Path home = tmp.resolve("home");
        buildImage(home);
        Path nodeDir = McpNodeClientTest.nodeClients();
        try (KubernetesClient kube = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(
                Files.readString(Path.of(cluster.get("KUBECONFIG"))))).build()) {
            if (kube.namespaces().withName(NS).get() == null) {
                kube.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build())
                        .create();
            }
            List<String> argv = new ArrayList<>(List.of("node", "mcp-k8s-client.mjs", IMAGE,
                    ProcessHandle.current().info().command().orElse("java"), "--enable-native-access=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), "dev.davit.cli.Main", "mcp", "serve", "--tools",
                    "full", "--backend", "k8s", "--allow-network"));
            ProcessBuilder pb = new ProcessBuilder(argv).directory(nodeDir.toFile()).redirectErrorStream(true);
            pb.environment().put("DAVIT_HOME", home.toString());
            pb.environment().put("KUBECONFIG", cluster.get("KUBECONFIG"));
            pb.environment().put("DAVIT_K8S_REGISTRY", cluster.get("DAVIT_CLUSTER_REGISTRY"));
            pb.environment().put("DAVIT_K8S_NAMESPACE", NS);
            Process node = pb.start();
            StringBuilder log = new StringBuilder();
            String sandbox = null;
            String runSandbox = null;
            try (BufferedReader out = new BufferedReader(new InputStreamReader(node.getInputStream(),
                    StandardCharsets.UTF_8)); OutputStream in = node.getOutputStream()) {
                for (String line; (line = out.readLine()) != null; ) {
                    log.append(line).append('\n');
                    if (line.startsWith("pod-check ")) {
                        sandbox = line.substring("pod-check ".length());
                        checkPod(kube, sandbox, log);
                        in.write("go\n".getBytes(StandardCharsets.UTF_8));
                        in.flush();
                    } else if (line.startsWith("run-sandbox ")) {
                        runSandbox = line.substring("run-sandbox ".length());
                    }
                }
            } finally {
                if (!node.waitFor(60, TimeUnit.SECONDS)) {
                    node.destroyForcibly();
                }
            }
            assertThat(node.exitValue()).as(log.toString()).isZero();
            assertThat(log.toString()).contains("davit: the model's sandboxes run as pods of the cluster (--backend"
                    + " k8s)", "ok: 'backend': 'container' is refused", "ok: a network is refused on k8s",
                    "ok: run is a one-shot pod", "ok: workspace_diff", "ok: workspace_exec_wait sees it end",
                    "ok: a pod's shell answers `read x` in clean text",
                    "ok: the workspace's files are there after the stop and start", "ok: workspace_remove",
                    "ok: done");
            // workspace_remove answered once the pod was gone, and the run's pod went with its run
            assertThat(pods(kube, sandbox)).as(log.toString()).isEmpty();
            assertThat(pods(kube, runSandbox)).as(log.toString()).isEmpty();
        }
    }

    /** The workspace's pod, as the cluster has it while the workspace exists: running, with the model's limits. */
    private static void checkPod(KubernetesClient kube, String sandbox, StringBuilder log) {
        List<Pod> pods = pods(kube, sandbox);
        assertThat(pods).as(log.toString()).hasSize(1);
        Pod pod = pods.getFirst();
        assertThat(pod.getStatus().getPhase()).isEqualTo("Running");
        assertThat(pod.getMetadata().getLabels()).containsEntry("app.kubernetes.io/managed-by", "davit");
        // memory: 256, cpus: 0.5 and disk: 512 of workspace_create, as the pod's limits
        Map<String, Quantity> limits = pod.getSpec().getContainers().getFirst().getResources().getLimits();
        assertThat(limits.get("memory")).isEqualTo(new Quantity("256Mi"));
        assertThat(limits.get("cpu")).isEqualTo(new Quantity("500m"));
        assertThat(limits.get("ephemeral-storage")).isEqualTo(new Quantity("512Mi"));
        log.append("test: pod ").append(pod.getMetadata().getName()).append(" checked\n");
    }

    /** The pods of {@code sandbox} in the server's namespace (by the label the backend gives every pod of it). */
    private static List<Pod> pods(KubernetesClient kube, String sandbox) {
        assertThat(sandbox).isNotNull();
        return kube.pods().inNamespace(NS).withLabel("davit.dev/sandbox", sandbox).list().getItems();
    }

    /** A busybox image built into the server's own store: the model runs it with no registry of its own. */
    private static void buildImage(Path home) throws Exception {
        Path src = home.resolveSibling("src");
        Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), src.resolve("bin/busybox"));
        for (String a : List.of("sh", "echo", "cat", "sleep", "pwd", "ls")) {
            Files.createSymbolicLink(src.resolve("bin").resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp", "srv")) {
            Files.createDirectories(src.resolve(d));
        }
        Cli.Result b = new Cli(home).run("build", src.toString(), IMAGE, "--workdir", "/srv");
        assertThat(b.rc()).as(b.toString()).isZero();
    }
}
