package dev.davit.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.workspace.DetachedExec;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Detached processes of a workspace on the cluster: a background exec and a service run in the pod below the agent's
 * holder (started over the agent's exec-stream connection), are seen running, waited for, read and stopped by a
 * later davit too; a shell's terminal is a pty the holder keeps in the pod, typed into and read through the agent.
 */
@org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
class K8sWorkspaceProcessesTest {
    @Test
    void backgroundExecsAndServicesRunInThePodAndStop() throws Exception {
        K8sSandboxTest.image();
        Workspaces ws = Workspaces.under(K8sSandboxTest.home);
        Workspace w = ws.create(WorkspaceSpec.builder(K8sSandboxTest.workspaceSpec()).name("procs").build());
        try {
            DetachedExec x = ws.execs().start(w.id(), ExecRequest.builder("sh", "-c",
                    "for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.2; done; exit 3").build());
            assertThat(x.state()).isEqualTo("running");
            assertThat(x.pid()).isPositive();
            DetachedExec done = Workspaces.under(K8sSandboxTest.home).execs().await("procs", x.execId(),
                    Duration.ofSeconds(60));
            assertThat(done.state()).isEqualTo("exited");
            assertThat(done.exitCode()).isEqualTo(3);
            String out = new String(ws.execs().output(w.id(), x.execId(), null, 0, 4096).bytes(),
                    StandardCharsets.UTF_8);
            assertThat(out).isEqualTo("out1\nerr1\nout2\nerr2\nout3\nerr3\n");

            DetachedExec sleeper = ws.execs().start(w.id(), ExecRequest.builder("sleep", "300").build());
            // below davit-agent's holder, no shell's (the microVM's old shell agent had an "agent holder")
            assertThat(processes(ws, w)).contains("davit-agent hold /.davit/procs/").doesNotContain("agent holder")
                    .contains("/.davit/davit-agent pod"); // the pod's main process
            DetachedExec killed = ws.execs().kill(w.id(), sleeper.execId());
            assertThat(killed.state()).isEqualTo("killed");
            assertThat(killed.killedBy()).isEqualTo("cancel");
            assertThat(processes(ws, w)).doesNotContain("sleep 300");

            Services sv = ws.services(w.id());
            Services.Service web = sv.start("web", List.of("sh", "-c", "echo listening; while :; do"
                    + " echo hello-from-the-service | busybox nc -l -p 8080; done"), Map.of(), new Services.Readiness("port", "8080"), null);
            assertThat(web.state()).isEqualTo("running");
            assertThat(web.ready()).isTrue();
            ExecResult r = ws.execs().run(w.id(), ExecRequest.builder("busybox", "nc", "-w", "5", "127.0.0.1", "8080")
                    .timeout(Duration.ofSeconds(30)).build());
            assertThat(r.stdoutText()).as(r.stderrText()).contains("hello-from-the-service");
            assertThat(new String(Workspaces.under(K8sSandboxTest.home).services("procs").logs("web", 10),
                    StandardCharsets.UTF_8)).contains("listening");
            Services.Service stopped = sv.stop("web");
            assertThat(stopped.state()).isEqualTo("stopped");
            assertThat(processes(ws, w)).doesNotContain("nc -l -p");

            // a shell: a pty its holder keeps in the pod, typed into and read by another davit through the agent
            String sh = ws.shells(w.id()).open(List.of("sh", "-c", "echo ready; exec sleep 301"), Map.of()).id();
            Shells later = Workspaces.under(K8sSandboxTest.home).shells("procs");
            String text = "";
            for (int i = 0; i < 50 && !text.contains("ready"); i++) {
                text += later.read(sh, new Shells.ReadOptions(Duration.ofSeconds(1), null, null, 4096, false)).text();
            }
            assertThat(text).isEqualTo("ready\n");
            assertThat(later.get(sh).pid()).isPositive();
            assertThat(processes(ws, w)).contains("sleep 301");
            later.close(sh);
            assertThat(processes(ws, w)).doesNotContain("sleep 301");
            assertThatThrownBy(() -> later.get(sh)).isInstanceOf(DavitException.class);
        } finally {
            ws.rm(w.id());
        }
    }

    /** The command lines of the pod's processes, one per line, read from /proc. */
    private static String processes(Workspaces ws, Workspace w) {
        ExecResult r = ws.execs().run(w.id(), ExecRequest.builder("sh", "-c",
                "for f in /proc/[0-9]*/cmdline; do busybox tr '\\0' ' ' <$f; echo; done")
                .timeout(Duration.ofSeconds(30)).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }
}
