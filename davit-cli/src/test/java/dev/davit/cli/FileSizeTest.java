package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No main file of davit is over {@value #MAX_LINES} lines (issue 56): a file that grows past it is split by concern
 * before it lands, as {@code DavitClient}, {@code Workspaces} and the others were. Main files: the sources and
 * resources under each module's {@code src/main}, the scripts under {@code scripts/}, {@code cluster/} and
 * {@code .ci/}; not tests, docs, generated lock files ({@code go.sum}) or data.
 */
class FileSizeTest {
    static final int MAX_LINES = 800;
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Set<String> SOURCE_ENDINGS = Set.of(".java", ".c", ".h", ".go", ".rs", ".sh", ".py", ".js",
            ".mjs", ".properties", ".policy", ".yaml", ".yml");

    @Test
    void noMainFileIsOverTheLimit() throws IOException {
        List<Path> roots = new ArrayList<>();
        try (Stream<Path> modules = Files.list(REPO)) {
            modules.filter(m -> m.getFileName().toString().startsWith("davit-"))
                    .map(m -> m.resolve("src/main")).filter(Files::isDirectory).forEach(roots::add);
        }
        for (String dir : List.of("scripts", "cluster", ".ci")) {
            if (Files.isDirectory(REPO.resolve(dir))) {
                roots.add(REPO.resolve(dir));
            }
        }
        assertThat(roots).as("module sources and scripts found from " + REPO).hasSizeGreaterThanOrEqualTo(7);
        List<String> over = new ArrayList<>();
        int read = 0;
        for (Path root : roots) {
            try (Stream<Path> files = Files.walk(root)) {
                for (Path f : files.filter(Files::isRegularFile).filter(FileSizeTest::isSource).toList()) {
                    long lines = lines(f);
                    read++;
                    if (lines > MAX_LINES) {
                        over.add(REPO.relativize(f) + ": " + lines + " lines");
                    }
                }
            }
        }
        assertThat(read).as("main files read").isGreaterThan(300);
        assertThat(over).as("main files over " + MAX_LINES + " lines: split them by concern").isEmpty();
    }

    private static boolean isSource(Path f) {
        String name = f.getFileName().toString();
        if (f.toString().contains("/rust/tests/") || f.toString().contains("/target/")) {
            return false; // the agent's tests (cargo's tests/ beside its src/) and a build's output are not main files
        }
        return SOURCE_ENDINGS.stream().anyMatch(name::endsWith) || (!name.contains(".") && isScript(f));
    }

    private static boolean isScript(Path f) {
        try {
            byte[] head = Files.readAllBytes(f);
            return head.length > 2 && head[0] == '#' && head[1] == '!';
        } catch (IOException e) {
            return false;
        }
    }

    private static long lines(Path f) throws IOException {
        String s = Files.readString(f, StandardCharsets.ISO_8859_1);
        return s.isEmpty() ? 0 : s.split("\n", -1).length - (s.endsWith("\n") ? 1 : 0);
    }
}
