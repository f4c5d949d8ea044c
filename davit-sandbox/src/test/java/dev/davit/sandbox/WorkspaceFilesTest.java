package dev.davit.sandbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.sandbox.backend.Machinery;
import dev.davit.oci.DavitException;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;

/** Workspace push, export, patch, file write, reap and escapes, over real bwrap sandboxes. */
class WorkspaceFilesTest extends BwrapWorkspaces {
    @Override
    List<String> applets() {
        return List.of("rm", "mkdir", "chmod", "ln", "mkfifo", "printf");
    }

    private Workspace create(Path seed, Duration ttl) {
        return workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).ttl(ttl).limits(Limits.NONE).build())
                .seed(seed).build());
    }

    private Path seedDir() throws IOException {
        Path seed = tmp.resolve("seed");
        Files.createDirectories(seed.resolve("src"));
        Files.writeString(seed.resolve("README"), "hello\n");
        Files.writeString(seed.resolve("src/main.txt"), lines(1, 30));
        Files.writeString(seed.resolve("gone.txt"), "bye\n");
        Files.writeString(seed.resolve("tail.txt"), "no newline");
        return seed;
    }

    private static String lines(int from, int to) {
        StringBuilder b = new StringBuilder();
        for (int i = from; i <= to; i++) {
            b.append("line ").append(i).append('\n');
        }
        return b.toString();
    }

    private String sh(Workspace w, String script) {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", script)
                .timeout(Duration.ofSeconds(20)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    /** path -> type, mode bits (setuid included), content digest or link target of every entry under {@code top}. */
    static Map<String, String> treeOf(Path top) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(top)) {
            for (Path p : walk.toList()) {
                String kind = Files.isSymbolicLink(p) ? "link " + Files.readSymbolicLink(p)
                        : Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "dir"
                        : "file " + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                                .digest(Files.readAllBytes(p)));
                int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
                out.put(top.relativize(p).toString(), kind + (Files.isSymbolicLink(p) ? ""
                        : String.format(" %05o", mode & 07777)));
            }
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    private Path live(Workspace w) {
        return Machinery.of(workspaces.sandboxes()).filesOnHost(w.sandboxId()).resolve("workspace");
    }

    private Path hostTree() throws IOException {
        Path dir = tmp.resolve("host-tree");
        Files.createDirectories(dir.resolve("nested/deeper"));
        Files.createDirectories(dir.resolve("empty"));
        byte[] bin = new byte[100_000];
        for (int i = 0; i < bin.length; i++) {
            bin[i] = (byte) (i * 7 + 3);
        }
        Files.write(dir.resolve("nested/deeper/blob.bin"), bin);
        Files.setPosixFilePermissions(dir.resolve("nested/deeper/blob.bin"), PosixFilePermissions.fromString(
                "rwxr-x---"));
        Files.writeString(dir.resolve("secret.txt"), "s\n");
        Files.setPosixFilePermissions(dir.resolve("secret.txt"), PosixFilePermissions.fromString("rw-------"));
        Files.createSymbolicLink(dir.resolve("link"), Path.of("nested/deeper/blob.bin"));
        Files.setPosixFilePermissions(dir.resolve("empty"), PosixFilePermissions.fromString("rwx--x---"));
        return dir;
    }

    @Test
    void pushThenExportIsByteIdenticalToADirectoryAndToATar() throws IOException {
        Workspace w = create(null, null);
        Path src = hostTree();
        WorkspaceFiles.Copied pushed = workspaces.files().push(w.id(), src, "proj/in");
        assertEquals("proj/in", pushed.path());
        assertEquals(7, pushed.files()); // the top, nested, deeper, blob.bin, empty, secret.txt, link
        assertEquals(100_002, pushed.bytes());
        assertEquals("100000\n", sh(w, "cat proj/in/link | wc -c | tr -d ' '"));
        assertEquals(treeOf(src), treeOf(live(w).resolve("proj/in")));

        Path out = tmp.resolve("out");
        WorkspaceFiles.Copied exported = workspaces.files().export(w.id(), out, "proj/in");
        assertEquals(treeOf(src), treeOf(out));
        assertEquals(6, exported.files());
        assertEquals(List.of(), exported.skipped());
        // the default DEST is the name at the top; pushing again replaces it
        Files.writeString(src.resolve("secret.txt"), "changed\n");
        assertEquals("host-tree", workspaces.files().push(w.id(), src, null).path());
        assertEquals("changed\n", sh(w, "cat host-tree/secret.txt"));
        WorkspaceFiles.Copied one = workspaces.files().push(w.id(), src.resolve("secret.txt"), null);
        assertEquals(1, one.files());
        assertEquals("changed\n", new String(workspaces.files().read(w.id(), "secret.txt", 0).bytes()));

        // an empty directory may be the destination; a non-empty one may not
        Path empty = Files.createDirectory(tmp.resolve("empty-dest"));
        workspaces.files().export(w.id(), empty, "proj/in/nested/deeper/blob.bin");
        assertArrayEquals(Files.readAllBytes(src.resolve("nested/deeper/blob.bin")),
                Files.readAllBytes(empty.resolve("blob.bin")));
        DavitException full = assertThrows(DavitException.class, () -> workspaces.files().export(w.id(), out, null));
        assertEquals(DavitException.Kind.USAGE, full.kind());
        assertTrue(full.getMessage().contains("not an empty directory"), full.getMessage());

        // setuid bits and fifos made inside do not reach the host
        sh(w, "chmod 4755 proj/in/nested/deeper/blob.bin; mkfifo proj/in/fifo");
        Path tar = tmp.resolve("ws.tar");
        WorkspaceFiles.Copied t = workspaces.files().export(w.id(), tar, "proj/in");
        assertEquals(List.of("fifo"), t.skipped());
        Map<String, String> fromTar = new TreeMap<>();
        try (InputStream in = Files.newInputStream(tar); TarArchiveInputStream ti = new TarArchiveInputStream(in)) {
            for (TarArchiveEntry e = ti.getNextEntry(); e != null; e = ti.getNextEntry()) {
                String kind = e.isSymbolicLink() ? "link " + e.getLinkName() : e.isDirectory() ? "dir" : "file "
                        + HexFormat.of().formatHex(sha256(ti.readAllBytes()));
                fromTar.put(e.getName().replaceAll("/$", ""), kind + (e.isSymbolicLink() ? ""
                        : String.format(" %05o", e.getMode() & 07777)));
                assertEquals(0, e.getLongUserId());
            }
        }
        Map<String, String> expected = new TreeMap<>(treeOf(src));
        expected.remove("");
        expected.put("secret.txt", "file " + HexFormat.of().formatHex(sha256("s\n".getBytes())) + " 00600");
        // 4755 inside; the setuid bit is dropped
        expected.put("nested/deeper/blob.bin", expected.get("nested/deeper/blob.bin").replace("00750", "00755"));
        assertEquals(expected, fromTar);
        assertFalse(Files.exists(tmp.resolve("ws.tar.tmp")));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".")).toList());
        }
        DavitException again = assertThrows(DavitException.class, () -> workspaces.files().export(w.id(), tar, null));
        assertTrue(again.getMessage().contains("already exists"), again.getMessage());
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void fileWriteCreatesMissingParents() throws IOException {
        Workspace w = create(null, null);
        workspaces.files().write(w.id(), "a/b/c.txt", new ByteArrayInputStream("deep\n".getBytes()));
        assertEquals("deep\n", sh(w, "cat a/b/c.txt"));
        assertEquals("dir 00755", treeOf(live(w)).get("a/b"));
        assertEquals("file " + HexFormat.of().formatHex(sha256("deep\n".getBytes())) + " 00644",
                treeOf(live(w)).get("a/b/c.txt"));
        DavitException e = assertThrows(DavitException.class,
                () -> workspaces.files().write(w.id(), "a/b/c.txt/d", new ByteArrayInputStream(new byte[0])));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());
    }

    @Test
    void aFileIsReadInPagesFromAnOffset() throws IOException {
        Workspace w = create(null, null);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            text.append(i).append('\n');
        }
        workspaces.files().write(w.id(), "n.txt", new ByteArrayInputStream(bytes(text.toString())));
        StringBuilder read = new StringBuilder();
        long off = 0;
        int pages = 0;
        while (true) {
            WorkspaceFiles.FileContent c = workspaces.files().read(w.id(), "n.txt", off, 1000);
            assertEquals(off, c.offset());
            assertEquals(text.length(), c.size());
            read.append(new String(c.bytes(), StandardCharsets.UTF_8));
            pages++;
            assertEquals(off + c.bytes().length, c.end());
            off = c.end();
            assertEquals(off < text.length(), c.truncated());
            if (!c.truncated()) {
                break;
            }
        }
        assertEquals(text.toString(), read.toString());
        assertEquals(4, pages); // 3890 bytes in pages of 1000
        WorkspaceFiles.FileContent past = workspaces.files().read(w.id(), "n.txt", 10_000, 10);
        assertEquals(0, past.bytes().length);
        assertFalse(past.truncated());
        assertEquals("999\n", new String(workspaces.files().read(w.id(), "n.txt", text.length() - 4, 0).bytes(),
                StandardCharsets.UTF_8));
        assertThrows(DavitException.class, () -> workspaces.files().read(w.id(), "n.txt", -1, 10));
    }

    @Test
    void aDiffIsNarrowedToPathsAndItsPatchPaged() throws IOException {
        Workspace w = create(null, null);
        for (String f : List.of("a/one.txt", "a/two.txt", "b/three.txt", "ab.txt")) {
            workspaces.files().write(w.id(), f, new ByteArrayInputStream(bytes("line\n".repeat(200))));
        }
        WorkspaceDiff all = workspaces.files().diff(w.id());
        WorkspaceDiff a = workspaces.files().diff(w.id(), null, List.of("a"), true);
        assertEquals(List.of("a", "a/one.txt", "a/two.txt"), a.changes().stream().map(WorkspaceDiff.Change::path)
                .toList());
        assertTrue(a.patch().contains("one.txt") && !a.patch().contains("three.txt") && !a.patch().contains("ab.txt"),
                a.patch());
        assertEquals(List.of("ab.txt", "b/three.txt"), workspaces.files().diff(w.id(), null, List.of("ab.txt",
                "./b/three.txt"), true)
                .changes().stream().map(WorkspaceDiff.Change::path).toList());
        assertThrows(DavitException.class, () -> workspaces.files().diff(w.id(), null, List.of("../x"), true));
        StringBuilder pages = new StringBuilder();
        long off = 0;
        while (true) {
            WorkspaceDiff.PatchPage p = all.page(off, 1000);
            assertTrue(p.text().length() <= 1000 && (p.text().isEmpty() || p.text().endsWith("\n")), p.text());
            pages.append(p.text());
            off = p.next();
            if (!p.more()) {
                break;
            }
        }
        assertEquals(all.patch(), pages.toString());
        assertTrue(all.patch().length() > 3000);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void patchAppliesMultiFileChangesAllOrNothing() throws IOException {
        Workspace w = create(seedDir(), null);
        String patch = """
                diff --git a/src/main.txt b/src/main.txt
                index 1111111..2222222 100644
                --- a/src/main.txt
                +++ b/src/main.txt
                @@ -2,3 +2,3 @@
                 line 2
                -line 3
                +line three
                 line 4
                @@ -25,3 +25,4 @@
                 line 25
                 line 26
                +line 26.5
                 line 27
                --- /dev/null
                +++ b/new/dir/file.txt
                @@ -0,0 +1,2 @@
                +fresh
                +file
                --- a/gone.txt\t2024-01-01 00:00:00.000000000 +0000
                +++ /dev/null\t2024-01-01 00:00:00.000000000 +0000
                @@ -1 +0,0 @@
                -bye
                --- tail.txt
                +++ tail.txt
                @@ -1 +1 @@
                -no newline
                \\ No newline at end of file
                +now a newline
                """;
        Map<String, String> changed = workspaces.files().patch(w.id(), bytes(patch));
        assertEquals(Map.of("src/main.txt", "modified", "new/dir/file.txt", "added", "gone.txt", "deleted",
                "tail.txt", "modified"), changed);
        assertEquals(lines(1, 2) + "line three\n" + lines(4, 26) + "line 26.5\n" + lines(27, 30),
                sh(w, "cat src/main.txt"));
        assertEquals("fresh\nfile\n", sh(w, "cat new/dir/file.txt"));
        assertEquals("now a newline\n", sh(w, "cat tail.txt"));
        assertFalse(Files.exists(live(w).resolve("gone.txt")));

        // a hunk that does not match: the error names it, and nothing (not even the good first file) is written
        Map<String, String> before = treeOf(live(w));
        String bad = """
                --- a/README
                +++ b/README
                @@ -1 +1 @@
                -hello
                +HELLO
                --- a/src/main.txt
                +++ b/src/main.txt
                @@ -1,2 +1,2 @@
                 line 1
                -line 2
                +line two
                @@ -10,3 +10,3 @@
                 line 10
                -line 11 (not there)
                +line eleven
                 line 12
                """;
        DavitException e = assertThrows(DavitException.class, () -> workspaces.files().patch(w.id(), bytes(bad)));
        assertEquals(DavitException.Kind.STATE, e.kind()); // the patch is well formed: the tree does not fit it
        assertTrue(e.getMessage().contains("hunk 2 of src/main.txt (@@ -10,3 +10,3 @@) does not match"),
                e.getMessage());
        assertEquals(before, treeOf(live(w)));
        // adding a file that exists, deleting a missing one, garbage: refused, nothing written
        for (String p : List.of("--- /dev/null\n+++ b/README\n@@ -0,0 +1 @@\n+x\n",
                "--- a/missing\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n")) { // well formed, but not for this tree
            assertEquals(DavitException.Kind.STATE, assertThrows(DavitException.class,
                    () -> workspaces.files().patch(w.id(), bytes(p)), p).kind());
        }
        for (String p : List.of("not a patch\n", "--- a/README\n+++ b/README\n@@ -1 +1 @@\n-hello\n")) {
            assertEquals(DavitException.Kind.USAGE, assertThrows(DavitException.class,
                    () -> workspaces.files().patch(w.id(), bytes(p)), p).kind());
        }
        assertEquals(before, treeOf(live(w)));
        // an offset: the hunk moved down since the patch was made
        sh(w, "{ echo top; cat src/main.txt; } > x.txt; cat x.txt > src/main.txt; rm x.txt");
        workspaces.files().patch(w.id(),
                bytes("--- a/src/main.txt\n+++ b/src/main.txt\n@@ -1,2 +1,2 @@\n line 1\n-line 2\n"
                + "+line two\n"));
        assertTrue(sh(w, "cat src/main.txt").startsWith("top\nline 1\nline two\nline three\n"));
    }

    @Test
    void davitsOwnDiffRoundTripsThroughResetAndPatch() throws IOException {
        Workspace w = create(seedDir(), null);
        sh(w, "printf 'line 1\\nline 2 changed\\n' > src/main.txt; rm gone.txt; mkdir -p added/sub;"
                + " printf 'a\\nb' > added/sub/new.txt; printf 'no newline, still' > tail.txt;"
                + " printf 'hello\\nworld\\n' > README");
        Map<String, String> edited = treeOf(live(w));
        String patch = workspaces.files().diff(w.id()).patch();
        workspaces.reset(w.id(), null);
        assertTrue(workspaces.files().diff(w.id()).changes().isEmpty());
        workspaces.files().patch(w.id(), bytes(patch));
        assertEquals(edited, treeOf(live(w)));
        assertEquals(patch, workspaces.files().diff(w.id()).patch());
    }

    @Test
    void reapRemovesExpiredWorkspacesAndThoseWhoseSandboxIsGoneAndSandboxReapLeavesThemAlone()
            throws InterruptedException {
        Workspace expiring = create(null, Duration.ofMillis(500));
        Workspace kept = create(null, null);
        Workspace orphan = create(null, null);
        workspaces.sandboxes().rm(orphan.sandboxId());
        Thread.sleep(800);
        // the sandbox's own ttl has passed too, but a reap that knows the workspaces leaves it alone
        assertEquals(List.of(), workspaces.sandboxes().reap(workspaces.sandboxIds()));
        assertEquals(SandboxStatus.RUNNING, workspaces.sandbox(expiring.id()).status());

        List<Workspaces.Reaped> reaped = Workspaces.under(home).reap();
        assertEquals(Map.of(expiring.id(), "expired", orphan.id(), "sandbox gone"), reaped.stream().collect(
                java.util.stream.Collectors.toMap(Workspaces.Reaped::id, Workspaces.Reaped::reason)));
        assertEquals(List.of(kept.id()), workspaces.list().stream().map(Workspace::id).toList());
        assertThrows(DavitException.class, () -> workspaces.sandboxes().status(expiring.sandboxId()));
        assertFalse(Files.exists(home.resolve("workspaces").resolve(expiring.id())));
        assertEquals(List.of(), workspaces.reap());
    }

    @Test
    void escapesAreRefusedOnEveryPathArgumentAndNothingIsWrittenOutside() throws IOException {
        Workspace w = create(seedDir(), null);
        Path marker = Files.createDirectories(tmp.resolve("marker"));
        Files.writeString(marker.resolve("keep"), "k\n");
        sh(w, "ln -s /etc evil; ln -s / root; ln -s " + marker + " marker; mkdir -p sub");
        String etcBefore = sh(w, "ls -la /etc");
        Map<String, String> markerBefore = treeOf(marker);
        Path host = hostTree();
        List<String> bad = List.of("../x", "sub/../../x", "/etc/x", marker + "/x", "evil/x", "root/etc/x",
                "root" + marker + "/x", "marker/x", "sub/../evil/x");
        for (String p : bad) {
            assertRefused(() -> workspaces.files().write(w.id(), p, new ByteArrayInputStream(bytes("x"))), p);
            assertRefused(() -> workspaces.files().read(w.id(), p, 0), p);
            assertRefused(() -> workspaces.files().list(w.id(), p, true), p);
            assertRefused(() -> workspaces.files().push(w.id(), host, p), p);
            assertRefused(() -> workspaces.files().export(w.id(), tmp.resolve("exp-" + p.hashCode()), p), p);
            String target = p.startsWith("/") ? p : "b/" + p;
            assertRefused(() -> workspaces.files().patch(w.id(), bytes("--- /dev/null\n+++ " + target
                    + "\n@@ -0,0 +1 @@\n+x\n")), p);
            assertRefused(() -> workspaces.files().patch(w.id(), bytes("--- " + target.replaceFirst("^b/",
                    "a/") + "\n+++ "
                    + target + "\n@@ -1 +1 @@\n-k\n+x\n")), p);
        }
        // the links themselves: never followed for reading, listing, exporting or patching
        for (String link : List.of("evil", "root", "marker")) {
            assertRefused(() -> workspaces.files().read(w.id(), link, 0), link);
            assertRefused(() -> workspaces.files().list(w.id(), link, false), link);
            assertRefused(() -> workspaces.files().export(w.id(), tmp.resolve("exp-" + link), link), link);
            assertRefused(() -> workspaces.files().patch(w.id(), bytes("--- a/" + link + "/keep\n+++ b/" + link
                    + "/keep\n@@ -1 +1 @@\n-k\n+x\n")), link);
        }
        // pushing onto a link replaces the link, never writes through it
        workspaces.files().push(w.id(), host, "marker");
        assertTrue(Files.isDirectory(live(w).resolve("marker"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(markerBefore, treeOf(marker));
        assertEquals(etcBefore, sh(w, "ls -la /etc"));
        assertFalse(Files.exists(Path.of("/etc/x")));
        assertFalse(Files.exists(tmp.resolve("x")));
        assertFalse(Files.exists(home.resolve("workspaces/x")));
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("exp-")
                    || n.startsWith(".")).toList());
        }
    }

    private static void assertRefused(org.junit.jupiter.api.function.Executable call, String what) {
        DavitException e = assertThrows(DavitException.class, call, what);
        assertEquals(DavitException.Kind.USAGE, e.kind(), what + ": " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
