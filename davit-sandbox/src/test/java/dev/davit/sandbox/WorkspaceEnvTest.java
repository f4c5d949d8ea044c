package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Secrets;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A workspace's own variables over real bwrap sandboxes: given at its creation, every exec, service and shell gets
 * them (under what a call gives itself), its status shows them, a change holds for the next processes and survives a
 * stop, a fork takes them; a secret's value is never taken as one.
 */
class WorkspaceEnvTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of();
    }

    private String exec(String id, String script, Map<String, String> env) {
        ExecResult r = workspaces.execs().run(id, ExecRequest.builder("sh", "-c", script).env(env)
                .timeout(Duration.ofSeconds(20)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    @Test
    void everyProcessGetsTheWorkspacesVariablesAndAChangeHoldsForTheNext() throws Exception {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).env("MODE", "ci")
                .env("GONE", "soon")
                .ttl(Duration.ofHours(1)).build()).name("envs").build());
        assertThat(exec(w.id(), "echo $MODE $GONE $ONE", Map.of("ONE", "1"))).isEqualTo("ci soon 1\n");
        assertThat(exec(w.id(), "echo $MODE", Map.of("MODE", "mine"))).as("a call's own on top").isEqualTo("mine\n");
        Sandbox s = workspaces.sandbox(w.id());
        assertThat(WorkspaceJson.workspace(w, s, false).get("env").toString())
                .isEqualTo("{\"GONE\":\"soon\",\"MODE\":\"ci\"}");

        // a service and a shell started now get them
        workspaces.services(w.id()).start("svc", List.of("sh", "-c", "echo svc-$MODE > /workspace/svc.txt;"
                + " sleep 600"), Map.of(), null, null);
        Shells shells = workspaces.shells(w.id());
        Shells.Shell sh = shells.open(null, Map.of());
        shells.write(sh.id(), "echo shell-$MODE-$GONE\n".getBytes(StandardCharsets.UTF_8));
        Shells.Output o = shells.read(sh.id(), new Shells.ReadOptions(Duration.ofSeconds(30), null,
                Pattern.compile("shell-ci-soon"), Shells.MAX_BYTES, false));
        assertThat(o.text()).contains("shell-ci-soon");
        assertThat(exec(w.id(), "cat svc.txt", Map.of())).isEqualTo("svc-ci\n");

        // changed: the next exec sees the change; a stop and start keep it
        Sandbox changed = workspaces.env(w.id(), Map.of("MODE", "test", "NEW", "n"), List.of("GONE"));
        assertThat(changed.spec().env()).isEqualTo(Map.of("MODE", "test", "NEW", "n"));
        assertThat(exec(w.id(), "echo $MODE ${GONE:-none} $NEW", Map.of())).isEqualTo("test none n\n");
        workspaces.stop(w.id());
        workspaces.start(w.id());
        assertThat(exec(w.id(), "echo $MODE $NEW", Map.of())).isEqualTo("test n\n");
        Workspace fork = workspaces.fork(w.id(), 1, List.of(), null).get(0);
        assertThat(exec(fork.id(), "echo $MODE $NEW", Map.of())).isEqualTo("test n\n");

        DavitException both = assertThrows(DavitException.class, () -> workspaces.env(w.id(), Map.of("A", "1"),
                List.of("A")));
        assertEquals(DavitException.Kind.USAGE, both.kind());
        DavitException bad = assertThrows(DavitException.class, () -> workspaces.env(w.id(), Map.of("A=B", "1"),
                null));
        assertEquals(DavitException.Kind.USAGE, bad.kind());
        assertThat(workspaces.sandbox(w.id()).spec().env()).as("a refused change changes nothing")
                .isEqualTo(Map.of("MODE", "test", "NEW", "n"));
    }

    @Test
    void aSecretsValueIsNeverAVariable() {
        Secrets secrets = Secrets.of(Map.of("TOKEN", "s3cret-value-42".getBytes(StandardCharsets.UTF_8)));
        DavitException made = assertThrows(DavitException.class,
                () -> workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .env("API", "s3cret-value-42").ttl(Duration.ofHours(1)).build()).name("sec").secrets(secrets).build()));
        assertEquals(DavitException.Kind.USAGE, made.kind());
        assertThat(made.getMessage()).contains("variable API holds a secret's value").doesNotContain("s3cret");
        assertThat(workspaces.list()).isEmpty();
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .build())
                .name("sec").secrets(secrets).build());
        DavitException changed = assertThrows(DavitException.class, () -> workspaces.env(w.id(),
                Map.of("API", "Bearer s3cret-value-42"), null));
        assertThat(changed.getMessage()).contains("variable API holds a secret's value").doesNotContain("s3cret");
        assertThat(workspaces.sandbox(w.id()).spec().env()).isEmpty();
    }
}
