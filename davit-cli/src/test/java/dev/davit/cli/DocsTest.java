package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The docs hold together (issue 56): every relative link of README.md and docs/ reaches a file (and its anchor, a
 * heading of that file), each door's guide is short, and the README is short and gives the test command CI runs.
 */
class DocsTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    /** {@code [text](target)} or {@code ![alt](target "title")}; the target without its title. */
    private static final Pattern LINK = Pattern.compile("\\[[^\\]]*\\]\\(([^)\\s]+)(?:\\s+\"[^\"]*\")?\\)");
    private static final Pattern CODE_SPAN = Pattern.compile("`+[^`]*`+");
    private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.*?)\\s*#*\\s*$");

    /** README.md, every module's README.md and every Markdown file under docs/. */
    private static List<Path> docs() throws IOException {
        List<Path> files = new ArrayList<>(List.of(REPO.resolve("README.md")));
        for (String m : modules()) {
            files.add(REPO.resolve(m).resolve("README.md"));
        }
        try (Stream<Path> docs = Files.walk(REPO.resolve("docs"))) {
            docs.filter(f -> f.toString().endsWith(".md")).sorted().forEach(files::add);
        }
        return files;
    }

    /** The modules the parent pom builds, e.g. {@code davit-oci}. */
    static List<String> modules() throws IOException {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("<module>([\\w-]+)</module>").matcher(Files.readString(REPO.resolve("pom.xml")));
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /**
     * Each module has a one-screen README (what it owns, what it may import, its packages) that names every package
     * of its main code, so a package added or moved without its README fails here.
     */
    @Test
    void everyModuleHasAReadmeNamingEachOfItsPackages() throws IOException {
        assertThat(modules()).hasSizeGreaterThanOrEqualTo(7);
        for (String m : modules()) {
            Path readme = REPO.resolve(m).resolve("README.md");
            assertThat(readme).as(m + "/README.md").isRegularFile();
            List<String> lines = Files.readAllLines(readme);
            assertThat(lines).as("lines of " + m + "/README.md (one screen)").hasSizeLessThanOrEqualTo(60);
            String text = String.join("\n", lines);
            for (String part : List.of("**Owns**", "**May import**")) {
                assertThat(text).as(m + "/README.md says what it " + part).contains(part);
            }
            for (String dir : List.of("src/main/java", "src/main/java22")) {
                Path root = REPO.resolve(m).resolve(dir);
                if (!Files.isDirectory(root)) {
                    continue;
                }
                try (Stream<Path> files = Files.walk(root)) {
                    for (Path f : files.filter(f -> f.toString().endsWith(".java")
                            && !f.getFileName().toString().equals("module-info.java")).toList()) {
                        String pkg = root.relativize(f.getParent()).toString().replace('/', '.');
                        String shortName = pkg.substring(pkg.lastIndexOf('.') + 1);
                        // a package is named in full, or as ".name" in a row of its parent's siblings
                        assertThat(text.contains("`" + pkg + "`") || text.contains("`." + shortName + "`"))
                                .as(m + "/README.md names " + pkg).isTrue();
                    }
                }
            }
        }
    }

    /** The lines of a Markdown file outside fenced code blocks. */
    private static List<String> prose(Path file) throws IOException {
        List<String> out = new ArrayList<>();
        boolean fenced = false;
        for (String line : Files.readAllLines(file)) {
            if (line.stripLeading().startsWith("```")) {
                fenced = !fenced;
            } else if (!fenced) {
                out.add(line);
            }
        }
        return out;
    }

    /** GitHub's anchors of a file's headings: lower case, only letters, digits, spaces, - and _, spaces as -. */
    private static Set<String> anchors(Path file) throws IOException {
        Set<String> anchors = new HashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        for (String line : prose(file)) {
            Matcher h = HEADING.matcher(line);
            if (h.matches()) {
                StringBuilder a = new StringBuilder();
                h.group(1).toLowerCase(Locale.ROOT).codePoints()
                        .filter(c -> Character.isLetterOrDigit(c) || c == ' ' || c == '-' || c == '_')
                        .forEach(c -> a.appendCodePoint(c == ' ' ? '-' : c));
                int n = seen.merge(a.toString(), 1, Integer::sum);
                anchors.add(n == 1 ? a.toString() : a + "-" + (n - 1));
            }
        }
        return anchors;
    }

    @Test
    void everyRelativeLinkReachesItsFileAndAnchor() throws IOException {
        List<String> broken = new ArrayList<>();
        int links = 0;
        for (Path file : docs()) {
            for (String line : prose(file)) {
                Matcher m = LINK.matcher(CODE_SPAN.matcher(line).replaceAll("")); // [`text`](x) is [](x)
                while (m.find()) {
                    String target = m.group(1);
                    if (target.matches("(?i)(https?|mailto):.*")) {
                        continue;
                    }
                    links++;
                    int hash = target.indexOf('#');
                    String path = hash < 0 ? target : target.substring(0, hash);
                    Path to = path.isEmpty() ? file
                            : (path.startsWith("/") ? REPO.resolve(path.substring(1)) : file.resolveSibling(path))
                                    .normalize();
                    String where = REPO.relativize(file) + ": (" + target + ")";
                    if (!Files.exists(to)) {
                        broken.add(where + " no file " + REPO.relativize(to));
                    } else if (hash >= 0 && to.toString().endsWith(".md")
                            && !anchors(to).contains(target.substring(hash + 1))) {
                        broken.add(where + " no heading #" + target.substring(hash + 1) + " in "
                                + REPO.relativize(to));
                    }
                }
            }
        }
        assertThat(links).as("relative links found").isGreaterThan(50);
        assertThat(broken).as("broken links").isEmpty();
    }

    @Test
    void eachDoorHasAShortGuide() throws IOException {
        for (String guide : List.of("CLI.md", "LIBRARY.md", "MCP.md")) {
            Path file = REPO.resolve("docs/guides").resolve(guide);
            assertThat(file).as("docs/guides/" + guide).isRegularFile();
            assertThat(Files.readAllLines(file)).as("lines of docs/guides/" + guide).hasSizeLessThanOrEqualTo(300);
        }
    }

    @Test
    void theReadmeIsShortAndGivesTheTestCommandCiRuns() throws IOException {
        List<String> readme = Files.readAllLines(REPO.resolve("README.md"));
        assertThat(readme).as("lines of README.md").hasSizeLessThanOrEqualTo(150);
        // .ci/run ends with "exec bash scripts/test.sh": the README gives "scripts/test.sh"
        String exec = Files.readAllLines(REPO.resolve(".ci/run")).stream().map(String::strip)
                .filter(l -> l.startsWith("exec ")).reduce((a, b) -> b).orElseThrow(
                        () -> new AssertionError(".ci/run has no exec line"));
        String command = exec.substring("exec ".length()).replaceFirst("^(bash|sh)\\s+", "");
        assertThat(String.join("\n", readme)).as("README.md gives .ci/run's command " + command)
                .contains(command);
    }
}
