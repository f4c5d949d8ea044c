package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.mcp.DavitTools;
import dev.davit.mcp.McpVocabulary;
import dev.davit.oci.internal.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * One name per concept at every door: the table of docs/DESIGN.md, "Vocabulary", against the three doors' real names
 * (the exported API by reflection, picocli's model of {@code davit}, the MCP tools as {@code tools/list} gives them).
 * It fails when a name of the table is missing at its door, when a deprecated name is listed or not marked deprecated,
 * and when a door names something with a word the table says is no name (a synonym).
 */
class VocabularyTest {
    /** The library's types the table names, by the name it uses. */
    private static final Map<String, Class<?>> LIBRARY = Map.of(
            "Davit", dev.davit.Davit.class,
            "Davit.WorkspaceBuilder", dev.davit.Davit.WorkspaceBuilder.class,
            "OpenWorkspace", dev.davit.OpenWorkspace.class,
            "OpenFiles", dev.davit.OpenFiles.class,
            "OpenShell", dev.davit.OpenShell.class,
            "RunSpec.Builder", dev.davit.sandbox.RunSpec.Builder.class,
            "ExecRequest.Builder", dev.davit.sandbox.workspace.ExecRequest.Builder.class);

    private static final Pattern NAME = Pattern.compile("`([^`]+)`( \\(([^)]*)\\))?");

    /** One row of the table: each column's names, a name's parenthesis (if any) kept apart. */
    record Row(String concept, List<String> library, List<String> cli, List<String> mcp,
               Map<String, String> synonyms, List<String> deprecated) {
    }

    @TempDir
    static Path home;

    private static List<Row> table;
    /** The MCP tools of the full profile: tool name to argument name to its JSON type. */
    private static final Map<String, Map<String, String>> TOOLS = new LinkedHashMap<>();
    private static CommandLine davit;

    @BeforeAll
    static void read() throws IOException {
        table = table(Files.readString(Path.of("..", "docs", "DESIGN.md")));
        try (DavitTools tools = DavitTools.builder().home(home).environment(Map.of("DAVIT_HOME", home.toString()))
                .allowUnlimited(true).tools("full").log(new PrintStream(new ByteArrayOutputStream())).build()) {
            for (DavitTools.Spec s : tools.specs()) {
                Map<String, String> args = new LinkedHashMap<>();
                Json.mapper().readTree(s.inputSchema()).path("properties").properties().forEach(p -> args.put(
                        p.getKey(), p.getValue().path("type").asText()));
                TOOLS.put(s.name(), args);
            }
        }
        davit = ShellDocs.commandLine();
    }

    /** The rows of the section "## Vocabulary" of {@code design}. */
    static List<Row> table(String design) {
        int start = design.indexOf("\n## Vocabulary\n");
        assertThat(start).as("docs/DESIGN.md has a section ## Vocabulary").isNotNegative();
        int end = design.indexOf("\n## ", start + 1);
        List<Row> rows = new ArrayList<>();
        for (String line : design.substring(start, end < 0 ? design.length() : end).split("\n")) {
            if (!line.startsWith("| ") || line.startsWith("| concept ")) {
                continue;
            }
            String[] cells = line.substring(1, line.length() - 1).split("\\|", -1);
            assertThat(cells).as(line).hasSize(6);
            Map<String, String> synonyms = new LinkedHashMap<>();
            Matcher m = NAME.matcher(cells[4]);
            while (m.find()) {
                synonyms.put(m.group(1), m.group(3) == null ? "" : m.group(3));
            }
            rows.add(new Row(cells[0].strip(), names(cells[1]), names(cells[2]), names(cells[3]), synonyms,
                    names(cells[5])));
        }
        assertThat(rows).as("rows of the vocabulary").hasSizeGreaterThan(10);
        return rows;
    }

    private static List<String> names(String cell) {
        List<String> l = new ArrayList<>();
        Matcher m = NAME.matcher(cell);
        while (m.find()) {
            l.add(m.group(1));
        }
        return l;
    }

    @Test
    void everyLibraryNameIsAPublicMethod() {
        List<String> missing = new ArrayList<>();
        for (Row r : table) {
            for (String n : r.library()) {
                int dot = n.lastIndexOf('.');
                Class<?> c = LIBRARY.get(n.substring(0, dot));
                if (c == null || Arrays.stream(c.getMethods()).noneMatch(x -> x.getName().equals(n.substring(dot + 1)))) {
                    missing.add(r.concept() + ": " + n);
                }
            }
        }
        assertThat(missing).as("library names of the table that are no public method").isEmpty();
    }

    @Test
    void everyCliNameIsACommandOrOptionNotHidden() {
        List<String> missing = new ArrayList<>();
        for (Row r : table) {
            for (String n : r.cli()) {
                Object found = cli(n);
                if (found == null || hidden(found)) {
                    missing.add(r.concept() + ": " + n + (found == null ? " (none)" : " (hidden)"));
                }
            }
        }
        assertThat(missing).as("CLI names of the table missing from davit's commands").isEmpty();
    }

    @Test
    void everyMcpNameIsAToolOrArgumentInToolsList() {
        List<String> missing = new ArrayList<>();
        for (Row r : table) {
            for (String n : r.mcp()) {
                if (!mcp(n)) {
                    missing.add(r.concept() + ": " + n);
                }
            }
        }
        assertThat(missing).as("MCP names of the table missing from tools/list").isEmpty();
    }

    @Test
    void deprecatedNamesAreMarkedAndNotListed() {
        int cli = 0;
        int mcp = 0;
        List<String> wrong = new ArrayList<>();
        for (Row r : table) {
            for (String d : r.deprecated()) {
                if (d.startsWith("CLI ")) {
                    cli++;
                    Object found = cli(d.substring(4));
                    if (found == null || !hidden(found) || !description(found).startsWith(CliArgs.DEPRECATED)) {
                        wrong.add(d + ": missing, listed in help, or its description does not start with '"
                                + CliArgs.DEPRECATED + "'");
                    }
                } else if (d.startsWith("MCP ")) {
                    mcp++;
                    String n = d.substring(4);
                    int dot = n.indexOf('.');
                    if (dot < 0) {
                        String now = McpVocabulary.deprecatedTools().get(n);
                        if (TOOLS.containsKey(n) || now == null || !TOOLS.containsKey(now) || !r.mcp().contains(now)) {
                            wrong.add(d + ": listed in tools/list, or no deprecated name of a tool of its row");
                        }
                    } else {
                        String tool = n.substring(0, dot);
                        String arg = n.substring(dot + 1);
                        String now = McpVocabulary.deprecatedArguments().get(arg);
                        Map<String, String> args = TOOLS.getOrDefault(tool, Map.of());
                        boolean stringAlias = "env".equals(arg) && "string".equals(args.get("environment"));
                        if (!stringAlias && args.containsKey(arg) || now == null || !args.containsKey(now)
                                || !r.mcp().contains(tool + "." + now)) {
                            wrong.add(d + ": listed in " + tool + "'s schema, or no deprecated name of an argument"
                                    + " of its row");
                        }
                    }
                } else {
                    wrong.add(d + ": say its door, CLI or MCP");
                }
            }
        }
        assertThat(wrong).isEmpty();
        assertThat(cli).isGreaterThanOrEqualTo(3);
        assertThat(mcp).isGreaterThanOrEqualTo(6);
        Set<String> inTable = new TreeSet<>();
        table.forEach(r -> r.deprecated().forEach(d -> inTable.add(d.replaceFirst("^MCP (\\w+\\.)?", ""))));
        assertThat(inTable).as("every deprecated MCP name is in the table")
                .containsAll(McpVocabulary.deprecatedTools().keySet())
                .containsAll(McpVocabulary.deprecatedArguments().keySet());
    }

    @Test
    void noDoorNamesAConceptWithASynonym() {
        List<String> found = new ArrayList<>();
        for (Row r : table) {
            r.synonyms().forEach((word, where) -> {
                if (!where.isEmpty() && !where.equals("for a replace") && !where.equals("a string or a command")) {
                    found.add(r.concept() + ": the table says no check for '" + word + " (" + where + ")'");
                }
                for (String n : libraryNames()) {
                    if (where.isEmpty() && has(n.substring(n.indexOf('.') + 1), word)) {
                        found.add("library " + n + ": " + word);
                    }
                }
                for (Map.Entry<String, String> e : cliNames().entrySet()) {
                    boolean replaceAll = word.equals("all") && e.getKey().endsWith(" --all")
                            && e.getValue().toLowerCase(Locale.ROOT).matches(".*(replace|occurrence).*");
                    if (where.isEmpty() && has(e.getKey().replaceFirst(".* -*", ""), word) || replaceAll) {
                        found.add("CLI " + e.getKey() + ": " + word);
                    }
                }
                TOOLS.forEach((tool, args) -> {
                    if (where.isEmpty() && has(tool, word)) {
                        found.add("MCP " + tool + ": " + word);
                    }
                    args.keySet().stream().filter(a -> where.isEmpty() && has(a, word)
                            || word.equals("all") && a.equals("all") && !tool.equals("workspace_snapshot_create"))
                            .forEach(a -> found.add("MCP " + tool + "." + a + ": " + word));
                });
            });
        }
        // the environment is 'environment': 'env' is the variables (an object), never a string or a command
        TOOLS.forEach((tool, args) -> {
            if ("string".equals(args.get("env"))) {
                found.add("MCP " + tool + ".env is a string: call it 'environment'");
            }
            if (has(tool, "env")) {
                found.add("MCP " + tool + ": a tool of environments is environment_*");
            }
        });
        if (!davit.getSubcommands().containsKey("environment")
                || davit.getSubcommands().get("env").getCommandSpec().name().equals("env")) {
            found.add("CLI davit env: name it 'environment', 'env' its alias");
        }
        assertThat(found).as("names that use a synonym of the table (docs/DESIGN.md, Vocabulary)").isEmpty();
    }

    @Test
    void deprecatedCliNamesStillWorkAndWarnOnce() {
        Cli cli = new Cli(home);
        Map<String[], String> calls = new LinkedHashMap<>();
        calls.put(new String[] {"workspace", "cancel", "ws-nope", "x-1"}, "'davit workspace kill'");
        calls.put(new String[] {"workspace", "exec", "ws-nope", "--cwd", "src", "--", "true"}, "--workdir");
        calls.put(new String[] {"workspace", "file", "edit", "ws-nope", "f", "--old", "a", "--new", "b", "--all"},
                "--replace-all");
        calls.forEach((args, now) -> {
            Cli.Result r = cli.run(args);
            // the command ran as with its new name: its workspace is not there
            assertThat(r.rc()).as(r.toString()).isEqualTo(dev.davit.oci.DavitException.Kind.NOT_FOUND.exitCode());
            assertThat(r.stderr()).as(r.toString()).contains("is deprecated and goes in the next release: use " + now)
                    .doesNotContain("\tat ");
            assertThat(r.stderr().lines().filter(l -> l.contains("deprecated"))).as(r.toString()).hasSize(1);
        });
        Cli.Result both = cli.run("workspace", "exec", "ws-nope", "--cwd", "a", "--workdir", "b", "--", "true");
        assertThat(both.stderr()).as(both.toString()).contains("give --workdir only (--cwd is its deprecated name)");
        Cli.Result kill = cli.run("workspace", "kill", "ws-nope", "x-1");
        assertThat(kill.stderr()).as(kill.toString()).doesNotContain("deprecated");
    }

    /** Whether name {@code name} (camelCase, snake_case or kebab-case) holds the words of {@code word}. */
    static boolean has(String name, String word) {
        String n = "_" + String.join("_", words(name)) + "_";
        return n.contains("_" + String.join("_", words(word)) + "_");
    }

    private static List<String> words(String name) {
        return Arrays.stream(name.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT).split("[_\\-.\\s]+"))
                .filter(w -> !w.isEmpty()).toList();
    }

    /** The public methods of the library's types of the table: "Type.method". */
    private static Set<String> libraryNames() {
        Set<String> names = new TreeSet<>();
        for (Class<?> c : LIBRARY.values()) {
            for (Method x : c.getDeclaredMethods()) {
                if (Modifier.isPublic(x.getModifiers())) {
                    names.add(c.getSimpleName() + "." + x.getName());
                }
            }
        }
        return names;
    }

    /** Every visible command and option as "davit a b" or "davit a b --flag", to its description. */
    private static Map<String, String> cliNames() {
        Map<String, String> m = new LinkedHashMap<>();
        Set<CommandSpec> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        walk(davit, "davit", m, seen);
        return m;
    }

    private static void walk(CommandLine c, String path, Map<String, String> m, Set<CommandSpec> seen) {
        if (!seen.add(c.getCommandSpec())) {
            return;
        }
        for (OptionSpec o : c.getCommandSpec().options()) {
            if (!o.hidden()) {
                for (String n : o.names()) {
                    m.put(path + " " + n, String.join(" ", o.description()));
                }
            }
        }
        c.getSubcommands().forEach((name, sub) -> {
            if (!sub.getCommandSpec().usageMessage().hidden()) {
                m.put(path + " " + name, String.join(" ", sub.getCommandSpec().usageMessage().description()));
                walk(sub, path + " " + sub.getCommandSpec().name(), m, seen);
            }
        });
    }

    /** The command or option {@code "davit a b [--flag]"} names, or null. */
    private static Object cli(String name) {
        String[] words = name.split(" ");
        assertThat(words[0]).as(name).isEqualTo("davit");
        CommandLine c = davit;
        for (int i = 1; i < words.length; i++) {
            if (words[i].startsWith("-")) {
                return i == words.length - 1 ? c.getCommandSpec().findOption(words[i]) : null;
            }
            c = c.getSubcommands().get(words[i]);
            if (c == null) {
                return null;
            }
        }
        return c.getCommandSpec();
    }

    private static boolean hidden(Object o) {
        return o instanceof OptionSpec opt ? opt.hidden() : ((CommandSpec) o).usageMessage().hidden();
    }

    private static String description(Object o) {
        return String.join(" ", o instanceof OptionSpec opt ? opt.description()
                : ((CommandSpec) o).usageMessage().description());
    }

    /** Whether {@code "tool"} or {@code "tool.argument"} is in tools/list. */
    private static boolean mcp(String name) {
        int dot = name.indexOf('.');
        return dot < 0 ? TOOLS.containsKey(name)
                : TOOLS.getOrDefault(name.substring(0, dot), Map.of()).containsKey(name.substring(dot + 1));
    }
}
