package dev.davit.oci.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs a Docker credential helper ({@code docker-credential-<name> get}, server URL on stdin, JSON
 * {@code {"ServerURL","Username","Secret"}} on stdout). The helper's output is never put into a message or a
 * log line: it may hold secrets.
 */
final class CredentialHelper {
    private CredentialHelper() {
    }

    static final String PREFIX = "docker-credential-";
    /** The username with which helpers mark the secret as an identity token. */
    static final String TOKEN_USERNAME = "<token>";
    private static final int MAX_OUTPUT = 1024 * 1024;
    private static final long READER_GRACE_MILLIS = 2000;

    /** Whether a helper name from a config file is safe to turn into a file name. */
    static boolean isValidName(String name) {
        return name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    }

    /** The first regular, executable {@code docker-credential-<name>} in the directories. */
    static Optional<Path> find(String name, List<Path> dirs) {
        if (!isValidName(name)) {
            return Optional.empty();
        }
        for (Path dir : dirs) {
            Path p = dir.resolve(PREFIX + name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /**
     * Asks the helper for the credentials of a server.
     *
     * @return the credentials, or empty if the helper has none for the server
     * @throws DavitException of kind AUTH if the helper cannot be run, fails, times out or answers garbage
     */
    static Optional<Credentials> get(Path executable, String name, String serverUrl, Map<String, String> env,
            Duration timeout) {
        String what = PREFIX + name;
        ProcessBuilder pb = new ProcessBuilder(executable.toString(), "get");
        pb.environment().clear();
        env.forEach((k, v) -> {
            if (k != null && v != null) {
                pb.environment().put(k, v);
            }
        });
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw fail(what, serverUrl, "could not be started (" + e.getClass().getSimpleName() + ")",
                    "check that " + Text.printable(executable.toString()) + " is an executable program");
        }
        Capture out = new Capture(p.getInputStream());
        Capture err = new Capture(p.getErrorStream());
        try (OutputStream in = p.getOutputStream()) {
            in.write(serverUrl.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // the helper exited or closed stdin early; its exit status tells what happened
        }
        int exit;
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                throw fail(what, serverUrl, "did not answer within " + (timeout.toMillis() < 1000
                        ? timeout.toMillis() + " ms" : timeout.toSeconds() + " s"),
                        "check that it does not wait for input, e.g. an unlocked keychain");
            }
            exit = p.exitValue();
            out.join();
            err.join();
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw fail(what, serverUrl, "was interrupted", "try again");
        } finally {
            kill(p);
        }
        String stdout = out.text();
        if (exit != 0) {
            if (isNotFound(stdout) || isNotFound(err.text())) {
                return Optional.empty();
            }
            throw fail(what, serverUrl, "failed with exit status " + exit,
                    "run 'echo " + Text.shorten(serverUrl, 100) + " | " + what + " get' to see its error");
        }
        if (out.truncated) {
            throw fail(what, serverUrl, "wrote more than " + MAX_OUTPUT + " bytes", "check the helper");
        }
        if (isNotFound(stdout) && !stdout.trim().startsWith("{")) {
            return Optional.empty();
        }
        JsonNode root;
        try {
            root = Json.read(stdout.getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            throw fail(what, serverUrl, "did not answer with JSON", "check that it is a Docker credential helper");
        }
        if (!(root instanceof ObjectNode obj)) {
            throw fail(what, serverUrl, "did not answer with a JSON object",
                    "check that it is a Docker credential helper");
        }
        String username = text(obj, "Username");
        String secret = text(obj, "Secret");
        if (secret.isEmpty()) {
            return Optional.empty();
        }
        if (username.equals(TOKEN_USERNAME)) {
            return Optional.of(Credentials.identityToken("", secret));
        }
        if (username.isEmpty()) {
            throw fail(what, serverUrl, "answered without a Username", "check the stored credentials");
        }
        return Optional.of(Credentials.basic(username, secret));
    }

    private static boolean isNotFound(String text) {
        return text.toLowerCase(Locale.ROOT).contains("credentials not found");
    }

    private static String text(ObjectNode obj, String field) {
        JsonNode n = obj.get(field);
        return n != null && n.isTextual() ? n.textValue() : "";
    }

    /** Kills the helper and anything it started (children are found before the parent dies). */
    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    private static DavitException fail(String what, String serverUrl, String problem, String fix) {
        return new DavitException(DavitException.Kind.AUTH, "credential helper " + what + " " + problem
                + " for " + Text.shorten(serverUrl, 100) + "; " + fix);
    }

    /** Drains a stream on a daemon thread, keeping at most {@link #MAX_OUTPUT} bytes. */
    private static final class Capture {
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        private final Thread thread;
        private volatile boolean truncated;

        Capture(InputStream in) {
            thread = Thread.ofPlatform().daemon().name("credential-helper-output").start(() -> drain(in));
        }

        private void drain(InputStream in) {
            byte[] chunk = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(chunk)) >= 0) {
                    synchronized (buf) {
                        int room = MAX_OUTPUT - buf.size();
                        buf.write(chunk, 0, Math.max(0, Math.min(n, room)));
                        if (n > room) {
                            truncated = true;
                        }
                    }
                }
            } catch (IOException e) {
                // the process was killed or closed the stream; keep what was read
            }
        }

        /** Waits briefly for the stream to end: a grandchild may hold it open after the helper exited. */
        void join() throws InterruptedException {
            thread.join(READER_GRACE_MILLIS);
        }

        String text() {
            synchronized (buf) {
                return buf.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
