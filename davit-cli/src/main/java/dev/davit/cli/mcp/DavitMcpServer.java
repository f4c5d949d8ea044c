package dev.davit.cli.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.cli.Main;
import dev.davit.oci.DavitException;
import dev.davit.oci.Json;
import dev.davit.oci.store.Fs;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.Workspaces;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.server.McpServerFeatures;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The MCP server: each tool call runs its davit command line in this JVM ({@link Main#execute} with {@code --json}),
 * concurrently with other calls; the command's JSON document is the call's structured content. A failed command is
 * a result with {@code isError}; a bad argument (a usage error) a JSON-RPC invalid-params error. Workspaces whose TTL
 * has passed are removed every minute while the server runs.
 */
public final class DavitMcpServer implements AutoCloseable {
    /** The {@code _meta} key under which {@link CancelTap} passes a call's JSON-RPC request id to its handler. */
    static final String REQUEST_ID = "dev.davit/request-id";

    /** What {@code davit mcp serve} was given. */
    public record Options(boolean fullTools, List<Path> allowPaths, boolean allowNetwork, int maxWorkspaces,
                          java.time.Duration workspaceTtl, Path davitHome, Map<String, String> env,
                          PrintStream log, String version) {
    }

    private final Options options;
    private final List<Tool> tools;
    private final JacksonMcpJsonMapper mapper = new JacksonMcpJsonMapper(Json.MAPPER);
    /** The threads running calls, by request id (for notifications/cancelled). */
    private final Map<String, Thread> running = new ConcurrentHashMap<>();
    private final ScheduledExecutorService reaper;

    public DavitMcpServer(Options options) {
        this.options = options;
        Policy policy = new Policy(options.allowPaths(), options.allowNetwork(), options.maxWorkspaces(),
                options.workspaceTtl(), options.davitHome());
        this.tools = Tools.all(policy).stream().filter(t -> options.fullTools() || t.core()).toList();
        this.reaper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "davit-mcp-reaper");
            t.setDaemon(true);
            return t;
        });
        reaper.scheduleWithFixedDelay(this::reapExpired, 1, 60, TimeUnit.SECONDS);
    }

    JacksonMcpJsonMapper mapper() {
        return mapper;
    }

    /** The tool specifications for the SDK's server builder. */
    public List<McpServerFeatures.SyncToolSpecification> specifications() {
        List<McpServerFeatures.SyncToolSpecification> specs = new ArrayList<>();
        for (Tool t : tools) {
            specs.add(McpServerFeatures.SyncToolSpecification.builder().tool(t.toSchema())
                    .callHandler((exchange, request) -> call(t, request)).build());
        }
        return specs;
    }

    /** Instructions for the model, sent with initialize. */
    static String instructions() {
        return "davit runs commands in isolated sandboxes. One-shot: 'run'. Lasting state: 'workspace_create', then"
                + " 'workspace_exec', 'workspace_file_read'/'workspace_file_write', 'workspace_diff', and"
                + " 'workspace_delete' when done. 'env_list' shows the environments.";
    }

    McpSchema.CallToolResult call(Tool tool, McpSchema.CallToolRequest request) {
        Map<String, Object> args = request.arguments() == null ? Map.of() : request.arguments();
        tool.argv(args, List.of()); // arguments first: types, names, required
        Path[] scratch = new Path[1];
        Object requestId = request.meta() == null ? null : request.meta().get(REQUEST_ID);
        if (requestId != null) {
            running.put(requestId.toString(), Thread.currentThread());
        }
        try {
            List<String> extra = tool.check().check(args, () -> {
                if (scratch[0] == null) {
                    try {
                        scratch[0] = Files.createTempDirectory("davit-mcp-");
                    } catch (IOException e) {
                        throw new DavitException(DavitException.Kind.INTERNAL, "cannot make a temporary directory: "
                                + e.getMessage());
                    }
                }
                return scratch[0];
            });
            return run(tool, tool.argv(args, extra));
        } finally {
            if (requestId != null) {
                running.remove(requestId.toString());
            }
            Thread.interrupted(); // a cancellation that came late must not reach the next call on this thread
            if (scratch[0] != null) {
                try {
                    Fs.deleteTree(scratch[0]);
                } catch (IOException e) {
                    options.log().println("davit: could not delete " + scratch[0] + ": " + e.getMessage());
                }
            }
        }
    }

    private McpSchema.CallToolResult run(Tool tool, List<String> argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = Main.execute(argv.toArray(String[]::new), out, err, options.env());
        JsonNode doc;
        try {
            doc = Json.read(out.toByteArray());
        } catch (IOException | RuntimeException e) {
            ObjectNode e2 = Json.object();
            e2.putObject("error").put("kind", "internal").put("exit_code", rc)
                    .put("message", err.toString(StandardCharsets.UTF_8).strip());
            return result(e2, true);
        }
        JsonNode error = doc.path("error");
        if (doc.isObject() && error.isObject()) {
            if ("usage".equals(error.path("kind").asText())) {
                throw Tool.invalid(error.path("message").asText());
            }
            return result((ObjectNode) doc, true);
        }
        return result(tool.post().apply(doc), rc != 0);
    }

    private McpSchema.CallToolResult result(ObjectNode doc, boolean isError) {
        return McpSchema.CallToolResult.builder().structuredContent(Json.MAPPER.convertValue(doc, Map.class))
                .addTextContent(new String(Json.bytes(doc), StandardCharsets.UTF_8)).isError(isError).build();
    }

    /** Interrupts the call with this JSON-RPC request id: its command is killed (notifications/cancelled). */
    void cancel(String requestId) {
        Thread t = running.get(requestId);
        if (t != null) {
            t.interrupt();
        }
    }

    /** Interrupts every call in flight (the client went away). */
    void cancelAll() {
        running.values().forEach(Thread::interrupt);
    }

    /** Removes the workspaces whose TTL has passed. */
    void reapExpired() {
        try {
            Workspaces ws = Workspaces.under(options.davitHome());
            Instant now = Instant.now();
            for (Workspace w : ws.list()) {
                if (w.ttl() != null && w.createdAt().plus(w.ttl()).isBefore(now)) {
                    ws.rm(w.id());
                    options.log().println("davit: removed workspace " + w.id() + " (its ttl passed)");
                }
            }
        } catch (RuntimeException e) {
            options.log().println("davit: reaping expired workspaces failed: " + e.getMessage());
        }
    }

    /** Builds the SDK server for this transport. */
    McpSyncServer build(io.modelcontextprotocol.spec.McpServerTransportProvider transport) {
        return io.modelcontextprotocol.server.McpServer.sync(transport).jsonMapper(mapper)
                .serverInfo("davit", options.version()).instructions(instructions())
                .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
                .tools(specifications()).build();
    }

    /** Builds the SDK server for a streamable HTTP transport. */
    McpSyncServer build(io.modelcontextprotocol.spec.McpStreamableServerTransportProvider transport) {
        return io.modelcontextprotocol.server.McpServer.sync(transport).jsonMapper(mapper)
                .serverInfo("davit", options.version()).instructions(instructions())
                .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
                .tools(specifications()).build();
    }

    @Override
    public void close() {
        reaper.shutdownNow();
        cancelAll();
    }
}
