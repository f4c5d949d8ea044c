package dev.davit.cli;

import dev.davit.cli.words.CliWords;
import static dev.davit.sandbox.Limits.DEFAULT_DISK_MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.RunSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import picocli.CommandLine;

/**
 * Errors are data, worded by each door: the library sources (davit-oci, davit-env, the sandbox modules) hold no CLI flag or
 * davit command line in a string, and no library term either outside the vocabulary ({@link Input}, {@link Action}):
 * a message names an input or a fix as a typed part, which the CLI words with {@link CliWords} (flags and commands),
 * as the CLI printed it before.
 */
class DoorWordsTest {
    private static final List<Path> LIBRARY = java.util.stream.Stream.of("davit-oci", "davit-env",
            "davit-sandbox-api", "davit-jail", "davit-network", "davit-sandbox-core", "davit-container", "davit-vm",
            "davit-workspace", "davit-build", "davit-sandbox", "davit-k8s").map(m -> Path.of("..", m, "src/main/java"))
            .toList();

    /** A library term: {@code Type.member}, {@code Type.Nested.member} or {@code Type.CONSTANT}. */
    static final Pattern TERM = Pattern.compile(
            "(?<![\\w.$-])[A-Z][A-Za-z0-9]*(?:\\.[A-Z][A-Za-z0-9]*)*\\.[A-Za-z_][A-Za-z0-9_]*");

    private static final Pattern FLAG = Pattern.compile("(?<![\\w-])--([a-z][a-z0-9-]*)");

    /**
     * Flags of other programs that happen to be davit options too, each with the text that shows it is the other
     * program's (a command line the library runs or tells the user to run as root).
     */
    private static final Map<String, String> HOST_FLAGS = Map.of(
            "user", "systemd-run --user|unshare --user",
            "format", "git log -1 --format");

    /** Texts with a davit command that are no advice: the {@code created_by} of the images davit builds. */
    private static final Set<String> NOT_ADVICE = Set.of("davit build", "davit workspace commit");

    /**
     * What looks like a term and is none (a locale, a file name, a tar header key), or a term of the library's own
     * facade ({@code dev.davit.Davit}, {@code ExecRequest}) or of a use the CLI never makes (an {@code ExecSpec}
     * with a timeout, output limit, stdin or tees given to {@code Sandboxes.spawn}, a capture out of range).
     */
    private static final Set<String> NOT_CLI_TERMS = Set.of("C.UTF", "SANDBOX.md", "KUBERNETES.md", "MANIFEST.MF", "SCHILY.xattr",
            "Davit.Builder.reapEvery", "Davit.Builder.sandboxOptions", "Davit.Builder.home", "Davit.open",
            "Davit.openWorkspace", "Davit.workspace", "ExecRequest.builder", "ExecSpec.Builder.capture",
            "ExecSpec.Builder.stdin", "ExecSpec.Builder.tees", "ExecSpec.Builder.timeout", "ExecSpec.Builder.maxOutput", "Sandboxes.spawn",
            "SandboxOptions.withBwrap");

    /** The vocabulary: the only library sources that spell library terms for messages. */
    private static final Set<String> VOCABULARY = Set.of("Input.java", "Action.java");

    /** One string of a library source: a literal, or adjacent literals joined with {@code +}. */
    record Literal(Path file, int line, String text) {
        @Override
        public String toString() {
            return file + ":" + line + ": " + text;
        }
    }

    @Test
    void libraryStringsNameNoCliFlag() {
        Set<String> options = new TreeSet<>();
        for (CommandLine c : ShellDocs.commands(ShellDocs.commandLine())) {
            c.getCommandSpec().options().forEach(o -> Stream.of(o.names()).filter(n -> n.startsWith("--"))
                    .forEach(n -> options.add(n.substring(2))));
        }
        assertThat(options).contains("network", "publish", "remote", "allow-weaker-sandbox", "offline");
        List<String> found = new ArrayList<>();
        for (Literal l : literals()) {
            if (l.text().matches("--[a-z0-9-]+(=.*)?")) {
                continue; // an argument of a program davit runs
            }
            Matcher m = FLAG.matcher(l.text());
            while (m.find()) {
                String flag = m.group(1);
                if (options.contains(flag) && !(HOST_FLAGS.containsKey(flag)
                        && Pattern.compile(HOST_FLAGS.get(flag)).matcher(l.text()).find())) {
                    found.add("--" + flag + " in " + l);
                }
            }
        }
        assertThat(found).as("CLI flags in library strings (name the library's method instead)").isEmpty();
    }

    @Test
    void libraryStringsNameNoDavitCommand() {
        Set<String> commands = new TreeSet<>(ShellDocs.commandLine().getSubcommands().keySet());
        assertThat(commands).contains("workspace", "login", "fsck", "doctor");
        Pattern command = Pattern.compile("'davit |\\bdavit (" + String.join("|", commands) + ")\\b");
        List<Literal> found = literals().stream().filter(l -> command.matcher(l.text()).find()
                && !NOT_ADVICE.contains(l.text())).toList();
        assertThat(found).as("davit command lines in library strings (name the library's method instead)").isEmpty();
    }

    @Test
    void libraryMessagesNameTermsOnlyThroughTheVocabulary() {
        Set<String> spelled = new TreeSet<>();
        int terms = 0;
        for (Literal l : literals()) {
            Matcher m = TERM.matcher(l.text());
            boolean vocabulary = VOCABULARY.contains(l.file().getFileName().toString());
            while (m.find()) {
                String term = m.group();
                if (NOT_CLI_TERMS.contains(term) || m.start() > 0 && l.text().charAt(m.start() - 1) == '(') {
                    continue; // an argument of a term (Platform.parse in PlatformSelector.of(...))
                }
                if (vocabulary) {
                    terms++;
                } else {
                    spelled.add(term + " (" + l + ")");
                }
            }
        }
        assertThat(terms).as("library terms in the vocabulary").isGreaterThan(50);
        assertThat(spelled).as("library terms spelled in a message's text (use an Input or an Action)").isEmpty();
    }

    @Test
    void everyInputAndActionHasTheCliWords() {
        for (Input i : Input.values()) {
            assertThat(CliWords.input(i)).as(i.name()).isNotBlank();
            assertThat(TERM.matcher(CliWords.input(i)).find()).as(i.name()).isFalse();
        }
        for (Action a : Action.values()) {
            String[] args = java.util.stream.IntStream.range(0, a.arity()).mapToObj(n -> "x" + n)
                    .toArray(String[]::new);
            assertThat(CliWords.action(a)).as(a.name()).isNotBlank();
            String cli = CliWords.text(Message.of(a.fix(args)));
            assertThat(cli).as(a.name()).doesNotContain("{");
            assertThat(TERM.matcher(cli).find()).as(a.name() + " -> " + cli).isFalse();
        }
    }

    @Test
    void libraryErrorsComeOutAsTheCliPrintedThem() {
        Path root = Path.of("/r");
        cli(() -> Network.parse("wifi"), "unknown network 'wifi'; use --network (nat: the outside only),"
                + " --network=host (the host's network, loopback included) or --network=none");
        cli(() -> new Limits(8, 0, 0, DEFAULT_DISK_MIB), "--memory must be 0 (no limit) or at least 16 MiB, not 8");
        cli(() -> new Limits(0, 5000, 0, DEFAULT_DISK_MIB),
                "--cpus must be 0 (no limit) or between 0.01 and 4096, not 5000.0");
        cli(() -> new Limits(0, 0, 2, DEFAULT_DISK_MIB), "--pids must be 0 (no limit) or at least 8, not 2");
        cli(() -> PortMapping.parse("8080"), "invalid --publish '8080'; use HOST_PORT:PORT (on 127.0.0.1) or"
                + " ADDR:HOST_PORT:PORT, e.g. --publish 8080:80");
        cli(() -> new PortMapping("::1", 80, 80), "--publish needs an IPv4 host address, not '::1'");
        cli(() -> PortMapping.parse("80:0"), "a --publish port must be between 1 and 65535, not 0");
        cli(() -> CreateSpec.builder(root).publish(List.of(PortMapping.parse("8080:80"))).build(), "--publish needs"
                + " --network (the sandbox's own network namespace); with --network=host the sandbox's ports are"
                + " already the host's");
        cli(() -> RunSpec.builder(root).vcpus(0).build(), "--vcpus must be between 1 and 64, not 0");
        cli(() -> RunSpec.builder(root).memoryMiB(10).build(), "--memory must be at least 64 MiB, not 10");
        cli(() -> dev.davit.sandbox.ExecSpec.builder("true").workdir("tmp").build(),
                "--workdir must be an absolute path in the sandbox, not tmp");
        cli(() -> dev.davit.sandbox.ExecSpec.builder().build(), "give a command to run");
        cli(() -> dev.davit.sandbox.workspace.ServiceSpec.builder("web", "true").readyTimeout(java.time.Duration
                .ofSeconds(-1)).build(), "--ready-timeout must be positive, not -1000 ms");
        cli(() -> RunSpec.builder(root).maxOutput(-1).build(),
                "--max-output must be a positive number of bytes, not -1");
        cli(() -> dev.davit.sandbox.workspace.Secrets.of(Map.of("A", new byte[3])),
                "secret A holds 3 bytes, fewer than 8; give a longer value (--secret)");
    }

    private static void cli(Executable library, String cli) {
        assertThatThrownBy(library::execute).isInstanceOf(DavitException.class)
                .satisfies(e -> assertThat(CliWords.message((DavitException) e)).isEqualTo(cli));
    }

    /** The string literals of the library's main sources (text blocks too), adjacent ones joined. */
    static List<Literal> literals() {
        List<Literal> all = new ArrayList<>();
        for (Path dir : LIBRARY) {
            assertThat(dir).isDirectory();
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                    all.addAll(literals(f, Files.readString(f)));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return all;
    }

    private static final Pattern TOKEN = Pattern.compile(
            "\"\"\"[\\s\\S]*?\"\"\"|\"(?:[^\"\\\\\\n]|\\\\.)*\"|'(?:[^'\\\\\\n]|\\\\.)'|//[^\\n]*|/\\*[\\s\\S]*?\\*/");

    /**
     * A null check of a public entry point ({@code dev.davit.oci.internal.Args}): its message is for the programmer
     * who passed null, which the CLI never does, so it names library methods and needs no rule.
     */
    private static final Pattern NULL_CHECK = Pattern.compile("\\bArgs\\.(given|reference)\\(");

    static List<Literal> literals(Path file, String src) {
        List<Literal> out = new ArrayList<>();
        Matcher m = TOKEN.matcher(src);
        int lastEnd = -1;
        boolean lastSkipped = false;
        while (m.find()) {
            String t = m.group();
            if (!t.startsWith("\"")) {
                continue;
            }
            String text = t.startsWith("\"\"\"") ? t.substring(3, t.length() - 3) : t.substring(1, t.length() - 1)
                    .replace("\\\"", "\"").replace("\\\\", "\\");
            boolean joined = lastEnd >= 0 && src.substring(lastEnd, m.start()).matches("\\s*\\+\\s*");
            int statement = Math.max(src.lastIndexOf(';', m.start()), Math.max(src.lastIndexOf('{', m.start()),
                    src.lastIndexOf('}', m.start())));
            if (joined ? lastSkipped : NULL_CHECK.matcher(src.substring(statement + 1, m.start())).find()) {
                lastSkipped = true;
                lastEnd = m.end();
                continue;
            }
            lastSkipped = false;
            if (joined) {
                Literal prev = out.removeLast();
                out.add(new Literal(file, prev.line(), prev.text() + text));
            } else {
                out.add(new Literal(file, 1 + (int) src.substring(0, m.start()).chars().filter(c -> c == '\n')
                        .count(), text));
            }
            lastEnd = m.end();
        }
        return out;
    }
}
