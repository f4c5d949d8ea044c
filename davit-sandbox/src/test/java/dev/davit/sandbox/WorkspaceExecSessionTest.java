package dev.davit.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A workspace exec's command is in a session of its own, never the caller's: in the caller's session it had the
 * caller's controlling terminal (a developer's shell running the CLI, an agent's terminal running the MCP server),
 * and through the sandbox's /dev/tty it could write to it, read what is typed there, or make itself the terminal's
 * foreground process group (tcsetpgrp: SIGTTOU ignored, from the background too) after the exec ended.
 */
class WorkspaceExecSessionTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of();
    }

    @Test
    void anExecHasASessionOfItsOwn() throws Exception {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).limits(Limits.NONE).build())
                .build());
        String mark = "davit-session-probe-" + ProcessHandle.current().pid();
        CompletableFuture<ExecResult> run = CompletableFuture.supplyAsync(() -> workspaces.execs().run(w.id(),
                ExecRequest.builder("sh", "-c", "sleep 30; : " + mark, "sh").timeout(Duration.ofSeconds(60)).build()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        ProcessHandle shell = null;
        while (shell == null && System.nanoTime() < deadline) {
            // anywhere on the host: the sandbox's agent forks it (the agent is no descendant of this JVM)
            shell = ProcessHandle.allProcesses()
                    .filter(p -> p.info().commandLine().orElse("").contains(mark)).findFirst().orElse(null);
            Thread.sleep(20);
        }
        assertNotNull(shell, "the command runs");
        String[] mine = Host.stat(ProcessHandle.current().pid());
        String[] its = Host.stat(shell.pid());
        assertNotNull(its);
        assertNotEquals(mine[3], its[3], "the command's session is not the caller's");
        assertEquals("0", its[4], "the command has no controlling terminal");
        for (ProcessHandle p : shell.descendants().toList()) {
            if (p.info().commandLine().orElse("").contains("sleep 30")) {
                p.destroyForcibly();
            }
        }
        shell.destroyForcibly();
        run.get(60, TimeUnit.SECONDS);
    }
}
