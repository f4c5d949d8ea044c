package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.backend.Driver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * The k8s backend is a module the core finds and never names: ServiceLoader gives its driver, no class of the core
 * modules refers to dev.davit.k8s, and without a cluster nothing of fabric8's client is touched by the driver's
 * name or its settings' errors.
 */
class K8sBoundaryTest {
    @Test
    void theCoreFindsTheDriverWithoutNamingIt() throws Exception {
        assertThat(Driver.named("k8s")).isInstanceOf(K8sDriver.class);
        assertThat(Sandboxes.BACKENDS).containsExactly("container", "vm", "k8s");
        List<String> naming = new ArrayList<>();
        // one class of each module below davit-k8s: every class of their code sources is read
        for (String core : List.of("dev.davit.oci.client.DavitClient", "dev.davit.env.Catalog",
                "dev.davit.sandbox.RunSpec", "dev.davit.sandbox.jail.Jail", "dev.davit.sandbox.network.UrlFetch",
                "dev.davit.sandbox.engine.Sandboxes", "dev.davit.sandbox.container.ContainerDriver",
                "dev.davit.sandbox.vm.VmDriver", "dev.davit.sandbox.workspace.Workspaces",
                "dev.davit.sandbox.build.LocalEnvBuilder", "dev.davit.Davit")) {
            Path where = Path.of(Class.forName(core, false, getClass().getClassLoader()).getProtectionDomain()
                    .getCodeSource().getLocation().toURI());
            for (String[] entry : classes(where)) {
                if (entry[1].contains("dev/davit/k8s")) {
                    naming.add(entry[0]);
                }
            }
        }
        assertThat(naming).isEmpty();
    }

    @Test
    void badSettingsAreRefusedInTheCallersWords() {
        var e = org.assertj.core.api.Assertions.catchThrowable(() -> K8sSettings.from(java.util.Map.of(
                "DAVIT_K8S_NAMESPACE", "Not_A_Name")));
        assertThat(e).hasMessageContaining("DAVIT_K8S_NAMESPACE").hasMessageContaining("lower-case");
        e = org.assertj.core.api.Assertions.catchThrowable(() -> K8sSettings.from(java.util.Map.of(
                "HOME", "/nonexistent")).requireRegistry());
        assertThat(e).hasMessageContaining("set DAVIT_K8S_REGISTRY");
        e = org.assertj.core.api.Assertions.catchThrowable(() -> K8sSettings.from(java.util.Map.of(
                "KUBECONFIG", "/nonexistent/config")).requireKubeconfig());
        assertThat(e).hasMessageContaining("no kubeconfig at /nonexistent/config").hasMessageContaining("KUBECONFIG");
        e = org.assertj.core.api.Assertions.catchThrowable(() -> K8sSettings.from(java.util.Map.of(
                "DAVIT_K8S_AGENT_SANDBOX", "maybe")));
        assertThat(e).hasMessage("DAVIT_K8S_AGENT_SANDBOX 'maybe' is not auto, on or off");
        assertThat(K8sSettings.from(java.util.Map.of()).agentSandbox()).isEqualTo(AgentSandbox.Mode.AUTO);
        assertThat(K8sSettings.from(java.util.Map.of("DAVIT_K8S_AGENT_SANDBOX", "off")).agentSandbox())
                .isEqualTo(AgentSandbox.Mode.OFF);
    }

    /**
     * One way into a pod: its main process is davit-agent, which its init container copies in with the busybox whose
     * tools davit's commands there use, and nothing of the k8s backend names the microVM's shell agent or its client
     * (a command, a file, a detached process: each a request to davit-agent on the pod's link).
     */
    @Test
    void aPodIsReachedOnlyThroughDavitAgent() throws Exception {
        var pod = Pods.sandbox(K8sSettings.from(java.util.Map.of()), "sbx-0123456789ab", "h", new PodLife.Plan(
                "r/davit/env@sha256:00", "r/davit/agent@sha256:01", dev.davit.sandbox.Limits.NONE,
                new long[] {1000, 1000}, null, null, null, false));
        assertThat(pod.getSpec().getContainers().getFirst().getCommand()).containsExactly(PodLinks.PROGRAM, "pod");
        assertThat(pod.getSpec().getInitContainers().getFirst().getCommand()).startsWith("/busybox", "sh", "-c");
        List<String> naming = new ArrayList<>();
        Path k8s = Path.of(K8sDriver.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        for (String[] entry : classes(k8s)) {
            for (String old : List.of("dev/davit/sandbox/vm/AgentClient", "dev/davit/sandbox/vm/AgentFiles",
                    "dev/davit/sandbox/vm/Protocol", "dev/davit/sandbox/vm/VmLifecycle", "agent.sh", "/.davit/agent",
                    "xrun", "xkill")) {
                if (entry[1].contains(old)) {
                    naming.add(entry[0] + ": " + old);
                }
            }
        }
        assertThat(naming).isEmpty();
    }

    /** Each class file of a directory or jar: its name and its bytes as ISO-8859-1 text. */
    private static List<String[]> classes(Path where) throws IOException {
        List<String[]> out = new ArrayList<>();
        if (Files.isDirectory(where)) {
            try (Stream<Path> s = Files.walk(where)) {
                for (Path p : s.filter(f -> f.toString().endsWith(".class")).toList()) {
                    out.add(new String[] {p.toString(), new String(Files.readAllBytes(p),
                            StandardCharsets.ISO_8859_1)});
                }
            }
        } else {
            try (ZipFile z = new ZipFile(where.toFile())) {
                for (ZipEntry e : java.util.Collections.list(z.entries())) {
                    if (e.getName().endsWith(".class")) {
                        try (InputStream in = z.getInputStream(e)) {
                            out.add(new String[] {e.getName(), new String(in.readAllBytes(),
                                    StandardCharsets.ISO_8859_1)});
                        }
                    }
                }
            }
        }
        return out;
    }
}
