package dev.davit.sandbox.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.sandbox.agent.AgentWire.Fields;
import dev.davit.sandbox.agent.AgentWire.Frame;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host's end of the agent protocol against an agent played by the test over a real unix socket: what a true
 * agent says is understood, and what a liar, a flood or a half-written frame says is refused within its bounds.
 */
class AgentLinkTest {
    @TempDir
    Path dir;

    /** An agent played by {@code script}, which gets the host's requests and answers them. */
    interface Script {
        void play(InputStream requests, OutputStream replies) throws Exception;
    }

    private AgentLink agent(Script script) throws IOException {
        return AgentLink.connect(played("a.sock", script));
    }

    /** A socket named {@code name} whose one connection {@code script} plays. */
    private Path played(String name, Script script) throws IOException {
        Path socket = dir.resolve(name);
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        // a thread of its own (a script that never ends must not hold a shared pool's only thread)
        Thread.ofPlatform().daemon().start(() -> {
            try (server; SocketChannel c = server.accept()) {
                script.play(Channels.newInputStream(c), Channels.newOutputStream(c));
            } catch (Exception e) {
                // the host closed it
            }
        });
        return socket;
    }

    private static void hello(OutputStream out) throws IOException {
        AgentWire.write(out, new Frame(AgentWire.HELLO, 0, concat(AgentWire.u32(1), AgentWire.u32(42))));
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    private static byte[] exit(int code, int signal) {
        return concat(AgentWire.u32(code), AgentWire.u32(signal));
    }

    @Test
    void anExitsOomFlagIsReadAndAnUnknownFlagIsALie() throws IOException {
        for (int flags : new int[] {1, 2}) {
            Script s = (in, out) -> {
                hello(out);
                int id = AgentWire.read(in).id();
                AgentWire.write(out, new Frame(AgentWire.STARTED, id, AgentWire.u32(7)));
                AgentWire.write(out, new Frame(AgentWire.EXIT, id, concat(exit(137, 9), AgentWire.u32(flags))));
                in.read();
            };
            try (AgentLink link = agent(s)) {
                AgentLink.Running r = link.start(List.of("hog"), Map.of(), "/", false);
                if (flags == 1) {
                    assertThat(r.await((e, b, n) -> { }, null, Duration.ofSeconds(10)))
                            .isEqualTo(new AgentLink.Outcome(137, 9, false, 0, "", 0, true));
                } else {
                    assertThatThrownBy(() -> r.await((e, b, n) -> { }, null, Duration.ofSeconds(10)))
                            .hasMessageContaining("flags 2");
                }
            }
        }
    }

    /** Plays a true agent's answer to one EXEC: STARTED, "out" on stdout, "err" on stderr, EXIT 3. */
    private static Script honest(List<Frame> seen) {
        return (in, out) -> {
            hello(out);
            Frame exec = AgentWire.read(in);
            seen.add(exec);
            int id = exec.id();
            AgentWire.write(out, new Frame(AgentWire.STARTED, id, AgentWire.u32(7)));
            AgentWire.write(out, new Frame(AgentWire.STDOUT, id, "out".getBytes(StandardCharsets.UTF_8)));
            AgentWire.write(out, new Frame(AgentWire.STDERR, id, "err".getBytes(StandardCharsets.UTF_8)));
            AgentWire.write(out, new Frame(AgentWire.EXIT, id, exit(3, 0)));
            in.read();
        };
    }

    @Test
    void aTrueAgentsAnswerIsUnderstoodAndTheRequestIsTheDocumentedOne() throws IOException {
        List<Frame> seen = new ArrayList<>();
        StringBuilder out = new StringBuilder();
        StringBuilder err = new StringBuilder();
        try (AgentLink link = agent(honest(seen))) {
            assertThat(link.agentPid()).isEqualTo(42);
            AgentLink.Outcome o = link.start(List.of("echo", "hi"), Map.of("A", "1"), "/w", false)
                    .await((e, b, n) -> (e ? err : out).append(new String(b, 0, n, StandardCharsets.UTF_8)), null,
                            Duration.ofSeconds(10));
            assertThat(o).isEqualTo(new AgentLink.Outcome(3, 0, false, 0, "", 0, false));
        }
        assertThat(out).hasToString("out");
        assertThat(err).hasToString("err");
        Frame exec = seen.get(0);
        assertThat(exec.type()).isEqualTo(AgentWire.EXEC);
        Fields f = new Fields(exec.payload());
        assertThat(f.u32()).isZero(); // no stdin
        assertThat(f.u32()).isEqualTo(2);
        assertThat(new String(f.bytes(100), StandardCharsets.UTF_8)).isEqualTo("echo");
        assertThat(new String(f.bytes(100), StandardCharsets.UTF_8)).isEqualTo("hi");
        assertThat(f.u32()).isEqualTo(1);
        assertThat(new String(f.bytes(100), StandardCharsets.UTF_8)).isEqualTo("A=1");
        assertThat(new String(f.bytes(100), StandardCharsets.UTF_8)).isEqualTo("/w");
        f.end();
    }

    /**
     * A stream whose read of 0 bytes blocks until more comes, as fabric8's exec stream does (a k8s pod's agent): every
     * frame is read whole all the same, never by a read of 0 bytes.
     */
    @Test
    void framesAreReadFromAStreamWhoseEmptyReadBlocks() throws IOException {
        ByteArrayOutputStream agent = new ByteArrayOutputStream();
        hello(agent);
        AgentWire.write(agent, new Frame(AgentWire.STARTED, 1, AgentWire.u32(7)));
        AgentWire.write(agent, new Frame(AgentWire.STDOUT, 1, "out".getBytes(StandardCharsets.UTF_8)));
        AgentWire.write(agent, new Frame(AgentWire.EXIT, 1, exit(0, 0)));
        InputStream from = new ByteArrayInputStream(agent.toByteArray()) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                if (len == 0) {
                    throw new AssertionError("a read of 0 bytes, which blocks on this stream");
                }
                return super.read(b, off, len);
            }
        };
        AgentLink link = AgentLink.over(from, OutputStream.nullOutputStream(), () -> { });
        assertThat(link.agentPid()).isEqualTo(42);
        StringBuilder out = new StringBuilder();
        AgentLink.Outcome o = link.start(List.of("x"), Map.of(), "/", false).await((err, b, n) ->
                out.append(new String(b, 0, n, StandardCharsets.UTF_8)), null, null);
        assertThat(o.exitCode()).isZero();
        assertThat(out).hasToString("out");
    }

    /**
     * A kill that comes after its process's end (an output limit's kill on a thread of its own, late) touches
     * neither the link nor the next command on it: no SIGNAL goes out, and no last resort closes the link.
     */
    @Test
    void aKillAfterTheEndLeavesTheLinkToTheNextCommand() throws Exception {
        List<Frame> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.CountDownLatch gone = new java.util.concurrent.CountDownLatch(1);
        try (AgentLink link = agent((in, out) -> {
            hello(out);
            try {
                for (Frame f; (f = AgentWire.read(in)) != null; ) {
                    seen.add(f);
                    if (f.type() == AgentWire.EXEC) {
                        AgentWire.write(out, new Frame(AgentWire.STARTED, f.id(), AgentWire.u32(7)));
                        AgentWire.write(out, new Frame(AgentWire.EXIT, f.id(), exit(0, 0)));
                    }
                }
            } finally {
                gone.countDown();
            }
        })) {
            AgentLink.Running first = link.start(List.of("true"), Map.of(), "/", false);
            assertThat(first.await((e, b, n) -> { }, null, null).exitCode()).isZero();
            first.kill();
            AgentLink.Running second = link.start(List.of("true"), Map.of(), "/", false);
            assertThat(second.await((e, b, n) -> { }, null, null).exitCode()).isZero();
            Thread.sleep(200); // a SIGNAL the kill had sent would be there by now
            assertThat(link.isClosed()).isFalse();
        }
        assertThat(gone.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(seen).extracting(Frame::type).containsExactly(AgentWire.EXEC, AgentWire.EXEC);
    }

    @Test
    void stdinIsSentInChunksAndClosed() throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        Script echo = (in, out) -> {
            hello(out);
            Frame exec = AgentWire.read(in);
            AgentWire.write(out, new Frame(AgentWire.STARTED, exec.id(), AgentWire.u32(7)));
            Frame f;
            while ((f = AgentWire.read(in)).type() == AgentWire.STDIN) {
                assertThat(f.payload().length).isBetween(1, AgentWire.MAX_CHUNK);
                got.writeBytes(f.payload());
            }
            assertThat(f.type()).isEqualTo(AgentWire.STDIN_CLOSE);
            AgentWire.write(out, new Frame(AgentWire.EXIT, exec.id(), exit(0, 0)));
            in.read();
        };
        byte[] input = new byte[200_000];
        new java.util.Random(1).nextBytes(input);
        try (AgentLink link = agent(echo)) {
            AgentLink.Outcome o = link.start(List.of("cat"), Map.of(), "/", true)
                    .await((e, b, n) -> { }, new ByteArrayInputStream(input), null);
            assertThat(o.exitCode()).isZero();
        }
        assertThat(got.toByteArray()).isEqualTo(input);
    }

    @Test
    void anInputThatFailsEndsTheLinkAndSaysSoNeverPassingForAWholeOne() throws IOException {
        // the host's own input breaks (a pipe, a file that cannot be read): neither a stall nor a truncated input
        // that the agent would take as whole (a tar that ends at a header is a whole tar)
        List<Integer> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.CountDownLatch read = new java.util.concurrent.CountDownLatch(1);
        Script script = (in, out) -> {
            try {
                hello(out);
                Frame exec = AgentWire.read(in);
                AgentWire.write(out, new Frame(AgentWire.STARTED, exec.id(), AgentWire.u32(7)));
                Frame f;
                while ((f = AgentWire.read(in)) != null) {
                    seen.add(f.type());
                }
            } finally {
                read.countDown();
            }
        };
        InputStream failing = new InputStream() {
            private boolean gave;

            @Override
            public int read() throws IOException {
                throw new IOException("broken");
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (!gave) {
                    gave = true;
                    b[off] = 'x';
                    return 1;
                }
                throw new IOException("broken");
            }
        };
        try (AgentLink link = agent(script)) {
            AgentLink.Running r = link.start(List.of("cat"), Map.of(), "/", true);
            assertThatThrownBy(() -> r.await((e, b, n) -> { }, failing, Duration.ofSeconds(30)))
                    .isInstanceOf(AgentLink.InputFailed.class).hasMessage("broken");
            assertThat(link.isClosed()).isTrue();
        }
        // what the played agent read, once it saw the link's end (its thread may be behind the host's)
        try {
            assertThat(read.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertThat(seen).containsExactly(AgentWire.STDIN);
    }

    @Test
    void aTimeoutKillsTheProcessGroupAndSaysSo() throws IOException {
        Script slow = (in, out) -> {
            hello(out);
            Frame exec = AgentWire.read(in);
            AgentWire.write(out, new Frame(AgentWire.STARTED, exec.id(), AgentWire.u32(7)));
            Frame signal = AgentWire.read(in);
            assertThat(signal.type()).isEqualTo(AgentWire.SIGNAL);
            assertThat(new Fields(signal.payload()).u32()).isEqualTo(9);
            AgentWire.write(out, new Frame(AgentWire.EXIT, exec.id(), exit(137, 9)));
            in.read();
        };
        try (AgentLink link = agent(slow)) {
            AgentLink.Outcome o = link.start(List.of("sleep", "100"), Map.of(), "/", false)
                    .await((e, b, n) -> { }, null, Duration.ofMillis(200));
            assertThat(o).isEqualTo(new AgentLink.Outcome(137, 9, true, 0, "", 0, false));
        }
    }

    @Test
    void anAgentThatIgnoresTheKillIsCutOffAfterItsWait() throws IOException {
        Script deaf = (in, out) -> {
            hello(out);
            Frame exec = AgentWire.read(in);
            AgentWire.write(out, new Frame(AgentWire.STARTED, exec.id(), AgentWire.u32(7)));
            while (in.read() >= 0) {
                // never ends the process
            }
        };
        long t0 = System.nanoTime();
        try (AgentLink link = agent(deaf)) {
            AgentLink.Running r = link.start(List.of("sleep", "100"), Map.of(), "/", false);
            assertThatThrownBy(() -> r.await((e, b, n) -> { }, null, Duration.ofMillis(100)))
                    .isInstanceOf(AgentLink.Broken.class).hasMessageContaining("did not end the process");
        }
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0))
                .isLessThan(AgentLink.KILL_WAIT.toSeconds() + 5);
    }

    @Test
    void aSlowReaderOfTheOutputDoesNotCountAgainstTheKillsWait() throws IOException {
        // the host's own output takes longer than the kill's wait (a pager): the agent answered in time all along
        Script honestAfterTheKill = (in, out) -> {
            hello(out);
            Frame exec = AgentWire.read(in);
            AgentWire.write(out, new Frame(AgentWire.STARTED, exec.id(), AgentWire.u32(7)));
            AgentWire.write(out, new Frame(AgentWire.STDOUT, exec.id(), "a".getBytes(StandardCharsets.UTF_8)));
            assertThat(AgentWire.read(in).type()).isEqualTo(AgentWire.SIGNAL);
            AgentWire.write(out, new Frame(AgentWire.STDOUT, exec.id(), "b".getBytes(StandardCharsets.UTF_8)));
            AgentWire.write(out, new Frame(AgentWire.EXIT, exec.id(), exit(137, 9)));
            in.read();
        };
        StringBuilder seen = new StringBuilder();
        try (AgentLink link = agent(honestAfterTheKill)) {
            AgentLink.Outcome o = link.start(List.of("sleep", "100"), Map.of(), "/", false).await((e, b, n) -> {
                seen.append(new String(b, 0, n, StandardCharsets.UTF_8));
                if (seen.length() == 1) {
                    try {
                        Thread.sleep(AgentLink.KILL_WAIT.toMillis() + 2000); // past the kill (200 ms) and its wait
                    } catch (InterruptedException x) {
                        Thread.currentThread().interrupt();
                    }
                }
            }, null, Duration.ofMillis(200));
            assertThat(o).isEqualTo(new AgentLink.Outcome(137, 9, true, 0, "", 0, false));
        }
        assertThat(seen).hasToString("ab");
    }

    @Test
    void anAgentThatStartedAgainWhileAProcessRanSaysSoAndEndsTheWait() throws IOException {
        // a port's new agent says HELLO without a nonce to the host that holds the port (AGENT.md)
        Script restarted = (in, out) -> {
            hello(out);
            Frame exec = AgentWire.read(in);
            AgentWire.write(out, new Frame(AgentWire.STARTED, exec.id(), AgentWire.u32(7)));
            hello(out);
            in.read();
        };
        try (AgentLink link = agent(restarted)) {
            AgentLink.Running r = link.start(List.of("sleep", "100"), Map.of(), "/", false);
            assertThatThrownBy(() -> r.await((e, b, n) -> { }, null, null)).isInstanceOf(AgentLink.Broken.class)
                    .hasMessageContaining("davit-agent started again").matches(e -> !((AgentLink.Broken) e).silent());
        }
    }

    /** Plays an agent that answers one FILE request with {@code answers}, each a frame for the request's id. */
    private static Script fileAnswers(List<Frame> seen, int[] types, byte[][] payloads) {
        return (in, out) -> {
            hello(out);
            Frame req = AgentWire.read(in);
            seen.add(req);
            for (int i = 0; i < types.length; i++) {
                AgentWire.write(out, new Frame(types[i], req.id(), payloads[i]));
            }
            in.read();
        };
    }

    private static byte[] u64(long v) {
        return java.nio.ByteBuffer.allocate(8).putLong(v).array();
    }

    @Test
    void aFileRequestGetsItsDataAndItsValueAndMayEndInAnErrorAfterData() throws IOException {
        List<Frame> seen = new ArrayList<>();
        byte[] data = "abc".getBytes(StandardCharsets.UTF_8);
        try (AgentLink link = agent(fileAnswers(seen, new int[] {AgentWire.DATA, AgentWire.DONE},
                new byte[][] {data, u64(1L << 40)}))) {
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            AgentLink.Outcome o = link.file(AgentWire.OP_READ, 3, List.of("/f")).await((e, b, n) -> {
                assertThat(e).isFalse();
                got.write(b, 0, n);
            }, null, null);
            assertThat(o).isEqualTo(new AgentLink.Outcome(0, 0, false, 0, "", 1L << 40, false));
            assertThat(got.toByteArray()).isEqualTo(data);
        }
        // the documented request: op, u64 n, the paths
        Fields p = new Fields(seen.get(0).payload());
        assertThat(seen.get(0).type()).isEqualTo(AgentWire.FILE);
        assertThat(List.of(p.u32(), p.u64(), p.u32())).containsExactly(1L, 3L, 1L);
        assertThat(new String(p.bytes(100), StandardCharsets.UTF_8)).isEqualTo("/f");
        p.end();
        byte[] error = concat(AgentWire.u32(AgentWire.E_FAILED), AgentWire.u32(4), "gone".getBytes(
                StandardCharsets.UTF_8));
        try (AgentLink link = agent(fileAnswers(new ArrayList<>(), new int[] {AgentWire.DATA, AgentWire.ERROR},
                new byte[][] {data, error}))) {
            AgentLink.Outcome o = link.file(AgentWire.OP_GET_TAR, 0, List.of("/d")).await((e, b, n) -> { },
                    null, null);
            assertThat(o).isEqualTo(new AgentLink.Outcome(-1, 0, false, AgentWire.E_FAILED, "gone", 0, false));
        }
    }

    @Test
    void aFileRequestsAnswersAreNotAProcesssNorTheOtherWayRound() throws IOException {
        byte[] one = {1};
        Object[][] lies = {
            {true, AgentWire.STARTED, AgentWire.u32(7)},
            {true, AgentWire.STDOUT, one},
            {true, AgentWire.EXIT, exit(0, 0)},
            {false, AgentWire.DATA, one},
            {false, AgentWire.DONE, u64(0)},
            {true, AgentWire.DATA, one}, // a sync has no data
        };
        for (Object[] lie : lies) {
            boolean file = (boolean) lie[0];
            Script liar = (in, out) -> {
                hello(out);
                Frame req = AgentWire.read(in);
                if (!file) {
                    AgentWire.write(out, new Frame(AgentWire.STARTED, req.id(), AgentWire.u32(7)));
                }
                AgentWire.write(out, new Frame((int) lie[1], req.id(), (byte[]) lie[2]));
                in.read();
            };
            try (AgentLink link = agent(liar)) {
                AgentLink.Running r = file ? link.file(AgentWire.OP_SYNC, 0, List.of())
                        : link.start(List.of("true"), Map.of(), "/", false);
                assertThatThrownBy(() -> r.await((e, b, n) -> { }, null, null)).as("type %s", lie[1])
                        .isInstanceOf(AgentLink.Broken.class);
            }
        }
        // a process's ERROR has no file request's code
        byte[] missing = concat(AgentWire.u32(AgentWire.E_MISSING), AgentWire.u32(0));
        Script liar = (in, out) -> {
            hello(out);
            Frame req = AgentWire.read(in);
            AgentWire.write(out, new Frame(AgentWire.ERROR, req.id(), missing));
            in.read();
        };
        try (AgentLink link = agent(liar)) {
            AgentLink.Running r = link.start(List.of("true"), Map.of(), "/", false);
            assertThatThrownBy(() -> r.await((e, b, n) -> { }, null, null)).isInstanceOf(AgentLink.Broken.class)
                    .hasMessageContaining("error code 8");
        }
    }

    @Test
    void anErrorIsReportedWithItsCodeAndOneBoundedLine() throws IOException {
        String longLine = "no such command\nforged second line " + "x".repeat(10_000);
        Script refuse = (in, out) -> {
            hello(out);
            Frame exec = AgentWire.read(in);
            byte[] m = longLine.getBytes(StandardCharsets.UTF_8);
            AgentWire.write(out, new Frame(AgentWire.ERROR, exec.id(),
                    concat(AgentWire.u32(AgentWire.E_NOT_FOUND), AgentWire.u32(m.length), m)));
            in.read();
        };
        try (AgentLink link = agent(refuse)) {
            AgentLink.Outcome o = link.start(List.of("nope"), Map.of(), "/", false).await((e, b, n) -> { }, null,
                    null);
            assertThat(o.error()).isEqualTo(AgentWire.E_NOT_FOUND);
            assertThat(o.message()).doesNotContain("\n").hasSizeLessThanOrEqualTo(4096).startsWith("no such command?");
        }
    }

    /** Each a liar's answer to an EXEC whose id is {@code @}: the link must refuse it as Broken. */
    static List<byte[][]> lies(int id) {
        byte[] started = frame(AgentWire.STARTED, id, AgentWire.u32(7));
        return List.of(
                new byte[][] {frame(AgentWire.STARTED, id + 1, AgentWire.u32(7))}, // a reply for another request
                new byte[][] {frame(AgentWire.STDOUT, id, new byte[] {1})}, // output before it started
                new byte[][] {started, started}, // started twice
                new byte[][] {started, frame(AgentWire.STDOUT, id, new byte[0])}, // an empty chunk
                new byte[][] {started, frame(AgentWire.STDOUT, id, new byte[AgentWire.MAX_CHUNK + 1])},
                new byte[][] {started, frame(AgentWire.EXIT, id, exit(300, 0))}, // no such exit code
                new byte[][] {started, frame(AgentWire.EXIT, id, exit(137, 3))}, // code and signal disagree
                new byte[][] {started, frame(AgentWire.EXIT, id, AgentWire.u32(0))}, // half a payload
                new byte[][] {started, frame(AgentWire.EXIT, id, concat(exit(0, 0), new byte[1]))}, // bytes left
                new byte[][] {started, frame(AgentWire.ERROR, id, concat(AgentWire.u32(4), AgentWire.u32(0)))},
                new byte[][] {frame(AgentWire.ERROR, id, concat(AgentWire.u32(99), AgentWire.u32(0)))},
                new byte[][] {frame(AgentWire.ERROR, id, concat(AgentWire.u32(4), AgentWire.u32(-1)))},
                new byte[][] {frame(AgentWire.HELLO, id, new byte[8])}, // a type not in this place
                new byte[][] {frame(AgentWire.EXEC, id, new byte[0])}, // a host's type
                new byte[][] {started, {0, 0, 0, 9, AgentWire.EXIT, 0}}, // half a frame, then the end
                new byte[][] {started}, // the end while it runs
                new byte[][] {{(byte) 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x21, 0, 0, 0, 1}}, // a flood's length
                new byte[][] {{0, 0, 0, 4, 0x21}}); // shorter than a header
    }

    private static byte[] frame(int type, int id, byte[] payload) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            AgentWire.write(b, new Frame(type, id, payload));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return b.toByteArray();
    }

    /** The lies above that are an end of the stream themselves; every other one is followed by a true EXIT. */
    private static final java.util.Set<Integer> ENDS = java.util.Set.of(14, 15);

    @Test
    void everyLieIsRefusedAsBroken() throws IOException {
        List<byte[][]> lies = lies(1);
        for (int i = 0; i < lies.size(); i++) {
            byte[][] lie = lies.get(i);
            boolean ends = ENDS.contains(i);
            Script liar = (in, out) -> {
                hello(out);
                AgentWire.read(in);
                for (byte[] part : lie) {
                    out.write(part);
                }
                if (!ends) {
                    // a true end after the lie, and the connection kept: only the lie's own check refuses it
                    out.write(frame(AgentWire.STARTED, 1, AgentWire.u32(7)));
                    out.write(frame(AgentWire.EXIT, 1, exit(0, 0)));
                    out.flush();
                    in.read();
                }
                out.flush();
            };
            try (AgentLink link = agent(liar)) {
                AgentLink.Running r = link.start(List.of("x"), Map.of(), "/", false);
                var refused = assertThatThrownBy(() -> r.await((e, b, n) -> { }, null, Duration.ofSeconds(30)))
                        .as("lie %d", i).isInstanceOf(AgentLink.Broken.class);
                if (ends) {
                    refused.hasMessageContaining("ended");
                } else {
                    refused.hasMessageNotContaining("ended"); // its own check refused it, not the end after it
                }
            }
        }
    }

    @Test
    void stdinStaysWithinItsWindowAndATimeoutStillKillsAProcessThatDoesNotRead() throws IOException {
        int[] chunks = {0};
        Script unread = (in, out) -> {
            hello(out);
            Frame exec = AgentWire.read(in);
            AgentWire.write(out, new Frame(AgentWire.STARTED, exec.id(), AgentWire.u32(7)));
            Frame f;
            while ((f = AgentWire.read(in)).type() == AgentWire.STDIN) {
                chunks[0]++; // never acknowledged: the process does not read
            }
            assertThat(f.type()).isEqualTo(AgentWire.SIGNAL);
            AgentWire.write(out, new Frame(AgentWire.EXIT, exec.id(), exit(137, 9)));
            in.read();
        };
        try (AgentLink link = agent(unread)) {
            AgentLink.Outcome o = link.start(List.of("sleep", "100"), Map.of(), "/", true)
                    .await((e, b, n) -> { }, new ByteArrayInputStream(new byte[4 << 20]), Duration.ofMillis(500));
            assertThat(o.timedOut()).isTrue();
        }
        assertThat(chunks[0]).isEqualTo(AgentWire.STDIN_WINDOW);
    }

    @Test
    void anAgentThatReadsNothingIsCutOffAfterTheKillsWait() throws IOException {
        Script deaf = (in, out) -> {
            hello(out);
            Frame exec = AgentWire.read(in);
            AgentWire.write(out, new Frame(AgentWire.STARTED, exec.id(), AgentWire.u32(7)));
            // reads nothing more: the window's chunks (1 MiB) fill the socket, the host's writer waits in a write
            // holding the link's writes, and the timeout's kill cannot be sent
            Thread.sleep(60_000);
        };
        long t0 = System.nanoTime();
        try (AgentLink link = agent(deaf)) {
            AgentLink.Running r = link.start(List.of("cat"), Map.of(), "/", true);
            assertThatThrownBy(() -> r.await((e, b, n) -> { }, new ByteArrayInputStream(new byte[32 << 20]),
                    Duration.ofMillis(300))).isInstanceOf(AgentLink.Broken.class);
        }
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0))
                .isLessThan(AgentLink.KILL_WAIT.toSeconds() + 5);
    }

    @Test
    void aConnectionWithoutAHelloInTheProtocolsVersionIsRefused() throws IOException {
        for (byte[] first : List.of(frame(AgentWire.HELLO, 0, concat(AgentWire.u32(2), AgentWire.u32(1))),
                frame(AgentWire.HELLO, 5, concat(AgentWire.u32(1), AgentWire.u32(1))),
                frame(AgentWire.STARTED, 0, AgentWire.u32(1)), new byte[0])) {
            // refused for what it said, not for its silence: a backend need not wait for it again
            assertThatThrownBy(() -> agent((in, out) -> {
                out.write(first);
                out.flush();
            })).isInstanceOf(AgentLink.Broken.class).matches(e -> !((AgentLink.Broken) e).silent());
        }
    }

    @Test
    void aSilentAgentIsGivenUpAfterTheHelloWait() {
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> agent((in, out) -> in.read())).isInstanceOf(AgentLink.Broken.class)
                .hasMessageContaining("did not answer").matches(e -> ((AgentLink.Broken) e).silent());
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0))
                .isLessThan(AgentLink.HELLO_WAIT.toSeconds() + 5);
    }

    @Test
    void theCodecRefusesWhatBreaksItsBoundsBeforeAllocating() throws IOException {
        byte[] big = {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x21, 0, 0, 0, 1};
        assertThatThrownBy(() -> AgentWire.read(new ByteArrayInputStream(big))).isInstanceOf(AgentWire.Malformed.class);
        assertThat(AgentWire.read(new ByteArrayInputStream(new byte[0]))).isNull();
        assertThatThrownBy(() -> new Fields(concat(AgentWire.u32(AgentWire.MAX_PAYLOAD + 1))).bytes(
                AgentWire.MAX_PAYLOAD)).isInstanceOf(AgentWire.Malformed.class);
        assertThatThrownBy(() -> AgentWire.exec(false, List.of(), Map.of(), "/"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AgentWire.exec(false, List.of("x".repeat(AgentWire.MAX_PAYLOAD)), Map.of(), "/"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than the agent takes");
        Frame f = new Frame(AgentWire.STDOUT, -1, new byte[] {1, 2});
        Frame back = AgentWire.read(new ByteArrayInputStream(frame(f.type(), f.id(), f.payload())));
        assertThat(back.id()).isEqualTo(-1);
        assertThat(back.payload()).containsExactly(1, 2);
    }

    /** A port's agent played by {@code script}: the link is {@link AgentLink#synced}. */
    private AgentLink port(Script script) throws IOException {
        Path socket = played("p.sock", script);
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return AgentLink.synced(ch);
    }

    /** Reads the host's SYNC and returns its nonce. */
    private static byte[] sync(InputStream in) throws IOException {
        Frame f = AgentWire.read(in);
        assertThat(f.type()).isEqualTo(AgentWire.SYNC);
        assertThat(new String(f.payload(), 0, 8, StandardCharsets.US_ASCII)).isEqualTo("davitsyn");
        return java.util.Arrays.copyOfRange(f.payload(), 8, 8 + AgentWire.NONCE);
    }

    private static void hello(OutputStream out, byte[] nonce) throws IOException {
        AgentWire.write(out, new Frame(AgentWire.HELLO, 0, concat(AgentWire.u32(1), AgentWire.u32(77), nonce)));
    }

    @Test
    void aPortsLinkSkipsAPreviousHostsLeftoversAndAnOldHelloUpToItsOwnNonce() throws Exception {
        try (AgentLink link = port((in, out) -> {
            byte[] nonce = sync(in);
            out.write(new byte[] {0, 0, 0, 99, 0x21, 0, 0}); // half a frame of a session before
            hello(out, new byte[AgentWire.NONCE]); // a HELLO that answered another host's SYNC
            hello(out, nonce);
            out.flush();
            Frame exec = AgentWire.read(in);
            AgentWire.write(out, new Frame(AgentWire.STARTED, exec.id(), AgentWire.u32(5)));
            AgentWire.write(out, new Frame(AgentWire.STDOUT, exec.id(), "hi".getBytes(StandardCharsets.UTF_8)));
            AgentWire.write(out, new Frame(AgentWire.EXIT, exec.id(), concat(AgentWire.u32(0), AgentWire.u32(0))));
            in.read();
        })) {
            assertThat(link.agentPid()).isEqualTo(77);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            AgentLink.Outcome o = link.start(List.of("echo", "hi"), Map.of(), "/", false)
                    .await((err, b, n) -> got.write(b, 0, n), null, null);
            assertThat(o.exitCode()).isZero();
            assertThat(got.toString(StandardCharsets.UTF_8)).isEqualTo("hi");
        }
    }

    @Test
    void aPortThatFloodsBeforeItsHelloOrSaysMoreAfterItIsRefused() throws Exception {
        assertThatThrownBy(() -> port((in, out) -> {
            sync(in);
            byte[] junk = new byte[1 << 16];
            for (int i = 0; i <= AgentLink.MAX_SKIPPED / junk.length; i++) {
                out.write(junk);
            }
            in.read();
        })).isInstanceOf(AgentLink.Broken.class).hasMessageContaining("before its HELLO");
        assertThatThrownBy(() -> port((in, out) -> {
            byte[] nonce = sync(in);
            ByteArrayOutputStream both = new ByteArrayOutputStream();
            hello(both, nonce);
            AgentWire.write(both, new Frame(AgentWire.STDOUT, 1, new byte[] {1}));
            out.write(both.toByteArray()); // in one write: the host reads both at once
            in.read();
        })).isInstanceOf(AgentLink.Broken.class).hasMessageContaining("after its HELLO");
    }

    @Test
    void aPortThatNeverAnswersItsSyncIsGivenUpWithinTheHellosWait() {
        assertThatThrownBy(() -> port((in, out) -> {
            sync(in);
            in.read();
        })).isInstanceOf(AgentLink.Broken.class).hasMessageContaining("did not answer")
                .matches(e -> ((AgentLink.Broken) e).silent());
    }
}
