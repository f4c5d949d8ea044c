package dev.davit.oci.unpack;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Creates device nodes and fifos with the {@code mknod} program (Java has no {@code mknod(2)}). Arguments are
 * passed without a shell; the path is always absolute, so it can never be taken for an option.
 */
final class SpecialFiles {
    private static final Optional<Path> MKNOD = find("mknod");

    private SpecialFiles() {
    }

    /** Whether a {@code mknod} program is on the PATH. */
    static boolean available() {
        return MKNOD.isPresent();
    }

    /**
     * Runs {@code mknod -m MODE PATH TYPE [MAJOR MINOR]}.
     *
     * @param type {@code 'c'} (character device), {@code 'b'} (block device) or {@code 'p'} (fifo)
     */
    static void mknod(Path path, char type, int mode, int major, int minor) throws IOException {
        if (!path.isAbsolute()) {
            throw new IllegalArgumentException("path must be absolute");
        }
        List<String> cmd = type == 'p'
                ? List.of(MKNOD.orElseThrow().toString(), "-m", Integer.toOctalString(mode & 07777), path.toString(),
                        "p")
                : List.of(MKNOD.orElseThrow().toString(), "-m", Integer.toOctalString(mode & 07777), path.toString(),
                        String.valueOf(type), Integer.toString(major), Integer.toString(minor));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readNBytes(4096), StandardCharsets.UTF_8).strip();
        }
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("mknod did not finish within 30 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running mknod", e);
        }
        if (p.exitValue() != 0) {
            throw new IOException("mknod exited " + p.exitValue() + (out.isEmpty() ? "" : ": " + out.lines().findFirst()
                    .orElse("")));
        }
    }

    private static Optional<Path> find(String tool) {
        String path = System.getenv("PATH");
        if (path == null || path.isEmpty()) {
            path = "/usr/bin:/bin:/usr/sbin:/sbin";
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty() || !dir.startsWith("/")) {
                continue;
            }
            Path p = Path.of(dir, tool);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
