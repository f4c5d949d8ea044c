package dev.davit.mcp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The host files and directories one tool call was given, held open from the moment {@link Policy} checked them
 * until the call ends: the command reaches them through a link (in the call's scratch directory) to their
 * descriptors, so nothing swapped in between the check and the use can lead out of the allowed directories. An
 * error names the paths the model gave, not those links ({@link #rewrite}); results are written with them.
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

    /** Errors show {@code given} where the library saw {@code used}. */
    void show(String used, String given) {
        shown.put(used, given);
    }

    /** {@code text} with the paths the library saw put back as the model gave them. */
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
