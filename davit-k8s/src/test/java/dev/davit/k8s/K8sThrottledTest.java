package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The API server turning davit away: API Priority and Fairness, the real one, gives davit's service account a
 * priority level of a few seats that rejects what does not fit (no queue): thirty sandboxes made at once through the
 * rights of KUBERNETES.md's RBAC manifest (taken from the page itself) meet 429s, and every one of them is made, once,
 * and removed; nothing is left. davit's client waits for the server's Retry-After and its own rate limit, rather than
 * failing or storming.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sThrottledTest {
    private static final String NS = "davit-throttled";
    private static final Pattern REJECTED = Pattern.compile(
            "apiserver_flowcontrol_rejected_requests_total\\{([^}]*)} ([0-9.e+]+)");

    @Test
    void thirtySandboxesTurnedAwayByPriorityAndFairnessAreAllMadeOnce() throws Exception {
        Cluster admin = K8sAtScaleFailureTest.onSimulatedNodes(NS, Map.of());
        Cluster.use(admin.settings);
        Map<String, String> env = ClusterEnv.load();
        try {
            kubectl(env, "apply", "-f", "-", rbac() + "\n---\n" + priorityLevel());
            Path kubeconfig = K8sSandboxTest.tmp.resolve("throttled.kubeconfig");
            String token = kubectl(env, "create", "token", "davit", "-n", NS, "--duration", "1h").strip();
            String ca = kubectl(env, "config", "view", "--raw", "-o",
                    "jsonpath={.clusters[0].cluster.certificate-authority-data}").strip();
            Files.writeString(kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                    + "    server: " + env.get("DAVIT_CLUSTER_API") + "\n    certificate-authority-data: " + ca + "\n"
                    + "users:\n- name: davit\n  user:\n    token: " + token + "\ncontexts:\n- name: c\n  context:\n"
                    + "    cluster: c\n    user: davit\n    namespace: " + NS + "\ncurrent-context: c\n");
            K8sAtScaleFailureTest.onSimulatedNodes(NS, Map.of("DAVIT_K8S_KUBECONFIG", kubeconfig.toString()));
            Cluster c = Cluster.get();
            Path home = Files.createDirectories(K8sSandboxTest.tmp.resolve("throttled-home"));
            Sandboxes sb = new Sandboxes(SandboxOptions.under(home));
            double rejectedBefore = rejected(admin);
            int n = 30;
            List<Future<String>> made = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < n; i++) {
                    made.add(pool.submit(() -> {
                        Sandbox s = sb.create(K8sAtScaleFailureTest.spec());
                        sb.start(s.id());
                        return s.id();
                    }));
                }
            }
            List<String> ids = new ArrayList<>();
            for (Future<String> f : made) {
                ids.add(f.get());
            }
            double rejected = rejected(admin) - rejectedBefore;
            long sent = c.requests.snapshot().values().stream().mapToLong(Long::longValue).sum();
            System.out.printf("%d sandboxes made at once: %.0f of davit's %d requests turned away (429)%n", n,
                    rejected, sent);
            assertThat(rejected).as("the API server turned davit away").isPositive();
            var live = K8sAtScaleFailureTest.pods(admin, NS, HomeId.of(home));
            assertThat(live).hasSize(n);
            for (String id : ids) {
                assertThat(sb.status(id).status()).isEqualTo(SandboxStatus.RUNNING);
                assertThat(live.get(Pods.name(id)).getMetadata().getUid()).isEqualTo(Files.readString(SandboxOptions
                        .under(home).stateDir().resolve(id).resolve(K8sLifecycle.POD_UID)));
            }
            List<Future<?>> removed = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                ids.forEach(id -> removed.add(pool.submit(() -> {
                    sb.rm(id);
                    return null;
                })));
            }
            for (Future<?> f : removed) {
                f.get(); // a removal that gave up says why here
            }
            assertThat(sb.list()).isEmpty();
            assertThat(K8sAtScaleFailureTest.pods(admin, NS, HomeId.of(home))).isEmpty();
        } finally {
            kubectl(env, "delete", "--ignore-not-found", "flowschema/davit-test-throttled",
                    "prioritylevelconfiguration/davit-test-throttled");
            Cluster.use(admin.settings);
        }
    }

    /** KUBERNETES.md's RBAC manifest, for a service account {@code davit} of this test's namespace. */
    private static String rbac() throws Exception {
        String doc = Files.readString(Path.of("../docs/reference/KUBERNETES.md"));
        Matcher m = Pattern.compile("```yaml\n(apiVersion: rbac[\\s\\S]*?)```").matcher(doc);
        assertThat(m.find()).as("KUBERNETES.md has its RBAC manifest").isTrue();
        return "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: davit, namespace: " + NS + "}\n---\n"
                + m.group(1).replace("namespace: davit}", "namespace: " + NS + "}");
    }

    /** A priority level of one share that lends and borrows nothing and queues nothing, for that service account. */
    private static String priorityLevel() {
        return """
                apiVersion: flowcontrol.apiserver.k8s.io/v1
                kind: PriorityLevelConfiguration
                metadata: {name: davit-test-throttled}
                spec:
                  type: Limited
                  limited:
                    nominalConcurrencyShares: 1
                    lendablePercent: 0
                    borrowingLimitPercent: 0
                    limitResponse: {type: Reject}
                ---
                apiVersion: flowcontrol.apiserver.k8s.io/v1
                kind: FlowSchema
                metadata: {name: davit-test-throttled}
                spec:
                  priorityLevelConfiguration: {name: davit-test-throttled}
                  matchingPrecedence: 500
                  distinguisherMethod: {type: ByUser}
                  rules:
                  - subjects: [{kind: ServiceAccount, serviceAccount: {name: davit, namespace: %s}}]
                    resourceRules: [{verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"], clusterScope: true}]
                    nonResourceRules: [{verbs: ["*"], nonResourceURLs: ["*"]}]
                """.formatted(NS);
    }

    /** The requests the API server rejected at this test's priority level so far. */
    private static double rejected(Cluster admin) {
        double sum = 0;
        for (String line : admin.client.raw(admin.client.getMasterUrl() + "metrics").split("\n")) {
            Matcher x = REJECTED.matcher(line);
            if (x.matches() && x.group(1).contains("priority_level=\"davit-test-throttled\"")) {
                sum += Double.parseDouble(x.group(2));
            }
        }
        return sum;
    }

    /** The cluster's kubectl with its admin kubeconfig; the last argument is its stdin when the first is apply. */
    private static String kubectl(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(env.get("DAVIT_CLUSTER_KUBE"), "kubectl"));
        String stdin = args[0].equals("apply") ? args[args.length - 1] : null;
        cmd.addAll(List.of(args).subList(0, stdin != null ? args.length - 1 : args.length));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("KUBECONFIG", env.get("KUBECONFIG"));
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        Process p = pb.start();
        try (var in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("kubectl %s: %s", String.join(" ", args), out).isZero();
        return out;
    }
}
