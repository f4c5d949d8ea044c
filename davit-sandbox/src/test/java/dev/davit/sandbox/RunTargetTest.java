package dev.davit.sandbox;

import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.target.RunTargets;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RunTargets#ofImage}: an image reference made runnable through the library alone (pulled when missing,
 * unpacked once into the shared cache, its config read), then run; over a real registry and bubblewrap.
 */
class RunTargetTest {
    @TempDir
    Path tmp;

    /** A busybox image with Env and WorkingDir, built into the store of {@code client}. */
    private String build(DavitClient client, String ref) throws Exception {
        Path rootfs = BusyboxRootfs.create(tmp.resolve("src"));
        Files.createDirectories(rootfs.resolve("srv"));
        client.build(rootfs, ref, BuildOptions.builder().env("GREETING", "hello").workdir("/srv")
                .cmd(List.of("sh", "-c", "echo default")).build(), ProgressListener.NONE);
        return ref;
    }

    private static List<String> entries(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void concurrentCallsUnpackOnceAndTheResultRunsWithTheImagesDefaults() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox");
        Path home = tmp.resolve("home");
        try (DavitClient client = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            String ref = build(client, "localhost/test/busybox:1");
            ExecutorService pool = Executors.newFixedThreadPool(4);
            CountDownLatch go = new CountDownLatch(1);
            ConcurrentLinkedQueue<String> notes = new ConcurrentLinkedQueue<>();
            List<Future<RunTarget>> calls = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                calls.add(pool.submit(() -> {
                    go.await();
                    return RunTargets.ofImage(client, home, ref, null, notes::add);
                }));
            }
            go.countDown();
            List<RunTarget> got = new ArrayList<>();
            for (Future<RunTarget> f : calls) {
                got.add(f.get());
            }
            pool.shutdown();
            assertThat(new HashSet<>(got)).hasSize(1);
            RunTarget t = got.get(0);
            assertThat(t.backend()).isEqualTo(RunSpec.CONTAINER);
            assertThat(t.digest()).startsWith("sha256:");
            assertThat(t.rootfs()).isEqualTo(home.resolve("rootfs").resolve(t.digest().replace(':', '-')));
            // one tree in the cache, no half-unpacked one left beside it
            assertThat(entries(home.resolve("rootfs"))).containsExactly(t.rootfs().getFileName().toString());
            assertThat(t.image().env()).contains("GREETING=hello");
            assertThat(t.image().workingDir()).isEqualTo("/srv");
            assertThat(notes).allMatch(n -> n.startsWith("unpacking "));

            ExecResult r = new Sandboxes(SandboxOptions.under(home)).run(RunSpec.builder(t.rootfs())
                    .command("sh", "-c", "echo $GREETING in $PWD").timeout(Duration.ofSeconds(30))
                    .network(Network.NONE).image(t.image()).limits(Limits.NONE).build());
            assertThat(r.exitCode()).as(r.stderrText()).isZero();
            assertThat(r.stdoutText()).isEqualTo("hello in /srv\n");

            // a second call finds it all in place: nothing said, nothing done
            notes.clear();
            assertThat(RunTargets.ofImage(client, home, ref, null, notes::add)).isEqualTo(t);
            assertThat(notes).isEmpty();
        }
    }

    @Test
    void aMissingImageIsPulledThenUnpacked() throws Exception {
        Tools.assumeAvailable("busybox", Tools.REGISTRY);
        try (TestRegistry registry = TestRegistry.start();
             DavitClient builder = DavitClient.create(ClientOptions.anonymous(tmp.resolve("builder")));
             DavitClient client = DavitClient.create(ClientOptions.anonymous(tmp.resolve("home/store")))) {
            String ref = registry.hostPort() + "/test/busybox:1";
            build(builder, ref);
            builder.push(ref, ref, ProgressListener.NONE);
            List<String> notes = new ArrayList<>();
            List<Object> events = new ArrayList<>();
            RunTarget t = RunTargets.ofImage(client, tmp.resolve("home"), ref, events::add, notes::add);
            assertThat(notes).hasSize(2);
            assertThat(notes.get(0)).isEqualTo("pulling " + ref);
            assertThat(notes.get(1)).startsWith("unpacking " + ref + " into ");
            assertThat(events).isNotEmpty(); // the transfer was reported
            assertThat(t.rootfs().resolve("bin/busybox")).isRegularFile();
            assertThat(client.find(ref)).isPresent();

            assertThatThrownBy(() -> RunTargets.ofImage(client, tmp.resolve("home"), registry.hostPort()
                    + "/test/missing:1", null, null)).isInstanceOf(DavitException.class);
        }
    }

    /**
     * A listener that holds the download of {@code layer} until an earlier layer's file ({@code hello.txt}, in the
     * first layer) is unpacked somewhere under {@code cache}: it returns only if the unpack goes on while that layer
     * still downloads (a pull-then-unpack never gets there: the wait ends after a minute, and {@code seen} stays false).
     */
    private static ProgressListener holdingUntilUnpacked(String layer, Path cache, java.util.concurrent.atomic.AtomicBoolean seen) {
        return e -> {
            if (e instanceof dev.davit.oci.copy.ProgressEvent.BlobStarted b && b.descriptor().digest().toString().equals(layer)) {
                long until = System.nanoTime() + 60_000_000_000L;
                while (!seen.get() && System.nanoTime() < until) {
                    try (Stream<Path> all = Files.exists(cache) ? Files.walk(cache, 3) : Stream.empty()) {
                        seen.set(all.anyMatch(f -> f.getFileName().toString().equals(
                                dev.davit.oci.testkit.Fixtures.HELLO_PATH)));
                        Thread.sleep(20);
                    } catch (Exception ex) {
                        // a tree being made or removed while walked: look again
                    }
                }
            }
        };
    }

    @Test
    void aMissingImagesLayersAreUnpackedWhileTheLastOneDownloads() throws Exception {
        Tools.assumeAvailable(Tools.REGISTRY, Tools.SKOPEO, Tools.UMOCI);
        try (TestRegistry registry = TestRegistry.start();
             DavitClient client = DavitClient.create(ClientOptions.anonymous(tmp.resolve("home/store")))) {
            dev.davit.oci.testkit.PushedImage img = dev.davit.oci.testkit.Fixtures.pushImage(registry, "test/three", "1");
            String last = img.layerDigests().get(img.layerDigests().size() - 1);
            var seen = new java.util.concurrent.atomic.AtomicBoolean();
            List<String> notes = new ArrayList<>();
            RunTarget t = RunTargets.ofImage(client, tmp.resolve("home"), img.reference(),
                    holdingUntilUnpacked(last, tmp.resolve("home/rootfs"), seen), notes::add);
            assertThat(seen).as("the first layer was unpacked while the last one downloaded").isTrue();
            assertThat(notes).containsExactly("pulling " + img.reference(), "unpacking " + img.reference() + " into "
                    + t.rootfs() + " (as its layers arrived)");
            assertThat(t.rootfs().resolve(dev.davit.oci.testkit.Fixtures.HELLO_PATH)).hasContent(
                    dev.davit.oci.testkit.Fixtures.HELLO_TEXT);
            assertThat(t.rootfs().resolve(dev.davit.oci.testkit.Fixtures.DATA_PATH)).hasSize(
                    dev.davit.oci.testkit.Fixtures.DATA_SIZE);
            assertThat(t.rootfs().resolve(dev.davit.oci.testkit.Fixtures.REMOVED_PATH)).doesNotExist();
            assertThat(entries(tmp.resolve("home/rootfs"))).containsExactly(t.rootfs().getFileName().toString());
        }
    }

    @Test
    void aMissingImageWhoseLastLayerIsCorruptLeavesNothingUnpacked() throws Exception {
        Tools.assumeAvailable(Tools.REGISTRY, Tools.SKOPEO, Tools.UMOCI);
        try (TestRegistry registry = TestRegistry.start();
             dev.davit.oci.testkit.FaultProxy proxy = dev.davit.oci.testkit.FaultProxy.start(registry);
             DavitClient client = DavitClient.create(ClientOptions.anonymous(tmp.resolve("home/store")))) {
            dev.davit.oci.testkit.PushedImage img = dev.davit.oci.testkit.Fixtures.pushImage(registry, "test/three", "1");
            String last = img.layerDigests().get(img.layerDigests().size() - 1);
            proxy.add(dev.davit.oci.testkit.Fault.flipByte(10).onBlob(last).always());
            String ref = proxy.hostPort() + "/" + img.repository() + ":" + img.tag();
            var seen = new java.util.concurrent.atomic.AtomicBoolean();
            assertThatThrownBy(() -> RunTargets.ofImage(client, tmp.resolve("home"), ref,
                    holdingUntilUnpacked(last, tmp.resolve("home/rootfs"), seen), null))
                    .isInstanceOf(DavitException.class)
                    .matches(e -> ((DavitException) e).kind() == DavitException.Kind.VERIFICATION)
                    .hasMessageContaining(last);
            assertThat(seen).as("the first layer was unpacked before the last one failed").isTrue();
            assertThat(entries(tmp.resolve("home/rootfs"))).isEmpty();
            assertThat(client.find(ref)).isEmpty();
        }
    }
}
