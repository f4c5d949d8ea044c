package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.oci.testkit.Tools;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library's JPMS modules as a modular program sees them: each exports its API packages and nothing else; a
 * program that {@code requires dev.davit.sandbox} compiles against the jars on the module path and, run as a module,
 * finds an image in its home's store and runs it in a real sandbox (the backends found through their modules' {@code provides}, the
 * jail's FFM calls through {@code --enable-native-access}); and
 * a program that reaches into davit's own packages, or into Jackson through davit, does not compile.
 */
class ModularConsumerTest {
    /** The jars of davit's library modules and their dependencies, as on this test's class path. */
    private static final List<String> MODULE_JARS = List.of("davit-oci", "davit-env", "davit-sandbox-api",
            "davit-jail", "davit-network", "davit-sandbox-core", "davit-container", "davit-vm", "davit-workspace",
            "davit-build", "davit-sandbox",
            "jackson-core", "jackson-databind", "jackson-annotations", "jackson-dataformat-yaml", "snakeyaml",
            "slf4j-api", "commons-compress", "commons-io", "commons-lang3", "commons-codec", "zstd-jni", "xz",
            "bcpkix-jdk18on", "bcutil-jdk18on", "bcprov-jdk18on", "bcpg-jdk18on");

    /** Each module's packages exported to all (none: davit's own, exported to davit's modules alone if at all). */
    static final Map<String, List<String>> API = Map.ofEntries(
            Map.entry("dev.davit.oci", List.of("dev.davit.oci")),
            Map.entry("dev.davit.env", List.of("dev.davit.env")),
            Map.entry("dev.davit.sandbox.api", List.of("dev.davit.sandbox")),
            Map.entry("dev.davit.sandbox.jail", List.of()),
            Map.entry("dev.davit.sandbox.network", List.of()),
            Map.entry("dev.davit.sandbox.core", List.of("dev.davit.sandbox.engine")),
            Map.entry("dev.davit.sandbox.container", List.of()),
            Map.entry("dev.davit.sandbox.vm", List.of()),
            Map.entry("dev.davit.sandbox.workspace", List.of("dev.davit.sandbox.workspace")),
            Map.entry("dev.davit.sandbox.build", List.of()),
            Map.entry("dev.davit.sandbox", List.of("dev.davit")));

    /** The modules below the backends': none may require a backend (a backend depends on them, never the reverse). */
    private static final List<String> UNDER_THE_BACKENDS = List.of("dev.davit.sandbox.api", "dev.davit.sandbox.jail",
            "dev.davit.sandbox.network", "dev.davit.sandbox.core");
    private static final List<String> BACKENDS = List.of("dev.davit.sandbox.container", "dev.davit.sandbox.vm",
            "dev.davit.k8s");

    @TempDir
    Path tmp;

    static String modulePath() {
        List<String> path = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(e);
            String name = p.getFileName().toString();
            boolean wanted = MODULE_JARS.stream().anyMatch(m -> name.startsWith(m + "-") && name.endsWith(".jar")
                    && !name.endsWith("-tests.jar"));
            // in a reactor build without jars, davit's modules are their classes directories
            boolean classes = Files.isRegularFile(p.resolve("module-info.class"));
            if (wanted || classes) {
                path.add(e);
            }
        }
        return String.join(File.pathSeparator, path);
    }

    @Test
    void eachModuleExportsItsApiPackagesOnly() {
        ModuleFinder finder = ModuleFinder.of(java.util.Arrays.stream(modulePath().split(File.pathSeparator))
                .map(Path::of).toArray(Path[]::new));
        Map<String, List<String>> unqualified = new TreeMap<>();
        Map<String, List<String>> qualified = new TreeMap<>();
        for (String module : API.keySet()) {
            ModuleReference ref = finder.find(module).orElseThrow(() -> new AssertionError("no module " + module));
            ModuleDescriptor d = ref.descriptor();
            assertThat(d.isAutomatic()).as(module + " has a module-info").isFalse();
            unqualified.put(module, d.exports().stream().filter(x -> !x.isQualified()).map(ModuleDescriptor.Exports::source)
                    .sorted().toList());
            qualified.put(module, d.exports().stream().filter(ModuleDescriptor.Exports::isQualified)
                    .map(x -> x.source() + " to " + new java.util.TreeSet<>(x.targets())).sorted().toList());
            assertThat(d.packages()).containsAll(unqualified.get(module));
        }
        assertThat(unqualified).isEqualTo(new TreeMap<>(API));
        // the OCI client and what it names: davit's own, to its modules (the facade's Images is the API's)
        String davitModules = "[dev.davit.env, dev.davit.k8s, dev.davit.sandbox, dev.davit.sandbox.api, "
                + "dev.davit.sandbox.build, dev.davit.sandbox.container, dev.davit.sandbox.core, "
                + "dev.davit.sandbox.jail, dev.davit.sandbox.vm, dev.davit.sandbox.workspace]";
        List<String> client = Stream.of("artifact", "auth", "build", "bundle", "client", "copy", "digest",
                "manifest", "policy", "reference", "registry", "store", "unpack")
                .map(p -> "dev.davit.oci." + p + " to " + davitModules).toList();
        assertThat(qualified.get("dev.davit.oci")).containsAll(client);
        assertThat(qualified.get("dev.davit.oci").stream().filter(e -> !client.contains(e))).containsExactly(
                "dev.davit.oci.containerfile to [dev.davit.sandbox.build]",
                "dev.davit.oci.internal to [dev.davit.env, dev.davit.k8s, dev.davit.sandbox, dev.davit.sandbox.api, "
                        + "dev.davit.sandbox.build, dev.davit.sandbox.container, dev.davit.sandbox.core, "
                        + "dev.davit.sandbox.jail, dev.davit.sandbox.network, dev.davit.sandbox.vm, "
                        + "dev.davit.sandbox.workspace]",
                "dev.davit.oci.internal.manifest to [dev.davit.sandbox.workspace]");
        assertThat(qualified.get("dev.davit.env")).containsExactly(
                "dev.davit.env.catalog to [dev.davit.sandbox, dev.davit.sandbox.api]", "dev.davit.env.install to [dev.davit.sandbox.api, "
                + "dev.davit.sandbox.build, dev.davit.sandbox.workspace]");
        // the host, file and ELF layer under the jail, and the API values' JSON forms: to the modules that use them
        assertThat(qualified.get("dev.davit.sandbox.api")).containsExactly(
                "dev.davit.sandbox.elf to [dev.davit.sandbox.container, dev.davit.sandbox.vm]",
                "dev.davit.sandbox.fs to [dev.davit.sandbox.build, dev.davit.sandbox.container, dev.davit.sandbox.core, "
                        + "dev.davit.sandbox.jail, dev.davit.sandbox.network, dev.davit.sandbox.vm, "
                        + "dev.davit.sandbox.workspace]",
                "dev.davit.sandbox.host to [dev.davit.k8s, dev.davit.sandbox.build, dev.davit.sandbox.container, "
                        + "dev.davit.sandbox.core, dev.davit.sandbox.jail, dev.davit.sandbox.vm, "
                        + "dev.davit.sandbox.workspace]",
                "dev.davit.sandbox.internal to [dev.davit.k8s, dev.davit.sandbox.container, dev.davit.sandbox.core, "
                        + "dev.davit.sandbox.vm, dev.davit.sandbox.workspace]",
                "dev.davit.sandbox.target to [dev.davit.k8s, dev.davit.sandbox, dev.davit.sandbox.build, "
                        + "dev.davit.sandbox.workspace]");
        assertThat(qualified.get("dev.davit.sandbox.jail")).containsExactly("dev.davit.sandbox.jail to "
                + "[dev.davit.sandbox.build, dev.davit.sandbox.container, dev.davit.sandbox.core, dev.davit.sandbox.vm, "
                + "dev.davit.sandbox.workspace]");
        assertThat(qualified.get("dev.davit.sandbox.network")).containsExactly("dev.davit.sandbox.network to "
                + "[dev.davit.sandbox.build, dev.davit.sandbox.core, dev.davit.sandbox.workspace]");
        // the backends' interface and machinery: to the backends (the k8s one too) and the modules above them
        assertThat(qualified.get("dev.davit.sandbox.core")).containsExactly(
                "dev.davit.sandbox.agent to [dev.davit.k8s, dev.davit.sandbox.container, dev.davit.sandbox.vm]", "dev.davit.sandbox.backend to "
                + "[dev.davit.k8s, dev.davit.sandbox.build, dev.davit.sandbox.container, dev.davit.sandbox.vm, "
                + "dev.davit.sandbox.workspace]");
        // the microVM's images and guest files: to the builds and the k8s backend
        assertThat(qualified.get("dev.davit.sandbox.vm")).containsExactly(
                "dev.davit.sandbox.vm to [dev.davit.k8s, dev.davit.sandbox.build]");
        // what the doors make with that client (WorkspaceImages over a client's store): to the facade
        assertThat(qualified.get("dev.davit.sandbox.workspace")).containsExactly(
                "dev.davit.sandbox.workspace.internal to [dev.davit.sandbox]");
        for (String m : List.of("dev.davit.sandbox.container", "dev.davit.sandbox.build", "dev.davit.sandbox")) {
            assertThat(qualified.get(m)).as(m).isEmpty();
        }
    }

    @Test
    void aBackendDependsOnTheCoreNeverTheReverse() {
        ModuleFinder finder = ModuleFinder.of(java.util.Arrays.stream(modulePath().split(File.pathSeparator))
                .map(Path::of).toArray(Path[]::new));
        for (String module : UNDER_THE_BACKENDS) {
            ModuleDescriptor d = finder.find(module).orElseThrow(() -> new AssertionError("no module " + module))
                    .descriptor();
            assertThat(d.requires().stream().map(ModuleDescriptor.Requires::name).toList()).as(module)
                    .doesNotContainAnyElementsOf(BACKENDS);
        }
        for (String backend : List.of("dev.davit.sandbox.container", "dev.davit.sandbox.vm")) {
            ModuleDescriptor d = finder.find(backend).orElseThrow(() -> new AssertionError("no module " + backend))
                    .descriptor();
            assertThat(d.requires().stream().map(ModuleDescriptor.Requires::name).toList()).as(backend)
                    .contains("dev.davit.sandbox.core");
            assertThat(d.provides().stream().map(ModuleDescriptor.Provides::service).toList()).as(backend)
                    .containsExactly("dev.davit.sandbox.backend.Driver");
        }
    }

    @Test
    void aModularProgramRunsAnImageOfItsHome() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox");
        Path src = Files.createDirectories(tmp.resolve("src/demo"));
        Files.writeString(tmp.resolve("src/module-info.java"),
                "module demo { requires dev.davit.sandbox; }\n");
        Files.writeString(src.resolve("Main.java"), """
                package demo;

                import dev.davit.Davit;
                import dev.davit.OpenWorkspace;
                import dev.davit.sandbox.ExecResult;
                import java.nio.file.Path;

                public class Main {
                    public static void main(String[] args) throws Exception {
                        Path home = Path.of(args[0]);
                        try (Davit davit = Davit.builder().home(home).anonymous().build()) {
                            davit.images().build(Path.of(args[1]), "localhost/demo/busybox:1");
                            System.out.println("stored: " + davit.images().find("localhost/demo/busybox:1").isPresent());
                            ExecResult r = davit.run("localhost/demo/busybox:1", "sh", "-c", "echo in a sandbox $((6 * 7))");
                            System.out.print(r.stdoutText());
                            try (OpenWorkspace ws = davit.workspace("localhost/demo/busybox:1")) {
                                ws.files().write("note.txt", "committed\\n");
                                var c = ws.commit("localhost/demo/committed:1", null);
                                System.out.println("committed: " + c.digest().startsWith("sha256:") + " "
                                        + davit.images().find("localhost/demo/committed:1").isPresent());
                            }
                        }
                        System.out.println("module: " + Davit.class.getModule().getName());
                    }
                }
                """);
        Path rootfs = Files.createDirectories(tmp.resolve("rootfs/bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), rootfs.resolve("busybox"));
        for (String applet : List.of("sh", "sleep", "cat")) { // a workspace's keeper sleeps
            Files.createSymbolicLink(rootfs.resolve(applet), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp")) {
            Files.createDirectories(tmp.resolve("rootfs").resolve(d));
        }
        Path out = tmp.resolve("out");
        String mp = modulePath();
        assertThat(javac("-p", mp, "-d", out.toString(), tmp.resolve("src/module-info.java").toString(),
                src.resolve("Main.java").toString())).isEmpty();

        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "--enable-native-access=dev.davit.oci,"
                + "dev.davit.sandbox.api,dev.davit.sandbox.jail,dev.davit.sandbox.network",
                "-p", out + File.pathSeparator + mp, "-m", "demo/demo.Main",
                tmp.resolve("home").toString(), tmp.resolve("rootfs").toString())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(output).isZero();
        // the commit makes WorkspaceImages through a lookup into its own module's package, on the module path too
        assertThat(output).isEqualTo("stored: true\nin a sandbox 42\ncommitted: true true\nmodule: dev.davit.sandbox\n");
    }

    @Test
    void davitsOwnPackagesAreNotVisibleToAModularProgram() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/demo"));
        Files.writeString(tmp.resolve("src/module-info.java"), "module demo { requires dev.davit.sandbox; }\n");
        Files.writeString(src.resolve("Main.java"), """
                package demo;

                public class Main {
                    dev.davit.oci.internal.Fs files;
                    dev.davit.sandbox.jail.Jail jail;
                    dev.davit.sandbox.internal.SandboxJson forms;
                    dev.davit.sandbox.backend.Driver driver;
                    dev.davit.sandbox.target.RunTargets targets;
                    dev.davit.env.catalog.Catalogs catalogs;
                    dev.davit.oci.containerfile.Containerfile containerfile;
                    dev.davit.oci.client.DavitClient client;
                    dev.davit.oci.reference.Reference reference;
                    dev.davit.sandbox.workspace.internal.WorkspaceInternals internals;
                    dev.davit.internal.Handles handles;
                    com.fasterxml.jackson.databind.JsonNode tree;
                }
                """);
        String errors = javac("-p", modulePath(), "-d", tmp.resolve("out").toString(),
                tmp.resolve("src/module-info.java").toString(), src.resolve("Main.java").toString());
        assertThat(errors).contains("package dev.davit.oci.internal is not visible")
                .contains("package dev.davit.sandbox.jail is not visible")
                .contains("package dev.davit.sandbox.internal is not visible")
                // how an image becomes runnable, catalogs' files and Containerfiles' parse: the facade's business
                .contains("package dev.davit.sandbox.target is not visible")
                .contains("package dev.davit.env.catalog is not visible")
                .contains("package dev.davit.oci.containerfile is not visible")
                // the OCI client and what it names, and what only the doors do: davit's own
                .contains("package dev.davit.oci.client is not visible")
                .contains("package dev.davit.oci.reference is not visible")
                .contains("package dev.davit.sandbox.workspace.internal is not visible")
                .contains("package dev.davit.internal is not visible")
                // the backends' interface and machinery are davit's own: a new backend is a module of davit's
                .contains("package dev.davit.sandbox.backend is not visible")
                // davit's modules read Jackson, but do not pass it on: their API names none of its types
                .contains("package com.fasterxml.jackson.databind is not visible");
    }

    /** Runs javac; its diagnostics (empty when it compiled). */
    private static String javac(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = ToolProvider.getSystemJavaCompiler().run(null, null, err, args);
        String text = err.toString(StandardCharsets.UTF_8);
        return rc == 0 ? text.lines().filter(l -> !l.isBlank()).collect(Collectors.joining("\n")) : text;
    }
}
