package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.RunTarget;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the Javadoc of {@link Davit} and {@link OpenWorkspace} (and docs/design/STORE.md, Concurrency) promise of threads:
 * one {@code Davit} shared by 8 threads that make the same image runnable at once (its blobs downloaded once, one
 * unpacked tree), run commands and open workspaces side by side; one workspace handle used by 4 threads at once.
 * Real bubblewrap sandboxes and a real docker-registry. (The first run on a new home is made alone first: its race
 * is issue 34's first item, tested on its own.)
 */
class DavitConcurrencyTest {
    private static final int THREADS = 8;
    private static final String IMAGE = "localhost/test/busybox:1";

    @TempDir
    Path tmp;

    private <T> List<T> together(int n, java.util.function.IntFunction<Callable<T>> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<T>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Callable<T> c = task.apply(i);
                fs.add(pool.submit(() -> {
                    go.await();
                    return c.call();
                }));
            }
            go.countDown();
            List<T> out = new ArrayList<>();
            for (Future<T> f : fs) {
                out.add(f.get(5, TimeUnit.MINUTES));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void oneDavitServesEightThreadsAndOneWorkspaceFour() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox");
        Path rootfs = Files.createDirectories(tmp.resolve("src/bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), rootfs.resolve("busybox"));
        for (String a : List.of("sh", "echo", "cat", "sleep", "true")) {
            Files.createSymbolicLink(rootfs.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp")) {
            Files.createDirectories(tmp.resolve("src").resolve(d));
        }
        List<ProgressEvent> events = new CopyOnWriteArrayList<>();
        try (TestRegistry registry = TestRegistry.start()) {
            String ref = registry.hostPort() + "/test/busybox:1";
            try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("source")))) {
                c.build(tmp.resolve("src"), IMAGE, BuildOptions.defaults());
                c.push(IMAGE, ref);
            }
            try (Davit davit = Davit.builder().home(tmp.resolve("home"))
                    .clientOptions(ClientOptions.anonymous(tmp.resolve("ignored"))).progress(events::add).build()) {
                // 8 threads need the image at once: each blob downloaded once, one unpacked tree for all
                List<RunTarget> targets = together(THREADS, i -> () -> davit.image(ref));
                assertThat(targets.stream().map(RunTarget::rootfs).distinct()).hasSize(1);
                Map<String, Long> downloads = events.stream()
                        .filter(e -> e instanceof ProgressEvent.BlobDone d && !d.cached())
                        .collect(Collectors.groupingBy(e -> ((ProgressEvent.BlobDone) e).descriptor().digest()
                                .toString(), Collectors.counting()));
                assertThat(downloads).isNotEmpty().allSatisfy((digest, times) -> assertThat(times).isEqualTo(1));

                assertThat(davit.run(ref, "true").exitCode()).isZero(); // the home's first sandbox, alone
                // runs and workspaces of 8 threads side by side
                List<String> outs = together(THREADS, i -> () -> {
                    ExecResult r = davit.run(ref, "sh", "-c", "echo run " + i);
                    String run = r.stdoutText() + r.stderrText();
                    try (OpenWorkspace ws = davit.workspace(ref)) {
                        ws.files().write("n.txt", "ws " + i + "\n");
                        ExecResult e = ws.exec("cat", "n.txt");
                        return run + e.stdoutText() + e.stderrText() + ws.files().diff().changes().size();
                    }
                });
                for (int i = 0; i < THREADS; i++) {
                    assertThat(outs.get(i)).isEqualTo("run " + i + "\nws " + i + "\n1");
                }
                assertThat(davit.workspaces().list()).isEmpty();

                // one handle, 4 threads: each writes, execs and reads its own file
                try (OpenWorkspace ws = davit.workspace(ref)) {
                    List<String> seen = together(4, i -> () -> {
                        ws.files().write("f" + i, "thread " + i);
                        ExecResult e = ws.exec("sh", "-c", "sleep 0.2; cat f" + i);
                        return e.stdoutText() + "|" + ws.files().read("f" + i);
                    });
                    for (int i = 0; i < 4; i++) {
                        assertThat(seen.get(i)).isEqualTo("thread " + i + "|thread " + i);
                    }
                    assertThat(ws.files().diff().changes()).hasSize(4);
                }
            }
        }
    }
}
