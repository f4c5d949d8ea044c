package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The release's completions and man pages, generated from the command models ({@link ShellDocs}). */
class ShellDocsTest {
    @Test
    void onePagePerVisibleCommandAndACompletionNamingEveryCommand(@TempDir Path out) throws Exception {
        ShellDocs.write(out);
        CommandLine root = ShellDocs.commandLine();
        List<CommandLine> commands = ShellDocs.commands(root);
        try (Stream<Path> pages = Files.list(out.resolve("man1"))) {
            assertThat(pages.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactlyInAnyOrderElementsOf(commands.stream()
                            .map(c -> ShellDocs.pageName(c.getCommandSpec()) + ".1").toList());
        }
        assertThat(commands).extracting(c -> ShellDocs.pageName(c.getCommandSpec()))
                .contains("davit", "davit-run", "davit-workspace-exec", "davit-mcp-serve");
        String bash = Files.readString(out.resolve("bash/davit"));
        for (String top : root.getSubcommands().keySet()) {
            assertThat(bash).contains(top);
        }
        assertThat(Files.readString(out.resolve("zsh/_davit"))).startsWith("#compdef davit\n")
                .contains("bashcompinit").endsWith("_bash_complete -F _complete_davit \"$@\"\n");
    }

    @Test
    void pagesAreRoffWithOptionsArgumentsAndSeeAlso(@TempDir Path out) throws Exception {
        ShellDocs.write(out);
        String run = Files.readString(out.resolve("man1/davit-run.1"));
        assertThat(run).startsWith(".TH \"DAVIT\\-RUN\" \"1\"")
                .contains(".SH NAME\ndavit\\-run \\- Run one command")
                .contains(".SH SYNOPSIS\n.ad l\ndavit run [")
                .contains("\\fB\\-\\-network\\fR[=\\fIMODE\\fR]")
                .contains(".SH ARGUMENTS\n.TP\n\\fIENV\\fR")
                .contains(".SH SEE ALSO\n\\fBdavit\\fR(1)");
        String workspace = Files.readString(out.resolve("man1/davit-workspace.1"));
        assertThat(workspace).contains(".SH COMMANDS").contains("See \\fBdavit\\-workspace\\-exec\\fR(1).");
        // an alias is listed with its command
        assertThat(Files.readString(out.resolve("man1/davit.1"))).contains(".TP\n\\fBcopy\\fR, \\fBcp\\fR\n");
        // no line of any page starts with a control character it did not mean (a description line beginning with '.')
        try (Stream<Path> pages = Files.list(out.resolve("man1"))) {
            for (Path p : pages.toList()) {
                for (String line : Files.readAllLines(p)) {
                    if (line.startsWith(".") || line.startsWith("'")) {
                        assertThat(line).as(p + ": " + line)
                                .matches("\\.(TH|SH|TP|PP|br|nh|ad)( .*)?");
                    }
                }
            }
        }
    }

    @Test
    void everyCommandDocumentedAnswersHelp() {
        for (CommandLine c : ShellDocs.commands(ShellDocs.commandLine())) {
            List<String> args = new java.util.ArrayList<>(List.of(c.getCommandSpec().qualifiedName(" ").split(" ")));
            args.remove(0); // "davit"
            args.add("--help");
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
            int rc = Main.execute(args.toArray(String[]::new), out, err, java.util.Map.of());
            assertThat(rc).as(args + ": " + err).isZero();
            assertThat(out.toString(java.nio.charset.StandardCharsets.UTF_8))
                    .startsWith("Usage: " + c.getCommandSpec().qualifiedName(" "));
        }
    }

    @Test
    void roffEscapesBackslashesDashesAndLeadingDots() {
        assertThat(ShellDocs.roff("a\\b --x")).isEqualTo("a\\eb \\-\\-x");
        assertThat(ShellDocs.roffLine(".hidden")).isEqualTo("\\&.hidden");
        assertThat(ShellDocs.roffLine("'quoted")).isEqualTo("\\&'quoted");
    }
}
