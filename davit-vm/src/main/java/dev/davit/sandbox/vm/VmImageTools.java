package dev.davit.sandbox.vm;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.SandboxOptions;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * The host programs {@link VmImages} runs (apt-get, apt-cache, dpkg-deb, xz, mkfs.ext4, debugfs): finding them on
 * the search path, running one (its stdout back, its stderr in the failure), downloading a Debian package and
 * reading a package's files as a tar stream.
 */
final class VmImageTools {
    private final Path cacheDir;
    private final String searchPath;

    /** Tools found along {@code searchPath} (null: the process's PATH), as {@link SandboxOptions#which} finds them. */
    VmImageTools(Path cacheDir, String searchPath) {
        this.cacheDir = cacheDir;
        this.searchPath = searchPath;
    }

    Path which(String name) {
        return SandboxOptions.of(cacheDir).withSearchPath(searchPath).which(name);
    }

    Path tool(String name, String pkg) {
        Path p = which(name);
        if (p == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, name + " is not installed; install " + pkg);
        }
        return p;
    }

    /** Downloads {@code pkg} with {@code apt-get download} into {@code dir}; returns the .deb. */
    Path download(String pkg, Path dir) throws IOException {
        Path aptGet = tool("apt-get", "apt (VM kernels come from Debian packages)");
        run(List.of(aptGet.toString(), "download", "-q", pkg), dir, null, "apt-get cannot download " + pkg
                + " (run apt-get update, or check the package name)");
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(pkg + "_")
                            && p.getFileName().toString().endsWith(".deb")).findFirst()
                    .orElseThrow(() -> new DavitException(Kind.NOT_FOUND, "apt-get download " + pkg
                            + " wrote no .deb"));
        }
    }

    @FunctionalInterface
    interface EntryReader {
        void read(String name, InputStream in) throws IOException;
    }

    /** Runs {@code cmd} and reads its stdout as a tar stream, handing each regular file to {@code reader}. */
    static void streamTar(List<String> cmd, EntryReader reader) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        try (TarArchiveInputStream tar = new TarArchiveInputStream(p.getInputStream())) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (e.isFile()) {
                    reader.read(e.getName(), tar);
                }
            }
            tar.transferTo(OutputStream.nullOutputStream());
        } finally {
            try {
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        if (p.exitValue() != 0) {
            throw new DavitException(Kind.VERIFICATION, cmd.get(0) + " failed: " + oneLine(err.join()));
        }
    }

    /** Runs a tool; returns its stdout, or throws {@code failure} with the tool's stderr. */
    static byte[] run(List<String> cmd, Path cwd, byte[] stdin, String failure) {
        return run(cmd, cwd, stdin, failure, Map.of());
    }

    static byte[] run(List<String> cmd, Path cwd, byte[] stdin, String failure, Map<String, String> env) {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        if (cwd != null) {
            pb.directory(cwd.toFile());
        }
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start " + cmd.get(0) + ": " + e.getMessage());
        }
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        try {
            if (stdin != null) {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin);
                } catch (IOException e) {
                    // the tool exited early; its exit code and stderr tell why
                }
            }
            int rc = p.waitFor();
            if (rc != 0) {
                String why = oneLine(err.join());
                throw new DavitException(Kind.INTERNAL, failure + (why.isEmpty() ? " (exit " + rc + ")" : ": " + why));
            }
            return out.join();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while " + cmd.get(0) + " ran");
        }
    }

    static byte[] readAll(InputStream in) {
        try (in) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last non-blank line of a tool's stderr, without apt's noise about unsandboxed downloads. */
    static String oneLine(byte[] stderr) {
        String last = "";
        for (String l : new String(stderr, StandardCharsets.UTF_8).split("\n")) {
            if (!l.isBlank() && !l.contains("unsandboxed")) {
                last = l.strip();
            }
        }
        return last.length() > 300 ? last.substring(0, 300) + "..." : last;
    }
}
