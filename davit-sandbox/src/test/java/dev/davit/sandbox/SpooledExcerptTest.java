package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.backend.CappedSink;
import dev.davit.sandbox.internal.SandboxJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SpooledExcerpt}: the JSON of an {@link OutputExcerpt}, byte for byte, from a file instead of memory. */
class SpooledExcerptTest {
    @TempDir
    Path dir;

    /** Pieces a command's output is made of: text, multi-byte characters, U+FFFD, control and malformed bytes. */
    private static final byte[][] PIECES = {"line\n".getBytes(StandardCharsets.UTF_8),
            "€".getBytes(StandardCharsets.UTF_8), "😀".getBytes(StandardCharsets.UTF_8),
            "\uFFFD".getBytes(StandardCharsets.UTF_8), {1}, {0x1b, '[', 'm'}, {'\t', '\r'}, {0x7f},
            {(byte) 0xff}, {(byte) 0xe2, (byte) 0x82}, {(byte) 0x80, (byte) 0x80}, {'"', '\\'},
            {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}};

    private static byte[] output(Random rnd, int pieces) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        boolean binary = rnd.nextInt(4) == 0;
        for (int i = 0; i < pieces; i++) {
            if (binary) {
                b.write(rnd.nextInt(256));
            } else {
                b.writeBytes(PIECES[rnd.nextInt(rnd.nextBoolean() ? 3 : PIECES.length)]);
            }
        }
        return b.toByteArray();
    }

    @Test
    void itsJsonIsTheInMemoryExcerptsByteForByte() throws IOException {
        Random rnd = new Random(34);
        for (int round = 0; round < 3000; round++) {
            byte[] all = output(rnd, rnd.nextInt(round % 10 == 0 ? 3000 : 60));
            int head = rnd.nextInt(round % 7 == 0 ? 2 : 50);
            int tail = rnd.nextInt(round % 5 == 0 ? 2 : 50);
            CappedSink h = new CappedSink(head);
            OutputExcerpt.Tail t = new OutputExcerpt.Tail(tail);
            ObjectNode spooled = Json.object();
            try (SpooledExcerpt s = SpooledExcerpt.create(dir, head, tail)) {
                for (int i = 0; i < all.length; ) {
                    int n = Math.min(all.length - i, 1 + rnd.nextInt(3 * tail + 3));
                    h.write(all, i, n);
                    t.write(all, i, n);
                    s.write(all, i, n);
                    i += n;
                }
                OutputExcerpt x = OutputExcerpt.of(h.captured(), t);
                assertThat(s.total()).isEqualTo(x.total());
                assertThat(s.cut()).isEqualTo(x.cut());
                ObjectNode kept = Json.object();
                SandboxJson.excerpt(kept, "stdout", x);
                SandboxJson.excerpt(spooled, "stdout", s);
                assertThat(new String(Json.bytes(spooled), StandardCharsets.UTF_8))
                        .as("round %d: %d bytes, head %d, tail %d", round, all.length, head, tail)
                        .isEqualTo(new String(Json.bytes(kept), StandardCharsets.UTF_8));
            }
        }
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty(); // each file was unlinked as it was made
        }
    }

    @Test
    void aFloodOfBytesKeepsOnlyHeadAndTailOnDisk() throws IOException {
        try (SpooledExcerpt s = SpooledExcerpt.create(dir, 1000, 1000)) {
            byte[] chunk = new byte[65536];
            for (int i = 0; i < 100; i++) {
                java.util.Arrays.fill(chunk, (byte) ('a' + i % 26));
                s.write(chunk, 0, chunk.length);
            }
            assertThat(s.total()).isEqualTo(6_553_600);
            ObjectNode written = Json.object();
            SandboxJson.excerpt(written, "stdout", s);
            var doc = Json.read(Json.bytes(written)); // the text is streamed when the document is written
            String text = doc.get("stdout").asText();
            assertThat(text).isEqualTo("a".repeat(1000) + "\n[... davit: 6551600 bytes of stdout left out here ...]\n"
                    + "v".repeat(1000));
            assertThat(doc.get("stdout_bytes").asLong()).isEqualTo(6_553_600);
            assertThat(doc.has("stdout_base64")).isFalse();
        }
    }
}
