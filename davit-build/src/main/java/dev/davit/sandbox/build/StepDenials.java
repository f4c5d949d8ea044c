package dev.davit.sandbox.build;

import dev.davit.oci.internal.Text;
import dev.davit.sandbox.EgressDenial;
import dev.davit.sandbox.engine.Sandboxes;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * What the egress policy refused a RUN step while it runs, said as it happens (a line per denial, the first
 * {@value #SHOWN}, then a count), so that a download the policy blocks reads as one within a second, not as curl's
 * error or npm's minutes of retries; and all of them for the step's result. Watches by reading the sandbox's
 * denials every {@value #EVERY_MS} ms on a daemon thread, from {@link #start} to {@link #close}.
 *
 * <p>A step that keeps asking for what the policy refuses, and does nothing else it shows, is stopped, so that it
 * fails in seconds rather than after its tool's silent retries (npm's minutes): one target refused in {@value #RETRIES}
 * attempts (refusals less than a second apart, a name's A and AAAA queries, are one) over at least
 * {@value #SPAN_SECONDS} s within the last {@value #WINDOW_SECONDS} s, while the step printed nothing for
 * {@value #SPAN_SECONDS} s. A tool that tries a blocked extra repository and goes on (Maven, pip, apt print as they
 * go) is not stopped; the sandbox is stopped, and {@link #stopped} names the target, only while the step runs.
 */
final class StepDenials implements AutoCloseable {
    /** How many denials are said, one line each. */
    static final int SHOWN = 20;
    private static final long EVERY_MS = 250;
    /** How many attempts refused for one target, over {@link #SPAN_SECONDS} at least, stop a silent step. */
    static final int RETRIES = 5;
    static final int SPAN_SECONDS = 10;
    static final int WINDOW_SECONDS = 60;

    private final Sandboxes sandboxes;
    private final String id;
    private final Consumer<String> say;
    private final List<EgressDenial> seen = new ArrayList<>();
    /** The refused attempts of each target in the window, oldest first (a refusal within 1 s of the last is one). */
    private final java.util.Map<String, java.util.ArrayDeque<java.time.Instant>> byTarget = new java.util.HashMap<>();
    private volatile String stopped;
    /** Whether the step may still be stopped: not once its command has ended. */
    private volatile boolean mayStop = true;
    /** When the step last printed something. */
    private volatile java.time.Instant lastOutput = java.time.Instant.now();
    private final Thread thread;
    private volatile boolean stopping;

    private StepDenials(Sandboxes sandboxes, String id, Consumer<String> say) {
        this.sandboxes = sandboxes;
        this.id = id;
        this.say = say;
        this.thread = Thread.ofPlatform().daemon().name("davit-build-denials").unstarted(this::watch);
    }

    /** Watches sandbox {@code id} of {@code sandboxes}, saying each denial to {@code say}. */
    static StepDenials start(Sandboxes sandboxes, String id, Consumer<String> say) {
        StepDenials d = new StepDenials(sandboxes, id, say);
        d.thread.start();
        return d;
    }

    private void watch() {
        while (!stopping) {
            poll();
            try {
                Thread.sleep(EVERY_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Reads the sandbox's denials and says the new ones. */
    private synchronized void poll() {
        List<EgressDenial> all;
        try {
            all = sandboxes.egressDenials(id);
        } catch (RuntimeException e) {
            return; // gone meanwhile: nothing more to read
        }
        for (int k = seen.size(); k < all.size(); k++) {
            EgressDenial d = all.get(k);
            seen.add(d);
            if (seen.size() <= SHOWN) {
                say.accept("egress denied: " + Text.shorten(Text.printable(d.target()), 120) + ": "
                        + Text.printable(d.reason()) + (d.rule() == null ? "" : " (rule " + Text.shorten(
                        Text.printable(d.rule()), 80) + ")"));
            }
            retried(d);
        }
    }

    /** Counts {@code d} against its target; stops the step when it does nothing but retry that target. */
    private void retried(EgressDenial d) {
        if (stopped != null || !mayStop || byTarget.size() > 10_000 && !byTarget.containsKey(d.target())) {
            return;
        }
        java.util.ArrayDeque<java.time.Instant> attempts = byTarget.computeIfAbsent(d.target(),
                t -> new java.util.ArrayDeque<>());
        if (!attempts.isEmpty() && java.time.Duration.between(attempts.peekLast(), d.time()).abs().toMillis() < 1000) {
            return; // the same attempt (a name's A and AAAA, an address and its retry at once)
        }
        attempts.addLast(d.time());
        while (java.time.Duration.between(attempts.peekFirst(), d.time()).toSeconds() > WINDOW_SECONDS) {
            attempts.removeFirst();
        }
        long span = java.time.Duration.between(attempts.peekFirst(), d.time()).toSeconds();
        boolean silent = java.time.Duration.between(lastOutput, java.time.Instant.now()).toSeconds() >= SPAN_SECONDS;
        if (attempts.size() >= RETRIES && span >= SPAN_SECONDS && silent) {
            stopped = Text.shorten(Text.printable(d.target()), 80) + " " + attempts.size() + " times in " + span
                    + " s";
            say.accept("egress denied: " + stopped + ", and the step printed nothing meanwhile: stopping it");
            try {
                sandboxes.stop(id);
            } catch (RuntimeException e) {
                // gone meanwhile: it ended by itself
            }
        }
    }

    /** {@return where the step's output goes too: each write is the step doing something it shows} */
    java.io.OutputStream output() {
        return new java.io.OutputStream() {
            @Override
            public void write(int b) {
                lastOutput = java.time.Instant.now();
            }

            @Override
            public void write(byte[] b, int off, int len) {
                lastOutput = java.time.Instant.now();
            }
        };
    }

    /**
     * {@return what stopped the step: the target the policy kept refusing, how often and over how long (e.g.
     * {@code registry.npmjs.org:443 5 times in 12 s}); null when it was not stopped}
     */
    String stopped() {
        return stopped;
    }

    /** Stops watching (after one last read) and says how many were not shown. */
    @Override
    public void close() {
        mayStop = false; // the command has ended: what is read now is said, never acted on
        stopping = true;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        poll();
        synchronized (this) {
            if (seen.size() > SHOWN) {
                say.accept("egress denied: " + (seen.size() - SHOWN) + " more");
            }
        }
    }

    /** {@return every denial seen, oldest first (at most {@link EgressDenial#MAX_IN_RESULT}, the newest)} */
    synchronized List<EgressDenial> all() {
        return EgressDenial.newest(List.copyOf(seen));
    }

    /** {@return the first few denials' targets, for an error: {@code a:443, b:80 and 3 more}} */
    synchronized String named() {
        List<String> t = seen.stream().map(d -> Text.shorten(Text.printable(d.target()), 80)).distinct().toList();
        return String.join(", ", t.subList(0, Math.min(3, t.size()))) + (t.size() > 3 ? " and " + (t.size() - 3)
                + " more" : "");
    }
}
