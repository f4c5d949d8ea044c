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
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
    /** Every main class of davit's modules. */
    private static final JavaClasses DAVIT = importDavit();
    /** Every import between two of davit's packages ({@code sandbox.jail -> sandbox.host}), with a class making it. */
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
            List.of("sandbox.jail", "sandbox.network", "sandbox.internal"),
            List.of("sandbox.backend"),
            List.of("sandbox.engine", "sandbox.container", "sandbox.vm"),
            List.of("sandbox.workspace", "sandbox.build"),
            List.of("sandbox.workspace.json", "k8s"),
            List.of("dev.davit"),
            List.of("cli.*"));

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

    @Test
    void readsEveryModuleAndItsJava22Classes() {
        assertThat(DAVIT.size()).isGreaterThan(500);
        for (String c : List.of("dev.davit.oci.client.DavitClient", "dev.davit.env.Catalog", "dev.davit.Davit",
                "dev.davit.k8s.K8sDriver", "dev.davit.cli.Main", "dev.davit.cli.mcp.DavitMcpServer",
                "dev.davit.oci.digest.OpenSslSha256", "dev.davit.sandbox.fs.LinuxSys")) {
            assertThat(DAVIT.contain(c)).as(c).isTrue();
        }
    }

    private static Map<String, String> imports() {
        Map<String, String> imports = new TreeMap<>();
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

    private static JavaClasses importDavit() {
        List<Location> locations = new ArrayList<>();
        for (Class<?> c : List.of(dev.davit.oci.DavitException.class, dev.davit.env.Catalog.class,
                dev.davit.Davit.class, dev.davit.k8s.K8sDriver.class, Main.class)) {
            URI root = codeSource(c);
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
