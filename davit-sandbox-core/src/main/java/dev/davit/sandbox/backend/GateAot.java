package dev.davit.sandbox.backend;

import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.network.Gate;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The egress gate's AOT cache (Java 25 or later): the classes its start loads and links, the FFM downcall among them,
 * mapped from a file instead of made again by each gate, which halves the time until it serves. One cache per class
 * path (its entries' paths, sizes and modification times), runtime and way of starting (as root the class path is
 * open files), in {@code ~/.cache/davit/gate-aot/} of the user davit runs as (0700: a cache is code the gate runs, so
 * no other user may write one), made once in the background by a training run of the gate ({@code Gate --train},
 * which loads what a gate loads and serves nothing) the first time a gate starts without one; that gate, and any
 * started before the cache is ready, start without it. A training that fails is not tried again for that key.
 */
final class GateAot {
    private GateAot() {
    }

    /** The cache for class path {@code cp}, or null (none yet: a training is started; or a runtime before 25). */
    static Path cache(List<String> cp, boolean asRoot) {
        if (Runtime.version().feature() < 25 || System.getProperty("user.home") == null) {
            return null;
        }
        try {
            // as root never $XDG_CACHE_HOME (an environment sudo -E or a service may carry from another user)
            String home = asRoot ? null : System.getenv("XDG_CACHE_HOME");
            Path dir = (home != null && home.startsWith("/") ? Path.of(home) : Path.of(System.getProperty("user.home"),
                    ".cache")).resolve("davit").resolve("gate-aot");
            if (!trusted(dir)) {
                return null;
            }
            String key = key(cp, asRoot);
            Path aot = dir.resolve("gate-" + key + ".aot");
            if (Files.isRegularFile(aot)) {
                return aot;
            }
            Path failed = dir.resolve("gate-" + key + ".failed");
            Path training = dir.resolve("gate-" + key + ".training");
            if (Files.exists(failed)) {
                return null;
            }
            try {
                Files.createFile(training); // one training at a time (a stale marker: removed after a day)
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (Files.getLastModifiedTime(training).toMillis() > System.currentTimeMillis() - 86_400_000L) {
                    return null;
                }
                Files.setLastModifiedTime(training, java.nio.file.attribute.FileTime.fromMillis(
                        System.currentTimeMillis()));
            }
            train(dir, key, cp, asRoot);
        } catch (IOException | RuntimeException e) {
            // no cache: the gate starts without one
        }
        return null;
    }

    /**
     * Whether {@code dir} (made here when missing, 0700) and every directory above it are this user's or root's, no
     * link, and writable by no one else (or root's and sticky, as /tmp): a cache and the training script in it are
     * code davit runs.
     */
    static boolean trusted(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.setAttribute(dir, "unix:mode", 0700, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        int me = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        for (Path p = dir.toAbsolutePath(); p != null; p = p.getParent()) {
            var a = Files.readAttributes(p, java.nio.file.attribute.PosixFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
            int owner = (Integer) Files.getAttribute(p, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            // writable by others only as /tmp is: root's and sticky (no one else may rename what is in it)
            boolean rootSticky = owner == 0 && (mode & 01000) != 0;
            if (!a.isDirectory() || (owner != me && owner != 0) || ((mode & 022) != 0 && !rootSticky)) {
                return false;
            }
        }
        return true;
    }

    private static String key(List<String> cp, boolean asRoot) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        StringBuilder b = new StringBuilder(System.getProperty("java.home")).append('\n')
                .append(Runtime.version()).append('\n').append(asRoot).append('\n')
                .append(String.join(" ", Egress.JVM_OPTIONS)).append('\n');
        for (String e : cp) {
            Path p = Path.of(e);
            b.append(e).append(' ').append(Files.size(p)).append(' ')
                    .append(Files.getLastModifiedTime(p).toMillis()).append('\n');
        }
        return HexFormat.of().formatHex(md.digest(b.toString().getBytes(StandardCharsets.UTF_8)), 0, 12);
    }

    /** Starts the training run, detached: record the gate's start, make the cache, rename it into place. */
    private static void train(Path dir, String key, List<String> cp, boolean asRoot) throws IOException {
        String base = dir.resolve("gate-" + key).toString();
        List<String> record = new ArrayList<>(Egress.jvm(cp, null));
        record.remove("-Xshare:auto"); // AOTMode=record refuses it
        int at = record.indexOf("-cp");
        List<String> create = new ArrayList<>(record);
        record.addAll(at, List.of("-XX:AOTMode=record", "-XX:AOTConfiguration=" + base + ".conf"));
        record.addAll(List.of(Gate.class.getName(), "--train"));
        create.addAll(at, List.of("-XX:AOTMode=create", "-XX:AOTConfiguration=" + base + ".conf",
                "-XX:AOTCache=" + base + ".tmp"));
        // the two runs as a script beside the cache (removed at its end)
        StringBuilder sh = new StringBuilder("#!/bin/sh\n");
        String open = asRoot ? opening(cp) : "";
        sh.append(open).append(quote(record)).append(" >/dev/null 2>&1 && ").append(quote(create))
                .append(" >/dev/null 2>&1 && chmod 0644 ").append(quote(List.of(base + ".tmp"))).append(" && mv -f ")
                .append(quote(List.of(base + ".tmp", base + ".aot"))).append(" || : > ")
                .append(quote(List.of(base + ".failed"))).append("\nrm -f ").append(quote(List.of(base + ".conf",
                        base + ".tmp", base + ".training", base + ".sh"))).append('\n');
        Path file = Path.of(base + ".sh");
        Files.writeString(file, sh.toString(), StandardCharsets.UTF_8);
        ProcessBuilder pb = new ProcessBuilder(Files.isExecutable(Path.of("/usr/bin/setsid")) ? "/usr/bin/setsid"
                : "setsid", cp.size() <= 7 ? "/bin/sh" : "/bin/bash", file.toString());
        pb.environment().clear();
        pb.environment().put("PATH", Jail.HOST_PATH);
        pb.directory(dir.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.redirectErrorStream(true);
        pb.start();
    }

    /** As root, the shell line that opens the class path as descriptors 3, 4, ... (as {@link Egress#opening}). */
    private static String opening(List<String> files) {
        StringBuilder b = new StringBuilder("exec");
        for (int i = 0; i < files.size(); i++) {
            b.append(' ').append(i + 3).append('<').append(quote(List.of(files.get(i))));
        }
        return b.append('\n').toString();
    }

    private static String quote(List<String> args) {
        StringBuilder b = new StringBuilder();
        for (String a : args) {
            b.append(b.isEmpty() ? "" : " ").append('\'').append(a.replace("'", "'\\''")).append('\'');
        }
        return b.toString();
    }
}
