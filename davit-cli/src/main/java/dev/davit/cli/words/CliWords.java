package dev.davit.cli.words;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.Fix;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import java.util.EnumMap;
import java.util.Map;

/**
 * The CLI's words for a library {@link Message}: an {@link Input} is the flag that gives it ({@code --memory}), an
 * {@link Action} the command line that does it ({@code 'davit workspace start ws-1'}). One table per enum, every
 * value in it (CliWordsTest).
 */
public final class CliWords {
    private static final Map<Input, String> INPUTS = new EnumMap<>(Input.class);
    private static final Map<Action, String> ACTIONS = new EnumMap<>(Action.class);

    static {
        INPUTS.put(Input.MEMORY, "--memory");
        INPUTS.put(Input.CPUS, "--cpus");
        INPUTS.put(Input.PIDS, "--pids");
        INPUTS.put(Input.DISK, "--disk");
        INPUTS.put(Input.NO_LIMITS, "--no-limits");
        INPUTS.put(Input.TOTAL_MEMORY, "--max-memory");
        INPUTS.put(Input.TOTAL_CPUS, "--max-cpus");
        INPUTS.put(Input.TOTAL_PIDS, "the process total");
        INPUTS.put(Input.NO_TOTALS, "no totals (mcp serve --allow-unlimited)");
        INPUTS.put(Input.TOTALS, "set by davit mcp serve");
        INPUTS.put(Input.NETWORK, "--network");
        INPUTS.put(Input.NETWORK_HOST, "--network=host");
        INPUTS.put(Input.ALLOW_HOST, "--allow-host");
        INPUTS.put(Input.ALLOW_CIDR, "--allow-cidr");
        INPUTS.put(Input.ALLOW_PRESET, "--allow-preset");
        INPUTS.put(Input.DENY_HOST, "--deny-host");
        INPUTS.put(Input.DENY_CIDR, "--deny-cidr");
        INPUTS.put(Input.PUBLISH, "--publish");
        INPUTS.put(Input.PORT_MAPPING, "--publish");
        INPUTS.put(Input.VCPUS, "--vcpus");
        INPUTS.put(Input.VM_MEMORY, "--memory");
        INPUTS.put(Input.MAX_OUTPUT, "--max-output");
        INPUTS.put(Input.EXEC_MAX_OUTPUT, "--max-output");
        INPUTS.put(Input.SANDBOX_EXEC_MAX_OUTPUT, "--max-output");
        INPUTS.put(Input.RUNTIME, "--runtime");
        INPUTS.put(Input.WORKDIR, "--workdir");
        INPUTS.put(Input.TIMEOUT, "--timeout");
        INPUTS.put(Input.READY_TIMEOUT, "--ready-timeout");
        INPUTS.put(Input.MAX_ENTRIES, "--max-entries");
        INPUTS.put(Input.MAX_BYTES, "--max-size");
        INPUTS.put(Input.SECRET, "--secret");
        INPUTS.put(Input.SECRET_ENV, "--secret-env");
        INPUTS.put(Input.EDIT_OLD, "--old");
        INPUTS.put(Input.EDIT_NEW, "--new");
        INPUTS.put(Input.EDIT_ALL, "--replace-all");
        INPUTS.put(Input.WORKSPACE_ENV, "--env of workspace create or update");
        INPUTS.put(Input.SECRET_INJECT, "--secret-inject");
        INPUTS.put(Input.OWNER, "--owner");
        INPUTS.put(Input.FORK_COUNT, "--count");
        INPUTS.put(Input.FORK_NAME, "--name");
        INPUTS.put(Input.BACKEND, "--backend");
        INPUTS.put(Input.SEED, "--seed");
        INPUTS.put(Input.SNAPSHOT_ALL, "--all");
        INPUTS.put(Input.PLATFORM, "--platform");
        INPUTS.put(Input.ONE_PLATFORM, "--platform");
        INPUTS.put(Input.ALL_PLATFORMS, "--all-platforms");
        INPUTS.put(Input.INSECURE_REGISTRY, "--insecure-registry");
        INPUTS.put(Input.STORE, "--store");
        INPUTS.put(Input.MAP, "--map");
        INPUTS.put(Input.AS, "--as");
        INPUTS.put(Input.REPOSITORY, "--repo");
        INPUTS.put(Input.OVERWRITE, "--overwrite");
        INPUTS.put(Input.MAX_IMPORT_SIZE, "--max-size");
        INPUTS.put(Input.KEEP_MTIMES, "--keep-mtimes");
        INPUTS.put(Input.FILE_MTIME, "SOURCE_DATE_EPOCH");
        INPUTS.put(Input.CATALOG, "--catalog PATH");
        INPUTS.put(Input.CATALOG_OFFLINE, "--offline");
        INPUTS.put(Input.INSTALL_OFFLINE, "--offline");
        INPUTS.put(Input.ARTIFACT_TYPE, "--artifact-type");
        INPUTS.put(Input.REMOTE, "--remote");
        INPUTS.put(Input.ALLOW_WEAKER_SANDBOX, "--allow-weaker-sandbox");
        INPUTS.put(Input.PATCH_PAGE, "'davit workspace diff' (--patch-offset, --patch-max)");
        INPUTS.put(Input.READ_FILE, "'davit workspace file read'");
        INPUTS.put(Input.SANDBOX_EXEC, "'davit sandbox exec'");

        ACTIONS.put(Action.LOGIN, "'davit login {0}'");
        ACTIONS.put(Action.TAGS, "'davit tags {0}'");
        ACTIONS.put(Action.PULL, "'davit pull {0}'");
        ACTIONS.put(Action.PULL_PLATFORM, "'davit pull --platform {1} {0}'");
        ACTIONS.put(Action.PLATFORM_OF, "--platform {0}");
        ACTIONS.put(Action.INSECURE_REGISTRY_OF, "--insecure-registry {0}");
        ACTIONS.put(Action.MAP_ENTRY, "--map {0}");
        ACTIONS.put(Action.AS_REF, "--as REF");
        ACTIONS.put(Action.REPOSITORY_OF, "--repo {0}");
        ACTIONS.put(Action.FSCK, "'davit fsck'");
        ACTIONS.put(Action.FSCK_REPAIR, "'davit fsck --repair'");
        ACTIONS.put(Action.IMAGES, "'davit images'");
        ACTIONS.put(Action.INSTALL_ENV, "'davit environment pull {0}'");
        ACTIONS.put(Action.REINSTALL_ENV, "run 'davit environment pull {0}' to repair it");
        ACTIONS.put(Action.DOCTOR, "'davit doctor'");
        ACTIONS.put(Action.REAP, "'davit sandbox reap'");
        ACTIONS.put(Action.START_SANDBOX, "'davit sandbox start {0}'");
        ACTIONS.put(Action.STOP_SANDBOX, "'davit sandbox stop {0}'");
        ACTIONS.put(Action.RESUME_SANDBOX, "'davit sandbox resume {0}'");
        ACTIONS.put(Action.LIST_WORKSPACES, "'davit workspace ls'");
        ACTIONS.put(Action.START_WORKSPACE, "'davit workspace start {0}'");
        ACTIONS.put(Action.START_IT, "'davit workspace start'");
        ACTIONS.put(Action.RESUME_WORKSPACE, "'davit workspace resume {0}'");
        ACTIONS.put(Action.STOP_WORKSPACE, "'davit workspace stop {0}'");
        ACTIONS.put(Action.RESTART_WORKSPACE, "'davit workspace stop' and 'davit workspace start'");
        ACTIONS.put(Action.DELETE_WORKSPACE, "'davit workspace remove {0}'");
        ACTIONS.put(Action.RESET_WORKSPACE, "'davit workspace reset'");
        ACTIONS.put(Action.COMMIT_WORKSPACE, "'davit workspace commit {0} REF'");
        ACTIONS.put(Action.PUSH_SNAPSHOT, "'davit workspace snapshot push'");
        ACTIONS.put(Action.OPEN_DAVIT, "the davit CLI");
        ACTIONS.put(Action.LIST_SNAPSHOTS, "'davit workspace snapshot ls {0}'");
        ACTIONS.put(Action.DELETE_SNAPSHOT, "'davit workspace snapshot remove {0} {1}'");
        ACTIONS.put(Action.STOP_SERVICE, "'davit workspace service stop {0} {1}'");
        ACTIONS.put(Action.STOP_A_SERVICE, "'davit workspace service stop {0} NAME'");
        ACTIONS.put(Action.SERVICE_LOGS, "'davit workspace service logs {0} {1}'");
        ACTIONS.put(Action.LIST_SERVICES, "'davit workspace service ls {0}'");
        ACTIONS.put(Action.KILL_EXEC, "'davit workspace kill {0} EXEC_ID'");
        ACTIONS.put(Action.LIST_EXECS, "'davit workspace execs {0}'");
        ACTIONS.put(Action.CLOSE_SHELL, "'davit workspace shell close {0} SHELL'");
        ACTIONS.put(Action.LIST_SHELLS, "'davit workspace shell ls {0}'");
        ACTIONS.put(Action.READ_SHELL, "'davit workspace shell read {0} {1}'");
        ACTIONS.put(Action.READ_FILES, "'davit workspace file ls|read' or 'davit workspace export'");
        ACTIONS.put(Action.READ_FILE_PART, "davit workspace file read --max-bytes N");
        ACTIONS.put(Action.EXPORT_WORKSPACE, "'davit workspace export'");
        ACTIONS.put(Action.GIVE_SECRETS, "--secret NAME=VALUE or --secret-file NAME=PATH");
        ACTIONS.put(Action.USE_RUNTIME, "use --runtime {0}");
        ACTIONS.put(Action.USE_RUNTIMES, "use --runtime {0} or {1}");
        ACTIONS.put(Action.RUN_WITHOUT_LIMITS, "run without limits with --no-limits (or --memory 0 --cpus 0 --pids 0)");
        ACTIONS.put(Action.PROCESS_LIMIT_ONLY, "or with --memory 0 --cpus 0 (its processes bounded by RLIMIT_NPROC)");
        ACTIONS.put(Action.DEFAULT_LIMITS, "(as davit run does with the default limits)");
        ACTIONS.put(Action.LIMITED_RUN, "a container run or sandbox create that gives --memory or --cpus fails here,"
                + " one with the defaults runs with only its processes bounded (RLIMIT_NPROC) and warns");
        ACTIONS.put(Action.LONGER_READY_TIMEOUT, "give a longer --ready-timeout");
        ACTIONS.put(Action.CHOOSE_NETWORK, "use --network (nat: the outside only), --network=host (the host's network,"
                + " loopback included) or --network=none");
        ACTIONS.put(Action.GIVE_COMMAND, "give a command to run");
        ACTIONS.put(Action.GIVE_SERVICE_COMMAND, "give a command to run");
        ACTIONS.put(Action.GIVE_SERVICE_NAME, "give a service name");
        ACTIONS.put(Action.RERUN_ONLINE, "re-run without --offline");
    }

    private CliWords() {
    }

    /**
     * {@code m} in the CLI's words.
     *
     * @param m a library message, or null
     * @return the text, or null for null
     */
    public static String text(Message m) {
        return m == null ? null : m.render(INPUTS::get, CliWords::fix);
    }

    /** {@code e}'s message in the CLI's words. */
    public static String message(DavitException e) {
        return text(e.message());
    }

    /** The CLI's words for input {@code i} (a flag, mostly); null for none. */
    public static String input(Input i) {
        return INPUTS.get(i);
    }

    /** The CLI's words for action {@code a}, its arguments as placeholders; null for none. */
    public static String action(Action a) {
        return ACTIONS.get(a);
    }

    static String fix(Fix f) {
        return f.action().fill(ACTIONS.get(f.action()), f.args());
    }
}
