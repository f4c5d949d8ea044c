package dev.davit.junit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 * The examples of this module in README.md and docs/ (the Java blocks that import {@code dev.davit.junit}) compile,
 * each as the whole file it is and on its own (two docs may show the same class), against this build: davit-sandbox's
 * DocExamplesTest compiles the others, but cannot see this module.
 */
class ReadmeExampleTest {
    private static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern CLASS = Pattern.compile("(?m)^class (\\w+)");

    @TempDir
    Path tmp;

    @Test
    void theReadmesJunitExamplesCompile() throws Exception {
        Path repo = Path.of("").toAbsolutePath();
        // the repository's README, beside docs/ (this module has a README.md of its own too)
        Path readme = Files.isDirectory(repo.resolve("docs")) ? repo.resolve("README.md")
                : repo.getParent().resolve("README.md");
        StringBuilder text = new StringBuilder(Files.readString(readme));
        try (Stream<Path> docs = Files.walk(readme.resolveSibling("docs"))) {
            for (Path f : docs.filter(x -> x.toString().endsWith(".md")).sorted().toList()) {
                text.append('\n').append(Files.readString(f));
            }
        }
        Matcher m = BLOCK.matcher(text);
        List<Path> sources = new ArrayList<>();
        while (m.find()) {
            String code = m.group(1);
            if (!code.contains("import dev.davit.junit.")) {
                continue;
            }
            Matcher c = CLASS.matcher(code);
            assertThat(c.find()).as("a class in\n" + code).isTrue();
            Path dir = Files.createDirectories(tmp.resolve("src" + sources.size()));
            sources.add(Files.writeString(dir.resolve(c.group(1) + ".java"), code));
        }
        assertThat(sources).as("examples of davit-junit in README.md and docs/").isNotEmpty();
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        for (Path source : sources) {
            DiagnosticCollector<JavaFileObject> d = new DiagnosticCollector<>();
            try (StandardJavaFileManager fm = javac.getStandardFileManager(d, null, StandardCharsets.UTF_8)) {
                boolean ok = javac.getTask(null, fm, d, List.of("-d", Files.createDirectories(source.getParent()
                        .resolveSibling(source.getParent().getFileName() + "-classes")).toString(), "-cp",
                        System.getProperty("java.class.path"), "-proc:none"), null,
                        fm.getJavaFileObjectsFromPaths(List.of(source))).call();
                assertThat(d.getDiagnostics().stream().filter(x -> x.getKind() == Diagnostic.Kind.ERROR)
                        .map(x -> x.getSource().getName() + ":" + x.getLineNumber() + ": " + x.getMessage(null)))
                        .as("examples that do not compile").isEmpty();
                assertThat(ok).isTrue();
            }
        }
    }
}
