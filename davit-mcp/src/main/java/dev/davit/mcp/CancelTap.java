package dev.davit.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.Consumer;

/**
 * The stdio transport's input as the SDK reads it, one JSON-RPC message per line, with two things the SDK (1.1)
 * does not do: a {@code tools/call} request carries its JSON-RPC id into its {@code _meta} (so the handler knows
 * which call it is), and {@code notifications/cancelled} reaches {@code onCancel} with the request id it names.
 * End of input (the client went away) calls {@code onEnd} once. A line {@link #tag} refuses (not JSON, not JSON-RPC,
 * a batch, a second {@code initialize}, an unknown tool) is answered through {@code reply} with its error instead of
 * reaching the SDK, and its message goes to {@code refused}; a line longer than {@link #MAX_LINE} is skipped as it
 * is read (never held whole) and answered through {@code reply} with an error (its message to {@code refused} too).
 * Other lines pass through unchanged.
 */
final class CancelTap extends InputStream {
    /** The longest line looked at (longer lines pass through unparsed). */
    private static final int MAX_PARSED = 1 << 20;
    /**
     * The longest message read: 16 MiB (a workspace_file_write of 16 MiB of text, or 12 MiB in base64). A message is
     * held several times while it is read and parsed (its bytes, its text, its strings), and several calls run at
     * once within the server's 512 MiB heap; a longer one is answered with {@link #TOO_LONG} and not read.
     */
    static final int MAX_LINE = 16 << 20;
    /** The JSON-RPC error code of a message longer than {@link #MAX_LINE} (Invalid Request). */
    static final int TOO_LONG = -32600;
    /** How much of an over-long message is looked at for its id. */
    private static final int ID_WINDOW = 64 << 10;

    private final InputStream in;
    private final Consumer<String> onCancel;
    private final Runnable onEnd;
    private final java.util.Set<String> tools;
    private final Consumer<String> refused;
    private final Consumer<byte[]> reply;
    private boolean initialized;
    private byte[] line = new byte[0];
    private int pos;
    private boolean ended;

    /**
     * {@code reply} writes one JSON-RPC message (a line without its newline) to the client: the error answer to a
     * message too long to read ({@link #tooLong}).
     */
    CancelTap(InputStream in, java.util.Set<String> tools, Consumer<String> onCancel, Runnable onEnd,
              Consumer<String> refused, Consumer<byte[]> reply) {
        this.in = in;
        this.tools = tools;
        this.refused = refused;
        this.onCancel = onCancel;
        this.onEnd = onEnd;
        this.reply = reply;
    }

    @Override
    public int read() throws IOException {
        if (!fill()) {
            return -1;
        }
        return line[pos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (!fill()) {
            return -1;
        }
        int n = Math.min(len, line.length - pos);
        System.arraycopy(line, pos, b, off, n);
        pos += n;
        return n;
    }

    @Override
    public int available() {
        return line.length - pos;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    /** Reads the next line when the current one is used up; false at the end of input. */
    private boolean fill() throws IOException {
        while (pos >= line.length) {
            if (ended) {
                return false;
            }
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int c;
            long dropped = 0;
            while ((c = in.read()) != -1) {
                if (buf.size() >= MAX_LINE) { // a client cannot fill the server's memory with one message
                    dropped++;
                } else {
                    buf.write(c);
                }
                if (c == '\n') {
                    break;
                }
            }
            if (dropped > 0) {
                byte[] answer = tooLong(buf.toByteArray(), buf.size() + dropped);
                refused.accept(Json.read(answer).at("/error/message").asText());
                reply.accept(answer);
                line = new byte[0];
                pos = 0;
                if (c == -1) {
                    ended = true;
                    onEnd.run();
                }
                continue;
            }
            if (c == -1) {
                ended = true;
                onEnd.run();
            }
            Tagged t = tag(buf.toByteArray(), "stdio", initialized, tools, onCancel);
            initialized |= t.initializes();
            if (t.answer() != null) {
                refused.accept(Json.read(t.answer()).at("/error/message").asText());
                reply.accept(t.answer());
            }
            line = t.forward();
            pos = 0;
        }
        return true;
    }

    /**
     * The answer to a message of {@code size} bytes, too long to read, whose first bytes are {@code start}: an
     * Invalid Request error with the message's id when its start names it at the top level (else null, as JSON-RPC
     * says for an id that cannot be read).
     */
    static byte[] tooLong(byte[] start, long size) {
        return error(idOf(start), TOO_LONG, "the message is " + size + " bytes, more than the " + (MAX_LINE >> 20)
                + " MiB this server reads; send less (a large file: workspace_push from an --allow-path directory, or"
                + " several smaller writes)");
    }

    /** A JSON-RPC error response: {@code {"jsonrpc":"2.0","id":ID,"error":{"code":CODE,"message":MESSAGE}}}. */
    static byte[] error(JsonNode id, int code, String message) {
        ObjectNode doc = Json.object().put("jsonrpc", "2.0");
        doc.set("id", id == null ? Json.mapper().nullNode() : id);
        doc.putObject("error").put("code", code).put("message", message);
        return Json.bytes(doc);
    }

    /** The top-level {@code id} (a number or string) within the first bytes of a message, else JSON null. */
    private static JsonNode idOf(byte[] start) {
        try (com.fasterxml.jackson.core.JsonParser p = Json.mapper().getFactory().createParser(start, 0,
                Math.min(start.length, ID_WINDOW))) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                return Json.mapper().nullNode();
            }
            for (com.fasterxml.jackson.core.JsonToken t = p.nextToken();
                 t == com.fasterxml.jackson.core.JsonToken.FIELD_NAME; t = p.nextToken()) {
                String name = p.currentName();
                com.fasterxml.jackson.core.JsonToken v = p.nextToken();
                if (name.equals("id")) {
                    return switch (v) {
                        case VALUE_NUMBER_INT -> Json.mapper().getNodeFactory().numberNode(p.getLongValue());
                        case VALUE_STRING -> Json.mapper().getNodeFactory().textNode(p.getText());
                        default -> Json.mapper().nullNode();
                    };
                }
                p.skipChildren(); // a value before the id (e.g. params): skipped, within the window
            }
        } catch (IOException | RuntimeException e) {
            // the window ended before the id, or it is not JSON
        }
        return Json.mapper().nullNode();
    }

    /**
     * What davit does with one message: passes {@code forward} on to the SDK (nothing when it is empty), or answers
     * the message itself with {@code answer} (a JSON-RPC error), {@code malformed} when the message itself is bad
     * (not JSON, not JSON-RPC, a batch, a second initialize: HTTP 400) rather than a request davit refuses (an
     * unknown tool). {@code initializes}: it is an {@code initialize} request passed on.
     */
    record Tagged(byte[] forward, byte[] answer, boolean malformed, boolean initializes) {
        private static final Tagged NOTHING = new Tagged(new byte[0], null, false, false);

        private static Tagged pass(byte[] forward) {
            return new Tagged(forward, null, false, false);
        }

        private static Tagged refuse(JsonNode id, int code, String message, boolean malformed) {
            return new Tagged(new byte[0], error(id, code, message), malformed, false);
        }
    }

    /** JSON-RPC's Parse error. */
    static final int PARSE_ERROR = -32700;
    /** JSON-RPC's Invalid Request. */
    static final int INVALID_REQUEST = -32600;
    /** JSON-RPC's Invalid params. */
    static final int INVALID_PARAMS = -32602;

    /**
     * One JSON-RPC message of {@code session} as the SDK should see it: a {@code tools/call} request with its
     * session-qualified id ({@code session/id}) in {@code _meta}, a {@code notifications/cancelled} passed on to
     * {@code onCancel} (with the qualified id it names) and then nothing (handled here). Answered here with an error
     * and not passed on: a message that is not JSON (Parse error, id null), a batch (JSON-RPC batches are not in MCP
     * since 2025-06-18, and the SDK 1.1 reads none), JSON that is not a JSON-RPC 2.0 message, an {@code initialize}
     * when the session is {@code initialized}, a {@code tools/call} of a tool not in {@code tools}, and a request whose
     * {@code params} the SDK cannot read ({@link #badParams}: an {@code initialize}, {@code tools/call} or
     * {@code logging/setLevel} without the params it takes).
     */
    static Tagged tag(byte[] raw, String session, boolean initialized, java.util.Set<String> tools,
                      Consumer<String> onCancel) {
        if (raw.length > MAX_PARSED) {
            Tagged unknown = longToolCall(raw, tools);
            return unknown != null ? unknown : Tagged.pass(raw);
        }
        if (blank(raw)) {
            return Tagged.NOTHING; // the SDK cannot parse an empty line either
        }
        JsonNode msg;
        try {
            msg = Json.read(raw);
        } catch (IOException | RuntimeException e) {
            msg = null;
        }
        if (msg == null || msg.isMissingNode()) {
            return notJson();
        }
        if (msg.isArray()) {
            return Tagged.refuse(null, INVALID_REQUEST, "JSON-RPC batches are not supported (MCP 2025-06-18 removed"
                    + " them): send each message on its own", true);
        }
        JsonNode id = msg.path("id").isTextual() || msg.path("id").isIntegralNumber() ? msg.get("id") : null;
        boolean request = msg.path("method").isTextual();
        boolean response = msg.has("id") && (msg.has("result") || msg.has("error"));
        if (!msg.isObject() || !"2.0".equals(msg.path("jsonrpc").asText(null)) || !(request || response)) {
            return Tagged.refuse(id, INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message; send an object"
                    + " with \"jsonrpc\": \"2.0\" and a \"method\" (a request or notification), or an \"id\" with a"
                    + " \"result\" or \"error\" (a response)", true);
        }
        String method = msg.path("method").asText();
        if (method.equals("notifications/cancelled")) {
            JsonNode cancelled = msg.at("/params/requestId");
            if (!cancelled.isMissingNode() && !cancelled.isNull()) {
                onCancel.accept(session + "/" + cancelled.asText());
            }
            return Tagged.NOTHING; // handled: the SDK (1.1) has no handler for it and would only warn
        }
        if (method.equals("initialize") && msg.has("id")) {
            if (initialized) {
                return Tagged.refuse(id, INVALID_REQUEST, "this session is already initialized: send initialize"
                        + " once per session (over HTTP, a new session is an initialize without Mcp-Session-Id)",
                        true);
            }
            JsonNode params = msg.path("params");
            // refused before it counts: the client may send it again (what the SDK cannot read into its types
            // would fail after it counted, and the session could never be initialized)
            if (!params.isObject() || params.has("protocolVersion") && !params.get("protocolVersion").isTextual()
                    || params.has("capabilities") && !params.get("capabilities").isObject()
                    || params.has("clientInfo") && !params.get("clientInfo").isObject()) {
                return Tagged.refuse(id, INVALID_PARAMS, "initialize needs params: an object with protocolVersion"
                        + " (a string), capabilities and clientInfo (objects)", false);
            }
            return new Tagged(raw, null, false, true);
        }
        if (method.equals("initialize") || !msg.has("id")) {
            return Tagged.pass(raw);
        }
        Tagged badParams = badParams(id, method, msg.get("params"));
        if (badParams != null) {
            return badParams;
        }
        if (method.equals("tools/call")) {
            ObjectNode params = (ObjectNode) msg.get("params");
            String name = params.get("name").asText();
            if (!tools.contains(Aliases.tool(name))) {
                return unknownTool(id, name);
            }
            ObjectNode meta = params.path("_meta").isObject() ? (ObjectNode) params.get("_meta")
                    : params.putObject("_meta");
            if (!tools.contains(name)) { // an old name, kept for one release: the call goes to the tool's name now
                params.put("name", Aliases.tool(name));
                meta.put(Aliases.USED_TOOL, name);
            }
            meta.put(DavitMcpServer.REQUEST_ID, session + "/" + msg.get("id").asText());
            byte[] out = Json.bytes(msg);
            byte[] withNewline = new byte[out.length + 1];
            System.arraycopy(out, 0, withNewline, 0, out.length);
            withNewline[out.length] = '\n';
            return Tagged.pass(withNewline);
        }
        return Tagged.pass(raw);
    }

    /** The levels {@code logging/setLevel} takes (RFC 5424's, as MCP names them). */
    private static final java.util.List<String> LEVELS = java.util.List.of("debug", "info", "notice", "warning",
            "error", "critical", "alert", "emergency");

    /**
     * The refusal of a request whose {@code params} the SDK (1.1) cannot read into its method's type: it would
     * answer with a Java exception's words (an Internal error naming its classes) or, over HTTP, not at all; else
     * null. (An {@code initialize} whose params are not an object is refused where it is tagged.)
     */
    private static Tagged badParams(JsonNode id, String method, JsonNode params) {
        String wrong = switch (method) {
            case "tools/call" -> params == null || !params.isObject() || !params.path("name").isTextual()
                    ? "tools/call needs params: an object with the tool's 'name' (a string) and its 'arguments' (an"
                    + " object); call tools/list for the tools this server offers"
                    : params.hasNonNull("arguments") && !params.get("arguments").isObject()
                    ? "the arguments of tool '" + params.get("name").asText() + "' must be an object (got "
                    + params.get("arguments").getNodeType().toString().toLowerCase(java.util.Locale.ROOT) + "): give"
                    + " them as its inputSchema in tools/list says"
                    : null;
            case "logging/setLevel" -> params == null || !LEVELS.contains(params.path("level").asText(""))
                    ? "logging/setLevel needs params.level, one of " + String.join(", ", LEVELS) : null;
            default -> null;
        };
        return wrong == null ? null : Tagged.refuse(id, INVALID_PARAMS, wrong, false);
    }

    /**
     * The message of an Internal error (-32603) the SDK answers with, instead of its own words: those are a Java
     * exception's (class names, "Cannot invoke ..."), never the client's to see.
     */
    static final String INTERNAL = "Internal error: the server could not handle this request; check its params"
            + " against the method's schema (tools/list gives each tool's inputSchema); the server's log (stderr) says"
            + " what failed";
    /** JSON-RPC's Internal error. */
    static final int INTERNAL_ERROR = -32603;

    /**
     * {@code json} (one JSON-RPC message the SDK sends) with the message of an Internal error replaced by
     * {@link #INTERNAL} and its {@code data} dropped; any other message unchanged.
     */
    static McpSchema.JSONRPCMessage internal(McpSchema.JSONRPCMessage message) {
        return message instanceof McpSchema.JSONRPCResponse r && r.error() != null
                && Integer.valueOf(INTERNAL_ERROR).equals(r.error().code())
                ? new McpSchema.JSONRPCResponse(r.jsonrpc(), r.id(), null,
                        new McpSchema.JSONRPCResponse.JSONRPCError(INTERNAL_ERROR, INTERNAL, null))
                : message;
    }

    /** The same for a message the SDK has written as JSON (over HTTP, an SSE event's data). */
    static String internal(String json) {
        if (!json.contains("\"code\":" + INTERNAL_ERROR)) {
            return json;
        }
        try {
            JsonNode msg = Json.read(json);
            if (msg.path("error").isObject() && msg.at("/error/code").asInt() == INTERNAL_ERROR) {
                ((ObjectNode) msg.get("error")).put("message", INTERNAL).remove("data");
                return new String(Json.bytes(msg), java.nio.charset.StandardCharsets.UTF_8);
            }
        } catch (IOException | RuntimeException e) {
            // not JSON: sent as it is
        }
        return json;
    }

    /** The answer to a message that is not JSON (Parse error, id null). */
    static Tagged notJson() {
        return Tagged.refuse(null, PARSE_ERROR, "Parse error: the message is not JSON; send one JSON-RPC 2.0 message"
                + " (a JSON object) at a time", true);
    }

    private static Tagged unknownTool(JsonNode id, String name) {
        return Tagged.refuse(id, INVALID_PARAMS, "unknown tool '" + name + "': call tools/list for the tools this"
                + " server offers", false);
    }

    /**
     * The refusal of a message longer than {@link #MAX_PARSED} when it is a {@code tools/call} of a tool not in
     * {@code tools}, read as a stream (its strings skipped, never held); else null.
     */
    private static Tagged longToolCall(byte[] raw, java.util.Set<String> tools) {
        JsonNode id = null;
        String method = null;
        String name = null;
        try (com.fasterxml.jackson.core.JsonParser p = Json.mapper().getFactory().createParser(raw)) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                return null;
            }
            for (com.fasterxml.jackson.core.JsonToken t = p.nextToken();
                 t == com.fasterxml.jackson.core.JsonToken.FIELD_NAME; t = p.nextToken()) {
                String field = p.currentName();
                com.fasterxml.jackson.core.JsonToken v = p.nextToken();
                if (field.equals("id") && v == com.fasterxml.jackson.core.JsonToken.VALUE_NUMBER_INT) {
                    id = Json.mapper().getNodeFactory().numberNode(p.getLongValue());
                } else if (field.equals("id") && v == com.fasterxml.jackson.core.JsonToken.VALUE_STRING) {
                    id = Json.mapper().getNodeFactory().textNode(p.getText());
                } else if (field.equals("method") && v == com.fasterxml.jackson.core.JsonToken.VALUE_STRING) {
                    method = p.getText();
                } else if (field.equals("params") && v == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                    for (com.fasterxml.jackson.core.JsonToken u = p.nextToken();
                         u == com.fasterxml.jackson.core.JsonToken.FIELD_NAME; u = p.nextToken()) {
                        String param = p.currentName();
                        if (p.nextToken() == com.fasterxml.jackson.core.JsonToken.VALUE_STRING
                                && param.equals("name")) {
                            name = p.getText();
                        } else {
                            p.skipChildren();
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        } catch (IOException | RuntimeException e) {
            return null; // not JSON: the SDK's reader answers it
        }
        return "tools/call".equals(method) && id != null && name != null && !tools.contains(name)
                ? unknownTool(id, name) : null;
    }

    private static boolean blank(byte[] raw) {
        for (byte b : raw) {
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                return false;
            }
        }
        return true;
    }
}
