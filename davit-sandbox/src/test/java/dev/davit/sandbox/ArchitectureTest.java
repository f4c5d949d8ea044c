package dev.davit.sandbox;

import dev.davit.sandbox.engine.Sandboxes;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.backend.Driver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Backends are modules (docs/DESIGN.md): the modules under them (the API, the jail, the egress gate, the core with
 * the engine that runs sandboxes and the backends' interface {@code dev.davit.sandbox.backend}) name no backend, not
 * even in a javadoc link, and a backend names no other backend; the core finds them as drivers. (Maven and the
 * modules' descriptors hold the imports; this holds the names too.)
 */
class ArchitectureTest {
    /** The repository: this module's parent directory. */
    private static final Path REPO = Path.of("..");
    /** The modules under the backends. */
    private static final List<String> CORE = List.of("davit-sandbox-api", "davit-jail", "davit-network",
            "davit-sandbox-core");
    private static final List<String> BACKENDS = List.of("container", "vm");
    /** A use of a backend's type by name: an import or a qualified name in code or javadoc links. */
    private static final Pattern USE = Pattern.compile("dev\\.davit\\.sandbox\\.(container|vm)\\.[A-Z]");

    @Test
    void theCoreImportsNoBackend() throws IOException {
        List<String> found = new ArrayList<>();
        for (String core : CORE) {
            for (Path f : javaFiles(REPO.resolve(core).resolve("src/main/java"), true)) {
                uses(f, found, null);
            }
        }
        assertThat(found).isEmpty();
    }

    @Test
    void noBackendImportsAnother() throws IOException {
        List<String> found = new ArrayList<>();
        for (String b : BACKENDS) {
            for (Path f : javaFiles(REPO.resolve("davit-" + b).resolve("src/main/java"), true)) {
                uses(f, found, b);
            }
        }
        assertThat(found).isEmpty();
    }

    @Test
    void theDriversAreFoundTheDefaultFirst() {
        assertThat(Driver.all()).extracting(Driver::name).containsExactly(RunSpec.CONTAINER, RunSpec.VM);
        assertThat(Sandboxes.BACKENDS).containsExactly("container", "vm");
        assertThat(Driver.named("vm")).isNotNull();
        assertThat(Driver.named("nope")).isNull();
    }

    /** Adds to {@code found} each use in {@code f} of a backend other than {@code own} (null: any backend). */
    private static void uses(Path f, List<String> found, String own) throws IOException {
        String text = Files.readString(f);
        Matcher m = USE.matcher(text);
        while (m.find()) {
            if (!m.group(1).equals(own)) {
                found.add(REPO.relativize(f) + ": " + text.substring(m.start(), Math.min(text.length(),
                        m.end() + 30)).split("[\\s;(]")[0]);
            }
        }
        if (own != null) {
            for (String other : BACKENDS) {
                if (!other.equals(own) && text.contains("package dev.davit.sandbox." + other + ";")) {
                    found.add(f + ": in the wrong package");
                }
            }
        }
    }

    private static List<Path> javaFiles(Path dir, boolean deep) throws IOException {
        assertThat(dir).isDirectory();
        try (Stream<Path> s = deep ? Files.walk(dir) : Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
    }
}
