package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.ExecSpec;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.engine.Sandboxes;
import io.fabric8.kubernetes.api.model.Pod;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * How a sandbox pod ends, said as the cluster says it: an OOM kill is {@code oom_killed}, an eviction and a pod
 * deleted behind davit's back are the sandbox's {@code failure} (and the command's error), a stop ends a pod whose
 * save its sandbox broke; an idle sandbox requests a twentieth of its CPU limit.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sEndsTest {
    private static final String NS = "davit-test";

    private static Sandboxes sandboxes() throws Exception {
        K8sSandboxTest.image();
        return new Sandboxes(SandboxOptions.under(K8sSandboxTest.home));
    }

    private static Sandbox started(Sandboxes sb, Limits limits) {
        Sandbox s = sb.create(CreateSpec.builder(K8sSandboxTest.rootfs).image(K8sSandboxTest.config)
                .backend(K8sDriver.NAME).limits(limits).build());
        sb.start(s.id());
        return s;
    }

    private static Pod pod(Sandbox s) {
        return K8sSandboxTest.cluster.client.pods().inNamespace(NS).withName(Pods.name(s.id())).get();
    }

    private static ExecResult sh(Sandboxes sb, Sandbox s, String script) {
        return sb.exec(s.id(), ExecSpec.builder(List.of("sh", "-c", script)).timeout(Duration.ofSeconds(120)).build());
    }

    @Test
    void anIdleSandboxRequestsATwentiethOfItsCpuAndAnOomKillIsSaid() throws Exception {
        Sandboxes sb = sandboxes();
        Sandbox s = started(sb, new Limits(64, 1, 0, 1024));
        try {
            Pod p = pod(s);
            var box = p.getSpec().getContainers().getFirst().getResources();
            assertThat(box.getLimits().get("cpu").getNumericalAmount()).isEqualByComparingTo("1");
            assertThat(box.getRequests().get("cpu").getNumericalAmount()).isEqualByComparingTo("0.05");
            assertThat(box.getRequests().get("memory").getNumericalAmount()).isEqualByComparingTo("" + (64 << 20));
            assertThat(p.getStatus().getQosClass()).isEqualTo("Burstable");

            // dd's one 128 MiB buffer is past the 64 MiB limit: the kernel kills it, the pod goes on
            ExecResult r = sh(sb, s, "busybox dd if=/dev/zero of=/dev/null bs=128M count=1");
            assertThat(r.exitCode()).as(r.stderrText()).isEqualTo(137);
            assertThat(r.oomKilled()).isTrue();
            ExecResult after = sh(sb, s, "echo alive");
            assertThat(after.stdoutText()).isEqualTo("alive\n");
            assertThat(after.oomKilled()).isFalse();
        } finally {
            sb.rm(s.id());
        }
    }

    @Test
    void anEvictionAndAPodDeletedBehindDavitsBackAreTheSandboxsFailure() throws Exception {
        Sandboxes sb = sandboxes();
        Sandbox evicted = started(sb, new Limits(256, 1, 0, 16));
        Sandbox deleted = started(sb, new Limits(256, 1, 0, 1024));
        try {
            // 64 MiB written in a pod of 16: its kubelet evicts it at its next look (every 10 s)
            assertThatThrownBy(() -> sh(sb, evicted, "busybox dd if=/dev/zero of=/big bs=1M count=64; sleep 100"))
                    .isInstanceOf(DavitException.class).hasMessageContaining("was killed")
                    .hasMessageContaining("evicted");
            Sandbox now = sb.status(evicted.id());
            for (int i = 0; i < 120 && now.status() != SandboxStatus.FAILED; i++) { // once its kubelet says so
                Thread.sleep(500);
                now = sb.status(evicted.id());
            }
            assertThat(now.status()).isEqualTo(SandboxStatus.FAILED);
            assertThat(sb.failure(now)).contains("evicted").contains("ephemeral");

            // (where agent-sandbox is installed its controller makes a new pod of the name: not the sandbox's)
            String uid = pod(deleted).getMetadata().getUid();
            K8sSandboxTest.cluster.client.pods().inNamespace(NS).withName(Pods.name(deleted.id())).withGracePeriod(0)
                    .delete();
            for (int i = 0; i < 120 && pod(deleted) != null && pod(deleted).getMetadata().getUid().equals(uid); i++) {
                Thread.sleep(500);
            }
            Sandbox gone = sb.status(deleted.id());
            assertThat(gone.status()).isEqualTo(SandboxStatus.FAILED);
            assertThat(sb.failure(gone)).matches(".*(is gone|was replaced).*");
        } finally {
            sb.rm(evicted.id());
            sb.rm(deleted.id());
        }
    }

    @Test
    void aStopEndsThePodWhenItsSandboxBreaksTheSave() throws Exception {
        Sandboxes sb = sandboxes();
        Sandbox s = started(sb, new Limits(256, 1, 0, 1024));
        try {
            assertThat(sh(sb, s, "echo first > /kept").exitCode()).isZero();
            sb.stop(s.id());
            sb.start(s.id());
            // a file nobody may read, root included (no capability overrides its mode): the save cannot archive it
            ExecResult hostile = sh(sb, s, "echo later > /kept; echo x > /locked; busybox chmod 000 /locked;"
                    + " busybox cat /locked >/dev/null 2>&1 || echo unreadable");
            assertThat(hostile.stdoutText()).isEqualTo("unreadable\n");
            assertThatThrownBy(() -> sb.stop(s.id())).isInstanceOf(DavitException.class)
                    .hasMessageContaining("is stopped, but what it wrote since it started was not kept");
            assertThat(sb.status(s.id()).status()).isEqualTo(SandboxStatus.STOPPED);
            assertThat(pod(s)).isNull();
            sb.start(s.id());
            assertThat(sh(sb, s, "cat /kept; ls /locked 2>&1 || true").stdoutText()).startsWith("first\n")
                    .doesNotContain("/locked\n");
        } finally {
            sb.rm(s.id());
        }
    }
}
