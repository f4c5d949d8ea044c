package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.Tools;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * Every Java example of README.md and docs/ (all of it) compiles against this build (so none can rot), and LIBRARY.md's
 * {@link Davit} example runs as it is written (offline: it builds its image from the host's static busybox), on a
 * temporary {@code DAVIT_HOME}. The examples of davit-junit are compiled by its own {@code ReadmeExampleTest}
 * (davit-junit depends on this module).
 */
class DocExamplesTest {
    /** What a fragment may use without declaring it (a declaration in the fragment shadows it). */
    private static final String FIELDS = """
                Path davitHome; Path rootfs; Path rootfsDir; Path envDir; String reference;
                dev.davit.oci.manifest.ImageConfiguration imageConfig; RunSpec spec; SandboxOptions options;
                ImageConfig image; Sandboxes sandboxes; Workspaces workspaces;
            """;
    private static final String IMPORTS = """
            import dev.davit.*;
            import dev.davit.oci.client.*;
            import dev.davit.oci.copy.*;
            import dev.davit.sandbox.*;
            import dev.davit.sandbox.engine.*;
            import dev.davit.sandbox.vm.VmImages;
            import dev.davit.sandbox.workspace.*;
            import java.nio.file.*;
            import java.time.Duration;
            import java.util.List;
            import java.util.Map;
            """;
    private static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    /** What the runnable example (docs/reference/LIBRARY.md) copies into its image. */
    private static final String BUSYBOX = "/bin/busybox";
    /** The examples of davit-junit, compiled there. */
    static final String JUNIT_IMPORT = "import dev.davit.junit.";
    /** The framework adapters' examples, which their own modules' tests compile (DocBlocks). */
    private static final Pattern ADAPTERS = Pattern.compile("import dev\\.davit\\.(?:langchain4j|spring)\\.");

    @TempDir
    Path tmp;

    record Example(String where, String code) {
    }

    private static Path repo() {
        Path p = Path.of("").toAbsolutePath();
        // the repository's root holds docs/ (a module has a README.md of its own too)
        return Files.isDirectory(p.resolve("docs")) ? p : p.getParent();
    }

    private static List<Example> examples() throws IOException {
        List<Path> files = new ArrayList<>(List.of(repo().resolve("README.md")));
        try (Stream<Path> docs = Files.walk(repo().resolve("docs"))) {
            docs.filter(f -> f.toString().endsWith(".md")).sorted().forEach(files::add);
        }
        List<Example> out = new ArrayList<>();
        for (Path f : files) {
            String text = Files.readString(f);
            Matcher m = BLOCK.matcher(text);
            while (m.find()) {
                if (m.group(1).contains(JUNIT_IMPORT) || ADAPTERS.matcher(m.group(1)).find()) {
                    continue;
                }
                int line = text.substring(0, m.start()).split("\n", -1).length;
                out.add(new Example(repo().relativize(f) + ":" + line, m.group(1)));
            }
        }
        return out;
    }

    /** The example as a class {@code name} with {@code run()} and {@code main}; its imports moved to the top. */
    private static String source(String name, String code) {
        StringBuilder imports = new StringBuilder(IMPORTS);
        StringBuilder body = new StringBuilder();
        for (String line : code.split("\n")) {
            (line.startsWith("import ") ? imports : body).append(line).append('\n');
        }
        return imports + "public class " + name + " {\n" + FIELDS + "    public void run() throws Exception {\n" + body
                + "    }\n    public static void main(String[] a) throws Exception {\n        new " + name
                + "().run();\n    }\n}\n";
    }

    private static void compile(Path dir, List<Path> sources) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> d = new DiagnosticCollector<>();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(d, null, StandardCharsets.UTF_8)) {
            boolean ok = javac.getTask(null, fm, d, List.of("-d", dir.toString(), "-cp",
                    System.getProperty("java.class.path"), "-proc:none", "-Xlint:none"), null,
                    fm.getJavaFileObjectsFromPaths(sources)).call();
            List<String> errors = d.getDiagnostics().stream().filter(x -> x.getKind() == Diagnostic.Kind.ERROR)
                    .map(x -> x.getSource().getName() + ":" + x.getLineNumber() + ": " + x.getMessage(null))
                    .toList();
            assertThat(errors).as("examples that do not compile").isEmpty();
            assertThat(ok).isTrue();
        }
    }

    @Test
    void everyExampleCompilesAndTheLibraryExampleRuns() throws Exception {
        List<Example> all = examples();
        assertThat(all).hasSizeGreaterThanOrEqualTo(3);
        Path src = Files.createDirectories(tmp.resolve("src"));
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        List<Path> sources = new ArrayList<>();
        String runnable = null;
        for (int i = 0; i < all.size(); i++) {
            String name = "Example" + i;
            String code = all.get(i).code();
            Path f = src.resolve(name + ".java");
            Files.writeString(f, "// " + all.get(i).where() + "\n" + source(name, code));
            sources.add(f);
            if (code.contains("Davit.open()") && code.contains(BUSYBOX)) {
                runnable = name;
            }
        }
        compile(classes, sources);
        assertThat(runnable).as("docs/reference/LIBRARY.md's Davit example").isNotNull();

        // run it as it is, on a home of its own
        Tools.assumeAvailable("bwrap");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(Path.of(BUSYBOX)), "no " + BUSYBOX
                + " (apt install busybox-static)");
        Path home = tmp.resolve("home");
        String name = runnable;
        String java = ProcessHandle.current().info().command().orElse("java");
        // its temp directory in the test's: the example's rootfs is left there
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir="
                + Files.createDirectories(tmp.resolve("example-tmp")), "-cp", classes + File.pathSeparator + System.getProperty("java.class.path"), name);
        pb.environment().put("DAVIT_HOME", home.toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("hello from /workspace")
                .contains("[Change[path=hello.sh, kind=added, type=file, oldMode=null, newMode=0644]]");
        try (Stream<Path> left = Files.list(home.resolve("workspaces"))) {
            assertThat(left.filter(w -> w.getFileName().toString().startsWith("ws-")).toList())
                    .as("the example's workspace removed").isEmpty();
        }
    }
}
