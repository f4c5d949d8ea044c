package dev.davit.sandbox.workspace;

import dev.davit.sandbox.workspace.json.WorkspaceJson;
import static org.assertj.core.api.Assertions.assertThat;

import dev.davit.sandbox.workspace.WorkspaceDiff.Change;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A diff's change as a library user prints it (modes in octal, the kind and type as docs/reference/JSON.md words) and as the
 * CLI's --json shows it (unchanged by the enums: the same words, modes as octal strings).
 */
class WorkspaceDiffChangeTest {
    @Test
    void modesPrintInOctalAndKindsAndTypesAsTheirWords() {
        Change chmod = new Change("run.sh", Change.Kind.MODE, Change.Type.FILE, 0644, 0755);
        Change added = new Change("d", Change.Kind.ADDED, Change.Type.DIR, -1, 0755);
        assertThat(chmod.toString()).isEqualTo("Change[path=run.sh, kind=mode, type=file, oldMode=0644,"
                + " newMode=0755]");
        assertThat(added.oldModeOctal()).isNull();
        assertThat(added.newModeOctal()).isEqualTo("0755");
        assertThat(List.of(Change.Kind.values())).extracting(Object::toString)
                .containsExactly("added", "deleted", "modified", "mode");
        assertThat(List.of(Change.Type.values())).extracting(Object::toString)
                .containsExactly("file", "dir", "symlink", "other");
    }

    @Test
    void theJsonIsTheDocumentedOne() {
        WorkspaceDiff d = new WorkspaceDiff(List.of(
                new Change("run.sh", Change.Kind.MODE, Change.Type.FILE, 0644, 0755),
                new Change("gone", Change.Kind.DELETED, Change.Type.SYMLINK, 0777, -1)), "", false, List.of());
        assertThat(WorkspaceJson.diff(d).toString()).isEqualTo("{\"changes\":["
                + "{\"path\":\"run.sh\",\"kind\":\"mode\",\"type\":\"file\",\"old_mode\":\"0644\",\"new_mode\":\"0755\"},"
                + "{\"path\":\"gone\",\"kind\":\"deleted\",\"type\":\"symlink\",\"old_mode\":\"0777\",\"new_mode\":null}"
                + "],\"patch\":\"\",\"redacted\":false,\"collapsed\":[]}");
        WorkspaceDiff c = new WorkspaceDiff(List.of(), "", false, List.of(new WorkspaceDiff.Collapsed("node_modules",
                3, 1, 2)));
        assertThat(WorkspaceJson.diff(c).get("collapsed").toString()).isEqualTo("[{\"path\":\"node_modules\","
                + "\"added\":3,\"modified\":1,\"deleted\":2}]");
    }
}
