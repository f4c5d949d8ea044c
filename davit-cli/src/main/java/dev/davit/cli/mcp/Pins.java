package dev.davit.cli.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The host files and directories one tool call was given, held open from the moment {@link Policy} checked them
 * until the call ends: the command reaches them through a link (in the call's scratch directory) to their
 * descriptors, so nothing swapped in between the check and the use can lead out of the allowed directories. What
 * the command answers names the paths the model gave, not those links.
 */
final class Pins implements AutoCloseable {
    private static final ThreadLocal<Pins> CURRENT = new ThreadLocal<>();

    private final List<AutoCloseable> held = new ArrayList<>();
    private final Map<String, String> shown = new LinkedHashMap<>();

    /** Starts the pins of the calling thread's tool call. */
    static Pins open() {
        Pins p = new Pins();
        CURRENT.set(p);
        return p;
    }

    /** The pins of the calling thread's tool call. */
    static Pins current() {
        Pins p = CURRENT.get();
        if (p == null) {
            throw new IllegalStateException("no tool call on this thread");
        }
        return p;
    }

    void hold(AutoCloseable c) {
        held.add(c);
    }

    /** Answers and errors show {@code given} where the command saw {@code used}. */
    void show(String used, String given) {
        shown.put(used, given);
    }

    /** {@code text} with the paths the command saw put back as the model gave them. */
    String rewrite(String text) {
        String t = text;
        for (Map.Entry<String, String> e : shown.entrySet()) {
            t = t.replace(e.getKey(), e.getValue());
        }
        return t;
    }

    /** {@code e} with its message rewritten (see {@link #rewrite(String)}). */
    io.modelcontextprotocol.spec.McpError rewrite(io.modelcontextprotocol.spec.McpError e) {
        if (shown.isEmpty() || e.getJsonRpcError() == null) {
            return e;
        }
        return io.modelcontextprotocol.spec.McpError.builder(e.getJsonRpcError().code())
                .message(rewrite(e.getJsonRpcError().message())).build();
    }

    /** {@link #rewrite} of every string in {@code doc}, in place. */
    JsonNode rewrite(JsonNode doc) {
        if (shown.isEmpty()) {
            return doc;
        }
        if (doc instanceof ObjectNode o) {
            for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                f.setValue(rewriteValue(f.getValue()));
            }
        } else if (doc instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                a.set(i, rewriteValue(a.get(i)));
            }
        }
        return doc;
    }

    private JsonNode rewriteValue(JsonNode v) {
        return v.isTextual() ? TextNode.valueOf(rewrite(v.asText())) : rewrite(v);
    }

    @Override
    public void close() {
        CURRENT.remove();
        for (AutoCloseable c : held) {
            try {
                c.close();
            } catch (Exception ignored) {
                // a descriptor is released either way
            }
        }
    }
}
