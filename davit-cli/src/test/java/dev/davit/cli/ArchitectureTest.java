package dev.davit.cli;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
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
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The layers of docs/DESIGN.md ("Layers"), held: no package of davit's main code imports another package that
 * (through any chain) imports it back. A wrong import fails here with the rule's name and the cycle, class by class.
 *
 * <p>The classes are read from the jars (or class directories) the tests run on, each module's Java 22 classes
 * ({@code META-INF/versions/22}) too; test classes are not read.
 */
class ArchitectureTest {
    /** Every main class of davit's modules. */
    private static final JavaClasses DAVIT = importDavit();

    /**
     * The imports that still go against the layers, each from a package to one above it (issue 56 cuts them; the
     * target layers are DESIGN.md's): no cycle may use another import, and a cut one must leave this list
     * ({@link #everyImportStillToCutIsStillThere}).
     */
    private static final List<String> STILL_TO_CUT = List.of(
            "sandbox -> sandbox.internal", "sandbox -> sandbox.jail",
            "sandbox -> sandbox.backend",
            "sandbox -> sandbox.build",
            "sandbox.internal -> sandbox.workspace");

    @Test
    void noPackageImportsAPackageThatImportsItBack() {
        SliceRule rule = slices().matching("dev.davit.(**)").namingSlices("$1")
                .as("davit's packages are free of import cycles (docs/DESIGN.md, Layers)")
                .should().beFreeOfCycles();
        for (String edge : STILL_TO_CUT) {
            String[] e = edge.split(" -> ");
            rule = rule.ignoreDependency(resideInAPackage("dev.davit." + e[0]), resideInAPackage("dev.davit." + e[1]));
        }
        rule.check(DAVIT);
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

    @Test
    void everyImportStillToCutIsStillThere() {
        Set<String> imports = new TreeSet<>();
        for (JavaClass c : DAVIT) {
            for (Dependency d : c.getDirectDependenciesFromSelf()) {
                String from = c.getPackageName();
                String to = d.getTargetClass().getPackageName();
                if (!from.equals(to) && to.startsWith("dev.davit.")) {
                    imports.add(shortName(from) + " -> " + shortName(to));
                }
            }
        }
        assertThat(STILL_TO_CUT).as("imports cut: take them off STILL_TO_CUT").allMatch(imports::contains);
    }

    /** {@code dev.davit.sandbox.jail} as {@code sandbox.jail}. */
    private static String shortName(String pkg) {
        return pkg.equals("dev.davit") ? "dev.davit" : pkg.substring("dev.davit.".length());
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
