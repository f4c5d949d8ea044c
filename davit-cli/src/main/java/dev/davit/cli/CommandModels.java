package dev.davit.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ScopeType;

/**
 * The picocli models of the root command, {@code run}, {@code pull}, {@code sandbox exec} and {@code workspace exec}
 * built with picocli's programmatic API instead of from their annotations: reading annotations makes the JDK generate
 * a proxy class per annotation type at run time (and picocli scan every method of each class for subcommands), which
 * the AOT cache cannot hold; that was most of the start-up of a short {@code davit run}, a warm {@code davit pull} or
 * an {@code exec}. The texts are the annotations' own constants; CommandModelsTest compares these models' help and
 * parse results with the annotated ones, so the two cannot drift apart. {@code sandbox} and {@code workspace} are
 * built with only the subcommand a line names ({@link #group}).
 */
final class CommandModels {
    private CommandModels() {
    }

    /** The root command's model, bound to {@code main}'s fields, with picocli's standard help options. */
    static CommandSpec root(Main main) {
        CommandSpec spec = CommandSpec.wrapWithoutInspection(main);
        spec.name(Main.NAME).setAddMethodSubcommands(false);
        spec.versionProvider(new Main.Version());
        spec.usageMessage().description(Main.DESCRIPTION).commandListHeading(Main.COMMAND_LIST_HEADING)
                .footerHeading(Main.FOOTER_HEADING).footer(Main.FOOTER);
        GlobalOptions g = main.globals;
        spec.addOption(bound(global("--json").type(boolean.class).paramLabel("<json>").description(GlobalOptions.JSON),
                () -> g.json, v -> g.json = v));
        spec.addOption(bound(global("-q", "--quiet").type(boolean.class).paramLabel("<quiet>").description(GlobalOptions.QUIET),
                () -> g.quiet, v -> g.quiet = v));
        spec.addOption(bound(global("--debug").type(boolean.class).paramLabel("<debug>").description(GlobalOptions.DEBUG),
                () -> g.debug, v -> g.debug = v));
        spec.addOption(bound(global("--store").type(Path.class).paramLabel("DIR").description(GlobalOptions.STORE),
                () -> g.store, v -> g.store = v));
        spec.addOption(bound(global("--home").type(Path.class).paramLabel("DIR").description(GlobalOptions.HOME),
                () -> g.home, v -> g.home = v));
        spec.addOption(global("--insecure-registry").type(List.class).auxiliaryTypes(String.class)
                .paramLabel("HOST[:PORT]").description(GlobalOptions.INSECURE).hasInitialValue(false)
                .setter(setter((List<String> v) -> g.insecureRegistries(v))).build());
        spec.addOption(bound(global("--signature-policy").type(Path.class).paramLabel("FILE")
                .description(GlobalOptions.SIGNATURE_POLICY), () -> g.signaturePolicy, v -> g.signaturePolicy = v));
        spec.addOption(bound(global("-u", "--username").type(String.class).paramLabel("USER")
                .description(GlobalOptions.USERNAME), () -> g.username, v -> g.username = v));
        spec.addOption(bound(global("--password-stdin").type(boolean.class).paramLabel("<passwordStdin>").description(GlobalOptions.PASSWORD_STDIN),
                () -> g.passwordStdin, v -> g.passwordStdin = v));
        spec.addMixin("mixinStandardHelpOptions", helpOptions());
        main.spec = spec;
        return spec;
    }

    /** {@code run}'s model, bound to {@code r}'s fields (and those of its catalog and resource options). */
    static CommandSpec run(RunCommand r) {
        CommandSpec spec = command(r, "run", RunCommand.DESCRIPTION_0, RunCommand.DESCRIPTION_1);
        spec.addPositional(bound(PositionalParamSpec.builder().index("0").paramLabel("ENV").required(true).descriptionKey("").type(String.class)
                .description(RunCommand.NAME_TEXT), () -> r.name, v -> r.name = v));
        spec.addPositional(bound(PositionalParamSpec.builder().index("1..*").paramLabel("CMD").arity("0..1").descriptionKey("").type(List.class)
                .auxiliaryTypes(String.class).description(RunCommand.COMMAND_TEXT), () -> r.command,
                v -> r.command = v));
        EnvCommand.CatalogFlagsMixin f = r.flags;
        spec.addOption(bound(option(String.class, "CATALOG", EnvCommand.CatalogFlagsMixin.CATALOG_TEXT, "--catalog"),
                () -> f.catalog, v -> f.catalog = v));
        spec.addOption(bound(option(boolean.class, "<refresh>", EnvCommand.CatalogFlagsMixin.REFRESH_TEXT, "--refresh"),
                () -> f.refresh, v -> f.refresh = v));
        spec.addOption(bound(option(boolean.class, "<offline>", EnvCommand.CatalogFlagsMixin.OFFLINE_TEXT, "--offline"),
                () -> f.offline, v -> f.offline = v));
        spec.addOption(bound(option(String.class, "BACKEND", RunCommand.BACKEND_TEXT, "--backend"),
                () -> r.backend, v -> r.backend = v));
        spec.addOption(bound(option(String.class, "RUNTIME", RunCommand.RUNTIME_TEXT, "--runtime"),
                () -> r.runtime, v -> r.runtime = v));
        ResourceOptions res = r.resources;
        spec.addOption(bound(option(Long.class, "MiB", ResourceOptions.MEMORY_TEXT, "--memory"),
                () -> res.memory, v -> res.memory = v));
        spec.addOption(bound(option(Double.class, "N", ResourceOptions.CPUS_TEXT, "--cpus"),
                () -> res.cpus, v -> res.cpus = v));
        spec.addOption(bound(option(Long.class, "N", ResourceOptions.PIDS_TEXT, "--pids"),
                () -> res.pids, v -> res.pids = v));
        spec.addOption(bound(option(Long.class, "MiB", ResourceOptions.DISK_TEXT, "--disk"),
                () -> res.disk, v -> res.disk = v));
        spec.addOption(bound(option(boolean.class, "<noLimits>", ResourceOptions.NO_LIMITS_TEXT, "--no-limits"),
                () -> res.noLimits, v -> res.noLimits = v));
        spec.addOption(bound(option(Integer.class, "N", ResourceOptions.VCPUS_TEXT, "--vcpus"),
                () -> res.vcpus, v -> res.vcpus = v));
        spec.addOption(bound(option(boolean.class, "<allowWeakerSandbox>", ResourceOptions.ALLOW_WEAKER_TEXT,
                "--allow-weaker-sandbox"), () -> res.allowWeakerSandbox, v -> res.allowWeakerSandbox = v));
        spec.addOption(bound(option(Double.class, "S", RunCommand.TIMEOUT_TEXT, "--timeout"),
                () -> r.timeout, v -> r.timeout = v));
        spec.addOption(bound(option(String.class, "MODE", NetworkOption.DESCRIPTION, "--network").arity("0..1")
                .preprocessor(new NetworkOption()), () -> r.network, v -> r.network = v));
        EgressOptions e = r.egress;
        spec.addOption(bound(list("HOST[:PORT][,...]", EgressOptions.ALLOW_HOST_TEXT, "--allow-host").hideParamSyntax(true),
                () -> e.allowHosts, v -> e.allowHosts = v));
        spec.addOption(bound(list("CIDR[:PORT][,...]", EgressOptions.ALLOW_CIDR_TEXT, "--allow-cidr").hideParamSyntax(true),
                () -> e.allowCidrs, v -> e.allowCidrs = v));
        spec.addOption(bound(list("NAME", EgressOptions.ALLOW_PRESET_TEXT, "--allow-preset"),
                () -> e.presets, v -> e.presets = v));
        spec.addOption(bound(list("HOST[:PORT][,...]", EgressOptions.DENY_HOST_TEXT, "--deny-host").hideParamSyntax(true),
                () -> e.denyHosts, v -> e.denyHosts = v));
        spec.addOption(bound(list("CIDR[:PORT][,...]", EgressOptions.DENY_CIDR_TEXT, "--deny-cidr").hideParamSyntax(true),
                () -> e.denyCidrs, v -> e.denyCidrs = v));
        spec.addOption(bound(option(String.class, "BYTES", RunCommand.MAX_OUTPUT_DESCRIPTION, "--max-output"),
                () -> r.maxOutput, v -> r.maxOutput = v));
        spec.addOption(bound(option(String.class, "BYTES", RunCommand.OUTPUT_LIMIT_TEXT, "--output-limit"),
                () -> r.outputLimit, v -> r.outputLimit = v));
        spec.addOption(bound(option(boolean.class, "<stdin>", RunCommand.STDIN_TEXT, "-i", "--stdin"),
                () -> r.stdin, v -> r.stdin = v));
        spec.addOption(bound(option(List.class, "K=V", RunCommand.ENVS_TEXT, "-e", "--env")
                .auxiliaryTypes(String.class), () -> r.envs, v -> r.envs = v));
        spec.addOption(bound(option(String.class, "DIR", RunCommand.WORKDIR_TEXT, "-w", "--workdir"),
                () -> r.workdir, v -> r.workdir = v));
        return spec;
    }

    /** {@code pull}'s model, bound to {@code p}'s fields (and those of its platform options). */
    static CommandSpec pull(PullCommand p) {
        CommandSpec spec = command(p, "pull", PullCommand.DESCRIPTION);
        spec.addPositional(bound(PositionalParamSpec.builder().paramLabel("REF").required(true).descriptionKey("").type(String.class)
                .description(PullCommand.REFERENCE_TEXT), () -> p.reference, v -> p.reference = v));
        PlatformOptions pl = p.platforms;
        spec.addOption(bound(option(String.class, PlatformOptions.PLATFORM_LABEL, PlatformOptions.PLATFORM_TEXT,
                "--platform"), () -> pl.platform, v -> pl.platform = v));
        spec.addOption(bound(option(boolean.class, "<all>", PlatformOptions.ALL_TEXT, "--all-platforms"),
                () -> pl.all, v -> pl.all = v));
        return spec;
    }

    /** {@code sandbox exec}'s model, bound to {@code x}'s fields. */
    static CommandSpec sandboxExec(SandboxCommand.ExecCmd x) {
        CommandSpec spec = command(x, "exec", SandboxCommand.ExecCmd.DESCRIPTION_0, SandboxCommand.ExecCmd.DESCRIPTION_1);
        spec.addPositional(bound(positional("0", "ID", String.class, SandboxCommand.IdCmd.ID_TEXT), () -> x.id,
                v -> x.id = v));
        spec.addPositional(bound(positional("1..*", "CMD", List.class, SandboxCommand.ExecCmd.COMMAND_TEXT)
                .arity("1..*").auxiliaryTypes(String.class), () -> x.command, v -> x.command = v));
        spec.addOption(bound(option(Double.class, "S", SandboxCommand.ExecCmd.TIMEOUT_TEXT, "--timeout"),
                () -> x.timeout, v -> x.timeout = v));
        spec.addOption(bound(option(String.class, "BYTES", RunCommand.MAX_OUTPUT_DESCRIPTION, "--max-output"),
                () -> x.maxOutput, v -> x.maxOutput = v));
        spec.addOption(bound(option(List.class, "K=V", SandboxCommand.ExecCmd.ENV_TEXT, "-e", "--env")
                .auxiliaryTypes(String.class), () -> x.envs, v -> x.envs = v));
        spec.addOption(bound(option(String.class, "DIR", SandboxCommand.ExecCmd.WORKDIR_TEXT, "-w", "--workdir"),
                () -> x.workdir, v -> x.workdir = v));
        spec.addOption(bound(option(boolean.class, "<stdin>", SandboxCommand.ExecCmd.STDIN_TEXT, "-i", "--stdin"),
                () -> x.stdin, v -> x.stdin = v));
        return spec;
    }

    /** {@code workspace exec}'s model, bound to {@code x}'s fields. */
    static CommandSpec workspaceExec(WorkspaceExecCommands.ExecCmd x) {
        CommandSpec spec = command(x, "exec", WorkspaceExecCommands.ExecCmd.DESCRIPTION_0,
                WorkspaceExecCommands.ExecCmd.DESCRIPTION_1);
        spec.addPositional(bound(positional("0", "ID", String.class, WorkspaceCommand.IdCmd.ID_TEXT), () -> x.id,
                v -> x.id = v));
        spec.addPositional(bound(positional("1..*", "CMD", List.class, WorkspaceExecCommands.ExecCmd.COMMAND_TEXT)
                .arity("1..*").auxiliaryTypes(String.class), () -> x.command, v -> x.command = v));
        spec.addOption(bound(option(Double.class, "S", SandboxCommand.ExecCmd.TIMEOUT_TEXT, "--timeout"),
                () -> x.timeout, v -> x.timeout = v));
        spec.addOption(bound(option(String.class, "DIR", WorkspaceExecCommands.ExecCmd.WORKDIR_TEXT, "-w", "--workdir"),
                () -> x.workdir, v -> x.workdir = v));
        spec.addOption(bound(option(String.class, "DIR", CliArgs.DEPRECATED + "--workdir.", "--cwd").hidden(true),
                () -> x.cwd, v -> x.cwd = v));
        spec.addOption(bound(option(List.class, "K=V", WorkspaceExecCommands.ExecCmd.ENV_TEXT, "-e", "--env")
                .auxiliaryTypes(String.class), () -> x.envs, v -> x.envs = v));
        spec.addOption(bound(option(boolean.class, "<stdin>", WorkspaceExecCommands.ExecCmd.STDIN_TEXT, "-i",
                "--stdin"), () -> x.stdin, v -> x.stdin = v));
        spec.addOption(bound(option(String.class, "BYTES", WorkspaceExecCommands.ExecCmd.OUTPUT_LIMIT_TEXT,
                "--output-limit"), () -> x.outputLimit, v -> x.outputLimit = v));
        spec.addOption(bound(option(List.class, "VAR=NAME", WorkspaceCommand.SECRET_ENV_TEXT, "--secret-env")
                .auxiliaryTypes(String.class), () -> x.secretEnvs, v -> x.secretEnvs = v));
        spec.addOption(bound(option(boolean.class, "<detach>", WorkspaceExecCommands.ExecCmd.DETACH_TEXT, "-d",
                "--detach"), () -> x.detach, v -> x.detach = v));
        return spec;
    }

    /**
     * The commands with a programmatic model, each built on a new command object: {@link Main} (and
     * {@link #group}, for a group's subcommand) uses these instead of the annotated classes.
     */
    static final Map<Class<?>, Supplier<CommandSpec>> BUILT = Map.of(
            RunCommand.class, () -> run(new RunCommand()),
            PullCommand.class, () -> pull(new PullCommand()),
            SandboxCommand.ExecCmd.class, () -> sandboxExec(new SandboxCommand.ExecCmd()),
            WorkspaceExecCommands.ExecCmd.class, () -> workspaceExec(new WorkspaceExecCommands.ExecCmd()));

    /**
     * The group commands whose model holds only the subcommand a line names (see {@link #group}), each built on a
     * new command object: building every subcommand's annotated model was most of a short {@code sandbox exec}'s or
     * {@code workspace exec}'s start-up, and agents and scripts call those in loops.
     */
    static final Map<Class<?>, Group> LAZY_GROUPS = Map.of(
            SandboxCommand.class, new Group(SandboxCommand::new, "sandbox", SandboxCommand.DESCRIPTION, Map.ofEntries(
                    Map.entry("create", SandboxCommand.CreateCmd.class), Map.entry("start", SandboxCommand.StartCmd.class),
                    Map.entry("exec", SandboxCommand.ExecCmd.class), Map.entry("stop", SandboxCommand.StopCmd.class),
                    Map.entry("pause", SandboxCommand.PauseCmd.class),
                    Map.entry("resume", SandboxCommand.ResumeCmd.class), Map.entry("rm", SandboxCommand.RmCmd.class),
                    Map.entry("remove", SandboxCommand.RmCmd.class), Map.entry("list", SandboxCommand.LsCmd.class),
                    Map.entry("status", SandboxCommand.StatusCmd.class), Map.entry("ls", SandboxCommand.LsCmd.class),
                    Map.entry("reap", SandboxCommand.ReapCmd.class),
                    Map.entry("network", NetworkCommands.SandboxNetworkCmd.class))),
            WorkspaceCommand.class, new Group(WorkspaceCommand::new, "workspace", WorkspaceCommand.DESCRIPTION,
                    Map.ofEntries(Map.entry("create", WorkspaceLifecycleCommands.CreateCmd.class),
                            Map.entry("exec", WorkspaceExecCommands.ExecCmd.class),
                            Map.entry("ls", WorkspaceLifecycleCommands.LsCmd.class),
                            Map.entry("list", WorkspaceLifecycleCommands.LsCmd.class),
                            Map.entry("status", WorkspaceLifecycleCommands.StatusCmd.class),
                            Map.entry("stop", WorkspaceLifecycleCommands.StopCmd.class),
                            Map.entry("start", WorkspaceLifecycleCommands.StartCmd.class),
                            Map.entry("fork", WorkspaceLifecycleCommands.ForkCmd.class),
                            Map.entry("commit", WorkspaceSnapshotCommands.CommitCmd.class),
                            Map.entry("pause", WorkspaceLifecycleCommands.PauseCmd.class),
                            Map.entry("resume", WorkspaceLifecycleCommands.ResumeCmd.class),
                            Map.entry("rm", WorkspaceLifecycleCommands.RmCmd.class),
                            Map.entry("remove", WorkspaceLifecycleCommands.RmCmd.class),
                            Map.entry("file", WorkspaceFileCommands.FileCmd.class),
                            Map.entry("diff", WorkspaceSnapshotCommands.DiffCmd.class),
                            Map.entry("snapshot", WorkspaceSnapshotCommands.SnapshotCmd.class),
                            Map.entry("reset", WorkspaceSnapshotCommands.ResetCmd.class),
                            Map.entry("logs", WorkspaceExecCommands.LogsCmd.class),
                            Map.entry("output", WorkspaceExecCommands.OutputCmd.class),
                            Map.entry("wait", WorkspaceExecCommands.ExecWaitCmd.class),
                            Map.entry("kill", WorkspaceExecCommands.ExecKillCmd.class),
                            Map.entry("cancel", WorkspaceExecCommands.ExecCancelCmd.class),
                            Map.entry("execs", WorkspaceExecCommands.ExecLsCmd.class),
                            Map.entry("update", WorkspaceLifecycleCommands.UpdateCmd.class),
                            Map.entry("push", WorkspaceFileCommands.PushCmd.class),
                            Map.entry("export", WorkspaceFileCommands.ExportCmd.class),
                            Map.entry("patch", WorkspaceFileCommands.PatchCmd.class),
                            Map.entry("reap", WorkspaceLifecycleCommands.ReapCmd.class),
                            Map.entry("disk", WorkspaceDiskCommands.DiskCmd.class),
                            Map.entry("service", WorkspaceProcessCommands.ServiceCmd.class),
                            Map.entry("shell", WorkspaceProcessCommands.ShellCmd.class),
                            Map.entry("network", NetworkCommands.WorkspaceNetworkCmd.class))));

    /**
     * A lazily built group: its command object, name and description (its annotation's), and its subcommands by
     * name and alias (as their annotations say; CommandModelsTest checks).
     */
    record Group(Supplier<GroupCommand> make, String name, String description, Map<String, Class<?>> names) {
    }

    /**
     * A group command's model with only the subcommand {@code word} names, or with all of them, in the order its
     * {@link Command} annotation lists them, when it names none (help, a missing or an unknown subcommand). The named
     * subcommand's model is programmatic if {@link #BUILT} has one, else its annotated one.
     */
    static CommandLine group(Group group, String word) {
        GroupCommand g = group.make().get();
        CommandSpec spec = CommandSpec.wrapWithoutInspection(g);
        spec.name(group.name()).setAddMethodSubcommands(false);
        spec.usageMessage().description(group.description());
        spec.addMixin("mixinStandardHelpOptions", helpOptions());
        g.spec = spec;
        Class<?> only = word == null ? null : group.names().get(word);
        CommandLine cl = new CommandLine(spec);
        Class<?>[] subs = only != null ? new Class<?>[] {only} : g.getClass().getAnnotation(Command.class).subcommands();
        for (Class<?> sub : subs) {
            Supplier<CommandSpec> model = BUILT.get(sub);
            cl.addSubcommand(model != null ? new CommandLine(model.get()) : sub);
        }
        return cl;
    }

    /**
     * A subcommand's model bound to {@code c}, with picocli's standard help options and no method subcommands, as
     * {@code @Command(name = ..., addMethodSubcommands = false, mixinStandardHelpOptions = true, description = ...)}.
     */
    private static CommandSpec command(DavitCommand c, String name, String... description) {
        CommandSpec spec = CommandSpec.wrapWithoutInspection(c);
        spec.name(name).setAddMethodSubcommands(false);
        spec.usageMessage().description(description);
        spec.addMixin("mixinStandardHelpOptions", helpOptions());
        c.spec = spec;
        return spec;
    }

    /** -h/--help and -V/--version as picocli's {@code mixinStandardHelpOptions} makes them. */
    private static CommandSpec helpOptions() {
        CommandSpec help = CommandSpec.wrapWithoutInspection(new Object());
        help.addOption(OptionSpec.builder("-h", "--help").usageHelp(true).paramLabel("<helpRequested>").type(boolean.class).initialValue(false)
                .descriptionKey("mixinStandardHelpOptions.help").description("Show this help message and exit.")
                .build());
        help.addOption(OptionSpec.builder("-V", "--version").versionHelp(true).paramLabel("<versionRequested>").type(boolean.class).initialValue(false)
                .descriptionKey("mixinStandardHelpOptions.version").description("Print version information and exit.")
                .build());
        return help;
    }

    private static OptionSpec.Builder global(String... names) {
        return OptionSpec.builder(names).scopeType(ScopeType.INHERIT).descriptionKey("");
    }

    private static PositionalParamSpec.Builder positional(String index, String label, Class<?> type,
            String description) {
        return PositionalParamSpec.builder().index(index).paramLabel(label).required(true).descriptionKey("")
                .type(type).description(description);
    }

    private static OptionSpec.Builder option(Class<?> type, String label, String description, String... names) {
        return OptionSpec.builder(names).type(type).paramLabel(label).description(description).descriptionKey("");
    }

    /** A repeatable option of strings whose values may be comma-separated too ({@code split = ","}). */
    private static OptionSpec.Builder list(String label, String description, String... names) {
        return option(List.class, label, description, names).auxiliaryTypes(String.class).splitRegex(",");
    }

    /** An option bound to a field through {@code get} and {@code set}, its initial value the field's value now. */
    private static <T> OptionSpec bound(OptionSpec.Builder b, Supplier<T> get, Consumer<T> set) {
        return b.initialValue(get.get()).getter(getter(get)).setter(setter(set)).build();
    }

    private static <T> PositionalParamSpec bound(PositionalParamSpec.Builder b, Supplier<T> get, Consumer<T> set) {
        return b.initialValue(get.get()).getter(getter(get)).setter(setter(set)).build();
    }

    private static CommandLine.Model.IGetter getter(Supplier<?> get) {
        return new CommandLine.Model.IGetter() {
            @Override
            @SuppressWarnings("unchecked")
            public <T> T get() {
                return (T) get.get();
            }
        };
    }

    private static <V> CommandLine.Model.ISetter setter(Consumer<V> set) {
        return new CommandLine.Model.ISetter() {
            @Override
            @SuppressWarnings("unchecked")
            public <T> T set(T value) {
                set.accept((V) value);
                return null;
            }
        };
    }

    /** The command classes by name and alias, as their {@link Command} annotations say (CommandModelsTest checks). */
    static final Map<String, Class<?>> COMMAND_NAMES = Map.ofEntries(
            Map.entry("pull", PullCommand.class), Map.entry("push", PushCommand.class),
            Map.entry("copy", CopyCommand.class), Map.entry("cp", CopyCommand.class),
            Map.entry("build", BuildCommand.class), Map.entry("artifact", ArtifactCommand.class),
            Map.entry("export", ExportCommand.class), Map.entry("import", ImportCommand.class),
            Map.entry("bundle", BundleCommand.class), Map.entry("unpack", UnpackCommand.class),
            Map.entry("inspect", InspectCommand.class), Map.entry("digest", DigestCommand.class),
            Map.entry("tags", TagsCommand.class), Map.entry("referrers", ReferrersCommand.class),
            Map.entry("sign", SignCommand.class),
            Map.entry("images", ImagesCommand.class),
            Map.entry("ls", ImagesCommand.class), Map.entry("remove", RmCommand.class),
            Map.entry("rm", RmCommand.class),
            Map.entry("rmi", RmCommand.class), Map.entry("gc", GcCommand.class),
            Map.entry("fsck", FsckCommand.class), Map.entry("login", LoginCommand.class),
            Map.entry("logout", LogoutCommand.class), Map.entry("environment", EnvCommand.class),
            Map.entry("env", EnvCommand.class),
            Map.entry("run", RunCommand.class), Map.entry("sandbox", SandboxCommand.class),
            Map.entry("workspace", WorkspaceCommand.class), Map.entry("mcp", McpCommand.class),
            Map.entry("doctor", DoctorCommand.class));
}
