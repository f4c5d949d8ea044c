package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressEvent;
import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Davit.Builder#progress} and {@link Davit.Builder#notices}: what a first run does (a pull from a real
 * docker-registry, an environment's pull, an environment's build) is heard, and a later run that finds everything
 * in place is quiet.
 */
class DavitProgressTest {
    private static final String IMAGE = "localhost/test/busybox:1";

    @TempDir
    Path tmp;

    final List<ProgressEvent> events = new CopyOnWriteArrayList<>();
    final List<String> notices = new CopyOnWriteArrayList<>();

    @BeforeEach
    void image() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox");
        Path rootfs = Files.createDirectories(tmp.resolve("src/bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), rootfs.resolve("busybox"));
        for (String a : List.of("sh", "echo", "true")) {
            Files.createSymbolicLink(rootfs.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp")) {
            Files.createDirectories(tmp.resolve("src").resolve(d));
        }
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("source")))) {
            c.build(tmp.resolve("src"), IMAGE, BuildOptions.defaults());
        }
    }

    private Davit open(Path home, dev.davit.env.Catalog catalog) {
        Davit.Builder b = Davit.builder().home(home).clientOptions(ClientOptions.anonymous(tmp.resolve("ignored")))
                .progress(events::add).notices(notices::add);
        return (catalog == null ? b : b.catalog(catalog)).build();
    }

    private void clear() {
        events.clear();
        notices.clear();
    }

    @Test
    void aPullIsHeardAndALaterRunIsQuiet() {
        try (TestRegistry registry = TestRegistry.start()) {
            String ref = registry.hostPort() + "/test/busybox:1";
            try (DavitClient c = DavitClient.create(ClientOptions.anonymous(tmp.resolve("source")))) {
                c.push(IMAGE, ref);
            }
            try (Davit davit = open(tmp.resolve("home"), null)) {
                ExecResult r = davit.run(ref, "echo", "hi");
                assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo("hi\n");
                assertThat(events).hasAtLeastOneElementOfType(ProgressEvent.BlobStarted.class)
                        .anyMatch(e -> e instanceof ProgressEvent.BlobDone d && !d.cached())
                        .anyMatch(e -> e instanceof ProgressEvent.Phase p && p.name().equals("done"));
                assertThat(notices).anyMatch(n -> n.equals("pulling " + ref))
                        .anyMatch(n -> n.startsWith("unpacking " + ref));
                clear();
                assertThat(davit.run(ref, "true").exitCode()).isZero();
                assertThat(events).isEmpty();
                assertThat(notices).isEmpty();

                // an environment published in the registry: its install's pull is heard too
                dev.davit.env.Environment box = new dev.davit.env.Environment("box:1", "2026.11.1",
                        dev.davit.env.Environment.Kind.CONTAINER, "test", "busybox", "1", List.of(), "linux/amd64",
                        null, new dev.davit.env.Environment.Source(null, ref, null, null), List.of("rootfs/"));
                try (Davit env = open(tmp.resolve("env-home"), new dev.davit.env.Catalog("2026.11", List.of(box)))) {
                    assertThat(env.run("box:1", "true").exitCode()).isZero();
                    assertThat(notices).contains("installing environment box:1 2026.11.1 (once; later uses find the"
                            + " install)");
                    assertThat(events).hasAtLeastOneElementOfType(ProgressEvent.BlobStarted.class);
                    clear();
                    assertThat(env.run("box:1", "true").exitCode()).isZero();
                    assertThat(notices).isEmpty();
                    assertThat(events).isEmpty();
                }
            }
        }
    }

    @Test
    void anEnvironmentsBuildIsHeard() {
        dev.davit.env.Environment bb = new dev.davit.env.Environment("bb:1", "2026.11.2",
                dev.davit.env.Environment.Kind.CONTAINER, "test", "busybox", "1", List.of(), "linux/amd64", null,
                new dev.davit.env.Environment.Source(null, null, null, null, "busybox"), List.of("rootfs/"));
        try (Davit davit = open(tmp.resolve("built-home"), new dev.davit.env.Catalog("2026.11", List.of(bb)))) {
            assertThat(davit.run("bb:1", "true").exitCode()).isZero();
            System.out.println("notices of a build: " + notices);
            assertThat(notices).first().isEqualTo("installing environment bb:1 2026.11.2 (once; later uses find the"
                    + " install)");
            assertThat(notices).contains("busybox root filesystem from the host's static busybox")
                    .anyMatch(n -> n.startsWith("storing the container image localhost/davit/busybox:2026.11.2: done"
                            + " in "));
            assertThat(events).isNotEmpty(); // storing the built image
        }
    }

    @Test
    void theHooksRefuseNull() {
        assertThatThrownBy(() -> Davit.builder().progress(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("Davit.Builder.progress: listener is null; give ProgressListener.NONE for none");
        assertThatThrownBy(() -> Davit.builder().notices(null)).hasMessageStartingWith("Davit.Builder.notices:");
        try (Davit davit = open(tmp.resolve("home"), null)) {
            assertThatThrownBy(() -> davit.run(null)).hasMessageStartingWith("Davit.run: reference is null;");
            assertThatThrownBy(() -> davit.workspace(null)).hasMessageStartingWith("Davit.workspace: reference is"
                    + " null;");
        }
    }
}
