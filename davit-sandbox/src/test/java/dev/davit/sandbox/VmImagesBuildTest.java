package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class VmImagesBuildTest {
    @Test
    void buildsTheTestEnvironment() throws Exception {
        long t0 = System.nanoTime();
        Path env = VmTestEnvironment.get();
        System.out.println("env " + env + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertThat(env.resolve("vmlinux")).isRegularFile();
        assertThat(env.resolve("initrd")).isRegularFile();
        assertThat(env.resolve("rootfs.ext4")).isRegularFile();
        System.out.println(Files.size(env.resolve("initrd")) + " " + Files.size(env.resolve("rootfs.ext4")));
    }
}
