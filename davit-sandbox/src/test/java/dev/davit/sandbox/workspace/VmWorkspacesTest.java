package dev.davit.sandbox.workspace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.VmTestEnvironment;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workspaces on the vm backend: one microVM (real QEMU, TCG here) seeded from a directory and shared by the tests,
 * which run in order; the last one removes it and seeds a second from a tar.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VmWorkspacesTest {
    static final String LONG = "a-directory-name-long-enough-that-the-path-needs-more-than-one-hundred-bytes/"
            + "and-a-file-name-that-is-long-as-well.txt";

    Path tmp;
    Path env;
    Workspaces workspaces;
    Workspace w;

    @BeforeAll
    void create(@TempDir Path dir) throws IOException {
        tmp = dir;
        env = VmTestEnvironment.get();
        workspaces = Workspaces.under(tmp.resolve("home"));
        Path seed = tmp.resolve("seed");
        Files.createDirectories(seed.resolve("src"));
        Files.writeString(seed.resolve("README"), "hello\n");
        Files.writeString(seed.resolve("src/main.txt"), "one\ntwo\nthree\n");
        Files.writeString(seed.resolve("gone.txt"), "bye\n");
        Files.write(seed.resolve("bin.dat"), allBytes());
        Files.writeString(seed.resolve("secret"), "s\n");
        Files.setPosixFilePermissions(seed.resolve("secret"), PosixFilePermissions.fromString("rw-------"));
        Files.createDirectories(seed.resolve(LONG).getParent());
        Files.writeString(seed.resolve(LONG), "long\n");
        Files.createSymbolicLink(seed.resolve("link"), Path.of("src/main.txt"));
        long t0 = System.nanoTime();
        w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(env).ttl(Duration.ofHours(1)).backend("vm")
                .vcpus(1).memoryMiB(256).build()).name("vm1").seed(seed).build());
        System.out.println("vm workspace create (boot + seed): " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertThat(w.baselineFiles()).isEqualTo(9);
    }

    @AfterAll
    void cleanUp() {
        if (workspaces != null) {
            for (Workspace x : workspaces.list()) {
                workspaces.rm(x.id());
            }
            assertThat(workspaces.sandboxes().list()).isEmpty();
        }
    }

    private static byte[] allBytes() {
        byte[] b = new byte[256 * 4];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) i;
        }
        return b;
    }

    private String sh(String script) {
        ExecResult r = workspaces.execs().run(w.id(), ExecRequest.builder("sh", "-c", script)
                .timeout(Duration.ofSeconds(60)).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    @Test
    @Order(1)
    void execSeesTheSeedInWorkspaceOwnedByRootWithItsModes() {
        assertThat(sh("pwd; cat README src/main.txt")).isEqualTo("/workspace\nhello\none\ntwo\nthree\n");
        assertThat(sh("stat -c '%a %u:%g %n' secret README src . ; readlink link; cat '" + LONG + "'"))
                .isEqualTo("600 0:0 secret\n644 0:0 README\n755 0:0 src\n755 0:0 .\nsrc/main.txt\nlong\n");
        assertThat(workspaces.files().read(w.id(), "bin.dat", 0).bytes()).isEqualTo(allBytes());
        assertThat(sh("ls -a /; ls -a /.davit")).doesNotContain("workspace.new", "workspace.old", "stage");
    }

    @Test
    @Order(2)
    void fileWriteAndReadRoundTripBinary() {
        byte[] data = new byte[3 << 20];
        new Random(7).nextBytes(data);
        long t0 = System.nanoTime();
        assertThat(workspaces.files().write(w.id(), "new/dir/blob.bin", new ByteArrayInputStream(data)))
                .isEqualTo(data.length);
        long t1 = System.nanoTime();
        WorkspaceFiles.FileContent back = workspaces.files().read(w.id(), "new/dir/blob.bin", 0);
        System.out.println("vm workspace 3 MiB write: " + (t1 - t0) / 1_000_000 + " ms, read: "
                + (System.nanoTime() - t1) / 1_000_000 + " ms");
        assertThat(back.bytes()).isEqualTo(data);
        assertThat(back.truncated()).isFalse();
        WorkspaceFiles.FileContent head = workspaces.files().read(w.id(), "new/dir/blob.bin", 10);
        assertThat(head.bytes()).isEqualTo(java.util.Arrays.copyOf(data, 10));
        assertThat(head.size()).isEqualTo(data.length);
        assertThat(head.truncated()).isTrue();
        // pages from an offset (the agent reads from the start: within the file's first 64 MiB)
        WorkspaceFiles.FileContent page = workspaces.files().read(w.id(), "new/dir/blob.bin", 1000, 10);
        assertThat(page.bytes()).isEqualTo(java.util.Arrays.copyOfRange(data, 1000, 1010));
        assertThat(page.truncated()).isTrue();
        assertThat(page.end()).isEqualTo(1010);
        WorkspaceFiles.FileContent last = workspaces.files().read(w.id(), "new/dir/blob.bin", data.length - 5, 10);
        assertThat(last.bytes()).isEqualTo(java.util.Arrays.copyOfRange(data, data.length - 5, data.length));
        assertThat(last.truncated()).isFalse();
        assertThat(last.end()).isEqualTo(data.length);
        assertThatThrownBy(() -> workspaces.files().read(w.id(), "new/dir/blob.bin", 1000, 0))
                .isInstanceOf(DavitException.class).hasMessageContaining("first 64 MiB");
        assertThat(sh("stat -c '%a %s' new/dir/blob.bin; stat -c %a new/dir")).isEqualTo("644 " + data.length
                + "\n755\n");
        workspaces.files().write(w.id(), "README", new ByteArrayInputStream("hello again\n".getBytes()));
        assertThat(sh("cat README")).isEqualTo("hello again\n");
        assertThatThrownBy(() -> workspaces.files().write(w.id(), "src", new ByteArrayInputStream(new byte[1])))
                .isInstanceOf(DavitException.class).hasMessageContaining("is a directory");
        assertThat(sh("cat src/main.txt")).isEqualTo("one\ntwo\nthree\n");
        assertThatThrownBy(() -> workspaces.files().read(w.id(), "missing", 0)).isInstanceOf(DavitException.class)
                .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.NOT_FOUND);
    }

    @Test
    @Order(3)
    void diffAfterEditsAndListing() {
        sh("echo new > added.txt; echo TWO > src/main.txt; rm gone.txt; chmod 600 bin.dat");
        WorkspaceDiff d = workspaces.files().diff(w.id());
        Map<String, String> kinds = d.changes().stream()
                .collect(Collectors.toMap(WorkspaceDiff.Change::path, c -> c.kind().toString()));
        assertThat(kinds).containsEntry("added.txt", "added").containsEntry("src/main.txt", "modified")
                .containsEntry("gone.txt", "deleted").containsEntry("bin.dat", "mode")
                .containsEntry("README", "modified").containsEntry("new/dir/blob.bin", "added");
        assertThat(d.patch()).contains("-one\n-two\n-three\n+TWO\n");
        assertThat(workspaces.files().list(w.id(), "src", false)).extracting(WorkspaceFiles.FileInfo::path)
                .containsExactly("src/main.txt");
        assertThat(workspaces.files().list(w.id(), "", false)).extracting(WorkspaceFiles.FileInfo::path)
                .contains("link", "secret", "new").doesNotContain("gone.txt");
    }

    @Test
    @Order(4)
    void snapshotChangeResetRestoresByteIdenticalContent() {
        sh("dd if=/dev/urandom of=big.bin bs=1M count=20 2>/dev/null");
        String before = sh("find . | sort | xargs sha256sum 2>/dev/null; find . | sort | xargs stat -c '%a %n'");
        long t0 = System.nanoTime();
        workspaces.snapshot(w.id(), "s1");
        long t1 = System.nanoTime();
        System.out.println("vm workspace snapshot of 20 MiB: " + (t1 - t0) / 1_000_000 + " ms");
        sh("rm -r src big.bin; echo changed > README; mkdir extra; echo x > extra/y; chmod 700 secret");
        assertThat(workspaces.files().diff(w.id(), "s1", List.of(), false).changes()).isNotEmpty();
        long t2 = System.nanoTime();
        workspaces.reset(w.id(), "s1");
        System.out.println("vm workspace reset to 20 MiB: " + (System.nanoTime() - t2) / 1_000_000 + " ms");
        assertThat(sh("find . | sort | xargs sha256sum 2>/dev/null; find . | sort | xargs stat -c '%a %n'"))
                .isEqualTo(before);
        assertThat(workspaces.files().diff(w.id(), "s1", List.of(), false).changes()).isEmpty();
        assertThat(sh("ls -a /")).doesNotContain("workspace.new", "workspace.old");
        workspaces.reset(w.id(), null);
        assertThat(workspaces.files().diff(w.id()).changes()).isEmpty();
        assertThat(sh("cat README; ls")).startsWith("hello\n").doesNotContain("big.bin");
    }

    @Test
    @Order(5)
    void escapesAreRefusedAndNothingIsWrittenOutside() {
        sh("echo orig > /tmp/t; ln -s /tmp out; ln -s /tmp/t outfile; mkdir -p d; ln -s ../../tmp d/up");
        for (String p : List.of("../tmp/t", "/tmp/t", "out/t", "outfile", "d/up/t")) {
            assertThatThrownBy(() -> workspaces.files().read(w.id(), p, 0)).as(p).isInstanceOf(DavitException.class)
                    .extracting(e -> ((DavitException) e).kind()).isEqualTo(DavitException.Kind.USAGE);
        }
        for (String p : List.of("../x", "/etc/x", "out/x", "d/up/x")) {
            assertThatThrownBy(() -> workspaces.files().write(w.id(), p, new ByteArrayInputStream(new byte[] {1})))
                    .as(p).isInstanceOf(DavitException.class);
        }
        assertThat(sh("[ ! -e /etc/x ] && [ ! -e /x ] && [ ! -e /tmp/x ] && echo none")).isEqualTo("none\n");
        // writing at a link's path replaces the link, never follows it
        workspaces.files().write(w.id(), "outfile", new ByteArrayInputStream("mine\n".getBytes()));
        assertThat(sh("cat /tmp/t")).isEqualTo("orig\n");
        assertThat(sh("[ -L outfile ] || cat outfile")).isEqualTo("mine\n");
        // links the guest made are listed as links, their targets untouched on the host
        assertThat(workspaces.files().list(w.id(), "", false)).filteredOn(f -> f.path().equals("out"))
                .extracting(WorkspaceFiles.FileInfo::type).containsExactly("symlink");
        assertThatThrownBy(() -> workspaces.files().list(w.id(), "out", false)).isInstanceOf(DavitException.class);
        assertThat(workspaces.files().diff(w.id()).changes()).extracting(WorkspaceDiff.Change::path).contains("out",
                "d/up");
    }

    @Test
    @Order(6)
    void applyReplacesCreatesAndDeletesPaths() throws IOException {
        Path staged = tmp.resolve("staged");
        Files.createDirectories(staged.resolve("tree/a/b"));
        Files.writeString(staged.resolve("tree/a/b/c.txt"), "deep\n");
        Files.writeString(staged.resolve("src"), "src is a file now\n");
        Files.createDirectories(staged.resolve("fresh/dir"));
        Files.write(staged.resolve("fresh/dir/bin"), allBytes());
        Files.setPosixFilePermissions(staged.resolve("fresh/dir/bin"), PosixFilePermissions.fromString("rwxr-x---"));
        sh("mkdir -p src; echo x > src/old; echo bye > del.txt; mkdir -p deldir/sub");
        VmArea area = new VmArea(workspaces.sandboxes(), w.sandboxId(), tmp.resolve("area-tmp"));
        area.apply(staged, List.of("tree", "src", "fresh/dir/bin"), List.of("del.txt", "deldir", "never-there"));
        assertThat(sh("cat tree/a/b/c.txt src; stat -c %a fresh/dir/bin fresh/dir")).isEqualTo(
                "deep\nsrc is a file now\n750\n755\n");
        assertThat(sh("[ ! -e del.txt ] && [ ! -e deldir ] && echo gone")).isEqualTo("gone\n");
        assertThat(area.read("fresh/dir/bin", 0).bytes()).isEqualTo(allBytes());
        assertThat(sh("ls -A /.davit/stage")).isEmpty();
        // through the guest's link out -> /tmp: refused by the agent
        Files.createDirectories(staged.resolve("out"));
        Files.writeString(staged.resolve("out/x"), "x\n");
        assertThatThrownBy(() -> area.apply(staged, List.of("out/x"), List.of())).isInstanceOf(DavitException.class)
                .hasMessageContaining("symbolic link");
        assertThat(sh("[ ! -e /tmp/x ] && ls -A /.davit/stage && echo none")).isEqualTo("none\n");
        assertThatThrownBy(() -> area.apply(staged, List.of(), List.of("d/up/t")))
                .isInstanceOf(DavitException.class);
        assertThat(sh("cat /tmp/t")).isEqualTo("orig\n");
    }

    @Test
    @Order(6)
    void pushExportAndPatchThroughTheAgent() throws IOException {
        Path data = tmp.resolve("data");
        Files.createDirectories(data.resolve("sub/empty"));
        Files.write(data.resolve("sub/bin"), allBytes());
        Files.setPosixFilePermissions(data.resolve("sub/bin"), PosixFilePermissions.fromString("rwx------"));
        Files.writeString(data.resolve("notes.txt"), "a\nb\nc\n");
        Files.createSymbolicLink(data.resolve("sub/link"), Path.of("../notes.txt"));
        WorkspaceFiles.Copied in = workspaces.files().push(w.id(), data, "pushed");
        assertThat(in.files()).isEqualTo(6); // the top included
        assertThat(sh("cat pushed/notes.txt; stat -c %a pushed/sub/bin; readlink pushed/sub/link"))
                .isEqualTo("a\nb\nc\n700\n../notes.txt\n");

        Path out = tmp.resolve("out");
        workspaces.files().export(w.id(), out, "pushed");
        assertThat(Files.readAllBytes(out.resolve("sub/bin"))).isEqualTo(allBytes());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(out.resolve("sub/bin"))))
                .isEqualTo("rwx------");
        assertThat(Files.readSymbolicLink(out.resolve("sub/link"))).isEqualTo(Path.of("../notes.txt"));
        assertThat(out.resolve("sub/empty")).isEmptyDirectory();

        String patch = """
                --- a/pushed/notes.txt
                +++ b/pushed/notes.txt
                @@ -1,3 +1,3 @@
                 a
                -b
                +B
                 c
                --- /dev/null
                +++ b/pushed/added.txt
                @@ -0,0 +1 @@
                +new
                """;
        workspaces.files().patch(w.id(), patch.getBytes());
        assertThat(sh("cat pushed/notes.txt pushed/added.txt")).isEqualTo("a\nB\nc\nnew\n");
        // a hunk that does not match changes nothing
        assertThatThrownBy(() -> workspaces.files().patch(w.id(), patch.getBytes())).isInstanceOf(DavitException.class);
        assertThat(sh("cat pushed/notes.txt")).isEqualTo("a\nB\nc\n");
        sh("rm -r pushed");
    }

    @Test
    @Order(7)
    void stopAndStartKeepTheContent() {
        workspaces.files().write(w.id(), "kept.txt", new ByteArrayInputStream("kept\n".getBytes()));
        assertThat(workspaces.stop(w.id()).status()).isEqualTo(SandboxStatus.STOPPED);
        long t0 = System.nanoTime();
        assertThat(workspaces.start(w.id()).status()).isEqualTo(SandboxStatus.RUNNING);
        System.out.println("vm workspace restart: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertThat(sh("cat kept.txt")).isEqualTo("kept\n");
        // a file operation on a stopped workspace starts its VM
        workspaces.stop(w.id());
        assertThat(new String(workspaces.files().read(w.id(), "kept.txt", 0).bytes())).isEqualTo("kept\n");
        assertThat(workspaces.sandbox(w.id()).status()).isEqualTo(SandboxStatus.RUNNING);
    }

    /**
     * A fork of the running microVM workspace: its disk (a file outside /workspace too) and snapshots carried; the
     * parent goes on running (held still for the copy only); writes stay in the VM that made them.
     */
    @Test
    @Order(8)
    void aForkOfARunningVmHasItsDiskAndGoesItsOwnWay() {
        sh("echo etc > /etc/forked.conf");
        workspaces.snapshot(w.id(), "before-fork");
        long t0 = System.nanoTime();
        Workspace f = workspaces.fork(w.id(), 1, List.of("vm-fork"), null).get(0);
        System.out.println("vm workspace fork (copy + boot): " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertThat(workspaces.sandbox(f.id()).status()).isEqualTo(SandboxStatus.RUNNING);
        assertThat(workspaces.sandbox(w.id()).status()).isEqualTo(SandboxStatus.RUNNING);
        ExecResult r = workspaces.execs().run(f.id(), ExecRequest.builder("sh", "-c",
                "cat /etc/forked.conf kept.txt; echo f > mine").timeout(Duration.ofSeconds(60)).build());
        assertThat(r.stdoutText()).isEqualTo("etc\nkept\n");
        assertThat(workspaces.snapshots(f.id())).extracting(Workspaces.Snapshot::name).contains("before-fork");
        assertThat(sh("ls")).doesNotContain("mine");
        workspaces.rm(f.id());
        assertThat(sh("cat /etc/forked.conf")).isEqualTo("etc\n");
    }

    /** A snapshot of the whole VM: a reset to it takes back a file written in /etc after it; the VM runs again. */
    @Test
    @Order(9)
    void aResetToASnapshotOfTheWholeVmBringsItsDiskBack() {
        Workspaces.Snapshot all = workspaces.snapshot(w.id(), "vm-all", true);
        assertThat(all.all()).isTrue();
        sh("echo after > /etc/after.conf; echo after > after.txt");
        long t0 = System.nanoTime();
        assertThat(workspaces.reset(w.id(), "vm-all").status()).isEqualTo(SandboxStatus.RUNNING);
        System.out.println("vm workspace reset to a whole snapshot (stop + copy + boot): "
                + (System.nanoTime() - t0) / 1_000_000 + " ms");
        assertThat(sh("ls /etc; ls")).doesNotContain("after.conf").doesNotContain("after.txt");
        assertThat(sh("cat /etc/forked.conf")).isEqualTo("etc\n");
    }

    @Test
    @Order(10)
    void rmThenSeedFromATar() throws IOException {
        workspaces.rm(w.id());
        assertThat(workspaces.list()).isEmpty();
        assertThat(workspaces.sandboxes().list()).isEmpty();
        Path tar = tmp.resolve("seed.tar");
        try (OutputStream f = Files.newOutputStream(tar); TarArchiveOutputStream t = new TarArchiveOutputStream(f)) {
            TarArchiveEntry d = new TarArchiveEntry("pkg/");
            d.setMode(040750);
            t.putArchiveEntry(d);
            t.closeArchiveEntry();
            byte[] body = "from a tar\n".getBytes();
            TarArchiveEntry e = new TarArchiveEntry("pkg/file.txt");
            e.setSize(body.length);
            e.setMode(0100755);
            e.setIds(1234, 1234);
            t.putArchiveEntry(e);
            t.write(body);
            t.closeArchiveEntry();
        }
        w = workspaces.create(WorkspaceSpec.builder(CreateSpec.builder(env).backend("vm").vcpus(1).memoryMiB(256)
                .build())
                .seed(tar).build());
        assertThat(sh("cat pkg/file.txt; stat -c '%a %u' pkg pkg/file.txt")).isEqualTo(
                "from a tar\n750 0\n755 0\n");
        assertThat(workspaces.files().diff(w.id()).changes()).isEmpty();
    }
}
