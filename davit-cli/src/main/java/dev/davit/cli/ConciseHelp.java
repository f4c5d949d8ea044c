package dev.davit.cli;

import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The help of every subcommand as git's and crane's read: its synopsis and its own options, then one line saying
 * where the global options (inherited by every command: --json, --quiet, --home, ...) are listed, which is
 * {@code davit --help} alone. Without this, each subcommand's help listed the dozen global options among its own.
 */
final class ConciseHelp {
    private ConciseHelp() {
    }

    /**
     * Whether {@code args} (null: not known) may ask for a help text: only then are the renderers made (each is a
     * lambda: classes to load on every start otherwise).
     */
    static boolean asked(String[] args) {
        if (args == null) {
            return true;
        }
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help") || a.equals("help")) {
                return true;
            }
        }
        return false;
    }

    /** Makes the help of {@code cl}'s subcommands, at every depth, concise. */
    static void apply(CommandLine cl) {
        for (CommandLine sub : cl.getSubcommands().values()) {
            concise(sub);
            apply(sub);
        }
    }

    private static void concise(CommandLine c) {
        c.getCommandSpec().usageMessage().abbreviateSynopsis(true);
        Map<String, CommandLine.IHelpSectionRenderer> sections = c.getHelpSectionMap();
        sections.put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_OPTION_LIST, help -> {
            List<OptionSpec> own = help.commandSpec().options().stream()
                    .filter(o -> !o.inherited() && !o.versionHelp()).toList();
            return help.optionListExcludingGroups(own);
        });
        sections.put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_FOOTER, help -> help.footer()
                + "Global options (--json, --quiet, --debug, --home, --store, registry login and%ntrust):"
                .formatted() + " 'davit --help'.%n".formatted());
        c.setHelpSectionMap(sections);
    }
}
