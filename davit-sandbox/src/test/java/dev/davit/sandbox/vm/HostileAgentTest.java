package dev.davit.sandbox.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.davit.oci.DavitException;
import dev.davit.oci.ErrorAssert;
import dev.davit.oci.unpack.TarExtractor;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host's end of the agent protocol against an agent that lies ({@link FakeAgent}, no VM): announced lengths
 * never size an allocation beyond what the caller asked for, lines are bounded, every call ends at its deadline
 * even while bytes keep coming, and a tree arrives only through the rules for untrusted tars. Memory is measured as
 * the bytes the calling thread allocated.
 */
class HostileAgentTest {
    static final String SANDBOX = "sb-hostile";

    @TempDir
    Path tmp;
    Path socket;
    Path into;
    Path outside;

    @BeforeEach
    void setUp() throws IOException {
        socket = tmp.resolve("agent.sock");
        into = Files.createDirectories(tmp.resolve("view"));
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("canary"), "untouched\n");
    }

    static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    static long deadline(long ms) {
        return System.nanoTime() + ms * 1_000_000;
    }

    /** A tail of {@code total} bytes of {@code b} (then it closes); bounded so that a host without the fix ends. */
    static FakeAgent.Tail bytes(byte b, long total) {
        long[] left = {total};
        ByteBuffer chunk = ByteBuffer.allocate(1 << 16);
        java.util.Arrays.fill(chunk.array(), b);
        return ch -> {
            if (left[0] <= 0) {
                return false;
            }
            chunk.clear().limit((int) Math.min(chunk.capacity(), left[0]));
            left[0] -= ch.write(chunk);
            return true;
        };
    }

    /** Runs {@code call}, which must throw, and returns what it threw, how long it took and what it allocated. */
    record Outcome(Throwable thrown, long ms, long allocated) {
    }

    static Outcome attempt(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        long a0 = allocated();
        long t0 = System.nanoTime();
        Throwable t = catchThrowable(call);
        return new Outcome(t, (System.nanoTime() - t0) / 1_000_000, allocated() - a0);
    }

    @Test
    void aReadAnnouncingMoreThanAskedFailsBeforeAnyAllocation() throws IOException {
        // the attack of the issue: a 3 GB length for a read (the host grew past 4 GB and died of OutOfMemoryError)
        try (FakeAgent agent = FakeAgent.start(socket, "data @@ 3000000000 3000000000\n", bytes((byte) 'x',
                512L << 20)); AgentClient c = agent.connect()) {
            Outcome o = attempt(() -> AgentFiles.read(c, SANDBOX, "/workspace/f", 0, deadline(20_000)));
            assertThat(o.thrown()).isInstanceOf(AgentClient.ProtocolException.class)
                    .hasMessageContaining("3000000000 bytes for a read of at most 67108864");
            assertThat(o.ms()).isLessThan(2000);
            assertThat(o.allocated()).isLessThan(8L << 20);
        }
        try (FakeAgent agent = FakeAgent.start(socket, "data @@ 11 11\nhello world", null);
             AgentClient c = agent.connect()) {
            assertThat(catchThrowable(() -> AgentFiles.read(c, SANDBOX, "/workspace/f", 10, deadline(20_000))))
                    .isInstanceOf(AgentClient.ProtocolException.class);
        }
        try (FakeAgent agent = FakeAgent.start(socket, "data @@ 11 5\nhello", null); AgentClient c = agent.connect()) {
            var content = AgentFiles.read(c, SANDBOX, "/workspace/f", 5, deadline(20_000));
            assertThat(new String(content.bytes(), StandardCharsets.US_ASCII)).isEqualTo("hello");
            assertThat(content.size()).isEqualTo(11);
            assertThat(agent.request()).startsWith("read ").endsWith(" 5");
        }
    }

    @Test
    void aWholeFileOverTheCapIsAUsageErrorNamingHowToReadLess() throws IOException {
        try (FakeAgent agent = FakeAgent.start(socket, "data @@ 100000000 " + AgentFiles.MAX_WHOLE_FILE + "\n",
                bytes((byte) 0, AgentFiles.MAX_WHOLE_FILE)); AgentClient c = agent.connect()) {
            Outcome o = attempt(() -> AgentFiles.read(c, SANDBOX, "/workspace/big", 0, deadline(20_000)));
            assertThat(o.thrown()).isInstanceOf(DavitException.class).hasMessageContaining("100000000 bytes")
                    .hasMessageContaining("maxBytes");
            assertThat(((DavitException) o.thrown()).kind()).isEqualTo(DavitException.Kind.USAGE);
            ErrorAssert.assertOneLine(o.thrown().getMessage());
            assertThat(o.allocated()).as("the bytes are skipped, not held").isLessThan(8L << 20);
            assertThat(agent.request()).endsWith(" " + AgentFiles.MAX_WHOLE_FILE);
        }
    }

    @Test
    void anEndlessReplyIsCutOffAtTheDeadlineWhileBytesKeepComing() throws IOException {
        // bytes for another request, announced as a terabyte and sent as fast as the socket takes them
        try (FakeAgent agent = FakeAgent.start(socket, "data other 1000000000000 1000000000000\n",
                bytes((byte) 0, 64L << 30)); AgentClient c = agent.connect()) {
            Outcome o = attempt(() -> AgentFiles.read(c, SANDBOX, "/workspace/f", 0, deadline(1500)));
            assertThat(o.thrown()).isInstanceOf(AgentClient.TimeoutException.class);
            assertThat(o.ms()).isBetween(1400L, 3000L);
            assertThat(o.allocated()).as("small garbage per read, nothing held").isLessThan(64L << 20);
        }
        // our own answer's bytes, trickled: one byte every 20 ms
        FakeAgent.Tail trickle = ch -> {
            Thread.sleep(20);
            ch.write(ByteBuffer.wrap(new byte[] {'x'}));
            return true;
        };
        try (FakeAgent agent = FakeAgent.start(socket, "data @@ 1000 1000\n", trickle);
             AgentClient c = agent.connect()) {
            Outcome o = attempt(() -> AgentFiles.read(c, SANDBOX, "/workspace/f", 0, deadline(1500)));
            assertThat(o.thrown()).isInstanceOf(AgentClient.TimeoutException.class);
            assertThat(o.ms()).isBetween(1400L, 3000L);
        }
    }

    @Test
    void anEndlessLineIsDroppedAsItArrivesAndOursIsRefusedPastTheLimit() throws IOException {
        try (FakeAgent agent = FakeAgent.start(socket, "", bytes((byte) 'x', 1L << 30));
             AgentClient c = agent.connect()) {
            Outcome o = attempt(() -> AgentFiles.read(c, SANDBOX, "/workspace/f", 0, deadline(1500)));
            assertThat(o.thrown()).isInstanceOfAny(AgentClient.TimeoutException.class,
                    AgentClient.GoneException.class);
            assertThat(o.allocated()).isLessThan(4L * AgentClient.MAX_LINE);
        }
        try (FakeAgent agent = FakeAgent.start(socket, "data @@ ", bytes((byte) '7', 1L << 30));
             AgentClient c = agent.connect()) {
            Outcome o = attempt(() -> AgentFiles.read(c, SANDBOX, "/workspace/f", 0, deadline(20_000)));
            assertThat(o.thrown()).isInstanceOf(AgentClient.ProtocolException.class)
                    .hasMessageContaining("longer than " + AgentClient.MAX_LINE);
            assertThat(o.ms()).isLessThan(5000);
            assertThat(o.allocated()).isLessThan(4L * AgentClient.MAX_LINE);
        }
    }

    @Test
    void answersToOtherRequestsAreSkippedWithTheirBytes() throws IOException {
        String script = "junk without meaning\ndata old 5 5\n\n\n\n\n\nran old2 0 0 3 2\nabcde"
                + "error @@ missing " + java.util.Base64.getEncoder().encodeToString("no file /w\u001b[2J".getBytes())
                + "\n";
        try (FakeAgent agent = FakeAgent.start(socket, script, null); AgentClient c = agent.connect()) {
            Throwable t = catchThrowable(() -> AgentFiles.read(c, SANDBOX, "/workspace/f", 0, deadline(5000)));
            assertThat(t).isInstanceOf(DavitException.class).hasMessageContaining("no file /w?[2J");
            assertThat(((DavitException) t).kind()).isEqualTo(DavitException.Kind.NOT_FOUND);
        }
    }

    @Test
    void aCommandsOutputIsKeptUpToTheCapAndTheRestDropped() throws IOException {
        long big = 80_000_000;
        FakeAgent.Tail tail = bytes((byte) 'o', big);
        FakeAgent.Tail both = ch -> tail.more(ch) || ch.write(ByteBuffer.wrap("err!\n".getBytes())) < 0;
        try (FakeAgent agent = FakeAgent.start(socket, "ran @@ 3 0 " + big + " 5\n", both);
             AgentClient c = agent.connect()) {
            long a0 = allocated();
            QemuBackend.Outcome o = QemuBackend.execute(c, List.of("true"), Map.of(), "/", Duration.ofSeconds(30),
                    SANDBOX, tmp);
            long used = allocated() - a0;
            assertThat(o.code()).isEqualTo(3);
            assertThat(o.stdout().size()).isEqualTo(dev.davit.sandbox.ExecResult.MAX_CAPTURED_BYTES);
            assertThat(o.truncated()).isTrue();
            assertThat(new String(o.stderr().bytes(), StandardCharsets.US_ASCII)).isEqualTo("err!\n");
            assertThat(used).isLessThan(dev.davit.sandbox.ExecResult.MAX_CAPTURED_BYTES + (16L << 20));
        }
    }

    static byte[] tar(TarArchiveEntry... entries) throws IOException {
        return HostileTars.tar(entries);
    }

    static TarArchiveEntry file(String name, int size) {
        return HostileTars.file(name, size, 0644);
    }

    static TarArchiveEntry link(String name, String target) {
        return HostileTars.link(name, target);
    }

    Throwable copyTree(byte[] tar, TarExtractor.Limits limits) throws IOException {
        try (FakeAgent agent = FakeAgent.start(socket, HostileTars.dataAnswer(tar)); AgentClient c = agent.connect()) {
            return catchThrowable(() -> AgentFiles.copyTree(c, SANDBOX, "/workspace", into, limits, deadline(10_000)));
        }
    }

    void assertCanaryUntouched() throws IOException {
        try (Stream<Path> s = Files.list(outside)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("canary");
        }
        assertThat(Files.readString(outside.resolve("canary"))).isEqualTo("untouched\n");
    }

    @Test
    void aHostileTreeNeverLandsOutsideItsDirectory() throws IOException {
        TarExtractor.Limits limits = AgentFiles.treeLimits();
        String canary = outside.resolve("canary").toString();
        for (byte[] tar : List.of(tar(file("./../outside/canary", 6)), tar(file(canary, 6)),
                tar(link("./root", "/"), file("./root" + canary, 6)),
                tar(link("./out", outside.toString()), file("./out/canary", 6)))) {
            Throwable t = copyTree(tar, limits);
            assertThat(t).isInstanceOf(DavitException.class).hasMessageContaining("that sandbox " + SANDBOX + " sent")
                    .hasMessageContaining("broken or hostile");
            ErrorAssert.assertOneLine(t.getMessage());
            assertCanaryUntouched();
            dev.davit.oci.internal.Fs.deleteTree(into);
            Files.createDirectories(into);
        }
        // a link is made as a link, and a fifo is not made at all
        TarArchiveEntry fifo = new TarArchiveEntry("./fifo", TarConstants.LF_FIFO, true);
        assertThat(copyTree(tar(link("./root", "/"), fifo, file("./ok", 3)), limits)).isNull();
        assertThat(Files.readSymbolicLink(into.resolve("root"))).isEqualTo(Path.of("/"));
        assertThat(into.resolve("fifo")).doesNotExist();
        assertThat(into.resolve("ok")).hasSize(3);
    }

    @Test
    void aTreeAnnouncedOverTheCapIsRefusedBeforeAByteOfItIsWritten() throws IOException {
        try (FakeAgent agent = FakeAgent.start(socket, "data @@ 5000000000 5000000000\n", bytes((byte) 0,
                512L << 20)); AgentClient c = agent.connect()) {
            Outcome o = attempt(() -> AgentFiles.copyTree(c, SANDBOX, "/workspace", into, AgentFiles.treeLimits(),
                    deadline(20_000)));
            assertThat(o.thrown()).isInstanceOf(DavitException.class).hasMessageContaining("5000000000 bytes")
                    .hasMessageContaining("davit.vm.maxTreeBytes");
            assertThat(o.ms()).isLessThan(2000);
        }
        try (Stream<Path> s = Files.list(into)) {
            assertThat(s).isEmpty();
        }
        // a tree whose files pass the cap stops there: with a cap of 1 MiB, not more than that is written
        byte[] big = tar(file("./a", 700_000), file("./b", 700_000), file("./c", 700_000));
        Throwable t = copyTree(big, new TarExtractor.Limits(1 << 20, 1000, 1 << 20));
        assertThat(t).isInstanceOf(DavitException.class).hasMessageContaining("limit of 1048576");
        assertThat(into.resolve("c")).doesNotExist();
    }
}
