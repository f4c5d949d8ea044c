package dev.davit.mcp;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.Fix;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The words of the model that called a tool for a library {@link Message}: an {@link Input} is the tool argument
 * that gives it ({@code 'memory'}), or plain words where no tool takes it; an {@link Action} is the tool that does it
 * ({@code workspace_start}) when the server offers that tool, else plain words ("start workspace ws-1"). Never a
 * flag or a {@code davit} command line: the model cannot run one (ModelWordsTest).
 */
final class ModelWords {
    /**
     * How the model is told of an action.
     *
     * @param tools the tools it takes; all offered, {@code withTools} is said, else {@code plain}
     * @param withTools the words naming those tools, with {@code {0}}, {@code {1}} for the action's arguments
     * @param plain the words without tools
     */
    record Said(List<String> tools, String withTools, String plain) {
    }

    static final Map<Input, String> INPUTS = new EnumMap<>(Input.class);
    static final Map<Action, Said> ACTIONS = new EnumMap<>(Action.class);

    static {
        INPUTS.put(Input.MEMORY, "'memory'");
        INPUTS.put(Input.CPUS, "'cpus'");
        INPUTS.put(Input.PIDS, "the process limit");
        INPUTS.put(Input.DISK, "'disk'");
        INPUTS.put(Input.NO_LIMITS, "no limits");
        INPUTS.put(Input.TOTAL_MEMORY, "the server's memory total");
        INPUTS.put(Input.TOTAL_CPUS, "the server's CPU total");
        INPUTS.put(Input.TOTAL_PIDS, "the server's process total");
        INPUTS.put(Input.NO_TOTALS, "no totals");
        INPUTS.put(Input.TOTALS, "set by the server");
        INPUTS.put(Input.NETWORK, "'network'");
        INPUTS.put(Input.NETWORK_HOST, "the host's network");
        INPUTS.put(Input.ALLOW_HOST, "'allow_hosts'");
        INPUTS.put(Input.ALLOW_CIDR, "'allow_cidrs'");
        INPUTS.put(Input.ALLOW_PRESET, "'allow_presets'");
        INPUTS.put(Input.DENY_HOST, "'deny_hosts'");
        INPUTS.put(Input.DENY_CIDR, "'deny_cidrs'");
        INPUTS.put(Input.PUBLISH, "'publish'");
        INPUTS.put(Input.PORT_MAPPING, "'publish'");
        INPUTS.put(Input.VCPUS, "the microVM's CPUs");
        INPUTS.put(Input.VM_MEMORY, "'memory'");
        INPUTS.put(Input.MAX_OUTPUT, "'max_output'");
        INPUTS.put(Input.EXEC_MAX_OUTPUT, "'max_output'");
        INPUTS.put(Input.SANDBOX_EXEC_MAX_OUTPUT, "'max_output'");
        INPUTS.put(Input.RUNTIME, "the server's runtime");
        INPUTS.put(Input.WORKDIR, "'workdir'");
        INPUTS.put(Input.TIMEOUT, "'timeout'");
        INPUTS.put(Input.READY_TIMEOUT, "'ready_timeout'");
        INPUTS.put(Input.MAX_ENTRIES, "the server's entry limit");
        INPUTS.put(Input.MAX_BYTES, "the server's size limit");
        INPUTS.put(Input.SECRET, "'secrets'");
        INPUTS.put(Input.SECRET_ENV, "'secret_env'");
        INPUTS.put(Input.EDIT_OLD, "'old_text'");
        INPUTS.put(Input.EDIT_NEW, "'new_text'");
        INPUTS.put(Input.EDIT_ALL, "'replace_all'");
        INPUTS.put(Input.WORKSPACE_ENV, "'env' of workspace_create or workspace_update");
        INPUTS.put(Input.SECRET_INJECT, "'secret_inject'");
        INPUTS.put(Input.OWNER, "the owner");
        INPUTS.put(Input.FORK_COUNT, "'count'");
        INPUTS.put(Input.FORK_NAME, "'names'");
        INPUTS.put(Input.BACKEND, "'backend'");
        INPUTS.put(Input.SEED, "'seed'");
        INPUTS.put(Input.SNAPSHOT_ALL, "'all'");
        INPUTS.put(Input.PLATFORM, "the platform");
        INPUTS.put(Input.ONE_PLATFORM, "one platform");
        INPUTS.put(Input.ALL_PLATFORMS, "all platforms");
        INPUTS.put(Input.INSECURE_REGISTRY, "the server's insecure registries");
        INPUTS.put(Input.STORE, "the server's store");
        INPUTS.put(Input.MAP, "a reference per entry");
        INPUTS.put(Input.AS, "one reference");
        INPUTS.put(Input.REPOSITORY, "one repository");
        INPUTS.put(Input.OVERWRITE, "replacing the store's names");
        INPUTS.put(Input.MAX_IMPORT_SIZE, "the import size limit");
        INPUTS.put(Input.KEEP_MTIMES, "keeping modification times");
        INPUTS.put(Input.FILE_MTIME, "a fixed modification time");
        INPUTS.put(Input.CATALOG, "a local catalog file");
        INPUTS.put(Input.CATALOG_OFFLINE, "the server's offline mode");
        INPUTS.put(Input.INSTALL_OFFLINE, "the server's offline mode");
        INPUTS.put(Input.ARTIFACT_TYPE, "the artifact type");
        INPUTS.put(Input.REMOTE, "the registry");
        INPUTS.put(Input.ALLOW_WEAKER_SANDBOX, "the server's weaker-sandbox allowance");
        INPUTS.put(Input.PATCH_PAGE, "workspace_diff ('offset')");
        INPUTS.put(Input.READ_FILE, "workspace_file_read");
        INPUTS.put(Input.SANDBOX_EXEC, "run");

        plain(Action.LOGIN, "a login to {0} on the server's host");
        plain(Action.TAGS, "its list of tags");
        plain(Action.PULL, "pull {0}");
        plain(Action.PULL_PLATFORM, "pull {0} for {1}");
        plain(Action.PLATFORM_OF, "platform {0}");
        plain(Action.INSECURE_REGISTRY_OF, "the server's insecure registry {0}");
        plain(Action.MAP_ENTRY, "a reference per entry ({0})");
        plain(Action.AS_REF, "one reference");
        plain(Action.REPOSITORY_OF, "one repository ({0})");
        plain(Action.FSCK, "a check of the server's store");
        plain(Action.FSCK_REPAIR, "a repair of the server's store");
        plain(Action.IMAGES, "the store's images");
        tool(Action.INSTALL_ENV, "environment_pull", "an install of {0}");
        said(Action.REINSTALL_ENV, List.of("environment_pull"), "environment_pull installs it again", "install it again");
        plain(Action.DOCTOR, "the host's sandbox report");
        plain(Action.REAP, "the server's reaper");
        plain(Action.START_SANDBOX, "a start of the sandbox");
        plain(Action.STOP_SANDBOX, "a stop of the sandbox");
        tool(Action.RESUME_SANDBOX, "workspace_resume", "resume the workspace");
        tool(Action.LIST_WORKSPACES, "workspace_list", "the workspaces");
        tool(Action.START_WORKSPACE, "workspace_start", "start the workspace");
        tool(Action.START_IT, "workspace_start", "start the workspace");
        tool(Action.RESUME_WORKSPACE, "workspace_resume", "resume the workspace");
        tool(Action.STOP_WORKSPACE, "workspace_stop", "stop the workspace");
        said(Action.RESTART_WORKSPACE, List.of("workspace_stop", "workspace_start"), "workspace_stop and"
                + " workspace_start", "stopping and starting the workspace");
        tool(Action.DELETE_WORKSPACE, "workspace_remove", "remove the workspace");
        tool(Action.RESET_WORKSPACE, "workspace_reset", "reset the workspace");
        tool(Action.COMMIT_WORKSPACE, "workspace_commit", "commit the workspace to an image");
        tool(Action.PUSH_SNAPSHOT, "workspace_snapshot_push", "push the snapshot");
        said(Action.OPEN_DAVIT, List.of(), "the server's workspace tools", "the server's workspace tools");
        tool(Action.LIST_SNAPSHOTS, "workspace_snapshot_list", "the workspace's snapshots");
        tool(Action.DELETE_SNAPSHOT, "workspace_snapshot_remove", "removing snapshot {1}");
        tool(Action.STOP_SERVICE, "workspace_service_stop", "stopping service {1}");
        tool(Action.STOP_A_SERVICE, "workspace_service_stop", "stopping a service");
        tool(Action.SERVICE_LOGS, "workspace_service_logs", "the service's log");
        tool(Action.LIST_SERVICES, "workspace_service_list", "the workspace's services");
        tool(Action.KILL_EXEC, "workspace_exec_kill", "stopping the detached exec");
        tool(Action.LIST_EXECS, "workspace_logs", "the workspace's detached execs");
        tool(Action.CLOSE_SHELL, "workspace_shell_close", "closing a shell");
        plain(Action.LIST_SHELLS, "the shells open in the workspace");
        tool(Action.READ_SHELL, "workspace_shell_read", "reading the shell");
        said(Action.READ_FILES, List.of("workspace_file_list", "workspace_file_read", "workspace_export"),
                "workspace_file_list, workspace_file_read or workspace_export", "reading its files");
        said(Action.READ_FILE_PART, List.of("workspace_file_read"), "workspace_file_read with 'max_bytes'",
                "reading fewer bytes");
        tool(Action.EXPORT_WORKSPACE, "workspace_export", "exporting the workspace");
        said(Action.GIVE_SECRETS, List.of("workspace_create"), "'secrets' of workspace_create",
                "secrets given at creation");
        plain(Action.USE_RUNTIME, "a server running runtime {0}");
        plain(Action.USE_RUNTIMES, "a server running runtime {0} or {1}");
        plain(Action.RUN_WITHOUT_LIMITS, "run without limits ('memory' and 'cpus' 0)");
        plain(Action.PROCESS_LIMIT_ONLY, "or with 'memory' and 'cpus' 0 (its processes bounded by RLIMIT_NPROC)");
        plain(Action.DEFAULT_LIMITS, "(with the default limits)");
        plain(Action.LIMITED_RUN, "a sandbox with 'memory' or 'cpus' fails here, one with the defaults runs with"
                + " only its processes bounded");
        plain(Action.LONGER_READY_TIMEOUT, "give a longer 'ready_timeout'");
        plain(Action.CHOOSE_NETWORK, "use 'network' true (the outside only) or false");
        plain(Action.GIVE_COMMAND, "give a command to run");
        plain(Action.GIVE_SERVICE_COMMAND, "give a command to run");
        plain(Action.GIVE_SERVICE_NAME, "give a service name");
        plain(Action.RERUN_ONLINE, "fetch it with network access");
    }

    private static void plain(Action a, String plain) {
        ACTIONS.put(a, new Said(List.of(), plain, plain));
    }

    private static void tool(Action a, String tool, String plain) {
        ACTIONS.put(a, new Said(List.of(tool), tool, plain));
    }

    private static void said(Action a, List<String> tools, String withTools, String plain) {
        ACTIONS.put(a, new Said(tools, withTools, plain));
    }

    /**
     * docs/reference/mcp/RESULTS.md's table of error words (ModelWordsTest checks the docs against it): each error
     * kind with its exit code, each input with the model's words for it, each fix with the tool that does it and the
     * words without that tool.
     */
    static String table() {
        StringBuilder b = new StringBuilder("| error kind | `exit_code` |\n|---|---|\n");
        for (DavitException.Kind k : DavitException.Kind.values()) {
            b.append("| `").append(k.name().toLowerCase(java.util.Locale.ROOT)).append("` | ").append(k.exitCode())
                    .append(" |\n");
        }
        b.append("\n| input (library) | in a message to the model |\n|---|---|\n");
        for (Input i : Input.values()) {
            b.append("| `").append(i.library()).append("` | ").append(INPUTS.get(i)).append(" |\n");
        }
        b.append("\n| fix (library) | with the tools offered | without them |\n|---|---|---|\n");
        for (Action a : Action.values()) {
            Said s = ACTIONS.get(a);
            b.append("| `").append(a.library()).append("` | ").append(s.tools().isEmpty() ? "" : s.withTools())
                    .append(" | ").append(s.plain()).append(" |\n");
        }
        return b.toString().replace("{0}", "ARG").replace("{1}", "ARG2");
    }

    private final Set<String> offered;

    /** The words of a server that offers {@code tools}. */
    ModelWords(Collection<Tool> tools) {
        this.offered = Set.copyOf(tools.stream().map(Tool::name).toList());
    }

    /** {@code e}'s message in the model's words. */
    String message(DavitException e) {
        return text(e.message());
    }

    /** {@code m} in the model's words; null for null. */
    String text(Message m) {
        return m == null ? null : m.render(INPUTS::get, this::fix);
    }

    String fix(Fix f) {
        Said s = ACTIONS.get(f.action());
        return f.action().fill(offered.containsAll(s.tools()) ? s.withTools() : s.plain(), f.args());
    }
}
