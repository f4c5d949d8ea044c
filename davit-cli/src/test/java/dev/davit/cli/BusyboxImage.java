package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.TestRegistry;
import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A busybox image (sh and a few applets, Cmd, Env and WorkingDir set) built with davit and pushed to a registry. */
final class BusyboxImage {
    private BusyboxImage() {
    }

    /** Builds it in {@code work} and pushes it to {@code registry}; returns its reference. */
    static String push(Path work, TestRegistry registry) throws IOException {
        Path src = work.resolve("src");
        Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), src.resolve("bin/busybox"));
        for (String a : List.of("sh", "echo", "cat", "sleep", "env", "pwd", "ls", "true", "false")) {
            Files.createSymbolicLink(src.resolve("bin").resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp", "etc", "srv")) {
            Files.createDirectories(src.resolve(d));
        }
        String image = registry.hostPort() + "/sandbox/busybox:1";
        Cli builder = new Cli(work.resolve("builder-home"));
        Cli.Result b = builder.run("build", src.toString(), image, "--cmd", "[\"sh\",\"-c\",\"echo default in $PWD\"]",
                "--env", "GREETING=hello", "--workdir", "/srv");
        assertThat(b.rc()).as(b.toString()).isZero();
        Cli.Result p = builder.run("push", image);
        assertThat(p.rc()).as(p.toString()).isZero();
        return image;
    }
}
