package dev.davit.sandbox.workspace;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.backend.Driver;
import dev.davit.sandbox.engine.Sandboxes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Started sandboxes kept ready for workspaces ("spares"), so that a {@link Workspaces#create} finds its sandbox
 * running instead of creating and starting one; a microVM spare is booted and then paused ({@link Sandboxes#pause}:
 * its memory saved, its QEMU ended), so it holds no memory while it waits and the create resumes it instead of
 * booting one. Per kind of sandbox (a {@link CreateSpec} apart from its ttl; the
 * {@link #MAX_KINDS} kinds asked for last) the pool keeps up to {@code perKind} spares, made by one background
 * thread after a create took one or found none. A spare goes to exactly one workspace, which then owns it (its
 * removal removes the sandbox); no spare is ever given twice, and nothing but davit has run in one.
 *
 * <p>Spares count against the caller's limit: they never take more than their {@link Room} (how many more
 * sandboxes may exist, e.g. an operator's maximum minus the workspaces that exist or are being created), and give
 * way when it shrinks: at once when a create finds no spare (it makes a sandbox of its own), and at the pool's next
 * look when workspaces appear that it did not see created. Spares of kinds with published ports are never made
 * (their ports would be taken).
 *
 * <p>A backend that keeps a warm pool of its own ({@link Driver#keepWarm}: a cluster with agent-sandbox's
 * extensions, whose {@code SandboxWarmPool} a start claims from) is asked once per kind, and then keeps that kind's
 * {@code perKind} spares itself: the pool makes none of it, a {@link #take} of it finds none (the caller's start
 * claims one of the backend's), and those spares count against the backend's bounds (a namespace's quota), not the
 * room. A kind dropped, or the pool closed, ends the backend's pool of it.
 *
 * <p>Each spare is a sandbox with a ttl of {@link #SPARE_TTL} (so {@code davit sandbox reap} removes what a process
 * that died left), recorded in {@code <workspaces>/.spares/<sandbox id>} with the owning process; a new pool removes
 * the spares of owners that are gone. Spares older than {@link #RECYCLE} are replaced. {@link #close} removes them
 * all.
 */
public final class WarmPool implements AutoCloseable {
    /** A spare's ttl: past it, a reap removes a spare its process left behind. */
    public static final Duration SPARE_TTL = Duration.ofHours(1);
    /** How old a spare may get before it is replaced (well inside {@link #SPARE_TTL}). */
    static final Duration RECYCLE = Duration.ofMinutes(30);
    /** How many kinds of sandbox the pool keeps spares of: those asked for last. */
    public static final int MAX_KINDS = 4;
    /** How often the pool looks again at its room and its spares' age. */
    private static final long TICK_MS = 5_000;

    private record Spare(String sandboxId, Instant made) {
    }

    /**
     * The room a pool is given: how many sandboxes it may hold. Read from the pool's threads; when a method throws,
     * that is logged and the pool waits for its next look.
     */
    @FunctionalInterface
    public interface Room {
        /**
         * How many sandboxes the pool may hold now ({@link #size}: ready, being made or removed): how many more may
         * exist beside the workspaces that exist and those being created, e.g. a limit less both. The pool makes
         * spares only below it, and a create that finds no spare makes the pool give way to it.
         *
         * @return the room; 0 or less: none
         */
        int free();

        /**
         * How many sandboxes the pool may hold beside the workspaces that exist, creates in progress not counted
         * (e.g. a limit less the workspaces that exist), read at once. A create that takes a spare needs no room of
         * its own, and one that finds none makes the pool give way to {@link #free} then; so the pool's regular look
         * gives way only to this: a ready spare is not removed because a create that is about to take it was
         * counted (nor because a caller still counts a create whose workspace already exists).
         *
         * @return the room; 0 or less: none. The default is {@link #free}, for a caller that counts no creates
         */
        default int settled() {
            return free();
        }
    }

    /**
     * A kind's spares, how many are being made, and whether its last attempt failed (then it waits for a take); and
     * whether its backend keeps its spares itself ({@link Driver#keepWarm}: null until asked).
     */
    private static final class Stock {
        final Deque<Spare> ready = new ArrayDeque<>();
        int making;
        boolean failed;
        Boolean backend;
    }

    private final Workspaces workspaces;
    private final Sandboxes sandboxes;
    private final Path registry;
    private final int perKind;
    private final Room room;
    private final Consumer<Message> log;
    /** Kinds, least recently asked for first. */
    private final LinkedHashMap<CreateSpec, Stock> kinds = new LinkedHashMap<>();
    /** Spares taken out of {@link #kinds} that are being removed (they still count). */
    private final List<String> leaving = new ArrayList<>();
    /** Makes spares, one at a time, and looks at the pool every {@link #TICK_MS}. */
    private final ScheduledExecutorService filler;
    /** Removes spares: never behind a spare being made, so spares give way at once. */
    private final ExecutorService remover;
    private boolean closed;
    private boolean fillQueued;

    private WarmPool(Workspaces workspaces, int perKind, Room room, Consumer<Message> log) {
        if (perKind < 1) {
            throw new DavitException(Kind.USAGE, "a warm pool keeps at least 1 sandbox per kind, not " + perKind);
        }
        this.workspaces = workspaces;
        this.sandboxes = workspaces.sandboxes();
        this.registry = workspaces.stateDir().resolve(".spares");
        this.perKind = perKind;
        this.room = room;
        this.log = log == null ? m -> { } : log;
        this.filler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> daemon(r,
                "davit-warm-pool"));
        this.remover = java.util.concurrent.Executors.newSingleThreadExecutor(r -> daemon(r,
                "davit-warm-pool-remover"));
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /**
     * A pool of up to {@code perKind} spares per kind for {@code workspaces}, taking at most {@code room} sandboxes
     * (asked again before and after each spare is made; e.g. {@code () -> max - workspaces - creating}); {@code log}
     * (null: none) hears of spares that could not be made or removed. What pools of processes that died left is
     * removed first, in the background. davit's doors open one through {@code internal.WorkspaceInternals.warmPool}
     * and give it to their {@code Workspaces} ({@code WorkspaceInternals.withSpares}); close it to remove its spares.
     *
     * @param workspaces the workspaces the spares are for (their sandboxes' options and state directory)
     * @param perKind    how many spares to keep per kind of sandbox, 1 or more
     * @param room       the most sandboxes the pool may hold now (see {@link Room}); a lambda gives
     *                   {@link Room#free} only
     * @param log        where to tell of spares that could not be made or removed (one line each, as data
     *                   for the caller's door to word); null: nowhere
     * @return the pool, already filling in the background
     * @throws DavitException {@link Kind#USAGE} when {@code perKind} is less than 1
     */
    static WarmPool open(Workspaces workspaces, int perKind, Room room, Consumer<Message> log) {
        WarmPool p = new WarmPool(workspaces, perKind, room, log);
        p.remover.execute(p::removeOrphans);
        p.filler.scheduleWithFixedDelay(p::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
        return p;
    }

    /**
     * The spares ready now, being made and being removed: the sandboxes the pool counts against the room.
     *
     * @return how many sandboxes the pool holds now
     */
    public synchronized int size() {
        int n = leaving.size();
        for (Stock k : kinds.values()) {
            n += k.ready.size() + k.making;
        }
        return n;
    }

    /**
     * The ids of the sandboxes ready to be taken.
     *
     * @return a new list of sandbox ids, of every kind (empty when none is ready)
     */
    public synchronized List<String> ready() {
        List<String> ids = new ArrayList<>();
        kinds.values().forEach(k -> k.ready.forEach(s -> ids.add(s.sandboxId())));
        return ids;
    }

    /**
     * A running spare of {@code spec}'s kind, no longer the pool's (the caller owns it and removes it when done with
     * it), or null when none is ready: then the pool gives up spares that no longer fit the room (the caller is
     * about to make a sandbox of its own, counted in the room). Either way the pool then makes spares in the
     * background. The spare's ttl is still {@link #SPARE_TTL} and it has no variables; the caller sets its own
     * ({@link Sandboxes#expireAfter}, {@link Sandboxes#env}).
     */
    String take(CreateSpec spec) {
        if (!spec.publish().isEmpty()) { // never a spare: the caller makes its own sandbox
            giveWay();
            return null;
        }
        // neither the ttl nor the variables make a kind: the caller sets both on the spare it takes
        CreateSpec key = spec.withTtl(null).withEnv(Map.of());
        Stock k;
        synchronized (this) {
            if (closed) {
                return null;
            }
            k = kinds.remove(key); // put back last: the kind asked for last
            if (k == null) {
                k = new Stock();
            }
            kinds.put(key, k);
            k.failed = false;
            while (kinds.size() > MAX_KINDS) {
                Iterator<Map.Entry<CreateSpec, Stock>> oldest = kinds.entrySet().iterator();
                Map.Entry<CreateSpec, Stock> first = oldest.next();
                Stock dropped = first.getValue();
                oldest.remove();
                if (dropped.backend == Boolean.TRUE) {
                    // on the filler's thread, as the pool was made: one after the other, never crossing
                    CreateSpec gone = first.getKey();
                    filler.execute(() -> keepWarm(gone, 0));
                }
                dropped.ready.forEach(x -> leave(x.sandboxId()));
                dropped.ready.clear();
            }
        }
        String found = null;
        while (found == null) {
            Spare s;
            synchronized (this) {
                if (closed) {
                    return null;
                }
                s = k.ready.poll(); // a stock dropped meanwhile is empty
                while (s != null && old(s)) {
                    leave(s.sandboxId());
                    s = k.ready.poll();
                }
            }
            if (s == null) {
                break;
            }
            if (running(s.sandboxId())) { // looked at outside the lock: a status read
                found = s.sandboxId();
            } else {
                synchronized (this) {
                    if (!closed) {
                        leave(s.sandboxId());
                    }
                }
            }
        }
        if (found == null) {
            giveWay();
        }
        synchronized (this) {
            queueFill();
        }
        if (found != null) {
            unregister(found);
        }
        return found;
    }

    private static boolean old(Spare s) {
        return Instant.now().isAfter(s.made().plus(RECYCLE));
    }

    /** Whether spare {@code id} is ready: running, or (a microVM) paused with its memory saved. */
    private boolean running(String id) {
        try {
            return sandboxes.status(id).status() == SandboxStatus.RUNNING || sandboxes.paused(id);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * Gives up ready spares (least recently asked-for kinds first) while the pool counts more than room {@code r}.
     * Holding this.
     */
    private void trim(int r) {
        int over = size() - Math.max(0, r);
        for (Stock k : kinds.values()) {
            while (over > 0 && !k.ready.isEmpty()) {
                leave(k.ready.pollLast().sandboxId());
                over--;
            }
        }
    }

    /** Gives up the spares that no longer fit the room: a caller is about to make a sandbox of its own. */
    private void giveWay() {
        int r = room();
        synchronized (this) {
            if (!closed && r >= 0) {
                trim(r);
            }
        }
    }

    /** The room now, or -1 when it cannot be counted (logged): nothing is made or given up on it. */
    private int room() {
        return count(false);
    }

    /** {@link Room#settled} when {@code settled}, else {@link Room#free}; -1 when it cannot be counted (logged). */
    private int count(boolean settled) {
        try {
            return Math.max(0, settled ? room.settled() : room.free());
        } catch (RuntimeException e) {
            log.accept(Message.of("davit: warm pool: cannot count the room for spares: ", Message.from(e)));
            return -1;
        }
    }

    /** Removes spare {@code id} in the background; it counts until it is gone. Holding this, not closed. */
    private void leave(String id) {
        leaving.add(id);
        remover.execute(() -> {
            try {
                remove(id);
            } finally {
                synchronized (this) {
                    leaving.remove(id);
                }
            }
        });
    }

    /** Holding this. */
    private void queueFill() {
        if (!fillQueued && !closed) {
            fillQueued = true;
            filler.execute(this::fill);
        }
    }

    /**
     * Every {@link #TICK_MS}: replaces old spares, gives way to a smaller room (not to the workspaces being created:
     * they take a spare, or make the pool give way when they find none), fills a larger one.
     */
    private void tick() {
        try {
            int r = count(true);
            synchronized (this) {
                if (closed) {
                    return;
                }
                for (Stock k : kinds.values()) {
                    k.ready.removeIf(s -> {
                        boolean old = old(s);
                        if (old) {
                            leave(s.sandboxId());
                        }
                        return old;
                    });
                }
                if (r >= 0) {
                    trim(r);
                }
            }
            fill();
        } catch (RuntimeException e) { // never the end of the pool's upkeep
            log.accept(Message.of("davit: warm pool: " + e));
        }
    }

    /** Makes spares, most recently asked-for kinds first, while there is room. On the filler thread. */
    private void fill() {
        while (true) {
            int r = room();
            CreateSpec next = null;
            Stock chosen = null;
            synchronized (this) {
                fillQueued = false;
                if (closed || r < 0 || size() >= r) {
                    return;
                }
                List<Map.Entry<CreateSpec, Stock>> recent = new ArrayList<>(kinds.entrySet());
                java.util.Collections.reverse(recent);
                for (Map.Entry<CreateSpec, Stock> e : recent) {
                    Stock k = e.getValue();
                    if (!k.failed && k.backend != Boolean.TRUE && k.ready.size() + k.making < perKind) {
                        next = e.getKey();
                        chosen = k;
                        k.making++;
                        break;
                    }
                }
                if (next == null) {
                    return;
                }
            }
            if (chosen.backend == null) {
                // asked once per kind: a backend that keeps its own pool of it (a cluster's) makes its spares there
                boolean theirs = keepWarm(next, perKind);
                boolean gone;
                synchronized (this) {
                    chosen.backend = theirs;
                    // dropped or closed while the backend made its pool: nothing queued its end, so it ends here
                    gone = theirs && (closed || kinds.get(next) != chosen);
                    if (theirs) {
                        chosen.making--;
                    }
                }
                if (gone) {
                    keepWarm(next, 0);
                }
                if (theirs) {
                    continue;
                }
            }
            Spare made = make(next);
            int after = made == null ? 0 : room();
            boolean unwanted;
            synchronized (this) {
                chosen.making--; // the stock counted it, even if its kind was dropped (and maybe asked for again)
                chosen.failed = made == null;
                // kept only by its kind's own stock, and only while it fits the room (which may have shrunk)
                unwanted = made != null && (closed || kinds.get(next) != chosen || after < 0 || size() + 1 > after);
                if (made != null && !unwanted) {
                    chosen.ready.add(made);
                }
            }
            if (unwanted) {
                remove(made.sandboxId());
            }
            if (made == null) {
                return;
            }
        }
    }

    /** {@link Driver#keepWarm}: false (logged) when it failed. */
    private boolean keepWarm(CreateSpec key, int count) {
        try {
            Driver d = Driver.named(key.backend());
            return d != null && d.keepWarm(sandboxes.options(), key, count);
        } catch (RuntimeException e) {
            log.accept(Message.of("davit: warm pool: " + (count == 0 ? "cannot end the backend's warm pool of "
                    : "cannot make the backend's warm pool of ") + key.rootfs() + ": ", Message.from(e)));
            return false;
        }
    }

    /** A started sandbox of kind {@code key}, recorded as this process's spare; null (logged) when it failed. */
    private Spare make(CreateSpec key) {
        String id = null;
        try {
            Sandbox s = sandboxes.create(key.withTtl(SPARE_TTL));
            id = s.id();
            register(id);
            sandboxes.start(id);
            if (key.isVm()) {
                // booted, then paused: its memory saved to a file and its QEMU ended, so a spare holds no memory
                // or CPU while it waits, and a take resumes it (a fraction of a boot) instead of booting
                sandboxes.pause(id);
            }
            return new Spare(id, s.createdAt());
        } catch (RuntimeException e) {
            log.accept(Message.of("davit: warm pool: cannot make a spare sandbox of " + key.rootfs() + ": ",
                    Message.from(e)));
            if (id != null) {
                remove(id);
            }
            return null;
        }
    }

    /** {@code <registry>/<id>}: this process, as {@code Host.record} writes it. */
    private void register(String id) {
        try {
            Files.createDirectories(registry);
            Host.record(registry.resolve(id), ProcessHandle.current().pid(), registry);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot record spare " + id + " in " + registry + ": "
                    + e.getMessage());
        }
    }

    private void unregister(String id) {
        try {
            Files.deleteIfExists(registry.resolve(id));
        } catch (IOException e) {
            log.accept(Message.of("davit: warm pool: cannot delete " + registry.resolve(id) + ": ", Message.from(e)));
        }
    }

    /** Removes spare sandbox {@code id} and its record. */
    private void remove(String id) {
        try {
            sandboxes.rm(id);
        } catch (RuntimeException e) {
            if (!(e instanceof DavitException d) || d.kind() != Kind.NOT_FOUND) {
                log.accept(Message.of("davit: warm pool: cannot remove spare " + id + ": ", Message.from(e)));
                return; // its record stays: the next pool tries again
            }
        }
        unregister(id);
    }

    /**
     * Removes the spares recorded by processes that are gone; never a workspace's sandbox (a record a take could not
     * delete), nor one whose record does not read as an owner (unless older than {@link #SPARE_TTL}).
     */
    private void removeOrphans() {
        List<Path> records;
        try (java.util.stream.Stream<Path> s = Files.list(registry)) {
            records = s.filter(r -> r.getFileName().toString().startsWith("sbx-")).toList();
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            log.accept(Message.of("davit: warm pool: cannot list " + registry + ": ", Message.from(e)));
            return;
        }
        try {
            java.util.Set<String> owned = workspaces.sandboxIds();
            for (Path r : records) {
                String id = r.getFileName().toString();
                long[] owner = Host.recorded(r);
                boolean gone = owner == null ? Files.getLastModifiedTime(r).toInstant().plus(SPARE_TTL)
                        .isBefore(Instant.now()) : !Host.alive(owner[0], owner[1]);
                if (owned.contains(id)) {
                    unregister(id); // a workspace's now
                } else if (gone) {
                    remove(id);
                }
            }
        } catch (IOException | RuntimeException e) {
            log.accept(Message.of("davit: warm pool: cannot look for spares left behind: ", Message.from(e)));
        }
    }

    /** Stops making spares and removes every spare (waiting up to a minute for one being made). */
    @Override
    public void close() {
        List<String> ids;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            ids = ready();
            kinds.forEach((key, k) -> {
                if (k.backend == Boolean.TRUE) {
                    filler.execute(() -> keepWarm(key, 0)); // run before the filler's shutdown below ends it
                }
            });
            kinds.clear();
        }
        ids.forEach(id -> remover.execute(() -> remove(id)));
        filler.shutdown(); // a spare being made is removed when it is done (closed)
        remover.shutdown();
        try {
            if (!filler.awaitTermination(60, TimeUnit.SECONDS) || !remover.awaitTermination(60, TimeUnit.SECONDS)) {
                log.accept(Message.of("davit: warm pool: spares still being made or removed; ",
                        Action.REAP.fix(), " removes what is left within " + SPARE_TTL.toMinutes() + " minutes"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
