package dev.davit.oci.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.store.OciStore;
import dev.davit.oci.testkit.Fault;
import dev.davit.oci.testkit.FaultProxy;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Several JVMs pulling into one store at once, and a pull killed midway. */
class MultiProcessPullTest {
    static TestRegistry registry;

    @TempDir
    Path dir;

    @BeforeAll
    static void startRegistry() {
        registry = TestRegistry.start();
    }

    @AfterAll
    static void stopRegistry() {
        if (registry != null) {
            registry.close();
        }
    }

    static Process startPull(Path store, String ref) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                PullMain.class.getName(), store.toString(), ref).redirectErrorStream(true).start();
    }

    @Test
    void severalProcessesPullingTheSameImageAllSucceed() throws Exception {
        PushedImage a = Fixtures.pushLargeImage(registry, "mp/same", "1", 8 << 20, 11);
        PushedImage b = Fixtures.pushImage(registry, "mp/other", "1");
        Path store = dir.resolve("store");
        List<Process> ps = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ps.add(startPull(store, i % 2 == 0 ? a.reference() : a.digestReference()));
        }
        ps.add(startPull(store, b.reference()));
        for (Process p : ps) {
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(out).contains("pulled sha256:");
        }
        OciStore s = OciStore.open(store);
        assertThat(s.entries()).extracting(e -> e.name())
                .containsExactlyInAnyOrder(a.reference(), a.digestReference(), b.reference());
        assertThat(s.fsck(false).clean()).isTrue();
    }

    @Test
    void aPullKilledMidwayIsResumedByTheNextPull() throws Exception {
        PushedImage big = Fixtures.pushLargeImage(registry, "mp/killed", "1", 32 << 20, 12);
        Path store = dir.resolve("store");
        OciStore.open(store);
        Path ingest = store.resolve(".davit/ingest");
        try (FaultProxy proxy = FaultProxy.start(registry)) {
            // 8 MB/s: the kill surely lands mid-download, whatever the machine's speed
            proxy.add(Fault.throttle(8 << 20).onBlobGet().always());
            String ref = proxy.hostPort() + "/mp/killed:1";
            Process p = startPull(store, ref);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            long partial = 0;
            while (System.nanoTime() < deadline && p.isAlive()) {
                partial = partialBytes(ingest);
                if (partial > (4 << 20)) {
                    break;
                }
                Thread.sleep(5);
            }
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
            assertThat(partial).as("the pull was killed mid-download").isGreaterThan(4 << 20);
            OciStore s = OciStore.open(store);
            // nothing is named, and no partial data counts as a blob
            assertThat(s.entries()).isEmpty();
            assertThat(s.fsck(false).clean()).isTrue();
            long left = partialBytes(ingest);
            assertThat(left).isGreaterThan(4 << 20).isLessThan(32 << 20);

            proxy.clearFaults();
            proxy.clearRequests();
            Process again = startPull(store, ref);
            assertThat(again.waitFor(120, TimeUnit.SECONDS)).isTrue();
            String out = new String(again.getInputStream().readAllBytes());
            assertThat(again.exitValue()).as(out).isZero();
            assertThat(out).as("the second pull resumes from the partial file").containsPattern("started [1-9]");
            assertThat(proxy.requests("GET", Fault.BLOB_PATH)).anyMatch(q -> q.range() != null
                    && q.range().matches("bytes=[1-9][0-9]*-[0-9]+"));
            assertThat(s.entries()).hasSize(1);
            assertThat(s.fsck(false).clean()).isTrue();
            assertThat(partialBytes(ingest)).isZero();
        }
    }

    static long partialBytes(Path ingest) throws IOException {
        if (!java.nio.file.Files.isDirectory(ingest)) {
            return 0;
        }
        try (var files = java.nio.file.Files.list(ingest)) {
            return files.filter(f -> f.toString().endsWith(".partial")).mapToLong(f -> f.toFile().length()).sum();
        }
    }
}
