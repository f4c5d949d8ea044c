package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The text edit models know ({@link WorkspaceFiles#edit}) over a real bwrap sandbox: the one occurrence replaced, the
 * file's mode kept; a text found nowhere, or more than once, refused saying how many and where, the file unchanged;
 * every occurrence with {@code all}; bad calls refused in words.
 */
class WorkspaceEditTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("stat", "chmod");
    }

    private String read(Workspace w, String path) {
        return new String(workspaces.files().read(w.id(), path, 0).bytes(), StandardCharsets.UTF_8);
    }

    @Test
    void theOneOccurrenceIsReplacedAndARefusalChangesNothing() {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .build())
                .name("ed").build());
        String src = "function add(a, b) {\n  return a - b;\n}\n// add\nconst x = add(1, 2);\n";
        workspaces.files().write(w.id(), "src/app.js", new java.io.ByteArrayInputStream(src.getBytes(
                StandardCharsets.UTF_8)));
        ExecResult chmod = workspaces.execs().run(w.id(), ExecRequest.builder("chmod", "750", "src/app.js")
                .timeout(Duration.ofSeconds(10)).build());
        assertEquals(0, chmod.exitCode(), chmod.stderrText());

        WorkspaceFiles.Edited e = workspaces.files().edit("ed", "src/app.js", "return a - b;", "return a + b;", false);
        assertThat(e).isEqualTo(new WorkspaceFiles.Edited("src/app.js", 1, 2));
        assertThat(read(w, "src/app.js")).isEqualTo(src.replace("a - b", "a + b"));
        ExecResult mode = workspaces.execs().run(w.id(), ExecRequest.builder("stat", "-c", "%a", "src/app.js")
                .timeout(Duration.ofSeconds(10)).build());
        assertThat(mode.stdoutText()).isEqualTo("750\n");

        String before = read(w, "src/app.js");
        DavitException many = assertThrows(DavitException.class, () -> workspaces.files().edit(w.id(), "src/app.js",
                "add",
                "sum", false));
        assertEquals(DavitException.Kind.STATE, many.kind());
        assertThat(many.getMessage()).contains("is in src/app.js 3 times (lines 1, 4, 5)")
                .contains("nothing was changed");
        DavitException none = assertThrows(DavitException.class, () -> workspaces.files().edit(w.id(), "src/app.js",
                "return a * b;", "x", false));
        assertEquals(DavitException.Kind.STATE, none.kind());
        assertThat(none.getMessage()).contains("is not in src/app.js (0 occurrences)");
        DavitException spaced = assertThrows(DavitException.class, () -> workspaces.files().edit(w.id(), "src/app.js",
                "   return a + b;\n\n", "x", false));
        assertThat(spaced.getMessage()).contains("without its leading and trailing white space it is there 1 time,"
                + " at line 2");
        assertThat(read(w, "src/app.js")).as("a refused edit changes nothing").isEqualTo(before);

        WorkspaceFiles.Edited all = workspaces.files().edit(w.id(), "src/app.js", "add", "sum", true);
        assertThat(all.replacements()).isEqualTo(3);
        assertThat(read(w, "src/app.js")).doesNotContain("add").contains("function sum(a, b)");

        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class, () -> workspaces.files().edit(w.id(),
                "src/app.js", "", "x", false)).kind());
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class, () -> workspaces.files().edit(w.id(),
                "src/app.js", "sum", "sum", false)).kind());
        assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class, () -> workspaces.files().edit(w.id(),
                "../etc/passwd", "root", "x", false)).kind());
        assertEquals(DavitException.Kind.NOT_FOUND, assertThrows(DavitException.class,
                () -> workspaces.files().edit(w.id(),
                "src/none.js", "a", "b", false)).kind());
        workspaces.files().write(w.id(), "bin.dat", new java.io.ByteArrayInputStream(new byte[] {(byte) 0xff, 'a'}));
        DavitException binary = assertThrows(DavitException.class, () -> workspaces.files().edit(w.id(), "bin.dat", "a",
                "b", false));
        assertThat(binary.getMessage()).contains("is not UTF-8 text");
    }

    /**
     * A hand-written hunk whose header miscounts its lines (too many, too few) is applied as git apply --recount
     * applies it, and said so; a correct one with a blank line after it is no note; a hunk with a line no hunk has
     * is still refused, nothing changed.
     */
    @Test
    void aHunkThatMiscountsItsLinesIsRecountedAndSaidSo() {
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .build())
                .name("rc").build());
        workspaces.files().write(w.id(), "f.txt", new java.io.ByteArrayInputStream("a\nb\nc\nd\ne\n".getBytes(
                StandardCharsets.UTF_8)));
        WorkspaceFiles.Patched over = workspaces.files().applyPatch(w.id(),
                ("--- a/f.txt\n+++ b/f.txt\n@@ -1,8 +1,8 @@\n a\n-b\n"
                + "+B\n c\n").getBytes(StandardCharsets.UTF_8));
        assertThat(over.changes()).isEqualTo(Map.of("f.txt", "modified"));
        assertThat(over.notes()).containsExactly("hunk 1 of f.txt: its header @@ -1,8 +1,8 @@ miscounts its lines;"
                + " counted -1,3 +1,3 and applied as that");
        assertThat(read(w, "f.txt")).isEqualTo("a\nB\nc\nd\ne\n");
        WorkspaceFiles.Patched under = workspaces.files().applyPatch(w.id(),
                ("--- a/f.txt\n+++ b/f.txt\n@@ -3,1 +3,1 @@\n-c\n"
                + "+C\n d\n-e\n+E\n").getBytes(StandardCharsets.UTF_8));
        assertThat(under.notes()).containsExactly("hunk 1 of f.txt: its header @@ -3,1 +3,1 @@ miscounts its lines;"
                + " counted -3,3 +3,3 and applied as that");
        assertThat(read(w, "f.txt")).isEqualTo("a\nB\nC\nd\nE\n");
        WorkspaceFiles.Patched right = workspaces.files().applyPatch(w.id(),
                ("--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n a\n"
                + "-B\n+b\n\n\n").getBytes(StandardCharsets.UTF_8));
        assertThat(right.notes()).isEmpty();
        assertThat(read(w, "f.txt")).isEqualTo("a\nb\nC\nd\nE\n");
        DavitException garbage = assertThrows(DavitException.class, () -> workspaces.files().applyPatch(w.id(),
                ("--- a/f.txt\n+++ b/f.txt\n@@ -1,3 +1,3 @@\n a\n-b\nSOMETHING ELSE\n+B\n c\n")
                        .getBytes(StandardCharsets.UTF_8)));
        assertEquals(DavitException.Kind.USAGE, garbage.kind());
        assertThat(read(w, "f.txt")).isEqualTo("a\nb\nC\nd\nE\n");
    }
}
