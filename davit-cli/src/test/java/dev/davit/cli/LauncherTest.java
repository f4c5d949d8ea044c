package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./davit} launcher's AOT cache, with the real launcher script and a real JDK 25, on a copy of the
 * launcher's layout whose jar is a tiny stand-in (its {@code AotTraining} and {@code Main} only report what they
 * saw), so a training run takes a second: a cache per jar and kind of command (quick or full, each trained on its
 * own workload), a new one whenever the jar changes (rebuilt, touched or
 * replaced), never one trained on another jar, and no cache on a JDK older than 25 or for {@code --version} alone.
 */
class LauncherTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    /** The stand-in Main prints its marker and the JVM's -XX:AOTCache option, if any. */
    private static final String MAIN = """
            package dev.davit.cli;
            public class Main {
                public static void main(String[] a) throws Exception {
                    String training = System.getProperty("davit.aot.training");
                    if (training != null) {   // as the real Main: ./davit trains through it
                        System.clearProperty("davit.aot.training");
                        AotTraining.main(new String[] {training});
                        return;
                    }
                    if (System.getenv("SHOW_COMMAND") != null) {
                        // the class the JVM was told to start (with -jar: the jar's path), and native access
                        Object nativeAccess = Module.class.getMethod("isNativeAccessEnabled")
                                .invoke(Main.class.getModule());
                        System.out.println(System.getProperty("sun.java.command").split(" ")[0] + " native="
                                + nativeAccess + " " + String.join(",", a));
                        return;
                    }
                    if (System.getenv("SHOW_JIT") != null) {
                        java.util.List<String> o = java.lang.management.ManagementFactory.getRuntimeMXBean()
                                .getInputArguments();
                        boolean c1 = o.contains("-XX:TieredStopAtLevel=1");
                        boolean lazy = o.contains("-XX:CompileThresholdScaling=10");
                        System.out.println((c1 ? "c1" : "c2") + (lazy ? "/10 " : " ") + String.join(",", a));
                        return;
                    }
                    String aot = "none";
                    for (String o : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                        if (o.startsWith("-XX:AOTCache=")) aot = o.substring("-XX:AOTCache=".length());
                    }
                    System.out.println("%s " + aot + " " + String.join(",", a));
                }
            }
            """;
    private static final String TRAINING = """
            package dev.davit.cli;
            public class AotTraining {
                public static void main(String[] a) throws Exception {
                    java.nio.file.Files.writeString(java.nio.file.Path.of(System.getenv("TRAINING_LOG")),
                            String.join(",", a) + "\\n", java.nio.file.StandardOpenOption.CREATE,
                            java.nio.file.StandardOpenOption.APPEND);
                    if (System.getenv("TRAINING_FAILS") != null) System.exit(3);
                    Main.main(new String[] {"--version"});
                }
            }
            """;

    @TempDir
    Path tmp;

    @Test
    void aCacheBelongsToOneJarAndAnyChangeMakesANewOne() throws Exception {
        Path jdk = jdk25();
        Path root = layout();
        Path jar = root.resolve("davit-cli/target/davit.jar");
        writeJar(jar, "A");
        Path log = tmp.resolve("training.log");
        Map<String, String> env = Map.of("JAVA_HOME", jdk.toString(), "TRAINING_LOG", log.toString());

        String first = launch(root, env, "images");
        Path cache = onlyCache(root);
        assertThat(cache.getFileName().toString()).startsWith("davit-quick-");
        assertThat(first).isEqualTo("A " + cache + " images");
        assertUsable(jdk, jar, cache);
        FileTime trained = Files.getLastModifiedTime(cache);

        assertThat(launch(root, env, "--json", "inspect", "x")).isEqualTo("A " + cache + " --json,inspect,x"); // reused
        assertThat(onlyCache(root)).isEqualTo(cache);
        assertThat(Files.getLastModifiedTime(cache)).isEqualTo(trained);

        assertThat(launch(root, env, "run", "x")).isEqualTo("A " + cache + " run,x");
        assertThat(launch(root, env, "--json", "workspace", "exec", "w", "--", "pull"))
                .isEqualTo("A " + cache + " --json,workspace,exec,w,--,pull"); // a pull inside the sandbox: quick
        assertThat(onlyCache(root)).isEqualTo(cache);

        // a pull is of another kind: its own cache, trained on pulls; the quick one stays
        String pulled = launch(root, env, "pull", "x");
        List<Path> both = caches(root);
        assertThat(both).hasSize(2).contains(cache);
        Path pull = both.get(0).equals(cache) ? both.get(1) : both.get(0);
        assertThat(pull.getFileName().toString()).startsWith("davit-pull-");
        assertThat(pulled).isEqualTo("A " + pull + " pull,x");
        assertUsable(jdk, jar, pull);
        // and a push of the third, trained on the full workload
        String pushed = launch(root, env, "push", "x");
        List<Path> three = caches(root);
        assertThat(three).hasSize(3).contains(cache, pull);
        Path full = three.stream().filter(p -> p.getFileName().toString().startsWith("davit-full-")).findFirst()
                .orElseThrow();
        assertThat(pushed).isEqualTo("A " + full + " push,x");
        assertUsable(jdk, jar, full);
        assertThat(Files.readAllLines(log)).containsExactly("quick", "pull", "full");

        // touched: same bytes, another modification time -> a new cache, the old one removed
        Files.setLastModifiedTime(jar, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 5000));
        String touched = launch(root, env, "images");
        Path second = onlyCache(root);
        assertThat(second).isNotEqualTo(cache);
        assertThat(touched).isEqualTo("A " + second + " images");
        assertUsable(jdk, jar, second);

        // rebuilt: another jar of the same size and modification time as the one the cache was trained on
        FileTime mtime = Files.getLastModifiedTime(jar);
        long size = Files.size(jar);
        writeJar(jar, "B");
        assertThat(Files.size(jar)).isEqualTo(size);
        Files.setLastModifiedTime(jar, mtime);
        String rebuilt = launch(root, env, "--json", "--version");
        Path third = onlyCache(root);
        assertThat(third).isNotIn(cache, second);
        assertThat(rebuilt).isEqualTo("B " + third + " --json,--version");
        assertUsable(jdk, jar, third);
    }

    /** A training that fails is not retried by every later command of that jar (it costs seconds): no cache. */
    @Test
    void aFailedTrainingIsNotRetried() throws Exception {
        Path jdk = jdk25();
        Path root = layout();
        writeJar(root.resolve("davit-cli/target/davit.jar"), "A");
        Path log = tmp.resolve("failing.log");
        Map<String, String> env = Map.of("JAVA_HOME", jdk.toString(), "TRAINING_LOG", log.toString(),
                "TRAINING_FAILS", "1");
        assertThat(launch(root, env, "images")).isEqualTo("A none images");
        assertThat(launch(root, env, "inspect", "x")).isEqualTo("A none inspect,x");
        assertThat(Files.readAllLines(log)).containsExactly("quick");
        // the other kinds train once too
        assertThat(launch(root, env, "pull", "x")).isEqualTo("A none pull,x");
        assertThat(launch(root, env, "pull", "y")).isEqualTo("A none pull,y");
        assertThat(launch(root, env, "gc")).isEqualTo("A none gc");
        assertThat(launch(root, env, "fsck")).isEqualTo("A none fsck");
        assertThat(Files.readAllLines(log)).containsExactly("quick", "pull", "full");
    }

    /**
     * Short commands run with C1 only; commands that hash many bytes get C2 (the JDK's SHA-256 intrinsic), except a
     * pull where libcrypto hashes its big blobs (JDK 22+ and the library found where the launcher looks), which
     * also compiles only its hotter methods; no other command does.
     */
    @Test
    void c1ForShortCommandsAndPullsWithLibcrypto() throws Exception {
        Path jdk = jdk25();
        Path root = layout();
        writeJar(root.resolve("davit-cli/target/davit.jar"), "A");
        Map<String, String> env = Map.of("JAVA_HOME", jdk.toString(), "SHOW_JIT", "1", "DAVIT_NO_AOT", "1");
        assertThat(launch(root, env, "images")).isEqualTo("c1 images");
        assertThat(launch(root, env, "--json", "run", "x", "--", "pull")).isEqualTo("c1 --json,run,x,--,pull");
        assertThat(launch(root, env, "push", "x")).isEqualTo("c2 push,x");
        assertThat(launch(root, env, "mcp", "serve")).isEqualTo("c2 mcp,serve");
        String arch = System.getProperty("os.arch").equals("amd64") ? "x86_64" : System.getProperty("os.arch");
        boolean libcrypto = Stream.of("/usr/lib/" + arch + "-linux-gnu", "/lib/" + arch + "-linux-gnu", "/usr/lib64",
                "/lib64", "/usr/lib", "/lib").anyMatch(d -> Files.exists(Path.of(d, "libcrypto.so.3"))
                        || Files.exists(Path.of(d, "libcrypto.so.1.1")));
        // with libcrypto a pull compiles only its hotter methods (CompileThresholdScaling=10; issue 34)
        assertThat(launch(root, env, "pull", "x")).isEqualTo((libcrypto ? "c1/10" : "c2") + " pull,x");
        // asked for the JDK's SHA-256: C2 for its intrinsic
        Map<String, String> jdkHash = new java.util.HashMap<>(env);
        jdkHash.put("DAVIT_JAVA_OPTS", "-Ddavit.hash=jdk");
        assertThat(launch(root, jdkHash, "pull", "x")).isEqualTo("c2 pull,x");
        // a JDK without the final FFM API: the JDK's SHA-256 hashes, which needs C2
        Path jdk21 = fakeJdk21(jdk);
        assertThat(launch(root, Map.of("JAVA_HOME", jdk21.toString(), "SHOW_JIT", "1"), "pull", "x"))
                .isEqualTo("c2 pull,x");
    }

    /**
     * Every command starts the jar's entry class from the class path with native access (scripts/launch.sh's
     * davit_main), not with {@code -jar}: the launcher would read the jar's whole index for its manifest before main,
     * and the class loader again (issue 55).
     */
    @Test
    void theEntryClassStartsFromTheClassPathWithNativeAccess() throws Exception {
        Path jdk = jdk25();
        Path root = layout();
        writeJar(root.resolve("davit-cli/target/davit.jar"), "A");
        Map<String, String> env = Map.of("JAVA_HOME", jdk.toString(), "SHOW_COMMAND", "1", "DAVIT_NO_AOT", "1");
        assertThat(launch(root, env, "images")).isEqualTo("dev.davit.cli.Entry native=true images");
        assertThat(launch(root, env, "pull", "x")).isEqualTo("dev.davit.cli.Entry native=true pull,x");
    }

    @Test
    void noCacheBeforeJdk25OrWhenDisabledOrForTheVersionAlone() throws Exception {
        Path jdk = jdk25();
        Path root = layout();
        writeJar(root.resolve("davit-cli/target/davit.jar"), "A");
        // Main prints the version before anything loads: mapping the cache would cost more than it saves
        assertThat(launch(root, Map.of("JAVA_HOME", jdk.toString()), "--version")).isEqualTo("A none --version");
        assertThat(launch(root, Map.of("JAVA_HOME", jdk.toString()), "-V")).isEqualTo("A none -V");
        // a JDK that says it is 21 (its release file) and runs the real java: the launcher takes it and makes no cache
        Path jdk21 = fakeJdk21(jdk);
        assertThat(launch(root, Map.of("JAVA_HOME", jdk21.toString()), "images")).isEqualTo("A none images");
        assertThat(launch(root, Map.of("JAVA_HOME", jdk.toString(), "DAVIT_NO_AOT", "1"), "images"))
                .isEqualTo("A none images");
        assertThat(root.resolve("davit-cli/target/aot")).doesNotExist();
    }

    /** A JDK whose release file says 21 and whose java and javac are {@code jdk}'s. */
    private Path fakeJdk21(Path jdk) throws IOException {
        Path jdk21 = tmp.resolve("jdk21");
        Files.createDirectories(jdk21.resolve("bin"));
        Files.writeString(jdk21.resolve("release"), "JAVA_VERSION=\"21.0.5\"\n");
        Files.createSymbolicLink(jdk21.resolve("bin/java"), jdk.resolve("bin/java"));
        Files.createSymbolicLink(jdk21.resolve("bin/javac"), jdk.resolve("bin/javac"));
        return jdk21;
    }

    /** The JDK's java accepts the cache for this jar: -XX:AOTMode=on fails when a cache does not match its jar. */
    private static void assertUsable(Path jdk, Path jar, Path cache) throws Exception {
        Process p = new ProcessBuilder(jdk.resolve("bin/java").toString(), "-XX:+UseSerialGC", "-Xss512k",
                "-XX:AOTMode=on", "-XX:AOTCache=" + cache, "--enable-native-access=ALL-UNNAMED", "-cp",
                jar.toString(), "dev.davit.cli.Entry", "check")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
    }

    private static Path jdk25() throws IOException {
        Path found = null;
        try (Stream<Path> s = Files.list(Path.of("/usr/lib/jvm"))) {
            for (Path d : s.sorted().toList()) {
                Path release = d.resolve("release");
                if (!Files.isSymbolicLink(d) && Files.isRegularFile(release) && Files.isExecutable(d.resolve("bin/java"))
                        && Files.readString(release).matches("(?s).*JAVA_VERSION=\"(2[5-9]|[3-9][0-9])[\".].*")) {
                    found = d;
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            found = null;
        }
        assumeTrue(found != null, "no JDK >= 25 under /usr/lib/jvm");
        return found;
    }

    /** A copy of the launcher, its JDK lookup and its JVM options, in a fresh root. */
    private Path layout() throws IOException {
        Path root = Files.createTempDirectory(tmp, "root");
        Files.createDirectories(root.resolve("scripts"));
        Files.createDirectories(root.resolve("davit-cli/target"));
        Files.copy(REPO.resolve("davit"), root.resolve("davit"));
        Files.copy(REPO.resolve("scripts/find-java.sh"), root.resolve("scripts/find-java.sh"));
        Files.copy(REPO.resolve("scripts/launch.sh"), root.resolve("scripts/launch.sh"));
        return root;
    }

    private void writeJar(Path jar, String marker) throws IOException {
        Path src = Files.createTempDirectory(tmp, "src");
        Path classes = Files.createTempDirectory(tmp, "classes");
        Path main = src.resolve("Main.java");
        Path training = src.resolve("AotTraining.java");
        Path entry = src.resolve("Entry.java");
        Files.writeString(main, MAIN.formatted(marker));
        Files.writeString(training, TRAINING);
        // the launcher names the real jar's entry class (scripts/launch.sh's davit_main), which hands over to Main
        Files.writeString(entry, "package dev.davit.cli; public class Entry { public static void main(String[] a)"
                + " throws Exception { Main.main(a); } }");
        int rc = ToolProvider.getSystemJavaCompiler().run(null, null, null, "--release", "21", "-d",
                classes.toString(), main.toString(), training.toString(), entry.toString());
        assertThat(rc).isZero();
        Manifest mf = new Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        mf.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "dev.davit.cli.Main");
        Path tmpJar = jar.resolveSibling(jar.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmpJar); JarOutputStream j = new JarOutputStream(out, mf)) {
            for (String name : List.of("Main", "AotTraining", "Entry")) {
                JarEntry e = new JarEntry("dev/davit/cli/" + name + ".class");
                e.setTime(0);
                j.putNextEntry(e);
                j.write(Files.readAllBytes(classes.resolve("dev/davit/cli/" + name + ".class")));
                j.closeEntry();
            }
        }
        Files.move(tmpJar, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static Path onlyCache(Path root) throws IOException {
        List<Path> all = caches(root);
        assertThat(all).hasSize(1);
        return all.get(0);
    }

    private static List<Path> caches(Path root) throws IOException {
        try (Stream<Path> s = Files.list(root.resolve("davit-cli/target/aot"))) {
            List<Path> all = s.sorted().toList();
            assertThat(all).allMatch(p -> p.getFileName().toString()
                    .matches("davit-(quick|pull|full)-.*\\.aot(\\.failed)?"));
            return all;
        }
    }

    private static String launch(Path root, Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(root.resolve("davit").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().remove("DAVIT_NO_AOT");
        pb.environment().remove("DAVIT_JAVA_OPTS");
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
