package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A diff that does not drown in dependencies, over a real bwrap sandbox: a 5,000-file node_modules is one counted
 * line, not 5,000 changes, and the two lines the agent wrote are there; with a .gitignore its rules decide (a
 * directory it names, at any depth or anchored); asked for, or for a path below, everything is listed.
 */
class WorkspaceDiffIgnoredTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("seq", "mkdir");
    }

    private void sh(Workspace w, String script) {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", script)
                .timeout(Duration.ofSeconds(120)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
    }

    @Test
    void ignoredDirectoriesAreCountedNotListed() {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .build())
                .name("di").build());
        sh(w, "mkdir -p node_modules/left-pad src sub/__pycache__ && for i in $(seq 5000); do echo $i >"
                + " node_modules/left-pad/f$i.js; done && echo 'export const add = (a, b) => a + b;' > src/app.js"
                + " && echo cached > sub/__pycache__/m.pyc && echo note > README");
        WorkspaceDiff d = workspaces.files().diff(w.id());
        assertThat(d.changes()).extracting(WorkspaceDiff.Change::path).containsExactly("README", "src", "src/app.js",
                "sub");
        assertThat(d.patch()).contains("+export const add").doesNotContain("node_modules");
        assertThat(d.collapsed()).containsExactly(new WorkspaceDiff.Collapsed("node_modules", 5002, 0, 0),
                new WorkspaceDiff.Collapsed("sub/__pycache__", 2, 0, 0));

        WorkspaceDiff all = workspaces.files().diff(w.id(), null, List.of(), true);
        assertThat(all.changes()).hasSize(5000 + 2 + 4 + 2);
        assertThat(all.collapsed()).isEmpty();
        WorkspaceDiff below = workspaces.files().diff(w.id(), null, List.of("node_modules/left-pad/f7.js"),
                true);
        assertThat(below.changes()).extracting(WorkspaceDiff.Change::path).containsExactly(
                "node_modules/left-pad/f7.js");

        // a .gitignore decides: what it names (at any depth, or anchored), not the usual names
        sh(w, "printf '# build output\\n/out/\\n*.tmp\\nlogs\\n!keep\\n' > .gitignore && mkdir -p out/x lib/logs"
                + " && echo o > out/x/o && echo l > lib/logs/l && mkdir a.tmp && echo t > a.tmp/t");
        WorkspaceDiff ruled = workspaces.files().diff(w.id());
        assertThat(ruled.collapsed()).extracting(WorkspaceDiff.Collapsed::path).containsExactly("a.tmp",
                "lib/logs", "out");
        assertThat(ruled.changes()).extracting(WorkspaceDiff.Change::path).contains("node_modules/left-pad/f1.js",
                ".gitignore", "lib").doesNotContain("out/x/o", "lib/logs/l");
    }
}
