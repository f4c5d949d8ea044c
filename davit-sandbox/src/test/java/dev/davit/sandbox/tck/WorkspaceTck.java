package dev.davit.sandbox.tck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What a workspace's commands and files do, whatever runs the sandbox: one suite that each backend's test class
 * extends (container, microVM, k8s), given one running workspace of an image with busybox's {@code sh}, {@code cat},
 * {@code echo} and {@code sleep}. The agent's protocol is what it tests through: the same request must give the same
 * result on every backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class WorkspaceTck {
    private static final Duration WAIT = Duration.ofSeconds(60);

    /** A directory of the suite's, removed after it. */
    protected java.nio.file.Path tmp;
    private Workspaces workspaces;
    private Workspace workspace;

    /** The workspaces of the backend under test (its fixture made first). */
    protected abstract Workspaces open() throws Exception;

    /** The workspace the suite makes with them: the busybox image on the backend under test. */
    protected abstract WorkspaceSpec spec();

    @org.junit.jupiter.api.BeforeAll
    void createTheWorkspace(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        tmp = dir;
        workspaces = open();
        workspace = workspaces.create(spec());
    }

    @org.junit.jupiter.api.AfterAll
    void removeTheWorkspace() {
        if (workspace != null) {
            workspaces.rm(workspace.id());
        }
    }

    private Workspaces workspaces() {
        return workspaces;
    }

    /** The running workspace the tests share (each leaves it as it found it, but for its own files). */
    private Workspace workspace() {
        return workspace;
    }

    /**
     * What the backend cannot do yet, named (each skips the tests of it, which say so): {@code stdin} (a command fed
     * standard input), {@code at-once} (commands of one sandbox running at the same time: they queue instead). None
     * by default.
     */
    protected java.util.Set<String> notYet() {
        return java.util.Set.of();
    }

    private void assumeCan(String what) {
        org.junit.jupiter.api.Assumptions.assumeFalse(notYet().contains(what),
                () -> getClass().getSimpleName() + ": its backend cannot do '" + what + "' yet (issue 70)");
    }

    private ExecResult exec(ExecRequest.Builder r) {
        return workspaces().execs().run(workspace().id(), r.build());
    }

    private ExecResult sh(String script) {
        return exec(ExecRequest.builder("sh", "-c", script).timeout(WAIT));
    }

    @Test
    public void theExitCodeAndEachStreamAreTheCommands() {
        ExecResult r = sh("echo out; echo err >&2; echo more; exit 3");
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.stdoutText()).isEqualTo("out\nmore\n");
        assertThat(r.stderrText()).isEqualTo("err\n");
        assertThat(r.timedOut()).isFalse();
        assertThat(sh("exit 0").exitCode()).isZero();
    }

    @Test
    public void aCommandHasItsVariablesAndItsWorkingDirectory() {
        workspaces().files().write(workspace().id(), "tck/sub/here.txt",
                new ByteArrayInputStream("here\n".getBytes(StandardCharsets.UTF_8)));
        ExecResult r = exec(ExecRequest.builder("sh", "-c", "echo \"$A|$B\"; pwd; cat here.txt").env("A", "1")
                .env("B", "two words").workdir("tck/sub").timeout(WAIT));
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        assertThat(r.stdoutText()).isEqualTo("1|two words\n/workspace/tck/sub\nhere\n");
        // the default working directory is the workspace's
        assertThat(sh("pwd").stdoutText()).isEqualTo("/workspace\n");
    }

    @Test
    public void stdinIsFedWholeAndClosed() {
        assumeCan("stdin");
        byte[] in = new byte[300_000];
        for (int i = 0; i < in.length; i++) {
            in[i] = (byte) ('a' + i % 26);
        }
        ExecResult r = exec(ExecRequest.builder("cat").stdin(new ByteArrayInputStream(in)).timeout(WAIT));
        assertThat(r.exitCode()).isZero();
        assertThat(r.capturedStdout().size()).isEqualTo(in.length);
        assertThat(r.stdoutText()).isEqualTo(new String(in, StandardCharsets.US_ASCII));
    }

    @Test
    public void aCommandThatIsNotThereIs127() {
        ExecResult r = exec(ExecRequest.builder("no-such-command-tck").timeout(WAIT));
        assertThat(r.exitCode()).isEqualTo(127);
        assertThat(r.stderrText()).contains("no-such-command-tck");
    }

    @Test
    public void aTimeoutKillsTheCommandAndWhatItStartedAndTheNextRuns() {
        ExecResult r = exec(ExecRequest.builder("sh", "-c", "sleep 300 & echo $!; wait")
                .timeout(Duration.ofSeconds(2)));
        assertThat(r.timedOut()).isTrue();
        assertThat(r.exitCode()).isEqualTo(ExecResult.TIMEOUT_EXIT_CODE);
        String pid = r.stdoutText().strip();
        assertThat(pid).matches("[0-9]+");
        // what it left in the background went with it (kill -0 fails for a process that is gone)
        ExecResult gone = sh("i=0; while kill -0 " + pid + " 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1;"
                + " i=$((i+1)); done; kill -0 " + pid + " 2>/dev/null && echo alive || echo gone");
        assertThat(gone.stdoutText()).isEqualTo("gone\n");
    }

    @Test
    public void aFloodThatNeverEndsIsCutByItsTimeoutAndWhatIsKeptIsBounded() {
        int keep = 64 << 10;
        var x = workspaces().execs().run(workspace().id(), ExecRequest.builder("sh", "-c",
                "while :; do echo floodfloodfloodfloodfloodfloodfloodflood; done").timeout(Duration.ofSeconds(3))
                .build(), keep);
        assertThat(x.result().timedOut()).isTrue();
        assertThat(x.result().exitCode()).isEqualTo(ExecResult.TIMEOUT_EXIT_CODE);
        assertThat(x.result().capturedStdout().size()).isLessThanOrEqualTo(keep);
        assertThat(x.stdout().total()).as("bytes the flood wrote").isGreaterThan(keep);
        assertThat(sh("echo after").stdoutText()).isEqualTo("after\n");
    }

    @Test
    public void commandsRunAtOnceAndKeepTheirOutputsApart() throws Exception {
        // on a backend that cannot run them at once they queue: each still gets its own result
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<ExecResult>> runs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                String n = Integer.toString(i);
                Callable<ExecResult> c = () -> exec(ExecRequest.builder("sh", "-c", "sleep 1; echo $N; echo e$N >&2")
                        .env("N", n).timeout(WAIT));
                runs.add(pool.submit(c));
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < 4; i++) {
                ExecResult r = runs.get(i).get();
                assertThat(r.exitCode()).isZero();
                assertThat(r.stdoutText()).isEqualTo(i + "\n");
                assertThat(r.stderrText()).isEqualTo("e" + i + "\n");
            }
            // at once, not one after another (four one-second sleeps in a row would take four)
            if (!notYet().contains("at-once")) {
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(3900));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    public void outputLargerThanAFrameArrivesWhole() {
        // 2,000 lines of 41 bytes on stdout, interleaved with stderr: past the agent's 64 KiB frames and pipes
        ExecResult r = sh("i=0; while [ $i -lt 2000 ]; do echo 0123456789012345678901234567890123456789;"
                + " [ $((i % 500)) -eq 0 ] && echo $i >&2; i=$((i+1)); done");
        assertThat(r.exitCode()).isZero();
        assertThat(r.capturedStdout().size()).isEqualTo(2000 * 41);
        assertThat(r.stderrText()).isEqualTo("0\n500\n1000\n1500\n");
    }

    @Test
    public void filesWrittenAreReadListedSeenByCommandsAndDiffed() {
        String id = workspace().id();
        byte[] data = "one\ntwo\n".getBytes(StandardCharsets.UTF_8);
        assertThat(workspaces().files().write(id, "tck/files/a.txt", new ByteArrayInputStream(data)))
                .isEqualTo(data.length);
        assertThat(workspaces().files().read(id, "tck/files/a.txt", 0).bytes()).isEqualTo(data);
        assertThat(workspaces().files().list(id, "tck/files", false)).extracting(WorkspaceFiles.FileInfo::path)
                .contains("tck/files/a.txt");
        assertThat(sh("cat tck/files/a.txt; echo three >> tck/files/a.txt").stdoutText()).isEqualTo("one\ntwo\n");
        assertThat(new String(workspaces().files().read(id, "tck/files/a.txt", 0).bytes(), StandardCharsets.UTF_8))
                .isEqualTo("one\ntwo\nthree\n");
        WorkspaceDiff d = workspaces().files().diff(id);
        assertThat(d.changes()).extracting(WorkspaceDiff.Change::path).contains("tck/files/a.txt");
    }

    @Test
    public void aShellTakesWhatIsTypedShowsItsOutputHearsCtrlCAndEndsWithItsCode() {
        dev.davit.sandbox.workspace.Shells shells = workspaces().shells(workspace().id());
        String sh = shells.open(null, null).id();
        try {
            shells.write(sh, "echo \"is-$((6*7))\" $TERM\n".getBytes(StandardCharsets.UTF_8));
            assertThat(readUntil(shells, sh, "is-42 xterm")).contains("is-42 xterm");
            // Ctrl-C goes to the terminal's foreground group: the cat ends, the shell goes on
            shells.write(sh, "cat\n".getBytes(StandardCharsets.UTF_8));
            readUntil(shells, sh, "cat");
            assertThat(shells.get(sh).state()).isEqualTo("running");
            shells.signal(sh, "INT");
            shells.write(sh, "echo after-$?\n".getBytes(StandardCharsets.UTF_8));
            assertThat(readUntil(shells, sh, "after-130")).contains("after-130");
            // a long line typed whole (busybox's line editor takes up to 1,024 characters)
            String line = "x".repeat(900);
            shells.write(sh, ("echo typed-$(printf %s " + line + " | wc -c)\n").getBytes(StandardCharsets.UTF_8));
            assertThat(readUntil(shells, sh, "typed-900")).contains("typed-900");
            shells.write(sh, "exit 7\n".getBytes(StandardCharsets.UTF_8));
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (shells.get(sh).state().equals("running") && System.nanoTime() < deadline) {
                readUntil(shells, sh, "\u0000never");
            }
            assertThat(shells.get(sh).label()).isEqualTo("exited(7)");
        } finally {
            shells.close(sh);
        }
        assertThat(shells.list()).extracting(dev.davit.sandbox.workspace.Shells.Shell::id).doesNotContain(sh);
    }

    /** The shell's text read until {@code want} is in it, or a few seconds. */
    private static String readUntil(dev.davit.sandbox.workspace.Shells shells, String sh, String want) {
        StringBuilder all = new StringBuilder();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!all.toString().contains(want) && System.nanoTime() < deadline) {
            var o = shells.read(sh, new dev.davit.sandbox.workspace.Shells.ReadOptions(Duration.ofSeconds(2), null,
                    null, dev.davit.sandbox.workspace.Shells.MAX_BYTES, false));
            all.append(o.text());
            if (want.startsWith("\u0000")) {
                break;
            }
        }
        return all.toString();
    }
}
