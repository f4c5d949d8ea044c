package dev.davit.junit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.Davit;
import dev.davit.OpenWorkspace;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link DavitExtension} as a consumer's tests use it: each test a {@code Davit} on a temporary home of its own,
 * removed after it; the image the first test builds is in the shared cache for the second, which neither builds,
 * pulls nor unpacks it again; the cache outlives the homes. Real bubblewrap sandboxes.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DavitExtensionTest {
    private static final String IMAGE = "localhost/test/busybox:1";
    private static final Path CACHE = tempDir();
    private static final List<Path> HOMES = new CopyOnWriteArrayList<>();
    private static final List<String> NOTICES = new CopyOnWriteArrayList<>();

    @RegisterExtension
    static final DavitExtension DAVIT = DavitExtension.withCache(CACHE)
            .configure(b -> b.notices(NOTICES::add));

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("davit-test-cache-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @BeforeEach
    void tools() {
        Tools.assumeAvailable("bwrap", "busybox");
        NOTICES.clear();
    }

    private static List<Path> unpacked() throws IOException {
        try (Stream<Path> s = Files.list(CACHE.resolve("rootfs"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("sha256-")).toList();
        }
    }

    @Test
    @Order(1)
    void theFirstTestBuildsTheImageIntoTheSharedCache(Davit davit) throws Exception {
        HOMES.add(davit.home());
        assertThat(davit.home().startsWith(CACHE)).isFalse();
        assertThat(davit.home()).isNotEqualTo(dev.davit.oci.client.DavitHome.resolve(System.getenv()));
        assertThat(davit.home().resolve("store")).isSymbolicLink();
        assertThat(davit.images().find(IMAGE)).isEmpty();
        Path src = Files.createTempDirectory("davit-test-src-");
        Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), src.resolve("bin/busybox"));
        for (String a : List.of("sh", "echo", "cat", "sleep")) {
            Files.createSymbolicLink(src.resolve("bin").resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp")) {
            Files.createDirectories(src.resolve(d));
        }
        davit.images().build(src, IMAGE);
        ExecResult r = davit.run(IMAGE, "echo", "first");
        assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo("first\n");
        assertThat(NOTICES).anyMatch(n -> n.startsWith("unpacking " + IMAGE));
        assertThat(unpacked()).hasSize(1);
        try (OpenWorkspace ws = davit.workspace(IMAGE)) {
            ws.files().write("a.txt", "in the home's workspace\n");
            assertThat(ws.exec("cat", "a.txt").stdoutText()).isEqualTo("in the home's workspace\n");
            assertThat(davit.home().resolve("workspaces").resolve(ws.id())).isDirectory();
        }
    }

    @Test
    @Order(2)
    void theSecondTestFindsItInAHomeOfItsOwn(Davit davit) throws Exception {
        HOMES.add(davit.home());
        assertThat(HOMES).doesNotHaveDuplicates();
        assertThat(HOMES.get(0)).as("the first test's home, removed").doesNotExist();
        List<Path> before = unpacked();
        Map<Path, Object> times = before.stream().collect(java.util.stream.Collectors.toMap(p -> p, p -> {
            try {
                return Files.getLastModifiedTime(p);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }));
        assertThat(davit.images().find(IMAGE)).isPresent();
        ExecResult r = davit.run(IMAGE, "echo", "second");
        assertThat(r.stdoutText()).as(r.stderrText()).isEqualTo("second\n");
        assertThat(NOTICES).as("nothing pulled or unpacked").isEmpty();
        assertThat(unpacked()).isEqualTo(before);
        for (Path p : before) {
            assertThat(Files.getLastModifiedTime(p)).isEqualTo(times.get(p));
        }
    }

    @AfterAll
    static void theHomesAreGoneAndTheCacheStays() throws IOException {
        try {
            if (HOMES.isEmpty()) {
                return; // skipped: no bwrap or busybox here (or -Ddavit.it.skip)
            }
            assertThat(HOMES).hasSize(2).allSatisfy(h -> assertThat(h).doesNotExist());
            assertThat(CACHE.resolve("store/index.json")).isRegularFile();
            assertThat(unpacked()).hasSize(1);
        } finally {
            dev.davit.oci.internal.Fs.deleteTree(CACHE);
        }
    }
}
