package dev.davit.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** A command that only groups subcommands ({@code env}, {@code artifact}, {@code sandbox}): run alone, it is a usage error. */
abstract class GroupCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a subcommand: " + names());
    }

    /** The subcommand names in declaration order, aliases left out: {@code a, b or c}. */
    private String names() {
        java.util.List<String> n = spec.subcommands().values().stream().map(CommandLine::getCommandName).distinct()
                .toList();
        return n.size() == 1 ? n.get(0)
                : String.join(", ", n.subList(0, n.size() - 1)) + " or " + n.get(n.size() - 1);
    }
}
