package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Davit}, as a library user meets it: an image reference run and worked in with the CLI's defaults, and no
 * workspace outliving its handle, its ttl or the JVM unless kept; over real bubblewrap sandboxes and a busybox image
 * built into the home's store.
 */
class DavitTest {
    private static final String IMAGE = "localhost/test/busybox:1";

    @TempDir
    Path tmp;

    Path home;

    @BeforeEach
    void image() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox");
        home = tmp.resolve("home");
        Path rootfs = Files.createDirectories(tmp.resolve("src/bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), rootfs.resolve("busybox"));
        for (String a : List.of("sh", "echo", "cat", "sleep", "true", "ls")) {
            Files.createSymbolicLink(rootfs.resolve(a), Path.of("busybox"));
        }
        for (String d : List.of("proc", "dev", "tmp")) {
            Files.createDirectories(tmp.resolve("src").resolve(d));
        }
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            c.build(tmp.resolve("src"), IMAGE, BuildOptions.builder().env("GREETING", "hello").build(),
                    ProgressListener.NONE);
        }
    }

    private Davit open(Duration reapEvery) {
        return Davit.builder().home(home).clientOptions(ClientOptions.anonymous(tmp.resolve("ignored")))
                .reapEvery(reapEvery).build();
    }

    private List<String> workspaceIds() {
        List<String> ids = new ArrayList<>();
        try (Davit d = open(Davit.REAP_EVERY)) {
            d.workspaces().list().forEach(w -> ids.add(w.id()));
        }
        return ids;
    }

    @Test
    void anImageRunsAndAWorkspaceWorksWithTheClisDefaults() {
        try (Davit davit = open(Davit.REAP_EVERY)) {
            ExecResult r = davit.run(IMAGE, "sh", "-c", "echo $GREETING");
            assertThat(r.exitCode()).as(r.stderrText()).isZero();
            assertThat(r.stdoutText()).isEqualTo("hello\n");
            // the CLI's limits and no network, unless this host cannot enforce limits
            var spec = davit.runSpec(IMAGE).build();
            assertThat(spec.limits()).isEqualTo(Limits.unenforceable() == null ? Limits.DEFAULT
                    : new Limits(0, 0, Limits.DEFAULT.pids(), Limits.DEFAULT_DISK_MIB));
            assertThat(spec.network().enabled()).isFalse();

            String id;
            try (OpenWorkspace ws = davit.workspace(IMAGE)) {
                id = ws.id();
                ws.files().write("src/hello.sh", "echo hello from $(pwd)\n");
                ExecResult e = ws.exec("sh", "src/hello.sh");
                assertThat(e.stdoutText()).isEqualTo("hello from /workspace\n");
                ws.exec("sh", "-c", "echo made > out.txt");
                assertThat(ws.files().read("out.txt")).isEqualTo("made\n");
                java.io.ByteArrayOutputStream tee = new java.io.ByteArrayOutputStream();
                ExecResult cwd = ws.exec(dev.davit.sandbox.workspace.ExecRequest.builder("sh", "-c",
                        "pwd; echo $X; cat").workdir("src").env("X", "y").stdin(new java.io.ByteArrayInputStream(
                        "in\n".getBytes(StandardCharsets.UTF_8))).tees(tee, null).timeout(Duration.ofSeconds(30))
                        .build());
                assertThat(cwd.stdoutText()).isEqualTo("/workspace/src\ny\nin\n");
                assertThat(tee.toString(StandardCharsets.UTF_8)).isEqualTo(cwd.stdoutText());
                assertThat(ws.files().diff().changes()).extracting(WorkspaceDiff.Change::path)
                        .containsExactlyInAnyOrder("src", "src/hello.sh", "out.txt");
                assertThat(davit.workspaces().list()).extracting(Workspace::id).containsExactly(id);
            }
            // closed: removed, sandbox and all
            assertThat(davit.workspaces().list()).isEmpty();
            assertThat(davit.sandboxes().list()).isEmpty();
        }
        assertThatThrownBy(() -> open(Davit.REAP_EVERY).workspace("localhost/test/none:1"))
                .isInstanceOf(DavitException.class);
    }

    @Test
    void theSandboxesOptionsCanBeAdjusted() throws Exception {
        Path fake = tmp.resolve("fake-bwrap");
        Files.writeString(fake, "#!/bin/sh\necho this is not bubblewrap >&2\nexit 3\n");
        assertThat(fake.toFile().setExecutable(true)).isTrue();
        try (Davit davit = Davit.builder().home(home).clientOptions(ClientOptions.anonymous(tmp.resolve("ignored")))
                .sandboxOptions(o -> o.withBwrap(fake).withAllowWeakerSandbox(true)).build()) {
            assertThat(davit.sandboxes().options()).isEqualTo(SandboxOptions.under(home).withBwrap(fake)
                    .withAllowWeakerSandbox(true));
            String outcome;
            try {
                ExecResult r = davit.sandboxes().run(davit.runSpec(IMAGE).command("true").runtime("bwrap").build());
                outcome = r.exitCode() + " " + r.stderrText();
            } catch (DavitException e) {
                outcome = e.getMessage();
            }
            System.out.println("run with a fake bwrap: " + outcome);
            assertThat(outcome).contains("fake-bwrap"); // run (or, where the jail cannot reach it, named)
        }
        assertThatThrownBy(() -> Davit.builder().home(home).sandboxOptions(o -> SandboxOptions.under(tmp)).build())
                .isInstanceOf(DavitException.class).hasMessageContaining("Davit.Builder.home");
    }

    @Test
    void noWorkspaceOutlivesItsHandleItsTtlOrTheJvmUnlessKept() throws Exception {
        String kept;
        try (Davit davit = open(Duration.ofMillis(200))) {
            OpenWorkspace a = davit.workspace(IMAGE);
            OpenWorkspace b = davit.workspace(IMAGE).keep();
            kept = b.id();
            OpenWorkspace shortLived = davit.workspace(IMAGE, Duration.ofSeconds(1)).keep();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (davit.workspaces().list().stream().anyMatch(w -> w.id().equals(shortLived.id()))) {
                assertThat(System.nanoTime()).as("the ttl enforced while the Davit is open").isLessThan(deadline);
                Thread.sleep(100);
            }
            assertThat(davit.workspaces().list()).extracting(Workspace::id).contains(a.id(), kept);
        }
        // the Davit's close removed what was not kept
        assertThat(workspaceIds()).containsExactly(kept);

        // a JVM that exits without closing anything leaves no workspace behind, but the one it kept
        List<String> exited = new ArrayList<>();
        for (String mode : List.of("drop", "keep")) {
            String java = ProcessHandle.current().info().command().orElse("java");
            Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), DavitExitMain.class.getName(), home.toString(), IMAGE,
                    mode).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String id = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(id).startsWith("ws-");
            exited.add(id);
        }
        assertThat(workspaceIds()).containsExactlyInAnyOrder(kept, exited.get(1));
        try (Davit davit = open(Davit.REAP_EVERY)) {
            davit.workspaces().rm(kept);
            davit.workspaces().rm(exited.get(1));
            assertThat(davit.sandboxes().list()).isEmpty();
        }
    }

    @Test
    void aCatalogEnvironmentIsInstalledOnceAndRunsWithItsImagesDefaults() {
        try (dev.davit.oci.testkit.TestRegistry registry = dev.davit.oci.testkit.TestRegistry.start()) {
            String published = registry.hostPort() + "/envs/box:1";
            try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
                c.push(IMAGE, published, ProgressListener.NONE);
            }
            dev.davit.env.Environment box = new dev.davit.env.Environment("box:1", "2026.11.1",
                    dev.davit.env.Environment.Kind.CONTAINER, "test", "busybox", "1", List.of(), "linux/amd64", null,
                    new dev.davit.env.Environment.Source(null, published, null, null), List.of("rootfs/"));
            Path fresh = tmp.resolve("fresh-home");
            try (Davit davit = Davit.builder().home(fresh).clientOptions(ClientOptions.anonymous(tmp.resolve("x")))
                    .catalog(new dev.davit.env.Catalog("2026.11", List.of(box))).build()) {
                ExecResult r = davit.run("box:1", "sh", "-c", "echo $GREETING from an environment");
                assertThat(r.exitCode()).as(r.stderrText()).isZero();
                assertThat(r.stdoutText()).isEqualTo("hello from an environment\n");
                assertThat(davit.image("box:1").rootfs())
                        .isEqualTo(fresh.resolve("environments/linux_amd64/box_1-2026.11.1/rootfs"));
                // a name the catalog does not have is an image reference
                assertThatThrownBy(() -> davit.image("nobox:1")).isInstanceOf(DavitException.class);
            }
        }
    }

    @Test
    void anEnvironmentPublishedNowhereIsBuiltHereOnce() throws Exception {
        dev.davit.oci.testkit.Tools.assumeAvailable("busybox");
        dev.davit.env.Environment bb = new dev.davit.env.Environment("bb:1", "2026.11.2",
                dev.davit.env.Environment.Kind.CONTAINER, "test", "busybox", "1", List.of(), "linux/amd64", null,
                new dev.davit.env.Environment.Source(null, null, null, null, "busybox"), List.of("rootfs/"));
        Path fresh = tmp.resolve("built-home");
        try (Davit davit = Davit.builder().home(fresh).catalog(new dev.davit.env.Catalog("2026.11", List.of(bb)))
                .build()) {
            ExecResult r = davit.run("bb:1", "sh", "-c", "echo built here");
            assertThat(r.exitCode()).as(r.stderrText()).isZero();
            assertThat(r.stdoutText()).isEqualTo("built here\n");
            // built once, as `davit env build busybox` stores it, and installed from the store
            try (DavitClient c = DavitClient.create(ClientOptions.anonymous(fresh.resolve("store")))) {
                assertThat(c.find("localhost/davit/busybox:2026.11.2")).isPresent();
            }
            Path rootfs = davit.image("bb:1").rootfs();
            assertThat(rootfs).isEqualTo(fresh.resolve("environments/linux_amd64/bb_1-2026.11.2/rootfs"));
            java.nio.file.attribute.FileTime installed = java.nio.file.Files.getLastModifiedTime(rootfs.getParent());
            assertThat(davit.run("bb:1", "true").exitCode()).isZero();
            assertThat(java.nio.file.Files.getLastModifiedTime(rootfs.getParent())).isEqualTo(installed);
        }
    }
}
