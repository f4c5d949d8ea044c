package dev.davit.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
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
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The attacker's tests of issue 20 over real bwrap workspaces: a static racer in the sandbox swaps a directory (or a
 * file) with a link to a host directory (or file) for ever with renameat2(RENAME_EXCHANGE) while the host side runs
 * every file operation many times; fifos, sparse files, odd names, and links left where the host will look later.
 * Nothing of the host may ever be read back, listed, diffed, exported or patched in, and nothing written outside.
 */
class WorkspaceRaceTest extends BwrapWorkspaces {
    private static final String SECRET = "HOST-SECRET-4f1d";
    private Path host;

    @Override
    List<String> applets() {
        return List.of("rm", "mkdir", "ln", "mkfifo", "printf", "mv", "truncate", "kill", "stat");
    }

    @BeforeEach
    void buildRacerAndHostFiles() throws IOException {
        Tools.assumeAvailable("gcc");
        Path src = Files.createTempFile("davit-racer", ".c");
        try (InputStream in = WorkspaceRaceTest.class.getResourceAsStream("racer.c")) {
            Files.write(src, in.readAllBytes());
            Tools.run("gcc", "-static", "-O2", "-o", rootfs.resolve("bin/racer").toString(), src.toString());
        } finally {
            Files.deleteIfExists(src);
        }
        // the host's files the racer's links name (absolute host paths: only the host would follow them)
        host = Files.createDirectories(tmp.resolve("host-secrets"));
        Files.writeString(host.resolve("secret"), SECRET + "\n");
        Files.writeString(host.resolve("f"), SECRET + "\n");
    }

    private Workspace create() throws IOException {
        Path seed = Files.createDirectories(tmp.resolve("seed/d"));
        Files.writeString(seed.resolve("secret"), "sandbox\n");
        Files.writeString(seed.resolve("../f"), "sandbox\n");
        return workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).limits(Limits.NONE).build())
                .seed(seed.getParent()).build());
    }

    private String sh(Workspace w, String script) {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", script)
                .timeout(Duration.ofSeconds(20)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    /** Runs the racer on {@code a} and {@code b} in /workspace until the sandbox stops. */
    private void race(Workspace w, String a, String b) {
        workspaces.services(w.id()).start("racer-" + a, List.of("racer", a, b), Map.of(), null, Duration.ofSeconds(10));
    }

    /** Everything a call gave back, or its one-line error; any other failure fails the test. */
    private static String attempt(ThrowingSupplier call) {
        try {
            return String.valueOf(call.get());
        } catch (DavitException e) {
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            return e.getMessage();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private interface ThrowingSupplier {
        Object get() throws IOException;
    }

    private Map<String, String> hostState() throws IOException {
        return WorkspaceFilesTest.treeOf(host);
    }

    @Test
    void aRacingParentDirectoryNeverLeadsAnOperationToTheHost() throws IOException {
        Workspace w = create();
        sh(w, "ln -s " + host + " l");
        Map<String, String> before = hostState();
        race(w, "d", "l");
        Path out = Files.createDirectories(tmp.resolve("out"));
        Path pushed = Files.createDirectories(tmp.resolve("push-src"));
        Files.writeString(pushed.resolve("p.txt"), "pushed\n");
        List<String> seen = new ArrayList<>();
        assertTimeoutPreemptively(Duration.ofSeconds(240), () -> {
            for (int i = 0; i < 30; i++) {
                int n = i;
                seen.add(attempt(() -> new String(workspaces.files().read(w.id(), "d/secret", 0).bytes(),
                        StandardCharsets.UTF_8)));
                seen.add(attempt(() -> workspaces.files().list(w.id(), "d", true)));
                seen.add(attempt(() -> workspaces.files().write(w.id(), "d/new-" + n, new ByteArrayInputStream(
                        "x".getBytes()))));
                seen.add(attempt(() -> workspaces.files().push(w.id(), pushed.resolve("p.txt"), "d/p-" + n)));
                seen.add(attempt(() -> workspaces.files().patch(w.id(), ("--- a/d/secret\n+++ b/d/secret\n@@ -1 +1 @@\n"
                        + "-sandbox\n+patched\n").getBytes())));
                seen.add(attempt(() -> workspaces.files().patch(w.id(),
                        ("--- a/d/secret\n+++ /dev/null\n@@ -1 +0,0 @@\n"
                        + "-sandbox\n").getBytes())));
                seen.add(attempt(() -> WorkspaceJson.diff(workspaces.files().diff(w.id())).toString()));
                seen.add(attempt(() -> {
                    Path to = out.resolve("dir-" + n);
                    workspaces.files().export(w.id(), to, "");
                    return tree(to);
                }));
                seen.add(attempt(() -> {
                    Path to = out.resolve("tar-" + n + ".tar");
                    workspaces.files().export(w.id(), to, "d");
                    return Files.exists(to) ? new String(Files.readAllBytes(to), StandardCharsets.ISO_8859_1) : "";
                }));
                seen.add(attempt(() -> workspaces.snapshot(w.id(), "s" + n)));
                if (i % 10 == 9) {
                    // what the sandbox now holds, as davit reads it: never the host's bytes
                    seen.add(attempt(() -> WorkspaceJson.diff(workspaces.files().diff(w.id(), "s" + n, List.of(), false)).toString()));
                }
            }
        });
        assertEquals(before, hostState(), "a file was created or changed in the host directory");
        for (String s : seen) {
            assertFalse(s.contains(SECRET), s);
        }
        // the snapshots hold only what the sandbox had
        try (Stream<Path> walk = Files.walk(home.resolve("workspaces").resolve(w.id()))) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                assertFalse(Files.readString(p, StandardCharsets.ISO_8859_1).contains(SECRET), p.toString());
            }
        }
        assertFalse(tree(out).contains(SECRET));
    }

    @Test
    void aRacingLastComponentNeverLeadsAnOperationToTheHost() throws IOException {
        Workspace w = create();
        sh(w, "ln -s " + host.resolve("f") + " fl");
        Map<String, String> before = hostState();
        race(w, "f", "fl");
        Path out = Files.createDirectories(tmp.resolve("out"));
        List<String> seen = new ArrayList<>();
        assertTimeoutPreemptively(Duration.ofSeconds(180), () -> {
            for (int i = 0; i < 40; i++) {
                int n = i;
                seen.add(attempt(() -> new String(workspaces.files().read(w.id(), "f", 0).bytes(),
                        StandardCharsets.UTF_8)));
                seen.add(attempt(() -> WorkspaceJson.diff(workspaces.files().diff(w.id())).toString()));
                seen.add(attempt(() -> workspaces.files().patch(w.id(), "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-sandbox\n+p\n"
                        .getBytes())));
                seen.add(attempt(() -> {
                    Path to = out.resolve("f-" + n);
                    workspaces.files().export(w.id(), to, "f");
                    return tree(to);
                }));
            }
        });
        assertEquals(before, hostState());
        for (String s : seen) {
            assertFalse(s.contains(SECRET), s);
        }
        assertFalse(tree(out).contains(SECRET));
    }

    @Test
    void fifosDevicesSparseFilesAndOddNamesReturnPromptlyAndStayBounded() throws IOException {
        Workspace w = create();
        String nl = "a\nb";
        sh(w, "mkfifo p; truncate -s 10G big; printf x > \"$(printf 'a\\nb')\"; printf plain > f2");
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            // a fifo is never opened: refused at once, left out of copies
            DavitException e = org.junit.jupiter.api.Assertions.assertThrows(DavitException.class,
                    () -> workspaces.files().read(w.id(), "p", 0));
            assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
            // a 10 GiB sparse file: no whole read into the heap, no 10 GiB written anywhere
            e = org.junit.jupiter.api.Assertions.assertThrows(DavitException.class,
                    () -> workspaces.files().read(w.id(), "big", 0));
            assertTrue(e.getMessage().contains("more than davit reads at once"), e.getMessage());
            assertEquals(100, workspaces.files().read(w.id(), "big", 100).bytes().length);
            Path out = tmp.resolve("exp");
            WorkspaceFiles.Copied c = workspaces.files().export(w.id(), out, "");
            assertEquals(List.of("p"), c.skipped());
            assertEquals(10L << 30, Files.size(out.resolve("big")));
            assertTrue(allocated(out.resolve("big")) < (1L << 20), "the export's copy is not sparse");
            assertEquals("x", Files.readString(out.resolve(nl)));
            // a tar has no holes: 10 GiB of zeros passes the export limit, refused before anything is written
            e = org.junit.jupiter.api.Assertions.assertThrows(DavitException.class,
                    () -> workspaces.files().export(w.id(), tmp.resolve("big.tar"), ""));
            assertTrue(e.getMessage().contains("the limit of one export"), e.getMessage());
            assertFalse(Files.exists(tmp.resolve("big.tar")));
            WorkspaceDiff d = workspaces.files().diff(w.id());
            assertTrue(d.changes().stream().anyMatch(x -> x.path().equals("big") && x.kind() == WorkspaceDiff.Change.Kind.ADDED));
            assertTrue(d.changes().stream().anyMatch(x -> x.path().equals(nl)));
            assertTrue(d.patch().contains("Files /dev/null and b/big differ"), d.patch());
        });
        // a snapshot with a fifo in the tree is refused (a workspace holds files, directories and links)
        sh(w, "rm p");
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            workspaces.snapshot(w.id(), "sparse");
            Path snap = home.resolve("workspaces").resolve(w.id()).resolve("snapshots/sparse/tree/big");
            assertTrue(allocated(snap) < (1L << 20), "the snapshot's copy is not sparse");
            sh(w, "rm big");
            workspaces.reset(w.id(), "sparse");
            assertEquals("10737418240\n", sh(w, "stat -c %s big"));
            assertTrue(Long.parseLong(sh(w, "stat -c %b big").strip()) < 2048, "the reset's copy is not sparse");
        });
    }

    @Test
    void directoriesNestedDeeperThanTheLimitStopAnOperationWithAnError() throws IOException {
        Workspace w = create();
        sh(w, "i=0; while [ $i -lt 300 ]; do mkdir n; cd n; i=$((i+1)); done; printf deep > f");
        for (ThrowingSupplier call : List.<ThrowingSupplier>of(() -> workspaces.files().diff(w.id()),
                () -> workspaces.snapshot(w.id(), "deep"), () -> workspaces.files().list(w.id(), "", true),
                () -> workspaces.files().export(w.id(), tmp.resolve("deep"), ""),
                () -> workspaces.files().export(w.id(), tmp.resolve("deep.tar"), ""))) {
            String r = attempt(call);
            assertTrue(r.contains("nested more than 256 deep"), r);
        }
        // the tree is still the sandbox's to remove, and then everything works again
        sh(w, "rm -r n");
        assertEquals(List.of(), workspaces.files().diff(w.id()).changes());
    }

    @Test
    void aFifoSwappedInAfterTheCheckNeverHangsARead() throws IOException {
        Workspace w = create();
        sh(w, "mkfifo q");
        race(w, "f", "q");
        List<String> seen = new ArrayList<>();
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            for (int i = 0; i < 100; i++) {
                seen.add(attempt(() -> new String(workspaces.files().read(w.id(), "f", 0).bytes(),
                        StandardCharsets.UTF_8)));
                if (i % 10 == 0) {
                    seen.add(attempt(() -> WorkspaceJson.diff(workspaces.files().diff(w.id())).toString()));
                    seen.add(attempt(() -> workspaces.files().patch(w.id(),
                            "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-sandbox\n+p\n"
                            .getBytes())));
                }
            }
        });
        // a read that got through holds the seed's bytes, or the patch's once one of the patches applied
        assertTrue(seen.stream().anyMatch(s -> s.equals("sandbox\n") || s.equals("p\n")),
                "the racer never let the read through");
    }

    @Test
    void aDeviceNodeInTheWorkspaceIsNeverOpened() throws IOException {
        Workspace w = create();
        workspaces.stop(w.id());
        // what a sandbox could leave in its layer: a character device (made here by the test, on the host)
        Path upper = Machinery.of(workspaces.sandboxes()).filesOnHost(w.sandboxId()).resolve("workspace");
        Tools.run("mknod", upper.resolve("zero").toString(), "c", "1", "5");
        workspaces.start(w.id());
        DavitException e = org.junit.jupiter.api.Assertions.assertThrows(DavitException.class,
                () -> workspaces.files().read(w.id(), "zero", 0));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
        assertEquals(List.of("zero"), workspaces.files().export(w.id(), tmp.resolve("exp"), "").skipped());
    }

    @Test
    void aResetNeverLinksAHostInodeIntoTheWorkspace() throws IOException {
        Workspace w = create();
        workspaces.snapshot(w.id(), "s");
        // the sandbox replaces d (in the snapshot: d/secret = "sandbox\n") with a link to a host directory whose
        // secret has the same bytes and mode: a reset that reused files through the link would hard-link it
        Path twin = Files.createDirectories(tmp.resolve("twin"));
        Files.writeString(twin.resolve("secret"), "sandbox\n");
        Files.setPosixFilePermissions(twin.resolve("secret"), Files.getPosixFilePermissions(
                home.resolve("workspaces").resolve(w.id()).resolve("snapshots/s/tree/d/secret")));
        sh(w, "rm -r d; ln -s " + twin + " d");
        workspaces.reset(w.id(), "s");
        Path live = Machinery.of(workspaces.sandboxes()).filesOnHost(w.sandboxId()).resolve("workspace/d/secret");
        assertNotEquals(Files.getAttribute(twin.resolve("secret"), "unix:ino"),
                Files.getAttribute(live, "unix:ino", LinkOption.NOFOLLOW_LINKS));
        sh(w, "printf more >> d/secret");
        assertEquals("sandbox\n", Files.readString(twin.resolve("secret")));
    }

    @Test
    void aLinkLeftWhereAMountPointWillBeMadeCreatesNothingOnTheHost() throws IOException {
        dev.davit.oci.internal.Fs.deleteTree(rootfs.resolve("var"));
        Workspace w = create();
        assertTrue(Files.isDirectory(Machinery.of(workspaces.sandboxes()).filesOnHost(w.sandboxId())
                .resolve("var/tmp")));
        workspaces.stop(w.id());
        // the rootfs has no /var: the sandbox's layer got var/tmp as a mount point; the sandbox moved var away and
        // left a link to a host directory in its place
        Path upper = Machinery.of(workspaces.sandboxes()).filesOnHost(w.sandboxId());
        Path target = Files.createDirectories(tmp.resolve("mount-target"));
        if (Files.exists(upper.resolve("var"), LinkOption.NOFOLLOW_LINKS)) {
            dev.davit.oci.internal.Fs.deleteTree(upper.resolve("var"));
        }
        Files.createSymbolicLink(upper.resolve("var"), target);
        attempt(() -> workspaces.start(w.id()));
        attempt(() -> workspaces.reset(w.id(), null));
        try (Stream<Path> s = Files.list(target)) {
            assertEquals(List.of(), s.toList(), "davit created something in a host directory");
        }
    }

    @Test
    void aWorkspaceReplacedByALinkIsRefusedByEveryFileOperation() throws IOException {
        Workspace w = create();
        sh(w, "cd / && mv workspace w.old && ln -s " + host + " /workspace");
        for (ThrowingSupplier call : List.<ThrowingSupplier>of(
                () -> workspaces.files().read(w.id(), "secret", 0),
                () -> workspaces.files().list(w.id(), "", true),
                () -> workspaces.files().write(w.id(), "x", new ByteArrayInputStream("x".getBytes())),
                () -> workspaces.files().diff(w.id()),
                () -> workspaces.files().export(w.id(), tmp.resolve("exp"), ""),
                () -> workspaces.snapshot(w.id(), "s"))) {
            String r = attempt(call);
            assertTrue(r.contains("/workspace is no longer a directory"), r);
        }
        assertEquals(List.of("f", "secret"), Files.list(host).map(p -> p.getFileName().toString()).sorted().toList());
        // a reset brings a directory back
        workspaces.reset(w.id(), null);
        assertEquals("sandbox\n", new String(workspaces.files().read(w.id(), "d/secret", 0).bytes()));
    }

    private static long allocated(Path p) throws IOException {
        String out = Tools.run("stat", "-c", "%b %B", p.toString()).strip();
        String[] parts = out.split(" ");
        return Long.parseLong(parts[0]) * Long.parseLong(parts[1]);
    }

    private static String tree(Path top) throws IOException {
        if (!Files.exists(top, LinkOption.NOFOLLOW_LINKS)) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        try (Stream<Path> walk = Files.walk(top)) {
            for (Path p : walk.toList()) {
                b.append(p).append('\n');
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    b.append(Files.readString(p, StandardCharsets.ISO_8859_1));
                }
            }
        }
        return b.toString();
    }
}
