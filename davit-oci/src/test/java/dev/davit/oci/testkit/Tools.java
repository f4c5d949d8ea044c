package dev.davit.oci.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The external programs the kit drives, and how tests decide whether they can run.
 *
 * <p>Integration tests call {@link #assumeAvailable(String...)} (the kit does it for them in
 * {@link TestRegistry.Builder#start()} and in {@link Fixtures}): the test is <em>skipped</em> when the system
 * property {@value #SKIP_PROPERTY} is {@code true}, or when a tool is missing on a developer machine. When the
 * environment variable {@code CI} is {@code true} a missing tool <em>fails</em> the test instead, so a broken CI
 * install can never turn into a silently green, empty run.
 */
public final class Tools {
    private Tools() {
    }

    /** System property that skips every test needing the real tools: {@code -Ddavit.it.skip=true}. */
    public static final String SKIP_PROPERTY = "davit.it.skip";
    /** The CNCF distribution registry binary (Debian package {@code docker-registry}). */
    public static final String REGISTRY = "docker-registry";
    public static final String SKOPEO = "skopeo";
    public static final String UMOCI = "umoci";
    /** From Debian's {@code apache2-utils}; needed for Basic-auth registries. */
    public static final String HTPASSWD = "htpasswd";

    /**
     * Aborts the calling test (JUnit assumption, reported as skipped) when {@value #SKIP_PROPERTY} is true or one of
     * {@code tools} is not on the PATH; with {@code CI=true} a missing tool is an assertion failure instead.
     */
    public static void assumeAvailable(String... tools) {
        Assumptions.assumeFalse(Boolean.getBoolean(SKIP_PROPERTY),
                "integration tests skipped: -D" + SKIP_PROPERTY + "=true");
        List<String> missing = Arrays.stream(tools).filter(t -> which(t).isEmpty()).toList();
        if (missing.isEmpty()) {
            return;
        }
        String message = "missing tools " + missing + " (scripts/install-deps.sh installs them)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail(message + "; CI=true, so this is a failure, not a skip");
        }
        Assumptions.abort(message);
    }

    /** The executable named {@code tool} on the PATH, if any. */
    public static Optional<Path> which(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, tool);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Runs {@code command} in the current directory; see {@link #run(Path, List)}. */
    public static String run(String... command) {
        return run(null, List.of(command));
    }

    /**
     * Runs a command (no shell), waits up to two minutes and returns its standard output as UTF-8.
     *
     * @throws IllegalStateException when it exits non-zero or times out; the message holds the command (credentials
     *         after {@code --creds}-style options masked), the exit code and the standard error
     */
    public static String run(Path workDir, List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command);
        if (workDir != null) {
            pb.directory(workDir.toFile());
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + shown(command) + ": " + e.getMessage(), e);
        }
        try {
            p.getOutputStream().close();
        } catch (IOException ignored) {
            // nothing to do
        }
        CompletableFuture<byte[]> out = drain(p.getInputStream());
        CompletableFuture<byte[]> err = drain(p.getErrorStream());
        try {
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out after 2 minutes: " + shown(command));
            }
            String stdout = new String(out.join(), StandardCharsets.UTF_8);
            String stderr = new String(err.join(), StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(shown(command) + " exited " + p.exitValue() + "\nstderr: "
                        + stderr.strip() + (stdout.isBlank() ? "" : "\nstdout: " + stdout.strip()));
            }
            return stdout;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + shown(command), e);
        }
    }

    private static CompletableFuture<byte[]> drain(InputStream in) {
        CompletableFuture<byte[]> f = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (in) {
                f.complete(in.readAllBytes());
            } catch (IOException e) {
                f.completeExceptionally(new UncheckedIOException(e));
            }
        });
        return f;
    }

    /** The command line for messages, with the value after a credentials option (or htpasswd's -b) masked. */
    static String shown(List<String> command) {
        List<String> out = new ArrayList<>(command.size());
        boolean maskNext = false;
        boolean htpasswd = !command.isEmpty() && command.getFirst().endsWith(HTPASSWD);
        for (int i = 0; i < command.size(); i++) {
            String a = command.get(i);
            if (maskNext || (htpasswd && i == command.size() - 1)) {
                out.add("***");
                maskNext = false;
            } else if (a.matches("--(src-|dest-)?creds=.*")) {
                out.add(a.substring(0, a.indexOf('=') + 1) + "***");
            } else {
                out.add(a);
                maskNext = a.matches("--(src-|dest-)?creds");
            }
        }
        return String.join(" ", out);
    }
}
