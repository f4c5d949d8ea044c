package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The programmatic models of {@link CommandModels} against the models picocli builds from the annotations, which
 * stay on {@link Main}, {@link GlobalOptions}, {@link RunCommand} and {@link PullCommand} for this comparison: the same usage help, the
 * same attributes of every option and positional, the same values parsed (or the same error) for a set of command
 * lines. A text, option or default changed on one side only fails here.
 */
class CommandModelsTest {
    private static final String[][] LINES = {
        {"run", "debian:12", "--", "true"},
        {"run", "img", "sh", "-c", "echo hi"},
        {"--json", "-q", "run", "--debug", "--store", "/tmp/s", "img"},
        {"--insecure-registry", "a:5000", "run", "--insecure-registry", "b", "img", "--", "x"},
        {"-u", "me", "--password-stdin", "run", "img"},
        {"run", "--backend", "vm", "--runtime", "crun", "--memory", "256", "--cpus", "0.5", "--pids", "10",
            "--no-limits", "--vcpus", "2", "img"},
        {"run", "--timeout", "1.5", "--network", "img", "--", "true"},
        {"run", "--network=host", "--max-output", "10M", "-i", "-e", "A=1", "--env", "B=2", "-w", "/w", "img"},
        {"run", "--catalog", "c.yaml", "--refresh", "--offline", "debian:12"},
        {"run", "--network=none", "img", "--network"},
        {"run"},
        {"run", "-x", "img"},
        {"run", "--timeout", "abc", "img"},
        {"run", "--memory"},
        {"run", "--help"},
        {"run", "-V"},
        {"--version"},
        {},
        {"pull", "alpine:3.20"},
        {"--json", "pull", "--platform", "linux/arm64/v8", "ghcr.io/o/r:tag"},
        {"pull", "--all-platforms", "repo@sha256:0123", "--debug"},
        {"--insecure-registry", "localhost:5000", "pull", "-q", "--store", "/tmp/s", "localhost:5000/a:1"},
        {"-u", "me", "--password-stdin", "pull", "--platform=linux/amd64", "img"},
        {"pull", "--all-platforms=true", "--platform", "linux/amd64", "img"},
        {"pull", "--", "-odd"},
        {"pull"},
        {"pull", "a", "b"},
        {"pull", "--platform"},
        {"pull", "--all-platforms=maybe", "img"},
        {"pull", "--nope", "img"},
        {"pull", "--help"},
        {"pull", "-V", "img"},
        {"pull", "-h", "--version"},
    };

    private static CommandLine annotated(Main main) {
        CommandLine cl = new CommandLine(main);
        cl.addSubcommand(RunCommand.class);
        cl.addSubcommand(PullCommand.class);
        return cl;
    }

    private static CommandLine programmatic(Main main) {
        CommandLine cl = new CommandLine(CommandModels.root(main));
        cl.addSubcommand(new CommandLine(CommandModels.run(new RunCommand())));
        cl.addSubcommand(new CommandLine(CommandModels.pull(new PullCommand())));
        return cl;
    }

    @Test
    void usageHelpIsTheSame() {
        CommandLine a = annotated(new Main());
        CommandLine p = programmatic(new Main());
        assertThat(usage(a)).contains("Usage: davit [", "Exit codes:");
        assertThat(usage(a.getSubcommands().get("run"))).contains("Usage: davit run [", "--network[=MODE]");
        assertThat(usage(p)).isEqualTo(usage(a));
        assertThat(usage(p.getSubcommands().get("run"))).isEqualTo(usage(a.getSubcommands().get("run")));
        assertThat(p.getCommandSpec().version()).isEqualTo(a.getCommandSpec().version());
        assertThat(usage(a.getSubcommands().get("pull"))).contains("Usage: davit pull [", "--platform=OS/ARCH");
        assertThat(usage(p.getSubcommands().get("pull"))).isEqualTo(usage(a.getSubcommands().get("pull")));
    }

    @Test
    void everyOptionAndPositionalHasTheSameAttributes() {
        CommandLine a = annotated(new Main());
        CommandLine p = programmatic(new Main());
        assertThat(attributes(p.getCommandSpec())).isEqualTo(attributes(a.getCommandSpec()));
        assertThat(attributes(p.getSubcommands().get("run").getCommandSpec()))
                .isEqualTo(attributes(a.getSubcommands().get("run").getCommandSpec()));
        assertThat(p.getCommandSpec().isAddMethodSubcommands()).isEqualTo(a.getCommandSpec().isAddMethodSubcommands());
        for (String name : List.of("run", "pull")) {
            CommandSpec ps = p.getSubcommands().get(name).getCommandSpec();
            CommandSpec as = a.getSubcommands().get(name).getCommandSpec();
            assertThat(attributes(ps)).as(name).isEqualTo(attributes(as)).isNotEmpty();
            assertThat(ps.mixinStandardHelpOptions()).as(name).isEqualTo(as.mixinStandardHelpOptions()).isTrue();
            assertThat(ps.isAddMethodSubcommands()).as(name).isEqualTo(as.isAddMethodSubcommands());
            assertThat(ps.aliases()).as(name).isEqualTo(as.aliases());
        }
        // the command object reaches its model (DavitCommand finds Main through it)
        assertThat(((DavitCommand) p.getSubcommands().get("pull").getCommandSpec().userObject()).spec)
                .isSameAs(p.getSubcommands().get("pull").getCommandSpec());
    }

    @Test
    void commandLinesParseToTheSameValues() {
        for (String[] line : LINES) {
            String a = parse(line, false);
            String p = parse(line, true);
            assertThat(p).as(String.join(" ", line)).isEqualTo(a);
        }
        // the run lines give values (not only errors), so the comparison above compares something
        assertThat(parse(LINES[5], true)).contains("memory=256", "vcpus=2", "backend=vm", "noLimits=true");
        assertThat(parse(LINES[3], true)).contains("insecureRegistries=[a:5000, b]");
        assertThat(parse(LINES[19], true)).contains("json=true", "platform=linux/arm64/v8", "reference=ghcr.io/o/r:tag");
        assertThat(parse(LINES[20], true)).contains("all=true", "debug=true", "reference=repo@sha256:0123");
        assertThat(parse(LINES[23], true)).contains("all=true", "platform=linux/amd64");
        assertThat(parse(LINES[24], true)).contains("reference=-odd");
        assertThat(parse(LINES[25], true)).startsWith("error: MissingParameterException");
    }

    @Test
    void theModelsMainBuildsAreTheProgrammaticOnes() {
        for (String name : List.of("run", "pull")) {
            CommandLine cl = new Main().commandLine(new PrintWriter(new ByteArrayOutputStream()),
                    new PrintWriter(new ByteArrayOutputStream()), new String[] {name, "x"});
            CommandSpec spec = cl.getSubcommands().get(name).getCommandSpec();
            // an annotated model would hold the mixins the annotations name; the programmatic ones hold only help's
            assertThat(spec.mixins().keySet()).as(name).containsExactly("mixinStandardHelpOptions");
            assertThat(cl.getSubcommands()).hasSize(1);
        }
    }

    @Test
    void aReusedModelResetsToTheSameInitialValues() {
        Main am = new Main();
        Main pm = new Main();
        CommandLine a = annotated(am);
        CommandLine p = programmatic(pm);
        for (String[] line : new String[][] {LINES[7], LINES[0], LINES[5], LINES[2], LINES[19], LINES[21],
            LINES[18], LINES[20], LINES[22], LINES[18]}) {
            assertThat(parseWith(p, pm, line)).as(String.join(" ", line)).isEqualTo(parseWith(a, am, line));
        }
    }

    @Test
    void commandNamesAreTheAnnotations() {
        Map<String, Class<?>> names = new TreeMap<>();
        for (Class<?> c : Main.COMMANDS) {
            Command cmd = c.getAnnotation(Command.class);
            names.put(cmd.name(), c);
            for (String alias : cmd.aliases()) {
                names.put(alias, c);
            }
        }
        assertThat(new TreeMap<>(CommandModels.COMMAND_NAMES)).isEqualTo(names);
        for (Map.Entry<Class<?>, CommandModels.Group> g : CommandModels.LAZY_GROUPS.entrySet()) {
            Command group = g.getKey().getAnnotation(Command.class);
            assertThat(g.getValue().name()).isEqualTo(group.name());
            assertThat(new String[] {g.getValue().description()}).containsExactly(group.description());
            Map<String, Class<?>> subs = new TreeMap<>();
            for (Class<?> c : group.subcommands()) {
                Command cmd = c.getAnnotation(Command.class);
                subs.put(cmd.name(), c);
                for (String alias : cmd.aliases()) {
                    subs.put(alias, c);
                }
            }
            assertThat(new TreeMap<>(g.getValue().names())).as(group.name()).isEqualTo(subs);
        }
    }

    /** Lines for the lazily built groups: the named subcommand only, or all of them for help and errors. */
    private static final String[][] GROUP_LINES = {
        {"sandbox", "exec", "sb1", "--", "true"},
        {"--json", "sandbox", "--store", "/tmp/s", "exec", "--timeout", "2", "--max-output", "1M", "-e", "A=1",
            "sb1", "--", "sh", "-c", "echo hi"},
        {"sandbox", "ls", "-q"},
        {"sandbox", "rm", "sb1"},
        {"workspace", "exec", "--workdir", "sub", "-i", "-e", "A=1", "--env", "B=2", "ws1", "--", "make", "test"},
        {"-q", "workspace", "--json", "diff", "ws1"},
        {"workspace", "file", "ls", "ws1"},
        {"workspace", "service", "ls", "ws1"},
        {"workspace", "exec", "ws1"},
        {"workspace", "exec", "--timeout", "x", "ws1", "--", "true"},
        {"sandbox", "exec", "--nope", "sb1", "--", "true"},
        {"sandbox", "bogus"},
        {"sandbox", "exex", "sb1"},
        {"workspace", "--help"},
        {"workspace", "exec", "--help"},
        {"sandbox", "-V"},
        {"sandbox"},
        {"sandbox", "--", "exec"},
        {"sandbox", "exec", "-w", "/w", "-i", "sb1", "sh"},
        {"sandbox", "exec", "sb1"},
        {"workspace", "exec", "--timeout", "1.5", "ws1", "--", "--x", "y"},
        {"workspace", "exec", "-x", "ws1", "--", "true"},
        {"workspace", "exec", "--cwd", "sub", "ws1", "--", "true"},
        {"workspace", "remove", "ws1"},
        {"workspace", "list"},
        {"workspace", "kill", "ws1", "x-1"},
        {"workspace", "cancel", "ws1", "x-1"},
    };

    @Test
    void lazyGroupsParseLikeTheirAnnotatedModels() {
        for (String[] line : GROUP_LINES) {
            Main am = new Main();
            CommandLine a = annotated(am);
            a.addSubcommand(SandboxCommand.class);
            a.addSubcommand(WorkspaceCommand.class);
            if (ConciseHelp.asked(line)) { // as Main makes the help of a line that may ask for it
                ConciseHelp.apply(a);
            }
            Main pm = new Main();
            CommandLine p = pm.commandLine(new PrintWriter(new ByteArrayOutputStream()),
                    new PrintWriter(new ByteArrayOutputStream()), line);
            String name = String.join(" ", line);
            // the models before parsing (afterwards, the initial values an annotated root reports are the parsed ones)
            for (String group : List.of("sandbox", "workspace")) {
                if (p.getSubcommands().containsKey(group)) {
                    CommandLine pg = p.getSubcommands().get(group);
                    CommandLine ag = a.getSubcommands().get(group);
                    assertThat(attributes(pg.getCommandSpec())).as(name).isEqualTo(attributes(ag.getCommandSpec()));
                    for (Map.Entry<String, CommandLine> sub : pg.getSubcommands().entrySet()) {
                        CommandLine as = ag.getSubcommands().get(sub.getKey());
                        assertThat(usage(sub.getValue())).as(name + ": " + sub.getKey()).isEqualTo(usage(as));
                        assertThat(attributes(sub.getValue().getCommandSpec())).as(name + ": " + sub.getKey())
                                .isEqualTo(attributes(as.getCommandSpec())).isNotEmpty();
                    }
                    String word = Main.secondWord(line);
                    if (word != null && ag.getSubcommands().containsKey(word)) {
                        // the named subcommand only, by its name and its aliases
                        CommandSpec named = ag.getSubcommands().get(word).getCommandSpec();
                        List<String> names = new java.util.ArrayList<>(List.of(named.name()));
                        names.addAll(List.of(named.aliases()));
                        assertThat(pg.getSubcommands().keySet()).as(name).containsExactlyInAnyOrderElementsOf(names);
                    } else {
                        // help, a missing or an unknown subcommand: all of them, the same help
                        assertThat(pg.getSubcommands().keySet()).as(name).isEqualTo(ag.getSubcommands().keySet());
                        assertThat(usage(pg)).as(name).isEqualTo(usage(ag));
                    }
                }
            }
            assertThat(parseWith(p, pm, line)).as(name).isEqualTo(parseWith(a, am, line));
        }
        assertThat(parse(GROUP_LINES[1], p -> p)).contains("timeout=2.0", "maxOutput=1M", "id=sb1",
                "command=[sh, -c, echo hi]", "store=/tmp/s", "json=true");
        assertThat(parse(GROUP_LINES[4], p -> p)).contains("workdir=sub", "stdin=true", "envs=[A=1, B=2]", "id=ws1");
        assertThat(parse(GROUP_LINES[8], p -> p)).startsWith("error: MissingParameterException");
        assertThat(parse(GROUP_LINES[11], p -> p)).startsWith("error: UnmatchedArgumentException");
        // exec of both groups is programmatic (no mixins but help's), the other subcommands annotated
        for (String[] line : new String[][] {GROUP_LINES[0], GROUP_LINES[4]}) {
            CommandLine exec = new Main().commandLine(new PrintWriter(new ByteArrayOutputStream()),
                    new PrintWriter(new ByteArrayOutputStream()), line).getSubcommands().get(line[0])
                    .getSubcommands().get("exec");
            assertThat(exec.getCommandSpec().mixins().keySet()).containsExactly("mixinStandardHelpOptions");
            assertThat(((DavitCommand) exec.getCommandSpec().userObject()).spec).isSameAs(exec.getCommandSpec());
        }
    }

    /** {@code line} parsed by the model {@link Main} builds for it. */
    private static String parse(String[] line, java.util.function.UnaryOperator<CommandLine> unused) {
        Main main = new Main();
        CommandLine cl = main.commandLine(new PrintWriter(new ByteArrayOutputStream()),
                new PrintWriter(new ByteArrayOutputStream()), line);
        return parseWith(cl, main, line);
    }

    private static String parse(String[] line, boolean programmatic) {
        Main main = new Main();
        return parseWith(programmatic ? programmatic(main) : annotated(main), main, line);
    }

    /** The values every field of the root and (if parsed) run objects hold after parsing, or the error. */
    private static String parseWith(CommandLine cl, Main main, String[] line) {
        try {
            CommandLine.ParseResult r = cl.parseArgs(line);
            StringBuilder sb = new StringBuilder(fields(main.globals));
            sb.append(" help=").append(r.isUsageHelpRequested()).append(" version=").append(r.isVersionHelpRequested());
            if (r.hasSubcommand()) {
                Object cmd = r.subcommand().commandSpec().userObject();
                sb.append(' ').append(r.subcommand().commandSpec().name()).append(": ");
                if (cmd instanceof RunCommand run) {
                    sb.append(fields(run)).append(fields(run.flags)).append(fields(run.resources));
                } else if (cmd instanceof PullCommand pull) {
                    sb.append(fields(pull)).append(fields(pull.platforms));
                } else {
                    for (CommandLine.ParseResult sub = r.subcommand(); sub != null; sub = sub.subcommand()) {
                        sb.append(" / ").append(sub.commandSpec().name()).append(": ");
                        for (Class<?> c = sub.commandSpec().userObject().getClass(); c != Object.class;
                                c = c.getSuperclass()) {
                            sb.append(fields(sub.commandSpec().userObject(), c));
                        }
                        sb.append(" help=").append(sub.isUsageHelpRequested()).append(" version=")
                                .append(sub.isVersionHelpRequested()).append(" matched=").append(sub.matchedArgs().size());
                    }
                }
                sb.append(" help=").append(r.subcommand().isUsageHelpRequested())
                        .append(" version=").append(r.subcommand().isVersionHelpRequested())
                        .append(" matched=").append(r.subcommand().matchedArgs().size());
            }
            return sb.toString();
        } catch (CommandLine.ParameterException e) {
            return "error: " + e.getClass().getSimpleName() + ": " + e.getMessage() + " in "
                    + e.getCommandLine().getCommandName();
        }
    }

    private static String fields(Object o) {
        return fields(o, o.getClass());
    }

    /** The simple values of the fields {@code c} (a class of {@code o}) declares. */
    private static String fields(Object o, Class<?> c) {
        List<String> out = new ArrayList<>();
        for (Field f : c.getDeclaredFields()) {
            if (java.lang.reflect.Modifier.isStatic(f.getModifiers()) || f.getType() == CommandSpec.class
                    || f.getType() == Main.class) {
                continue;
            }
            f.setAccessible(true);
            try {
                Object v = f.get(o);
                if (v == null || v instanceof String || v instanceof Number || v instanceof Boolean
                        || v instanceof java.util.Collection || v instanceof java.nio.file.Path) {
                    out.add(f.getName() + "=" + v);
                }
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
        }
        return c.getSimpleName() + out;
    }

    private static String usage(CommandLine cl) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        PrintWriter w = new PrintWriter(b, true, java.nio.charset.StandardCharsets.UTF_8);
        cl.usage(w, CommandLine.Help.Ansi.OFF);
        w.flush();
        return b.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Each option and positional, by name, with every attribute that shapes parsing and help. */
    private static Map<String, String> attributes(CommandSpec spec) {
        Map<String, String> out = new TreeMap<>();
        for (ArgSpec a : spec.args()) {
            String key = a.isOption() ? ((OptionSpec) a).longestName() : "positional " + a.paramLabel();
            StringBuilder sb = new StringBuilder();
            sb.append("type=").append(a.type()).append(" aux=").append(Arrays.toString(a.auxiliaryTypes()))
                    .append(" arity=").append(a.arity()).append(" required=").append(a.required())
                    .append(" label=").append(a.paramLabel()).append(" desc=").append(Arrays.toString(a.description()))
                    .append(" descKey=").append(a.descriptionKey()).append(" scope=").append(a.scopeType())
                    .append(" inherited=").append(a.inherited()).append(" hidden=").append(a.hidden())
                    .append(" split=").append(a.splitRegex()).append(" default=").append(a.defaultValue())
                    .append(" showDefault=").append(a.showDefaultValue()).append(" interactive=")
                    .append(a.interactive()).append(" hasInitial=").append(a.hasInitialValue())
                    .append(" initial=").append(a.initialValue()).append(" preprocessor=")
                    .append(a.preprocessor().getClass().getSimpleName());
            if (a instanceof OptionSpec o) {
                sb.append(" names=").append(Arrays.toString(o.names())).append(" usageHelp=").append(o.usageHelp())
                        .append(" versionHelp=").append(o.versionHelp()).append(" negatable=").append(o.negatable())
                        .append(" order=").append(o.order());
            } else {
                sb.append(" index=").append(((CommandLine.Model.PositionalParamSpec) a).index());
            }
            out.put(key, sb.toString());
        }
        return out;
    }
}
