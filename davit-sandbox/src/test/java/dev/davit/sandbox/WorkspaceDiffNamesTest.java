package dev.davit.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Names a sandbox chose cannot forge davit's patch (issue 33, item 8): with a newline and a {@code +++} header, a
 * carriage return, escape sequences, tabs, a backslash, a quote and a directory named {@code a}, the diff's headers
 * are quoted as git quotes names, {@code git apply} and GNU {@code patch} of davit's patch touch only the files
 * davit listed (applied for real in scratch directories holding the baseline), and {@code Workspaces.files().patch} reads
 * the quoted names back.
 */
class WorkspaceDiffNamesTest extends BwrapWorkspaces {
    /** The hostile names, as the sandbox makes them (printf escapes), and as Java strings. */
    private static final Map<String, String> NAMES = Map.of(
            "x\\n+++ b/forged", "x\n+++ b/forged",
            "x\\n+++ /tmp/rt-diffinj", "x\n+++ /tmp/rt-diffinj",
            "cr\\rname", "cr\rname",
            "esc\\033[31mred\\033]0;title\\007", "esc\033[31mred\033]0;title\007",
            "tab\\tname", "tab\tname",
            "back\\\\slash", "back\\slash",
            "quote\"d", "quote\"d",
            "a/..x", "a/..x",
            "caf\\303\\251", "caf\u00e9");

    @Override
    List<String> applets() {
        return List.of("printf", "mkdir");
    }

    @Test
    void hostileNamesNeitherForgeNorRedirectThePatch() throws Exception {
        Tools.assumeAvailable("git", "patch");
        Path seed = tmp.resolve("seed");
        Files.createDirectories(seed);
        Files.writeString(seed.resolve("README"), "one\n");
        Workspace w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build())
                .name("w").seed(seed).build());
        StringBuilder script = new StringBuilder("printf 'two\\n' >README;");
        for (String n : NAMES.keySet()) {
            script.append(" f=\"$(printf '").append(n).append("')\"; case $f in */*) mkdir -p \"${f%/*}\";; esac;"
                    + " printf 'in %s\\n' x >\"$f\";");
        }
        ExecResult r = workspaces.execs().run(w.id(), dev.davit.sandbox.workspace.ExecRequest.builder("sh", "-c",
                script.toString()).build());
        assertEquals(0, r.exitCode(), r.stderrText());

        WorkspaceDiff d = workspaces.files().diff(w.id());
        TreeSet<String> listed = new TreeSet<>();
        d.changes().stream().filter(c -> c.type() == WorkspaceDiff.Change.Type.FILE).forEach(c -> listed.add(c.path()));
        TreeSet<String> expected = new TreeSet<>(NAMES.values());
        expected.add("README");
        assertEquals(expected, listed);

        Path patch = tmp.resolve("davit.patch");
        Files.writeString(patch, d.patch());
        // git: the paths it reads (numstat, NUL-separated), a check, and the patch applied
        Path gitDir = baseline(tmp.resolve("git"));
        Run numstat = run(gitDir, "git", "apply", "--numstat", "-z", patch.toString());
        assertEquals(0, numstat.rc, numstat.out);
        TreeSet<String> gitPaths = new TreeSet<>();
        for (String rec : numstat.out.split("\0")) {
            if (!rec.isEmpty()) {
                gitPaths.add(rec.split("\t", 3)[2]);
            }
        }
        assertEquals(listed, gitPaths);
        Run check = run(gitDir, "git", "apply", "--check", patch.toString());
        assertEquals(0, check.rc, check.out);
        Run apply = run(gitDir, "git", "apply", patch.toString());
        assertEquals(0, apply.rc, apply.out);
        assertEquals(contents(listed), tree(gitDir));

        // GNU patch: a dry run, then for real
        Path patchDir = baseline(tmp.resolve("patch"));
        Run dry = run(patchDir, "patch", "--batch", "--dry-run", "-p1", "-i", patch.toString());
        assertEquals(0, dry.rc, dry.out);
        Run real = run(patchDir, "patch", "--batch", "-p1", "-i", patch.toString());
        assertEquals(0, real.rc, real.out);
        assertEquals(contents(listed), tree(patchDir));
        assertFalse(Files.exists(Path.of("/tmp/rt-diffinj")) || Files.exists(tmp.resolve("forged")));

        // every header is one line: a name cannot end it or start another
        long headers = d.patch().lines().filter(l -> l.startsWith("+++ ")).count();
        assertEquals(NAMES.size() + 1, headers, d.patch());
        assertFalse(d.patch().contains("\r") || d.patch().contains("\033"), d.patch());
        assertTrue(d.patch().contains("+++ \"b/x\\n+++ b/forged\"\n"), d.patch());
        assertTrue(d.patch().contains("+++ \"b/caf\\303\\251\"\n"), d.patch());

        // davit's own patch, back onto the baseline: the same tree, the same diff
        workspaces.reset(w.id(), null);
        Map<String, String> changed = workspaces.files().patch(w.id(), d.patch().getBytes(StandardCharsets.UTF_8));
        assertEquals(listed, new TreeSet<>(changed.keySet()));
        assertEquals(d.patch(), workspaces.files().diff(w.id()).patch());
    }

    /** What the tree must hold after the patch: README changed, each listed name added. */
    private static Map<String, String> contents(TreeSet<String> listed) {
        Map<String, String> m = new TreeMap<>();
        for (String p : listed) {
            m.put(p, p.equals("README") ? "two\n" : "in x\n");
        }
        return m;
    }

    private static Path baseline(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("README"), "one\n");
        return dir;
    }

    /** Every regular file below {@code dir} (.git left out) and its content. */
    private static Map<String, String> tree(Path dir) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path f : all.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
                String rel = dir.relativize(f).toString();
                if (!rel.startsWith(".git/") && !rel.endsWith(".orig") && !rel.endsWith(".rej")) {
                    m.put(rel, Files.readString(f));
                }
            }
        }
        return m;
    }

    private record Run(int rc, String out) {
    }

    private static Run run(Path dir, String... cmd) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(cmd));
        Process p = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), out);
    }
}
