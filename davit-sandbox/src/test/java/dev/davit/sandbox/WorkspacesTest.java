package dev.davit.sandbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.oci.DavitException;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Workspaces over real bwrap sandboxes and a busybox root filesystem. */
class WorkspacesTest {
    @TempDir
    Path tmp;

    Path rootfs;
    Path home;
    Workspaces workspaces;

    @BeforeEach
    void setUp() throws IOException {
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        for (String applet : List.of("rm", "mkdir", "chmod", "ln", "wc", "tr")) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(applet), Path.of("busybox"));
        }
        home = tmp.resolve("home");
        workspaces = Workspaces.under(home);
    }

    @AfterEach
    void cleanUp() {
        for (Workspace w : workspaces.list()) {
            workspaces.rm(w.id());
        }
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
        return workspaces.create(new CreateSpec(rootfs, Map.of(), null, null, null, Duration.ofHours(1)), "w1", seed);
    }

    private String sh(Workspace w, String script) {
        ExecResult r = workspaces.exec(w.id(), List.of("sh", "-c", script), Map.of(), null, Duration.ofSeconds(20),
                null, null, null);
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    @Test
    void seedFromDirectoryExecDiffAndRestart() throws IOException {
        Workspace w = create(seedDir());
        assertEquals("/workspace\nhello\n", sh(w, "pwd; cat README"));
        assertEquals("one\ntwo\nthree\n", sh(w, "cat src/main.txt"));
        assertEquals(4, w.baselineFiles()); // README, gone.txt, src, src/main.txt

        sh(w, "echo new > added.txt; echo TWO > src/main.txt; rm gone.txt; chmod 600 README");
        WorkspaceDiff d = workspaces.diff(w.id());
        Map<String, String> kinds = d.changes().stream()
                .collect(Collectors.toMap(WorkspaceDiff.Change::path, WorkspaceDiff.Change::kind));
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
        assertEquals("TWO\n", new String(later.readFile(w.id(), "src/main.txt", 0).bytes()));
        assertEquals(4, later.diff(w.id()).changes().size());
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
        assertEquals(data.length, workspaces.writeFile(w.id(), "src/bin.dat", new ByteArrayInputStream(data)));
        assertArrayEquals(data, workspaces.readFile(w.id(), "src/bin.dat", 0).bytes());
        assertEquals("70000\n", sh(w, "wc -c < src/bin.dat | tr -d ' '"));
        Workspaces.FileContent head = workspaces.readFile(w.id(), "src/bin.dat", 10);
        assertTrue(head.truncated());
        assertEquals(10, head.bytes().length);
        // the sandbox sees a rewrite at once (through its overlay)
        workspaces.writeFile(w.id(), "README", new ByteArrayInputStream("changed\n".getBytes()));
        assertEquals("changed\n", sh(w, "cat README"));
        assertEquals(List.of("README", "gone.txt", "src"), workspaces.listFiles(w.id(), "", false).stream()
                .map(Workspaces.FileInfo::path).toList());
        assertEquals(List.of("src/bin.dat", "src/main.txt"), workspaces.listFiles(w.id(), "src", true).stream()
                .map(Workspaces.FileInfo::path).toList());
    }

    @Test
    void escapesAreRefusedAndNothingIsWrittenOutside() throws IOException {
        Workspace w = create(seedDir());
        sh(w, "ln -s /etc etc-link; ln -s /etc/passwd passwd-link; mkdir -p sub");
        String passwd = Files.readString(Path.of("/etc/passwd"));
        for (String bad : List.of("../x", "sub/../../x", "/etc/passwd", "etc-link/x", "etc-link/passwd")) {
            DavitException e = assertThrows(DavitException.class,
                    () -> workspaces.writeFile(w.id(), bad, new ByteArrayInputStream("x".getBytes())), bad);
            assertEquals(DavitException.Kind.USAGE, e.kind(), bad);
            assertThrows(DavitException.class, () -> workspaces.readFile(w.id(), bad, 0), bad);
        }
        assertThrows(DavitException.class, () -> workspaces.readFile(w.id(), "passwd-link", 0));
        assertThrows(DavitException.class, () -> workspaces.listFiles(w.id(), "etc-link", false));
        // writing over a link replaces the link, never the file it names
        workspaces.writeFile(w.id(), "passwd-link", new ByteArrayInputStream("mine\n".getBytes()));
        assertEquals("mine\n", sh(w, "cat passwd-link"));
        assertEquals(passwd, Files.readString(Path.of("/etc/passwd")));
        assertFalse(Files.exists(Path.of("/etc/x")));
        assertFalse(Files.exists(home.resolve("workspaces/x")));
        assertEquals("mine\n", sh(w, "cat passwd-link"));
        assertFalse(Files.exists(rootfs.resolve("etc/x")));
    }
}
