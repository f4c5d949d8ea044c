package dev.davit.sandbox;

import dev.davit.oci.testkit.Tools;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/** A tiny root filesystem: Debian's statically linked busybox in bin/ with a few applet links. */
public final class BusyboxRootfs {
    static final List<String> APPLETS = List.of("sh", "echo", "cat", "sleep", "env", "pwd", "ls", "true", "false",
            "id", "nc", "touch", "head");

    private BusyboxRootfs() {
    }

    /** Creates the rootfs in {@code dir}; skips the test when bwrap or busybox is missing (fails on CI). */
    public static Path create(Path dir) throws IOException {
        Tools.assumeAvailable("bwrap");
        return createFor(dir);
    }

    /** Creates the rootfs in {@code dir} (needs busybox on the PATH, but not bwrap). */
    public static Path populate(Path dir) throws IOException {
        return createFor(dir);
    }

    /** Creates the rootfs in {@code dir}; skips the test when busybox or one of {@code tools} is missing. */
    public static Path createFor(Path dir, String... tools) throws IOException {
        scratch(dir, tools);
        for (String d : List.of("proc", "dev", "sys", "tmp", "run", "var/tmp", "etc", "work")) {
            Files.createDirectories(dir.resolve(d));
        }
        // as in a real root filesystem: everyone may write /tmp and /var/tmp (runc keeps the mode on its tmpfs)
        Tools.run("chmod", "1777", dir.resolve("tmp").toString(), dir.resolve("var/tmp").toString());
        Files.writeString(dir.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/work:/bin/sh\n");
        Files.writeString(dir.resolve("etc/group"), "root:x:0:\napp:x:1000:\n");
        return dir;
    }

    /**
     * A "scratch" image's root filesystem in {@code dir}: only bin/busybox and its applet links, no /proc, /dev,
     * /sys, /tmp or /etc (as {@code davit build} makes from a plain directory); skips the test when busybox or one
     * of {@code tools} is missing.
     */
    public static Path scratch(Path dir, String... tools) throws IOException {
        Tools.assumeAvailable(tools);
        Tools.assumeAvailable("busybox");
        Path busybox = Tools.which("busybox").orElseThrow();
        Files.createDirectories(dir.resolve("bin"));
        Files.copy(busybox, dir.resolve("bin/busybox"), StandardCopyOption.REPLACE_EXISTING);
        for (String a : APPLETS) {
            Files.createSymbolicLink(dir.resolve("bin").resolve(a), Path.of("busybox"));
        }
        return dir;
    }

    /** A digest over every entry's name, type, mode, link target and content. */
    public static String digest(Path dir) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        List<Path> all;
        try (Stream<Path> s = Files.walk(dir)) {
            all = s.sorted().toList();
        }
        for (Path p : all) {
            md.update((dir.relativize(p) + "\0").getBytes(StandardCharsets.UTF_8));
            if (Files.isSymbolicLink(p)) {
                md.update(("l " + Files.readSymbolicLink(p) + "\0").getBytes(StandardCharsets.UTF_8));
                continue;
            }
            md.update((PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS))
                    + Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS)
                    + "\0").getBytes(StandardCharsets.UTF_8));
            if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                md.update(Files.readAllBytes(p));
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The names in {@code dir} (a sandboxes' state directory): none when it does not exist. */
    public static List<String> entries(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }
}
