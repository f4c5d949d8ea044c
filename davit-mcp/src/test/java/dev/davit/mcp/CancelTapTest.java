package dev.davit.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The answer to a message longer than {@link CancelTap#MAX_LINE}: its id when its start names it, else null; and
 * the answers to messages davit refuses before the SDK sees them (not JSON, a batch, not JSON-RPC, a second
 * initialize, an unknown tool).
 */
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
        List<String> logged = new ArrayList<>();
        CancelTap tap = new CancelTap(new ByteArrayInputStream(in.toByteArray()), Set.of(), id -> { }, () -> { },
                logged::add, replies::add);
        String next = new String(tap.readAllBytes(), StandardCharsets.UTF_8);
        assertThat(next).isEqualTo("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n");
        assertThat(replies).hasSize(1);
        assertThat(Json.read(replies.get(0)).get("id").asInt()).isEqualTo(1);
        // what the server logs is the answer's message (every other reply's too: the log names each cause)
        assertThat(logged).containsExactly(Json.read(replies.get(0)).at("/error/message").asText());
    }

    /** The lines {@code lines} give the SDK, and the answers the client gets. */
    private static List<String> tap(List<byte[]> replies, String... lines) throws IOException {
        CancelTap tap = new CancelTap(new ByteArrayInputStream((String.join("\n", lines) + "\n")
                .getBytes(StandardCharsets.UTF_8)), Set.of("run"), id -> { }, () -> { }, refused -> { }, replies::add);
        return new String(tap.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    }

    @Test
    void whatIsNotAMessageIsAnsweredAndNeverReachesTheSdk() throws IOException {
        List<byte[]> replies = new ArrayList<>();
        String init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}";
        String ping = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}";
        List<String> passed = tap(replies, "garbage", "[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]",
                "{\"a\":1,\"id\":3}", "", init, init.replace("\"id\":1", "\"id\":4"),
                "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"invalid_tool_name\"}}",
                ping);
        assertThat(passed).containsExactly(init, ping);
        List<JsonNode> a = new ArrayList<>();
        for (byte[] r : replies) {
            a.add(Json.read(r));
        }
        assertThat(a).hasSize(5);
        a.forEach(r -> assertThat(r.get("jsonrpc").asText()).isEqualTo("2.0"));
        assertThat(a.get(0).get("id").isNull()).isTrue();
        assertThat(a.get(0).at("/error/code").asInt()).isEqualTo(-32700);
        assertThat(a.get(0).at("/error/message").asText()).startsWith("Parse error: the message is not JSON");
        assertThat(a.get(1).get("id").isNull()).isTrue();
        assertThat(a.get(1).at("/error/code").asInt()).isEqualTo(-32600);
        assertThat(a.get(1).at("/error/message").asText()).isEqualTo("JSON-RPC batches are not supported (MCP"
                + " 2025-06-18 removed them): send each message on its own");
        assertThat(a.get(2).get("id").asInt()).isEqualTo(3);
        assertThat(a.get(2).at("/error/code").asInt()).isEqualTo(-32600);
        assertThat(a.get(3).get("id").asInt()).isEqualTo(4);
        assertThat(a.get(3).at("/error/message").asText()).startsWith("this session is already initialized");
        assertThat(a.get(4).get("id").asInt()).isEqualTo(5);
        assertThat(a.get(4).at("/error/code").asInt()).isEqualTo(-32602);
        assertThat(a.get(4).at("/error/message").asText()).isEqualTo("unknown tool 'invalid_tool_name': call"
                + " tools/list for the tools this server offers");
    }

    @Test
    void anUnknownToolIsNamedInAMessageTooLongToParseWhole() throws IOException {
        String big = "\"" + "z".repeat(3 << 20) + "\"";
        List<byte[]> replies = new ArrayList<>();
        String known = "{\"jsonrpc\":\"2.0\",\"id\":\"k\",\"method\":\"tools/call\",\"params\":{\"arguments\":{\"x\":"
                + big + "},\"name\":\"run\"}}";
        List<String> passed = tap(replies, "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"arguments\":"
                + "{\"x\":" + big + ",\"y\":[1,{\"name\":\"run\"}]},\"name\":\"nosuch\"},\"id\":7}", known);
        assertThat(passed).containsExactly(known);
        assertThat(replies).hasSize(1);
        JsonNode a = Json.read(replies.get(0));
        assertThat(a.get("id").asInt()).isEqualTo(7);
        assertThat(a.at("/error/message").asText()).isEqualTo("unknown tool 'nosuch': call tools/list for the tools"
                + " this server offers");
    }

    @Test
    void paramsTheSdkCannotReadAreRefusedInTheRequestsTerms() throws IOException {
        List<byte[]> replies = new ArrayList<>();
        String level = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"debug\"}}";
        String nullArguments = "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":{\"name\":"
                + "\"run\",\"arguments\":null}}";
        List<String> passed = tap(replies, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":5}",
                "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\"}",
                "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":7}}",
                "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"run\",\"arguments\":5}}",
                "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"logging/setLevel\"}",
                "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"loud\"}}",
                level, nullArguments);
        assertThat(passed).hasSize(2);
        assertThat(passed.get(0)).isEqualTo(level);
        assertThat(Json.read(passed.get(1)).at("/params/name").asText()).isEqualTo("run"); // tagged, passed on
        List<String> messages = new ArrayList<>();
        for (int i = 0; i < replies.size(); i++) {
            JsonNode a = Json.read(replies.get(i));
            assertThat(a.get("id").asInt()).isEqualTo(i + 1);
            assertThat(a.at("/error/code").asInt()).isEqualTo(-32602);
            assertThat(a.at("/error").has("data")).isFalse();
            messages.add(a.at("/error/message").asText());
        }
        String call = "tools/call needs params: an object with the tool's 'name' (a string) and its 'arguments' (an"
                + " object); call tools/list for the tools this server offers";
        String levels = "logging/setLevel needs params.level, one of debug, info, notice, warning, error, critical,"
                + " alert, emergency";
        assertThat(messages).containsExactly("initialize needs params: an object with protocolVersion (a string),"
                + " capabilities and clientInfo (objects)", call, call, "the arguments of tool 'run' must be an object (got number): give"
                + " them as its inputSchema in tools/list says", levels, levels);
    }

    /** An initialize the SDK could not read is refused before it counts: the session may still initialize. */
    @Test
    void aRefusedInitializeDoesNotCount() throws IOException {
        List<byte[]> replies = new ArrayList<>();
        String good = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                + "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
        List<String> passed = tap(replies, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                + "{\"protocolVersion\":7,\"capabilities\":[]}}", good);
        assertThat(passed).containsExactly(good);
        assertThat(replies).hasSize(1);
        assertThat(Json.read(replies.get(0)).at("/error/code").asInt()).isEqualTo(-32602);
    }

    @Test
    void anInternalErrorShowsNothingOfTheSdksException() throws IOException {
        String sdk = "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32603,\"message\":\"Cannot invoke \\\""
                + "io.modelcontextprotocol.spec.McpSchema$CallToolRequest.name()\\\"\",\"data\":\"at [Source: UNKNOWN]\"}}";
        JsonNode a = Json.read(CancelTap.internal(sdk));
        assertThat(a.get("id").asInt()).isEqualTo(7);
        assertThat(a.at("/error/code").asInt()).isEqualTo(-32603);
        assertThat(a.at("/error/message").asText()).isEqualTo(CancelTap.INTERNAL);
        assertThat(a.at("/error").has("data")).isFalse();
        String invalid = "{\"jsonrpc\":\"2.0\",\"id\":8,\"error\":{\"code\":-32602,\"message\":\"missing argument\"}}";
        String result = "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
                + "\"{\\\"code\\\":-32603}\"}]}}";
        assertThat(CancelTap.internal(invalid)).isSameAs(invalid);
        assertThat(CancelTap.internal(result)).isEqualTo(result); // the words in a tool's output are its own
        McpSchema.JSONRPCResponse r = (McpSchema.JSONRPCResponse) CancelTap.internal(new McpSchema.JSONRPCResponse(
                "2.0", 7, null, new McpSchema.JSONRPCResponse.JSONRPCError(-32603, "Cannot invoke \"x.y()\"", "z")));
        assertThat(r.id()).isEqualTo(7);
        assertThat(r.error().code()).isEqualTo(-32603);
        assertThat(r.error().message()).isEqualTo(CancelTap.INTERNAL);
        assertThat(r.error().data()).isNull();
        McpSchema.JSONRPCResponse other = new McpSchema.JSONRPCResponse("2.0", 8, null,
                new McpSchema.JSONRPCResponse.JSONRPCError(-32602, "missing argument", null));
        assertThat(CancelTap.internal(other)).isSameAs(other);
    }
}
