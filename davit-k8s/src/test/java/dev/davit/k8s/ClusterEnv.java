package dev.davit.k8s;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The cluster scripts/cluster.sh started, for the tests: the file DAVIT_CLUSTER_ENV names (KUBECONFIG=...,
 * DAVIT_CLUSTER_REGISTRY=host:port). scripts/test.sh starts the cluster and sets the variable, so in CI these tests
 * run; without the variable (a developer's machine with no cluster) they are skipped, and with it naming a missing
 * file they fail.
 */
final class ClusterEnv {
    private ClusterEnv() {
    }

    static Map<String, String> load() throws IOException {
        String file = System.getenv("DAVIT_CLUSTER_ENV");
        assumeTrue(file != null && !file.isEmpty(), "no cluster: run scripts/cluster.sh up and set DAVIT_CLUSTER_ENV");
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of(file))) {
            String l = line.strip();
            if (l.startsWith("export ")) {
                l = l.substring(7);
            }
            int eq = l.indexOf('=');
            if (eq > 0 && !l.startsWith("#")) {
                String v = l.substring(eq + 1);
                if (v.length() >= 2 && (v.startsWith("'") && v.endsWith("'") || v.startsWith("\"") && v.endsWith("\""))) {
                    v = v.substring(1, v.length() - 1);
                }
                env.put(l.substring(0, eq), v);
            }
        }
        return env;
    }

    /** Points the k8s backend of this JVM at the cluster, in namespace {@code ns}. */
    static K8sSettings use(String ns) throws IOException {
        return use(ns, Map.of());
    }

    /** Points the k8s backend of this JVM at the cluster, in namespace {@code ns}, with settings {@code more}. */
    static K8sSettings use(String ns, Map<String, String> more) throws IOException {
        Map<String, String> env = load();
        Map<String, String> settings = new LinkedHashMap<>(more);
        settings.put("KUBECONFIG", env.get("KUBECONFIG"));
        settings.put("DAVIT_K8S_REGISTRY", env.get("DAVIT_CLUSTER_REGISTRY"));
        settings.put("DAVIT_K8S_NAMESPACE", ns);
        K8sSettings s = K8sSettings.from(settings);
        Cluster.use(s);
        return s;
    }
}
