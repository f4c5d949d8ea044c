package dev.davit.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Writes the shell completions and man pages of the release ({@code scripts/dist.sh}) from the same command models
 * the CLI parses with, so they cannot drift from it: {@code bash/davit} (picocli's {@link AutoComplete}),
 * {@code zsh/_davit} (the same script behind zsh's {@code bashcompinit}) and {@code man1/davit.1},
 * {@code man1/davit-run.1}, ... one page per command, as git has. picocli's own man page generator writes AsciiDoc
 * that needs Asciidoctor (Ruby) to become a man page; these pages are roff, written here from the models directly.
 *
 * <p>Usage: {@code java -cp davit.jar dev.davit.cli.ShellDocs OUTDIR}. Not a user command.
 */
public final class ShellDocs {
    private ShellDocs() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ShellDocs OUTDIR");
            System.exit(2);
        }
        write(Path.of(args[0]));
    }

    /** Writes {@code bash/davit}, {@code zsh/_davit} and {@code man1/*.1} under {@code out}. */
    static void write(Path out) throws IOException {
        CommandLine root = commandLine();
        String bash = AutoComplete.bash(Main.NAME, root);
        Files.createDirectories(out.resolve("bash"));
        Files.writeString(out.resolve("bash").resolve(Main.NAME), bash);
        Files.createDirectories(out.resolve("zsh"));
        Files.writeString(out.resolve("zsh").resolve("_" + Main.NAME), zsh(bash));
        Path man = Files.createDirectories(out.resolve("man1"));
        String version = new Main.Version().getVersion()[0];
        for (CommandLine c : commands(root)) {
            Files.writeString(man.resolve(pageName(c.getCommandSpec()) + ".1"), page(c.getCommandSpec(), version));
        }
    }

    /** The full command line, every command and subcommand built, printing nowhere. */
    static CommandLine commandLine() {
        OutputStream nowhere = OutputStream.nullOutputStream();
        PrintWriter w = new PrintWriter(nowhere);
        return new Main(nowhere, Map.of()).commandLine(w, w);
    }

    /** The command and all its visible subcommands, depth first, each once (aliases name the same command). */
    static List<CommandLine> commands(CommandLine root) {
        List<CommandLine> all = new ArrayList<>();
        collect(root, all);
        return all;
    }

    private static void collect(CommandLine c, List<CommandLine> all) {
        all.add(c);
        for (CommandLine sub : visibleSubcommands(c.getCommandSpec())) {
            collect(sub, all);
        }
    }

    /**
     * zsh's completion function file: zsh runs its body when {@code davit} is first completed; it loads zsh's bash
     * compatibility, defines the bash completion (which registers itself for later completions) and completes this
     * first word through it.
     */
    static String zsh(String bash) {
        return "#compdef " + Main.NAME + "\n"
                + "# davit's completion for zsh: its bash completion, run by zsh's bashcompinit.\n"
                + "autoload -U +X bashcompinit && bashcompinit\n"
                + "# bash's compopt (file-name and default options) has no zsh counterpart: a no-op here\n"
                + "(( $+builtins[compopt] || $+functions[compopt] )) || compopt() { return 0; }\n"
                + bash
                + "\n_bash_complete -F _complete_" + Main.NAME + " \"$@\"\n";
    }

    /** {@code davit}, {@code davit-run}, {@code davit-workspace-exec}: the command's qualified name with dashes. */
    static String pageName(CommandSpec spec) {
        return spec.qualifiedName("-");
    }

    /** The roff man page of one command, its footer naming {@code version} ({@code davit 0.1.0}). */
    static String page(CommandSpec spec, String version) {
        Help help = new Help(spec, Help.defaultColorScheme(Help.Ansi.OFF));
        StringBuilder b = new StringBuilder();
        b.append(".TH \"").append(roff(pageName(spec).toUpperCase(java.util.Locale.ROOT))).append("\" \"1\" \"\" \"")
                .append(roff(version)).append("\" \"davit manual\"\n.nh\n");
        b.append(".SH NAME\n").append(roff(pageName(spec))).append(" \\- ").append(roff(summary(spec))).append('\n');
        // one filled line: roff breaks it between options, never inside one (hyphenation is off: .nh); left-adjusted
        // (.ad l), as a long option never leaves a line that cannot be justified, then justified again
        b.append(".SH SYNOPSIS\n.ad l\n").append(roffLine(help.synopsis(0).strip().replaceAll("\\s+", " ")))
                .append("\n.ad b\n");
        String[] description = spec.usageMessage().description();
        if (description.length > 0) {
            b.append(".SH DESCRIPTION\n");
            paragraphs(b, description);
        }
        List<PositionalParamSpec> positionals = spec.positionalParameters().stream()
                .filter(p -> !p.hidden()).toList();
        if (!positionals.isEmpty()) {
            b.append(".SH ARGUMENTS\n");
            for (PositionalParamSpec p : positionals) {
                b.append(".TP\n\\fI").append(roff(p.paramLabel())).append("\\fR\n");
                paragraphs(b, described(p.description(), p.defaultValueString(), p.completionCandidates()));
            }
        }
        List<OptionSpec> options = spec.options().stream().filter(o -> !o.hidden()).toList();
        if (!options.isEmpty()) {
            b.append(".SH OPTIONS\n");
            for (OptionSpec o : options) {
                b.append(".TP\n").append(Arrays.stream(o.names()).map(ShellDocs::bold).collect(Collectors.joining(", ")));
                if (o.arity().max() > 0) {
                    b.append(o.arity().min() == 0 ? "[=\\fI" : "=\\fI").append(roff(o.paramLabel()))
                            .append(o.arity().min() == 0 ? "\\fR]" : "\\fR");
                }
                b.append('\n');
                paragraphs(b, described(o.description(), o.defaultValueString(), o.completionCandidates()));
            }
        }
        List<CommandLine> subs = visibleSubcommands(spec);
        if (!subs.isEmpty()) {
            b.append(".SH COMMANDS\n");
            for (CommandLine sub : subs) {
                b.append(".TP\n").append(Stream.concat(Stream.of(sub.getCommandName()),
                                Arrays.stream(sub.getCommandSpec().aliases()))
                                .map(ShellDocs::bold).collect(Collectors.joining(", "))).append('\n')
                        .append(roffLine(summary(sub.getCommandSpec()))).append(" See ")
                        .append(bold(pageName(sub.getCommandSpec()))).append("(1).\n");
            }
        }
        String[] footer = spec.usageMessage().footer();
        if (footer.length > 0) {
            b.append(".SH NOTES\n");
            paragraphs(b, footer);
        }
        List<String> seeAlso = new ArrayList<>();
        if (spec.parent() != null) {
            seeAlso.add(pageName(spec.parent()));
        }
        subs.forEach(s -> seeAlso.add(pageName(s.getCommandSpec())));
        if (!seeAlso.isEmpty()) {
            b.append(".SH SEE ALSO\n").append(seeAlso.stream().map(n -> bold(n) + "(1)")
                    .collect(Collectors.joining(", "))).append('\n');
        }
        return b.toString();
    }

    private static List<CommandLine> visibleSubcommands(CommandSpec spec) {
        Map<CommandLine, Boolean> seen = new IdentityHashMap<>();
        List<CommandLine> subs = new ArrayList<>();
        for (CommandLine sub : spec.subcommands().values()) {
            if (!sub.getCommandSpec().usageMessage().hidden() && seen.put(sub, Boolean.TRUE) == null) {
                subs.add(sub);
            }
        }
        return subs;
    }

    /** The first sentence of the command's description (or its header), on one line. */
    static String summary(CommandSpec spec) {
        String[] text = spec.usageMessage().description().length > 0
                ? spec.usageMessage().description() : spec.usageMessage().header();
        String all = String.join(" ", text).replace("%n", " ").replace("%%", "%").strip().replaceAll("\\s+", " ");
        int end = all.indexOf(". ");
        return end > 0 ? all.substring(0, end + 1) : all;
    }

    /** A description with picocli's {@code ${DEFAULT-VALUE}} and {@code ${COMPLETION-CANDIDATES}} filled in. */
    private static String[] described(String[] description, String defaultValue, Iterable<String> candidates) {
        String joined = candidates == null ? "" : String.join(", ", candidates);
        String[] out = new String[description.length];
        for (int i = 0; i < description.length; i++) {
            out[i] = description[i].replace("${DEFAULT-VALUE}", defaultValue == null ? "" : defaultValue)
                    .replace("${COMPLETION-CANDIDATES}", joined);
        }
        return out;
    }

    /**
     * picocli help text as roff: its lines are filled, an empty line starts a paragraph, {@code %n} breaks a line
     * and {@code %%} is a percent sign (help texts are format strings).
     */
    private static void paragraphs(StringBuilder b, String[] lines) {
        for (String line : lines) {
            String text = line.replace("%%", "\u0000");
            if (text.isBlank() || text.replace("%n", "").isBlank()) {
                b.append(".PP\n");
                continue;
            }
            String[] parts = text.split("%n", -1);
            for (int i = 0; i < parts.length; i++) {
                String p = parts[i].strip().replace("\u0000", "%");
                if (!p.isEmpty()) {
                    b.append(roffLine(p)).append('\n');
                }
                if (i < parts.length - 1) {
                    b.append(".br\n");
                }
            }
        }
    }

    /** {@code text} escaped, in bold: a command's or an option's name. */
    private static String bold(String text) {
        return "\\fB" + roff(text) + "\\fR";
    }

    /** Text escaped for roff: backslashes and dashes (so flags copy as ASCII hyphens). */
    static String roff(String s) {
        return s.replace("\\", "\\e").replace("-", "\\-");
    }

    /** {@link #roff} for a whole input line: one that would start with a control character is protected. */
    static String roffLine(String s) {
        String r = roff(s);
        return r.startsWith(".") || r.startsWith("'") ? "\\&" + r : r;
    }
}
