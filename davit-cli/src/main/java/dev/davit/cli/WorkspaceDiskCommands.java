package dev.davit.cli;

import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.Workspaces;
import java.util.List;
import picocli.CommandLine.Command;

/**
 * {@code davit workspace disk ls|read|export}: the files of a stopped workspace, read offline without starting it
 * (a container's own layer; a microVM's disk through debugfs, never mounted, never booted). The arguments and the
 * output of {@code workspace file ls|read} and {@code workspace export}.
 */
final class WorkspaceDiskCommands {
    private WorkspaceDiskCommands() {
    }

    @Command(name = "disk", mixinStandardHelpOptions = true,
            description = {"Files of a STOPPED workspace, read offline without starting it: ls, read, export.",
                "A container's are read in its own layer, a microVM's from its disk image (debugfs, read-only; the"
                    + " VM is not booted). A running workspace is refused: use 'workspace file' and"
                    + " 'workspace export'."},
            subcommands = {DiskLsCmd.class, DiskReadCmd.class, DiskExportCmd.class})
    static final class DiskCmd extends GroupCommand {
    }

    @Command(name = "ls", aliases = "list", mixinStandardHelpOptions = true, description = "List a directory of a stopped"
            + " workspace's /workspace, offline.")
    static final class DiskLsCmd extends WorkspaceFileCommands.FileLsCmd {
        @Override
        List<WorkspaceFiles.FileInfo> list(Workspaces ws) {
            return ws.files().diskList(id, path, recursive);
        }
    }

    @Command(name = "read", mixinStandardHelpOptions = true, description = "Print a file of a stopped workspace,"
            + " offline (raw bytes; base64 in --json).")
    static final class DiskReadCmd extends WorkspaceFileCommands.FileReadCmd {
        @Override
        WorkspaceFiles.FileContent read(Workspaces ws) {
            if (offset != 0) {
                throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.USAGE, "--offset is for a"
                        + " running workspace's 'davit workspace file read'; a stopped one's disk is read from the"
                        + " start (--max-bytes)");
            }
            return ws.files().diskRead(id, path, maxBytes);
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = {"Copy a stopped workspace's /workspace (or --path in it) to a new or empty host directory,"
                + " or to a .tar file, offline.",
                "Links are copied as links, never followed; devices, fifos and names a host cannot hold are left"
                    + " out; no setuid/setgid bits."})
    static final class DiskExportCmd extends WorkspaceFileCommands.ExportCmd {
        @Override
        WorkspaceFiles.Copied copy(Workspaces ws, WorkspaceFiles.Progress progress) {
            return ws.files().diskExport(id, hostDest, path);
        }
    }
}
