package dev.davit.oci.testkit;

import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A busybox image built with davit from the host's static busybox and pushed to a test registry: sh, cat, echo,
 * sleep (a long-lived sandbox's keeper), test and true.
 */
public final class BusyboxImage {
    private BusyboxImage() {
    }

    /** A test registry serving the image: what a test of tools that pull one starts in its {@code @BeforeAll}. */
    public record Served(TestRegistry registry, String image) implements AutoCloseable {
        @Override
        public void close() {
            registry.close();
        }
    }

    /**
     * Starts a registry and pushes the image (built under {@code work}) to it; skips the test (an assumption) where
     * bwrap, busybox or docker-registry is missing.
     */
    public static Served serve(Path work) throws IOException {
        Tools.assumeAvailable("bwrap", "busybox", Tools.REGISTRY);
        TestRegistry registry = TestRegistry.start();
        try {
            return new Served(registry, push(work, registry));
        } catch (IOException | RuntimeException e) {
            registry.close();
            throw e;
        }
    }

    /** Builds it under {@code work}, pushes it to {@code registry} and returns its reference. */
    public static String push(Path work, TestRegistry registry) throws IOException {
        Path bin = Files.createDirectories(work.resolve("src/bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), bin.resolve("busybox"));
        for (String a : List.of("sh", "cat", "echo", "sleep", "test", "true")) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp")) {
            Files.createDirectories(work.resolve("src").resolve(d));
        }
        String ref = registry.hostPort() + "/testkit/busybox:1";
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(work.resolve("builder")))) {
            c.build(work.resolve("src"), ref, BuildOptions.defaults());
            c.push(ref, ref);
        }
        return ref;
    }
}
