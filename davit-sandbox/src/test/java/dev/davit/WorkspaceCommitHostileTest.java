package dev.davit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.davit.oci.DavitException;
import dev.davit.oci.build.BuildOptions;
import dev.davit.oci.client.ClientOptions;
import dev.davit.oci.client.DavitClient;
import dev.davit.oci.copy.ProgressListener;
import dev.davit.oci.testkit.Tools;
import dev.davit.sandbox.CreateSpec;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.RunTarget;
import dev.davit.sandbox.container.Overlay;
import dev.davit.sandbox.workspace.ExecRequest;
import dev.davit.sandbox.workspace.Secrets;
import dev.davit.sandbox.workspace.Workspace;
import dev.davit.sandbox.workspace.WorkspaceImages;
import dev.davit.sandbox.workspace.WorkspaceSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attacker's tests of {@code workspace commit}: a sandbox that races the walk of its upper directory (a directory
 * and a file swapped with links to the host for ever), fifos, a file that grows while read, a huge sparse file, names
 * that look like whiteouts, a user xattr that looks like overlay's opaque mark, and davit's egress CA in a trust store
 * reached through a link (as Fedora's is). Nothing of the host may end up in a layer, no commit may run away, the
 * layer must be what the sandbox saw, and no egress CA may be committed.
 */
class WorkspaceCommitHostileTest {
    private static final String IMAGE = "localhost/test/commit-hostile:1";
    private static final String SECRET = "HOST-SECRET-9c4e";
    private static final List<String> APPLETS = List.of("sh", "echo", "cat", "sleep", "true", "ls", "rm", "mkdir",
            "ln", "mkfifo", "printf", "truncate", "touch", "grep", "head", "dd", "seq", "mv");

    @TempDir
    Path tmp;

    Path home;
    Path host;
    Davit davit;
    final List<String> made = new ArrayList<>();

    @BeforeEach
    void image() throws Exception {
        Tools.assumeAvailable("bwrap", "busybox", "gcc");
        home = tmp.resolve("home");
        Path src = tmp.resolve("src");
        Path bin = Files.createDirectories(src.resolve("bin"));
        Files.copy(Tools.which("busybox").orElseThrow(), bin.resolve("busybox"));
        for (String a : APPLETS) {
            Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
        }
        compile(resource("dev/davit/sandbox/racer.c"), bin.resolve("racer"));
        compile("#include <stdio.h>\n#include <string.h>\n#include <sys/xattr.h>\n"
                + "int main(int c, char **v) { if (c != 4) return 2;"
                + " if (setxattr(v[1], v[2], v[3], strlen(v[3]), 0) < 0) { perror(\"setxattr\"); return 1; }"
                + " return 0; }\n", bin.resolve("setx"));
        Files.createDirectories(src.resolve("etc"));
        Files.writeString(src.resolve("etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
        Files.writeString(src.resolve("etc/kept.conf"), "kept\n");
        Files.createDirectories(src.resolve("opt/old"));
        Files.writeString(src.resolve("opt/old/a"), "a\n");
        // Debian's trust store (a file) and Fedora's (a link into ca-trust)
        Files.createDirectories(src.resolve("etc/ssl/certs"));
        Files.writeString(src.resolve("etc/ssl/certs/ca-certificates.crt"), ROOT_PEM);
        Files.createDirectories(src.resolve("etc/pki/tls/certs"));
        Files.createDirectories(src.resolve("etc/pki/ca-trust/extracted/pem"));
        Files.writeString(src.resolve("etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"), ROOT_PEM);
        Files.createSymbolicLink(src.resolve("etc/pki/tls/certs/ca-bundle.crt"),
                Path.of("../../ca-trust/extracted/pem/tls-ca-bundle.pem"));
        Files.createDirectories(src.resolve("tmp"));
        try (DavitClient c = DavitClient.create(ClientOptions.anonymous(home.resolve("store")))) {
            c.build(src, IMAGE, BuildOptions.builder().build(), ProgressListener.NONE);
        }
        host = Files.createDirectories(tmp.resolve("host-secrets"));
        Files.writeString(host.resolve("secret"), SECRET + "\n");
        Files.writeString(host.resolve("f"), SECRET + "\n");
        davit = Davit.builder().home(home).clientOptions(ClientOptions.anonymous(tmp.resolve("ignored"))).build();
    }

    @AfterEach
    void rm() {
        if (davit != null) {
            for (String id : made) {
                try {
                    davit.workspaces().rm(id);
                } catch (RuntimeException ignored) {
                    // best effort
                }
            }
            davit.close();
        }
    }

    private static final String ROOT_PEM = "-----BEGIN CERTIFICATE-----\nMIIBrealROOTcert\n"
            + "-----END CERTIFICATE-----\n";
    private static final String FAKE_CA = "-----BEGIN CERTIFICATE-----\nMIIBdavitEGRESSfakeCA42\n"
            + "-----END CERTIFICATE-----\n";

    private static String resource(String name) throws IOException {
        try (InputStream in = WorkspaceCommitHostileTest.class.getClassLoader().getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private void compile(String source, Path to) throws IOException {
        Path c = Files.createTempFile(tmp, "prog", ".c");
        Files.writeString(c, source);
        Tools.run("gcc", "-static", "-O2", "-o", to.toString(), c.toString());
    }

    private Workspace create(Limits limits, Secrets secrets) {
        RunTarget t = davit.image(IMAGE);
        Workspace w = davit.workspaces()
                .create(WorkspaceSpec.builder(CreateSpec.builder(t.rootfs()).image(t.image()).backend(t.backend())
                .limits(limits).build()).secrets(secrets).build());
        made.add(w.id());
        return w;
    }

    private String sh(Workspace w, String script, String... args) {
        List<String> argv = new ArrayList<>(List.of("sh", "-c", script, "sh"));
        argv.addAll(List.of(args));
        ExecResult r = davit.workspaces().execs().run(w.id(), ExecRequest.builder(argv).workdir("/")
                .timeout(Duration.ofSeconds(60)).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
        return r.stdoutText();
    }

    private WorkspaceImages.Commit commit(Workspace w, String tag) {
        return dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(davit.workspaces(), davit.client(), null).commit(w.id(), "localhost/test/out:" + tag,
                null);
    }

    /** The commit's layer: each entry's name, and (for files up to 1 MiB) its content. */
    private Map<String, String> layer(WorkspaceImages.Commit c) throws IOException {
        Map<String, String> out = new java.util.TreeMap<>();
        try (InputStream in = davit.client().store().openBlob(dev.davit.oci.digest.Digest.parse(c.layer().digest()));
             TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(in))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                String content = e.isFile() && e.getSize() <= (1 << 20)
                        ? new String(tar.readAllBytes(), StandardCharsets.ISO_8859_1) : "";
                out.put(e.getName(), content);
            }
        }
        return out;
    }

    /** Every layer blob in the store, decompressed, holds no byte of the host's secret. */
    private void noBlobHoldsTheSecret() throws IOException {
        try (Stream<Path> all = Files.walk(home.resolve("store"))) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                byte[] b = Files.readAllBytes(p);
                String s = new String(b, StandardCharsets.ISO_8859_1);
                if (b.length > 2 && (b[0] & 0xff) == 0x1f && (b[1] & 0xff) == 0x8b) {
                    try (InputStream in = new GZIPInputStream(Files.newInputStream(p))) {
                        s = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
                    }
                }
                assertThat(s).as(p.toString()).doesNotContain(SECRET);
            }
        }
    }

    @Test
    void aRacingDirectoryAndFileSwappedWithHostLinksNeverLeadTheCommitOut() throws Exception {
        Workspace w = create(Limits.NONE, Secrets.NONE); // no cgroup: no freezer, read as it runs
        sh(w, "mkdir /d && echo sandbox > /d/secret && echo sandbox > /f && ln -s \"$1\" /l && ln -s \"$2\" /fl"
                + " && ln -s / /root-link", host.toString(), host.resolve("f").toString());
        davit.workspaces().services(w.id()).start("race-d", List.of("racer", "/d", "/l"), Map.of(), null,
                Duration.ofSeconds(10));
        davit.workspaces().services(w.id()).start("race-f", List.of("racer", "/f", "/fl"), Map.of(), null,
                Duration.ofSeconds(10));
        Map<String, String> before = tree(host);
        List<String> seen = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < 20; i++) {
            try {
                WorkspaceImages.Commit c = commit(w, "race-" + i);
                Map<String, String> l = layer(c);
                seen.add(l.toString());
                // whatever moment it caught: the sandbox's entries, never the host's
                assertThat(l.keySet()).noneMatch(n -> (n.startsWith("d/") || n.startsWith("l/"))
                        && !java.util.Set.of("d/", "d/secret", "d/.wh..wh..opq", "l/", "l/secret",
                        "l/.wh..wh..opq").contains(n));
            } catch (DavitException e) {
                assertThat(e.getMessage()).doesNotContain("\n");
                seen.add(e.getMessage());
            }
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(240));
        assertThat(seen).noneMatch(s -> s.contains(SECRET));
        assertThat(tree(host)).isEqualTo(before);
        noBlobHoldsTheSecret();
    }

    @Test
    void aFifoIsSkippedAndAFileGrowingWhileReadEndsTheCommitPromptly() throws Exception {
        Workspace w = create(Limits.NONE, Secrets.NONE);
        sh(w, "mkfifo /workspace/p && echo x > /workspace/g");
        davit.workspaces().services(w.id()).start("grow", List.of("sh", "-c",
                "while :; do echo xxxxxxxxxxxxxxx >> /workspace/g; done"), Map.of(), null,
                Duration.ofSeconds(10));
        for (int i = 0; i < 5; i++) {
            long t0 = System.nanoTime();
            try {
                WorkspaceImages.Commit c = commit(w, "grow-" + i);
                assertThat(c.changes().skipped()).contains("workspace/p");
            } catch (DavitException e) {
                assertThat(e.getMessage()).doesNotContain("\n").contains("changed while it was being read");
            }
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(60));
            davit.workspaces().execs().run(w.id(), ExecRequest.builder("sh", "-c", ": > /workspace/g").workdir("/")
                    .timeout(Duration.ofSeconds(20)).build());
        }
    }

    /**
     * A sparse file of 1 TiB (no block of disk) makes the commit read and compress a TiB of zeros: it must be refused
     * (or otherwise bounded) promptly, not run for an hour holding the sandbox's lock (frozen, where it has a freezer).
     * The commit is interrupted after the wait (its FileChannel read stops at once), so the test never runs away.
     */
    @Test
    void aHugeSparseFileIsRefusedPromptlyNotReadForAnHour() throws Exception {
        Workspace w = create(Limits.NONE, Secrets.NONE);
        sh(w, "truncate -s 1099511627776 /workspace/big");
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                result.set(commit(w, "sparse"));
            } catch (RuntimeException e) {
                result.set(e);
            }
        }, "commit-sparse");
        t.setDaemon(true);
        t.start();
        t.join(Duration.ofSeconds(45));
        boolean runaway = t.isAlive();
        if (runaway) {
            t.interrupt();
            t.join(Duration.ofSeconds(60));
        }
        assertThat(runaway).as("the commit of a 1 TiB sparse file was still reading after 45 s (then interrupted: "
                + result.get() + ")").isFalse();
        assertThat(result.get()).isInstanceOf(DavitException.class);
    }

    /**
     * A file the sandbox names {@code .wh.kept.conf} is no whiteout in its own view ({@code /etc/kept.conf} stays),
     * and must not become one in the image; no more may a file named {@code .wh..wh..opq} make a directory opaque.
     */
    @Test
    void namesThatLookLikeWhiteoutsDoNotDeleteFromTheImage() throws Exception {
        Workspace w = create(Limits.DEFAULT, Secrets.NONE);
        sh(w, "touch /etc/.wh.kept.conf /opt/old/.wh..wh..opq && cat /etc/kept.conf /opt/old/a");
        Map<String, String> l = layer(commit(w, "wh"));
        assertThat(l.keySet()).as("a sandbox's file taken for a whiteout: the image loses /etc/kept.conf and"
                + " /opt/old/a, which the sandbox still has").doesNotContain("etc/.wh.kept.conf",
                "opt/old/.wh..wh..opq");
    }

    /**
     * As root the overlay keeps its marks in trusted.overlay.*; user.overlay.opaque is a plain user xattr any owner
     * may set, and the overlay ignores it (the sandbox still sees /opt/old/a). The commit must not make it opaque.
     */
    @Test
    void aUserXattrDoesNotMakeADirectoryOpaqueInTheImageWhenTheOverlayUsesTrusted() throws Exception {
        assumeTrue(Overlay.ROOT, "rootless overlays (userxattr) refuse user.overlay.* from the sandbox");
        Workspace w = create(Limits.DEFAULT, Secrets.NONE);
        ExecResult r = davit.workspaces().execs().run(w.id(), ExecRequest.builder("setx", "/opt/old",
                "user.overlay.opaque", "y").workdir("/").timeout(Duration.ofSeconds(20)).build());
        assumeTrue(r.exitCode() == 0, "user xattrs are not supported here: " + r.stderrText());
        assertThat(sh(w, "cat /opt/old/a")).isEqualTo("a\n");
        Map<String, String> l = layer(commit(w, "xattr"));
        assertThat(l.keySet()).as("the sandbox still sees /opt/old/a; the image would not")
                .doesNotContain("opt/old/.wh..wh..opq");
    }

    /** Runs davit's own TRUST_SCRIPT (as a workspace with an injected secret does), its CA from /tmp. */
    private void trustScript(Workspace w) throws Exception {
        java.lang.reflect.Field f = Secrets.class.getDeclaredField("TRUST_SCRIPT");
        f.setAccessible(true);
        String script = ((String) f.get(null)).replace(Secrets.CA_IN_SANDBOX, "/tmp/davit-ca.pem");
        davit.workspaces().execs().run(w.id(), ExecRequest.builder("sh", "-c", "cat > /tmp/davit-ca.pem").workdir("/")
                .timeout(Duration.ofSeconds(20))
                .stdin(new java.io.ByteArrayInputStream(FAKE_CA.getBytes(StandardCharsets.US_ASCII))).build());
        ExecResult r = davit.workspaces().execs().run(w.id(), ExecRequest.builder("/bin/sh", "-c", script,
                "davit-egress-ca", "", "5eed").workdir("/").timeout(Duration.ofSeconds(30)).build());
        assertThat(r.exitCode()).as(r.stderrText()).isZero();
    }

    @Test
    void theEgressCaAppendedThroughFedorasLinkIsNotCommitted() throws Exception {
        Workspace w = create(Limits.DEFAULT, Secrets.NONE);
        trustScript(w);
        assertThat(sh(w, "cat /etc/pki/tls/certs/ca-bundle.crt")).contains("davitEGRESSfakeCA42");
        Map<String, String> l = layer(commit(w, "fedora"));
        assertThat(l.get("etc/ssl/certs/ca-certificates.crt")).as("Debian's store, rewritten")
                .isNotNull().doesNotContain("davitEGRESSfakeCA42");
        l.forEach((name, content) -> assertThat(content).as(name + " holds the workspace's egress CA")
                .doesNotContain("davitEGRESSfakeCA42").doesNotContain("# davit egress CA"));
    }

    @Test
    void aTrustStoreGrownPast16MiBStillLosesTheEgressCa() throws Exception {
        Workspace w = create(Limits.DEFAULT, Secrets.NONE);
        trustScript(w);
        // the sandbox appends 17 MiB of comments (a bigger bundle is written as it is)
        sh(w, "head -c 17825792 /dev/zero >> /etc/ssl/certs/ca-certificates.crt");
        WorkspaceImages.Commit c = commit(w, "big-store");
        boolean found = false;
        try (InputStream in = davit.client().store().openBlob(dev.davit.oci.digest.Digest.parse(c.layer().digest()));
             TarArchiveInputStream tar = new TarArchiveInputStream(new GZIPInputStream(in))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (e.getName().equals("etc/ssl/certs/ca-certificates.crt")) {
                    found = new String(tar.readNBytes(1 << 16), StandardCharsets.ISO_8859_1)
                            .contains("davitEGRESSfakeCA42");
                }
            }
        }
        assertThat(found).as("the egress CA in a trust store over 16 MiB is committed as it is").isFalse();
    }

    /**
     * What the MCP tool's description promises ("Next: workspace_create with the image as 'image' to start from
     * it"): a committed image holds /workspace, which a workspace's environment may not have.
     */
    @Test
    void aCommittedImageOpensAsANewWorkspace() {
        Workspace w = create(Limits.DEFAULT, Secrets.NONE);
        sh(w, "echo hi > /workspace/x");
        commit(w, "again");
        RunTarget t = davit.image("localhost/test/out:again");
        Workspace again = davit.workspaces()
                .create(WorkspaceSpec.builder(CreateSpec.builder(t.rootfs()).image(t.image())
                .backend(t.backend()).build()).build());
        made.add(again.id());
        assertThat(sh(again, "cat /workspace/x")).isEqualTo("hi\n");
    }

    private static Map<String, String> tree(Path root) throws IOException {
        Map<String, String> out = new java.util.TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                out.put(root.relativize(p).toString(), Files.isRegularFile(p) ? Files.readString(p) : "dir");
            }
        }
        return out;
    }
}
