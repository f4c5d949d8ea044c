package dev.davit.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.davit.cli.words.CliWords;
import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.workspace.Secrets;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One message, three doors: every {@link Input} and {@link Action}, and a listed sample of real errors the library
 * raises for bad input, worded by the library ({@link Message#toString()}), the CLI ({@link CliWords}) and the MCP
 * server ({@link ModelWords}); no door's words name another door's: no flag or {@code davit} command line for the
 * model, no tool name on the command line, neither in the library's.
 * (It lives in davit-cli, in the MCP server's package, because it reads both doors' words; the server does not
 * depend on the CLI.)
 */
class ModelWordsTest {
    @TempDir
    Path home;

    /** A CLI flag: {@code --memory}. */
    private static final Pattern FLAG = Pattern.compile("(?<![\\w-])--[a-z][a-z0-9-]*");
    /** A davit command line: {@code 'davit workspace start'}, {@code davit pull x}. */
    private static final Pattern COMMAND = Pattern.compile("'davit |\\bdavit [a-z]");
    /** A library term: {@code Type.member}, as DoorWordsTest finds them. */
    private static final Pattern TERM = Pattern.compile(
            "(?<![\\w.$-])[A-Z][A-Za-z0-9]*(?:\\.[A-Z][A-Za-z0-9]*)*\\.[A-Za-z_][A-Za-z0-9_]*");

    private DavitMcpServer server(String profile) {
        return new DavitMcpServer(new DavitMcpServer.Options(profile, List.of(), false, 8, Duration.ofHours(1), false,
                home, Map.of("DAVIT_HOME", home.toString()), System.err, "test", List.of(), 0));
    }

    @Test
    void everyInputAndActionHasWordsInEveryDoorAndNoOtherDoorsWords() {
        for (String profile : List.of("run", "full")) {
            try (DavitMcpServer s = server(profile)) {
                ModelWords words = new ModelWords(s.tools());
                Set<String> tools = tools();
                List<Message> all = new ArrayList<>();
                for (Input i : Input.values()) {
                    assertThat(ModelWords.INPUTS.get(i)).as(i.name()).isNotBlank();
                    all.add(Message.of("about ", i));
                }
                for (Action a : Action.values()) {
                    assertThat(ModelWords.ACTIONS.get(a)).as(a.name()).isNotNull();
                    all.add(Message.of("fix: ", a.fix(IntStream.range(0, a.arity()).mapToObj(n -> "x" + n)
                            .toArray(String[]::new))));
                }
                all.forEach(m -> assertDoors(m, words, tools));
            }
        }
    }

    /** Real errors of the library, each from a call with bad input, among them the three wordings issue 35 quotes. */
    @Test
    void realErrorsSpeakEachDoorsWordsOnly() {
        List<DavitException> sample = new ArrayList<>();
        sample.add(catchThrowableOfType(DavitException.class, () -> new Limits(8, 0, 0, Limits.DEFAULT_DISK_MIB)));
        sample.add(catchThrowableOfType(DavitException.class, () -> PortMapping.parse("8080")));
        sample.add(catchThrowableOfType(DavitException.class, () -> CreateSpec.builder(Path.of("/r"))
                .publish(List.of(PortMapping.parse("8080:80"))).build()));
        sample.add(catchThrowableOfType(DavitException.class, () -> Secrets.of(Map.of("A", new byte[3]))));
        sample.add(catchThrowableOfType(DavitException.class, () -> Workspaces.under(home).get("ws-nope")));
        sample.add(catchThrowableOfType(DavitException.class, () -> Workspaces.under(home).files().read("ws-nope",
                "/workspace/a", 0, 10)));
        sample.add(catchThrowableOfType(DavitException.class, () -> Workspaces.under(home).shells("ws-nope")
                .read("sh-00000000", (Duration) null)));
        try (DavitMcpServer s = server("full")) {
            ModelWords words = new ModelWords(s.tools());
            Set<String> tools = tools();
            for (DavitException e : sample) {
                assertThat(e).isNotNull();
                assertDoors(e.message(), words, tools);
            }
            // issue 35's three: a secret too short, a missing shell, a running workspace's disk
            DavitException secret = sample.get(3);
            assertThat(words.message(secret)).isEqualTo("secret A holds 3 bytes, fewer than 8; give a longer value"
                    + " ('secrets')");
            assertThat(CliWords.text(secret.message())).endsWith("give a longer value (--secret)");
            assertThat(secret.getMessage()).endsWith("give a longer value (Secrets.of)");
            assertThat(secret.message().subject()).hasValueSatisfying(x -> assertThat(x.id()).isEqualTo("A"));
            assertThat(secret.message().input()).contains(Input.SECRET);
            // as Shells words a missing shell, and DiskReader a running workspace's disk (each needs a live
            // workspace to raise; the message is the one they build)
            Message shell = Message.of("workspace err1 has no shell sh-1; see ", Action.LIST_SHELLS.fix("err1"));
            assertThat(CliWords.text(shell)).endsWith("see 'davit workspace shell ls err1'");
            assertThat(words.text(shell)).isEqualTo("workspace err1 has no shell sh-1; see the shells open in the"
                    + " workspace");
            Message disk = Message.of("workspace w is running; its disk is read only while it is stopped: use ",
                    Action.READ_FILES.fix(), ", or stop it first");
            assertThat(CliWords.text(disk)).contains("use 'davit workspace file ls|read' or 'davit workspace"
                    + " export'");
            assertThat(words.text(disk)).contains("use workspace_file_list, workspace_file_read or workspace_export");
            for (Message m : List.of(shell, disk)) {
                assertDoors(m, words, tools);
            }
            assertThat(words.message(sample.get(0))).isEqualTo("'memory' must be 0 (no limit) or at least 16 MiB,"
                    + " not 8");
            assertThat(sample.get(0).message().value()).contains("8");
            assertThat(words.message(sample.get(4))).isEqualTo("no workspace ws-nope; see workspace_list");
        }
    }

    /**
     * docs/reference/mcp/RESULTS.md's error table is the code's: the kinds, and the model's words for every input and
     * fix. With {@code -Ddavit.docs.write=true} the test writes the table into the docs first.
     */
    @Test
    void theDocsErrorTableIsTheCodes() throws java.io.IOException {
        Path docs = Path.of("../docs/reference/mcp/RESULTS.md");
        String doc = java.nio.file.Files.readString(docs);
        String begin = "<!-- error words: generated from ModelWords.table(), checked by ModelWordsTest -->\n";
        int from = doc.indexOf(begin);
        int to = doc.indexOf("<!-- end of error words -->");
        assertThat(from).as("docs/reference/mcp/RESULTS.md has the error table").isNotNegative();
        if (Boolean.getBoolean("davit.docs.write")) {
            doc = doc.substring(0, from + begin.length()) + ModelWords.table() + doc.substring(to);
            java.nio.file.Files.writeString(docs, doc);
            to = doc.indexOf("<!-- end of error words -->");
        }
        assertThat(doc.substring(from + begin.length(), to)).as("docs/reference/mcp/RESULTS.md's error table (paste this)")
                .isEqualTo(ModelWords.table());
    }

    /** Every tool a server may offer. */
    private Set<String> tools() {
        try (DavitMcpServer s = server("full")) {
            return Set.copyOf(s.tools().stream().map(Tool::name).toList());
        }
    }

    private static void assertDoors(Message m, ModelWords words, Set<String> tools) {
        String library = m.toString();
        String cli = CliWords.text(m);
        String model = words.text(m);
        for (String text : List.of(cli, model)) { // a value without words would show as null
            assertThat(text).as(library).doesNotContain("null").doesNotContain("{");
        }
        assertThat(library).doesNotContain("{");
        assertThat(FLAG.matcher(library).find()).as("a flag in the library's words: " + library).isFalse();
        assertThat(COMMAND.matcher(library).find()).as("a command in the library's words: " + library).isFalse();
        assertThat(FLAG.matcher(model).find()).as("a flag in the model's words: " + model).isFalse();
        assertThat(COMMAND.matcher(model).find()).as("a command in the model's words: " + model).isFalse();
        assertThat(TERM.matcher(model).find()).as("a library term in the model's words: " + model).isFalse();
        assertThat(TERM.matcher(cli).find()).as("a library term in the CLI's words: " + cli).isFalse();
        for (String t : tools) {
            Pattern tool = Pattern.compile("(?<![\\w-])" + Pattern.quote(t) + "(?![\\w-])");
            if (t.contains("_")) { // a bare word such as "run" is no tool's name in a sentence
                assertThat(tool.matcher(cli).find()).as("tool " + t + " in the CLI's words: " + cli).isFalse();
                assertThat(tool.matcher(library).find()).as("tool " + t + " in the library's words: " + library)
                        .isFalse();
            }
        }
    }
}
