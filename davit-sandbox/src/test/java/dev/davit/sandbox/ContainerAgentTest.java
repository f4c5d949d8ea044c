package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.jail.Jail;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A long-lived container sandbox's execs through its resident agent (davit-agent, docs/reference/AGENT.md), with the
 * real bubblewrap, davit-exec and agent over a busybox root: commands are forked by one agent in the sandbox, their
 * results are the ones an exec always gave, and the sandbox's code can neither reach the agent's socket nor keep
 * davit from its next command by killing the agent.
 */
class ContainerAgentTest {
    @TempDir
    Path tmp;

    Path state;
    Sandboxes sandboxes;
    Sandbox s;

    @BeforeEach
    void setUp() throws IOException {
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        state = tmp.resolve("state");
        SandboxOptions options = SandboxOptions.of(state);
        assumeTrue(Jail.agentProgram(options) != null && Jail.execHelper(options) != null,
                "built without cargo or gcc: no agent in the jar");
        sandboxes = new Sandboxes(options);
        s = sandboxes.start(sandboxes.create(CreateSpec.builder(rootfs).env(Map.of("A", "1")).limits(Limits.NONE)
                .build()).id());
    }

    @AfterEach
    void cleanUp() {
        if (sandboxes != null) {
            sandboxes.list().forEach(x -> sandboxes.rm(x.id()));
        }
    }

    private ExecResult exec(String... argv) {
        return sandboxes.exec(s.id(), List.of(argv), Map.of(), null, Duration.ofSeconds(30));
    }

    @Test
    void commandsAreForkedByOneResidentAgent() {
        String first = exec("sh", "-c", "echo $PPID").stdoutText();
        String second = exec("sh", "-c", "echo $PPID").stdoutText();
        assertThat(first).isEqualTo(second).matches("[0-9]+\n");
        String agent = exec("sh", "-c", "tr '\\0' ' ' < /proc/$PPID/cmdline").stdoutText();
        assertThat(agent).isEqualTo("davit-agent serve --listen-fd 3 ");
        assertThat(state.resolve(s.id()).resolve("agent.sock")).exists();
        // its stdout and stderr are no host file the sandbox could reopen: the host's /dev/null
        List<Path> agents = new ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    if (Files.readString(p.resolve("cmdline")).startsWith("davit-agent\0serve")) {
                        agents.add(p);
                    }
                } catch (IOException gone) {
                    // ended meanwhile
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        assertThat(agents).isNotEmpty();
        for (Path p : agents) {
            try {
                assertThat(Files.readSymbolicLink(p.resolve("fd/1"))).hasToString("/dev/null");
                assertThat(Files.readSymbolicLink(p.resolve("fd/2"))).hasToString("/dev/null");
            } catch (IOException gone) {
                // another test's agent, ended meanwhile
            }
        }
        // the budget: an exec starts no host process (the agent's launcher, started at the first, is all there is)
        java.util.Set<Long> before = children();
        Thread watcher = new Thread(() -> exec("sleep", "1"));
        watcher.start();
        java.util.Set<Long> during = new java.util.HashSet<>();
        while (watcher.isAlive()) {
            during.addAll(children());
        }
        assertThat(during).isEqualTo(before);
        // the result an exec always gave: output, exit code, the sandbox's and the call's environment, working dir
        ExecResult r = sandboxes.exec(s.id(), List.of("sh", "-c", "echo out; echo err >&2; env | sort; pwd; exit 3"),
                Map.of("B", "2"), "/tmp", null);
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.stderrText()).isEqualTo("err\n");
        assertThat(r.stdoutText()).startsWith("out\n").contains("A=1\n", "B=2\n", "PWD=/tmp\n").endsWith("/tmp\n")
                .doesNotContain("DAVIT_");
        assertThat(exec("no-such-command").exitCode()).isEqualTo(127);
        assertThat(exec("/etc/passwd").exitCode()).isEqualTo(126);
        assertThatThrownBy(() -> sandboxes.exec(s.id(), List.of("true"), null, "/nope", null))
                .isInstanceOf(DavitException.class).hasMessageContaining("does not exist");
    }

    @Test
    void commandsInARowShareOneConnectionToTheAgent() {
        // a budget: pids are handed out in order in the sandbox's pid namespace, a command's process and the agent's
        // threads for it take the same number each time, and a new connection takes one more (the agent serves it
        // on a thread of its own): commands in a row take only their own
        exec("true"); // the agent started, a link kept
        int[] pids = new int[10];
        for (int i = 0; i < pids.length; i++) {
            pids[i] = pid(null);
        }
        int each = pids[1] - pids[0];
        for (int i = 2; i < pids.length; i++) {
            assertThat(pids[i] - pids[i - 1]).as("pids taken by exec " + i).isEqualTo(each);
        }
        // a command killed at its timeout closes its link: the next one opens another, one pid more
        int before = pid(null);
        assertThat(sandboxes.exec(s.id(), List.of("sleep", "10"), null, null, Duration.ofMillis(300)).timedOut())
                .isTrue();
        assertThat(pid(null) - before).as("pids taken by a killed exec and one on a new connection")
                .isEqualTo(2 * each + 1);
        // one fed stdin keeps no link either, and is answered as before
        assertThat(sandboxes.exec(s.id(), ExecSpec.builder(List.of("cat")).timeout(Duration.ofSeconds(30))
                .stdin(new java.io.ByteArrayInputStream("in\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .build())
                .stdoutText()).isEqualTo("in\n");
        assertThat(exec("echo", "next").stdoutText()).isEqualTo("next\n");
        // a stopped sandbox's link is gone with its agent: the started one's first command opens a new one
        sandboxes.stop(s.id());
        sandboxes.start(s.id());
        assertThat(exec("echo", "restarted").stdoutText()).isEqualTo("restarted\n");
    }

    /** The pid of a shell run by an exec in the sandbox, with {@code stdin} (null: none). */
    private int pid(java.io.InputStream stdin) {
        return Integer.parseInt(sandboxes.exec(s.id(), ExecSpec.builder(List.of("sh", "-c", "echo $$"))
                .timeout(Duration.ofSeconds(30)).stdin(stdin).build()).stdoutText().strip());
    }

    /** This JVM's child processes on the host (an exec's davit-exec was one, the way without an agent). */
    private static java.util.Set<Long> children() {
        java.util.Set<Long> pids = new java.util.HashSet<>();
        ProcessHandle.current().children().forEach(c -> pids.add(c.pid()));
        return pids;
    }

    @Test
    void stdinTimeoutsOutputLimitsAndBackgroundProcessesAreAsBefore() {
        byte[] input = "line one\nline two\n".repeat(10_000).getBytes(StandardCharsets.UTF_8);
        ExecResult cat = sandboxes.exec(s.id(), ExecSpec.builder(List.of("sh", "-c", "wc -c"))
                .timeout(Duration.ofSeconds(30)).stdin(new ByteArrayInputStream(input)).build());
        assertThat(cat.stdoutText().strip()).isEqualTo(Integer.toString(input.length));
        long t0 = System.nanoTime();
        // a command that never reads its stdin: the timeout still ends it (the agent never waits for it to read)
        ExecResult unread = sandboxes.exec(s.id(), ExecSpec.builder(List.of("sleep", "100"))
                .timeout(Duration.ofSeconds(1)).stdin(new ByteArrayInputStream(new byte[4 << 20])).build());
        assertThat(unread.timedOut()).isTrue();
        assertThat(unread.exitCode()).isEqualTo(ExecResult.TIMEOUT_EXIT_CODE);
        ExecResult slow = exec2("sleep 100", Duration.ofSeconds(1), 0);
        assertThat(slow.timedOut()).isTrue();
        assertThat(slow.exitCode()).isEqualTo(ExecResult.TIMEOUT_EXIT_CODE);
        ExecResult flood = exec2("yes", Duration.ofSeconds(30), 100_000);
        assertThat(flood.outputLimited()).isTrue();
        assertThat(flood.exitCode()).isEqualTo(ExecResult.OUTPUT_LIMIT_EXIT_CODE);
        assertThat(flood.capturedStdout().size()).isLessThanOrEqualTo(100_000);
        ExecResult background = exec2("sleep 60 & echo x", Duration.ofSeconds(30), 0);
        assertThat(background.stdoutText()).isEqualTo("x\n");
        assertThat(background.exitCode()).isZero();
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).isLessThan(20);
    }

    private ExecResult exec2(String script, Duration timeout, long maxOutput) {
        return sandboxes.exec(s.id(), ExecSpec.builder(List.of("sh", "-c", script)).timeout(timeout)
                .maxOutput(maxOutput).build());
    }

    @Test
    void manyCommandsAtOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<ExecResult>> all = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                String n = Integer.toString(i);
                all.add(pool.submit(() -> exec("sh", "-c", "sleep 0.2; echo " + n)));
            }
            for (int i = 0; i < all.size(); i++) {
                assertThat(all.get(i).get(60, TimeUnit.SECONDS).stdoutText()).isEqualTo(i + "\n");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void theSandboxCannotReachTheAgentsSocketOrDescriptors() {
        // no socket of the agent's anywhere in the sandbox's file system, and its descriptors and memory are closed
        // to the sandbox's root (the agent is not dumpable)
        ExecResult sockets = exec("sh", "-c", "find / -xdev -type s 2>/dev/null; echo end");
        assertThat(sockets.stdoutText()).isEqualTo("end\n");
        // (the numbers of its descriptors may be listed: /proc shows a non-dumpable process's directories as the
        // sandbox root's; what they are and their contents are not)
        ExecResult fds = exec("sh", "-c", "for f in /proc/$PPID/fd/*; do readlink $f && echo linked; cat $f </dev/null"
                + " && echo opened; done; cat /proc/$PPID/environ && echo read; cat /proc/$PPID/maps && echo mapped;"
                + " echo done");
        assertThat(fds.stdoutText()).isEqualTo("done\n");
        assertThat(fds.stderrText()).contains("ermission denied");
    }

    @Test
    void anAgentKilledFromInsideIsStartedAgainAtTheNextCommand() {
        String before = exec("sh", "-c", "echo $PPID").stdoutText();
        assertThatThrownBy(() -> exec("sh", "-c", "kill -9 $PPID; sleep 5"))
                .isInstanceOf(DavitException.class).hasMessageContaining("agent")
                .hasMessageContaining("the next command starts the agent again if it is gone");
        ExecResult after = exec("sh", "-c", "echo $PPID");
        assertThat(after.exitCode()).isZero();
        assertThat(after.stdoutText()).matches("[0-9]+\n").isNotEqualTo(before);
        // a stopped and started sandbox gets a new agent too (the old one ended with the keeper)
        sandboxes.stop(s.id());
        sandboxes.start(s.id());
        assertThat(exec("echo", "again").stdoutText()).isEqualTo("again\n");
    }

    /** As an unprivileged user: two execs in a new sandbox, each printing its parent (the agent) and its user. */
    public static final class RootlessExecs {
        public static void main(String[] args) {
            Sandboxes sb = new Sandboxes(SandboxOptions.of(Path.of(args[0])));
            Sandbox x = sb.start(sb.create(CreateSpec.builder(Path.of(args[1])).limits(Limits.NONE).build()).id());
            try {
                for (int i = 0; i < 2; i++) {
                    ExecResult r = sb.exec(x.id(), List.of("sh", "-c", "echo $PPID $(id -u)"), Map.of(), null,
                            Duration.ofSeconds(30));
                    System.out.print(r.exitCode() + " " + r.stdoutText());
                }
                System.out.println(Files.exists(Path.of(args[0]).resolve(x.id()).resolve("agent.sock")));
            } finally {
                sb.rm(x.id());
            }
        }
    }

    @Test
    void withoutRootTheAgentRunsTheCommandsToo() throws Exception {
        dev.davit.oci.testkit.Tools.assumeAvailable("setpriv", "useradd", "bwrap", "busybox");
        assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0,
                "making the unprivileged user needs root (CI runs as root)");
        try (dev.davit.oci.testkit.Unprivileged.Session u =
                     dev.davit.oci.testkit.Unprivileged.Session.open("davit-agent-rootless-")) {
            Path rootfs = BusyboxRootfs.createFor(u.dir().resolve("rootfs"));
            dev.davit.oci.testkit.Tools.run("chmod", "-R", "a+rX", rootfs.toString());
            String out = u.java(List.of(), 2, RootlessExecs.class.getName(),
                    u.home().resolve("sandboxes").toString(), rootfs.toString());
            assertThat(out).as(out).matches("0 (\\d+) 0\n0 \\1 0\ntrue\n");
        }
    }

    @Test
    void aStateDirectoryTooLongForASocketAddressStillHasItsCommandsForkedByTheAgent() throws IOException {
        // a socket address holds 107 bytes: this state directory's agent.sock is past it
        Path deep = tmp.resolve("a-state-directory-whose-path-is-longer-than-a-unix-socket-address-can-hold"
                + "-so-it-is-reached-through-a-link");
        SandboxOptions options = SandboxOptions.of(deep);
        Sandboxes far = new Sandboxes(options);
        Sandbox x = far.start(far.create(CreateSpec.builder(BusyboxRootfs.create(tmp.resolve("rootfs2")))
                .limits(Limits.NONE).build()).id());
        try {
            assertThat(deep.resolve(x.id()).resolve("agent.sock").toString().length()).isGreaterThan(107);
            String agent = far.exec(x.id(), List.of("sh", "-c", "tr '\\0' ' ' < /proc/$PPID/cmdline"), Map.of(), null,
                    Duration.ofSeconds(30)).stdoutText();
            assertThat(agent).isEqualTo("davit-agent serve --listen-fd 3 ");
            assertThat(deep.resolve(x.id()).resolve("agent.sock")).exists();
            // the links it connected through are gone
            try (var left = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
                assertThat(left.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("davit-agent-link-")))
                        .isEmpty();
            }
        } finally {
            far.rm(x.id());
        }
    }
}
