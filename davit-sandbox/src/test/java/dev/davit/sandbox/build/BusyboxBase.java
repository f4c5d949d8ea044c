package dev.davit.sandbox.build;

import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A base image's root filesystem for the build tests: busybox in /bin with the applets asked for, and directories. */
final class BusyboxBase {
    private BusyboxBase() {
    }

    /** Makes it in {@code src}: {@code /bin/busybox}, a link to it for each of {@code applets}, each of {@code dirs}. */
    static Path make(Path src, List<String> applets, List<String> dirs) throws IOException {
        Path bin = Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), bin.resolve("busybox"));
        for (String a : applets) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        for (String d : dirs) {
            Files.createDirectories(src.resolve(d));
        }
        return src;
    }
}
