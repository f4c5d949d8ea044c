package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmarks' Java programs ({@code bench/*.java}, each run as a single-file program against the build) compile
 * against this build's API: a change of the library that breaks one fails here, not on the next bench run.
 */
class BenchSourcesTest {
    @TempDir
    Path tmp;

    private static Path bench() {
        Path p = Path.of("").toAbsolutePath();
        return (Files.isDirectory(p.resolve("bench")) ? p : p.getParent()).resolve("bench");
    }

    @Test
    void everyBenchProgramCompiles() throws IOException {
        List<Path> programs;
        try (Stream<Path> s = Files.list(bench())) {
            programs = s.filter(f -> f.toString().endsWith(".java")).sorted().toList();
        }
        assertThat(programs).as("bench/*.java").hasSizeGreaterThanOrEqualTo(5);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> errors = new ArrayList<>();
        for (Path program : programs) {
            // each on its own: single-file programs may share the names of their helper classes
            Path out = Files.createDirectories(tmp.resolve(program.getFileName().toString()));
            DiagnosticCollector<JavaFileObject> d = new DiagnosticCollector<>();
            try (StandardJavaFileManager fm = javac.getStandardFileManager(d, null, StandardCharsets.UTF_8)) {
                javac.getTask(null, fm, d, List.of("-d", out.toString(), "-cp", System.getProperty("java.class.path"),
                        "-proc:none", "-Xlint:none"), null, fm.getJavaFileObjectsFromPaths(List.of(program))).call();
            }
            d.getDiagnostics().stream().filter(x -> x.getKind() == Diagnostic.Kind.ERROR)
                    .map(x -> program.getFileName() + ":" + x.getLineNumber() + ": " + x.getMessage(null))
                    .forEach(errors::add);
        }
        assertThat(errors).as("bench programs that do not compile").isEmpty();
    }
}
