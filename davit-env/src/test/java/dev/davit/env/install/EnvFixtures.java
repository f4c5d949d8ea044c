package dev.davit.env.install;

import dev.davit.env.Catalog;
import dev.davit.env.Environment;
import dev.davit.oci.artifact.Artifacts;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.copy.PushResult;
import dev.davit.oci.testkit.Fixtures;
import dev.davit.oci.testkit.PushedImage;
import dev.davit.oci.testkit.TestRegistry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** A real registry with a container image and a microVM artifact, and environments over them. */
final class EnvFixtures implements AutoCloseable {
    static final String PLATFORM = "linux/amd64";
    static final byte[] VMLINUX = Fixtures.randomBytes(100_000, 11);
    static final byte[] ROOTFS = Fixtures.randomBytes(300_000, 12);

    final TestRegistry registry;
    final PushedImage image;
    final String vmRef;
    final String vmDigest;
    /** The same files stored zstd-compressed (as davit env build stores them). */
    final String vmZstdRef;
    final Path dir;

    EnvFixtures(Path dir) {
        this.dir = dir;
        registry = TestRegistry.start();
        image = Fixtures.pushImage(registry, "env/debian", "12");
        try {
            Path src = Files.createDirectories(dir.resolve("vm-src"));
            Files.write(src.resolve("vmlinux"), VMLINUX);
            Files.write(src.resolve("rootfs.ext4"), ROOTFS);
            vmRef = registry.hostPort() + "/env/vm:1";
            try (DavitClient pub = DavitClient.create(ClientOptions.anonymous(dir.resolve("publisher-store")))) {
                PushResult r = pub.artifacts().push(vmRef, "application/vnd.davit.env.microvm.v1", List.of(
                        new Artifacts.FileSpec(src.resolve("vmlinux"), "application/vnd.davit.env.kernel.v1"),
                        new Artifacts.FileSpec(src.resolve("rootfs.ext4"), "application/vnd.davit.env.ext4.v1")),
                        Map.of(), ProgressListener.NONE);
                vmDigest = r.top().digest().toString();
                vmZstdRef = registry.hostPort() + "/env/vm-zstd:1";
                pub.artifacts().push(vmZstdRef, "application/vnd.davit.env.microvm.v1", List.of(
                        new Artifacts.FileSpec(src.resolve("vmlinux"), "application/vnd.davit.env.kernel.v1", true),
                        new Artifacts.FileSpec(src.resolve("rootfs.ext4"), "application/vnd.davit.env.ext4.v1", true)),
                        Map.of(), ProgressListener.NONE);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Environment container(String name, String version, Environment.Source source) {
        return new Environment(name, version, Environment.Kind.CONTAINER, "test", "debian", "12", List.of(),
                PLATFORM, null, source, List.of("rootfs/"));
    }

    static Environment microvm(String name, String version, Environment.Source source) {
        return new Environment(name, version, Environment.Kind.MICROVM, "test", "debian", "12", List.of(),
                PLATFORM, null, source, List.of("vmlinux", "rootfs.ext4"));
    }

    Environment containerEnv() {
        return container("debian:12", "2026.11.1", new Environment.Source(null, image.reference(), null, null));
    }

    Environment vmEnv() {
        return microvm("debian:12-vm", "2026.11.1", new Environment.Source(null, vmRef, null, null));
    }

    static Catalog catalog(Environment... envs) {
        return new Catalog("2026.11", List.of(envs));
    }

    /** A directory holding the microVM artifacts (a profile). */
    static Path profile(Path dir, String... names) throws IOException {
        Files.createDirectories(dir);
        for (String n : names) {
            Files.write(dir.resolve(n), n.equals("vmlinux") ? VMLINUX : ROOTFS);
        }
        return dir;
    }

    @Override
    public void close() {
        registry.close();
    }
}
