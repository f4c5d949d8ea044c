package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.workspace.WarmPool;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.sandbox.workspace.internal.WorkspaceInternals;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link WarmPool}: workspaces that take started sandboxes made ahead of time, each by one workspace only, spares
 * that never take more than the room they are given, and no spare left behind by a pool closed or a process gone;
 * over real bwrap sandboxes and a busybox root filesystem.
 */
class WarmPoolTest extends BwrapWorkspaces {
    private final ConcurrentLinkedQueue<String> logged = new ConcurrentLinkedQueue<>();
    /** What the running test's pools logged, for a failing wait to show. */
    private static final ThreadLocal<ConcurrentLinkedQueue<String>> LOGGED = new ThreadLocal<>();
    private final List<WarmPool> pools = new ArrayList<>();

    @Override
    List<String> applets() {
        return List.of();
    }

    private CreateSpec spec(Duration ttl) {
        return CreateSpec.builder(rootfs).ttl(ttl).limits(Limits.NONE).build();
    }

    private WarmPool pool(int perKind, WarmPool.Room room) {
        LOGGED.set(logged);
        WarmPool p = WorkspaceInternals.warmPool(workspaces, perKind, room, m -> logged.add(m.toString()));
        pools.add(p);
        return p;
    }

    @AfterEach
    void closePools() {
        pools.forEach(WarmPool::close);
    }

    private static void await(BooleanSupplier done, String what) throws InterruptedException {
        await(done, what, Duration.ofSeconds(60));
    }

    private static void await(BooleanSupplier done, String what, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + within.toMillis() + " ms: " + what + " (the pool logged: "
                        + LOGGED.get() + ")");
            }
            Thread.sleep(20);
        }
    }

    private List<String> sandboxDirs() throws IOException {
        Path d = home.resolve("sandboxes");
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("sbx-")).sorted().toList();
        }
    }

    private Path seed(String name, String content) throws IOException {
        Path d = Files.createDirectories(tmp.resolve("seeds").resolve(name));
        Files.writeString(d.resolve("who"), content);
        return d;
    }

    private String exec(Workspace w, String script) {
        ExecResult r = workspaces.sandboxes().exec(w.sandboxId(), List.of("/bin/sh", "-c", script), Map.of(), "/",
                Duration.ofSeconds(20));
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    @Test
    void eachSpareGoesToOneWorkspaceSeededAndTimedAsItsOwn() throws Exception {
        WarmPool pool = pool(2, () -> 10);
        Workspaces warm = WorkspaceInternals.withSpares(workspaces, pool);
        Instant t0 = Instant.now();
        assertThat(pool.size()).isZero();
        Workspace first = warm.create(WorkspaceSpec.builder(spec(Duration.ofHours(1))).seed(seed("a", "first"))
                .build());
        // the first of its kind found no spare: its sandbox was made for it
        assertThat(workspaces.sandbox(first.id()).createdAt()).isAfterOrEqualTo(t0);
        await(() -> pool.ready().size() == 2, "two spares");
        Set<String> spares = new HashSet<>(pool.ready());
        for (String id : spares) {
            assertThat(workspaces.sandboxes().status(id).status()).isEqualTo(SandboxStatus.RUNNING);
        }

        Workspace second = warm.create(WorkspaceSpec.builder(spec(Duration.ofSeconds(600))).seed(seed("b", "second"))
                .build());
        // the variables make no kind of their own: a spare is taken, and they are set on it
        Workspace third = warm.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).env(Map.of("WHO", "third-env"))
                .limits(Limits.NONE).build())
                .name("third").seed(seed("c", "third")).build());
        assertThat(Set.of(second.sandboxId(), third.sandboxId())).isEqualTo(spares);
        assertThat(exec(third, "echo $WHO")).isEqualTo("third-env\n");
        assertThat(exec(second, "echo ${WHO:-none}")).isEqualTo("none\n");
        // each has its own seed, and what one writes the other never sees
        assertThat(exec(second, "cat /workspace/who")).isEqualTo("second");
        assertThat(exec(third, "cat /workspace/who")).isEqualTo("third");
        exec(second, "echo mine > /workspace/only-second; echo tmp > /tmp/only-second");
        assertThat(exec(third, "ls -a /workspace /tmp")).doesNotContain("only-second");
        assertThat(workspaces.files().diff(second.id()).changes()).extracting(
                WorkspaceDiff.Change::path).containsExactly("only-second");
        assertThat(workspaces.files().diff(third.id()).changes()).isEmpty();

        // the sandbox expires with its workspace (600 s from the create), not the spare's hour; "third" never
        Instant now = Instant.now();
        Sandbox box = workspaces.sandboxes().status(second.sandboxId());
        assertThat(box.expired(now.plusSeconds(590))).isFalse();
        assertThat(box.expired(now.plusSeconds(610))).isTrue();
        assertThat(workspaces.sandboxes().status(third.sandboxId()).spec().ttl()).isNull();

        // the pool makes new spares, never one it gave away; a workspace's removal removes its sandbox
        await(() -> pool.ready().size() == 2, "the pool refilled");
        assertThat(pool.ready()).doesNotContainAnyElementsOf(spares);
        workspaces.rm(second.id());
        assertThat(sandboxDirs()).doesNotContain(second.sandboxId());

        // spares removed behind the pool's back (a reap, a crash) are passed over: the create makes its own
        List<String> gone = pool.ready();
        gone.forEach(workspaces.sandboxes()::rm);
        Workspace fourth = warm.create(WorkspaceSpec.builder(spec(Duration.ofHours(1))).seed(seed("d", "fourth"))
                .build());
        assertThat(gone).doesNotContain(fourth.sandboxId());
        assertThat(exec(fourth, "cat /workspace/who")).isEqualTo("fourth");
        assertThat(logged).isEmpty();
    }

    @Test
    void sparesNeverTakeMoreThanTheRoomAndGiveWayWhenItShrinks() throws Exception {
        AtomicInteger room = new AtomicInteger(3);
        WarmPool pool = pool(5, room::get);
        Workspaces warm = WorkspaceInternals.withSpares(workspaces, pool);
        Workspace w = warm.create(WorkspaceSpec.builder(spec(Duration.ofHours(1))).build());
        await(() -> pool.ready().size() == 3, "three spares (the room), not five");
        Thread.sleep(500);
        assertThat(pool.size()).isEqualTo(3);
        assertThat(sandboxDirs()).hasSize(4); // the workspace's and three spares

        // a create of another kind finds no spare and makes its own sandbox: the spares give way to it
        room.set(1);
        Workspace other = warm.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).workdir("/tmp")
                .ttl(Duration.ofHours(1)).limits(Limits.NONE).build()).build());
        await(() -> {
            try {
                return pool.size() <= 1 && sandboxDirs().size() == 3;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, "the spares beyond the room removed by the create itself (before the pool's next look)",
                Duration.ofSeconds(3));
        assertThat(workspaces.sandbox(other.id()).spec().workdir()).isEqualTo("/tmp"); // its own, not a spare's
        room.set(0);
        Workspace third = warm.create(WorkspaceSpec.builder(spec(Duration.ofHours(1))).build());
        await(() -> pool.size() == 0, "no room, no spare");
        assertThat(workspaces.list()).extracting(Workspace::id).containsExactlyInAnyOrder(w.id(), other.id(),
                third.id());
    }

    @Test
    void sparesDoNotGiveWayToACreateThatIsCountedBeforeItTakesOne() throws Exception {
        // a caller's limit of 3: free is 3 less the workspaces that exist and the creates it counts, settled 3 less
        // the workspaces that exist
        AtomicInteger free = new AtomicInteger(2);
        AtomicInteger settled = new AtomicInteger(2);
        WarmPool pool = pool(2, new WarmPool.Room() {
            @Override
            public int free() {
                return free.get();
            }

            @Override
            public int settled() {
                return settled.get();
            }
        });
        Workspaces warm = WorkspaceInternals.withSpares(workspaces, pool);
        warm.create(WorkspaceSpec.builder(spec(Duration.ofHours(1))).build());
        await(() -> pool.ready().size() == 2, "two spares beside the workspace");
        List<String> spares = pool.ready();

        // a create is counted before it takes a spare: the room is 1, yet the pool's look keeps both
        free.set(1);
        Thread.sleep(6000);
        assertThat(pool.ready()).containsExactlyInAnyOrderElementsOf(spares);
        Workspace second = warm.create(WorkspaceSpec.builder(spec(Duration.ofHours(1))).build());
        assertThat(spares).contains(second.sandboxId());

        // its workspace exists and is still counted as being created (counted twice): the other spare stays
        settled.set(1);
        free.set(0);
        Thread.sleep(6000);
        assertThat(pool.ready()).hasSize(1).isSubsetOf(spares);

        // a workspace made elsewhere takes the last of the room: the pool gives way at its next look
        settled.set(0);
        await(() -> pool.size() == 0, "the spare given up for a workspace the pool did not see created");

        // a create with published ports never takes a spare: the spares give way to it at once
        settled.set(2);
        free.set(2);
        await(() -> pool.ready().size() == 2, "two spares again");
        free.set(1);
        assertThat(dev.davit.sandbox.workspace.WarmPoolAccess.take(pool, CreateSpec.builder(rootfs)
                .network(Network.NAT).publish(List.of(PortMapping.parse("18080:80"))).build())).isNull();
        assertThat(pool.ready()).hasSize(1); // the other is being removed
        await(() -> pool.size() <= 1, "a spare removed at once, before the pool's next look", Duration.ofSeconds(3));
        assertThat(logged).isEmpty();
    }

    @Test
    void closeRemovesTheSparesAndANewPoolRemovesThoseOfAProcessGone() throws Exception {
        WarmPool pool = pool(2, () -> 10);
        WorkspaceInternals.withSpares(workspaces, pool).create(WorkspaceSpec.builder(spec(Duration.ofHours(1))).build());
        await(() -> pool.ready().size() == 2, "two spares");
        List<String> spares = pool.ready();

        // a spare recorded by a process that has exited (its pid and start time no longer match a live process)
        Sandbox orphan = workspaces.sandboxes().create(spec(WarmPool.SPARE_TTL));
        workspaces.sandboxes().start(orphan.id());
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Path records = home.resolve("workspaces").resolve(".spares");
        Files.writeString(records.resolve(orphan.id()), gone.pid() + " 1\n", StandardCharsets.UTF_8);

        pool.close();
        assertThat(sandboxDirs()).doesNotContainAnyElementsOf(spares).contains(orphan.id());
        assertThat(records.resolve(spares.get(0))).doesNotExist();

        WarmPool next = pool(1, () -> 10);
        await(() -> {
            try {
                // the sandbox goes first, then its record (a record left by a crash in between names no sandbox)
                return !sandboxDirs().contains(orphan.id()) && !Files.exists(records.resolve(orphan.id()));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, "the orphan spare and its record removed");
        assertThat(next.size()).isZero(); // nothing asked for yet
    }
}
