package dev.davit.cli.mcp;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A davit message in the terms of the model that called a tool: the CLI's options become the tool's argument names
 * ({@code --timeout} is {@code 'timeout'}), and a davit command line it suggests becomes the tool that does the same
 * ({@code 'davit workspace start ws-1'} is {@code workspace_start}), when the server offers it.
 */
final class ModelTerms {
    /** A suggested command line: quoted, or the rest of a clause. */
    private static final Pattern COMMAND = Pattern.compile("'davit ([^']*)'|\\bdavit ((?:[a-z-]+ ?)+)");

    private final List<Tool> tools;

    ModelTerms(List<Tool> offered) {
        this.tools = offered.stream().sorted(Comparator.comparingInt((Tool t) -> t.command().size()).reversed())
                .toList();
    }

    /** {@code message} of a call of {@code tool} in the model's terms. */
    String rewrite(String message, Tool tool) {
        if (message == null) {
            return null;
        }
        String m = message;
        for (Tool.Arg a : tool.args()) {
            if (a.option() != null && a.option().startsWith("--") && a.option().length() > 2) {
                m = m.replaceAll("(?<![\\w-])" + Pattern.quote(a.option()) + "(?![\\w-])",
                        Matcher.quoteReplacement("'" + a.name() + "'"));
            }
        }
        Matcher c = COMMAND.matcher(m);
        StringBuilder out = new StringBuilder();
        while (c.find()) {
            String line = c.group(1) != null ? c.group(1) : c.group(2);
            Tool t = toolFor(line);
            c.appendReplacement(out, Matcher.quoteReplacement(t == null ? c.group() : t.name()));
        }
        c.appendTail(out);
        return out.toString();
    }

    /** The offered tool whose command line starts {@code line}, or null. */
    private Tool toolFor(String line) {
        List<String> words = new ArrayList<>(List.of(line.strip().split("\\s+")));
        for (Tool t : tools) {
            if (words.size() >= t.command().size() && words.subList(0, t.command().size()).equals(t.command())) {
                return t;
            }
        }
        return null;
    }
}
