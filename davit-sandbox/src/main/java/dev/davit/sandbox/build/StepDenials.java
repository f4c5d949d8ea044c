package dev.davit.sandbox.build;

import dev.davit.oci.internal.Text;
import dev.davit.sandbox.EgressDenial;
import dev.davit.sandbox.Sandboxes;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * What the egress policy refused a RUN step while it runs, said as it happens (a line per denial, the first
 * {@value #SHOWN}, then a count), so that a download the policy blocks reads as one within a second, not as curl's
 * error or npm's minutes of retries; and all of them for the step's result. Watches by reading the sandbox's
 * denials every {@value #EVERY_MS} ms on a daemon thread, from {@link #start} to {@link #close}.
 *
 * <p>A step that keeps asking for what the policy refuses is stopped, so that it fails in seconds rather than after
 * its tool's retries: one target refused {@value #RETRIES} times over at least {@value #SPAN_SECONDS} s (by the
 * denials' own times) is a retry loop, not a tool trying one address and then the next; the sandbox is stopped and
 * {@link #stopped} names it.
 */
final class StepDenials implements AutoCloseable {
    /** How many denials are said, one line each. */
    static final int SHOWN = 20;
    private static final long EVERY_MS = 250;
    /** How many refusals of one target, over {@link #SPAN_SECONDS} at least, stop the step. */
    static final int RETRIES = 5;
    static final int SPAN_SECONDS = 10;

    private final Sandboxes sandboxes;
    private final String id;
    private final Consumer<String> say;
    private final List<EgressDenial> seen = new ArrayList<>();
    /** The refusals of each target so far: how many, the first's time. */
    private final java.util.Map<String, Object[]> byTarget = new java.util.HashMap<>();
    private volatile String stopped;
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

    /** Counts {@code d} against its target; stops the step when that target is being retried. */
    private void retried(EgressDenial d) {
        if (stopped != null || byTarget.size() > 10_000 && !byTarget.containsKey(d.target())) {
            return;
        }
        Object[] c = byTarget.computeIfAbsent(d.target(), t -> new Object[] {0, d.time()});
        c[0] = (Integer) c[0] + 1;
        long span = java.time.Duration.between((java.time.Instant) c[1], d.time()).toSeconds();
        if ((Integer) c[0] >= RETRIES && span >= SPAN_SECONDS) {
            stopped = Text.shorten(Text.printable(d.target()), 80) + " " + c[0] + " times in " + span + " s";
            say.accept("egress denied: " + stopped + ": the step keeps asking for it; stopping it");
            try {
                sandboxes.stop(id);
            } catch (RuntimeException e) {
                // gone meanwhile: it ended by itself
            }
        }
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
