package dev.davit.mcp;

import static dev.davit.mcp.Tool.Kind.FLAG;
import static dev.davit.mcp.Tool.Kind.INTEGER;
import static dev.davit.mcp.Tool.Kind.STRING;

import java.util.List;

/**
 * The tools of {@code davit workspace disk}: a stopped workspace's files read offline, without starting it (full
 * profile). Results as workspace_file_list, workspace_file_read and workspace_export.
 */
final class DiskTools {
    private static final String OFFLINE = " It must be stopped (workspace_stop), and is not started. For a running"
            + " one use ";

    private DiskTools() {
    }

    static void add(List<Tool> t) {
        t.add(Tool.builder("workspace_disk_list", Tools.FULL, "List a stopped workspace's files", "List a directory of a STOPPED workspace's /workspace"
                        + " (type, mode, size, link target), offline." + OFFLINE + "workspace_file_list.")
                .required("workspace", Tools.WS)
                .option("path", STRING, "A directory relative to /workspace (default: /workspace itself).")
                .option("recursive", FLAG, "Everything below it.")
                .hints(Tool.Hints.READ)
                .returns("files", Tool.arrayOf("path", "type", "size", "mode", "target"), "The entries.")
                .returns("truncated", "boolean", "Whether there were more than " + Tools.MAX_ENTRIES
                        + " entries.").build());
        t.add(Tool.builder("workspace_disk_read", Tools.FULL, "Read a stopped workspace's file", "Read a file of a"
                        + " STOPPED workspace, offline: 'content' is its text when it is UTF-8, else 'content_base64'"
                        + " holds its bytes; at most 'max_bytes' (default 65536)."
                        + OFFLINE + "workspace_file_read.")
                .required("workspace", Tools.WS)
                .required("path", "The file, relative to /workspace.")
                .option("max_bytes", INTEGER, "Read at most this many bytes.").byDefault(65536)
                .atLeast(1).atMost(Tools.MAX_OUTPUT)
                .hints(Tool.Hints.READ)
                .returns("path", "string", "The file.")
                .returns("size", "integer", "Its size in bytes.")
                .returns("truncated", "boolean", "Whether max_bytes cut it.")
                .returns("redacted", "boolean", Tools.REDACTED_READ)
                .returns("content", Tools.Json2.nullable("string"), "The text, or null when not UTF-8.")
                .maybe("content_base64", "string", "The bytes read, base64, when not UTF-8.").build());
        t.add(Tools.export(Tool.builder("workspace_disk_export", Tools.FULL, "Copy a stopped workspace's files to the host",
                        "Copy a STOPPED workspace's"
                        + " /workspace (or 'path' in it) out to the host, offline: a new or empty directory, or a file"
                        + " ending in .tar, under the server's --allow-path directories. Links are copied as links,"
                        + " devices and names a host cannot hold left out, no setuid bits." + OFFLINE
                        + "workspace_export."),
                "Paths left out (devices, fifos, sockets, names a host cannot hold).").hints(Tool.Hints.CHANGE).build());
    }
}
