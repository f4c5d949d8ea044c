package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.Davit;
import dev.davit.mcp.DavitMcpServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Facts are stated once (issue 74): a version, a default or a count that the docs give is read here from where it
 * is really decided (the poms, a script, the code's constants, the MCP server's tool list), and every statement of
 * it in README.md, the modules' READMEs and docs/ must give that value (else the docs contradict the code) and stand
 * in the fact's one page (else it is stated twice, and the copies drift apart: the other pages link there). A fact
 * without a home is a value check only (a version in every POM snippet).
 *
 * <p>A statement is found by its wording ({@link Fact#statement}); a fact several of whose values share a wording
 * (the JDK to run, to build, to make a release) tells them apart by value. To add a fact: its source here, its
 * wording, its page.
 */
class DocFactsTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path home;

    /**
     * One fact: what states it ({@code statement}, any group capturing the value), its values (one, or several
     * told apart by value, each with its name, where it comes from and its page: null for anywhere).
     */
    record Fact(Pattern statement, List<Value> values) {
    }

    record Value(String name, String value, String source, String page) {
    }

    private List<Fact> facts() throws Exception {
        String pom = Files.readString(REPO.resolve("pom.xml"));
        String dist = Files.readString(REPO.resolve("scripts/dist.sh"));
        String version = find(pom, "<artifactId>davit-parent</artifactId>\\s*<version>([^<]+)</version>");
        Map<String, Integer> tools = toolCounts();
        int apiTypes = ApiSurfaceTest.EXPORTED.values().stream().mapToInt(List::size).sum();
        return List.of(
                new Fact(Pattern.compile("\\b(\\d+\\.\\d+\\.\\d+)[-~]SNAPSHOT\\b"), List.of(new Value("davit's version",
                        version.replace("-SNAPSHOT", ""), "pom.xml's <version>", null))),
                new Fact(Pattern.compile("\\bJDK\\s*(?:≥|>=)\\s*(\\d+)|\\bJDK\\s+(\\d+)\\s+or\\s+(?:later|newer)"
                        + "|\\bruns?\\s+on\\s+(?:JDK\\s+|Java\\s+)?(?:≥|>=)\\s*(\\d+)"),
                        List.of(new Value("the JDK a program needs", find(pom,
                                        "<maven\\.compiler\\.release>(\\d+)</maven\\.compiler\\.release>"),
                                        "pom.xml's maven.compiler.release", "docs/reference/LIBRARY.md"),
                                new Value("the JDK that builds davit", find(pom,
                                        "<id>java22</id>[\\s\\S]*?<release>(\\d+)</release>"),
                                        "pom.xml's java22 profile", "docs/reference/SETUP.md"),
                                new Value("the JDK that makes a release", find(dist,
                                        "DAVIT_JAVA_MAJOR:-0}\" -lt (\\d+)"), "scripts/dist.sh",
                                        "docs/reference/SETUP.md"))),
                new Fact(Pattern.compile("\\b(\\d+)\\s+min(?:utes)?\\s+per\\s+command"), List.of(new Value(
                        "the Davit facade's default timeout per command", Long.toString(
                                Davit.DEFAULT_TIMEOUT.toMinutes()), "Davit.DEFAULT_TIMEOUT",
                        "docs/reference/LIBRARY.md"))),
                new Fact(Pattern.compile("\\b(\\d+)\\s+(?:MCP\\s+)?tools\\b|`core` (?:\\(default\\) )?(\\d+)(?![.\\d]| ?KB)"
                        + "|`full` all (\\d+)"),
                        List.of(new Value("the run profile's tool count", tools.get("run").toString(), "the MCP"
                                        + " server's tools/list", "docs/reference/mcp/OPTIONS.md"),
                                new Value("the core profile's tool count", tools.get("core").toString(), "the MCP"
                                        + " server's tools/list", "docs/reference/mcp/OPTIONS.md"),
                                new Value("the full profile's tool count", tools.get("full").toString(), "the MCP"
                                        + " server's tools/list", "docs/reference/mcp/OPTIONS.md"))),
                framework("LangChain4j", find(pom, "<langchain4j\\.version>([^<]+)<"), "langchain4j.version"),
                framework("Spring AI", find(pom, "<spring-ai\\.version>([^<]+)<"), "spring-ai.version"),
                framework("Spring Boot", find(pom, "<spring-boot\\.version>([^<]+)<"), "spring-boot.version"),
                new Fact(Pattern.compile("slf4j-(?:simple|nop|api):(\\d+\\.\\d+\\.\\d+)|<artifactId>slf4j-(?:simple|nop)"
                        + "</artifactId>\\s*<version>(\\d+\\.\\d+\\.\\d+)<"), List.of(new Value("the SLF4J version",
                        find(pom, "<slf4j\\.version>([^<]+)<"), "pom.xml's slf4j.version", null))),
                new Fact(Pattern.compile("(?m)^\\| *\\| *all *\\| *(\\d+)"), List.of(new Value("the API's type count",
                        Integer.toString(apiTypes), "ApiSurfaceTest.EXPORTED", "docs/DESIGN.md"))),
                new Fact(Pattern.compile("(?m)^\\| *\\| *all *\\| *\\d+ *\\| *(\\d+)"), List.of(new Value(
                        "the API's top-level type count", Integer.toString(ApiSurfaceTest.TOP_LEVEL),
                        "ApiSurfaceTest.TOP_LEVEL", "docs/DESIGN.md"))));
    }

    private static Fact framework(String name, String version, String property) {
        return new Fact(Pattern.compile(name.replace(" ", "\\s+") + "\\s+(\\d+\\.\\d+\\.\\d+)"), List.of(new Value(name
                + "'s version", version, "pom.xml's " + property, "docs/guides/AGENTS.md")));
    }

    /** The number of tools each profile of the MCP server offers. */
    private Map<String, Integer> toolCounts() {
        Map<String, Integer> out = new java.util.TreeMap<>();
        for (String profile : List.of("run", "core", "full")) {
            try (DavitMcpServer s = new DavitMcpServer(new DavitMcpServer.Options(profile, List.of(), false, 8,
                    Duration.ofHours(1), false, home, Map.of("DAVIT_HOME", home.toString()), System.err, "test",
                    List.of(), 0))) {
                out.put(profile, s.specifications().size());
            }
        }
        return out;
    }

    private static String find(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertThat(m.find()).as("the source holds " + regex).isTrue();
        return m.group(1);
    }

    /**
     * README.md, every module's README.md and every Markdown file under docs/, code blocks included; not the
     * benchmarks' pages, which are history (what was measured then, with the counts and versions of then).
     */
    private static List<Path> docs() throws IOException {
        List<Path> files = new ArrayList<>(List.of(REPO.resolve("README.md")));
        for (String m : DocsTest.modules()) {
            files.add(REPO.resolve(m).resolve("README.md"));
        }
        try (Stream<Path> docs = Files.walk(REPO.resolve("docs"))) {
            docs.filter(f -> f.toString().endsWith(".md") && !f.toString().contains("benchmarks/")
                    && !f.endsWith("BENCHMARKS.md")).sorted().forEach(files::add);
        }
        return files;
    }

    @Test
    void everyFactIsStatedOnceAndAsTheCodeHasIt() throws Exception {
        List<String> wrong = new ArrayList<>();
        List<Fact> facts = facts();
        Set<Value> stated = new java.util.HashSet<>();
        for (Path file : docs()) {
            String where = REPO.relativize(file).toString();
            String text = Files.readString(file);
            for (Fact fact : facts) {
                Matcher m = fact.statement().matcher(text);
                while (m.find()) {
                    int line = 1 + (int) text.substring(0, m.start()).chars().filter(c -> c == '\n').count();
                    String said = m.group(groupOf(m));
                    Value value = fact.values().stream().filter(v -> v.value().equals(said)).findFirst()
                            .orElse(null);
                    String at = where + ":" + line + ": '" + m.group().replaceAll("\\s+", " ") + "'";
                    if (value == null) {
                        wrong.add(at + " says " + said + "; " + fact.values().stream().map(v -> v.name() + " is "
                                + v.value() + " (" + v.source() + ")").toList());
                    } else if (value.page() != null && !Set.of(value.page().split("\\|")).contains(where)) {
                        wrong.add(at + " states " + value.name() + " a second time: it is stated in "
                                + value.page().split("\\|")[0] + " only (link there)");
                    } else {
                        stated.add(value);
                    }
                }
            }
        }
        assertThat(wrong).as("docs that state a fact differently from the code, or in a second place").isEmpty();
        for (Fact fact : facts) {
            for (Value v : fact.values()) {
                if (v.page() != null) {
                    assertThat(stated).as(v.page().split("\\|")[0] + " states " + v.name() + " (" + v.value()
                            + ", " + v.source() + ")").contains(v);
                }
            }
        }
    }

    /**
     * The API's counts by package and module: DESIGN.md's row of each package and each module README's "N exported
     * types" are the sizes of {@link ApiSurfaceTest#EXPORTED}'s lists (a type added to or taken from the API changes
     * them all, or this fails naming each).
     */
    @Test
    void theApiCountsByPackageAndModuleAreApiSurfaceTestsLists() throws IOException {
        List<String> wrong = new ArrayList<>();
        Matcher row = Pattern.compile("(?m)^\\| [^|]+ \\| `(dev\\.davit[\\w.]*)` \\| (\\d+)").matcher(
                Files.readString(REPO.resolve("docs/DESIGN.md")));
        int rows = 0;
        while (row.find()) {
            rows++;
            List<String> types = ApiSurfaceTest.EXPORTED.get(row.group(1));
            int listed = types == null ? 0 : types.size();
            if (listed != Integer.parseInt(row.group(2))) {
                wrong.add("docs/DESIGN.md: " + row.group(1) + " has " + row.group(2) + " types; ApiSurfaceTest lists "
                        + listed);
            }
        }
        assertThat(rows).as("DESIGN.md's rows of API packages").isPositive();
        Pattern stated = Pattern.compile("(\\d+) exported types|exported types are listed in `ApiSurfaceTest` \\((\\d+)\\)");
        for (String module : DocsTest.modules()) {
            Matcher m = stated.matcher(Files.readString(REPO.resolve(module).resolve("README.md")));
            if (!m.find()) {
                continue;
            }
            int listed = 0;
            for (var e : ApiSurfaceTest.EXPORTED.entrySet()) {
                if (holdsClasses(REPO.resolve(module).resolve("src/main/java").resolve(e.getKey().replace('.', '/')))) {
                    listed += e.getValue().size();
                }
            }
            if (listed != Integer.parseInt(m.group(groupOf(m)))) {
                wrong.add(module + "/README.md says " + m.group() + "; ApiSurfaceTest lists " + listed);
            }
        }
        assertThat(wrong).as("API counts that are not ApiSurfaceTest's").isEmpty();
    }

    /** Whether a directory holds Java classes of its own (a package's, not only its subpackages'). */
    private static boolean holdsClasses(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.anyMatch(f -> f.toString().endsWith(".java") && !f.endsWith("package-info.java"));
        }
    }

    /** The group that matched (statements have one alternative per wording, each with its group). */
    private static int groupOf(Matcher m) {
        for (int g = 1; g <= m.groupCount(); g++) {
            if (m.group(g) != null) {
                return g;
            }
        }
        return 0;
    }
}
