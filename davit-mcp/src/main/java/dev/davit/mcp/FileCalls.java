package dev.davit.mcp;

import static dev.davit.mcp.ToolArgs.flag;
import static dev.davit.mcp.ToolArgs.number;
import static dev.davit.mcp.ToolArgs.strings;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.OpenWorkspace;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The calls of the tools on a workspace's files that are more than a line of {@link ToolCalls}' table: listings
 * and reads (workspace_file_list, workspace_file_read and their workspace_disk_ twins), copies out to the host
 * (workspace_export, workspace_disk_export) and workspace_diff.
 */
final class FileCalls {
    private FileCalls() {
    }

    /** A listing of at most {@link Tools#MAX_ENTRIES} entries, and whether there were more. */
    static ObjectNode files(List<WorkspaceFiles.FileInfo> files) {
        return WorkspaceJson.files(files.subList(0, Math.min(files.size(), Tools.MAX_ENTRIES)))
                .put("truncated", files.size() > Tools.MAX_ENTRIES);
    }

    /** A read's result: its text when it is UTF-8, else its bytes in base64 ({@code paged}: with next_offset). */
    static ObjectNode content(String path, WorkspaceFiles.FileContent c, boolean paged) {
        ObjectNode doc = Json.object().put("path", path).put("size", c.size()).put("truncated", c.truncated())
                .put("redacted", c.redacted());
        if (paged) {
            doc.put("offset", c.offset()).put("next_offset", c.end());
        }
        return bytes(doc, c.bytes());
    }

    /** {@code content}: the bytes as text when they are UTF-8, else null and {@code content_base64}. */
    static ObjectNode bytes(ObjectNode doc, byte[] b) {
        String text = Text.utf8OrNull(b);
        doc.put("content", text);
        if (text == null) {
            doc.put("content_base64", Base64.getEncoder().encodeToString(b));
        }
        return doc;
    }

    /** A copy out to the host ({@code workspace_export}, {@code workspace_disk_export}): {@code dest} as given. */
    static ObjectNode export(Policy policy, Map<String, Object> a, Tool.Call call,
                             java.util.function.Function<Path, WorkspaceFiles.Copied> copy) {
        String given = (String) a.get("host_dest");
        Path used = policy.pinHostDest(a, "host_dest", call::scratch);
        return WorkspaceJson.copied(copy.apply(used)).put("dest", given);
    }

    static ObjectNode diff(OpenWorkspace w, Map<String, Object> a, Tool.Call call) {
        List<String> paths = strings(a, "paths");
        WorkspaceDiff full = w.files().diff((String) a.get("snapshot"), paths,
                flag(a, "include_ignored") || !paths.isEmpty());
        WorkspaceDiff.PatchPage page = full.page(number(a, "offset", 0), Tools.MAX_PATCH);
        ObjectNode doc = WorkspaceJson.diff(new WorkspaceDiff(full.changes(), page.text(), full.redacted(),
                full.collapsed()));
        return doc.put("patch_offset", page.offset()).put("next_offset", page.next())
                .put("patch_truncated", page.more());
    }
}
