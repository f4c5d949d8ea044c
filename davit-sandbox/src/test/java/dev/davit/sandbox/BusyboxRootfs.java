package dev.davit.sandbox;

import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/** A tiny root filesystem: Debian's statically linked busybox in bin/ with a few applet links. */
final class BusyboxRootfs {
    static final List<String> APPLETS = List.of("sh", "echo", "cat", "sleep", "env", "pwd", "ls", "true", "false",
            "id", "nc", "touch", "head");

    private BusyboxRootfs() {
    }

    /** Creates the rootfs in {@code dir}; skips the test when bwrap or busybox is missing (fails on CI). */
    static Path create(Path dir) throws IOException {
        Tools.assumeAvailable("bwrap");
        return createFor(dir);
    }

    /** Creates the rootfs in {@code dir} (needs busybox on the PATH, but not bwrap). */
    static Path populate(Path dir) throws IOException {
        return createFor(dir);
    }

    /** Creates the rootfs in {@code dir}; skips the test when busybox or one of {@code tools} is missing. */
    static Path createFor(Path dir, String... tools) throws IOException {
        Tools.assumeAvailable(tools);
        Tools.assumeAvailable("busybox");
        Path busybox = Tools.which("busybox").orElseThrow();
        Files.createDirectories(dir.resolve("bin"));
        Files.copy(busybox, dir.resolve("bin/busybox"), StandardCopyOption.REPLACE_EXISTING);
        for (String a : APPLETS) {
            Files.createSymbolicLink(dir.resolve("bin").resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "sys", "tmp", "run", "var/tmp", "etc", "work")) {
            Files.createDirectories(dir.resolve(d));
        }
        // as in a real root filesystem: everyone may write /tmp and /var/tmp (runc keeps the mode on its tmpfs)
        Tools.run("chmod", "1777", dir.resolve("tmp").toString(), dir.resolve("var/tmp").toString());
        Files.writeString(dir.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/work:/bin/sh\n");
        Files.writeString(dir.resolve("etc/group"), "root:x:0:\napp:x:1000:\n");
        return dir;
    }
}
