package dev.davit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.davit.oci.internal.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Runs the CLI in-process with captured stdout and stderr and a controlled environment. */
final class Cli {
    private final Map<String, String> env = new HashMap<>();

    Cli(Path home) {
        env.put("DAVIT_HOME", home.toString());
        env.put("DAVIT_PROGRESS", "lines");
    }

    Cli env(String key, String value) {
        env.put(key, value);
        return this;
    }

    Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = Main.execute(args, out, err, env);
        return new Result(rc, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    }

    /** Like {@link #run}, in a JVM of its own (as a user's successive commands are: a davit restart each time). */
    Result runInJvm(String... args) {
        return runInJvm(java.util.List.of(), args);
    }

    /** {@link #runInJvm(String...)} with these options for the JVM (e.g. {@code -Xlog:class+load...}). */
    Result runInJvm(java.util.List<String> jvmOptions, String... args) {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(Path.of(System.getProperty(
                "java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(jvmOptions);
        cmd.addAll(java.util.List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(java.util.List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        try {
            Path err = java.nio.file.Files.createTempFile("davit-stderr", ".txt");
            try {
                pb.redirectError(err.toFile());
                Process p = pb.start();
                byte[] out = p.getInputStream().readAllBytes();
                int rc = p.waitFor();
                return new Result(rc, out, java.nio.file.Files.readString(err));
            } finally {
                java.nio.file.Files.delete(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Exit code and captured output of one run. */
    record Result(int rc, byte[] stdoutBytes, String stderr) {
        String stdout() {
            return new String(stdoutBytes, StandardCharsets.UTF_8);
        }

        /** Stdout parsed as exactly one JSON document (fails on trailing content). */
        JsonNode json() {
            try {
                return Json.read(stdoutBytes);
            } catch (IOException e) {
                throw new UncheckedIOException("stdout is not one JSON document: " + stdout(), e);
            }
        }

        @Override
        public String toString() {
            return "rc=" + rc + "\n--- stdout\n" + stdout() + "\n--- stderr\n" + stderr;
        }
    }
}
