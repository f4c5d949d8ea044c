package dev.davit.cli.mcp;

import static dev.davit.cli.mcp.Tool.Kind.FLAG;
import static dev.davit.cli.mcp.Tool.Kind.INTEGER;

import java.util.List;

/**
 * The tools of {@code davit workspace disk}: a stopped workspace's files read offline, without starting it (full
 * profile). Results as workspace_file_list, workspace_file_read and workspace_export.
 */
final class DiskTools {
    private static final String OFFLINE = " The workspace must be stopped (workspace_stop); it is not started: a"
            + " container's files are read in its own layer, a microVM's from its disk image (the VM is not booted)."
            + " For a running workspace use ";

    private DiskTools() {
    }

    static void add(List<Tool> t, Policy policy) {
        t.add(Tool.builder("workspace_disk_list", Tools.FULL, "List a directory of a STOPPED workspace's /workspace"
                        + " (type, mode, size, link target), offline." + OFFLINE + "workspace_file_list.",
                        "workspace", "disk", "ls")
                .positional("workspace", Tools.WS)
                .optionalPositional("path", "A directory relative to /workspace (default: /workspace itself).")
                .option("recursive", FLAG, "--recursive", "Everything below it.")
                .returns("files", Tool.arrayOf("path", "type", "size", "mode", "target"), "The entries.").build());
        t.add(Tool.builder("workspace_disk_read", Tools.FULL, "Read a file of a STOPPED workspace, offline. 'content'"
                        + " is the text when the file is UTF-8, else null; 'content_base64' always holds the bytes."
                        + OFFLINE + "workspace_file_read.", "workspace", "disk", "read")
                .positional("workspace", Tools.WS)
                .positional("path", "The file, relative to /workspace.")
                .option("max_bytes", INTEGER, "--max-bytes", "Read at most this many bytes (default: all of a file"
                        + " up to 64 MiB; a larger one needs this).")
                .post(Tools::withText)
                .returns("path", "string", "The file.")
                .returns("size", "integer", "Its size in bytes.")
                .returns("truncated", "boolean", "Whether max_bytes cut it.")
                .returns("content", Tools.Json2.nullable("string"), "The text, or null when not UTF-8.")
                .returns("content_base64", "string", "The bytes read, base64.").build());
        t.add(Tools.export(Tool.builder("workspace_disk_export", Tools.FULL, "Copy a STOPPED workspace's"
                        + " /workspace (or 'path' in it) out to the host, offline: a new or empty directory, or a file"
                        + " ending in .tar, under the server's --allow-path directories. Links are copied as links,"
                        + " devices and names a host cannot hold left out, no setuid bits." + OFFLINE
                        + "workspace_export.", "workspace", "disk", "export"), policy,
                "Paths left out (devices, fifos, sockets, names a host cannot hold).").build());
    }
}
