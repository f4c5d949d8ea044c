package dev.davit.cli;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.library.dependencies.SliceRule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The layers of docs/DESIGN.md ("Layers"), held: no package of davit's main code imports a package of a layer above
 * its own, and no package imports another that (through any chain) imports it back. A wrong import fails here with
 * the rule's name and the import, class by class.
 *
 * <p>The classes are read from the jars (or class directories) the tests run on, each module's Java 22 classes
 * ({@code META-INF/versions/22}) too; test classes are not read, nor davit-junit's (which nothing of davit imports).
 */
class ArchitectureTest {
    /**
     * davit's modules whose main code is read: every module the parent pom builds but davit-junit (nothing of davit
     * imports it), davit-picocli (no sources here: it compiles picocli's from their jar) and davit-bom (no code).
     */
    private static final List<String> MODULES = modules();
    /** Every main class of davit's modules. */
    private static final JavaClasses DAVIT = importDavit();
    /**
     * Every import between two of davit's packages ({@code sandbox.jail -> sandbox.host}), with a class making it:
     * read from the classes, and from the main sources' import lines too (an import that only javadoc uses leaves
     * no trace in a class, yet a compiler must resolve it, so it would tie two modules together all the same).
     */
    private static final Map<String, String> IMPORTS = imports();

    /**
     * DESIGN.md's layers, bottom first, each a list of packages ({@code sandbox.jail} for {@code
     * dev.davit.sandbox.jail}; {@code oci.*} for every package of davit-oci): a package may import packages of its own
     * layer and of those below.
     */
    private static final List<List<String>> LAYERS = List.of(
            List.of("oci.*"),
            List.of("env.*"),
            List.of("sandbox.host", "sandbox.fs", "sandbox.elf"),
            List.of("sandbox"),
            List.of("sandbox.jail", "sandbox.network", "sandbox.internal", "sandbox.target"),
            List.of("sandbox.backend", "sandbox.agent"),
            List.of("sandbox.engine", "sandbox.container", "sandbox.vm"),
            List.of("sandbox.workspace", "sandbox.build"),
            List.of("sandbox.workspace.json", "sandbox.workspace.internal", "k8s"),
            List.of("dev.davit"),
            List.of("internal"),
            List.of("mcp"),
            List.of("cli.*", "langchain4j", "spring.*"),
            List.of("examples.*"));

    @Test
    void noPackageImportsAPackageThatImportsItBack() {
        SliceRule rule = slices().matching("(**)").namingSlices("$1")
                .as("davit's packages are free of import cycles (docs/DESIGN.md, Layers)")
                .should().beFreeOfCycles();
        rule.check(DAVIT);
    }

    @Test
    void noImportGoesUpALayer() {
        List<String> up = new ArrayList<>();
        List<String> unplaced = new ArrayList<>();
        IMPORTS.forEach((edge, where) -> {
            String[] e = edge.split(" -> ");
            int from = layer(e[0]);
            int to = layer(e[1]);
            if (from < 0 || to < 0) {
                unplaced.add(from < 0 ? e[0] : e[1]);
            } else if (to > from) {
                up.add(edge + " (" + where + ")");
            }
        });
        assertThat(unplaced).as("packages in no layer: add each to LAYERS and to DESIGN.md's drawing").isEmpty();
        assertThat(up).as("imports up a layer (docs/DESIGN.md, Layers)").isEmpty();
    }

    /**
     * ArchUnit's slices rule reads classes; this one holds the same for every import, the sources' included: no
     * package reaches itself through davit's imports.
     */
    @Test
    void noImportLineClosesACycle() {
        Map<String, Set<String>> graph = new TreeMap<>();
        IMPORTS.keySet().forEach(edge -> {
            String[] e = edge.split(" -> ");
            graph.computeIfAbsent(e[0], k -> new TreeSet<>()).add(e[1]);
        });
        List<String> back = new ArrayList<>();
        graph.forEach((from, tos) -> tos.forEach(to -> {
            if (reaches(graph, to, from)) {
                back.add(from + " -> " + to + " (" + IMPORTS.get(from + " -> " + to) + ")");
            }
        }));
        assertThat(back).as("imports between packages that import each other (docs/DESIGN.md, Layers)").isEmpty();
    }

    @Test
    void readsEveryModuleAndItsJava22Classes() {
        assertThat(DAVIT.size()).isGreaterThan(500);
        for (String c : List.of("dev.davit.oci.client.DavitClient", "dev.davit.env.Catalog", "dev.davit.Davit",
                "dev.davit.k8s.K8sDriver", "dev.davit.cli.Main", "dev.davit.mcp.DavitMcpServer",
                "dev.davit.oci.digest.OpenSslSha256", "dev.davit.sandbox.fs.LinuxSys", "dev.davit.sandbox.jail.LinuxMounts",
                "dev.davit.sandbox.network.UrlFetch", "dev.davit.sandbox.vm.VmDriver",
                "dev.davit.sandbox.build.LocalEnvBuilder")) {
            assertThat(DAVIT.contain(c)).as(c).isTrue();
        }
    }

    private static Map<String, String> imports() {
        Map<String, String> imports = sourceImports();
        for (JavaClass c : DAVIT) {
            for (Dependency d : c.getDirectDependenciesFromSelf()) {
                String from = c.getPackageName();
                String to = d.getTargetClass().getPackageName();
                if (!from.equals(to) && (to.equals("dev.davit") || to.startsWith("dev.davit."))) {
                    imports.putIfAbsent(shortName(from) + " -> " + shortName(to),
                            c.getName() + " uses " + d.getTargetClass().getName());
                }
            }
        }
        return imports;
    }

    /**
     * The import lines of every main source of davit's modules (a module's {@code src/main/java} and
     * {@code src/main/java22}, found beside davit-cli), between two of davit's packages.
     */
    private static Map<String, String> sourceImports() {
        Map<String, String> imports = new TreeMap<>();
        Pattern pkg = Pattern.compile("(?m)^package ([\\w.]+);");
        Pattern imp = Pattern.compile("(?m)^import (?:static )?(dev\\.davit(?:\\.[a-z]\\w*)*)\\.[A-Z]");
        List<Path> roots = new ArrayList<>();
        for (String m : MODULES) {
            for (String dir : List.of("src/main/java", "src/main/java22")) {
                Path root = Path.of("..", m, dir);
                if (Files.isDirectory(root)) {
                    roots.add(root);
                }
            }
        }
        assertThat(roots).as("the modules' sources, beside davit-cli").hasSizeGreaterThanOrEqualTo(MODULES.size());
        for (Path root : roots) {
            try (Stream<Path> files = Files.walk(root)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    String text = Files.readString(f);
                    Matcher p = pkg.matcher(text);
                    if (!p.find()) {
                        continue; // module-info
                    }
                    Matcher i = imp.matcher(text);
                    while (i.find()) {
                        if (!i.group(1).equals(p.group(1))) {
                            imports.putIfAbsent(shortName(p.group(1)) + " -> " + shortName(i.group(1)),
                                    root.relativize(f) + " imports " + i.group(1));
                        }
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return imports;
    }

    /** Whether {@code to} is reached from {@code from} in {@code graph}. */
    private static boolean reaches(Map<String, Set<String>> graph, String from, String to) {
        Set<String> seen = new HashSet<>();
        Deque<String> todo = new ArrayDeque<>(List.of(from));
        while (!todo.isEmpty()) {
            String p = todo.pop();
            if (p.equals(to)) {
                return true;
            }
            if (seen.add(p)) {
                todo.addAll(graph.getOrDefault(p, Set.of()));
            }
        }
        return false;
    }

    /** The index in {@link #LAYERS} of package {@code pkg} (short name), or -1. */
    private static int layer(String pkg) {
        for (int i = 0; i < LAYERS.size(); i++) {
            for (String p : LAYERS.get(i)) {
                if (p.equals(pkg) || p.endsWith(".*") && (pkg + ".").startsWith(p.substring(0, p.length() - 1))) {
                    return i;
                }
            }
        }
        return -1;
    }

    /** {@code dev.davit.sandbox.jail} as {@code sandbox.jail}; {@code dev.davit} as it is. */
    private static String shortName(String pkg) {
        return pkg.equals("dev.davit") ? pkg : pkg.substring("dev.davit.".length());
    }

    private static List<String> modules() {
        try {
            return DocsTest.modules().stream()
                    .filter(m -> !List.of("davit-junit", "davit-picocli", "davit-bom").contains(m)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JavaClasses importDavit() {
        List<Location> locations = new ArrayList<>();
        for (String c : List.of("dev.davit.oci.DavitException", "dev.davit.env.Catalog", "dev.davit.sandbox.RunSpec",
                "dev.davit.sandbox.jail.Jail", "dev.davit.sandbox.network.UrlFetch", "dev.davit.sandbox.engine.Sandboxes",
                "dev.davit.sandbox.container.ContainerDriver", "dev.davit.sandbox.vm.VmDriver",
                "dev.davit.sandbox.workspace.Workspaces", "dev.davit.sandbox.build.LocalEnvBuilder", "dev.davit.Davit",
                "dev.davit.k8s.K8sDriver", "dev.davit.mcp.DavitMcpServer", Main.class.getName())) {
            URI root;
            try {
                root = codeSource(Class.forName(c, false, ArchitectureTest.class.getClassLoader()));
            } catch (ClassNotFoundException e) {
                throw new AssertionError("a module's class is missing from the test's class path: " + c, e);
            }
            locations.add(Location.of(root));
            URI versioned = root.getScheme().equals("file") && root.getPath().endsWith(".jar")
                    ? URI.create("jar:" + root + "!/META-INF/versions/22/")
                    : root.resolve("META-INF/versions/22/");
            locations.add(Location.of(versioned));
        }
        return new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importLocations(locations);
    }

    private static URI codeSource(Class<?> c) {
        try {
            return c.getProtectionDomain().getCodeSource().getLocation().toURI();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
