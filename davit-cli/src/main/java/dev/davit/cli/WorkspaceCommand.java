package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.client.DavitHome;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code davit workspace ...}: sandboxes with a seeded /workspace, files and a diff against the baseline.
 *
 * <p>This class is the group and what its subcommands share ({@link IdCmd}, {@link #workspaces}); the subcommands
 * are in {@link WorkspaceLifecycleCommands} (create, ls, status, update, stop, start, pause, resume, fork, remove, reap),
 * {@link WorkspaceExecCommands} (exec, wait, kill, execs, logs, output), {@link WorkspaceFileCommands} (file, push,
 * export, patch), {@link WorkspaceSnapshotCommands} (diff, snapshot, reset, commit), {@link WorkspaceDiskCommands},
 * {@link WorkspaceProcessCommands} (service, shell) and {@link NetworkCommands} (network). A new one is registered
 * here and in {@link CommandModels#LAZY_GROUPS}.
 */
@Command(name = "workspace", mixinStandardHelpOptions = true, description = WorkspaceCommand.DESCRIPTION,
        subcommands = {WorkspaceLifecycleCommands.CreateCmd.class, WorkspaceExecCommands.ExecCmd.class,
            WorkspaceLifecycleCommands.LsCmd.class, WorkspaceLifecycleCommands.StatusCmd.class,
            WorkspaceLifecycleCommands.UpdateCmd.class, WorkspaceLifecycleCommands.StopCmd.class,
            WorkspaceLifecycleCommands.StartCmd.class, WorkspaceLifecycleCommands.PauseCmd.class,
            WorkspaceLifecycleCommands.ResumeCmd.class, WorkspaceLifecycleCommands.ForkCmd.class,
            WorkspaceSnapshotCommands.CommitCmd.class, WorkspaceLifecycleCommands.RmCmd.class,
            WorkspaceFileCommands.FileCmd.class, WorkspaceSnapshotCommands.DiffCmd.class,
            WorkspaceSnapshotCommands.SnapshotCmd.class, WorkspaceSnapshotCommands.ResetCmd.class,
            WorkspaceExecCommands.LogsCmd.class, WorkspaceExecCommands.OutputCmd.class,
            WorkspaceExecCommands.ExecWaitCmd.class, WorkspaceExecCommands.ExecKillCmd.class,
            WorkspaceExecCommands.ExecCancelCmd.class,
            WorkspaceExecCommands.ExecLsCmd.class, WorkspaceFileCommands.PushCmd.class,
            WorkspaceFileCommands.ExportCmd.class, WorkspaceFileCommands.PatchCmd.class,
            WorkspaceLifecycleCommands.ReapCmd.class, WorkspaceDiskCommands.DiskCmd.class,
            WorkspaceProcessCommands.ServiceCmd.class, WorkspaceProcessCommands.ShellCmd.class,
            NetworkCommands.WorkspaceNetworkCmd.class})
final class WorkspaceCommand extends GroupCommand {
    static final String DESCRIPTION = "Workspaces: long-lived sandboxes with a /workspace seeded from the host"
            + " (container or vm backend).";

    static Workspaces workspaces(Main main) {
        Path home = DavitHome.resolve(main.env());
        return Workspaces.under(home, EgressOptions.withDns(SandboxOptions.under(home), main.env()));
    }

    /** Prints what was removed: {@code {key: value, "removed": true}}, or the value alone. */
    static int removed(Output out, String key, String value) {
        ObjectNode doc = Json.object();
        doc.put(key, value);
        doc.put("removed", true);
        out.result(doc, p -> p.println(value));
        return 0;
    }

    /** {@code --secret-env VAR=NAME} items, checked. */
    static Map<String, String> secretEnv(List<String> items) {
        return CliArgs.keyValues(items, "--secret-env needs VAR=NAME (a variable, then a secret's name)");
    }

    static final String SECRET_ENV_TEXT = "Set variable VAR to the value of the workspace's secret NAME"
            + " (repeatable); the value never appears on a command line.";

    /** Base of the subcommands that take a workspace id (or name). */
    abstract static class IdCmd extends DavitCommand {
        static final String ID_TEXT = "The workspace's id or name (see 'davit workspace ls').";

        @Parameters(index = "0", paramLabel = "ID", description = ID_TEXT)
        String id;
    }
}
