package dev.davit.cli.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * The stdio transport's input as the SDK reads it, one JSON-RPC message per line, with two things the SDK (1.1)
 * does not do: a {@code tools/call} request carries its JSON-RPC id into its {@code _meta} (so the handler knows
 * which call it is), and {@code notifications/cancelled} reaches {@code onCancel} with the request id it names.
 * End of input (the client went away) calls {@code onEnd} once. Other lines pass through unchanged.
 */
final class CancelTap extends InputStream {
    /** The longest line looked at (longer lines pass through unparsed). */
    private static final int MAX_PARSED = 1 << 20;

    private final InputStream in;
    private final Consumer<String> onCancel;
    private final Runnable onEnd;
    private byte[] line = new byte[0];
    private int pos;
    private boolean ended;

    CancelTap(InputStream in, Consumer<String> onCancel, Runnable onEnd) {
        this.in = in;
        this.onCancel = onCancel;
        this.onEnd = onEnd;
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
            while ((c = in.read()) != -1) {
                buf.write(c);
                if (c == '\n') {
                    break;
                }
            }
            if (c == -1) {
                ended = true;
                onEnd.run();
            }
            line = rewrite(buf.toByteArray());
            pos = 0;
        }
        return true;
    }

    private byte[] rewrite(byte[] raw) {
        if (raw.length == 0 || raw.length > MAX_PARSED) {
            return raw;
        }
        String text = new String(raw, StandardCharsets.UTF_8);
        if (!text.contains("tools/call") && !text.contains("notifications/cancelled")) {
            return raw;
        }
        try {
            JsonNode msg = Json.read(raw);
            String method = msg.path("method").asText();
            if (method.equals("notifications/cancelled")) {
                JsonNode id = msg.at("/params/requestId");
                if (!id.isMissingNode() && !id.isNull()) {
                    onCancel.accept(id.asText());
                }
                return raw;
            }
            if (method.equals("tools/call") && msg.has("id") && msg.path("params").isObject()) {
                ObjectNode params = (ObjectNode) msg.get("params");
                ObjectNode meta = params.path("_meta").isObject() ? (ObjectNode) params.get("_meta")
                        : params.putObject("_meta");
                meta.put(DavitMcpServer.REQUEST_ID, msg.get("id").asText());
                byte[] out = Json.bytes(msg);
                byte[] withNewline = new byte[out.length + 1];
                System.arraycopy(out, 0, withNewline, 0, out.length);
                withNewline[out.length] = '\n';
                return withNewline;
            }
        } catch (IOException | RuntimeException e) {
            // not ours to judge: the SDK answers a malformed message
        }
        return raw;
    }
}
