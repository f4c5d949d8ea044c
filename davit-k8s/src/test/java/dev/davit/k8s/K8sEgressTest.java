package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import dev.davit.sandbox.target.RunTargets;

import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.EgressDenial;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.testnet.CurlRootfs;
import dev.davit.sandbox.testnet.TestInternet;
import dev.davit.sandbox.workspace.Secrets;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceExecs;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A workspace's egress allow-list on the cluster: davit's egress gate runs as its pod's sidecar and is the only way
 * out of the pod. The "Internet" is {@link TestInternet}, a network namespace this test makes on the host (its DNS,
 * HTTP and echo servers), which the pods reach through the node's routes: an allowed name is resolved and reached,
 * a denied name is never even asked of the DNS server, an address of the same Internet that is not allowed and a
 * UDP datagram never arrive, the cluster's own addresses (the API server's Service) are refused by the gate, a new
 * policy lets a name in at once, and the gate's denials are read back. The sandbox's container has no capability to
 * change the pod's rules.
 */
@org.junit.jupiter.api.Timeout(value = 6, unit = TimeUnit.MINUTES)
class K8sEgressTest {
    private static TestInternet net;
    private static Path dns;
    private static RunTarget curl;

    @BeforeAll
    static void internet() throws Exception {
        K8sSandboxTest.image();
        TestInternet.assumeAvailable(); // scripts/test.sh's cluster phase runs it (CI=true: a missing tool fails)
        net = TestInternet.start();
        dns = CurlRootfs.dns(K8sSandboxTest.tmp.resolve("egress-dns-" + net.subnet()), net);
        // an image with curl (the host's, with its libraries: it resolves names as programs do), busybox, the CA
        Path src = CurlRootfs.create(K8sSandboxTest.tmp.resolve("curl-src-" + net.subnet()), net);
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(K8sSandboxTest.home.resolve("store")))) {
            c.build(src, "localhost/test/curl:k8s", BuildOptions.defaults(), ProgressListener.NONE);
            curl = RunTargets.ofImage(c, K8sSandboxTest.home, "localhost/test/curl:k8s", null, null);
        }
    }

    @AfterAll
    static void down() {
        if (net != null) {
            net.close();
        }
    }

    @Test
    void theGateInThePodEnforcesTheAllowList() throws Exception {
        net.clearRecords();
        Sandboxes sb = new Sandboxes(SandboxOptions.under(K8sSandboxTest.home).withEgressDns(dns));
        EgressPolicy policy = EgressPolicy.parse(List.of(TestInternet.ALLOWED + ":80"), List.of(), List.of(),
                List.of(), List.of());
        Sandbox s = sb.create(CreateSpec.builder(curl.rootfs()).image(curl.image()).backend(K8sDriver.NAME)
                .network(Network.policy(policy)).build());
        try {
            sb.start(s.id());
            Pod pod = K8sSandboxTest.cluster.client.pods().inNamespace(
                    K8sSandboxTest.cluster.settings.namespace()).withName(Pods.name(s.id())).get();
            assertThat(pod.getMetadata().getLabels()).containsEntry(Pods.EGRESS, Pods.egressLabel(
                    NodeAddresses.except(K8sSandboxTest.cluster)));
            assertThat(pod.getSpec().getSecurityContext().getSysctls()).anyMatch(x -> x.getName().equals(
                    "net.ipv4.ip_unprivileged_port_start") && x.getValue().equals("1024"));
            Container gate = pod.getSpec().getInitContainers().stream().filter(c -> c.getName().equals(
                    PodGates.CONTAINER)).findFirst().orElseThrow();
            assertThat(gate.getSecurityContext().getRunAsUser()).isEqualTo(PodGates.UID);
            assertThat(gate.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
            assertThat(gate.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
            assertThat(gate.getEnv().toString()).doesNotContain("secret");
            assertGateImage(gate);
            Container box = pod.getSpec().getContainers().get(0);
            assertThat(box.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
            // the image's user (none: root), resolved by davit and set, never left to the runtime
            assertThat(box.getSecurityContext().getRunAsUser()).isZero();

            // allowed: resolved by the gate (asked of the test Internet's DNS) and reached through it
            ExecResult ok = sh(sb, s, "curl -sS --max-time 20 http://" + TestInternet.ALLOWED + "/hello");
            assertThat(ok.exitCode()).as(() -> ok.stderrText() + why(sb, s)).isZero();
            assertThat(ok.stdoutText()).contains("\"host\":\"" + TestInternet.ALLOWED + "\"")
                    .contains("\"path\":\"/hello\"");
            assertThat(net.dnsQueries()).anyMatch(q -> q.name().equals(TestInternet.ALLOWED));
            net.clearRecords();

            // denied: a name not allowed is never asked of the DNS server and never reached; an address of
            // the same Internet not allowed is never connected to; the API server's Service (a cluster
            // address) is refused by the gate; a UDP datagram (neither TCP nor DNS) goes nowhere
            ExecResult name = sh(sb, s, "curl -sS --max-time 10 http://" + TestInternet.DENIED + "/");
            assertThat(name.exitCode()).isNotZero();
            ExecResult address = sh(sb, s, "echo hi | nc -w 5 " + net.deniedAddress() + " 80; echo"
                    + " rc=$?");
            assertThat(address.stdoutText()).doesNotContain("HTTP/");
            ExecResult api = sh(sb, s, "echo hi | nc -w 5 10.96.0.1 443; echo rc=$?");
            assertThat(api.stdoutText()).doesNotContain("HTTP/");
            sh(sb, s, "echo datagram | nc -u -w 2 " + net.allowedAddress() + " 7; true");
            assertThat(net.dnsQueries()).noneMatch(q -> q.name().equals(TestInternet.DENIED));
            assertThat(net.connections()).isEmpty();
            assertThat(net.udpReceived()).isEmpty();
            List<EgressDenial> denials = sb.egressDenials(s.id());
            assertThat(denials).anyMatch(d -> TestInternet.DENIED.equals(d.name()));
            assertThat(denials).anyMatch(d -> net.deniedAddress().equals(d.address()));
            assertThat(denials).anyMatch(d -> "10.96.0.1".equals(d.address()));

            // the sandbox cannot take the gate's way out: it has no capability to change the pod's rules, and
            // the gate's sockets take only redirected connections
            ExecResult rules = sh(sb, s, "grep -E '^Cap(Eff|Prm)' /proc/self/status");
            assertThat(rules.stdoutText()).contains("CapEff:\t0000000000000000");

            // a new policy holds at once
            sb.network(s.id(), EgressPolicy.parse(List.of(TestInternet.ALLOWED + ":80",
                    TestInternet.DENIED + ":80"), List.of(), List.of(), List.of(), List.of()));
            ExecResult now = sh(sb, s, "curl -sS --max-time 20 http://" + TestInternet.DENIED + "/x");
            assertThat(now.exitCode()).as(now.stderrText()).isZero();
            assertThat(now.stdoutText()).contains("\"host\":\"" + TestInternet.DENIED + "\"");
        } finally {
            sb.rm(s.id());
        }
    }

    /**
     * A one-shot run with an egress policy has the same gate in its pod: the allowed name reached, the other refused
     * and said in the run's result, and nothing of the pod left.
     */
    @Test
    void aOneShotRunHasTheGateInItsPod() {
        net.clearRecords();
        Sandboxes sb = new Sandboxes(SandboxOptions.under(K8sSandboxTest.home).withEgressDns(dns));
        ExecResult r = sb.run(dev.davit.sandbox.RunSpec.builder(curl.rootfs()).image(curl.image())
                .backend(K8sDriver.NAME).network(Network.policy(EgressPolicy.parse(List.of(TestInternet.ALLOWED
                        + ":80"), List.of(), List.of(), List.of(), List.of())))
                .command("sh", "-c", "curl -sS --max-time 20 http://" + TestInternet.ALLOWED + "/run && curl -sS"
                        + " --max-time 10 http://" + TestInternet.DENIED + "/; echo rc=$?").build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        assertThat(r.stdoutText()).contains("\"host\":\"" + TestInternet.ALLOWED + "\"").contains("rc=")
                .doesNotContain("rc=0");
        assertThat(r.networkDenied()).anyMatch(d -> TestInternet.DENIED.equals(d.name()));
        assertThat(net.dnsQueries()).noneMatch(q -> q.name().equals(TestInternet.DENIED));
        assertThat(K8sSandboxTest.cluster.client.pods().inNamespace(K8sSandboxTest.cluster.settings.namespace())
                .withLabel(Pods.MANAGED_BY, Pods.DAVIT).list().getItems()).noneMatch(p -> p.getMetadata()
                .getName().contains(r.sandboxId().toLowerCase(java.util.Locale.ROOT)));
    }

    /**
     * The pod's /etc/hosts and /etc/resolv.conf are the same files in every container of the pod, and the sandbox's
     * root may write them: the gate resolves with its own copies, made before the sandbox started. Without the test
     * Internet's DNS given (the pod's own files, then), a name the sandbox adds to /etc/hosts is the sandbox's alone.
     */
    @Test
    void theSandboxCannotPointAnAllowedNameElsewhereThroughThePodsFiles() {
        net.clearRecords();
        Sandboxes sb = new Sandboxes(SandboxOptions.under(K8sSandboxTest.home));
        Sandbox s = sb.create(CreateSpec.builder(curl.rootfs()).image(curl.image()).backend(K8sDriver.NAME)
                .network(Network.policy(EgressPolicy.parse(List.of(TestInternet.ALLOWED + ":80"), List.of(),
                        List.of(), List.of(), List.of()))).build());
        try {
            sb.start(s.id());
            // the name asked of the gate's DNS (as a program that does not read /etc/hosts itself asks), then
            // reached at what it answered
            ExecResult r = sh(sb, s, "echo '" + net.otherAddress() + " " + TestInternet.ALLOWED + "' >> /etc/hosts"
                    + " && echo written\nip=$(nslookup " + TestInternet.ALLOWED + " 2>/dev/null | grep -A1 '^Name:'"
                    + " | grep '^Address' | grep -o '[0-9][0-9.]*$' | head -n 1)\necho \"resolved=$ip\"\n"
                    + "[ -z \"$ip\" ] || curl -sS --max-time 10 --resolve " + TestInternet.ALLOWED + ":80:$ip http://"
                    + TestInternet.ALLOWED + "/tampered");
            assertThat(r.stdoutText()).startsWith("written"); // the attack's premise: it may write the file
            assertThat(r.stdoutText()).as(() -> r.stderrText() + why(sb, s)).contains("resolved=\n")
                    .doesNotContain(net.otherAddress());
            assertThat(net.connections()).isEmpty();
            assertThat(net.httpRequests()).isEmpty();
        } finally {
            sb.rm(s.id());
        }
    }

    private static final String VALUE = "s3cr3t-token-k8s-5e1f0a";

    /**
     * A secret the gate in the pod adds: the sandbox sends a placeholder, the host gets the value (over HTTPS, the
     * workspace's CA trusted in the sandbox, the real host's certificate checked by the gate against the test CA),
     * and the value is in neither the pod's spec nor the sandbox.
     */
    @Test
    void theGateInThePodInjectsASecretTheSandboxNeverSees() {
        Workspaces ws = Workspaces.under(K8sSandboxTest.home, SandboxOptions.under(K8sSandboxTest.home)
                .withEgressDns(dns));
        Secrets token = Secrets.of(Map.of("TOKEN", VALUE.getBytes(StandardCharsets.UTF_8)))
                .inject("TOKEN", TestInternet.ALLOWED, "Authorization", "Bearer {}");
        Workspace w = ws.create(WorkspaceSpec.builder(CreateSpec.builder(curl.rootfs()).image(curl.image())
                .backend(K8sDriver.NAME)
                .network(Network.policy(EgressPolicy.parse(List.of(TestInternet.ALLOWED), null, null, null, null)))
                .build()).secrets(token).build());
        try {
            net.clearRecords();
            String script = "echo \"env=$TOKEN\"\n"
                    + "curl -sS --max-time 20 -o /dev/null -w 'code=%{http_code}\\n' -H \"Authorization: Bearer"
                    + " $TOKEN\" https://" + TestInternet.ALLOWED + "/bytes/16\n"
                    + "v=\"" + VALUE.substring(0, 10) + "\"\"" + VALUE.substring(10) + "\"\n"
                    + "echo \"environ=$(cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -cF \"$v\")\"\n";
            String out;
            try (WorkspaceExecs.SpooledExecuted x = ws.execs().runSpooled(w.id(), List.of("sh", "-c", script), null,
                    Map.of("TOKEN", "TOKEN"), null, Duration.ofSeconds(60), 65536, null, null, null)) {
                out = x.result().stdoutText();
                assertThat(x.result().exitCode()).as(x.result().stderrText() + out).isZero();
            }
            assertThat(out).contains("env=" + Secrets.Injection.placeholder("TOKEN") + "\n", "code=200\n",
                    "environ=0\n").doesNotContain(VALUE);
            assertThat(net.httpRequests()).filteredOn(r -> r.path().equals("/bytes/16")).singleElement()
                    .satisfies(r -> assertThat(r.header("authorization")).isEqualTo("Bearer " + VALUE));
            Pod pod = K8sSandboxTest.cluster.client.pods().inNamespace(K8sSandboxTest.cluster.settings.namespace())
                    .withName(Pods.name(w.sandboxId())).get();
            assertThat(io.fabric8.kubernetes.client.utils.Serialization.asJson(pod)).doesNotContain(VALUE);
        } finally {
            ws.rm(w.id());
        }
    }

    /**
     * The gate's sidecar is davit-agent alone: its image an index of one image per architecture the jar has an
     * agent for (amd64 here, arm64 too where the build had its target), each one layer of one program and the
     * emptyDir's mount point, a few MB; no Java runtime, no shell.
     */
    private static void assertGateImage(Container gate) {
        assertThat(gate.getCommand()).containsExactly("/davit-agent", "gate", "pod");
        String image = gate.getImage();
        assertThat(image).contains("/davit/gate@sha256:");
        var store = dev.davit.oci.store.OciStore.open(dev.davit.oci.client.DavitHome.storeOf(K8sSandboxTest.home));
        var index = (dev.davit.oci.manifest.ImageIndex) store.readManifest(new dev.davit.oci.manifest.Descriptor(
                dev.davit.oci.manifest.MediaTypes.OCI_INDEX, dev.davit.oci.digest.Digest.parse(image.substring(
                        image.indexOf('@') + 1)), 0));
        List<String> architectures = index.manifests().stream().map(d -> d.platform().architecture()).toList();
        assertThat(architectures).contains("amd64");
        if (dev.davit.sandbox.agent.AgentProgram.bytes("aarch64") != null) {
            assertThat(architectures).containsExactly("amd64", "arm64");
        }
        for (var d : index.manifests()) {
            var m = (dev.davit.oci.manifest.ImageManifest) store.readManifest(d);
            assertThat(m.layers()).hasSize(1);
            assertThat(m.layers().get(0).size()).as("the gate's layer").isLessThan(4L << 20);
            List<String> names = new java.util.ArrayList<>();
            try (var in = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
                    new java.util.zip.GZIPInputStream(store.openBlob(m.layers().get(0).digest())))) {
                for (var e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                    names.add(e.getName().replaceFirst("^\\./", "").replaceFirst("/$", ""));
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            assertThat(names).as(d.platform().architecture()).containsExactlyInAnyOrder("davit-agent", "gate");
        }
    }

    /** The gate's denials and log, for a failure's message. */
    private static String why(Sandboxes sb, Sandbox s) {
        String log = K8sSandboxTest.cluster.client.pods().inNamespace(K8sSandboxTest.cluster.settings.namespace())
                .withName(Pods.name(s.id())).inContainer(PodGates.CONTAINER).getLog();
        return "\ndenials: " + sb.egressDenials(s.id()) + "\ngate's log: " + log;
    }

    private static ExecResult sh(Sandboxes sb, Sandbox s, String script) {
        return sb.exec(s.id(), List.of("sh", "-c", script), Map.of(), null, null);
    }
}
