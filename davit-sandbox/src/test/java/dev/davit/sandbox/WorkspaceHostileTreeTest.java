package dev.davit.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.fs.Dir;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import dev.davit.sandbox.workspace.Workspaces;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The attacker's review of issue 20's boundary, kept as tests (each failed before its fix): the Java 21 helper's
 * protocol driven out of step by a long path (from an MCP caller, and from names the sandbox makes), a diff patch
 * without bound, long paths kept for every entry, paths past PATH_MAX (diff, rm), a lease that held a read, and a
 * name that is not UTF-8.
 */
class WorkspaceHostileTreeTest extends BwrapWorkspaces {
    private static final String SECRET = "HOST-SECRET-77aa";

    @Override
    List<String> applets() {
        return List.of("rm", "mkdir", "ln", "printf", "seq", "yes", "tr", "dd", "truncate");
    }

    private Workspace create() throws IOException {
        Path seed = Files.createDirectories(tmp.resolve("seed"));
        Files.writeString(seed.resolve("a"), "sandbox\n");
        return workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(rootfs).limits(Limits.NONE).build())
                .seed(seed).build());
    }

    private String sh(Workspace w, String script) {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", script)
                .timeout(Duration.ofSeconds(120)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
        return r.stdoutText();
    }

    /**
     * Java 21 way (davit-exec files): a path of 64 KiB or more is answered "err EINVAL" without its bytes being
     * read; the broker then runs those bytes as requests, and their answers are taken by the JVM as the answers to
     * its next calls. A hostile MCP caller (one workspace_read with a long path) makes the next read return a host
     * file.
     */
    @Test
    void aLongPathNeverPutsTheHelperOutOfStep() throws Exception {
        dev.davit.oci.testkit.Tools.assumeAvailable("gcc");
        Path secret = Files.createDirectories(tmp.resolve("host")).resolve("secret");
        Files.writeString(secret, SECRET + "\n");
        Workspace w = create();
        try (AutoCloseable helper = Dir.throughHelper(Jail.execHelper(workspaces.sandboxes().options()))) {
            // the broker holds ws (4) when it reads this; the opens land on 3, 5, 6, 7
            StringBuilder inj = new StringBuilder();
            inj.append("o -100 0 0 ").append(secret.toString().length()).append("\n").append(secret);      // Q0 ok 3
            inj.append("o -100 0 0 ").append(secret.toString().length()).append("\n").append(secret);      // Q1 ok 5
            inj.append("o -100 0 0 ").append(secret.toString().length()).append("\n").append(secret);      // Q2 ok 6
            inj.append("c 99\n");                                                                          // Q3 ok
            inj.append("o -100 0 0 ").append(secret.toString().length()).append("\n").append(secret);      // Q4 ok 7
            inj.append("s 7\n");                                                                           // Q5 stat
            String pad = "x".repeat(200) + "\n";
            String path = inj.toString();
            while (path.length() < 66000) {
                path += pad;
            }
            String evil = path;
            String first;
            try {
                first = new String(workspaces.files().read(w.id(), evil, 0).bytes(), StandardCharsets.UTF_8);
            } catch (DavitException e) {
                first = e.getMessage();
            }
            String second;
            try {
                second = new String(workspaces.files().read(w.id(), "a", 0).bytes(), StandardCharsets.UTF_8);
            } catch (DavitException e) {
                second = e.getMessage();
            }
            assertFalse(second.contains(SECRET), "workspace read of 'a' returned the host file: " + second);
            assertEquals("sandbox\n", second, "first: " + first);
        }
    }

    /**
     * The patch of a diff has no bound: each text file of up to 4 MiB adds its whole content, and hard links make
     * any number of such files cost the sandbox 4 MiB. 40 links: a 330 MB string in davit's heap; 260 pass the
     * 2^31 limit of a Java string (OutOfMemoryError in the MCP server).
     */
    @Test
    void theDiffPatchIsBounded() throws IOException {
        Workspace w = create();
        sh(w, "head -c 4194303 /dev/zero | tr '\\0' '\\n' > t; for i in $(seq 1 40); do ln t t$i; done");
        long t0 = System.nanoTime();
        String patch = workspaces.files().diff(w.id()).patch();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(patch.length() < (64 << 20), "a diff patch of " + patch.length() + " chars (" + ms + " ms) from"
                + " 4 MiB of sandbox disk");
    }

    private void mktree() throws IOException {
        Path src = Files.createTempFile("davit-mktree", ".c");
        try (java.io.InputStream in = WorkspaceHostileTreeTest.class.getResourceAsStream("mktree.c")) {
            Files.write(src, in.readAllBytes());
        }
        dev.davit.oci.testkit.Tools.run("gcc", "-static", "-O2", "-o", rootfs.resolve("bin/mktree").toString(),
                src.toString());
        Files.deleteIfExists(src);
    }

    /** Makes directories {@code names} (all but the last) one in the other in /workspace, and the last as a file. */
    private void tree(Workspace w, List<String> names, int files) {
        byte[] b = (String.join("\0", names) + "\0").getBytes(StandardCharsets.UTF_8);
        workspaces.files().write(w.id(), "names", new java.io.ByteArrayInputStream(b));
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("mktree", "names", Integer.toString(files))
                .timeout(Duration.ofSeconds(120)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
    }

    private void untree(Workspace w, String top) {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("mktree", "-r", top)
                .timeout(Duration.ofSeconds(120)).build());
        assertEquals(0, r.exitCode(), r.stderrText());
    }

    /** Paths are kept whole for every entry of a walk: 255 levels of 255-byte names make each path 65 KB. */
    @Test
    void aListingOfLongPathsIsBounded() throws IOException {
        mktree();
        Workspace w = create();
        List<String> names = java.util.Collections.nCopies(255, "x".repeat(255));
        tree(w, names, 2000);
        long chars = 0;
        String error = null;
        try {
            for (WorkspaceFiles.FileInfo f : workspaces.files().list(w.id(), "", true)) {
                chars += f.path().length();
            }
        } catch (DavitException e) {
            error = e.getMessage();
        } finally {
            untree(w, names.get(0));
        }
        assertTrue(chars < (64 << 20), "one listing held " + chars + " chars of paths");
        assertTrue(error != null && error.contains("characters of paths") && !error.contains("\n"), error);
    }

    /** Makes a file 20 levels of 255-byte names deep in {@code w} (its path passes PATH_MAX); returns the names. */
    private List<String> pastPathMax(Workspace w) throws IOException {
        mktree();
        List<String> names = new java.util.ArrayList<>(java.util.Collections.nCopies(20, "y".repeat(255)));
        names.add("f");
        tree(w, names, 0);
        return names;
    }

    /** A path longer than PATH_MAX in the tree (20 levels of 255-byte names) made every diff fail. */
    @Test
    void aPathPastPathMaxIsDiffed() throws IOException {
        Workspace w = create();
        List<String> names = pastPathMax(w);
        String r;
        try {
            r = String.valueOf(workspaces.files().diff(w.id()).changes().size());
        } catch (DavitException e) {
            r = e.getMessage();
        } finally {
            untree(w, names.get(0));
        }
        assertTrue(r.matches("\\d+"), r.length() > 300 ? r.substring(0, 150) + "..." + r.substring(r.length() - 150) : r);
    }

    /** The same tree made the sandbox (and its workspace) impossible to remove: rm walked it by paths. */
    @Test
    void aPathPastPathMaxIsRemoved() throws IOException {
        Workspace w = create();
        List<String> names = pastPathMax(w);
        String r = "removed";
        try {
            workspaces.rm(w.id());
        } catch (DavitException e) {
            r = e.getMessage();
        } finally {
            dev.davit.oci.testkit.Tools.run("rm", "-rf", home.toString()); // the test's own temp dir
        }
        assertEquals("removed", r.length() > 300 ? r.substring(0, 300) : r);
    }

    /**
     * Java 21 way, from inside the sandbox alone: a file 257 levels deep (255-byte names, which may hold newlines)
     * has a path of 65555 bytes. diff opens it by its whole path (WorkspaceDiff.open); the broker answers EINVAL
     * without reading it and runs its bytes as requests. The sandbox's names open a host file in the broker and
     * queue the answers the next workspace read takes: the read returns the host file.
     */
    @Test
    void namesTheSandboxMakesNeverPutTheHelperOutOfStep() throws Exception {
        dev.davit.oci.testkit.Tools.assumeAvailable("gcc");
        mktree();
        Path secret = Files.createDirectories(tmp.resolve("host")).resolve("secret");
        Files.writeString(secret, SECRET + "\n");
        Workspace w = create();
        List<String> parents = new java.util.ArrayList<>();
        secret.getParent().forEach(p -> parents.add(p.toString()));
        org.junit.jupiter.api.Assumptions.assumeTrue(parents.size() <= 3, parents.toString());
        String dir = "2162688"; // O_PATH | O_DIRECTORY
        // held by the broker when diff opens the deep file: the baseline (3) and /workspace (4)
        String c1 = "o -100 " + dir + " 0 1\n"; // its path is the "/" after this name: the host's root, fd 5
        StringBuilder c2 = new StringBuilder();
        int fd = 5;
        for (String p : parents) {
            c2.append("o ").append(fd).append(' ').append(dir).append(" 0 ").append(p.length()).append('\n').append(p);
            fd++;
        }
        for (int i = parents.size(); i < 3; i++) {
            c2.append("c 99\n");
        }
        String n = secret.getFileName().toString();
        c2.append("o ").append(fd).append(" 0 0 ").append(n.length()).append('\n').append(n);         // Q4
        c2.append("o ").append(fd).append(" 0 0 ").append(n.length()).append('\n').append(n);         // Q5 ok fd+2
        c2.append("s ").append(fd + 2).append('\n');                                                // Q6 its stat
        assertTrue(c2.length() < 254, c2.toString());
        c2.append("x".repeat(254 - c2.length())).append('\n');
        String pad = "x".repeat(100) + "\n" + "x".repeat(153) + "\n";
        List<String> names = new java.util.ArrayList<>(List.of(c1, c2.toString()));
        while (names.size() < 257) {
            names.add(pad);
        }
        tree(w, names, 0);
        String second;
        try (AutoCloseable helper = Dir.throughHelper(Jail.execHelper(workspaces.sandboxes().options()))) {
            try {
                workspaces.files().diff(w.id()); // what the user does to review the sandbox's work
            } catch (DavitException e) {
                // "cannot read the workspace: ... EINVAL"
            }
            try {
                second = new String(workspaces.files().read(w.id(), "a", 0).bytes(), StandardCharsets.UTF_8);
            } catch (DavitException e) {
                second = e.getMessage();
            }
        }
        untree(w, c1);
        assertFalse(second.contains(SECRET), "after the sandbox's diff, a read of 'a' returned the host file: "
                + second);
        assertEquals("sandbox\n", second);
    }

    /**
     * A write lease taken by the sandbox on its own file makes the host's open for reading wait for the lease break
     * time (45 s by default); no deadline or cancel applies while it waits.
     */
    @Test
    void aLeaseNeverHoldsARead() throws IOException {
        dev.davit.oci.testkit.Tools.assumeAvailable("gcc");
        Path src = Files.createTempFile("davit-leaser", ".c");
        Files.writeString(src, """
                #define _GNU_SOURCE
                #include <fcntl.h>
                #include <signal.h>
                #include <stdio.h>
                #include <unistd.h>
                int main(int c, char **v) {
                    signal(SIGIO, SIG_IGN);
                    int fd = open(v[1], O_RDONLY);
                    if (fd < 0 || fcntl(fd, F_SETLEASE, F_WRLCK) < 0) { perror("lease"); return 1; }
                    printf("leased\\n"); fflush(stdout);
                    for (;;) pause();
                }
                """);
        dev.davit.oci.testkit.Tools.run("gcc", "-static", "-O2", "-o", rootfs.resolve("bin/leaser").toString(),
                src.toString());
        Files.deleteIfExists(src);
        Workspace w = create();
        workspaces.services(w.id()).start("leaser", List.of("leaser", "/workspace/a"), Map.of(), null,
                Duration.ofSeconds(10));
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        long t0 = System.nanoTime();
        String r;
        try {
            r = new String(workspaces.files().read(w.id(), "a", 0).bytes(), StandardCharsets.UTF_8);
        } catch (DavitException e) {
            r = e.getMessage();
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 5000, "a read of a leased file took " + ms + " ms: " + r);
    }

    /**
     * A name that is not UTF-8 (any bytes but '/' and NUL may name a file) did not survive Dir.names() (a String):
     * the entry was skipped as gone, and a reset stayed broken. Now it is refused by name; deletion keeps its bytes.
     */
    @Test
    void aNameThatIsNotUtf8IsRefusedByEveryReadAndDeletedByAReset() throws IOException {
        Workspace w = create();
        sh(w, "mkdir \"$(printf 'h\\377')\"; printf evil > \"$(printf 'h\\377')/payload\"");
        // not silently left out: refused, naming the fix
        for (org.junit.jupiter.api.function.Executable call : List.<org.junit.jupiter.api.function.Executable>of(
                () -> workspaces.files().diff(w.id()), () -> workspaces.files().list(w.id(), "", true),
                () -> workspaces.snapshot(w.id(), "s"), () -> workspaces.files().export(w.id(), tmp.resolve("x"),
                        ""))) {
            DavitException e = org.junit.jupiter.api.Assertions.assertThrows(DavitException.class, call);
            assertEquals(DavitException.Kind.USAGE, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("not UTF-8; rename it"), e.getMessage());
        }
        // and a reset (or rm) deletes it
        workspaces.reset(w.id(), null);
        assertEquals(List.of(), workspaces.files().diff(w.id()).changes());
        sh(w, "mkdir \"$(printf 'h\\377')\"; printf evil > \"$(printf 'h\\377')/payload\"");
        workspaces.rm(w.id());
    }
}
