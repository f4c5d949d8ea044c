package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.workspace.ExecEntry;
import dev.davit.sandbox.workspace.ExecOutput;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.ServiceSpec;
import dev.davit.sandbox.workspace.Services;
import dev.davit.sandbox.workspace.Shells;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.WorkspaceExecs;
import dev.davit.sandbox.workspace.WorkspaceFiles;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.sandbox.workspace.internal.WorkspaceInternals;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link OpenWorkspace} as the one handle a library user needs: every workspace operation through it, over one real
 * bubblewrap workspace (seeded, named, with a secret), kept by the handle that made it and opened again by name, as
 * a user does with a workspace of an earlier run. Each test leaves the workspace running.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenWorkspaceTest {
    private static final String IMAGE = "localhost/test/busybox:1";
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final String SECRET = "s3cret-value-42";

    @TempDir
    static Path tmp;

    Davit davit;
    OpenWorkspace ws;

    @BeforeAll
    void workspace() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox");
        Path home = tmp.resolve("home");
        Path src = tmp.resolve("src");
        Path bin = Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), bin.resolve("busybox"));
        for (String a : List.of("sh", "echo", "cat", "sleep", "true", "ls", "touch", "printf", "head", "httpd",
                "mkdir", "rm")) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp")) {
            Files.createDirectories(src.resolve(d));
        }
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            c.build(src, IMAGE, BuildOptions.defaults(), ProgressListener.NONE);
        }
        Path seed = Files.createDirectories(tmp.resolve("seed"));
        Files.writeString(seed.resolve("seeded.txt"), "from the seed\n");
        davit = Davit.builder().home(home).clientOptions(ClientOptions.anonymous(tmp.resolve("ignored"))).build();
        String id;
        // made and kept by one handle, as an earlier run would leave it ...
        try (OpenWorkspace made = davit.newWorkspace(IMAGE).name("proj").seed(seed).label("task", "42")
                .secret("TOKEN", SECRET.getBytes(StandardCharsets.UTF_8)).open().keep()) {
            id = made.id();
        }
        // ... and opened again by its name
        ws = davit.openWorkspace("proj");
        assertThat(ws.id()).isEqualTo(id);
    }

    @AfterAll
    void removeIt() {
        if (ws != null) {
            ws.remove();
            assertThat(davit.workspaces().list()).isEmpty();
            assertThatThrownBy(() -> davit.openWorkspace("proj")).isInstanceOf(DavitException.class)
                    .extracting(e -> ((DavitException) e).kind()).isEqualTo(Kind.NOT_FOUND);
        }
        if (davit != null) {
            davit.close();
        }
    }

    @Test
    void aSnapshotIsComparedWithAndResetToAndTheBaselineIsTheSeed() {
        ws.files().write("notes.txt", "draft\n");
        assertThat(ws.snapshot("draft").name()).isEqualTo("draft");
        assertThat(ws.snapshots()).extracting(Workspaces.Snapshot::name).contains("draft");

        ws.exec("sh", "-c", "echo final > notes.txt; echo new > added.txt");
        WorkspaceDiff d = ws.files().diff("draft", List.of(), false);
        assertThat(d.changes()).extracting(WorkspaceDiff.Change::path)
                .containsExactlyInAnyOrder("notes.txt", "added.txt");
        assertThat(d.patch()).contains("-draft").contains("+final");
        assertThat(ws.files().diff("draft", List.of("added.txt"), false).changes())
                .extracting(WorkspaceDiff.Change::path)
                .containsExactly("added.txt");

        // a patch, all or nothing
        assertThat(ws.files().patch("--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1 @@\n-final\n+patched\n"))
                .isEqualTo(Map.of("notes.txt", "modified"));
        assertThat(ws.files().read("notes.txt")).isEqualTo("patched\n");
        assertThatThrownBy(() -> ws.files().patch("--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1 @@\n-absent\n+x\n"))
                .isInstanceOf(DavitException.class);

        assertThat(ws.reset("draft").status()).isEqualTo(SandboxStatus.RUNNING);
        assertThat(ws.files().read("notes.txt")).isEqualTo("draft\n");
        assertThat(ws.files().list("", false)).extracting(WorkspaceFiles.FileInfo::path).doesNotContain("added.txt");

        ws.reset(); // the baseline: the seed, nothing else
        assertThat(ws.files().list("", true)).extracting(WorkspaceFiles.FileInfo::path).containsExactly("seeded.txt");
        assertThat(ws.files().diff().changes()).isEmpty();
        ws.removeSnapshot("draft");
        assertThat(ws.snapshots()).isEmpty();
    }

    @Test
    void aServiceStartsItsLogIsReadAndItStops() {
        Services.Service s = ws.services().start(ServiceSpec.builder("ticker", "sh", "-c",
                "echo up; touch svc-ready; exec sleep 600").readiness(new Services.Readiness("file", "svc-ready"))
                .build());
        assertThat(s.state()).isEqualTo("running");
        assertThat(ws.services().list()).extracting(Services.Service::name).contains("ticker");
        assertThat(new String(ws.services().log("ticker", 0).bytes(), StandardCharsets.UTF_8)).isEqualTo("up\n");
        assertThat(ws.services().stop("ticker").state()).isEqualTo("stopped");
    }

    @Test
    void aShellIsOpenedWrittenToReadSignalledAndClosed() {
        Shells.ReadOptions untilPrompt = new Shells.ReadOptions(LIMIT, null, Pattern.compile("/workspace # $"),
                Shells.MAX_BYTES, false);
        String id;
        try (OpenShell sh = ws.openShell(List.of(), Map.of(), Map.of("T", "TOKEN"))) {
            id = sh.id();
            assertThat(sh.info().state()).isEqualTo("running");
            assertThat(sh.read(untilPrompt).text()).endsWith("/workspace # ");
            sh.write("echo hi-$((1+1)) $T\n");
            // the secret's value is redacted from what the terminal shows
            assertThat(sh.read(untilPrompt).text()).isEqualTo("echo hi-$((1+1)) $T\nhi-2 [REDACTED:TOKEN]\n"
                    + "/workspace # ");
            sh.write("sleep 600\n");
            assertThat(sh.read(new Shells.ReadOptions(LIMIT, null, Pattern.compile("sleep 600\n"), Shells.MAX_BYTES,
                    false)).matched()).isTrue();
            // Ctrl-C ends the sleep, the prompt comes back. The echo is seen before the shell has started the
            // sleep, and a Ctrl-C that comes first is the shell's, not the sleep's (a loaded machine's CI saw it):
            // Ctrl-C again until the prompt is back, a second apart
            boolean back = false;
            for (int i = 0; i < 20 && !back; i++) {
                sh.signal("INT");
                back = sh.read(new Shells.ReadOptions(Duration.ofSeconds(1), null, Pattern.compile("/workspace # $"),
                        Shells.MAX_BYTES, false)).matched();
            }
            assertThat(back).as("the prompt after Ctrl-C").isTrue();
            assertThat(ws.shells().list()).extracting(Shells.Shell::id).containsExactly(id);
        }
        assertThat(ws.shells().list()).isEmpty();
        assertThatThrownBy(() -> ws.shells().get(id)).isInstanceOf(DavitException.class)
                .extracting(e -> ((DavitException) e).kind()).isEqualTo(Kind.NOT_FOUND);
    }

    @Test
    void hostFilesArePushedInAndExportedOut() throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in/data"));
        Files.writeString(in.resolve("a.txt"), "alpha\n");
        Files.createDirectories(in.resolve("sub"));
        Files.writeString(in.resolve("sub/b.txt"), "beta\n");
        WorkspaceFiles.Copied pushed = ws.files().push(in, "lib/data");
        assertThat(pushed.path()).isEqualTo("lib/data");
        assertThat(pushed.files()).isEqualTo(4); // the top, a.txt, sub, sub/b.txt
        assertThat(ws.exec("cat", "lib/data/sub/b.txt").stdoutText()).isEqualTo("beta\n");
        assertThat(ws.files().list("lib/data", true)).extracting(WorkspaceFiles.FileInfo::path)
                .containsExactlyInAnyOrder("lib/data/a.txt", "lib/data/sub", "lib/data/sub/b.txt");

        Path out = tmp.resolve("out");
        WorkspaceFiles.Copied exported = ws.files().export(out, "lib");
        assertThat(exported.bytes()).isEqualTo(11);
        assertThat(Files.readString(out.resolve("data/a.txt"))).isEqualTo("alpha\n");
        assertThat(Files.readString(out.resolve("data/sub/b.txt"))).isEqualTo("beta\n");

        // a file read in pages, and written from a stream
        ws.files().write("big.txt", new java.io.ByteArrayInputStream("0123456789".getBytes(StandardCharsets.UTF_8)));
        WorkspaceFiles.FileContent page = ws.files().read("big.txt", 4, 3);
        assertThat(new String(page.bytes(), StandardCharsets.UTF_8)).isEqualTo("456");
        assertThat(page.truncated()).isTrue();
        assertThat(page.size()).isEqualTo(10);
        ws.exec("sh", "-c", "rm -rf lib big.txt");
    }

    @Test
    void aLongOutputIsReadInPagesAndTheHistoryHasTheExec() {
        WorkspaceExecs.Executed x = ws.workspaces().execs().run(ws.id(), ExecRequest.builder("sh", "-c",
                "i=0; while [ $i -lt 100 ]; do printf 'line %03d\\n' $i; i=$((i+1)); done").build(), 64);
        assertThat(x.result().exitCode()).isZero();
        assertThat(x.stdout().total()).isEqualTo(900);
        ExecOutput.Page p = ws.output(x.execId(), "stdout", 891, 100);
        assertThat(new String(p.bytes(), StandardCharsets.UTF_8)).isEqualTo("line 099\n");
        assertThat(p.kept()).isEqualTo(900);
        assertThat(ws.logs()).extracting(ExecEntry::execId).contains(x.execId());
        // the secret as a variable, redacted from the output
        ExecResult r = ws.exec(ExecRequest.builder("sh", "-c", "echo $T").secretEnv("T", "TOKEN").build());
        assertThat(r.stdoutText()).isEqualTo("[REDACTED:TOKEN]\n");
        assertThat(ws.secrets()).extracting(Workspace.SecretInfo::name).containsExactly("TOKEN");
    }

    @Test
    void aSpooledExecKeepsItsExcerptsInFilesAndItsSecretsInTheOrderGiven() throws Exception {
        try (WorkspaceExecs.SpooledExecuted x = spooled(ExecRequest.builder("sh", "-c",
                "i=0; while [ $i -lt 100 ];"
                + " do printf 'line %03d\\n' $i; i=$((i+1)); done; echo \"$T\" >&2").secretEnv("T", "TOKEN").build(),
                64)) {
            assertThat(x.result().exitCode()).isZero();
            assertThat(x.stdout().total()).isEqualTo(900);
            assertThat(x.stdout().cut()).isTrue();
            java.io.StringWriter text = new java.io.StringWriter();
            try (java.io.Reader r = x.stdout().text("stdout")) {
                r.transferTo(text);
            }
            // its first and last 32 bytes
            assertThat(text.toString()).startsWith("line 000\n").contains("left out here").endsWith("line 099\n");
            assertThat(new String(x.stderr().bytes().readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("[REDACTED:TOKEN]\n");
            assertThat(new String(ws.output(x.execId(), "stdout", 891, 100).bytes(), StandardCharsets.UTF_8))
                    .isEqualTo("line 099\n");
        }
        // with several secrets the workspace lacks, the error names the first given
        ExecRequest.Builder b = ExecRequest.builder("true");
        for (int i = 0; i < 8; i++) {
            b.secretEnv("V" + i, "missing" + i);
        }
        assertThatThrownBy(() -> spooled(b.build(), 64)).isInstanceOf(DavitException.class)
                .hasMessageContaining("no secret 'missing0'");
    }

    /** {@code r} with its excerpts in files, as the MCP server runs it ({@link WorkspaceExecs#runSpooled}). */
    private WorkspaceExecs.SpooledExecuted spooled(ExecRequest r, int keep) {
        return ws.workspaces().execs().runSpooled(ws.id(), r.command(), r.env(), r.secretEnv(), r.workdir(), r.timeout(),
                keep, r.stdin(), r.stdoutTee(), r.stderrTee());
    }

    @Test
    void itsNameLabelsAndTtlChangeAndItStopsAndStartsAgain() {
        assertThat(ws.rename("proj2").name()).isEqualTo("proj2");
        assertThat(ws.label(Map.of("stage", "test"), List.of("task")).labels()).isEqualTo(Map.of("stage", "test"));
        assertThat(ws.ttl(Duration.ofHours(5)).ttl()).isEqualTo(Duration.ofHours(5));
        assertThat(ws.info().name()).isEqualTo("proj2");
        assertThat(ws.ttl(null).ttl()).isNull();
        // a second handle of the same workspace, by its new name: closing it leaves the workspace
        try (OpenWorkspace again = davit.openWorkspace("proj2")) {
            assertThat(again.id()).isEqualTo(ws.id());
        }
        assertThat(ws.rename("proj").name()).isEqualTo("proj");
        assertThat(ws.ports()).isEmpty();

        assertThat(ws.stop().status()).isEqualTo(SandboxStatus.STOPPED);
        assertThat(ws.status().status()).isEqualTo(SandboxStatus.STOPPED);
        assertThatThrownBy(() -> ws.exec("true")).isInstanceOf(DavitException.class)
                .extracting(e -> ((DavitException) e).kind()).isEqualTo(Kind.STATE);
        // a stopped workspace's files, read without starting it
        assertThat(ws.files().diskList("", false)).extracting(WorkspaceFiles.FileInfo::path).contains("seeded.txt");
        assertThat(new String(ws.files().diskRead("seeded.txt", 0).bytes(), StandardCharsets.UTF_8))
                .isEqualTo("from the seed\n");
        WorkspaceFiles.Copied copied = ws.files().diskExport(tmp.resolve("from-disk"), "seeded.txt");
        assertThat(copied.files()).isEqualTo(1);
        assertThat(tmp.resolve("from-disk/seeded.txt")).hasContent("from the seed");
        assertThat(ws.status().status()).isEqualTo(SandboxStatus.STOPPED);
        assertThat(ws.start().status()).isEqualTo(SandboxStatus.RUNNING);
        assertThat(ws.exec("cat", "seeded.txt").stdoutText()).isEqualTo("from the seed\n");
    }

    @Test
    void aClosedHandleRefusesAndAnOpenedHandlesCloseLeavesTheWorkspace() {
        OpenWorkspace other = davit.openWorkspace(ws.id());
        other.close();
        assertThatThrownBy(() -> other.exec("true")).isInstanceOf(DavitException.class)
                .hasMessageContaining("Davit.openWorkspace(\"" + ws.id() + "\")");
        assertThat(ws.exec("true").exitCode()).isZero(); // the workspace is still there

        // a door's own handle, over Workspaces of its own (an owner's), of a workspace it found itself
        Workspaces door = WorkspaceInternals.ownedBy(davit.workspaces(), "door");
        try (OpenWorkspace h = dev.davit.internal.Handles.of(door, door.get("proj"))) {
            assertThat(h.exec("cat", "seeded.txt").stdoutText()).isEqualTo("from the seed\n");
        }
        assertThat(ws.exec("true").exitCode()).isZero();
    }

    @Test
    void aPublishedPortIsReportedAndReachesAServiceFromTheHost() throws Exception {
        Tools.assumeAvailable("slirp4netns");
        try (OpenWorkspace web = davit.newWorkspace(IMAGE).network(Network.NAT).publish(PortMapping.parse("0:8080"))
                .open()) {
            List<PortMapping> ports = web.ports();
            assertThat(ports).hasSize(1);
            assertThat(ports.get(0).port()).isEqualTo(8080);
            assertThat(ports.get(0).hostPort()).isPositive(); // the free port chosen at creation
            web.files().write("www/index.html", "served\n");
            web.services().start(ServiceSpec.builder("web", "httpd", "-f", "-p", "8080", "-h", "/workspace/www")
                    .readiness(new Services.Readiness("port", "8080")).build());
            try (Socket c = new Socket(ports.get(0).hostAddress(), ports.get(0).hostPort())) {
                c.setSoTimeout(10_000);
                c.getOutputStream().write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).contains("served");
            }
        }
        assertThat(davit.workspaces().list()).extracting(Workspace::id).containsExactly(ws.id());
    }
}
