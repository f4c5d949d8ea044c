package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar's entry point answers {@code --version} from the manifest's Implementation-Version, as {@link Main} would
 * word it, and hands everything else to {@link Main}: checked with the real {@code Entry} class in a jar beside a
 * stand-in {@code Main} that reports what it was given.
 */
class EntryTest {
    @TempDir
    Path tmp;

    @Test
    void versionFromTheManifestAndEverythingElseToMain() throws Exception {
        Path withVersion = jar("9.8.7");
        assertThat(run(withVersion, "--version")).isEqualTo("davit 9.8.7");
        assertThat(run(withVersion, "-V")).isEqualTo("davit 9.8.7");
        assertThat(new Main.Version().getVersion()[0]).startsWith("davit ");   // the same wording
        assertThat(run(withVersion, "images")).isEqualTo("main images");
        assertThat(run(withVersion, "--version", "x")).isEqualTo("main --version,x");
        assertThat(run(withVersion)).isEqualTo("main");   // (stripped)
        // without the manifest entry Main answers (it reads version.properties)
        assertThat(run(jar(null), "--version")).isEqualTo("main --version");
    }

    private Path jar(String version) throws IOException {
        Path src = Files.createTempDirectory(tmp, "src");
        Path classes = Files.createTempDirectory(tmp, "classes");
        Path main = src.resolve("Main.java");
        Files.writeString(main, """
                package dev.davit.cli;
                public class Main {
                    public static void main(String[] a) { System.out.println("main " + String.join(",", a)); }
                }
                """);
        assertThat(ToolProvider.getSystemJavaCompiler().run(null, null, null, "--release", "21", "-d",
                classes.toString(), main.toString())).isZero();
        Manifest mf = new Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        mf.getMainAttributes().put(Attributes.Name.MAIN_CLASS, Entry.class.getName());
        if (version != null) {
            mf.getMainAttributes().put(Attributes.Name.IMPLEMENTATION_VERSION, version);
        }
        Path jar = Files.createTempFile(tmp, "davit", ".jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, mf);
             InputStream entry = Entry.class.getResourceAsStream("Entry.class")) {
            j.putNextEntry(new JarEntry("dev/davit/cli/Entry.class"));
            entry.transferTo(j);
            j.closeEntry();
            j.putNextEntry(new JarEntry("dev/davit/cli/Main.class"));
            j.write(Files.readAllBytes(classes.resolve("dev/davit/cli/Main.class")));
            j.closeEntry();
        }
        return jar;
    }

    private static String run(Path jar, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElseThrow(), "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
