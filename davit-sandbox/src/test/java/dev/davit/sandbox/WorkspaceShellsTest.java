package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.davit.sandbox.internal.Spawned;
import dev.davit.oci.DavitException;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Shells a model can use, over real bwrap sandboxes, util-linux script and busybox's ash: a read gives the text the
 * terminal showed (no control sequences, no lines of script's own), waits for the output to settle or for a pattern,
 * takes at most its byte limit; a raw read gives the exact bytes; closing a shell ends every process it had.
 */
class WorkspaceShellsTest extends BwrapWorkspaces {
    private static final Duration LIMIT = Duration.ofSeconds(30);

    @Override
    List<String> applets() {
        return List.of("ps", "printf", "yes");
    }

    Workspace w;
    Shells shells;

    @BeforeEach
    void createWorkspace() {
        w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build())
                .name("w").build());
        shells = workspaces.shells(w.id());
    }

    /** The command lines of the processes in the workspace's sandbox. */
    private String processes() {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("ps", "-o", "args")
                .timeout(Duration.ofSeconds(20)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    /** A text read that waits up to {@link #LIMIT}, then returns once the prompt ends the text. */
    private static Shells.ReadOptions untilPrompt() {
        return new Shells.ReadOptions(LIMIT, null, Pattern.compile("/workspace # $"), Shells.MAX_BYTES, false);
    }

    /** An interactive shell, its banner and first prompt read. */
    private Shells.Shell openAtPrompt() {
        Shells.Shell s = shells.open(null, Map.of());
        assertThat(shells.read(s.id(), untilPrompt()).text()).endsWith("/workspace # ");
        return s;
    }

    @Test
    void aReadAfterACommandIsTheTextOfItsEchoOutputAndPrompt() {
        Shells.Shell s = openAtPrompt();
        shells.write(s.id(), "echo hi-$((1+1))\n".getBytes(StandardCharsets.UTF_8));
        // one read: it waits for output, then for the output to settle (a long quiet time: a busy machine may pause
        // between the echo and the prompt)
        Shells.Output o = shells.read(s.id(), new Shells.ReadOptions(LIMIT, Duration.ofSeconds(2), null,
                Shells.MAX_BYTES, false));
        assertThat(o.text()).isEqualTo("echo hi-$((1+1))\nhi-2\n/workspace # ");
        assertThat(o.truncated()).isFalse();
        // what came were terminal bytes: \r\n and busybox's cursor position query after its prompt
        String raw = new String(o.bytes(), StandardCharsets.UTF_8);
        assertThat(raw).contains("hi-2\r\n");

        // colours, a title, a progress bar and a line edited with backspaces: the text they leave
        shells.write(s.id(), "printf '\\033]0;t\\007\\033[1;31mred\\033[0m\\n10%%\\r100%%\\n'\n"
                .getBytes(StandardCharsets.UTF_8));
        String t = shells.read(s.id(), untilPrompt()).text();
        shells.write(s.id(), "echo abX\b\bcd\n".getBytes(StandardCharsets.UTF_8));
        t += shells.read(s.id(), untilPrompt()).text();
        assertThat(t).contains("\nred\n100%\n").contains("echo acd\nacd\n/workspace # ");
        assertThat(t).doesNotContain("\u001b").doesNotContain("\r").doesNotContain("Script");

        // a command that takes a while: with until, the read waits past the quiet time for the prompt
        shells.write(s.id(), "sleep 1; echo done-$((2+3))\n".getBytes(StandardCharsets.UTF_8));
        assertThat(shells.read(s.id(), untilPrompt()).text()).isEqualTo(
                "sleep 1; echo done-$((2+3))\ndone-5\n/workspace # ");

        // the shell's end: the last read has what it printed, and no line of script's own
        shells.write(s.id(), "echo bye; exit 3\n".getBytes(StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        long t0 = System.nanoTime();
        while (shells.get(s.id()).state().equals("running") && System.nanoTime() - t0 < LIMIT.toNanos()) {
            seen.append(shells.read(s.id(), Shells.ReadOptions.text(Duration.ofMillis(500))).text());
        }
        seen.append(shells.read(s.id(), Shells.ReadOptions.text(Duration.ZERO)).text());
        assertThat(seen.toString()).isEqualTo("echo bye; exit 3\nbye\n");
        assertEquals("exited(3)", shells.get(s.id()).label());
    }

    /**
     * Debian's /bin/sh (dash, dynamically linked here) as the image's shell: with job control on its terminal it
     * takes the terminal's foreground at start and gives it back to the process group it found there at its end;
     * that group must be one it can see in the sandbox's pid namespace, else its exit fails ("Cannot set tty process
     * group", exit 2) instead of giving the code typed. davit-exec makes it so (bubblewrap, davit's way without
     * davit-exec, cannot: see docs/reference/workspaces/PROCESSES.md, Shells). Ctrl-C still reaches the foreground job.
     */
    @Test
    void dashOnItsTerminalEndsWithTheCodeTyped() throws IOException {
        Path dash = Path.of("/bin/dash");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(dash), "no /bin/dash on this host");
        dev.davit.oci.testkit.Tools.assumeAvailable("gcc"); // the jar has davit-exec when gcc built it
        for (String f : List.of("/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2", "/bin/dash")) {
            Path to = rootfs.resolve(f.substring(1));
            Files.createDirectories(to.getParent());
            Files.copy(Path.of(f), to, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        }
        Files.delete(rootfs.resolve("bin/sh"));
        Files.createSymbolicLink(rootfs.resolve("bin/sh"), Path.of("dash"));
        Shells.Shell s = shells.open(null, Map.of());
        Shells.ReadOptions prompt = new Shells.ReadOptions(LIMIT, null, Pattern.compile("# $"), Shells.MAX_BYTES,
                false);
        StringBuilder seen = new StringBuilder(shells.read(s.id(), prompt).text());
        ShellReads.converse(shells, shells, s.id(), this::processes, LIMIT); // a terminal; Ctrl-C (INT) works
        seen.append(shells.read(s.id(), prompt).text());
        shells.write(s.id(), "echo x-$((1+2))\n".getBytes(StandardCharsets.UTF_8));
        assertThat(shells.read(s.id(), prompt).text()).isEqualTo("echo x-$((1+2))\nx-3\n# ");
        shells.write(s.id(), "exit 3\n".getBytes(StandardCharsets.UTF_8));
        long t0 = System.nanoTime();
        while (shells.get(s.id()).state().equals("running") && System.nanoTime() - t0 < LIMIT.toNanos()) {
            seen.append(shells.read(s.id(), Shells.ReadOptions.text(Duration.ofMillis(500))).text());
        }
        seen.append(shells.read(s.id(), Shells.ReadOptions.text(Duration.ZERO)).text());
        assertThat(seen.toString()).doesNotContain("process group").doesNotContain("job control");
        assertEquals("exited(3)", shells.get(s.id()).label(), seen.toString());
    }

    /** A read says whether its until pattern matched, or its wait was over first. */
    @Test
    void aReadSaysWhetherItsPatternMatchedOrItsWaitWasOver() {
        Shells.Shell s = openAtPrompt();
        shells.write(s.id(), "sleep 1; echo done-$((1+1))\n".getBytes(StandardCharsets.UTF_8));
        Shells.Output late = shells.read(s.id(), new Shells.ReadOptions(Duration.ofMillis(100), null,
                Pattern.compile("done-2"), Shells.MAX_BYTES, false));
        assertThat(late.matched()).isFalse();
        assertThat(late.timedOut()).isTrue();
        Shells.Output done = shells.read(s.id(), untilPrompt());
        assertThat(done.text()).contains("done-2\n/workspace # ");
        assertThat(done.matched()).isTrue();
        assertThat(done.timedOut()).isFalse();
        shells.write(s.id(), "echo quiet\n".getBytes(StandardCharsets.UTF_8));
        Shells.Output settled = shells.read(s.id(), new Shells.ReadOptions(LIMIT, Duration.ofSeconds(1), null,
                Shells.MAX_BYTES, false));
        assertThat(settled.text()).endsWith("/workspace # ");
        assertThat(settled.matched()).isFalse();
        assertThat(settled.timedOut()).isFalse(); // it settled
    }

    /**
     * Reads of one shell from many threads of one JVM (an MCP server's calls) take turns: none fails (a bare file lock
     * taken twice by one JVM threw OverlappingFileLockException), and together they read every byte once.
     */
    @Test
    void concurrentReadsOfOneShellTakeTurns() throws Exception {
        int lines = 3000;
        Shells.Shell s = shells.open(List.of("sh", "-c", "i=0; while [ $i -lt " + lines + " ]; do i=$((i+1));"
                + " echo line-$i; done; echo END; sleep 600"), Map.of());
        List<java.util.concurrent.Future<String>> reads = new ArrayList<>();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            for (int i = 0; i < 200; i++) {
                reads.add(pool.submit(() -> new String(shells.read(s.id(), new Shells.ReadOptions(Duration.ZERO,
                        null, null, 97, true)).bytes(), StandardCharsets.ISO_8859_1)));
            }
            StringBuilder all = new StringBuilder();
            for (var f : reads) {
                f.get(); // none failed
            }
            for (var f : reads) {
                all.append(f.get());
            }
            // the rest, in one reader
            all.append(ShellReads.readUntil(shells, s.id(), "END", LIMIT));
            // every byte once, whatever order the pieces came in: as many bytes and line ends as were written
            long want = "END\r\n".length();
            for (int i = 1; i <= lines; i++) {
                want += ("line-" + i + "\r\n").length();
            }
            String text = all.toString();
            assertThat(text.length()).isEqualTo(want);
            assertThat(text.chars().filter(c -> c == '\n').count()).isEqualTo(lines + 1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aRawReadGivesTheExactBytes() {
        String script = "printf '\\377\\376A\\033[31mB\\001'; sleep 600";
        Shells.Shell raw = shells.open(List.of("sh", "-c", script), Map.of());
        Shells.Output o = shells.read(raw.id(), new Shells.ReadOptions(LIMIT, null, Pattern.compile("B"),
                Shells.MAX_BYTES, true));
        assertThat(o.text()).isNull();
        assertThat(o.bytes()).isEqualTo(new byte[] {(byte) 0xff, (byte) 0xfe, 'A', 0x1b, '[', '3', '1', 'm', 'B', 1});

        Shells.Shell text = shells.open(List.of("sh", "-c", script), Map.of());
        assertThat(shells.read(text.id(), new Shells.ReadOptions(LIMIT, null, Pattern.compile("B"), Shells.MAX_BYTES,
                false)).text()).isEqualTo("\uFFFD\uFFFDAB");
    }

    @Test
    void closingEndsEveryProcessOfTheShell() throws IOException {
        Shells.Shell s = openAtPrompt();
        // a job in the background, one that ignores the hang-up and TERM, and a command in the foreground
        shells.write(s.id(), ("sleep 4321 &\n(trap '' HUP TERM; exec sleep 4322) &\nsleep 4323\n")
                .getBytes(StandardCharsets.UTF_8));
        for (String p : List.of("sleep 4321", "sleep 4322", "sleep 4323")) {
            ShellReads.awaitProcess(this::processes, p, LIMIT);
        }
        Path dir = home.resolve("workspaces").resolve(w.id()).resolve("shells").resolve(s.id());
        assertThat(hostProcessesNaming(dir)).isNotEmpty(); // the holder and script name the shell's directory

        long t0 = System.nanoTime();
        shells.close(s.id());
        System.out.println("shell close, 3 sleeps, one ignoring HUP and TERM: " + (System.nanoTime() - t0) / 1_000_000
                + " ms");
        assertThat(processes()).doesNotContain("sleep 432");
        assertThat(hostProcessesNaming(dir)).isEmpty();
        assertThat(ProcessHandle.of(s.pid()).map(Host::running).orElse(false)).isFalse();
        assertThat(shells.list()).isEmpty();

        // an interactive shell running a command in the foreground (timed for docs/reference/BENCHMARKS.md, not asserted)
        Shells.Shell t = openAtPrompt();
        shells.write(t.id(), "sleep 4324\n".getBytes(StandardCharsets.UTF_8));
        ShellReads.awaitProcess(this::processes, "sleep 4324", LIMIT);
        long t1 = System.nanoTime();
        shells.close(t.id());
        System.out.println("shell close, a sleep in the foreground: " + (System.nanoTime() - t1) / 1_000_000 + " ms");
        assertThat(processes()).doesNotContain("sleep 4324");
    }

    /** The host processes whose command line names {@code dir}. */
    private static List<Long> hostProcessesNaming(Path dir) throws IOException {
        List<Long> out = new ArrayList<>();
        byte[] name = dir.toString().getBytes(StandardCharsets.UTF_8);
        try (Stream<Path> s = Files.list(Path.of("/proc"))) {
            for (Path p : s.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    byte[] cmd = Files.readAllBytes(p.resolve("cmdline"));
                    if (indexOf(cmd, name) >= 0 && ProcessHandle.of(Long.parseLong(p.getFileName().toString()))
                            .map(Host::running).orElse(false)) {
                        out.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // gone meanwhile
                }
            }
        }
        return out;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /**
     * A flood (through a PTY on a busy machine, about 0.5 MB/s): each read takes at most its limit and says more is
     * waiting; memory is bounded by the read's limit, disk by the cap; closing ends the flood.
     */
    @Test
    void aFloodIsReadInBoundedPieces() {
        Shells.Shell s = shells.open(List.of("sh", "-c", "yes | head -c 50000000; echo END-$((1+1)); sleep 600"),
                Map.of());
        Shells.Output first = shells.read(s.id(), Shells.ReadOptions.text(LIMIT));
        assertThat(first.bytes().length).isBetween(Shells.MAX_BYTES - 2, Shells.MAX_BYTES); // a \r may wait
        assertThat(first.truncated()).isTrue();
        assertThat(first.text()).startsWith("y\ny\ny\n").matches("(y\n)+y?");

        int piece = 256 << 10;
        long total = first.bytes().length;
        for (int i = 0; i < 8; i++) {
            Shells.Output o = shells.read(s.id(), new Shells.ReadOptions(LIMIT, null, null, piece, i % 2 == 0));
            // the flood may pause longer than the quiet time on a busy machine: a read is full only when truncated
            assertThat(o.bytes().length).isBetween(o.truncated() ? piece - 2 : 1, piece);
            assertThat(new String(o.bytes(), StandardCharsets.UTF_8)).matches("[y\r\n]+");
            total += o.bytes().length;
        }
        assertThat(total).isGreaterThan(piece);
        Path dir = home.resolve("workspaces").resolve(w.id()).resolve("shells").resolve(s.id());
        assertThat(onDisk(dir)).isLessThanOrEqualTo(Spawned.logCap());

        shells.close(s.id());
        assertThat(processes()).doesNotContain("yes").doesNotContain("head -c");

        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> new Shells.ReadOptions(null, null, null, 0, false)).kind());
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                () -> new Shells.ReadOptions(null, null, null, Shells.MAX_BYTES_LIMIT + 1, false)).kind());
    }

    /** A pattern that backtracks without end is refused, not run for as long as it takes. */
    @Test
    void anUntilPatternThatBacktracksIsStopped() {
        Shells.Shell s = shells.open(List.of("sh", "-c", "printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab'; sleep"
                + " 600"), Map.of());
        DavitException e = assertThrows(DavitException.class, () -> shells.read(s.id(), new Shells.ReadOptions(LIMIT,
                null, Pattern.compile("(.*a){20}c"), Shells.MAX_BYTES, false)));
        assertEquals(DavitException.Kind.USAGE, e.kind());
        assertThat(e.getMessage()).contains("until");
        // nothing was taken: the next read has it all
        assertThat(shells.read(s.id(), Shells.ReadOptions.text(LIMIT)).text()).endsWith("ab");
    }

    private static long onDisk(Path dir) {
        long n = 0;
        for (String f : List.of(Spawned.OUTPUT, Spawned.OUTPUT_OLD)) {
            try {
                n += Files.size(dir.resolve(f));
            } catch (IOException e) {
                // between the capper's two renames
            }
        }
        return n;
    }
}
