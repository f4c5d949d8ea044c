package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.davit.sandbox.workspace.ExecEntry;
import dev.davit.sandbox.workspace.ExecOutput;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceExecs;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.time.Duration;
import java.util.List;
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
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build())
                .name("w").build());
        long total = 20_000_000;
        var e = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", "yes 0123456789 | head -c " + total
                + "; echo err >&2").timeout(Duration.ofMinutes(2)).build(), 1024);
        assertEquals(0, e.result().exitCode(), e.result().stderrText());
        assertEquals(total, e.stdout().total());
        long kept = 16L << 20;
        ExecOutput.Page last = workspaces.execs().output(w.id(), e.execId(), "stdout", kept - 10, 100);
        assertThat(last.bytes()).hasSize(10);
        assertThat(last.kept()).isEqualTo(kept);
        assertThat(last.dropped()).isEqualTo(total - kept);
        ExecOutput.Page first = workspaces.execs().output(w.id(), e.execId(), "stdout", 0, 11);
        assertThat(new String(first.bytes())).isEqualTo("0123456789\n");
        assertThat(first.dropped()).isEqualTo(total - kept); // every page says so, not only the last
        ExecOutput.Page err = workspaces.execs().output(w.id(), e.execId(), "stderr", 0, 100);
        assertThat(new String(err.bytes())).isEqualTo("err\n");
        assertThat(err.dropped()).isZero();
    }

    /**
     * {@code execSpooled} (the CLI's, its excerpts in files) gives what {@code exec} (in memory) gives: the same
     * excerpt text, base64 or not, sizes and history entries, for output shorter than the result's capture, longer
     * than it and cut, with a control byte; no file is left once it is closed.
     */
    @Test
    void aSpooledExecGivesWhatAnExecInMemoryGives() throws Exception {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build())
                .name("w").build());
        for (String script : List.of("echo hi; printf 'e\\001' >&2", "yes 0123456789 | head -c 12000",
                "yes 0123456789 | head -c 300000; yes abc | head -c 70000 >&2")) {
            List<String> argv = List.of("sh", "-c", script);
            var m = workspaces.execs().run(w.id(), ExecRequest.builder(argv).build(), 65536);
            try (var s = workspaces.execs().runSpooled(w.id(), argv, null, null, null, null, 65536, null, null, null)) {
                for (String name : List.of("stdout", "stderr")) {
                    OutputExcerpt.Rendered r = (name.equals("stdout") ? m.stdout() : m.stderr()).render(name);
                    SpooledExcerpt x = name.equals("stdout") ? s.stdout() : s.stderr();
                    java.io.StringWriter text = new java.io.StringWriter();
                    try (java.io.Reader in = x.text(name)) {
                        in.transferTo(text);
                    }
                    assertEquals(r.text(), text.toString(), script);
                    assertEquals(r.base64() != null, x.needsBytes(), script);
                    assertEquals((name.equals("stdout") ? m.stdout() : m.stderr()).total(), x.total(), script);
                }
                assertEquals(m.result().exitCode(), s.result().exitCode());
                assertThat(s.result().capturedStdout().size()).isLessThanOrEqualTo(WorkspaceExecs.SPOOLED_CAPTURE);
            }
            List<ExecEntry> log = workspaces.execs().logs(w.id());
            ExecEntry a = log.get(log.size() - 2);
            ExecEntry b = log.get(log.size() - 1);
            assertEquals(a.stdout(), b.stdout(), script);
            assertEquals(a.stderr(), b.stderr(), script);
        }
        try (java.util.stream.Stream<java.nio.file.Path> left = java.nio.file.Files.list(home.resolve("workspaces")
                .resolve(w.id()))) {
            assertThat(left.map(f -> f.getFileName().toString())).noneMatch(n -> n.startsWith(".output-"));
        }
    }
}
