package dev.davit.cli;

import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixture of the CLI tests that run sandboxes: {@link BusyboxImage} pushed to a real registry once per class
 * ({@link #image}), and a fresh davit home per test ({@link #home}).
 */
abstract class BusyboxRegistryTest {
    static TestRegistry registry;
    static String image;

    @TempDir
    static Path shared;

    @TempDir
    Path home;

    @BeforeAll
    static void up() throws IOException {
        Tools.assumeAvailable("bwrap", "busybox", Tools.REGISTRY);
        registry = TestRegistry.start();
        image = BusyboxImage.push(shared, registry);
    }

    @AfterAll
    static void down() {
        if (registry != null) {
            registry.close();
        }
    }
}
