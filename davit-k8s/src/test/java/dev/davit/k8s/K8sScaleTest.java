package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a sandbox costs the API server over its whole life, on the cluster's simulated nodes (kwok's: no container
 * runs; a sandbox there is made, started until its pod runs, listed and removed): 20 made at once through the library
 * as the MCP server makes them (plain pods, and agent-sandbox {@code Sandbox}es), each counted by davit's own tally of what it sent ({@link RequestCount}) and by the
 * API server's {@code apiserver_request_total} for the reads no one else makes (of plain pods: a {@code Sandbox}'s
 * controller and the garbage collector read those and theirs too). The budget of issue 72: at most 4
 * writes and 2 reads per sandbox; a list of all of them asks nothing.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sScaleTest {
    private static final String NS = "davit-scale-test";
    private static final int N = 20;
    private static final Pattern METRIC = Pattern.compile("apiserver_request_total\\{(.*)} ([0-9.e+]+)");

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"off", "on"})
    void twentySandboxesCostAtMostFourWritesAndTwoReadsEachAndAListCostsNothing(String agentSandbox)
            throws Exception {
        K8sSandboxTest.image();
        Map<String, String> env = ClusterEnv.load();
        assertThat(env.getOrDefault("DAVIT_CLUSTER_SIMULATED_NODES", "0"))
                .as("scripts/test.sh starts the cluster with simulated nodes").isNotEqualTo("0");
        Cluster before = Cluster.get();
        ClusterEnv.use(NS, Map.of("DAVIT_K8S_NODE_SELECTOR", env.get("DAVIT_CLUSTER_SIMULATED_LABEL"),
                "DAVIT_K8S_TOLERATIONS", env.get("DAVIT_CLUSTER_SIMULATED_TAINT"), "DAVIT_K8S_AGENT_SANDBOX",
                agentSandbox));
        Cluster c = Cluster.get();
        try {
            if (c.client.namespaces().withName(NS).get() == null) {
                c.client.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata()
                        .withName(NS).endMetadata().build()).create();
            }
            Path home = K8sSandboxTest.tmp.resolve("scale-home-" + agentSandbox);
            java.nio.file.Files.createDirectories(home);
            Sandboxes sb = new Sandboxes(SandboxOptions.under(home));
            CreateSpec spec = CreateSpec.builder(K8sSandboxTest.rootfs).image(K8sSandboxTest.config)
                    .backend(K8sDriver.NAME).ttl(Duration.ofHours(1)).limits(Limits.defaultFor("k8s")).build();
            Sandbox first = sb.create(spec); // the environment pushed, the policy made: once per home and process
            sb.start(first.id());
            sb.rm(first.id());

            Map<String, Long> ours = c.requests.snapshot();
            Map<String, Double> server = reads(c);
            List<String> ids = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<String>> made = new ArrayList<>();
                for (int i = 0; i < N; i++) {
                    made.add(pool.submit(() -> {
                        Sandbox s = sb.create(spec);
                        sb.start(s.id());
                        return s.id();
                    }));
                }
                for (Future<String> f : made) {
                    ids.add(f.get());
                }
            }
            Map<String, Long> afterCreate = c.requests.snapshot();
            List<Sandbox> listed = sb.list();
            assertThat(listed).filteredOn(s -> ids.contains(s.id())).hasSize(N)
                    .allMatch(s -> s.status() == SandboxStatus.RUNNING);
            assertThat(delta(afterCreate, c.requests.snapshot())).as("a list of %d running sandboxes", N).isEmpty();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (String id : ids) {
                    pool.submit(() -> sb.rm(id));
                }
            }
            Map<String, Long> sent = delta(ours, c.requests.snapshot());
            sent.remove("GET /metrics"); // this test's own
            for (String id : ids) {
                assertThat(c.client.pods().inNamespace(NS).withName(Pods.name(id)).get()).isNull();
            }
            long writes = sent.entrySet().stream().filter(e -> e.getKey().matches("(POST|PUT|PATCH|DELETE) .*"))
                    .mapToLong(Map.Entry::getValue).sum();
            long reads = sent.entrySet().stream().filter(e -> e.getKey().matches("(GET|LIST|WATCH) .*"))
                    .mapToLong(Map.Entry::getValue).sum();
            assertThat(writes).as("davit's writes for %d sandboxes: %s", N, sent).isLessThanOrEqualTo(4L * N);
            assertThat(reads).as("davit's reads for %d sandboxes: %s", N, sent).isLessThanOrEqualTo(2L * N);
            if (agentSandbox.equals("on")) {
                return; // Sandboxes' controller and the garbage collector (a foreground deletion) GET them too
            }
            // the API server's own count of the reads only davit makes of plain pods (the others watch)
            Map<String, Double> serverAfter = reads(c);
            double serverReads = serverAfter.entrySet().stream().mapToDouble(e -> e.getValue()
                    - server.getOrDefault(e.getKey(), 0.0)).sum();
            assertThat(serverReads).as("GETs and LISTs of pods, sandboxes and network policies the API server"
                    + " counted: %s", serverAfter).isLessThanOrEqualTo(2.0 * N);
        } finally {
            Cluster.use(before.settings);
        }
    }

    private static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> d = new TreeMap<>();
        after.forEach((k, v) -> {
            long n = v - before.getOrDefault(k, 0L);
            if (n > 0) {
                d.put(k, n);
            }
        });
        return d;
    }

    /** The API server's GETs and LISTs of pods, sandboxes and network policies so far. */
    private static Map<String, Double> reads(Cluster c) {
        Map<String, Double> m = new TreeMap<>();
        for (String line : c.client.raw(c.client.getMasterUrl() + "metrics").split("\n")) {
            Matcher x = METRIC.matcher(line);
            if (x.matches() && x.group(1).matches(".*verb=\"(GET|LIST)\".*")
                    && x.group(1).matches(".*resource=\"(pods|sandboxes|networkpolicies)\".*")
                    && x.group(1).contains("subresource=\"\"")) {
                m.merge(x.group(1), Double.parseDouble(x.group(2)), Double::sum);
            }
        }
        return m;
    }
}
