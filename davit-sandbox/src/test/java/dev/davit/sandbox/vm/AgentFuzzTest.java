package dev.davit.sandbox.vm;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.davit.oci.DavitException;
import dev.davit.oci.ErrorAssert;
import dev.davit.oci.unpack.TarExtractor;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.backend.GuestFiles;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Fuzzes the host's end of the guest agent protocol with whatever a replaced agent could send ({@link FakeAgent}:
 * the first byte picks the request, the rest is the answer, {@code @@} standing for the request's id). Whatever the
 * bytes: the call returns what was asked for and no more, or fails with a one-line DavitException or one of the
 * client's own exceptions (gone, timed out, protocol broken); it allocates no more than the input and the caps
 * allow; nothing lands outside the tree's directory.
 *
 * <p>Without {@code JAZZER_FUZZ} it runs the seeds in
 * {@code src/test/resources/dev/davit/sandbox/vm/AgentFuzzTestInputs/fuzzAgentAnswers/}. To fuzz:
 * {@code JAZZER_FUZZ=1 mvn -pl davit-sandbox test -Dtest=AgentFuzzTest}.
 */
class AgentFuzzTest {
    private static final TarExtractor.Limits LIMITS = new TarExtractor.Limits(1 << 20, 1000, 1 << 16);
    private static Path base;

    private static synchronized Path base() throws IOException {
        if (base == null) {
            Path b = Files.createTempDirectory("davit-agent-fuzz-");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    dev.davit.oci.internal.Fs.deleteTree(b);
                } catch (IOException ignored) {
                    // best effort
                }
            }, "davit-agent-fuzz-cleanup"));
            base = b;
            // the first call of each kind loads (and instruments) classes, which allocates: not the input's doing
            byte[] treeScript = HostileTars.dataAnswer(HostileTars.tar(HostileTars.file("./a", 1, 0644),
                    HostileTars.file("../b", 1, 0644)));
            byte[] read = "data @@ 2 2\nhi".getBytes(StandardCharsets.US_ASCII);
            for (int verb = 0; verb < 4; verb++) {
                call(verb, new byte[0]);
                call(verb, verb < 2 ? read : verb == 2 ? treeScript
                        : "ran @@ 0 0 1 1\nab".getBytes(StandardCharsets.US_ASCII));
            }
        }
        return base;
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    /** Runs request {@code verb} against an agent that answers {@code script}; returns the bytes it may keep. */
    private static long call(int verb, byte[] script) throws IOException {
        Path run = Files.createTempDirectory(base, "run-");
        Path outside = Files.createDirectories(run.resolve("outside"));
        Path into = Files.createDirectories(run.resolve("into"));
        long deadline = System.nanoTime() + 3_000_000_000L;
        long kept = 0;
        try (FakeAgent agent = FakeAgent.start(run.resolve("s"), script); AgentClient c = agent.connect()) {
            switch (verb) {
                case 0 -> {
                    GuestFiles.Content got = AgentFiles.read(c, "sb-fuzz", "/workspace/f", 16, deadline);
                    assertThat(got.bytes().length).isLessThanOrEqualTo(16);
                }
                case 1 -> {
                    GuestFiles.Content got = AgentFiles.read(c, "sb-fuzz", "/workspace/f", 0, deadline);
                    assertThat(got.bytes().length).isLessThanOrEqualTo(script.length);
                }
                case 2 -> AgentFiles.copyTree(c, "sb-fuzz", "/workspace", into, LIMITS, deadline);
                default -> {
                    QemuBackend.Outcome o = QemuBackend.execute(c, List.of("true"), Map.of(), "/",
                            Duration.ofSeconds(1), "sb-fuzz", run);
                    assertThat(o.stdout().size()).isLessThanOrEqualTo(ExecResult.MAX_CAPTURED_BYTES);
                    assertThat(o.stderr().size()).isLessThanOrEqualTo(ExecResult.MAX_CAPTURED_BYTES);
                    kept = o.stdout().size() + o.stderr().size();
                }
            }
        } catch (DavitException e) {
            ErrorAssert.assertOneLine(e.getMessage());
        } catch (AgentClient.GoneException | AgentClient.TimeoutException | AgentClient.ProtocolException e) {
            // what a lying agent earns; the callers turn these into one-line errors and kill its VM
            ErrorAssert.assertOneLine(e.getMessage());
        } finally {
            try (Stream<Path> s = Files.list(outside)) {
                assertThat(s).isEmpty();
            }
            dev.davit.oci.internal.Fs.deleteTree(run);
        }
        return kept;
    }

    @DictionaryEntries({"data @@ ", "ran @@ ", "exit @@ ", "error @@ ", "done @@", "pong @@", "data other ",
        " 0 0 ", "ustar\u000000", "./", "../", "/etc/"})
    @FuzzTest(maxDuration = "60s")
    void fuzzAgentAnswers(byte[] input) throws IOException {
        if (input.length == 0) {
            return;
        }
        base();
        byte[] script = Arrays.copyOfRange(input, 1, input.length);
        long a0 = allocated();
        long kept = call(input[0] & 3, script);
        // buffers, a tree's extraction and what the call may keep; never what the guest only announced
        assertThat(allocated() - a0).as("bytes allocated").isLessThan((16L << 20) + kept + 64L * script.length);
    }
}
