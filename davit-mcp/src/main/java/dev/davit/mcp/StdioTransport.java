package dev.davit.mcp;

import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.TypeRef;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpServerSession;
import io.modelcontextprotocol.spec.McpServerTransport;
import io.modelcontextprotocol.spec.McpServerTransportProvider;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;
import reactor.core.publisher.Mono;

/**
 * MCP over stdin/stdout, one JSON-RPC message per line, for one client. The SDK's own stdio transport (1.1) emits
 * outgoing messages into a unicast sink with {@code tryEmitNext}, which fails (and drops the message: a lost
 * answer, a client waiting forever) when two calls finish at the same moment; here a write is a synchronized write
 * of one line, on the thread that finished the call. A line the SDK cannot read (one longer than {@link CancelTap}
 * parses, the others are answered there) is answered with an Invalid Request error.
 */
final class StdioTransport implements McpServerTransportProvider {
    private final McpJsonMapper mapper;
    private final InputStream in;
    private final OutputStream out;
    private final List<String> versions;
    private final Consumer<String> log;
    private volatile McpServerSession session;

    StdioTransport(McpJsonMapper mapper, InputStream in, OutputStream out, List<String> versions,
                   Consumer<String> log) {
        this.mapper = mapper;
        this.in = in;
        this.out = out;
        this.versions = versions;
        this.log = log;
    }

    @Override
    public void setSessionFactory(McpServerSession.Factory factory) {
        session = factory.create(new Session());
        Thread reader = new Thread(this::read, "davit-mcp-stdin");
        reader.setDaemon(true);
        reader.start();
    }

    private void read() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                McpSchema.JSONRPCMessage msg;
                try {
                    msg = McpSchema.deserializeJsonRpcMessage(mapper, line);
                } catch (IOException | RuntimeException e) {
                    log.accept("answered a message that is not JSON-RPC 2.0 with an error: " + e.getMessage());
                    write(CancelTap.error(null, CancelTap.INVALID_REQUEST, "Invalid Request: the message is not a"
                            + " JSON-RPC 2.0 message this server can read; send one JSON object per line"));
                    continue;
                }
                session.handle(msg).subscribe(null, e -> log.accept("a message failed: " + e.getMessage()));
            }
        } catch (IOException e) {
            log.accept("reading stdin failed: " + e.getMessage());
        }
    }

    /** Writes one line to the client, whole: lines of calls that end at once never mix. */
    private void write(byte[] line) {
        writeLine(out, line, log);
    }

    /**
     * Writes {@code line} and a newline to {@code out}, holding its lock (every writer of the stdio transport's
     * output does); a failure goes to {@code log}.
     */
    static void writeLine(OutputStream out, byte[] line, Consumer<String> log) {
        try {
            synchronized (out) {
                out.write(line);
                out.write('\n');
                out.flush();
            }
        } catch (IOException e) {
            log.accept("writing to stdout failed (the client went away?): " + e.getMessage());
        }
    }

    @Override
    public Mono<Void> notifyClients(String method, Object params) {
        McpServerSession s = session;
        return s == null ? Mono.empty() : s.sendNotification(method, params);
    }

    @Override
    public Mono<Void> closeGracefully() {
        McpServerSession s = session;
        return s == null ? Mono.empty() : s.closeGracefully();
    }

    @Override
    public List<String> protocolVersions() {
        return versions;
    }

    /** The one session's side of the transport. */
    private final class Session implements McpServerTransport {
        @Override
        public Mono<Void> sendMessage(McpSchema.JSONRPCMessage message) {
            return Mono.fromRunnable(() -> {
                try {
                    // an Internal error's words are the SDK's exception's: replaced (CancelTap.INTERNAL)
                    write(mapper.writeValueAsBytes(CancelTap.internal(message)));
                } catch (IOException e) {
                    log.accept("cannot write a message: " + e.getMessage());
                }
            });
        }

        @Override
        public <T> T unmarshalFrom(Object data, TypeRef<T> type) {
            return mapper.convertValue(data, type);
        }

        @Override
        public Mono<Void> closeGracefully() {
            return Mono.empty();
        }

        @Override
        public List<String> protocolVersions() {
            return versions;
        }
    }
}
