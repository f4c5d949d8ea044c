package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.davit.sandbox.workspace.ExecOutput;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The whole output of a workspace's exec, read in pages after its result showed it cut: what is past the 16 MiB kept
 * of a stream is counted ({@code dropped}), never passed off as the stream's end.
 */
class WorkspaceExecOutputTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("yes");
    }

    @Test
    void theBytesPastWhatIsKeptAreCounted() {
        Workspace w = workspaces.create(new CreateSpec(rootfs, Map.of(), null, null, null, Duration.ofHours(1)), "w",
                null);
        long total = 20_000_000;
        var e = workspaces.exec(w.id(), ExecRequest.builder("sh", "-c", "yes 0123456789 | head -c " + total
                + "; echo err >&2").timeout(Duration.ofMinutes(2)).build(), 1024);
        assertEquals(0, e.result().exitCode(), e.result().stderrText());
        assertEquals(total, e.stdout().total());
        long kept = 16L << 20;
        ExecOutput.Page last = workspaces.output(w.id(), e.execId(), "stdout", kept - 10, 100);
        assertThat(last.bytes()).hasSize(10);
        assertThat(last.kept()).isEqualTo(kept);
        assertThat(last.dropped()).isEqualTo(total - kept);
        ExecOutput.Page first = workspaces.output(w.id(), e.execId(), "stdout", 0, 11);
        assertThat(new String(first.bytes())).isEqualTo("0123456789\n");
        assertThat(first.dropped()).isEqualTo(total - kept); // every page says so, not only the last
        ExecOutput.Page err = workspaces.output(w.id(), e.execId(), "stderr", 0, 100);
        assertThat(new String(err.bytes())).isEqualTo("err\n");
        assertThat(err.dropped()).isZero();
    }
}
