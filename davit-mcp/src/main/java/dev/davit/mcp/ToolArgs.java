package dev.davit.mcp;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tools' arguments as {@link ToolCalls} and its helpers read them, once {@link Tool} has checked them against
 * each tool's schema: seconds, flags, numbers, lists of strings and maps of strings.
 */
final class ToolArgs {
    private ToolArgs() {
    }

    /** The most seconds a timeout or ttl may be (as the CLI's): a Duration of more would overflow in nanoseconds. */
    static final double MAX_SECONDS = 1e9;

    /** A call's {@code arg} in seconds as a Duration, or null when not given; refused past {@link #MAX_SECONDS}. */
    static Duration seconds(Map<String, Object> a, String arg) {
        if (!(a.get(arg) instanceof Number s)) {
            return null;
        }
        if (s.doubleValue() > MAX_SECONDS) {
            throw Tool.invalid("argument '" + arg + "' must be at most " + (long) MAX_SECONDS + " (seconds), not "
                    + s);
        }
        return Duration.ofMillis(Math.max(1, Math.round(s.doubleValue() * 1000)));
    }

    static boolean flag(Map<String, Object> a, String arg) {
        return Boolean.TRUE.equals(a.get(arg));
    }

    static long number(Map<String, Object> a, String arg, long otherwise) {
        return a.get(arg) instanceof Number n ? n.longValue() : otherwise;
    }

    @SuppressWarnings("unchecked")
    static List<String> strings(Map<String, Object> a, String arg) {
        return a.get(arg) == null ? List.of() : List.copyOf((List<String>) a.get(arg));
    }

    @SuppressWarnings("unchecked")
    static Map<String, String> env(Map<String, Object> a, String arg) {
        return a.get(arg) == null ? new LinkedHashMap<>() : new LinkedHashMap<>((Map<String, String>) a.get(arg));
    }
}
