package dev.davit.oci;

import java.util.List;

/**
 * A fix an error offers, worded by each door for itself: the library by the call that does it (this enum's
 * {@link #library()}, with {@code {0}}, {@code {1}} for its arguments), the CLI by a {@code davit} command or
 * flags, the MCP server by a tool's name or plain words. Given its arguments with {@link #fix}, a part of a
 * {@link Message}.
 */
public enum Action {
    /** Log in to registry (argument 0). */
    LOGIN(1, "DavitClient.login(\"{0}\", credentials)"),
    /** List the tags of repository (argument 0). */
    TAGS(1, "DavitClient.tags(\"{0}\")"),
    /** Pull image (argument 0). */
    PULL(1, "Images.pull(\"{0}\")"),
    /** Pull image (argument 0) for platform (argument 1). */
    PULL_PLATFORM(2, "DavitClient.pull(\"{0}\", PlatformSelector.of(Platform.parse(\"{1}\")), ...)"),
    /** Choose platform (argument 0) of an image. */
    PLATFORM_OF(1, "PlatformSelector.of(Platform.parse(\"{0}\"))"),
    /** Reach registry (argument 0) over plain HTTP. */
    INSECURE_REGISTRY_OF(1, "\"{0}\" in the insecureRegistries of davit's config.json (Davit.builder() reads it)"),
    /** Name a bundle entry: (argument 0) is NAME=REF. */
    MAP_ENTRY(1, "ImportOptions.withMap({0})"),
    /** Name the only entry of a bundle. */
    AS_REF(0, "ImportOptions.withAs(REF)"),
    /** Import every entry into repository (argument 0). */
    REPOSITORY_OF(1, "ImportOptions.withRepository({0})"),
    /** Check the store. */
    FSCK(0, "DavitClient.fsck(false)"),
    /** Check the store and remove what is damaged. */
    FSCK_REPAIR(0, "DavitClient.fsck(true)"),
    /** List the images of the store. */
    IMAGES(0, "Images.list()"),
    /** Install environment (argument 0). */
    INSTALL_ENV(1, "Installer.install(catalog, {0})"),
    /** Install environment (argument 0) again. */
    REINSTALL_ENV(1, "Davit.image(\"{0}\") installs it again"),
    /** See what this host can run. */
    DOCTOR(0, "Sandboxes.doctor()"),
    /** Remove what stopped sandboxes left. */
    REAP(0, "Sandboxes.reap()"),
    /** Start sandbox (argument 0). */
    START_SANDBOX(1, "Sandboxes.start(\"{0}\")"),
    /** Stop sandbox (argument 0). */
    STOP_SANDBOX(1, "Sandboxes.stop(\"{0}\")"),
    /** Resume sandbox (argument 0). */
    RESUME_SANDBOX(1, "Sandboxes.resume(\"{0}\")"),
    /** List the workspaces. */
    LIST_WORKSPACES(0, "Workspaces.list()"),
    /** Start workspace (argument 0). */
    START_WORKSPACE(1, "Workspaces.start(\"{0}\")"),
    /** Start the workspace (no id at hand). */
    START_IT(0, "Workspaces.start(id)"),
    /** Resume paused workspace (argument 0). */
    RESUME_WORKSPACE(1, "Workspaces.resume(\"{0}\")"),
    /** Stop workspace (argument 0). */
    STOP_WORKSPACE(1, "Workspaces.stop(\"{0}\")"),
    /** Stop and start the workspace. */
    RESTART_WORKSPACE(0, "Workspaces.stop(id) and Workspaces.start(id)"),
    /** Delete workspace (argument 0). */
    DELETE_WORKSPACE(1, "Workspaces.rm(\"{0}\")"),
    /** Reset the workspace. */
    RESET_WORKSPACE(0, "Workspaces.reset(id, null)"),
    /** Commit workspace (argument 0) to an image. */
    COMMIT_WORKSPACE(1, "OpenWorkspace.commit(reference, options) of workspace {0}"),
    /** Push a workspace's snapshot, made a workspace again elsewhere. */
    PUSH_SNAPSHOT(0, "OpenWorkspace.pushSnapshot"),
    /** Open a handle of a davit home, which has a store. */
    OPEN_DAVIT(0, "Davit.openWorkspace (a handle with a store)"),
    /** List the snapshots of workspace (argument 0). */
    LIST_SNAPSHOTS(1, "Workspaces.snapshots(\"{0}\")"),
    /** Delete snapshot (argument 1) of workspace (argument 0). */
    DELETE_SNAPSHOT(2, "Workspaces.removeSnapshot(\"{0}\", \"{1}\")"),
    /** Stop service (argument 1) of workspace (argument 0). */
    STOP_SERVICE(2, "Workspaces.services(\"{0}\").stop(\"{1}\")"),
    /** Stop a service of workspace (argument 0). */
    STOP_A_SERVICE(1, "Workspaces.services(\"{0}\").stop(name)"),
    /** Read the log of service (argument 1). */
    SERVICE_LOGS(2, "Workspaces.services(\"{0}\").logs(\"{1}\", lines)"),
    /** List the services of workspace (argument 0). */
    LIST_SERVICES(1, "Workspaces.services(\"{0}\").list()"),
    /** Stop a detached exec of workspace (argument 0). */
    KILL_EXEC(1, "Workspaces.execs().kill(\"{0}\", execId)"),
    /** List the detached execs of workspace (argument 0). */
    LIST_EXECS(1, "Workspaces.execs().list(\"{0}\")"),
    /** Close a shell of workspace (argument 0). */
    CLOSE_SHELL(1, "Workspaces.shells(\"{0}\").close(id)"),
    /** List the shells of workspace (argument 0). */
    LIST_SHELLS(1, "Workspaces.shells(\"{0}\").list()"),
    /** Read the output of shell (argument 1). */
    READ_SHELL(2, "Workspaces.shells(\"{0}\").read(\"{1}\", options)"),
    /** List, read or export the workspace's files. */
    READ_FILES(0, "Workspaces.files().list, Workspaces.files().read or Workspaces.files().export"),
    /** Read the first bytes of a file. */
    READ_FILE_PART(0, "Workspaces.files().read(id, path, maxBytes)"),
    /** Export the workspace. */
    EXPORT_WORKSPACE(0, "Workspaces.files().export"),
    /** Give secrets when creating a workspace. */
    GIVE_SECRETS(0, "Workspaces.create with Secrets.of"),
    /** Use runtime (argument 0). */
    USE_RUNTIME(1, "set RunSpec.runtime to {0}"),
    /** Use runtime (argument 0) or (argument 1). */
    USE_RUNTIMES(2, "set RunSpec.runtime to {0} or {1}"),
    /** Run without limits. */
    RUN_WITHOUT_LIMITS(0, "run without limits (Limits.NONE)"),
    /** Run with a process limit only. */
    PROCESS_LIMIT_ONLY(0, "or with a process limit only (Limits.memoryMiB and Limits.cpus 0: RLIMIT_NPROC bounds it)"),
    /** Run with the limits this host can enforce. */
    DEFAULT_LIMITS(0, "(Limits.enforceableHere())"),
    /** A sandbox with memory or CPU limits fails here. */
    LIMITED_RUN(0, "a RunSpec or CreateSpec with memory or CPU limits fails here"),
    /** Give a service longer to become ready. */
    LONGER_READY_TIMEOUT(0, "give Services.start a longer timeout"),
    /** Choose a network. */
    CHOOSE_NETWORK(0, "use nat (the outside only), host (the host's network, loopback included) or none"),
    /** Give a command. */
    GIVE_COMMAND(0, "ExecSpec.builder needs a command to run"),
    /** Give a service's command. */
    GIVE_SERVICE_COMMAND(0, "ServiceSpec.builder needs a command to run"),
    /** Give a service's name. */
    GIVE_SERVICE_NAME(0, "ServiceSpec.builder needs a service name"),
    /** Fetch the catalog again with network access. */
    RERUN_ONLINE(0, "re-run with CatalogOptions.withOffline(false)");

    private final int arity;
    private final String library;

    Action(int arity, String library) {
        this.arity = arity;
        this.library = library;
    }

    /**
     * How many arguments the action takes.
     *
     * @return 0 or more
     */
    public int arity() {
        return arity;
    }

    /**
     * The action in the library's words, with {@code {0}}, {@code {1}} where its arguments go.
     *
     * @return the template
     */
    public String library() {
        return library;
    }

    /**
     * This action with its arguments, for a {@link Message}.
     *
     * @param args as many as {@link #arity()}
     * @return the fix
     */
    public Fix fix(String... args) {
        return new Fix(this, List.of(args));
    }

    /**
     * {@code template} (this action's words in some door) with {@code args} put in its {@code {0}}, {@code {1}}.
     *
     * @param template the words
     * @param args     the arguments
     * @return the text
     */
    public String fill(String template, List<String> args) {
        String s = template;
        for (int i = 0; i < args.size(); i++) {
            s = s.replace("{" + i + "}", args.get(i));
        }
        return s;
    }
}
