package dev.davit.sandbox.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Fuzzes the host's end of davit-agent's protocol ({@link AgentLink}) with whatever a replaced agent could send after
 * a true HELLO, in answer to one EXEC. Whatever the bytes: the link returns an outcome the wire format allows, or
 * fails with one of its own IOExceptions (a broken agent, the end of the stream); it passes on no more output than
 * the input held.
 *
 * <p>Without {@code JAZZER_FUZZ} it runs the seeds in
 * {@code src/test/resources/dev/davit/sandbox/agent/AgentLinkFuzzTestInputs/fuzzReplies/}. To fuzz:
 * {@code JAZZER_FUZZ=1 mvn -pl davit-sandbox test -Dtest=AgentLinkFuzzTest}.
 */
class AgentLinkFuzzTest {
    private static final byte[] HELLO = {0, 0, 0, 13, AgentWire.HELLO, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9};

    @FuzzTest(maxDuration = "60s")
    void fuzzReplies(byte[] replies) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(HELLO);
        all.writeBytes(replies);
        ByteArrayInputStream in = new ByteArrayInputStream(all.toByteArray());
        AgentLink link = AgentLink.over(in, OutputStream.nullOutputStream(), in);
        long[] passed = {0};
        try {
            AgentLink.Outcome o = link.start(List.of("x"), Map.of(), "/", false)
                    .await((stderr, b, n) -> passed[0] += n, null, Duration.ofSeconds(30));
            if (o.error() == 0) {
                assertThat(o.exitCode()).isBetween(0, 255);
                assertThat(o.signal()).isBetween(0, 64);
            } else {
                assertThat(o.exitCode()).isEqualTo(-1);
                assertThat(o.message()).doesNotContain("\n").hasSizeLessThanOrEqualTo(4096);
            }
        } catch (AgentLink.Broken e) {
            assertThat(e.getMessage()).doesNotContain("\n");
        } finally {
            link.close();
        }
        assertThat(passed[0]).isLessThanOrEqualTo(replies.length);
    }
}
