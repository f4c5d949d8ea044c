package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What a workspace on the cluster wrote outlives its pod: a stop and start, a pause and resume (the pod goes, a new
 * one comes) and a fork each bring the files written anywhere in the root file system (not /workspace alone), the
 * image's files it deleted stay deleted, an image directory replaced by a link and an image link replaced by a
 * directory stay replaced, a read-only directory keeps its files and its mode, and a fork is a copy of its own.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sWorkspaceStateTest {
    /** Prints what the test wrote: each file's content, or "-" where it is missing. */
    private static final String SHOW = "for f in /workspace/a '/opt/deep/dir/with space' \"$(printf '/tmp/new\\nline')\""
            + " /etc/note /opt/ro/f /bin/id/f; do if [ -e \"$f\" ]; then cat \"$f\"; else echo -; fi; done;"
            + " busybox readlink /work; busybox stat -c %a /opt/deep/dir /opt/ro";

    @Test
    void filesWrittenAnywhereSurviveAStopAPauseAndAFork() throws Exception {
        K8sSandboxTest.image();
        Workspaces ws = Workspaces.under(K8sSandboxTest.home);
        Workspace w = ws.create(WorkspaceSpec.builder(K8sSandboxTest.workspaceSpec()).name("kept").build());
        Workspace fork = null;
        try {
            sh(ws, w, "echo in-workspace >/workspace/a && mkdir -p /opt/deep/dir && chmod 750 /opt/deep/dir"
                    + " && echo spaced >'/opt/deep/dir/with space' && echo newline >\"$(printf '/tmp/new\\nline')\""
                    + " && mkdir -p /etc && echo noted >/etc/note && busybox rm -r /work && busybox ln -s /tmp /work"
                    + " && mkdir -p /opt/ro && echo read-only >/opt/ro/f && chmod 555 /opt/ro"
                    + " && busybox rm /bin/id && mkdir /bin/id && echo was-a-link >/bin/id/f");
            String expected = "in-workspace\nspaced\nnewline\nnoted\nread-only\nwas-a-link\n/tmp\n750\n555\n";
            assertThat(sh(ws, w, SHOW)).isEqualTo(expected);
            String firstPod = uid(w);

            ws.stop(w.id());
            assertThat(K8sSandboxTest.cluster.client.pods().inNamespace("davit-test")
                    .withName(Pods.name(w.sandboxId())).get()).isNull();
            ws.start(w.id());
            assertThat(uid(w)).isNotEqualTo(firstPod);
            assertThat(sh(ws, w, SHOW)).as("after a stop and start").isEqualTo(expected);

            ws.pause(w.id());
            assertThat(ws.paused(w.id())).isTrue();
            assertThat(ws.sandbox(w.id()).status()).isEqualTo(SandboxStatus.STOPPED);
            assertThat(K8sSandboxTest.cluster.client.pods().inNamespace("davit-test")
                    .withName(Pods.name(w.sandboxId())).get()).isNull();
            ws.resume(w.id());
            assertThat(ws.paused(w.id())).isFalse();
            assertThat(sh(ws, w, SHOW)).as("after a pause and resume").isEqualTo(expected);

            fork = ws.fork(w.id(), 1, List.of("kept-fork"), null).get(0);
            assertThat(fork.sandboxId()).isNotEqualTo(w.sandboxId());
            assertThat(sh(ws, fork, SHOW)).as("the fork").isEqualTo(expected);
            sh(ws, fork, "echo changed-in-fork >/etc/note");
            assertThat(sh(ws, fork, "cat /etc/note")).isEqualTo("changed-in-fork\n");
            assertThat(sh(ws, w, "cat /etc/note")).as("the original").isEqualTo("noted\n");
        } finally {
            if (fork != null) {
                ws.rm(fork.id());
            }
            ws.rm(w.id());
        }
    }

    /**
     * A process left running in the pod swaps the scan's list for a link to a file that exists on davit's host too,
     * as soon as the scan has made it. The link arrives as a link; davit never reads through it, and the stop
     * ends the pod without saving, then fails in words saying what was not kept.
     */
    @Test
    void aScanListThatIsALinkIsNeverFollowedOnTheHost() throws Exception {
        K8sSandboxTest.image();
        Workspaces ws = Workspaces.under(K8sSandboxTest.home);
        Workspace w = ws.create(WorkspaceSpec.builder(K8sSandboxTest.workspaceSpec()).name("hostile-scan").build());
        try {
            // as soon as the list is there, while its find fills it: 20,000 files make that take long enough for
            // the pod to win the race every time, however busy the machine
            sh(ws, w, "mkdir /tmp/many && cd /tmp/many && busybox seq 1 20000 | busybox xargs busybox touch");
            sh(ws, w, "(while :; do for d in /.davit/run/state-*/scan; do if [ -f \"$d/all\" ] && [ ! -L"
                    + " \"$d/all\" ]; then busybox ln -sfn /etc/hostname \"$d/all\"; fi; done; busybox usleep 1000;"
                    + " done) </dev/null >/dev/null 2>&1 &");
            assertThatThrownBy(() -> ws.stop(w.id())).isInstanceOf(dev.davit.oci.DavitException.class)
                    .hasMessageContaining("is stopped, but what it wrote since it started was not kept")
                    .hasMessageContaining("sent no all list (or not as a file)");
            // the stop ended the pod all the same: a sandbox cannot keep itself running by breaking its save
            assertThat(K8sSandboxTest.cluster.client.pods().inNamespace("davit-test")
                    .withName(Pods.name(w.sandboxId())).get()).as("the pod is gone").isNull();
            assertThat(ws.sandbox(w.id()).status()).isEqualTo(dev.davit.sandbox.SandboxStatus.STOPPED);
        } finally {
            ws.rm(w.id());
        }
        assertThat(K8sSandboxTest.cluster.client.pods().inNamespace("davit-test").withName(Pods.name(w.sandboxId()))
                .get()).isNull();
    }

    private static String uid(Workspace w) {
        return K8sSandboxTest.cluster.client.pods().inNamespace("davit-test").withName(Pods.name(w.sandboxId())).get()
                .getMetadata().getUid();
    }

    private static String sh(Workspaces ws, Workspace w, String script) {
        ExecResult r = ws.execs().run(w.id(), ExecRequest.builder("sh", "-c", script).timeout(Duration.ofSeconds(60))
                .build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }
}
