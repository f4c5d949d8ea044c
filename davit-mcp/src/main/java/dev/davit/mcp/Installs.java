package dev.davit.mcp;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Environment installs that outlive the call that asked for them: an install (minutes for a first build) runs in
 * the background, once per environment however many calls want it; a call waits for it a while and, when it is not
 * done, answers that it is still going on. The next call joins the same install, or finds it done. An install
 * commits atomically (see the installer), so what a call finds is whole or not there. Each waiting call gets the
 * install's progress lines.
 */
final class Installs implements AutoCloseable {
    /** What an install ended with: its result (environment_pull's), or the library's error. */
    record Outcome(com.fasterxml.jackson.databind.node.ObjectNode result, dev.davit.oci.DavitException error) {
    }

    /** The work of one install: runs it, passing each progress line on; returns how it ended. */
    interface Work {
        Outcome run(String name, Consumer<String> progress);
    }

    private final Work work;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "davit-mcp-install");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Running> running = new ConcurrentHashMap<>();

    private record Running(CompletableFuture<Outcome> done, List<Consumer<String>> listeners, String[] last) {
    }

    Installs(Work work) {
        this.work = work;
        // an install whose caller gave up still ends (its listeners are then gone)
    }

    /**
     * Starts the install of {@code name} or joins the one going on, and waits up to {@code waitMs} for it; the
     * outcome, or null when it still runs (then {@link #lastStep} says where it is).
     */
    Outcome await(String name, long waitMs, Consumer<String> progress) throws InterruptedException {
        Running r = running.computeIfAbsent(name, n -> {
            List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
            String[] last = {null};
            CompletableFuture<Outcome> f = new CompletableFuture<>();
            Running created = new Running(f, listeners, last);
            pool.execute(() -> {
                try {
                    f.complete(work.run(n, line -> {
                        last[0] = line;
                        listeners.forEach(l -> l.accept(line));
                    }));
                } catch (RuntimeException | Error e) {
                    f.completeExceptionally(e);
                } finally {
                    running.remove(n, created);
                }
            });
            return created;
        });
        if (progress != null) {
            r.listeners().add(progress);
        }
        try {
            return r.done().get(waitMs, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        } finally {
            if (progress != null) {
                r.listeners().remove(progress);
            }
        }
    }

    /** The last progress line of the install of {@code name} going on, or null. */
    String lastStep(String name) {
        Running r = running.get(name);
        return r == null ? null : r.last()[0];
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
