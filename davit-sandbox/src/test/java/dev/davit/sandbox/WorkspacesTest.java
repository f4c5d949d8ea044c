package dev.davit.sandbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.sandbox.backend.Machinery;
import dev.davit.oci.DavitException;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Workspaces over real bwrap sandboxes and a busybox root filesystem. */
class WorkspacesTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("rm", "mkdir", "chmod", "ln", "wc", "tr");
    }

    private Path seedDir() throws IOException {
        Path seed = tmp.resolve("seed");
        Files.createDirectories(seed.resolve("src"));
        Files.writeString(seed.resolve("README"), "hello\n");
        Files.writeString(seed.resolve("src/main.txt"), "one\ntwo\nthree\n");
        Files.writeString(seed.resolve("gone.txt"), "bye\n");
        return seed;
    }

    private Workspace create(Path seed) {
        return workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(Duration.ofHours(1))
                .limits(Limits.NONE).build())
                .name("w1").seed(seed).build());
    }

    private String sh(Workspace w, String script) {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", script)
                .timeout(Duration.ofSeconds(20)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    /**
     * Resets, snapshots, stops and starts of one workspace called at once (as an agent's parallel MCP calls, or two
     * davits, would) act one after the other: each succeeds, and the workspace ends as the last reset left it.
     */
    @Test
    void concurrentResetsSnapshotsStopsAndStartsActOneAfterTheOther() throws Exception {
        Workspace w = create(seedDir());
        sh(w, "echo new > added.txt");
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<?>> calls = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int n = i;
                calls.add(pool.submit(() -> workspaces.reset(w.id(), null)));
                calls.add(pool.submit(() -> workspaces.snapshot(w.id(), "s" + n)));
                calls.add(pool.submit(() -> workspaces.stop(w.id())));
                calls.add(pool.submit(() -> workspaces.start(w.id())));
            }
            for (java.util.concurrent.Future<?> c : calls) {
                c.get(5, java.util.concurrent.TimeUnit.MINUTES); // none failed
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(4, workspaces.snapshots(w.id()).size());
        workspaces.reset(w.id(), null);
        workspaces.start(w.id());
        assertEquals("hello\nno added.txt\n", sh(w, "cat README; [ -e added.txt ] || echo no added.txt"));
        try (var left = Files.list(home.resolve("workspaces").resolve(w.id()))) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "a reset's leftovers");
        }
    }

    @Test
    void seedFromDirectoryExecDiffAndRestart() throws IOException {
        Workspace w = create(seedDir());
        assertEquals("/workspace\nhello\n", sh(w, "pwd; cat README"));
        assertEquals("one\ntwo\nthree\n", sh(w, "cat src/main.txt"));
        assertEquals(4, w.baselineFiles()); // README, gone.txt, src, src/main.txt

        sh(w, "echo new > added.txt; echo TWO > src/main.txt; rm gone.txt; chmod 600 README");
        WorkspaceDiff d = workspaces.files().diff(w.id());
        Map<String, String> kinds = d.changes().stream()
                .collect(Collectors.toMap(WorkspaceDiff.Change::path, c -> c.kind().toString()));
        assertEquals(Map.of("added.txt", "added", "src/main.txt", "modified", "gone.txt", "deleted",
                "README", "mode"), kinds);
        assertTrue(d.patch().contains("--- a/src/main.txt\n+++ b/src/main.txt\n"), d.patch());
        assertTrue(d.patch().contains("-one\n-two\n-three\n+TWO\n"), d.patch());
        assertTrue(d.patch().contains("+++ b/added.txt\n@@ -0,0 +1 @@\n+new\n"), d.patch());
        assertTrue(d.patch().contains("--- a/gone.txt\n+++ /dev/null\n"), d.patch());

        // a new Workspaces (a later davit) sees it; the workspace survives stop and start
        Workspaces later = Workspaces.under(home);
        assertEquals(w, later.get(w.id()));
        assertEquals(w, later.get("w1"));
        later.stop(w.id());
        assertEquals(SandboxStatus.STOPPED, later.sandbox(w.id()).status());
        assertEquals("TWO\n", new String(later.files().read(w.id(), "src/main.txt", 0).bytes()));
        assertEquals(4, later.files().diff(w.id()).changes().size());
        later.start(w.id());
        assertEquals("new\n", sh(w, "cat added.txt"));

        String sandboxId = w.sandboxId();
        workspaces.rm(w.id());
        assertFalse(Files.exists(home.resolve("workspaces").resolve(w.id())));
        assertTrue(workspaces.list().isEmpty());
        assertThrows(DavitException.class, () -> workspaces.sandboxes().status(sandboxId));
        assertFalse(Files.exists(home.resolve("sandboxes").resolve(sandboxId)));
    }

    @Test
    void seedFromTarAndBinaryFiles() throws IOException {
        Path seed = seedDir();
        Path tar = tmp.resolve("seed.tar.gz");
        Tools.run("tar", "-czf", tar.toString(), "-C", seed.toString(), ".");
        Workspace w = create(tar);
        assertEquals("hello\n", sh(w, "cat /workspace/README"));

        byte[] data = new byte[70_000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31 + 7);
        }
        assertEquals(data.length, workspaces.files().write(w.id(), "src/bin.dat", new ByteArrayInputStream(data)));
        assertArrayEquals(data, workspaces.files().read(w.id(), "src/bin.dat", 0).bytes());
        assertEquals("70000\n", sh(w, "wc -c < src/bin.dat | tr -d ' '"));
        WorkspaceFiles.FileContent head = workspaces.files().read(w.id(), "src/bin.dat", 10);
        assertTrue(head.truncated());
        assertEquals(10, head.bytes().length);
        // the sandbox sees a rewrite at once (through its overlay)
        workspaces.files().write(w.id(), "README", new ByteArrayInputStream("changed\n".getBytes()));
        assertEquals("changed\n", sh(w, "cat README"));
        assertEquals(List.of("README", "gone.txt", "src"), workspaces.files().list(w.id(), "", false).stream()
                .map(WorkspaceFiles.FileInfo::path).toList());
        assertEquals(List.of("src/bin.dat", "src/main.txt"), workspaces.files().list(w.id(), "src", true).stream()
                .map(WorkspaceFiles.FileInfo::path).toList());
    }

    @Test
    void escapesAreRefusedAndNothingIsWrittenOutside() throws IOException {
        Workspace w = create(seedDir());
        sh(w, "ln -s /etc etc-link; ln -s /etc/passwd passwd-link; mkdir -p sub");
        String passwd = Files.readString(Path.of("/etc/passwd"));
        for (String bad : List.of("../x", "sub/../../x", "/etc/passwd", "etc-link/x", "etc-link/passwd")) {
            DavitException e = assertThrows(DavitException.class,
                    () -> workspaces.files().write(w.id(), bad, new ByteArrayInputStream("x".getBytes())), bad);
            assertEquals(DavitException.Kind.USAGE, e.kind(), bad);
            assertThrows(DavitException.class, () -> workspaces.files().read(w.id(), bad, 0), bad);
        }
        assertThrows(DavitException.class, () -> workspaces.files().read(w.id(), "passwd-link", 0));
        assertThrows(DavitException.class, () -> workspaces.files().list(w.id(), "etc-link", false));
        // writing over a link replaces the link, never the file it names
        workspaces.files().write(w.id(), "passwd-link", new ByteArrayInputStream("mine\n".getBytes()));
        assertEquals("mine\n", sh(w, "cat passwd-link"));
        assertEquals(passwd, Files.readString(Path.of("/etc/passwd")));
        assertFalse(Files.exists(Path.of("/etc/x")));
        assertFalse(Files.exists(home.resolve("workspaces/x")));
        assertEquals("mine\n", sh(w, "cat passwd-link"));
        assertFalse(Files.exists(rootfs.resolve("etc/x")));
    }

    /** path -> type, mode, content or link target of every entry under {@code top}. */
    private static Map<String, String> snapshotOf(Path top) throws IOException {
        Map<String, String> out = new java.util.TreeMap<>();
        try (var walk = Files.walk(top)) {
            for (Path p : walk.toList()) {
                String kind = Files.isSymbolicLink(p) ? "link " + Files.readSymbolicLink(p)
                        : Files.isDirectory(p) ? "dir" : "file " + java.util.HexFormat.of().formatHex(
                                java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
                out.put(top.relativize(p).toString(), kind + " " + java.nio.file.attribute.PosixFilePermissions
                        .toString(Files.getPosixFilePermissions(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)));
            }
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    private Path live(Workspace w) {
        return Machinery.of(workspaces.sandboxes()).filesOnHost(w.sandboxId()).resolve("workspace");
    }

    @Test
    void snapshotChangeAndResetRestoreContentAndModes() throws IOException {
        Workspace w = create(seedDir());
        Map<String, String> baseline = snapshotOf(live(w));
        sh(w, "echo v2 > src/main.txt; chmod 700 src; ln -s README readme-link; printf '\\001\\002' > bin.dat;"
                + " chmod 751 bin.dat");
        Map<String, String> atSnapshot = snapshotOf(live(w));
        Workspaces.Snapshot snap = workspaces.snapshot(w.id(), "v2");
        assertEquals(6, snap.files());

        // edit, add, delete, chmod
        sh(w, "echo v3 >> src/main.txt; echo new > added.txt; rm gone.txt bin.dat; chmod 600 README; mkdir -p d/e");
        assertEquals(Map.of("src/main.txt", "modified", "added.txt", "added", "gone.txt", "deleted",
                "bin.dat", "deleted", "README", "mode", "d", "added", "d/e", "added"),
                workspaces.files().diff(w.id(), "v2", List.of(), false).changes().stream()
                        .collect(Collectors.toMap(WorkspaceDiff.Change::path, c -> c.kind().toString())));
        assertTrue(workspaces.files().diff(w.id(), "v2", List.of(), false).patch().contains(" v2\n+v3\n"));

        assertEquals(SandboxStatus.RUNNING, workspaces.reset(w.id(), "v2").status());
        assertEquals(atSnapshot, snapshotOf(live(w)));
        assertEquals("v2\n", sh(w, "cat src/main.txt"));
        assertTrue(workspaces.files().diff(w.id(), "v2", List.of(), false).changes().isEmpty());

        // back to the baseline, from a stopped workspace: it stays stopped
        workspaces.stop(w.id());
        assertEquals(SandboxStatus.STOPPED, workspaces.reset(w.id(), null).status());
        assertEquals(baseline, snapshotOf(live(w)));
        workspaces.start(w.id());
        assertEquals("one\ntwo\nthree\n", sh(w, "cat src/main.txt"));
        assertTrue(workspaces.files().diff(w.id()).changes().isEmpty());
        assertFalse(Files.exists(home.resolve("workspaces").resolve(w.id()).resolve(".reset-old")));

        // names: duplicates, bad names and missing snapshots refused; state seen by a later davit
        DavitException dup = assertThrows(DavitException.class, () -> workspaces.snapshot(w.id(), "v2"));
        assertEquals(DavitException.Kind.USAGE, dup.kind());
        assertTrue(dup.getMessage().contains("already has a snapshot v2"), dup.getMessage());
        for (String bad : List.of("", "..", ".hidden", "a/b", "a b", "x".repeat(65))) {
            assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                    () -> workspaces.snapshot(w.id(), bad), bad).kind());
        }
        assertEquals(DavitException.Kind.NOT_FOUND, assertThrows(DavitException.class,
                () -> workspaces.reset(w.id(), "nope")).kind());
        assertEquals(DavitException.Kind.NOT_FOUND, assertThrows(DavitException.class,
                () -> workspaces.files().diff(w.id(), "nope", List.of(), false)).kind());
        workspaces.snapshot(w.id(), "base.1");
        Workspaces later = Workspaces.under(home);
        assertEquals(List.of("v2", "base.1"), later.snapshots(w.id()).stream().map(Workspaces.Snapshot::name)
                .toList());
        later.removeSnapshot(w.id(), "v2");
        assertEquals(List.of("base.1"), later.snapshots(w.id()).stream().map(Workspaces.Snapshot::name).toList());
        assertEquals(DavitException.Kind.NOT_FOUND, assertThrows(DavitException.class,
                () -> later.removeSnapshot(w.id(), "v2")).kind());
    }

    private static Object inode(Path p) throws IOException {
        return Files.getAttribute(p, "unix:ino", java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    @Test
    void snapshotsAndResetsLinkWhatDidNotChangeAndNeverShareWhatMayBeWritten() throws IOException {
        Workspace w = create(seedDir());
        Path state = home.resolve("workspaces").resolve(w.id());
        // unchanged files of a snapshot are the baseline's (or the previous snapshot's) inodes; changed ones not
        sh(w, "echo TWO > src/main.txt; echo hello > twin.txt");
        workspaces.snapshot(w.id(), "s1");
        Path s1 = state.resolve("snapshots/s1/tree");
        assertEquals(inode(state.resolve("baseline/README")), inode(s1.resolve("README")));
        assertFalse(inode(state.resolve("baseline/src/main.txt")).equals(inode(s1.resolve("src/main.txt"))));
        assertEquals("TWO\n", Files.readString(s1.resolve("src/main.txt")));
        sh(w, "chmod 600 README");
        workspaces.snapshot(w.id(), "s2");
        Path s2 = state.resolve("snapshots/s2/tree");
        assertEquals(inode(s1.resolve("src/main.txt")), inode(s2.resolve("src/main.txt")));
        assertFalse(inode(s1.resolve("README")).equals(inode(s2.resolve("README")))); // another mode: a copy

        // edits in place of the same size, and two paths made one inode by an exec, are all undone by a reset
        // (README and twin.txt hold the same bytes as in s1, but as one inode now)
        sh(w, "echo ONE > src/main.txt; chmod 644 README; rm twin.txt; ln README twin.txt; rm gone.txt;"
                + " ln src/main.txt gone.txt");
        workspaces.reset(w.id(), "s1");
        assertEquals("TWO\n", sh(w, "cat src/main.txt"));
        assertEquals("hello\n", sh(w, "cat README"));
        assertEquals("bye\n", sh(w, "cat gone.txt"));
        sh(w, "echo changed > README");
        assertEquals("hello\n", sh(w, "cat twin.txt")); // not the README's inode any more
        // and the snapshot and the baseline were never written through a link
        assertEquals("TWO\n", Files.readString(s1.resolve("src/main.txt")));
        assertEquals("hello\n", Files.readString(s1.resolve("README")));
        assertEquals("hello\n", Files.readString(state.resolve("baseline/README")));
        assertTrue(workspaces.files().diff(w.id(), "s1", List.of(), false).changes().stream().allMatch(c -> c.path().equals("README")));
    }

    @Test
    void logsRecordEveryExec() {
        Workspace w = create(null);
        sh(w, "mkdir sub; echo hello; echo warn >&2");
        String big = "x".repeat(3000) + "END";
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", "printf '" + big + "'; exit 3")
                .workdir("sub").timeout(Duration.ofSeconds(20)).build());
        assertEquals(3, r.exitCode());
        var logs = Workspaces.under(home).execs().logs(w.id());
        assertEquals(2, logs.size());
        assertEquals(List.of("sh", "-c", "mkdir sub; echo hello; echo warn >&2"), logs.get(0).command());
        assertEquals(0, logs.get(0).exitCode());
        assertEquals("hello\n", logs.get(0).stdout().head());
        assertNull(logs.get(0).stdout().tail());
        assertEquals("warn\n", logs.get(0).stderr().head());
        assertEquals("/workspace", logs.get(0).workdir());
        assertTrue(logs.get(0).durationMs() >= 0);
        assertFalse(logs.get(0).timedOut());
        assertEquals(3, logs.get(1).exitCode());
        assertEquals("/workspace/sub", logs.get(1).workdir());
        assertEquals(3003, logs.get(1).stdout().bytes());
        assertEquals("x".repeat(2048), logs.get(1).stdout().head());
        assertEquals("x".repeat(952) + "END", logs.get(1).stdout().tail());
        assertFalse(logs.get(1).startedAt().isBefore(logs.get(0).startedAt()));
    }
}
