package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.workspace.DetachedExec;
import dev.davit.sandbox.workspace.ExecOutput;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceExecs;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Detached execs over real bwrap sandboxes: they outlive the davit that started them (a later one waits for them,
 * pages their output whole and finds them in the list), and a cancel, a timeout and the workspace's stop each stop
 * one and say so.
 */
class WorkspaceDetachedExecTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("dd");
    }

    Workspace w;

    @BeforeEach
    void createWorkspace() {
        w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build())
                .name("w").build());
    }

    private static boolean running(long pid) {
        return ProcessHandle.of(pid).map(Host::running).orElse(false);
    }

    @Test
    void aDetachedExecOutlivesItsDavitAndIsWaitedForPagedAndListed() {
        DetachedExec x = workspaces.execs().start(w.id(), ExecRequest.builder("sh", "-c",
                "i=0; while [ $i -lt 40 ]; do echo out$i; echo err$i >&2; i=$((i+1)); sleep 0.05; done; exit 3")
                .build());
        assertThat(x.execId()).matches("e-[0-9a-f]{12}");
        assertThat(x.state()).isEqualTo("running");
        assertThat(x.workdir()).isEqualTo("/workspace");

        Workspaces later = Workspaces.under(home); // another davit: nothing of the first one's memory
        DetachedExec done = later.execs().await("w", x.execId(), Duration.ofSeconds(60));
        assertThat(done.state()).isEqualTo("exited");
        assertThat(done.exitCode()).isEqualTo(3);
        assertThat(done.killedBy()).isNull();
        assertThat(done.endedAt()).isAfterOrEqualTo(done.startedAt());

        // paged in small pieces, the whole output comes back, in the order written
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        long offset = 0;
        ExecOutput.Page p;
        do {
            p = later.execs().output("w", x.execId(), WorkspaceExecs.DETACHED_STREAM, offset, 7);
            all.writeBytes(p.bytes());
            offset = p.offset() + p.bytes().length;
        } while (offset < p.kept());
        String out = all.toString(StandardCharsets.UTF_8);
        assertThat(out).startsWith("out0\nerr0\n").endsWith("out39\nerr39\n");
        assertThat((long) all.size()).isEqualTo(done.outputBytes()).isEqualTo(p.kept());
        assertThat(p.dropped()).isZero();
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> later.execs().output("w", x.execId(), "stdout", 0, 10)).kind());

        assertThat(later.execs().list("w")).extracting(DetachedExec::execId).containsExactly(x.execId());
        assertEquals(DavitException.Kind.NOT_FOUND, assertThrows(DavitException.class,
                () -> later.execs().status("w", "e-000000000000")).kind());
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> later.execs().status("w", "../x")).kind());
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> workspaces.execs().start(w.id(), ExecRequest.builder("true")
                        .stdin(new java.io.ByteArrayInputStream(new byte[1])).build())).kind());
    }

    /**
     * Past the log cap the oldest output is dropped: pages start after it (at dropped_bytes) and run across the kept
     * older file into the newer one, to the stream's end.
     */
    @Test
    void pagesRunAcrossTheRotatedOutputAfterWhatWasDropped() {
        System.setProperty("davit.logs.capBytes", "4096");
        DetachedExec x;
        try {
            x = workspaces.execs().start(w.id(), ExecRequest.builder("sh", "-c",
                    "i=1; while [ $i -le 3000 ]; do echo $i; i=$((i+1)); done").build());
        } finally {
            System.clearProperty("davit.logs.capBytes");
        }
        DetachedExec done = workspaces.execs().await(w.id(), x.execId(), Duration.ofSeconds(60));
        assertThat(done.exitCode()).isZero();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        ExecOutput.Page p = workspaces.execs().output(w.id(), x.execId(), null, 0, 100);
        long first = p.offset();
        assertThat(first).isEqualTo(p.dropped()).isPositive();
        while (true) {
            all.writeBytes(p.bytes());
            long next = p.offset() + p.bytes().length;
            if (next >= p.kept()) {
                break;
            }
            p = workspaces.execs().output(w.id(), x.execId(), null, next, 100);
        }
        StringBuilder whole = new StringBuilder();
        for (int i = 1; i <= 3000; i++) {
            whole.append(i).append('\n');
        }
        assertThat(p.kept()).isEqualTo(done.outputBytes()).isEqualTo(whole.length());
        assertThat(all.toString(StandardCharsets.UTF_8)).isEqualTo(whole.substring((int) first));
        assertThat(all.size()).isGreaterThan(2048); // the older kept file and the newer one
    }

    @Test
    void aCancelATimeoutAndTheWorkspacesStopEachStopOneAndSaySo() throws Exception {
        DetachedExec cancelled = workspaces.execs().start(w.id(), ExecRequest.builder("sleep", "300").build());
        DetachedExec timed = workspaces.execs().start(w.id(), ExecRequest.builder("sleep", "300")
                .timeout(Duration.ofSeconds(1)).build());
        DetachedExec stopped = workspaces.execs().start(w.id(), ExecRequest.builder("sleep", "300").build());
        assertThat(running(cancelled.pid())).isTrue();

        DetachedExec c = workspaces.execs().kill(w.id(), cancelled.execId());
        assertThat(c.state()).isEqualTo("killed");
        assertThat(c.killedBy()).isEqualTo("cancel");
        assertThat(running(cancelled.pid())).isFalse();

        Thread.sleep(1500);
        DetachedExec t = Workspaces.under(home).execs().await("w", timed.execId(), Duration.ofSeconds(10));
        assertThat(t.state()).isEqualTo("killed");
        assertThat(t.killedBy()).isEqualTo("timeout");
        assertThat(running(timed.pid())).isFalse();

        assertThat(workspaces.execs().status(w.id(), stopped.execId()).state()).isEqualTo("running");
        workspaces.stop(w.id());
        DetachedExec s = workspaces.execs().status(w.id(), stopped.execId());
        assertThat(s.state()).isEqualTo("killed");
        assertThat(s.killedBy()).isEqualTo("stop");
        assertThat(running(stopped.pid())).isFalse();
    }

    /** A detached exec the OOM killer ends at the workspace's memory limit says so: killed_by oom. */
    @Test
    void anExecTheOomKillerEndedSaysSo() {
        org.assertj.core.api.Assumptions.assumeThat(dev.davit.sandbox.jail.Jail.active()).as("root (cgroups)")
                .isTrue();
        Workspace small = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs)
                .limits(new Limits(64, 1, 128, 64))
                .ttl(Duration.ofHours(1)).build()).name("small").build());
        DetachedExec hog = workspaces.execs().start(small.id(), ExecRequest.builder("dd", "if=/dev/zero",
                "of=/dev/null", "bs=256M", "count=4").build());
        DetachedExec done = workspaces.execs().await(small.id(), hog.execId(), Duration.ofSeconds(60));
        assertThat(done.state()).isEqualTo("killed");
        assertThat(done.killedBy()).isEqualTo("oom");
        assertThat(done.exitCode()).isEqualTo(137);
        // an exec that ends by itself is no OOM kill, though the count stays above what it started with
        DetachedExec fine = workspaces.execs().start(small.id(), ExecRequest.builder("true").build());
        assertThat(workspaces.execs().await(small.id(), fine.execId(), Duration.ofSeconds(30)).killedBy()).isNull();
    }
}
