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
}
