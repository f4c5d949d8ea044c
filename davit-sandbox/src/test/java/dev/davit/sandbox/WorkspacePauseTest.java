package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Pause and resume of container workspaces over real bwrap sandboxes: the cgroup freezer holds a service whose
 * counter lives in its shell's memory (it counts no further while paused, and goes on from where it was after),
 * execs are refused meanwhile, and a paused workspace still stops (a frozen process cannot die: it is thawed first).
 */
class WorkspacePauseTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("mv");
    }

    private String counter(Workspace w) {
        return new String(workspaces.files().read(w.id(), "c", 0).bytes(), StandardCharsets.UTF_8).strip();
    }

    @Test
    void aPausedContainerKeepsItsProcessesStillAndGoesOnWhenResumed() throws Exception {
        assumeThat(Jail.active()).as("root (the sandbox's cgroup)").isTrue();
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .limits(new Limits(256, 1, 128, 64))
                .ttl(Duration.ofHours(1)).build()).name("p").build());
        workspaces.services(w.id()).start("counter", List.of("sh", "-c", "i=0; while :; do i=$((i+1));"
                + " echo \"$$ $i\" > /workspace/c.new; mv /workspace/c.new /workspace/c; sleep 0.05; done"), Map.of(),
                null, null);
        Thread.sleep(1000);

        assertThat(workspaces.pause(w.id()).status()).isEqualTo(SandboxStatus.RUNNING);
        assertThat(workspaces.paused(w.id())).isTrue();
        String frozen = counter(w); // its files stay readable
        Thread.sleep(1000);
        assertThat(counter(w)).as("no CPU while paused").isEqualTo(frozen);
        DavitException refused = assertThrows(DavitException.class, () -> workspaces.execs().run(w.id(),
                ExecRequest.builder("true").timeout(Duration.ofSeconds(10)).build()));
        assertEquals(DavitException.Kind.STATE, refused.kind());
        assertThat(refused.getMessage()).contains("workspace p is paused; resume it first").doesNotContain("sbx-");
        DavitException service = assertThrows(DavitException.class, () -> workspaces.services(w.id()).start("late",
                List.of("true"), Map.of(), null, null));
        assertEquals(DavitException.Kind.STATE, service.kind());
        assertThat(service.getMessage()).contains("is paused; resume it first").doesNotContain("sbx-");
        // every door words its status so: paused, whatever its sandbox's (running: frozen)
        var paused = workspaces.sandbox(w.id());
        var doc = dev.davit.sandbox.workspace.json.WorkspaceJson.workspace(w, paused, workspaces.paused(paused));
        assertThat(doc.get("status").asText()).isEqualTo("paused");
        assertThat(doc.get("paused").asBoolean()).isTrue();
        assertThat(workspaces.pause(w.id()).status()).isEqualTo(SandboxStatus.RUNNING); // again: unchanged

        assertThat(Workspaces.under(home).resume("p").status()).isEqualTo(SandboxStatus.RUNNING);
        assertThat(workspaces.paused(w.id())).isFalse();
        Thread.sleep(700);
        String[] was = frozen.split(" ");
        String[] now = counter(w).split(" ");
        assertThat(now[0]).as("the same shell").isEqualTo(was[0]);
        assertThat(Long.parseLong(now[1])).isGreaterThan(Long.parseLong(was[1]));
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class, () -> workspaces.resume("p"))
                .kind());

        // paused, then stopped: thawed first, so its processes die, and it starts again as any stopped one
        workspaces.pause(w.id());
        assertThat(workspaces.stop(w.id()).status()).isEqualTo(SandboxStatus.STOPPED);
        assertThat(workspaces.paused(w.id())).isFalse();
        workspaces.start(w.id());
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", "echo up")
                .timeout(Duration.ofSeconds(10)).build());
        assertThat(r.stdoutText()).isEqualTo("up\n");
    }

    @Test
    void aContainerWithoutACgroupOfItsOwnIsNotPaused() {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).limits(Limits.NONE)
                .ttl(Duration.ofHours(1))
                .build()).name("nolimits").build());
        DavitException e = assertThrows(DavitException.class, () -> workspaces.pause(w.id()));
        assertEquals(DavitException.Kind.USAGE, e.kind());
        assertThat(e.getMessage()).contains("cannot be frozen");
        assertThat(workspaces.paused(w.id())).isFalse();
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("true").timeout(Duration.ofSeconds(10))
                .build());
        assertThat(r.exitCode()).isZero();
    }
}
