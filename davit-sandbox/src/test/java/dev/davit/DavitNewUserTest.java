package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a new library user tripped on (issue 34): the first use of a new home from many threads at once, a one-shot
 * run's timeout, and misconfiguration, an unusable host and an interrupted thread told apart from a command's failure.
 * Over real bubblewrap (crun and runc where installed) sandboxes and a busybox image built into each home's store.
 */
class DavitNewUserTest {
    private static final String IMAGE = "localhost/test/busybox:1";
    private static final int THREADS = 16;

    @TempDir
    Path tmp;

    @BeforeEach
    void tools() {
        Tools.assumeAvailable("bwrap", "busybox");
    }

    /** A new home with {@link #IMAGE} in its store. */
    private Path home(String name) throws Exception {
        Path src = tmp.resolve("src");
        if (!Files.isDirectory(src)) {
            Path bin = Files.createDirectories(src.resolve("bin"));
            Files.copy(Tools.which("busybox").orElseThrow(), bin.resolve("busybox"));
            for (String a : List.of("sh", "true", "sleep")) {
                Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
            }
            for (String d : List.of("proc", "dev", "tmp")) {
                Files.createDirectories(src.resolve(d));
            }
        }
        Path home = tmp.resolve(name);
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            c.build(src, IMAGE, BuildOptions.builder().build(), ProgressListener.NONE);
        }
        return home;
    }

    private Davit open(Path home) {
        return Davit.builder().home(home).clientOptions(ClientOptions.anonymous(tmp.resolve("ignored"))).build();
    }

    /**
     * Sixteen threads, each on a new home of its own, then sixteen on one new home, all at once: every run succeeds.
     * The first run of a home installs davit's exec helper while the other threads start processes, which inherit
     * whatever the JVM has open for writing: executed while such a copy was open, it failed with "Text file busy".
     */
    @Test
    void sixteenThreadsOnNewHomesAllRun() throws Exception {
        List<Path> own = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
            own.add(home("own-" + i));
        }
        Path shared = home("shared");
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        runAtOnce(i -> own.get(i), failures);
        runAtOnce(i -> shared, failures);
        assertThat(failures).isEmpty();
    }

    private void runAtOnce(java.util.function.IntFunction<Path> homes, List<String> failures) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
            Path home = homes.apply(i);
            done.add(pool.submit(() -> {
                go.await();
                try (Davit davit = open(home)) {
                    for (int n = 0; n < 2; n++) {
                        ExecResult r = davit.run(IMAGE, "true");
                        if (r.exitCode() != 0) {
                            failures.add("exit " + r.exitCode() + ": " + r.stderrText());
                        }
                    }
                } catch (DavitException e) {
                    failures.add(e.kind() + ": " + e.getMessage());
                }
                return null;
            }));
        }
        go.countDown();
        for (Future<?> f : done) {
            f.get(5, TimeUnit.MINUTES);
        }
        pool.shutdown();
    }

    /**
     * A one-shot run is killed at its timeout and returns at once: at most 200 ms after it (the bound of issue 34;
     * the best of three tries, the machine being shared), on bubblewrap and each OCI runtime installed. The timeout
     * counts from the sandbox's process start: the set-up before it (the result's create and start times) is not
     * counted. Killed runs returned 1.4-2.4 s late (the killed processes were waited for one at a time, each first
     * looked at after 300 ms).
     */
    @Test
    void aTimeoutEndsTheRunAtTheDeadline() throws Exception {
        Path home = home("home");
        List<String> runtimes = new ArrayList<>(List.of("bwrap"));
        for (String rt : List.of("crun", "runc")) {
            if (Tools.which(rt).isPresent()) {
                runtimes.add(rt);
            }
        }
        try (Davit davit = open(home)) {
            for (String rt : runtimes) {
                long best = Long.MAX_VALUE;
                for (int attempt = 0; attempt < 3 && best > 200; attempt++) {
                    RunSpec spec = davit.runSpec(IMAGE).runtime(rt).command("sleep", "30")
                            .timeout(Duration.ofSeconds(1)).build();
                    long t0 = System.nanoTime();
                    ExecResult r = davit.sandboxes().run(spec);
                    long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                    assertThat(r.timedOut()).as(rt).isTrue();
                    assertThat(r.exitCode()).as(rt).isEqualTo(ExecResult.TIMEOUT_EXIT_CODE);
                    best = Math.min(best, elapsed - 1000 - r.timings().createMs() - r.timings().startMs());
                }
                assertThat(best).as(rt + ": ms after the deadline").isLessThanOrEqualTo(200);
            }
        }
    }

    /** A configured bubblewrap that is no program is refused when the options are made, naming the method. */
    @Test
    void aBwrapThatIsNoProgramIsRefusedUpFront() throws Exception {
        Path home = tmp.resolve("home");
        assertThatThrownBy(() -> Davit.builder().home(home).clientOptions(ClientOptions.anonymous(tmp.resolve("x")))
                .sandboxOptions(o -> o.withBwrap(Path.of("/nonexistent"))).build())
                .isInstanceOf(DavitException.class)
                .hasMessage("SandboxOptions.withBwrap: /nonexistent does not exist; give the path of the bwrap"
                        + " (bubblewrap) binary, or null to look bwrap up on the search path")
                .extracting(e -> ((DavitException) e).kind()).isEqualTo(Kind.USAGE);
        Path text = Files.writeString(tmp.resolve("bwrap"), "not a program\n");
        assertThatThrownBy(() -> dev.davit.sandbox.SandboxOptions.under(home).withBwrap(text))
                .isInstanceOf(DavitException.class).hasMessageContaining(text + " is not an executable file");
    }

    /** A host without the sandbox's tools is an error of its own kind, not that of a missing image. */
    @Test
    void aHostThatCannotSandboxIsHostUnsupported() throws Exception {
        Path home = home("home");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        try (Davit davit = Davit.builder().home(home).clientOptions(ClientOptions.anonymous(tmp.resolve("x")))
                .sandboxOptions(o -> o.withSearchPath(empty.toString())).build()) {
            assertThatThrownBy(() -> davit.run(IMAGE, "true")).isInstanceOf(DavitException.class)
                    .hasMessageContaining("is not installed")
                    .extracting(e -> ((DavitException) e).kind()).isEqualTo(Kind.HOST_UNSUPPORTED);
        }
    }

    /**
     * An interrupted run (Future.cancel(true)) ends at once with CANCELLED, its sandbox killed and removed first and
     * the thread's interrupt status kept (it took 1.4-1.8 s and said INTERNAL, "a bug"). "At once" is under 1 s
     * here, generous on a shared machine: it takes some tens of ms.
     */
    @Test
    void anInterruptedRunIsCancelledAtOnceAndLeavesNothing() throws Exception {
        Path home = home("home");
        Path state = home.resolve("sandboxes");
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Davit davit = open(home)) {
            AtomicReference<Object> outcome = new AtomicReference<>();
            AtomicLong ended = new AtomicLong();
            CountDownLatch over = new CountDownLatch(1);
            Future<?> f = pool.submit(() -> {
                try {
                    outcome.set(davit.run(IMAGE, "sleep", "60"));
                } catch (DavitException e) {
                    outcome.set(List.of(e.kind(), e.getMessage(), Thread.currentThread().isInterrupted()));
                }
                ended.set(System.nanoTime());
                over.countDown();
            });
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (sleepsRunning() == 0 && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            assertThat(sleepsRunning()).as("the command runs").isPositive();
            long cancelled = System.nanoTime();
            f.cancel(true);
            assertThat(over.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(outcome.get()).asList().element(0).isEqualTo(Kind.CANCELLED);
            assertThat(outcome.get()).asList().element(2).as("interrupt status kept").isEqualTo(true);
            assertThat(TimeUnit.NANOSECONDS.toMillis(ended.get() - cancelled)).isLessThan(1000);
            assertThat(sleepsRunning()).isZero();
            try (Stream<Path> s = Files.list(state)) {
                assertThat(s.filter(p -> p.getFileName().toString().startsWith("sb-")).toList()).isEmpty();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** This JVM's processes running the test's {@code sleep 60} (bwrap's command line ends so too). */
    private static long sleepsRunning() {
        return ProcessHandle.current().descendants().filter(p -> p.info().commandLine().orElse("").endsWith("sleep 60"))
                .filter(p -> dev.davit.sandbox.host.Host.running(p)).count();
    }
}
