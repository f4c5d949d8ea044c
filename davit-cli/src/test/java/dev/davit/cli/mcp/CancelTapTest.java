package dev.davit.cli.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The answer to a message longer than {@link CancelTap#MAX_LINE}: its id when its start names it, else null. */
class CancelTapTest {
    private static JsonNode answer(String start) throws IOException {
        return Json.read(CancelTap.tooLong(start.getBytes(StandardCharsets.UTF_8), CancelTap.MAX_LINE + 1L));
    }

    @Test
    void theIdIsReadFromTheStartWhenItIsThere() throws IOException {
        JsonNode a = answer("{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"tools/call\",\"params\":{\"arguments\":{\"x\":\"aaaa");
        assertThat(a.get("id").asLong()).isEqualTo(42);
        assertThat(a.at("/error/code").asInt()).isEqualTo(-32600);
        assertThat(a.at("/error/message").asText()).contains("more than the 16 MiB");
        assertThat(answer("{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":\"w\"},\"id\":\"r-7\","
                + "\"more\":\"bbb").get("id").asText()).isEqualTo("r-7");
        // an id inside params is not the message's
        assertThat(answer("{\"params\":{\"id\":5,\"x\":\"cccc").get("id").isNull()).isTrue();
        assertThat(answer("{\"jsonrpc\":\"2.0\",\"params\":{\"content\":\"" + "d".repeat(200_000)).get("id").isNull())
                .isTrue();
        assertThat(answer("not json at all").get("id").isNull()).isTrue();
        assertThat(answer("{\"id\":{\"odd\":1}").get("id").isNull()).isTrue();
    }

    @Test
    void aLineTooLongIsAnsweredAndSkippedAndTheNextIsRead() throws IOException {
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        in.write("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"".getBytes(StandardCharsets.UTF_8));
        in.write("e".repeat(CancelTap.MAX_LINE).getBytes(StandardCharsets.UTF_8));
        in.write("\"}}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n".getBytes(StandardCharsets.UTF_8));
        List<byte[]> replies = new ArrayList<>();
        CancelTap tap = new CancelTap(new ByteArrayInputStream(in.toByteArray()), id -> { }, () -> { }, raw -> { },
                replies::add);
        String next = new String(tap.readAllBytes(), StandardCharsets.UTF_8);
        assertThat(next).isEqualTo("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n");
        assertThat(replies).hasSize(1);
        assertThat(Json.read(replies.get(0)).get("id").asInt()).isEqualTo(1);
    }
}
