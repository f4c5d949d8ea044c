package dev.davit.sandbox.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static dev.davit.sandbox.agent.Played.assertOneLine;
import static dev.davit.sandbox.agent.Played.concat;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.agent.AgentWire.Fields;
import dev.davit.sandbox.agent.AgentWire.Frame;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LinkProcesses}, the host's end of davit-agent's SPAWN and PROC requests, against agents the test plays over
 * a real unix socket: the requests carry what the caller gave, and an agent that lies (a status no process has, a
 * pid out of range, data for a process request, a refusal no such request has) fails the call with one line, never
 * with its word taken.
 */
class LinkProcessesTest {
    @TempDir
    Path dir;

    private final List<Frame> seen = new CopyOnWriteArrayList<>();

    private LinkProcesses processes(Played.Answer answer) {
        return new LinkProcesses(new LinkFiles.Links() {
            @Override
            public <T> T withLink(LinkFiles.Use<T> use) {
                try (AgentLink link = AgentLink.connect(Played.agent(dir, answer, seen))) {
                    return use.apply(link);
                } catch (IOException e) {
                    throw new DavitException(Kind.INTERNAL, "broken: " + e.getMessage());
                }
            }
        }, "sbx-test", Duration.ofSeconds(10));
    }

    private static Played.Answer done(long value) {
        return (req, in, out) -> AgentWire.write(out, new Frame(AgentWire.DONE, req.id(),
                java.nio.ByteBuffer.allocate(8).putLong(value).array()));
    }

    private static Played.Answer error(int code, String message) {
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        return (req, in, out) -> AgentWire.write(out, new Frame(AgentWire.ERROR, req.id(), concat(AgentWire.u32(code),
                AgentWire.u32(m.length), m)));
    }

    private static String text(Fields f) throws IOException {
        return new String(f.bytes(AgentWire.MAX_PAYLOAD), StandardCharsets.UTF_8);
    }

    private static List<String> list(Fields f) throws IOException {
        List<String> l = new ArrayList<>();
        for (long n = f.u32(); n > 0; n--) {
            l.add(text(f));
        }
        return l;
    }

    @Test
    void aSpawnCarriesItsRecordTerminalCommandEnvironmentAndWorkingDirectory() throws IOException {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/bin");
        env.put("A", "1");
        long pid = processes(done(321)).spawn("/.davit/procs/k", "/dev/hvc2", List.of("sh", "-c", "x"), env, "/w");
        assertThat(pid).isEqualTo(321);
        Frame f = seen.getFirst();
        assertThat(f.type()).isEqualTo(AgentWire.SPAWN);
        Fields p = new Fields(f.payload());
        assertThat(p.u32()).isEqualTo(1);
        assertThat(text(p)).isEqualTo("/.davit/procs/k");
        assertThat(text(p)).isEqualTo("/dev/hvc2");
        assertThat(list(p)).containsExactly("sh", "-c", "x");
        assertThat(list(p)).containsExactly("PATH=/bin", "A=1");
        assertThat(text(p)).isEqualTo("/w");
        p.end();
        // without a terminal: flag 0 and an empty device
        processes(done(0)).spawn("/r", null, List.of("x"), Map.of(), "/");
        Fields q = new Fields(seen.get(1).payload());
        assertThat(q.u32()).isZero();
        assertThat(text(q)).isEqualTo("/r");
        assertThat(text(q)).isEmpty();
    }

    @Test
    void eachProcRequestCarriesItsOperationAndNumberAndTheAnswersAreRead() throws IOException {
        assertThat(processes(done(AgentWire.ENDED + 3)).status("/r")).isEqualTo(AgentWire.ENDED + 3);
        assertThat(processes(done(1)).signal("/r", "USR1", true)).isTrue();
        assertThat(processes(done(0)).signal("/r", "TERM", false)).isFalse();
        assertThat(processes(done(AgentWire.ENDED + 137)).stop("/r", Duration.ofMillis(1500)))
                .isEqualTo(AgentWire.ENDED + 137);
        assertThat(processes(done(0b1001)).consoles()).isEqualTo(0b1001);
        processes(done(0)).killAll();
        long[][] expected = {{AgentWire.PROC_STATUS, 0, 1}, {AgentWire.PROC_SIGNAL, 10 | AgentWire.FOREGROUND, 1},
            {AgentWire.PROC_SIGNAL, 15, 1}, {AgentWire.PROC_STOP, 2, 1}, {AgentWire.PROC_CONSOLES, 0, 0},
            {AgentWire.PROC_KILL_ALL, 0, 0}};
        for (int i = 0; i < expected.length; i++) {
            Frame f = seen.get(i);
            assertThat(f.type()).isEqualTo(AgentWire.PROC);
            Fields p = new Fields(f.payload());
            assertThat(new long[] {p.u32(), p.u64(), p.u32()})
                    .as("request %d", i).containsExactly(expected[i]);
        }
        Throwable t = catchThrowable(() -> processes(done(0)).signal("/r", "STOP", false));
        assertOneLine(t, "unknown signal 'STOP'");
        assertThat(seen).hasSize(expected.length); // refused before any request
    }

    @Test
    void anAgentsLiesFailTheCallWithOneLine() {
        Throwable t = catchThrowable(() -> processes(done(2)).status("/r"));
        assertOneLine(t, "the agent of sandbox sbx-test answered a status of 2");
        t = catchThrowable(() -> processes(done(AgentWire.ENDED + 256)).status("/r"));
        assertOneLine(t, "answered a status of 512");
        t = catchThrowable(() -> processes(done(-1)).spawn("/r", null, List.of("x"), Map.of(), "/"));
        assertOneLine(t, "broken: the agent answered a spawn with pid -1");
        t = catchThrowable(() -> processes((req, in, out) -> AgentWire.write(out, new Frame(AgentWire.DATA, req.id(),
                new byte[] {1}))).status("/r"));
        assertOneLine(t, "broken:");
        t = catchThrowable(() -> processes(error(AgentWire.E_ID, "what id")).status("/r"));
        assertOneLine(t, "broken: the agent refused a file request with code 2");
    }

    @Test
    void theAgentsRefusalsAreTheCallersErrors() {
        Throwable t = catchThrowable(() -> processes(error(AgentWire.E_WORKDIR, "no")).spawn("/r", null,
                List.of("x"), Map.of(), "/nowhere"));
        assertOneLine(t, "the working directory /nowhere does not exist in the sandbox");
        assertThat(((DavitException) t).kind()).isEqualTo(Kind.USAGE);
        t = catchThrowable(() -> processes(error(AgentWire.E_PATH, "/x is a symbolic link")).status("/x/r"));
        assertOneLine(t, "in sandbox sbx-test: /x is a symbolic link");
        assertThat(((DavitException) t).kind()).isEqualTo(Kind.USAGE);
        t = catchThrowable(() -> processes(done(0)).spawn("/r", null, List.of("x".repeat(AgentWire.MAX_PAYLOAD)),
                Map.of(), "/"));
        assertOneLine(t, "more than a sandbox's agent takes");
    }

    /** DATA of {@code data}, then DONE {@code start}. */
    private static Played.Answer chunk(long start, byte[] data) {
        return (req, in, out) -> {
            for (int at = 0; at < data.length; at += AgentWire.MAX_CHUNK) {
                AgentWire.write(out, new Frame(AgentWire.DATA, req.id(), java.util.Arrays.copyOfRange(data, at,
                        Math.min(data.length, at + AgentWire.MAX_CHUNK))));
            }
            AgentWire.write(out, new Frame(AgentWire.DONE, req.id(), java.nio.ByteBuffer.allocate(8).putLong(start)
                    .array()));
        };
    }

    @Test
    void aTerminalInTheSandboxIsReadByPositionAndTypedIntoAndItsAgentsLiesAreBreaches() throws IOException {
        byte[] hi = "hi\r\n".getBytes(StandardCharsets.US_ASCII);
        var c = processes(chunk(40, hi)).terminal("/.davit/procs/k").output(40, 1000);
        assertThat(c.start()).isEqualTo(40);
        assertThat(c.bytes()).isEqualTo(hi);
        Fields p = new Fields(seen.getFirst().payload());
        assertThat(new long[] {p.u32(), p.u64(), p.u32()}).containsExactly(AgentWire.PROC_OUTPUT, 40, 1);
        assertThat(text(p)).isEqualTo("/.davit/procs/k");
        // older output dropped: from later than asked; nothing new: where it was asked, whatever DONE says
        assertThat(processes(chunk(4 << 20, hi)).terminal("/r").output(7, 1000).start()).isEqualTo(4 << 20);
        assertThat(processes(chunk(99, new byte[0])).terminal("/r").output(7, 1000)).satisfies(x -> {
            assertThat(x.start()).isEqualTo(7);
            assertThat(x.bytes()).isEmpty();
        });
        // at most what was asked is kept, of at most what one answer may bring
        assertThat(processes(chunk(0, new byte[100_000])).terminal("/r").output(0, 10).bytes()).hasSize(10);
        // a record that is gone has no output
        assertThat(processes(error(AgentWire.E_MISSING, "no record")).terminal("/r").output(5, 10).bytes()).isEmpty();
        // output from before the position asked is a lie
        Throwable t = catchThrowable(() -> processes(chunk(3, hi)).terminal("/r").output(7, 1000));
        assertOneLine(t, "broken: the agent answered a read of the terminal from 7 with output from 3");
        t = catchThrowable(() -> processes(chunk(Long.MAX_VALUE - 2, hi)).terminal("/r").output(7, 1000));
        assertOneLine(t, "broken: the agent answered a read of the terminal from 7 with output from");

        // input: the bytes as the second path, the wait in whole seconds; in parts of at most MAX_INPUT
        seen.clear();
        byte[] typed = new byte[AgentWire.MAX_INPUT + 5];
        typed[AgentWire.MAX_INPUT] = 'z';
        List<Long> answers = new ArrayList<>(List.of((long) AgentWire.MAX_INPUT, 5L));
        assertThat(processes((req, in, out) -> done(answers.removeFirst()).play(req, in, out)).terminal("/r")
                .input(typed, Duration.ofMillis(2500))).isEqualTo(typed.length);
        assertThat(seen).hasSize(2);
        Fields q = new Fields(seen.get(1).payload());
        assertThat(new long[] {q.u32(), q.u64(), q.u32()}).containsExactly(AgentWire.PROC_INPUT, 3, 2);
        assertThat(text(q)).isEqualTo("/r");
        assertThat(q.bytes(AgentWire.MAX_PAYLOAD)).containsExactly('z', 0, 0, 0, 0);
        // a terminal that took part: how much; one that ended: -1; a count larger than what was sent: no more
        assertThat(processes(done(1)).terminal("/r").input(new byte[3], Duration.ofSeconds(1))).isEqualTo(1);
        assertThat(processes(error(AgentWire.E_MISSING, "ended")).terminal("/r").input(new byte[3],
                Duration.ofSeconds(1))).isEqualTo(-1);
        assertThat(processes(done(1 << 30)).terminal("/r").input(new byte[3], Duration.ofSeconds(1))).isEqualTo(3);
    }
}
