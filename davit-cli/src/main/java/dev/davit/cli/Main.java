package dev.davit.cli;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.auth.Credentials;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitHome;
import dev.davit.oci.registry.RegistryOptions;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * Entry point of the davit CLI. {@link #execute} runs one command line with the CLI's error handling (one
 * {@code davit: error:} line, documented exit codes, a JSON error document with {@code --json}); tests call it
 * in-process with their own streams.
 */
@Command(name = Main.NAME, addMethodSubcommands = false, mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class, description = Main.DESCRIPTION,
        commandListHeading = Main.COMMAND_LIST_HEADING, footerHeading = Main.FOOTER_HEADING, footer = {Main.FOOTER_0,
            Main.FOOTER_1})
public final class Main implements Callable<Integer> {
    /**
     * With this variable set to 1, --json keeps notices and progress lines on stderr (stdout still carries only
     * the JSON document): how {@code davit mcp serve} turns a long pull or build into progress notifications.
     */
    public static final String JSON_PROGRESS = "DAVIT_JSON_PROGRESS";
    static final String LOG_LEVEL_PROPERTY = "org.slf4j.simpleLogger.defaultLogLevel";
    // the root command's texts, shared by the annotation above and CommandModels
    static final String NAME = "davit";
    static final String DESCRIPTION = "Pull, build, push, copy, bundle, unpack, verify, store and run OCI images and"
            + " artifacts, without a daemon.";
    static final String COMMAND_LIST_HEADING = "%nCommands:%n";
    static final String FOOTER_HEADING = "%n";
    static final String FOOTER_0 = "Exit codes: 0 ok, 1 internal error, 2 usage, 3 not found, 4 authentication,"
            + " 5 network, 6 verification (also: fsck found problems), 7 store, 8 state, 9 failed,"
            + " 10 host unsupported, 11 cancelled;"
            + " 'davit run' exits with the command's own code (124 on --timeout).";
    static final String FOOTER_1 = "Environment: DAVIT_HOME, XDG_CACHE_HOME (the home, unless --home),"
            + " DAVIT_PROGRESS=bars|lines|none.";
    static final String[] FOOTER = {FOOTER_0, FOOTER_1};

    /**
     * The commands, in the order {@code davit --help} lists them. They are registered lazily: a command line that
     * names one gets only that one (building picocli's model of every command and option was most of the start-up
     * time of a short command); help, a missing or an unknown command get all of them.
     */
    static final List<Class<?>> COMMANDS = List.of(PullCommand.class, PushCommand.class, CopyCommand.class,
            BuildCommand.class, ArtifactCommand.class, ExportCommand.class, ImportCommand.class, BundleCommand.class,
            UnpackCommand.class, InspectCommand.class, DigestCommand.class, TagsCommand.class, ReferrersCommand.class, SignCommand.class,
            ImagesCommand.class, RmCommand.class, GcCommand.class, FsckCommand.class, LoginCommand.class, LogoutCommand.class,
            EnvCommand.class, RunCommand.class, SandboxCommand.class, WorkspaceCommand.class, McpCommand.class, DoctorCommand.class);
    /** Global options that take a value (the value is not a command name). */
    private static final java.util.Set<String> VALUE_OPTIONS = java.util.Set.of("--store", "--home",
            "--insecure-registry", "-u", "--username");

    @Mixin
    GlobalOptions globals = new GlobalOptions();

    @Spec
    CommandSpec spec;

    private OutputStream rawOut;
    private OutputStream rawErr = System.err;
    private Map<String, String> env;
    private Output output;

    public Main() {
        this(System.out, System.getenv());
    }

    Main(OutputStream rawOut, Map<String, String> env) {
        this.rawOut = rawOut;
        this.env = env;
    }

    static {
        // picocli registers converters for java.sql and java.time types by reflection (Class.forName and
        // getDeclaredMethod for 20 classes) in every CommandLine it builds; no davit option has such a type, and
        // skipping them saves ~5 ms of each command's start (docs/reference/benchmarks/CLI-ISSUE13.md, issue 13)
        if (System.getProperty("picocli.converters.excludes") == null) {
            System.setProperty("picocli.converters.excludes", "java\\.sql\\..*,java\\.time\\..*");
        }
        // and it looks for Groovy's groovy.lang.Closure (a closure as an option's value); davit has no Groovy, and
        // that miss was the class loader's first look into the jar, which reads its whole index (~20 ms)
        if (System.getProperty("picocli.disable.closures") == null) {
            System.setProperty("picocli.disable.closures", "true");
        }
    }

    public static void main(String[] args) {
        Trace.mark("main");
        String training = System.getProperty(AotTraining.PROPERTY);
        if (training != null) {
            // ./davit trains its AOT caches through the jar's Main, started as every command is (scripts/launch.sh's
            // davit_main: with native access), so the recorded pull hashes with libcrypto and the cache holds the
            // FFM classes that needs (trained without native access, it held none: ~30 ms more per cold pull)
            System.clearProperty(AotTraining.PROPERTY);
            try {
                AotTraining.main(new String[] {training});
            } catch (Exception e) {
                System.err.println("davit: AOT training failed: " + e);
                System.exit(1);
            }
            System.exit(0);
        }
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            // the one line picocli would print, without building its model (about half of this line's start-up)
            System.out.println(new Version().getVersion()[0]);
            System.exit(0);
        }
        int rc = execute(args, System.out, System.err, System.getenv());
        Trace.mark("exit");
        Trace.print();
        System.exit(rc);
    }

    /** Runs one command line, writing to {@code out} and {@code err}; returns the exit code. */
    public static int execute(String[] args, OutputStream out, OutputStream err, Map<String, String> env) {
        Main main = new Main(out, env);
        main.rawErr = err;
        PrintWriter o = new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true);
        PrintWriter e = new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true);
        try {
            CommandLine cl = main.commandLine(o, e, args);
            Trace.mark("command model built");
            return cl.execute(args);
        } finally {
            o.flush();
            e.flush();
        }
    }

    /** A command line for this instance, with every command, the execution strategy and error handlers. */
    CommandLine commandLine(PrintWriter out, PrintWriter err) {
        return commandLine(out, err, null);
    }

    /** Like {@link #commandLine(PrintWriter, PrintWriter)}, with only the command {@code args} names if it names one. */
    CommandLine commandLine(PrintWriter out, PrintWriter err, String[] args) {
        CommandLine cl = new CommandLine(CommandModels.root(this));
        Trace.mark("root model");
        Class<?> named = args == null ? null : commandNamed(args);
        Trace.mark("named");
        if (args == null || !versionOnly(args)) {
            for (Class<?> c : COMMANDS) {
                if (named == null || c == named) {
                    java.util.function.Supplier<CommandSpec> model = CommandModels.BUILT.get(c);
                    CommandModels.Group group = CommandModels.LAZY_GROUPS.get(c);
                    if (model != null) {
                        cl.addSubcommand(new CommandLine(model.get()));
                    } else if (group != null) {
                        cl.addSubcommand(CommandModels.group(group, named == null ? null : secondWord(args)));
                    } else {
                        cl.addSubcommand(c);
                    }
                }
            }
        }
        if (ConciseHelp.asked(args)) {
            ConciseHelp.apply(cl);
        }
        // an argument is never replaced by a file's content: picocli's @FILE would read any host file named in an
        // argument (a command's, an MCP tool's) into the command line
        cl.setExpandAtFiles(false);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionStrategy(this::executeParsed);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> output().error(ex));
        cl.setParameterExceptionHandler((ex, given) -> {
            boolean json = globals.json || jsonFlagIn(given);
            Output o = new Output(cl.getOut(), cl.getErr(), rawOut, rawErr, json, true, globals.debug, env);
            return o.error(new DavitException(Kind.USAGE, usageMessage(ex), ex));
        });
        return cl;
    }

    /** The command class the first non-option argument names (by name or alias), or null. */
    static Class<?> commandNamed(String[] args) {
        int i = firstWord(args);
        if (i < 0) {
            return null;
        }
        return CommandModels.COMMAND_NAMES.get(args[i]);
    }

    /**
     * True for a line of global options only, with --version (or -V) and without help: it needs no command at all
     * (registering all of them, as for a line without a command, cost ~100 ms of {@code davit --version}).
     */
    static boolean versionOnly(String[] args) {
        boolean version = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (VALUE_OPTIONS.contains(a)) {
                i++;
            } else if (a.equals("--") || a.equals("-h") || a.equals("--help") || !a.startsWith("-")) {
                return false;
            } else {
                version |= a.equals("-V") || a.equals("--version");
            }
        }
        return version;
    }

    /** The word after the command's name (a group's subcommand), or null. */
    static String secondWord(String[] args) {
        int i = firstWord(args);
        if (i < 0) {
            return null;
        }
        String[] rest = java.util.Arrays.copyOfRange(args, i + 1, args.length);
        int j = firstWord(rest);
        return j < 0 ? null : rest[j];
    }

    /** The index of the first argument that is not an option or an option's value, or -1 (also after a "--"). */
    private static int firstWord(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) {
                return -1;
            }
            if (VALUE_OPTIONS.contains(a)) {
                i++;
                continue;
            }
            if (!a.startsWith("-")) {
                return i;
            }
        }
        return -1;
    }

    private int executeParsed(ParseResult parsed) {
        Trace.mark("parsed");
        configureLogging(globals.debug);
        output = new Output(spec.commandLine().getOut(), spec.commandLine().getErr(), rawOut, rawErr, globals.json,
                globals.quiet, globals.debug, env);
        if (globals.json) {
            for (ParseResult p = parsed; p != null; p = p.subcommand()) {
                if (p.isVersionHelpRequested()) {
                    output.printJson(output.object().put("version", version()));
                    return 0;
                }
                if (p.isUsageHelpRequested()) {
                    output.printJson(output.object().put("usage", p.commandSpec().commandLine().getUsageMessage(
                            CommandLine.Help.Ansi.OFF)));
                    return 0;
                }
            }
        }
        return new CommandLine.RunLast().execute(parsed);
    }

    /** Debug logging with --debug, else warnings only; must run before the first logger is created. */
    static void configureLogging(boolean debug) {
        if (debug) {
            System.setProperty(LOG_LEVEL_PROPERTY, "debug");
        } else if (System.getProperty(LOG_LEVEL_PROPERTY) == null) {
            System.setProperty(LOG_LEVEL_PROPERTY, "warn");
        }
    }

    /** Picocli's message, friendlier for an unknown command, with a pointer to the right --help. */
    static String usageMessage(CommandLine.ParameterException ex) {
        CommandLine cl = ex.getCommandLine();
        String msg = ex.getMessage();
        if (ex instanceof CommandLine.UnmatchedArgumentException u && !cl.getSubcommands().isEmpty()
                && !u.getUnmatched().isEmpty() && !u.getUnmatched().get(0).startsWith("-")) {
            msg = "unknown command '" + u.getUnmatched().get(0) + "'";
            List<String> suggestions = u.getSuggestions();
            if (!suggestions.isEmpty()) {
                msg += "; did you mean " + String.join(" or ", suggestions) + "?";
            }
        }
        return msg + " (see '" + cl.getCommandSpec().qualifiedName() + " --help')";
    }

    private static boolean jsonFlagIn(String[] args) {
        for (String a : args) {
            if (a.equals("--")) {
                return false;
            }
            if (a.equals("--json")) {
                return true;
            }
        }
        return false;
    }

    /** No subcommand: usage on stderr, exit 2. */
    @Override
    public Integer call() {
        if (!globals.json) {
            spec.commandLine().usage(spec.commandLine().getErr());
        }
        throw new DavitException(Kind.USAGE, "no command given (see 'davit --help')");
    }

    Output output() {
        if (output == null) {
            output = new Output(spec.commandLine().getOut(), spec.commandLine().getErr(), rawOut, rawErr, globals.json,
                    globals.quiet, globals.debug, env);
        }
        return output;
    }

    GlobalOptions globals() {
        return globals;
    }

    /**
     * The environment the command line runs with (System.getenv(), or a test's map), with {@code DAVIT_HOME} set to
     * {@code --home} when it was given: every command finds its home through it (DavitHome), and what the command
     * runs with this environment (the MCP server's tool calls) too.
     */
    Map<String, String> env() {
        Path home = globals.home();
        if (home == null) {
            return env;
        }
        if (home.toString().isBlank()) {
            throw new DavitException(Kind.USAGE, "--home needs a directory, e.g. --home ~/.cache/davit");
        }
        Map<String, String> e = new java.util.HashMap<>(env);
        e.put("DAVIT_HOME", home.toAbsolutePath().toString());
        return java.util.Collections.unmodifiableMap(e);
    }

    /**
     * Client options: the library's defaults (which may carry configured insecure registries and credentials),
     * plus --insecure-registry, the CLI's User-Agent, and the store from --store or the environment.
     */
    ClientOptions clientOptions() {
        ClientOptions o = ClientOptions.defaults().withInsecureRegistries(Set.copyOf(globals.insecureRegistries()));
        RegistryOptions registry = o.registry().toBuilder().userAgent("davit/" + version()).build();
        o = o.withRegistry(registry)
                .withStore(globals.store() != null ? globals.store() : DavitHome.storeOf(DavitHome.resolve(env())))
                .withTrust(dev.davit.oci.policy.Trust.fromSystem(globals.signaturePolicy(), DavitHome.resolve(env()),
                        env()));
        Credentials flags = flagCredentials();
        return flags == null ? o : o.withCredentials(r -> flags);
    }

    private Credentials flagCredentials;

    /**
     * Credentials from {@code --username} and {@code --password-stdin} (or a terminal prompt), read once; null
     * when no username was given.
     */
    Credentials flagCredentials() {
        if (globals.username() == null) {
            if (globals.passwordStdin()) {
                throw new DavitException(DavitException.Kind.USAGE, "--password-stdin needs --username USER");
            }
            return null;
        }
        if (flagCredentials == null) {
            String password;
            if (globals.passwordStdin()) {
                try {
                    byte[] in = System.in.readNBytes(64 * 1024);
                    password = new String(in, java.nio.charset.StandardCharsets.UTF_8).strip();
                } catch (java.io.IOException e) {
                    throw new DavitException(DavitException.Kind.USAGE, "cannot read the password from standard input");
                }
            } else if (System.console() != null && !globals.json()) {
                char[] pw = System.console().readPassword("Password for %s: ", globals.username());
                password = pw == null ? "" : new String(pw);
            } else {
                throw new DavitException(DavitException.Kind.USAGE, "--username needs a password: pipe it to"
                        + " --password-stdin");
            }
            if (password.isEmpty()) {
                throw new DavitException(DavitException.Kind.USAGE, "the password is empty; pipe it to --password-stdin");
            }
            flagCredentials = Credentials.basic(globals.username(), password);
        }
        return flagCredentials;
    }

    static String version() {
        // the jar manifest's Implementation-Version, which the JVM has at hand (the AOT cache keeps the manifest):
        // reading version.properties was a run's only look into the jar, and the class loader's first one reads the
        // jar's whole index (~20 ms). From a directory of classes (tests) there is no manifest: the file then.
        String v = Main.class.getPackage().getImplementationVersion();
        if (v != null) {
            return v;
        }
        var p = new java.util.Properties();
        try (var in = Main.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (java.io.IOException e) {
            return "unknown";
        }
        return p.getProperty("version", "unknown");
    }

    /** Reads the version filtered into version.properties at build time. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"davit " + version()};
        }
    }
}
