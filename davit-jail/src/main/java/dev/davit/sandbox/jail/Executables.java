package dev.davit.sandbox.jail;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The one way davit puts a program on the host that it then executes (davit-exec, an environment's busybox):
 * nothing may execute it before it is complete and closed everywhere, else exec fails with ETXTBSY ("Text file
 * busy"). A temp file and a rename are not enough in a JVM: it opens files without {@code O_CLOEXEC}, so a process
 * that another thread starts meanwhile inherits the writable descriptor and holds it until its launcher closes it,
 * after the rename. So the JVM never opens the installed file for writing: {@code cp} (a process that starts
 * nothing) writes it under a temp name from the content or the source; it is made executable, forced to disk and
 * renamed into place, when {@code cp} has exited. Not API.
 */
public final class Executables {
    /** One install at a time per target in this JVM (another process's install is raced by the rename). */
    private static final Map<Path, Object> LOCKS = new ConcurrentHashMap<>();

    private Executables() {
    }

    /**
     * Installs {@code content} as {@code target} with {@code mode}, unless a file of that name is there already
     * (the name says what is in it, e.g. its checksum).
     *
     * @param target  the program's path; its directory is made when missing
     * @param content the program
     * @param mode    its permission bits, e.g. {@code 0755}
     * @return {@code target}
     * @throws IOException when it cannot be written
     */
    public static Path installOnce(Path target, byte[] content, int mode) throws IOException {
        return installOnce(target, () -> content, mode);
    }

    /** The bytes of a program to install, read only when it is not installed yet. */
    @FunctionalInterface
    public interface Content {
        byte[] read() throws IOException;
    }

    /**
     * {@link #installOnce(Path, byte[], int)} with the content read only when the file is not there yet.
     *
     * @param target  the program's path; its directory is made when missing
     * @param content reads the program
     * @param mode    its permission bits, e.g. {@code 0755}
     * @return {@code target}
     * @throws IOException when it cannot be read or written
     */
    public static Path installOnce(Path target, Content content, int mode) throws IOException {
        if (trusted(target, mode)) {
            return target;
        }
        synchronized (LOCKS.computeIfAbsent(target, k -> new Object())) {
            if (trusted(target, mode)) {
                return target;
            }
            Path dir = Files.createDirectories(target.toAbsolutePath().getParent());
            Path source = temp(dir, target, "src");
            try {
                Files.write(source, content.read(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                copy(source, target, mode);
            } finally {
                Files.deleteIfExists(source);
            }
            return target;
        }
    }

    /**
     * Installs a copy of {@code source} (e.g. a host program) as {@code target} with {@code mode}, replacing what
     * is there.
     *
     * @param source the file to copy
     * @param target the copy's path, in an existing directory
     * @param mode   its permission bits, e.g. {@code 0755}
     * @throws IOException when it cannot be written
     */
    public static void copy(Path source, Path target, int mode) throws IOException {
        Path tmp = temp(target.toAbsolutePath().getParent(), target, "tmp");
        try {
            ProcessBuilder pb = new ProcessBuilder(cp(), "--", source.toString(), tmp.toString());
            pb.environment().clear();
            pb.environment().put("PATH", dev.davit.sandbox.jail.Jail.HOST_PATH);
            pb.redirectErrorStream(true);
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            Process p = pb.start();
            String said;
            try (var in = p.getInputStream()) {
                said = new String(in.readNBytes(4096), StandardCharsets.UTF_8).strip();
            }
            if (!waitUninterruptibly(p) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("cp " + source + " failed" + (said.isEmpty() ? "" : ": " + said));
            }
            Files.setAttribute(tmp, "unix:mode", mode); // by path: no descriptor for writing
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.READ)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Whether {@code target} is an install to run as it is: a regular file itself (not a link to one), of this
     * process's user, with {@code mode} and nobody else's write bit. Anything else there is replaced: it is run by
     * the host as root (a home that another user can write to, or one that the file was put into by hand).
     */
    private static boolean trusted(Path target, int mode) throws IOException {
        try {
            var a = Files.readAttributes(target, "unix:mode,uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            int m = (Integer) a.get("mode");
            return (m & 0170000) == 0100000 && (m & 07777) == mode && (mode & 022) == 0
                    && ((Integer) a.get("uid")) == dev.davit.sandbox.host.Host.uid();
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        }
    }

    /** {@code cp} from the host's system directories ({@link dev.davit.sandbox.jail.Jail#hostProgram}). */
    private static String cp() throws IOException {
        Path cp = dev.davit.sandbox.jail.Jail.hostProgram("cp");
        if (cp == null) {
            throw new IOException("cp (coreutils) is not installed in /usr/bin, /bin or /usr/local/bin");
        }
        return cp.toString();
    }

    /** A name for a temp file beside {@code target} in {@code dir}. */
    private static Path temp(Path dir, Path target, String what) {
        return dir.resolve("." + target.getFileName() + "." + dev.davit.oci.internal.RandomHex.of(6) + "." + what);
    }

    /**
     * Waits up to 30 s for {@code p} (a copy is quick), through an interrupt (a half-made install is left to no
     * one), which is kept.
     */
    private static boolean waitUninterruptibly(Process p) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
