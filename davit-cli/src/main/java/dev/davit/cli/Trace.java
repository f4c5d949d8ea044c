package dev.davit.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * Start-up marks for profiling a whole command ({@code -Ddavit.trace=true}, e.g. through DAVIT_JAVA_OPTS): each
 * {@link #mark} records the time; {@link #print} writes the milliseconds since the JVM started and since the
 * previous mark to stderr, once at the end, so printing costs no mark anything. Off, a mark is one static read.
 */
final class Trace {
    private static final String MODE = System.getProperty("davit.trace", "false");
    private static final boolean ON = MODE.equals("true") || MODE.equals("sample");
    private static final List<Object[]> MARKS = ON ? new ArrayList<>() : null;
    /** With {@code -Ddavit.trace=sample}: the main thread's stack every millisecond, counted by frame. */
    private static final java.util.Map<String, Integer> SAMPLES = new java.util.HashMap<>();
    private static int samples;
    /** With {@code -Ddavit.trace.stacks=TEXT} too: whole stacks of the samples with a frame that contains TEXT. */
    private static final String STACKS = System.getProperty("davit.trace.stacks");

    private Trace() {
    }

    static void mark(String what) {
        mark(what, "");
    }

    /**
     * A mark with a detail appended when printed: the detail is turned into text only when tracing is on (a
     * {@code JsonNode}'s {@code toString()} alone builds Jackson's mapper, ~20 ms in a fresh JVM).
     */
    static void mark(String what, Object detail) {
        if (ON) {
            synchronized (MARKS) {
                if (MARKS.isEmpty() && MODE.equals("sample")) {
                    startSampler(Thread.currentThread());
                }
                MARKS.add(new Object[] {System.nanoTime(), what, detail});
            }
        }
    }

    private static void startSampler(Thread main) {
        Thread t = new Thread(() -> {
            while (true) {
                StackTraceElement[] st = main.getStackTrace();
                synchronized (SAMPLES) {
                    samples++;
                    if (STACKS != null && java.util.Arrays.stream(st).anyMatch(f -> f.toString().contains(STACKS))) {
                        StringBuilder b = new StringBuilder("stack");
                        for (int i = 0; i < Math.min(st.length, 40); i++) {
                            b.append("\ndavit: trace:     ").append(st[i]);
                        }
                        SAMPLES.merge(b.toString(), 1, Integer::sum);
                    }
                    java.util.Set<String> seen = new java.util.HashSet<>();
                    for (int i = 0; i < Math.min(st.length, 60); i++) {
                        String f = st[i].getClassName() + "." + st[i].getMethodName();
                        if (seen.add(f)) {
                            SAMPLES.merge((i == 0 ? "top " : "") + f, 1, Integer::sum);
                            if (i == 0) {
                                SAMPLES.merge(f, 1, Integer::sum);
                            }
                        }
                    }
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "davit-trace-sampler");
        t.setDaemon(true);
        t.start();
    }

    /** Prints the marks so far (nothing when off). */
    static void print() {
        if (!ON) {
            return;
        }
        long now = System.nanoTime();
        long start = now - java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime() * 1_000_000L;
        long last = start;
        synchronized (MARKS) {
            for (Object[] m : MARKS) {
                long t = (Long) m[0];
                System.err.printf("davit: trace: %6.1f ms (+%5.1f) %s%n", (t - start) / 1e6, (t - last) / 1e6, m[1] + (m[2] instanceof com.fasterxml.jackson.databind.JsonNode n
                        ? new String(dev.davit.oci.internal.Json.bytes(n), java.nio.charset.StandardCharsets.UTF_8)
                        : String.valueOf(m[2])));
                last = t;
            }
        }
        synchronized (SAMPLES) {
            if (samples == 0) {
                return;
            }
            System.err.println("davit: trace: " + samples + " samples of the main thread; frames on the stack (inclusive):");
            SAMPLES.entrySet().stream().filter(e -> e.getKey().startsWith("stack"))
                    .forEach(e -> System.err.println("davit: trace: " + e.getValue() + " " + e.getKey()));
            SAMPLES.entrySet().stream().filter(e -> !e.getKey().startsWith("stack"))
                    .sorted((a, b) -> b.getValue() - a.getValue()).limit(120)
                    .forEach(e -> System.err.println("davit: trace: " + e.getValue() + " " + e.getKey()));
        }
    }
}
