package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
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
 * Every Java example of README.md and docs/*.md compiles against this build (so none can rot), and the README's
 * {@link Davit} example runs, with a local image in place of the public one.
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
            import dev.davit.sandbox.vm.VmImages;
            import dev.davit.sandbox.workspace.*;
            import java.nio.file.*;
            import java.time.Duration;
            import java.util.List;
            import java.util.Map;
            """;
    private static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    private static final String PUBLIC_IMAGE = "docker.io/library/busybox:1.36";

    @TempDir
    Path tmp;

    record Example(String where, String code) {
    }

    private static Path repo() {
        Path p = Path.of("").toAbsolutePath();
        return Files.isRegularFile(p.resolve("README.md")) ? p : p.getParent();
    }

    private static List<Example> examples() throws IOException {
        List<Path> files = new ArrayList<>(List.of(repo().resolve("README.md")));
        try (Stream<Path> docs = Files.list(repo().resolve("docs"))) {
            docs.filter(f -> f.toString().endsWith(".md")).sorted().forEach(files::add);
        }
        List<Example> out = new ArrayList<>();
        for (Path f : files) {
            String text = Files.readString(f);
            Matcher m = BLOCK.matcher(text);
            while (m.find()) {
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
            if (code.contains("Davit.open()") && code.contains(PUBLIC_IMAGE)) {
                runnable = name;
            }
        }
        compile(classes, sources);
        assertThat(runnable).as("the README's Davit example").isNotNull();

        // run it on a home holding a local busybox image under the public name's place
        Tools.assumeAvailable("bwrap", "busybox");
        Path home = tmp.resolve("home");
        Path rootfs = Files.createDirectories(tmp.resolve("rootfs/bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), rootfs.resolve("busybox"));
        for (String a : List.of("sh", "echo", "uname", "pwd", "sleep")) {
            Files.createSymbolicLink(rootfs.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp")) {
            Files.createDirectories(tmp.resolve("rootfs").resolve(d));
        }
        String local = "localhost/docs/busybox:1.36";
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            c.build(tmp.resolve("rootfs"), local, BuildOptions.defaults(), ProgressListener.NONE);
        }
        Path again = src.resolve("again");
        Files.createDirectories(again);
        String name = runnable;
        Example ex = all.get(Integer.parseInt(name.substring("Example".length())));
        Path f = again.resolve(name + ".java");
        Files.writeString(f, source(name, ex.code().replace(PUBLIC_IMAGE, local)));
        Path runClasses = Files.createDirectories(tmp.resolve("run-classes"));
        compile(runClasses, List.of(f));
        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                runClasses + File.pathSeparator + System.getProperty("java.class.path"), name);
        pb.environment().put("DAVIT_HOME", home.toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("hello from /workspace").contains("hello.sh");
        try (Stream<Path> left = Files.list(home.resolve("workspaces"))) {
            assertThat(left.filter(w -> w.getFileName().toString().startsWith("ws-")).toList())
                    .as("the example's workspace removed").isEmpty();
        }
    }
}
