package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.backend.CappedSink;
import dev.davit.sandbox.internal.SandboxJson;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link OutputExcerpt}: the start and end of a stream, kept in bounded memory, against the whole stream. */
class OutputExcerptTest {
    /** Writes {@code all} in random pieces to a head sink of {@code head} bytes and a tail of {@code tail}. */
    private static OutputExcerpt excerpt(byte[] all, int head, int tail, Random rnd) {
        CappedSink h = new CappedSink(head);
        OutputExcerpt.Tail t = new OutputExcerpt.Tail(tail);
        for (int i = 0; i < all.length; ) {
            int n = Math.min(all.length - i, 1 + rnd.nextInt(3 * tail + 3));
            h.write(all, i, n);
            t.write(all, i, n);
            i += n;
        }
        return OutputExcerpt.of(h.captured(), t);
    }

    @Test
    void theHeadAndTailAreTheStreamsStartAndEndWhateverThePieces() {
        Random rnd = new Random(21);
        for (int round = 0; round < 2000; round++) {
            int len = rnd.nextInt(300);
            byte[] all = new byte[len];
            rnd.nextBytes(all);
            int head = rnd.nextInt(40);
            int tail = rnd.nextInt(40);
            OutputExcerpt x = excerpt(all, head, tail, rnd);
            assertThat(x.total()).isEqualTo(len);
            assertThat(x.head()).isEqualTo(Arrays.copyOf(all, Math.min(head, len)));
            if (len <= head + tail) { // nothing left out: head and tail together are the stream, no byte twice
                assertThat(x.cut()).isFalse();
                ByteArrayOutputStream both = new ByteArrayOutputStream();
                both.writeBytes(x.head());
                both.writeBytes(x.tail());
                assertThat(both.toByteArray()).isEqualTo(all);
            } else {
                assertThat(x.cut()).isTrue();
                assertThat(x.tail()).isEqualTo(Arrays.copyOfRange(all, len - tail, len));
                assertThat(x.omitted()).isEqualTo(len - head - tail);
            }
        }
    }

    @Test
    void aTailGrowsOnlyWithWhatIsWritten() throws Exception {
        OutputExcerpt.Tail t = new OutputExcerpt.Tail(64 << 20);
        t.write("hello".getBytes(StandardCharsets.UTF_8));
        java.lang.reflect.Field ring = OutputExcerpt.Tail.class.getDeclaredField("ring");
        ring.setAccessible(true);
        assertThat(((byte[]) ring.get(t)).length).isLessThanOrEqualTo(8192); // not 64 MiB for 5 bytes
        assertThat(t.bytes()).isEqualTo("hello".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void jsonSaysWhatWasLeftOutAndGivesBytesThatAreNotUtf8Exactly() {
        Random rnd = new Random(1);
        byte[] text = "line one\nline two\nline three\n".repeat(100).getBytes(StandardCharsets.UTF_8);
        ObjectNode doc = Json.object();
        SandboxJson.excerpt(doc, "stdout", excerpt(text, 40, 40, rnd));
        assertThat(doc.get("stdout_bytes").asLong()).isEqualTo(text.length);
        assertThat(doc.get("stdout").asText()).startsWith("line one\nline two\n").endsWith("line three\n")
                .contains("[... davit: " + (text.length - 80) + " bytes of stdout left out here ...]");
        assertThat(doc.has("stdout_base64")).isFalse();

        byte[] binary = {(byte) 0xff, (byte) 0xfe, 'x'};
        ObjectNode b = Json.object();
        SandboxJson.excerpt(b, "stdout", excerpt(binary, 40, 40, rnd));
        assertThat(Base64.getDecoder().decode(b.get("stdout_base64").asText())).isEqualTo(binary);
    }

    @Test
    void controlBytesAreShownAsOneCharacterEachAndGivenExactly() {
        byte[] ctl = {1, 2, 'a', '\t', 27, '[', '0', 'm', '\n'};
        ObjectNode doc = Json.object();
        SandboxJson.excerpt(doc, "stdout", excerpt(ctl, 40, 40, new Random(3)));
        assertThat(doc.get("stdout").asText()).isEqualTo("\uFFFD\uFFFDa\t\uFFFD[0m\n");
        assertThat(Base64.getDecoder().decode(doc.get("stdout_base64").asText())).isEqualTo(ctl);
        byte[] flood = new byte[100_000];
        Arrays.fill(flood, (byte) 1);
        ObjectNode big = Json.object();
        SandboxJson.excerpt(big, "stdout", excerpt(flood, 4096, 4096, new Random(4)));
        assertThat(Json.bytes(big).length).isLessThan(300); // not 6 bytes of JSON per byte, nor 3
        assertThat(big.get("stdout").asText()).startsWith("\uFFFD[4096 control bytes]\n[... davit: ")
                .endsWith("\uFFFD[4096 control bytes]");
    }

    @Test
    void aCutNeverSplitsACharacter() {
        byte[] euro = "€".repeat(100).getBytes(StandardCharsets.UTF_8); // 3 bytes each
        for (int head = 1; head < 8; head++) {
            ObjectNode doc = Json.object();
            SandboxJson.excerpt(doc, "stdout", excerpt(euro, head, head + 1, new Random(head)));
            assertThat(doc.get("stdout").asText()).doesNotContain("\uFFFD");
        }
    }
}
