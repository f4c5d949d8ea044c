package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Failure at scale on the cluster's simulated nodes (kwok's: the API server, etcd, scheduler and controllers are the
 * real ones), nothing lost or leaked: the API server restarted while creates are in flight (every create ends made or
 * refused, each made one's pod is the one recorded, nothing is left of the refused ones); a node lost under its
 * sandboxes (each is failed, saying so); davit killed in the middle of many creates (every pod it left has a record,
 * which a removal takes with it; the sweep finds nothing to take). API Priority and Fairness turning davit away: {@link
 * K8sThrottledTest}. The thousand are bench/scale.sh's.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sAtScaleFailureTest {
    static final String NS = "davit-scale-failure";

    /** Points this JVM's k8s backend at the simulated nodes of namespace {@code ns}; the cluster before, to go back. */
    static Cluster onSimulatedNodes(String ns, Map<String, String> more) throws Exception {
        K8sSandboxTest.image();
        Map<String, String> env = ClusterEnv.load();
        assertThat(env.getOrDefault("DAVIT_CLUSTER_SIMULATED_NODES", "0"))
                .as("scripts/test.sh starts the cluster with simulated nodes").isNotEqualTo("0");
        Cluster before = Cluster.get();
        Map<String, String> settings = new HashMap<>(Map.of("DAVIT_K8S_NODE_SELECTOR",
                env.get("DAVIT_CLUSTER_SIMULATED_LABEL"), "DAVIT_K8S_TOLERATIONS",
                env.get("DAVIT_CLUSTER_SIMULATED_TAINT"), "DAVIT_K8S_AGENT_SANDBOX", "off"));
        settings.putAll(more);
        if (before.client.namespaces().withName(ns).get() == null) {
            before.client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata()
                    .build()).create();
        }
        ClusterEnv.use(ns, settings);
        return before;
    }

    static CreateSpec spec() {
        return CreateSpec.builder(K8sSandboxTest.rootfs).image(K8sSandboxTest.config).backend(K8sDriver.NAME)
                .ttl(Duration.ofHours(1)).limits(Limits.defaultFor(K8sDriver.NAME)).build();
    }

    @Test
    void theApiServerRestartedUnderCreatesLeavesEachMadeOnceOrRefusedWithNothingLeft() throws Exception {
        Cluster before = onSimulatedNodes(NS, Map.of());
        Cluster c = Cluster.get();
        try {
            Path home = Files.createDirectories(K8sSandboxTest.tmp.resolve("restart-home"));
            Sandboxes sb = new Sandboxes(SandboxOptions.under(home));
            Sandbox first = sb.create(spec()); // the environment pushed, the policy made
            sb.start(first.id());
            sb.rm(first.id());
            String label = HomeId.of(home);
            int n = 40;
            List<Future<String>> made = new ArrayList<>();
            List<String> ids = java.util.Collections.synchronizedList(new ArrayList<>());
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < n; i++) {
                    made.add(pool.submit(() -> {
                        Sandbox s = sb.create(spec());
                        ids.add(s.id());
                        sb.start(s.id());
                        return s.id();
                    }));
                }
                // restarted once a few pods are made, while the others are being made
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (pods(before, NS, label).size() < 5 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                restartApiServer();
            }
            List<String> running = new ArrayList<>();
            List<String> refused = new ArrayList<>();
            for (Future<String> f : made) {
                try {
                    running.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    refused.add(String.valueOf(e.getCause().getMessage()));
                }
            }
            System.out.printf("API server restarted under %d creates: %d made, %d refused %s%n", n, running.size(),
                    refused.size(), refused);
            assertThat(running.size() + refused.size()).isEqualTo(n);
            assertThat(running).as("most were made: the client waited for the server").hasSizeGreaterThan(n / 2);
            Map<String, Pod> live = pods(before, NS, label);
            for (String id : running) {
                Pod p = live.get(Pods.name(id));
                assertThat(p).as("the pod of %s", id).isNotNull();
                assertThat(p.getMetadata().getUid()).as("the pod of %s is the one its start recorded", id)
                        .isEqualTo(Files.readString(SandboxOptions.under(home).stateDir().resolve(id)
                                .resolve(K8sLifecycle.POD_UID)));
                assertThat(sb.status(id).status()).isEqualTo(SandboxStatus.RUNNING);
            }
            // a refused one's record is there to remove (created, never run); its removal takes whatever pod it had
            for (String id : ids) {
                if (!running.contains(id)) {
                    sb.rm(id);
                }
            }
            assertThat(sb.reapOrphans()).as("nothing left without a record").isEmpty();
            assertThat(pods(before, NS, label).keySet()).containsExactlyInAnyOrderElementsOf(running.stream()
                    .map(Pods::name).toList());
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                running.forEach(id -> pool.submit(() -> sb.rm(id)));
            }
            assertThat(pods(before, NS, label)).isEmpty();
        } finally {
            Cluster.use(before.settings);
        }
    }

    @Test
    void aLostNodesSandboxesAreFailedSayingSo() throws Exception {
        Cluster admin = onSimulatedNodes(NS, Map.of("DAVIT_K8S_NODE_SELECTOR", "davit.dev/lost=true"));
        String node = "davit-sim-lost";
        try {
            // a simulated node of this test's own, which kwok takes on by its annotation
            admin.client.nodes().resource(new NodeBuilder().withNewMetadata().withName(node)
                    .withAnnotations(Map.of("kwok.x-k8s.io/node", "fake", "node.alpha.kubernetes.io/ttl", "0"))
                    .withLabels(Map.of("kubernetes.io/hostname", node, "type", "kwok", "davit.dev/simulated", "true",
                            "davit.dev/lost", "true")).endMetadata()
                    .withNewSpec().addNewTaint().withKey("davit.dev/simulated").withValue("true")
                    .withEffect("NoSchedule").endTaint().endSpec()
                    .withNewStatus().addToAllocatable(Map.of("cpu", quantity("32"), "memory", quantity("64Gi"),
                            "pods", quantity("110"), "ephemeral-storage", quantity("1Ti")))
                    .addToCapacity(Map.of("cpu", quantity("32"), "memory", quantity("64Gi"), "pods",
                            quantity("110"), "ephemeral-storage", quantity("1Ti"))).endStatus().build()).create();
            admin.client.nodes().withName(node).waitUntilCondition(K8sAtScaleFailureTest::ready, 120,
                    java.util.concurrent.TimeUnit.SECONDS);
            Path home = Files.createDirectories(K8sSandboxTest.tmp.resolve("lost-home"));
            Sandboxes sb = new Sandboxes(SandboxOptions.under(home));
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Sandbox s = sb.create(spec());
                sb.start(s.id());
                ids.add(s.id());
                assertThat(admin.client.pods().inNamespace(NS).withName(Pods.name(s.id())).get().getSpec()
                        .getNodeName()).isEqualTo(node);
            }
            admin.client.nodes().withName(node).delete(); // the node is gone: its pods are orphans of the cluster's
            long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
            while (ids.stream().anyMatch(id -> sb.status(id).status() != SandboxStatus.FAILED)
                    && System.nanoTime() < deadline) {
                Thread.sleep(500);
            }
            for (String id : ids) {
                Sandbox s = sb.status(id);
                assertThat(s.status()).as(id).isEqualTo(SandboxStatus.FAILED);
                assertThat(sb.failure(s)).as(id).startsWith("its pod " + Pods.name(id) + " ");
                sb.rm(id);
            }
            assertThat(pods(admin, NS, HomeId.of(home))).isEmpty();
        } finally {
            admin.client.nodes().withName(node).delete();
            Cluster.use(admin.settings);
        }
    }

    @Test
    void aDavitKilledAmidManyCreatesLeavesOnlyPodsItRecorded() throws Exception {
        Cluster admin = onSimulatedNodes(NS, Map.of());
        try {
            Path home = Files.createDirectories(K8sSandboxTest.tmp.resolve("killed-many-home"));
            String label = HomeId.of(home);
            Map<String, String> env = ClusterEnv.load();
            Path log = K8sSandboxTest.tmp.resolve("killed-many.log");
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            int n = 40;
            Process davit = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), Child.class.getName(), home.toString(),
                    K8sSandboxTest.rootfs.toString(), String.valueOf(n), env.get("DAVIT_CLUSTER_SIMULATED_LABEL"),
                    env.get("DAVIT_CLUSTER_SIMULATED_TAINT")).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            try {
                long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
                while (pods(admin, NS, label).size() < n / 2 && davit.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(pods(admin, NS, label).size()).as(Files.readString(log)).isGreaterThanOrEqualTo(n / 2);
            } finally {
                davit.destroyForcibly(); // SIGKILL amid the creates
                davit.waitFor();
            }
            assertThat(Files.readString(log)).doesNotContain("ALL-MADE");
            Sandboxes sb = new Sandboxes(SandboxOptions.under(home));
            Set<String> recorded = sb.list().stream().map(s -> Pods.name(s.id())).collect(Collectors.toSet());
            Thread.sleep(2000); // a POST the kill cut short may still land: it too must be a recorded one's
            assertThat(recorded).containsAll(pods(admin, NS, label).keySet());
            assertThat(sb.reapOrphans()).as("no pod without a record").isEmpty();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                sb.list().forEach(s -> pool.submit(() -> sb.rm(s.id())));
            }
            assertThat(pods(admin, NS, label)).isEmpty();
            assertThat(sb.list()).isEmpty();
        } finally {
            Cluster.use(admin.settings);
        }
    }

    /** The davit that is killed: creates and starts {@code args[2]} sandboxes at once on the simulated nodes. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            ClusterEnv.use(NS, Map.of("DAVIT_K8S_NODE_SELECTOR", args[3], "DAVIT_K8S_TOLERATIONS", args[4],
                    "DAVIT_K8S_AGENT_SANDBOX", "off"));
            Sandboxes sb = new Sandboxes(SandboxOptions.under(Path.of(args[0])));
            CreateSpec spec = CreateSpec.builder(Path.of(args[1])).backend(K8sDriver.NAME).ttl(Duration.ofHours(1))
                    .limits(Limits.defaultFor(K8sDriver.NAME)).build();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < Integer.parseInt(args[2]); i++) {
                    pool.submit(() -> sb.start(sb.create(spec).id()));
                }
            }
            System.out.println("ALL-MADE");
            Thread.sleep(600_000);
        }
    }

    private static io.fabric8.kubernetes.api.model.Quantity quantity(String q) {
        return new io.fabric8.kubernetes.api.model.Quantity(q);
    }

    private static boolean ready(Node n) {
        return n != null && n.getStatus() != null && n.getStatus().getConditions() != null && n.getStatus()
                .getConditions().stream().anyMatch(x -> "Ready".equals(x.getType()) && "True".equals(x.getStatus()));
    }

    /** The pods of home label {@code label} in namespace {@code ns}, by name, as the API server has them now. */
    static Map<String, Pod> pods(Cluster c, String ns, String label) {
        return c.client.pods().inNamespace(ns).withLabel(Pods.HOME, label).list().getItems().stream()
                .collect(Collectors.toMap(p -> p.getMetadata().getName(), p -> p));
    }

    /** scripts/cluster.sh restart-apiserver: the API server ended and started again on its port. */
    static void restartApiServer() throws Exception {
        Map<String, String> env = ClusterEnv.load();
        ProcessBuilder pb = new ProcessBuilder("bash", Path.of("..", "scripts", "cluster.sh").toString(),
                "restart-apiserver").redirectErrorStream(true);
        pb.environment().put("DAVIT_CLUSTER_STATE", env.get("DAVIT_CLUSTER_STATE"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
    }
}
