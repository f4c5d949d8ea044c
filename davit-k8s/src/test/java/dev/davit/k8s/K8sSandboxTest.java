package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import dev.davit.sandbox.target.RunTargets;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ExecSpec;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The k8s backend against the real cluster scripts/cluster.sh made (ClusterEnv): a busybox image built into a fresh
 * home's store is pushed to the cluster's registry by digest and runs as pods, one-shot and long-lived; every pod
 * is checked from the cluster's side (its security settings) and from inside (no token, no capabilities).
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sSandboxTest {
    private static final String IMAGE = "localhost/test/busybox:k8s";
    private static final String NS = "davit-test";

    /**
     * Shared by every K8s test class of this JVM (the image is built once): made by the first, removed when the JVM
     * ends (not a {@code @TempDir}, which would go with this class while later ones still use it).
     */
    static Path tmp;
    static Path home;
    static Path rootfs;
    static dev.davit.sandbox.ImageConfig config;
    static Cluster cluster;

    /** A workspace's sandbox on the cluster: the test image, no network, an hour to live. */
    static CreateSpec workspaceSpec() {
        return CreateSpec.builder(rootfs).ttl(Duration.ofHours(1)).backend(K8sDriver.NAME).vcpus(1).memoryMiB(256)
                .limits(Limits.NONE).build();
    }

    @BeforeAll
    static synchronized void image() throws Exception {
        if (rootfs != null) {
            return; // made by another test class of this JVM
        }
        Path made = Files.createTempDirectory("davit-k8s-test");
        tmp = made;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                dev.davit.oci.internal.Fs.deleteTree(made);
            } catch (java.io.IOException ignored) {
                // a temporary directory left behind
            }
        }));
        ClusterEnv.use(NS);
        cluster = Cluster.get();
        if (cluster.client.namespaces().withName(NS).get() == null) {
            cluster.client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata()
                    .build()).create();
        }
        Path src = tmp.resolve("src");
        Path bin = Files.createDirectories(src.resolve("bin"));
        Path busybox = Path.of("/bin/busybox");
        Files.copy(busybox, bin.resolve("busybox"));
        for (String a : List.of("sh", "cat", "echo", "sleep", "id", "ls", "grep", "pwd", "env")) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp", "work")) {
            Files.createDirectories(src.resolve(d));
        }
        Files.setAttribute(src.resolve("tmp"), "unix:mode", 01777); // as an image's /tmp is: for a user's sandbox too
        home = tmp.resolve("home");
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            c.build(src, IMAGE, BuildOptions.builder().env("GREETING", "from-the-image").build(),
                    ProgressListener.NONE);
            RunTarget t = RunTargets.ofImage(c, home, IMAGE, null, null);
            config = t.image();
            rootfs = t.rootfs();
        }
    }

    private static Sandboxes sandboxes() {
        return new Sandboxes(SandboxOptions.under(home));
    }

    @Test
    void aOneShotRunIsAPodThatIsGoneAfterwards() {
        ExecResult r = sandboxes().run(RunSpec.builder(rootfs).image(config).command("sh", "-c",
                "echo out; echo err >&2; echo $GREETING; exit 3").backend(K8sDriver.NAME).build());
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.backend()).isEqualTo("k8s");
        assertThat(r.stdoutText()).isEqualTo("out\nfrom-the-image\n");
        assertThat(r.stderrText()).isEqualTo("err\n");
        assertThat(davitPods()).noneMatch(p -> p.getMetadata().getName().equals(Pods.name(r.sandboxId())));
    }

    @Test
    void aLongLivedSandboxExecsWithEnvWorkdirStdinAndTimeoutThenGoes() {
        Sandboxes sb = sandboxes();
        Sandbox s = sb.create(CreateSpec.builder(rootfs).image(config).backend(K8sDriver.NAME).env("ONE", "1")
                .limits(new Limits(256, 0.5, 0, 1024)).build());
        try {
            sb.start(s.id());
            assertThat(sb.status(s.id()).status()).isEqualTo(SandboxStatus.RUNNING);
            Pod pod = cluster.client.pods().inNamespace(NS).withName(Pods.name(s.id())).get();
            var spec = pod.getSpec();
            assertThat(spec.getAutomountServiceAccountToken()).isFalse();
            // false is the API server's default, which it leaves out
            assertThat(spec.getHostNetwork()).isNotEqualTo(Boolean.TRUE);
            assertThat(spec.getHostPID()).isNotEqualTo(Boolean.TRUE);
            assertThat(spec.getHostIPC()).isNotEqualTo(Boolean.TRUE);
            assertThat(spec.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
            var c = spec.getContainers().get(0);
            assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
            assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
            assertThat(c.getResources().getLimits()).containsKeys("memory", "cpu", "ephemeral-storage");
            assertThat(c.getImage()).matches(".*/davit/env@sha256:[0-9a-f]{64}");

            ExecResult r = sb.exec(s.id(), List.of("sh", "-c", "echo $ONE $TWO $GREETING; pwd"),
                    Map.of("TWO", "2"), "/work", null);
            assertThat(r.exitCode()).isZero();
            assertThat(r.stdoutText()).isEqualTo("1 2 from-the-image\n/work\n");
            // inside: no token, no capabilities
            ExecResult inside = sb.exec(s.id(), List.of("sh", "-c", "ls /var/run/secrets/kubernetes.io 2>&1;"
                    + " grep CapEff /proc/self/status"), null, null, null);
            assertThat(inside.stdoutText()).contains("No such file").contains("CapEff:\t0000000000000000");
            ExecResult piped = sb.exec(s.id(), ExecSpec.builder(List.of("cat")).capture(1 << 20)
                    .stdin(new ByteArrayInputStream("through stdin".getBytes(StandardCharsets.UTF_8))).build());
            assertThat(piped.stdoutText()).isEqualTo("through stdin");
            ExecResult slow = sb.exec(s.id(), List.of("sh", "-c", "sleep 300 & sleep 300; echo never"), null, null,
                    Duration.ofSeconds(2));
            assertThat(slow.timedOut()).isTrue();
            assertThat(slow.exitCode()).isEqualTo(ExecResult.TIMEOUT_EXIT_CODE);
            // the timeout killed all of it: no sleep is left
            ExecResult left = sb.exec(s.id(), List.of("sh", "-c", "ls -l /proc/[0-9]*/exe 2>/dev/null | grep -c"
                    + " busybox; for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr '\\0' ' '; echo; done"),
                    null, null, null);
            assertThat(left.stdoutText()).doesNotContain("sleep 300");
            ExecResult missing = sb.exec(s.id(), List.of("no-such-command"), null, null, null);
            assertThat(missing.exitCode()).isEqualTo(127);
            // a command that leaves a process behind ends when it does, with its output (the leftover writes on
            // into a drain); no timeout is needed for that
            ExecResult bg = sb.exec(s.id(), List.of("sh", "-c", "(sleep 600; echo late) & echo started"), null, null,
                    null);
            assertThat(bg.exitCode()).isZero();
            assertThat(bg.stdoutText()).isEqualTo("started\n");
            // the output limit kills the command and ends the exec, whatever else ran into it
            ExecResult flood = sb.exec(s.id(), ExecSpec.builder(List.of("sh", "-c", "while :; do echo flood; done"))
                    .maxOutput(10_000).capture(1 << 20).build());
            assertThat(flood.outputLimited()).isTrue();
            assertThat(flood.exitCode()).isEqualTo(ExecResult.OUTPUT_LIMIT_EXIT_CODE);
            assertThat(flood.capturedStdout().size()).isLessThanOrEqualTo(10_000);
        } finally {
            sb.rm(s.id());
        }
        assertThat(cluster.client.pods().inNamespace(NS).withName(Pods.name(s.id())).get()).isNull();
    }

    /**
     * A pod deleted behind davit's back: the sandbox is failed, its processes gone. Through agent-sandbox (this
     * cluster has it) the Sandbox's controller makes a new pod of the same name at once; that is not the pod davit
     * started (another UID), so the sandbox is failed all the same, and its removal takes the new pod too.
     */
    @Test
    void aPodDeletedBehindDavitsBackShowsAsFailed() {
        Sandboxes sb = sandboxes();
        Sandbox s = sb.create(CreateSpec.builder(rootfs).backend(K8sDriver.NAME).build());
        String name = Pods.name(s.id());
        try {
            sb.start(s.id());
            // a command first: this process then holds a link to the pod's agent, which must not stand for the pod
            assertThat(sb.exec(s.id(), List.of("sh", "-c", ":"), null, null, java.time.Duration.ofSeconds(60)).exitCode())
                    .isZero();
            String uid = cluster.client.pods().inNamespace(NS).withName(name).get().getMetadata().getUid();
            cluster.client.pods().inNamespace(NS).withName(name).withGracePeriod(0).delete();
            cluster.client.pods().inNamespace(NS).withName(name).waitUntilCondition(p -> p == null
                    || !uid.equals(p.getMetadata().getUid()), 60, java.util.concurrent.TimeUnit.SECONDS);
            // status reads this process's watch of the pods, which hears of the deletion a moment after this
            // test's own watch did
            long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (sb.status(s.id()).status() != SandboxStatus.FAILED && System.nanoTime() < until) {
                java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L);
            }
            assertThat(sb.status(s.id()).status()).isEqualTo(SandboxStatus.FAILED);
            if (AgentSandbox.use(cluster)) {
                Pod again = cluster.client.pods().inNamespace(NS).withName(name).waitUntilCondition(p -> p != null
                        && p.getStatus() != null && "Running".equals(p.getStatus().getPhase()), 60,
                        java.util.concurrent.TimeUnit.SECONDS);
                assertThat(again.getMetadata().getUid()).as("the controller's new pod").isNotEqualTo(uid);
                assertThat(sb.status(s.id()).status()).isEqualTo(SandboxStatus.FAILED);
            }
        } finally {
            sb.rm(s.id());
        }
        assertThat(cluster.client.pods().inNamespace(NS).withName(name).get()).isNull();
        assertThat(K8sAgentSandboxTest.sandbox(name)).isNull();
    }

    /**
     * A one-shot run whose davit was killed (its owner's pid is gone) leaves its pod; a reap deletes it, and the pod
     * of another home's run, alike in all but its label, is left alone.
     */
    @Test
    void aReapDeletesTheOrphanedRunsPodAndNothingElse() throws Exception {
        Sandboxes sb = sandboxes();
        String id = dev.davit.sandbox.backend.OneShot.newId();
        Path state = Files.createDirectories(sb.options().stateDir().resolve(id));
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        dev.davit.sandbox.host.Host.record(state.resolve("owner"), gone.pid(), state);
        Files.writeString(state.resolve(K8sDriver.POD_MARK), Pods.name(id));
        String agent = Images.agent(cluster.settings, home, sb.options());
        String image = Images.environment(cluster.settings, rootfs);
        cluster.client.pods().inNamespace(NS).resource(Pods.sandbox(cluster.settings, id, Pods.homeLabel(home),
                new PodLife.Plan(image, agent, Limits.NONE, new long[] {0, 0}, null, null, null, false))).create();
        String otherId = dev.davit.sandbox.backend.OneShot.newId();
        cluster.client.pods().inNamespace(NS).resource(Pods.sandbox(cluster.settings, otherId,
                Pods.homeLabel(tmp.resolve("another-home")), new PodLife.Plan(image, agent, Limits.NONE,
                new long[] {0, 0}, null, null, null, false))).create();
        try {
            assertThat(sb.reapOrphans()).contains(id);
            assertThat(cluster.client.pods().inNamespace(NS).withName(Pods.name(id)).get()).isNull();
            assertThat(cluster.client.pods().inNamespace(NS).withName(Pods.name(otherId)).get()).isNotNull();
            assertThat(state).doesNotExist();
        } finally {
            PodLife.delete(cluster, Pods.name(otherId));
        }
    }

    /**
     * Not even a sandbox running as root replaces its agent: the agent's directory is a read-only mount, which a
     * container without CAP_SYS_ADMIN cannot mount again; what the agent writes is in /.davit/run, apart.
     */
    @Test
    void evenRootCannotReplaceTheAgent() {
        Sandboxes sb = sandboxes();
        Sandbox s = sb.create(workspaceSpec());
        try {
            sb.start(s.id());
            ExecResult r = sb.exec(s.id(), List.of("sh", "-c", "id -u; busybox cp /bin/busybox /.davit/davit-agent"
                    + " 2>&1 | busybox grep -o 'Read-only file system'; busybox mount -o remount,rw /.davit 2>/dev/null"
                    + " || echo not-remounted; busybox rm -f /.davit/davit-agent 2>/dev/null; busybox test -x"
                    + " /.davit/davit-agent && echo kept; echo ok > /.davit/run/mine && cat /.davit/run/mine"), null,
                    null, null);
            assertThat(r.stdoutText()).isEqualTo("0\nRead-only file system\nnot-remounted\nkept\nok\n");
            assertThat(sb.exec(s.id(), List.of("echo", "still-answers"), null, null, null).stdoutText())
                    .isEqualTo("still-answers\n");
        } finally {
            sb.rm(s.id());
        }
    }

    /**
     * An image whose user is not root runs as that user, resolved by davit and set in the pod with
     * {@code runAsNonRoot} (the kubelet refuses the container should it be root); its files outlive a stop and start
     * (the agent, as that user, saves and restores them). A user the image cannot resolve is refused before any pod.
     */
    @Test
    void anImageOfAUserRunsAsThatUserNeverRoot() {
        Sandboxes sb = sandboxes();
        dev.davit.sandbox.ImageConfig asUser = new dev.davit.sandbox.ImageConfig(config.entrypoint(), config.cmd(),
                config.env(), config.workingDir(), "1000:1001");
        Sandbox s = sb.create(CreateSpec.builder(rootfs).image(asUser).backend(K8sDriver.NAME).build());
        try {
            sb.start(s.id());
            var c = cluster.client.pods().inNamespace(NS).withName(Pods.name(s.id())).get().getSpec().getContainers()
                    .get(0).getSecurityContext();
            assertThat(c.getRunAsUser()).isEqualTo(1000L);
            assertThat(c.getRunAsGroup()).isEqualTo(1001L);
            assertThat(c.getRunAsNonRoot()).isTrue();
            ExecResult r = sb.exec(s.id(), List.of("sh", "-c", "id -u; id -g; echo kept > /tmp/mine;"
                    + " grep CapEff /proc/self/status"), null, null, null);
            assertThat(r.stdoutText()).isEqualTo("1000\n1001\nCapEff:\t0000000000000000\n");
            // the agent's directory is read-only and its programs root's: the sandbox's user can neither move nor
            // overwrite them (a replaced agent would answer for the pod); its run directory is sticky
            ExecResult agent = sb.exec(s.id(), List.of("sh", "-c", "busybox stat -c '%a %u' /.davit"
                    + " /.davit/davit-agent /.davit/run; busybox mv /.davit/davit-agent /tmp/a 2>/dev/null || echo"
                    + " kept; busybox cp /bin/busybox /.davit/davit-agent 2>/dev/null || echo unwritten"), null,
                    null, null);
            assertThat(agent.stdoutText()).isEqualTo("755 0\n755 0\n1777 0\nkept\nunwritten\n");
            sb.stop(s.id());
            sb.start(s.id());
            ExecResult again = sb.exec(s.id(), List.of("sh", "-c", "cat /tmp/mine; id -u"), null, null, null);
            assertThat(again.stdoutText()).isEqualTo("kept\n1000\n");
        } finally {
            sb.rm(s.id());
        }
        int before = davitPods().size();
        dev.davit.sandbox.ImageConfig unknown = new dev.davit.sandbox.ImageConfig(config.entrypoint(), config.cmd(),
                config.env(), config.workingDir(), "nobody");
        assertThatThrownBy(() -> sb.create(CreateSpec.builder(rootfs).image(unknown).backend(K8sDriver.NAME)
                .build())).isInstanceOf(DavitException.class).hasMessageContaining("the image's user 'nobody'");
        assertThatThrownBy(() -> sb.run(RunSpec.builder(rootfs).image(unknown).command("true")
                .backend(K8sDriver.NAME).build())).isInstanceOf(DavitException.class)
                .hasMessageContaining("the image's user 'nobody'");
        assertThat(davitPods()).hasSize(before);
    }

    @Test
    void whatTheBackendCannotDoYetIsRefusedInWords() {
        assertThatThrownBy(() -> sandboxes().create(CreateSpec.builder(rootfs).backend(K8sDriver.NAME)
                .network(dev.davit.sandbox.Network.NAT).build()))
                .isInstanceOf(DavitException.class).hasMessageContaining("a network only through an egress policy");
        // a pod has no process limit of its own: one asked for is refused, never accepted and left unenforced
        assertThatThrownBy(() -> sandboxes().create(CreateSpec.builder(rootfs).backend(K8sDriver.NAME)
                .limits(new Limits(256, 0.5, 64, 1024)).build()))
                .isInstanceOf(DavitException.class).hasMessageContaining("is not enforced on the k8s backend")
                .hasMessageContaining("podPidsLimit");
    }

    private static List<Pod> davitPods() {
        return cluster.client.pods().inNamespace(NS).withLabel(Pods.MANAGED_BY, Pods.DAVIT).list().getItems();
    }
}
